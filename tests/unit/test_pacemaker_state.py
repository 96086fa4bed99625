"""Unit tests of _states/ha_pacemaker.py over a fake execution module (the real diff and parse_cib) and the
toolkit's wait."""

from __future__ import annotations

import copy

import pytest
from salt.exceptions import CommandExecutionError

from tests.helpers import load_module, valid_pillar
from tests.unit.test_pacemaker_module import CIB

module = load_module("_modules/ha_pacemaker.py", "ha_pacemaker_module_for_state")
state = load_module("_states/ha_pacemaker.py", "ha_pacemaker_state")
ha_topology = load_module("_modules/ha_topology.py", "ha_topology_for_pacemaker_state")
C01, C02, C03 = NODES = tuple(f"openstack-controller0{i}" for i in (1, 2, 3))
KEY = "ha:pacemaker:hacluster_password"
SECRET = "pw-of-hacluster-4b7e1c90d2aa"
PACKAGE = {"name": "debian", "nodes": {"node1": "127.0.0.1"}, "totem": {"version": "2", "cluster_name": "debian"}}
CHANGING = {"set_password", "destroy_package_cluster", "auth", "setup", "node_add", "update_totem", "push",
            "forget_node"}


class FakePacemaker:
    """The execution module over a small model of this node: its password, corosync.conf, pcsd tokens and CIB."""

    def __init__(self, pillar_get):
        self.password = "old-password-of-hacluster"
        self.config = None  # cluster_config()
        self.known = {}  # known_hosts()
        self.cibs = []  # cib() answers the first; push() moves to the next when there is one
        self.statuses = []  # status() answers in turn; the last one repeats; an exception is raised
        self.pillar_get = pillar_get
        pillar_get.flat[KEY] = SECRET
        self.calls = []  # every call but the reading of the pillar
        self.errors = {}  # function -> the CommandExecutionError message it raises
        self.stale = []  # stale_nodes(): removed nodes that Pacemaker lists again

    def call(self, name, effect=None):
        def run(*args):
            self.calls.append((name, *args))
            if name in self.errors:
                raise CommandExecutionError(self.errors[name])
            return effect(*args) if effect else None
        return run

    def push(self, commands):
        if len(self.cibs) > 1:
            self.cibs.pop(0)

    def status(self):
        answer = self.statuses[0] if len(self.statuses) == 1 else self.statuses.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def forget_stale(self):
        forgotten, forget = list(self.stale), self.call("forget_node", lambda node: self.stale.remove(node))
        for node in forgotten:
            forget(node)
        return forgotten

    def funcs(self):
        funcs = {f"ha_pacemaker.{name}": self.call(name) for name in ("set_password", "auth", "setup",
                                                                      "node_add", "update_totem",
                                                                      "destroy_package_cluster", "online",
                                                                      "pcsd_online")}
        funcs.update({
            "ha_pacemaker.password_matches": self.call("password_matches", lambda user, pw: pw == self.password),
            "ha_pacemaker.cluster_config": self.call("cluster_config", lambda: copy.deepcopy(self.config)),
            "ha_pacemaker.is_package_cluster": self.call(
                "is_package_cluster", lambda config: config is not None and config["nodes"] == PACKAGE["nodes"]),
            "ha_pacemaker.known_hosts": self.call("known_hosts", lambda: copy.deepcopy(self.known)),
            "ha_pacemaker.cib": self.call("cib", lambda: module.parse_cib(self.cibs[0])),
            "ha_pacemaker.diff": module.diff,
            "ha_pacemaker.push": self.call("push", self.push),
            "ha_pacemaker.status": self.call("status", self.status),
            "ha_pacemaker.stale_nodes": self.call("stale_nodes", lambda: list(self.stale)),
            # Like the module's: forget_node for each stale node (a change only when there is one).
            "ha_pacemaker.forget_stale": self.call("forget_stale", self.forget_stale),
            "pillar.get": self.pillar_get,
        })
        return funcs

    def names(self):
        return [call[0] for call in self.calls]

    def changing(self):
        return [call for call in self.calls if call[0] in CHANGING]


@pytest.fixture
def pcs(pillar_get):
    return FakePacemaker(pillar_get)


@pytest.fixture
def opts():
    return {"test": False}


@pytest.fixture
def configure_loader_modules(pcs, opts, utils):
    return {state: {"__salt__": pcs.funcs(), "__opts__": opts, "__utils__": utils}}


