"""Unit tests of _states/ha_rabbitmq.py over a fake execution module (the real members() and node_type())."""

from __future__ import annotations

import pytest
from salt.exceptions import CommandExecutionError

from tests.helpers import load_module

module = load_module("_modules/ha_rabbitmq.py", "ha_rabbitmq_module_for_state")
state = load_module("_states/ha_rabbitmq.py", "ha_rabbitmq_state")
C01, C02, C03 = (f"rabbit@openstack-controller0{i}" for i in (1, 2, 3))
KEY = "ha:rabbitmq:openstack_password"
SECRET = "pw-of-openstack-7c1d2e9a44b0"
ALL = [".*", ".*", ".*"]
HA_ALL = {"pattern": "^", "apply_to": "all", "definition": {"ha-mode": "all"}, "priority": 0}


def status(disc, ram=(), running=None, partitions=None):
    return {"running_nodes": sorted(running if running is not None else [*disc, *ram]), "disc_nodes": sorted(disc),
            "ram_nodes": sorted(ram), "partitions": partitions or {}, "alarms": []}


class FakeRabbit:
    """The execution module over a small model of this node, the first node, users and policies."""

    def __init__(self, pillar_get):
        self.local = status([C02])  # this node, alone
        self.remote = {C01: status([C01])}  # by node name; an exception means it does not answer
        self.users = {"guest": ["administrator"]}
        self.passwords = {"guest": "guest"}
        self.permissions = {"/": {"guest": ALL}}
        self.policies = {"/": {}}
        self.pillar_get = pillar_get
        pillar_get.flat[KEY] = SECRET
        self.asked = []  # nodes whose status was asked (None: the local node)
        self.calls = []  # every changing call with its arguments
        self.errors = {}  # changing function -> the CommandExecutionError it raises

    def cluster_status(self, node=None, timeout=60):
        self.asked.append((node, timeout))
        answer = self.local if node is None else self.remote[node]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def join(self, first, name, node_type, timeout):
        self.local = status([first, name] if node_type == "disc" else [first], [name] if node_type == "ram" else [])
        return self.local

    def funcs(self):
        def changing(name, effect=None):
            def call(*args):
                self.calls.append((name, *args))
                if name in self.errors:
                    raise CommandExecutionError(self.errors[name])
                return effect(*args) if effect else True
            return call

        funcs = {"ha_rabbitmq." + name: changing(name) for name in (
            "change_node_type", "add_user", "change_password", "set_tags", "delete_user", "set_permissions",
            "set_policy", "clear_policy")}
        funcs.update({
            "ha_rabbitmq.cluster_status": self.cluster_status,
            "ha_rabbitmq.members": module.members,
            "ha_rabbitmq.node_type": module.node_type,
            "ha_rabbitmq.join": changing("join", self.join),
            "ha_rabbitmq.users": lambda: dict(self.users),
            "ha_rabbitmq.password_matches": lambda user, password: self.passwords.get(user) == password,
            "ha_rabbitmq.permissions": lambda vhost="/": dict(self.permissions.get(vhost, {})),
            "ha_rabbitmq.policies": lambda vhost="/": dict(self.policies.get(vhost, {})),
            "pillar.get": self.pillar_get,
        })
        return funcs


@pytest.fixture
def rabbit(pillar_get):
    return FakeRabbit(pillar_get)


@pytest.fixture
def opts():
    return {"test": False}


@pytest.fixture
def configure_loader_modules(rabbit, opts, utils):
    return {state: {"__salt__": rabbit.funcs(), "__opts__": opts, "__utils__": utils}}


# ha_rabbitmq.clustered


def test_first_node_is_left_alone(rabbit):
    rabbit.local = status([C01], [C02], running=[C01])
    ret = state.clustered(C01, first=C01)
    assert ret == {"name": C01, "changes": {}, "result": True,
                   "comment": f"{C01} is the first node; running nodes: {C01}"}
    assert rabbit.calls == [] and rabbit.asked == [(None, 60)]


