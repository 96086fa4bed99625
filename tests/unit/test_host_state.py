"""Unit tests of _states/ha_host.py over a fake execution module."""

from __future__ import annotations

import pytest
from salt.exceptions import CommandExecutionError

from tests.helpers import load_module

state = load_module("_states/ha_host.py", "ha_host_state")


class FakeHost:
    def __init__(self):
        self.module = "absent"
        self.caps = ["net_admin", "sys_module", "sys_time"]
        self.tracking: dict | Exception = {}

    def _tracking(self):
        if isinstance(self.tracking, Exception):
            raise self.tracking
        return self.tracking

    def funcs(self):
        return {
            "ha_host.kernel_module": lambda name: self.module,
            "ha_host.capabilities": lambda: self.caps,
            "ha_host.tracking": self._tracking,
            "kmod.load": lambda name: self.load(name),
        }


@pytest.fixture
def fake():
    return FakeHost()


@pytest.fixture
def opts():
    return {"test": False}


@pytest.fixture
def configure_loader_modules(fake, opts, utils):
    return {state: {"__salt__": fake.funcs(), "__opts__": opts, "__utils__": utils}}


@pytest.fixture
def modprobe(fake):
    """kmod.load recording its calls; answers a message string (modprobe failed) when ``failing``."""
    calls: list[str] = []
    failing: list[bool] = []

    def load(name):
        calls.append(name)
        if failing:
            return f"Error loading module {name}: modprobe: FATAL: Module {name} not found"
        return [name]

    fake.load = load
    return calls, failing


def test_loaded_module_changes_nothing(fake, modprobe):
    fake.module = "loaded"
    ret = state.kernel_module("br_netfilter")
    assert ret["result"] is True and ret["changes"] == {}
    assert modprobe[0] == []


def test_kernel_without_modules_changes_nothing(fake, modprobe):
    fake.module = "no-module-support"
    ret = state.kernel_module("br_netfilter")
    assert ret["result"] is True and ret["changes"] == {}
    assert "built in" in ret["comment"]
    assert modprobe[0] == []


def test_absent_module_is_loaded(modprobe):
    ret = state.kernel_module("br_netfilter")
    assert ret["result"] is True and ret["changes"] == {"loaded": "br_netfilter"}
    assert modprobe[0] == ["br_netfilter"]


def test_test_mode_loads_nothing(opts, modprobe):
    opts["test"] = True
    ret = state.kernel_module("br_netfilter")
    assert ret["result"] is None and ret["changes"] == {"loaded": "br_netfilter"}
    assert modprobe[0] == []


def test_failed_modprobe_in_a_container_says_where_to_load_it(fake, modprobe):
    fake.caps = ["net_admin"]
    modprobe[1].append(True)
    ret = state.kernel_module("br_netfilter")
    assert ret["result"] is False and ret["changes"] == {}
    assert "modprobe br_netfilter failed" in ret["comment"]
    assert "CAP_SYS_MODULE" in ret["comment"]


def test_chrony_answering_reports_what_it_follows(fake):
    fake.tracking = {"stratum": 11, "reference_id": "0A0A0A33", "reference_name": "10.10.10.51",
                     "leap_status": "Normal"}
    ret = state.chrony_answering("chronyd")
    assert ret["result"] is True and ret["changes"] == {}
    assert "stratum 11, following 10.10.10.51 (Normal)" in ret["comment"]
    fake.tracking = {"stratum": 10, "reference_id": "7F7F0101", "reference_name": "", "leap_status": "Normal"}
    assert "stratum 10, following its own clock" in state.chrony_answering("chronyd")["comment"]


def test_chrony_not_answering_fails(fake, opts):
    fake.tracking = CommandExecutionError("chronyc tracking failed: 506 Cannot talk to daemon (is chronyd running?)")
    ret = state.chrony_answering("chronyd")
    assert ret["result"] is False and ret["changes"] == {}
    assert "506 Cannot talk to daemon" in ret["comment"]
    opts["test"] = True
    assert state.chrony_answering("chronyd")["result"] is None