@pytest.fixture
def cluster():
    """What ha.pacemaker.cluster passes to the state for pillar.example."""
    return ha_topology.pacemaker_cluster(valid_pillar())


@pytest.fixture
def wanted():
    return ha_topology.pacemaker_resources("haproxy", valid_pillar())


def existing(cluster, **totem):
    return {"name": cluster["name"], "nodes": dict(cluster["nodes"]),
            "totem": {"version": "2", "cluster_name": cluster["name"], "token": "500", "token_coefficient": "0",
                      **totem}}


def run_cluster(cluster, **kwargs):
    return state.cluster(cluster["name"], cluster["nodes"], cluster["password_pillar"], cluster["totem"], **kwargs)


# ha_pacemaker.password


def test_password_that_matches(pcs):
    pcs.password = SECRET
    assert state.password("hacluster", KEY) == {
        "name": "hacluster", "changes": {}, "result": True,
        "comment": f"the password of hacluster is the one of {KEY}"}
    assert pcs.changing() == []


def test_password_that_differs(pcs):
    ret = state.password("hacluster", KEY)
    assert ret == {"name": "hacluster", "changes": {"password": {"old": "other", "new": KEY}}, "result": True,
                   "comment": f"the password of hacluster was set from {KEY}"}
    assert pcs.changing() == [("set_password", "hacluster", SECRET)]
    assert SECRET not in repr(ret)


def test_password_test_mode(pcs, opts):
    opts["test"] = True
    ret = state.password("hacluster", KEY)
    assert ret["result"] is None and ret["changes"] == {"password": {"old": "other", "new": KEY}}
    assert ret["comment"] == f"the password of hacluster would be set from {KEY}"
    assert pcs.changing() == [] and SECRET not in repr(ret)


@pytest.mark.parametrize("value", [None, "", 12345678901234567])
def test_password_without_a_pillar_value(pcs, value):
    pcs.pillar_get.flat[KEY] = value
    assert state.password("hacluster", KEY) == {"name": "hacluster", "changes": {}, "result": False,
                                                "comment": f"pillar key {KEY} is empty or not a string"}
    assert pcs.calls == []


def test_password_that_cannot_be_set(pcs):
    pcs.errors["set_password"] = "chpasswd for hacluster failed (exit 1): chpasswd: user 'hacluster' does not exist"
    ret = state.password("hacluster", KEY)
    assert ret["result"] is False and ret["changes"] == {}
    assert ret["comment"] == pcs.errors["set_password"]


# ha_pacemaker.no_package_cluster


def test_no_package_cluster_when_none(pcs, cluster):
    pcs.config = existing(cluster)
    ret = state.no_package_cluster("/etc/corosync/corosync.conf")
    assert ret["result"] is True and ret["changes"] == {}
    assert ret["comment"] == "no package default cluster on this node" and pcs.changing() == []


def test_no_package_cluster_destroys_it(pcs):
    pcs.config = PACKAGE
    ret = state.no_package_cluster("/etc/corosync/corosync.conf")
    assert ret == {"name": "/etc/corosync/corosync.conf", "changes": {"cluster": {"old": "debian", "new": None}},
                   "result": True, "comment": "the package's default cluster 'debian' was destroyed"}
    assert pcs.changing() == [("destroy_package_cluster",)]


def test_no_package_cluster_test_mode(pcs, opts):
    pcs.config, opts["test"] = PACKAGE, True
    ret = state.no_package_cluster("/etc/corosync/corosync.conf")
    assert ret["result"] is None and ret["changes"] == {"cluster": {"old": "debian", "new": None}}
    assert ret["comment"] == "the package's default cluster 'debian' would be destroyed" and pcs.changing() == []


def test_no_package_cluster_failure(pcs):
    pcs.config = PACKAGE
    pcs.errors["destroy_package_cluster"] = "pcs cluster destroy failed (exit 1): Error: unable to stop"
    ret = state.no_package_cluster("/etc/corosync/corosync.conf")
    assert ret["result"] is False and ret["changes"] == {} and ret["comment"] == pcs.errors["destroy_package_cluster"]


# ha_pacemaker.cluster