def test_first_node_must_be_disc(rabbit):
    rabbit.local = status([C02], [C01])
    ret = state.clustered(C01, first=C01)
    assert ret["result"] is False and ret["changes"] == {}
    assert ret["comment"] == f"{C01} is the first node and must be a disc node, it is ram"


def test_member_of_the_right_type_is_idempotent(rabbit):
    rabbit.local = status([C01], [C02, C03])
    ret = state.clustered(C02, first=C01, node_type="ram")
    assert ret["result"] is True and ret["changes"] == {} and rabbit.calls == []
    assert ret["comment"] == f"{C02} is a ram member; running nodes: {C01}, {C02}, {C03}"
    assert rabbit.asked == [(None, 60)]  # the first node is not asked


def test_member_of_the_wrong_type_is_changed(rabbit, opts):
    rabbit.local = status([C01], [C02, C03])
    opts["test"] = True
    ret = state.clustered(C02, first=C01, node_type="disc")
    assert ret["result"] is None and rabbit.calls == []
    assert ret["changes"] == {"node_type": {"old": "ram", "new": "disc"}}
    assert ret["comment"] == f"{C02} would become a disc node"
    opts["test"] = False
    ret = state.clustered(C02, first=C01, node_type="disc", timeout=90)
    assert ret["result"] is True and ret["comment"] == f"{C02} is now a disc node"
    assert ret["changes"] == {"node_type": {"old": "ram", "new": "disc"}}
    assert rabbit.calls == [("change_node_type", C02, "disc", 90)]


def test_failed_node_type_change(rabbit):
    rabbit.local = status([C01], [C02])
    rabbit.errors["change_node_type"] = "rabbitmqctl change_cluster_node_type failed: boom"
    ret = state.clustered(C02, first=C01, node_type="disc")
    assert ret["result"] is False and ret["changes"] == {}
    assert ret["comment"] == f"Changing {C02} to a disc node failed: rabbitmqctl change_cluster_node_type failed: boom"


def test_lone_node_joins_once(rabbit):
    ret = state.clustered(C02, first=C01, node_type="ram", timeout=200)
    assert ret["result"] is True
    assert ret["changes"] == {"joined": {"old": None, "new": C01}, "node_type": {"old": None, "new": "ram"}}
    assert ret["comment"] == f"{C02} joined {C01}; running nodes: {C01}, {C02}"
    assert rabbit.calls == [("join", C01, C02, "ram", 200)]
    assert rabbit.asked == [(None, 60), (C01, 30)]
    # The next run finds a member: nothing to do.
    ret = state.clustered(C02, first=C01, node_type="ram", timeout=200)
    assert ret["changes"] == {} and ret["result"] is True and len(rabbit.calls) == 1


def test_lone_node_in_test_mode_does_not_join(rabbit, opts):
    opts["test"] = True
    rabbit.local = status([C03])
    ret = state.clustered(C03, first=C01)
    assert ret["result"] is None and rabbit.calls == []
    assert ret["changes"] == {"joined": {"old": None, "new": C01}, "node_type": {"old": None, "new": "disc"}}
    assert ret["comment"] == f"{C03} would be reset and join {C01} as a disc node"


def test_failed_join(rabbit):
    rabbit.errors["join"] = "rabbitmqctl join_cluster failed: no route"
    ret = state.clustered(C02, first=C01)
    assert ret["result"] is False and ret["changes"] == {}
    assert ret["comment"] == f"{C02} could not join {C01}: rabbitmqctl join_cluster failed: no route"


def test_node_clustered_elsewhere_is_never_reset(rabbit):
    rabbit.local = status([C02, C03])
    ret = state.clustered(C02, first=C01)
    assert ret["result"] is False and ret["changes"] == {}
    assert ret["comment"].startswith(f"{C02} is clustered with {C03} but not with {C01}; it is not reset")
    assert rabbit.calls == [] and rabbit.asked == [(None, 60)]


@pytest.mark.parametrize("name", [C01, C02])
def test_partitioned_cluster_fails(rabbit, name):
    rabbit.local = status([C01], [C02, C03], partitions={C03: [C01, C02]})
    ret = state.clustered(name, first=C01, node_type="disc")
    assert ret["result"] is False and ret["changes"] == {} and rabbit.calls == []
    assert ret["comment"].startswith(f"The cluster is partitioned: {{'{C03}': ['{C01}', '{C02}']}}.")


