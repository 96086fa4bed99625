"""Unit tests of _states/ha_etcd.py over a fake execution module."""

from __future__ import annotations

import pytest

from tests.helpers import load_module

state = load_module("_states/ha_etcd.py", "ha_etcd_state")
# The judgement of a health result is the execution module's own (ha_etcd.problems).
etcd_module = load_module("_modules/ha_etcd.py", "ha_etcd_module_for_state")
C01, C02, C03 = NAMES = tuple(f"openstack-controller0{i}" for i in (1, 2, 3))
MEMBERS = {name: {"peer_url": f"http://10.10.10.5{i}:2380", "client_url": f"http://10.10.10.5{i}:2379"}
           for i, name in enumerate(NAMES, 1)}
HEALTHY = {"members": [], "healthy": list(NAMES), "unhealthy": {}, "leader": C01, "quorum": True, "problems": []}
ONE_DOWN = {**HEALTHY, "healthy": [C01, C02], "unhealthy": {C03: "etcdctl endpoint health failed: timeout"}}
NO_QUORUM = {**HEALTHY, "healthy": [C01], "unhealthy": {C02: "down", C03: "down"}, "leader": None,
             "quorum": False, "problems": ["1 of 3 members healthy, a quorum needs 2"]}


class FakeEtcd:
    """ha_etcd.health and wait_healthy answering ``result`` and recording their arguments."""

    def __init__(self):
        self.result = HEALTHY
        self.calls = []

    def funcs(self):
        def health(expected):
            self.calls.append(("health", expected))
            return self.result

        def wait_healthy(expected, timeout, all_members):
            self.calls.append(("wait_healthy", expected, timeout, all_members))
            return self.result

        return {"ha_etcd.health": health, "ha_etcd.wait_healthy": wait_healthy,
                "ha_etcd.problems": etcd_module.problems}


@pytest.fixture
def etcd():
    return FakeEtcd()


@pytest.fixture
def opts():
    return {"test": False}


@pytest.fixture
def configure_loader_modules(etcd, opts, utils):
    return {state: {"__salt__": etcd.funcs(), "__opts__": opts, "__utils__": utils}}


def test_healthy_cluster(etcd):
    ret = state.healthy("ha-etcd-healthy", members=MEMBERS, timeout=90, all_members=True)
    assert ret == {"name": "ha-etcd-healthy", "changes": {}, "result": True,
                   "comment": f"etcd has a healthy quorum: leader {C01}, healthy: {C01}, {C02}, {C03}"}
    assert etcd.calls == [("wait_healthy", MEMBERS, 90, True)]


def test_quorum_with_a_member_down(etcd):
    etcd.result = ONE_DOWN
    ret = state.healthy("ha-etcd-healthy")
    assert ret["result"] is True and etcd.calls == [("wait_healthy", None, 120, False)]
    assert ret["comment"] == (f"etcd has a healthy quorum: leader {C01}, healthy: {C01}, {C02}; "
                              f"unhealthy: {C03} (etcdctl endpoint health failed: timeout)")


def test_no_quorum_after_the_timeout(etcd):
    etcd.result = NO_QUORUM
    ret = state.healthy("ha-etcd-healthy", members=MEMBERS, timeout=30)
    assert ret == {"name": "ha-etcd-healthy", "changes": {}, "result": False,
                   "comment": "etcd is not healthy after 30 s: 1 of 3 members healthy, a quorum needs 2"}


def test_all_members_wanted_but_one_down(etcd):
    etcd.result = ONE_DOWN
    ret = state.healthy("ha-etcd-healthy", members=MEMBERS, timeout=60, all_members=True)
    assert ret["result"] is False
    assert ret["comment"] == ("etcd is not healthy after 60 s: unhealthy: "
                              f"{{'{C03}': 'etcdctl endpoint health failed: timeout'}}")


def test_test_mode_checks_once_and_never_waits(etcd, opts):
    opts["test"] = True
    ret = state.healthy("ha-etcd-healthy", members=MEMBERS, timeout=600)
    assert ret["result"] is True and ret["changes"] == {}
    assert ret["comment"] == f"etcd has a healthy quorum: leader {C01}, healthy: {C01}, {C02}, {C03}"
    etcd.result = NO_QUORUM
    ret = state.healthy("ha-etcd-healthy", members=MEMBERS, timeout=600)
    assert ret["result"] is None and ret["changes"] == {}
    assert ret["comment"] == "etcd is not healthy yet; would wait: 1 of 3 members healthy, a quorum needs 2"
    assert etcd.calls == [("health", MEMBERS), ("health", MEMBERS)]


def test_test_mode_with_all_members_and_one_down(etcd, opts):
    opts["test"] = True
    etcd.result = ONE_DOWN
    ret = state.healthy("ha-etcd-healthy", members=MEMBERS, all_members=True)
    assert etcd.calls == [("health", MEMBERS)]
    assert ret["result"] is None