def test_new_cluster_auth_setup_online(pcs, cluster):
    ret = run_cluster(cluster)
    assert ret == {
        "name": "openstack-cluster-01",
        "changes": {"authenticated": list(NODES), "cluster": {"old": None, "new": "openstack-cluster-01"}},
        "result": True,
        "comment": f"pcs authenticated against {C01}, {C02}, {C03}; cluster openstack-cluster-01 created, started "
                   f"and enabled on {C01}, {C02}, {C03}; every node of openstack-cluster-01 is online",
    }
    assert [call for call in pcs.calls if call[0] in CHANGING | {"online"}] == [
        ("auth", cluster["nodes"], SECRET),
        ("setup", "openstack-cluster-01", cluster["nodes"], {"token": "500", "token_coefficient": "0"}),
        ("online", list(NODES), 180),
    ]
    assert SECRET not in repr(ret)


def test_existing_cluster_is_left_alone(pcs, cluster):
    pcs.config = existing(cluster)
    pcs.known = {node: [address] for node, address in cluster["nodes"].items()}
    ret = run_cluster(cluster, timeout=60)
    assert ret["result"] is True and ret["changes"] == {}
    assert ret["comment"] == "every node of openstack-cluster-01 is online"
    assert pcs.changing() == [] and ("online", list(NODES), 60) in pcs.calls


@pytest.mark.parametrize("known", [{C01: ["10.10.10.51"], C02: ["10.10.10.52"]},
                                   {C01: ["10.10.10.51"], C02: ["10.10.10.52"], C03: ["10.10.10.99"]}])
def test_existing_cluster_with_an_unknown_host_only_authenticates(pcs, cluster, known):
    pcs.config, pcs.known = existing(cluster), known
    ret = run_cluster(cluster)
    assert ret["result"] is True and ret["changes"] == {"authenticated": [C03]}
    assert ret["comment"] == f"pcs authenticated against {C03}; every node of openstack-cluster-01 is online"
    assert pcs.changing() == [("auth", cluster["nodes"], SECRET)]


def test_totem_update_with_only_the_differing_options(pcs, cluster):
    pcs.config = existing(cluster, token="3000", join="50")
    pcs.known = {node: [address] for node, address in cluster["nodes"].items()}
    cluster["totem"] = {"join": 50, "token": 1000}
    ret = run_cluster(cluster)
    assert ret["result"] is True and ret["changes"] == {"totem": {"token": {"old": "3000", "new": "1000"}}}
    assert ret["comment"] == ("totem options token updated and corosync reloaded; every node of "
                              "openstack-cluster-01 is online")
    assert pcs.changing() == [("update_totem", {"token": "1000"})]


def test_totem_option_that_corosync_does_not_have_yet(pcs, cluster):
    pcs.config = existing(cluster)
    pcs.known = {node: [address] for node, address in cluster["nodes"].items()}
    cluster["totem"] = {"consensus": 1200, "token": 500}
    ret = run_cluster(cluster)
    assert ret["changes"] == {"totem": {"consensus": {"old": None, "new": "1200"}}}
    assert pcs.changing() == [("update_totem", {"consensus": "1200"})]


@pytest.mark.parametrize(
    ("config", "advice"),
    [({"name": "other-cluster", "nodes": {C01: "10.10.10.51", C02: "10.10.10.52", C03: "10.10.10.53"}, "totem": {}},
      "If that cluster is not needed, run 'pcs cluster destroy' on its nodes and deploy again."),
     ({"name": "openstack-cluster-01", "nodes": {C01: "10.10.10.51", C02: "10.10.10.52", C03: "10.10.10.63"},
       "totem": {}}, "If that cluster is not needed, run 'pcs cluster destroy' on its nodes and deploy again."),
     ({"name": "openstack-cluster-01", "nodes": {C01: "10.10.10.51", C02: "10.10.10.52", C03: "10.10.10.53",
                                                 "openstack-controller04": "10.10.10.54"}, "totem": {}},
      "A controller leaves with salt-run state.orchestrate ha.remove_controller.")],
)
def test_cluster_of_another_name_or_other_nodes_is_never_changed(pcs, cluster, config, advice):
    pcs.config = config
    ret = run_cluster(cluster)
    assert ret["result"] is False and ret["changes"] == {}
    assert ret["comment"] == (
        f"this node belongs to cluster {config['name']!r} with nodes {config['nodes']}, not 'openstack-cluster-01' "
        f"with {cluster['nodes']}: the formula adds controllers to a cluster but neither renames it nor changes a "
        f"node's address. {advice}")
    assert pcs.changing() == [] and "online" not in pcs.names()