def test_first_node_unreachable(rabbit):
    rabbit.remote[C01] = CommandExecutionError(f"rabbitmqctl cluster_status on {C01} failed: nodedown")
    ret = state.clustered(C02, first=C01)
    assert ret["result"] is False and ret["changes"] == {} and rabbit.calls == []
    assert ret["comment"] == f"{C01}, the node to join, does not answer: rabbitmqctl cluster_status on {C01} " \
                             "failed: nodedown"


def test_first_node_app_stopped(rabbit):
    rabbit.remote[C01] = status([C01], running=[])
    ret = state.clustered(C02, first=C01)
    assert ret["result"] is False and rabbit.calls == []
    assert ret["comment"] == f"{C01}, the node to join, is not running its RabbitMQ app"


def test_local_node_not_answering(rabbit):
    rabbit.local = CommandExecutionError("rabbitmqctl cluster_status failed: nodedown")
    ret = state.clustered(C02, first=C01)
    assert ret["result"] is False and rabbit.calls == []
    assert ret["comment"] == f"RabbitMQ on {C02} does not answer: rabbitmqctl cluster_status failed: nodedown"


# ha_rabbitmq.user


def user_state(**kwargs):
    return state.user("openstack", KEY, **{"tags": ["administrator"], "permissions": {"/": ALL}, **kwargs})


def test_new_user(rabbit):
    ret = user_state()
    assert ret["result"] is True and ret["comment"] == "User openstack updated"
    assert ret["changes"] == {"user": {"old": None, "new": "openstack"}, "password": "set",
                              "tags": {"old": [], "new": ["administrator"]},
                              "permissions /": {"old": None, "new": ALL}}
    assert rabbit.pillar_get.calls == [(KEY, True)]
    assert rabbit.calls == [("add_user", "openstack", SECRET), ("set_tags", "openstack", ["administrator"]),
                            ("set_permissions", "openstack", ".*", ".*", ".*", "/")]
    assert SECRET not in str(ret)


def test_user_in_place_changes_nothing(rabbit):
    rabbit.users["openstack"] = ["administrator"]
    rabbit.passwords["openstack"] = SECRET
    rabbit.permissions["/"]["openstack"] = ALL
    ret = user_state()
    assert ret == {"name": "openstack", "changes": {}, "result": True, "comment": "User openstack is as configured"}
    assert rabbit.calls == []


def test_user_with_wrong_password_tags_and_permissions(rabbit):
    rabbit.users["openstack"] = ["monitoring"]
    rabbit.passwords["openstack"] = "an-older-password-123"
    rabbit.permissions["/"]["openstack"] = ALL
    rabbit.permissions["/os"] = {"openstack": ["", "", ""]}
    ret = user_state(tags=["policymaker", "administrator"], permissions={"/": ALL, "/os": ("^q", ".*", ".*")})
    assert ret["result"] is True
    assert ret["changes"] == {"password": "changed",
                              "tags": {"old": ["monitoring"], "new": ["administrator", "policymaker"]},
                              "permissions /os": {"old": ["", "", ""], "new": ["^q", ".*", ".*"]}}
    assert rabbit.calls == [("change_password", "openstack", SECRET),
                                ("set_tags", "openstack", ["administrator", "policymaker"]),
                                ("set_permissions", "openstack", "^q", ".*", ".*", "/os")]
    assert SECRET not in str(ret)


def test_user_in_test_mode_changes_nothing(rabbit, opts):
    opts["test"] = True
    rabbit.users["openstack"] = ["administrator"]
    rabbit.permissions["/"]["openstack"] = ALL
    ret = user_state()
    assert ret == {"name": "openstack", "changes": {"password": "changed"}, "result": None,
                   "comment": "User openstack would be updated"}
    assert rabbit.calls == []


@pytest.mark.parametrize("value", [None, "", 12345678901234567])
def test_user_without_a_pillar_password(rabbit, value):
    rabbit.pillar_get.flat[KEY] = value
    ret = user_state()
    assert ret["result"] is False and ret["changes"] == {}
    assert ret["comment"] == f"pillar key {KEY} is empty or not a string"
    assert rabbit.calls == []


