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
    def __init__(self, local, peer=None):
        self.local, self.peer, self.calls = local, peer, []

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
            "ha_galera.secure": lambda test, root_password: [] if test else ["root@localhost: x"],
            "pillar.get": self.pillar_get,
        }

    def pillar_get(self, key, unmask=False):
        self.calls.append(("pillar.get", key, unmask))
        return "the-root-secret-value" if unmask else "**********"


@pytest.fixture
def node():
    return FakeNode({"running": False, "grastate": {}})


@pytest.fixture
def opts():
    return {"test": False}


@pytest.fixture
def configure_loader_modules(node, opts):
    return {state: {"__salt__": node.funcs(), "__opts__": opts}}


def test_synced_node_changes_nothing(node):
    node.local = {"running": True, "wsrep": SYNCED, "grastate": {"uuid": UUID}}
    ret = state.bootstrapped("c", peers=["10.10.10.52"])
    assert ret["result"] is True and ret["changes"] == {} and node.calls == []
    assert state.joined("c", peers=["10.10.10.51"])["changes"] == {}


def test_fresh_first_node_bootstraps(node):
    ret = state.bootstrapped("c", peers=["10.10.10.52"])
    assert ret["result"] is True and node.calls == ["bootstrap"]
    assert ret["changes"] == {"bootstrap": {"cluster_size": 1, "state": "Synced"}}


def test_first_node_joins_when_a_peer_is_synced(node):
    node.peer = "10.10.10.52"
    ret = state.bootstrapped("c", peers=["10.10.10.52"])
    assert node.calls == ["join"] and "Joined via 10.10.10.52" in ret["comment"]


def test_other_node_joins(node):
    node.peer = "10.10.10.51"
    assert state.joined("c", peers=["10.10.10.51"])["changes"] == {"join": {"cluster_size": 3, "state": "Synced"}}


def test_fully_down_cluster_is_not_bootstrapped(node):
    node.local = {"running": False, "grastate": {"uuid": UUID, "seqno": -1}}
    ret = state.bootstrapped("c", peers=["10.10.10.52"])
    assert ret["result"] is False and node.calls == []
    assert "salt-run state.orchestrate ha.galera_recover" in ret["comment"]


def test_other_node_without_a_synced_peer_is_blocked(node):
    ret = state.joined("c", peers=["10.10.10.51"])
    assert ret["result"] is False and node.calls == [] and "no cluster to join" in ret["comment"]


def test_unqueryable_server_is_left_alone(node):
    node.local = {"running": True, "error": "access denied", "grastate": {"uuid": UUID}}
    ret = state.joined("c", peers=["10.10.10.51"])
    assert ret["result"] is False and node.calls == [] and "access denied" in ret["comment"]


def test_standalone_server_is_stopped_then_bootstraps(node):
    node.local = {"running": True, "wsrep": {**SYNCED, "wsrep_on": False}, "grastate": {}}
    ret = state.bootstrapped("c", peers=[])
    assert node.calls == ["stop", "bootstrap"]
    assert set(ret["changes"]) == {"stopped", "bootstrap"}


def test_test_mode_changes_nothing(node, opts):
    opts["test"] = True
    ret = state.bootstrapped("c", peers=[])
    assert ret["result"] is None and ret["changes"] == {"bootstrap": True} and node.calls == []
    node.local = {"running": True, "wsrep": {**SYNCED, "wsrep_on": False}, "grastate": {}}
    ret = state.bootstrapped("c", peers=[])
    assert ret["result"] is None and node.calls == []


def test_secured_reads_the_unmasked_secret_and_never_returns_it(node, opts):
    ret = state.secured("ha-galera-secured")
    assert ("pillar.get", "ha:galera:root_password", True) in node.calls
    assert ret["result"] is True and ret["changes"] == {"sql": ["root@localhost: x"]}
    assert "the-root-secret-value" not in str(ret)
    opts["test"] = True
    assert state.secured("ha-galera-secured") == {"name": "ha-galera-secured", "changes": {}, "result": True,
                                                  "comment": "Already as wanted"}


def test_virtual_says_why():
    saved = state.__salt__
    state.__salt__ = {}
    try:
        assert state.__virtual__()[0] is False
    finally:
        state.__salt__ = saved


def test_server_still_standalone_after_stop_fails_cleanly(node):
    node.local = {"running": True, "wsrep": {**SYNCED, "wsrep_on": False}, "grastate": {}}
    standalone = node.local
    node_funcs = state.__salt__
    node_funcs["ha_galera.stop"] = lambda: node.calls.append("stop")  # the server keeps running
    node.local = standalone
    ret = state.bootstrapped("c", peers=[])
    assert ret["result"] is False and "unexpected state (restart)" in ret["comment"]
    assert node.calls == ["stop"]