def test_a_controller_added_to_the_pillar_joins_the_cluster(pcs, cluster):
    pcs.config = existing(cluster)
    del pcs.config["nodes"][C03]
    pcs.known = {C01: ["10.10.10.51"], C02: ["10.10.10.52"]}
    ret = run_cluster(cluster, timeout=90)
    assert ret == {"name": "openstack-cluster-01", "changes": {"authenticated": [C03], "added": [C03]},
                   "result": True,
                   "comment": f"pcs authenticated against {C03}; {C03} added to cluster openstack-cluster-01, "
                              "started and enabled; every node of openstack-cluster-01 is online"}
    assert [call for call in pcs.calls if call[0] in CHANGING | {"online", "pcsd_online"}] == [
        ("auth", cluster["nodes"], SECRET), ("pcsd_online", list(NODES), 90), ("node_add", C03, "10.10.10.53", 90),
        ("online", list(NODES), 90)]


def test_a_removed_controller_that_pacemaker_lists_again_is_purged(pcs, cluster):
    pcs.config = existing(cluster)
    pcs.known = {node: [address] for node, address in cluster["nodes"].items()}
    pcs.stale = ["openstack-controller05"]
    ret = run_cluster(cluster)
    assert ret["result"] is True and ret["changes"] == {"forgotten": ["openstack-controller05"]}
    assert ret["comment"] == ("openstack-controller05 purged from Pacemaker: offline and in corosync's node list no "
                              "more; every node of openstack-cluster-01 is online")
    assert pcs.changing() == [("forget_node", "openstack-controller05")]
    # Purged once: the next run changes nothing.
    assert run_cluster(cluster)["changes"] == {}


def test_a_removed_controller_listed_again_in_test_mode(pcs, cluster, opts):
    opts["test"] = True
    pcs.config = existing(cluster)
    pcs.known = {node: [address] for node, address in cluster["nodes"].items()}
    pcs.stale = ["openstack-controller05"]
    ret = run_cluster(cluster)
    assert ret["result"] is None and ret["changes"] == {"forgotten": ["openstack-controller05"]}
    assert pcs.changing() == []


def test_a_controller_added_in_test_mode(pcs, cluster, opts):
    opts["test"] = True
    pcs.config = existing(cluster)
    del pcs.config["nodes"][C03]
    pcs.known = {node: [address] for node, address in cluster["nodes"].items()}
    ret = run_cluster(cluster)
    assert ret["result"] is None and ret["changes"] == {"added": [C03]}
    assert ret["comment"] == "cluster openstack-cluster-01 would change: added"
    assert pcs.changing() == []


@pytest.mark.parametrize(("failing", "error"), [
    ("node_add", f"pcs cluster node add {C03} failed: Error: {C03}: Running cluster services"),
    # Every pcsd answers before a node add: nothing is added while one does not.
    ("pcsd_online", f"did not see pcsd online on {', '.join(NODES)} within 180 s: {C02}: Offline"),
])
def test_a_controller_that_does_not_join(pcs, cluster, failing, error):
    pcs.config = existing(cluster)
    del pcs.config["nodes"][C03]
    pcs.known = {node: [address] for node, address in cluster["nodes"].items()}
    pcs.errors[failing] = error
    ret = run_cluster(cluster)
    assert (ret["result"], ret["changes"], ret["comment"]) == (False, {}, error)
    assert pcs.names().count("node_add") == (failing == "node_add")


def test_package_cluster_still_present(pcs, cluster):
    pcs.config = PACKAGE
    ret = run_cluster(cluster)
    assert ret == {"name": "openstack-cluster-01", "changes": {}, "result": False,
                   "comment": "the package's default cluster 'debian' is still configured here: run "
                              "ha.pacemaker.node on every controller first"}
    assert pcs.changing() == []


def test_cluster_test_mode_reports_and_changes_nothing(pcs, cluster, opts):
    opts["test"] = True
    ret = run_cluster(cluster)
    assert ret == {"name": "openstack-cluster-01",
                   "changes": {"authenticated": list(NODES), "cluster": {"old": None, "new": "openstack-cluster-01"}},
                   "result": None, "comment": "cluster openstack-cluster-01 would change: authenticated, cluster"}
    assert pcs.names() == ["cluster_config", "is_package_cluster", "known_hosts"]


