"""Unit tests of _states/ha_galera.py over a fake execution module (the real decide())."""

from __future__ import annotations

import pytest

from tests.helpers import load_module

module = load_module("_modules/ha_galera.py", "ha_galera_module_for_state")
state = load_module("_states/ha_galera.py", "ha_galera_state")
UUID = "a0c4b1a2-e89f-11f1-90b2-e7b430a4d936"
SYNCED = {"wsrep_on": True, "cluster_status": "Primary", "local_state": 4, "cluster_size": 3,
          "local_state_comment": "Synced"}


class FakeNode:
    def __init__(self, local, pillar_get, peer=None):
        self.local, self.peer, self.calls, self.pillar_get = local, peer, [], pillar_get

    def funcs(self):
        def record(name, result):
            def call(*args, **kwargs):
                self.calls.append(name)
                return result() if callable(result) else result
            return call

        def stop():
            self.calls.append("stop")
            self.local = {"running": False, "grastate": {}}

        return {
            "ha_galera.status": lambda: self.local,
            "ha_galera.peer_synced": lambda peers, port: self.peer,
            "ha_galera.decide": module.decide,
            "ha_galera.stop": stop,
            "ha_galera.bootstrap": record("bootstrap", {**SYNCED, "cluster_size": 1}),
            "ha_galera.join": record("join", SYNCED),
            "ha_galera.wait_synced": record("wait_synced", SYNCED),
            "ha_galera.secure": record("secure", lambda: []),
            "ha_galera.ensure_user": record("ensure_user", ["created 'keystone'@'10.10.10.51'"]),
            "ha_galera.ensure_database": record("ensure_database", []),
            "pillar.get": self.pillar_get,
        }


@pytest.fixture
def node(pillar_get):
    pillar_get.flat.update({"ha:galera:root_password": "the-root-secret-value",
                            "ha:galera:databases:keystone:password": "the-keystone-secret"})
    return FakeNode({"running": False, "grastate": {}}, pillar_get)


@pytest.fixture
def opts():
    return {"test": False}


@pytest.fixture
def configure_loader_modules(node, opts, utils):
    return {state: {"__salt__": node.funcs(), "__opts__": opts, "__utils__": utils}}


def test_synced_node_changes_nothing(node):
    node.local = {"running": True, "wsrep": SYNCED, "grastate": {"uuid": UUID}}
    ret = state.bootstrapped("c", peers=["10.10.10.52"], check_port=9200)
    assert ret["result"] is True and ret["changes"] == {} and node.calls == []
    assert state.joined("c", peers=["10.10.10.51"], check_port=9200)["changes"] == {}


def test_fresh_first_node_bootstraps(node):
    ret = state.bootstrapped("c", peers=["10.10.10.52"], check_port=9200)
    assert ret["result"] is True and node.calls == ["bootstrap"]
    assert ret["changes"] == {"bootstrap": {"cluster_size": 1, "state": "Synced"}}


def test_first_node_joins_when_a_peer_is_synced(node):
    node.peer = "10.10.10.52"
    ret = state.bootstrapped("c", peers=["10.10.10.52"], check_port=9200)
    assert node.calls == ["join"] and "Joined via 10.10.10.52" in ret["comment"]


def test_other_node_joins(node):
    node.peer = "10.10.10.51"
    assert state.joined("c", peers=["10.10.10.51"], check_port=9200)["changes"] == {
        "join": {"cluster_size": 3, "state": "Synced"}}


def test_fully_down_cluster_is_not_bootstrapped(node):
    node.local = {"running": False, "grastate": {"uuid": UUID, "seqno": -1}}
    ret = state.bootstrapped("c", peers=["10.10.10.52"], check_port=9200)
    assert ret["result"] is False and node.calls == []
    assert "salt-run state.orchestrate ha.galera_recover" in ret["comment"]


def test_other_node_without_a_synced_peer_is_blocked(node):
    ret = state.joined("c", peers=["10.10.10.51"], check_port=9200)
    assert ret["result"] is False and node.calls == [] and "no cluster to join" in ret["comment"]