def test_user_failure_keeps_the_password_out(rabbit):
    rabbit.errors["add_user"] = "rabbitmqctl add_user failed: Error: node down"
    ret = user_state()
    assert ret == {"name": "openstack", "changes": {}, "result": False,
                   "comment": "Managing user openstack failed: rabbitmqctl add_user failed: Error: node down"}


# ha_rabbitmq.user_absent


def test_user_absent(rabbit, opts):
    opts["test"] = True
    ret = state.user_absent("guest")
    assert ret["result"] is None and ret["changes"] == {"user": {"old": "guest", "new": None}}
    assert ret["comment"] == "User guest would be deleted" and rabbit.calls == []
    opts["test"] = False
    ret = state.user_absent("guest")
    assert ret["result"] is True and ret["comment"] == "User guest deleted"
    assert ret["changes"] == {"user": {"old": "guest", "new": None}}
    assert rabbit.calls == [("delete_user", "guest")]
    del rabbit.users["guest"]
    assert state.user_absent("guest") == {"name": "guest", "changes": {}, "result": True,
                                          "comment": "User guest is absent"}
    assert len(rabbit.calls) == 1


# ha_rabbitmq.policy and policy_absent


def test_policy_created_then_in_place(rabbit, opts):
    opts["test"] = True
    ret = state.policy("ha-all", "^", {"ha-mode": "all"})
    assert ret["result"] is None and ret["changes"] == {"policy": {"old": None, "new": HA_ALL}}
    assert ret["comment"] == "Policy ha-all on / would be set" and rabbit.calls == []
    opts["test"] = False
    ret = state.policy("ha-all", "^", {"ha-mode": "all"})
    assert ret["result"] is True and ret["comment"] == "Policy ha-all on / set"
    assert rabbit.calls == [("set_policy", "ha-all", "^", {"ha-mode": "all"}, "all", 0, "/")]
    rabbit.policies["/"]["ha-all"] = HA_ALL
    assert state.policy("ha-all", "^", {"ha-mode": "all"}) == {
        "name": "ha-all", "changes": {}, "result": True, "comment": "Policy ha-all on / is as configured"}
    assert len(rabbit.calls) == 1


def test_policy_that_differs_is_replaced(rabbit):
    rabbit.policies["/os"] = {"ha-all": {**HA_ALL, "definition": {"ha-mode": "exactly", "ha-params": 2}}}
    ret = state.policy("ha-all", "^", {"ha-mode": "all"}, apply_to="queues", priority="1", vhost="/os")
    wanted = {**HA_ALL, "apply_to": "queues", "priority": 1}
    assert ret["changes"] == {"policy": {"old": rabbit.policies["/os"]["ha-all"], "new": wanted}}
    assert rabbit.calls == [("set_policy", "ha-all", "^", {"ha-mode": "all"}, "queues", 1, "/os")]


def test_policy_absent(rabbit, opts):
    assert state.policy_absent("ha-all") == {"name": "ha-all", "changes": {}, "result": True,
                                             "comment": "Policy ha-all on / is absent"}
    rabbit.policies["/"]["ha-all"] = HA_ALL
    opts["test"] = True
    ret = state.policy_absent("ha-all")
    assert ret["result"] is None and ret["changes"] == {"policy": {"old": HA_ALL, "new": None}}
    assert rabbit.calls == []
    opts["test"] = False
    ret = state.policy_absent("ha-all")
    assert ret["result"] is True and ret["comment"] == "Policy ha-all on / removed"
    assert rabbit.calls == [("clear_policy", "ha-all", "/")]


def test_policy_failure(rabbit):
    rabbit.errors["set_policy"] = "rabbitmqctl set_policy failed: Validation failed"
    ret = state.policy("ha-all", "^", {"ha-mode": "bogus"})
    assert ret == {"name": "ha-all", "changes": {}, "result": False,
                   "comment": "Setting policy ha-all failed: rabbitmqctl set_policy failed: Validation failed"}