def test_cluster_test_mode_totem(pcs, cluster, opts):
    opts["test"] = True
    pcs.config = existing(cluster, token="3000")
    pcs.known = {node: [address] for node, address in cluster["nodes"].items()}
    ret = run_cluster(cluster)
    assert ret["result"] is None and ret["changes"] == {"totem": {"token": {"old": "3000", "new": "500"}}}
    assert pcs.changing() == [] and "online" not in pcs.names()
    pcs.config = existing(cluster)
    assert run_cluster(cluster) == {"name": "openstack-cluster-01", "changes": {}, "result": True,
                                    "comment": "cluster openstack-cluster-01 is configured"}


def test_cluster_setup_failure(pcs, cluster):
    pcs.errors["setup"] = "pcs cluster setup failed (exit 1): Error: nodes availability check failed"
    ret = run_cluster(cluster)
    assert ret["result"] is False
    assert ret["comment"] == (f"pcs authenticated against {C01}, {C02}, {C03}; pcs cluster setup failed (exit 1): "
                              "Error: nodes availability check failed")
    assert [call[0] for call in pcs.changing()] == ["auth", "setup"] and "online" not in pcs.names()
    assert SECRET not in repr(ret)


def test_cluster_setup_failure_reports_no_cluster_change(pcs, cluster):
    pcs.errors["setup"] = "pcs cluster setup failed (exit 1): Error: nodes availability check failed"
    ret = run_cluster(cluster)
    assert ret["result"] is False and "cluster" not in ret["changes"]


def test_cluster_without_a_password(pcs, cluster):
    pcs.pillar_get.flat[KEY] = ""
    ret = run_cluster(cluster)
    assert ret["result"] is False and ret["comment"] == f"pillar key {KEY} is empty or not a string"
    assert pcs.changing() == []


def test_cluster_not_online_in_time(pcs, cluster):
    pcs.config = existing(cluster)
    pcs.known = {node: [address] for node, address in cluster["nodes"].items()}
    pcs.errors["online"] = "nodes ... online in a quorate cluster not reached within 180 s; last seen: quorate: False"
    ret = run_cluster(cluster)
    assert ret["result"] is False and ret["comment"] == pcs.errors["online"]


# ha_pacemaker.configured


def filled(wanted):
    """The measured CIB with the formula's properties, as after a push."""
    nvpairs = "".join(f'<nvpair id="p{i}" name="{name}" value="{value}"/>'
                      for i, (name, value) in enumerate(wanted["properties"].items()))
    return CIB.replace("</cluster_property_set>", nvpairs + "</cluster_property_set>")


PLAN = ("pcs property set cluster-recheck-interval=5min pe-error-series-max=1000 pe-input-series-max=1000 "
        "pe-warn-series-max=1000; pcs property set --force transition-delay=150ms")


def test_configured_without_commands(pcs, wanted):
    pcs.cibs = [filled(wanted)]
    ret = state.configured("ha-pacemaker-configured", wanted["properties"], wanted["resources"],
                           wanted["constraints"])
    assert ret == {"name": "ha-pacemaker-configured", "changes": {}, "result": True,
                   "comment": "the CIB holds the wanted properties, resources and constraints"}
    assert pcs.names() == ["cib"]


def test_configured_pushes_once(pcs, wanted):
    pcs.cibs = [CIB, filled(wanted)]
    ret = state.configured("ha-pacemaker-configured", wanted["properties"], wanted["resources"],
                           wanted["constraints"])
    assert ret["result"] is True and ret["comment"] == f"applied in one CIB push: {PLAN}"
    assert ret["changes"] == module.diff(module.parse_cib(CIB), wanted["properties"], wanted["resources"],
                                         wanted["constraints"])["changes"]
    assert set(ret["changes"]["properties"]) == {"cluster-recheck-interval", "pe-error-series-max",
                                                 "pe-input-series-max", "pe-warn-series-max", "transition-delay"}
    assert pcs.names() == ["cib", "push", "cib"]
    assert pcs.changing() == [("push", [["property", "set", "cluster-recheck-interval=5min",
                                         "pe-error-series-max=1000", "pe-input-series-max=1000",
                                         "pe-warn-series-max=1000"],
                                        ["property", "set", "--force", "transition-delay=150ms"]])]