def test_unqueryable_server_is_left_alone(node):
    node.local = {"running": True, "error": "access denied", "grastate": {"uuid": UUID}}
    ret = state.joined("c", peers=["10.10.10.51"], check_port=9200)
    assert ret["result"] is False and node.calls == [] and "access denied" in ret["comment"]


def test_standalone_server_is_stopped_then_bootstraps(node):
    node.local = {"running": True, "wsrep": {**SYNCED, "wsrep_on": False}, "grastate": {}}
    ret = state.bootstrapped("c", peers=[], check_port=9200)
    assert node.calls == ["stop", "bootstrap"]
    assert set(ret["changes"]) == {"stopped", "bootstrap"}


def test_test_mode_changes_nothing(node, opts):
    opts["test"] = True
    ret = state.bootstrapped("c", peers=[], check_port=9200)
    assert ret["result"] is None and ret["changes"] == {"bootstrap": True} and node.calls == []
    node.local = {"running": True, "wsrep": {**SYNCED, "wsrep_on": False}, "grastate": {}}
    ret = state.bootstrapped("c", peers=[], check_port=9200)
    assert ret["result"] is None and node.calls == []


def test_secured_reads_the_unmasked_secret_and_never_returns_it(node, opts):
    calls = []
    node_funcs = state.__salt__
    node_funcs["ha_galera.secure"] = lambda test, root_password: calls.append((test, root_password)) or (
        ["would: root@localhost"] if test else ["root@localhost: x"])
    ret = state.secured("ha-galera-secured")
    assert node.pillar_get.calls == [("ha:galera:root_password", True)]
    assert calls == [(False, "the-root-secret-value")]
    assert ret == {"name": "ha-galera-secured", "changes": {"sql": ["root@localhost: x"]}, "result": True,
                   "comment": "Changed: root@localhost: x"}
    assert "the-root-secret-value" not in str(ret)
    opts["test"] = True
    assert state.secured("ha-galera-secured") == {"name": "ha-galera-secured", "result": None,
                                                  "changes": {"sql": ["would: root@localhost"]},
                                                  "comment": "Would change: would: root@localhost"}
    node_funcs["ha_galera.secure"] = lambda test, root_password: []
    assert state.secured("ha-galera-secured") == {"name": "ha-galera-secured", "changes": {}, "result": True,
                                                  "comment": "Already as wanted"}


def test_user_reads_its_password_from_the_pillar(node):
    ret = state.user("keystone", ["10.10.10.51"], "ha:galera:databases:keystone:password", {"keystone": ["ALL"]})
    assert ret["result"] is True and ret["changes"] == {"sql": ["created 'keystone'@'10.10.10.51'"]}
    assert state.database("keystone")["comment"] == "Already as wanted"
    assert node.calls == ["ensure_user", "ensure_database"]


@pytest.mark.parametrize("value", [None, "", 1234567890123456789])
def test_sql_states_without_a_secret_fail_and_change_nothing(node, value):
    node.pillar_get.flat["ha:galera:root_password"] = value
    assert state.secured("ha-galera-secured") == {
        "name": "ha-galera-secured", "changes": {}, "result": False,
        "comment": "pillar key ha:galera:root_password is empty or not a string"}
    ret = state.user("nova", ["10.10.10.51"], "ha:galera:databases:nova:password", {"nova": ["ALL"]})
    assert ret["result"] is False and ret["comment"] == "pillar key ha:galera:databases:nova:password is empty or " \
        "not a string"
    assert node.calls == []


def test_server_still_standalone_after_stop_fails_cleanly(node):
    node.local = {"running": True, "wsrep": {**SYNCED, "wsrep_on": False}, "grastate": {}}
    standalone = node.local
    node_funcs = state.__salt__
    node_funcs["ha_galera.stop"] = lambda: node.calls.append("stop")  # the server keeps running
    node.local = standalone
    ret = state.bootstrapped("c", peers=[], check_port=9200)
    assert ret["result"] is False and "unexpected state (restart)" in ret["comment"]
    assert node.calls == ["stop"]