def test_configured_test_mode(pcs, wanted, opts):
    opts["test"] = True
    pcs.cibs = [CIB]
    ret = state.configured("ha-pacemaker-configured", wanted["properties"], wanted["resources"],
                           wanted["constraints"])
    assert ret["result"] is None and ret["comment"] == f"one CIB push would apply: {PLAN}"
    assert set(ret["changes"]) == {"properties"} and pcs.names() == ["cib"]


def test_configured_still_differs_after_the_push(pcs, wanted):
    pcs.cibs = [CIB]
    ret = state.configured("ha-pacemaker-configured", wanted["properties"], wanted["resources"],
                           wanted["constraints"])
    assert ret["result"] is False and set(ret["changes"]["properties"]) == {
        "cluster-recheck-interval", "pe-error-series-max", "pe-input-series-max", "pe-warn-series-max",
        "transition-delay"}
    assert ret["comment"].startswith("the CIB was pushed but still differs: {'properties': {")
    assert [call[0] for call in pcs.changing()] == ["push"]


def test_configured_push_failure(pcs, wanted):
    pcs.cibs = [CIB]
    pcs.errors["push"] = "pcs cluster cib-push failed (exit 1): Error: unable to push cib"
    ret = state.configured("ha-pacemaker-configured", wanted["properties"], wanted["resources"],
                           wanted["constraints"])
    assert ret == {"name": "ha-pacemaker-configured", "changes": {}, "result": False,
                   "comment": pcs.errors["push"]}


def test_configured_resource_of_another_agent(pcs, wanted):
    pcs.cibs = [filled(wanted).replace('type="IPaddr2"', 'type="IPaddr"')]
    ret = state.configured("ha-pacemaker-configured", wanted["properties"], wanted["resources"],
                           wanted["constraints"])
    assert ret["result"] is False and ret["comment"].startswith("resource vip exists as ocf:heartbeat:IPaddr, not ")
    assert pcs.changing() == []


# ha_pacemaker.started


def status(vip=(C01,), clone=NODES, online=NODES):
    return {"quorate": True, "dc": C01, "nodes": {node: node in online for node in NODES},
            "resources": {"vip": sorted(vip), "lb-haproxy-clone": sorted(clone)}}


def run_started(timeout=120):
    return state.started("ha-pacemaker-started", ["vip"], ["lb-haproxy-clone"], timeout)


def test_started(pcs, clock):
    pcs.statuses = [status()]
    assert run_started() == {"name": "ha-pacemaker-started", "changes": {}, "result": True,
                             "comment": f"vip on {C01}; lb-haproxy-clone on {C01}, {C02}, {C03}"}
    assert clock.sleeps == [] and pcs.names() == ["status"]


def test_started_on_the_online_nodes(pcs, clock):
    pcs.statuses = [status(vip=[C02], clone=[C02, C03], online=[C02, C03])]
    assert run_started()["comment"] == f"vip on {C02}; lb-haproxy-clone on {C02}, {C03}"


def test_started_waits(pcs, clock):
    pcs.statuses = [CommandExecutionError("the cluster does not run here: connection refused"),
                    status(vip=[]), status(vip=[C01, C02]), status(clone=[C01, C02]), status()]
    assert run_started()["result"] is True
    assert clock.sleeps == [2, 2, 2, 2]


@pytest.mark.parametrize(
    ("answer", "seen"),
    [(status(vip=[C01, C02]), f"online: {C01}, {C02}, {C03}; started: {{'vip': ['{C01}', '{C02}'], "
                              f"'lb-haproxy-clone': ['{C01}', '{C02}', '{C03}']}}"),
     (status(clone=[C01]), f"online: {C01}, {C02}, {C03}; started: {{'vip': ['{C01}'], 'lb-haproxy-clone': "
                           f"['{C01}']}}"),
     (CommandExecutionError("the cluster does not run here: connection refused"),
      "the cluster does not run here: connection refused")],
)
def test_started_times_out(pcs, clock, answer, seen):
    pcs.statuses = [answer]
    ret = run_started(timeout=10)
    assert ret == {"name": "ha-pacemaker-started", "changes": {}, "result": False,
                   "comment": f"did not see vip, lb-haproxy-clone started within 10 s: {seen}"}
    assert clock.sleeps == [2] * 5 and pcs.names() == ["status"] * 6 and pcs.changing() == []
