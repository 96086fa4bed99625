"""Unit tests of _modules/ha_host.py: capabilities, kernel modules and chronyc parsing."""

from __future__ import annotations

import pytest
from salt.exceptions import CommandExecutionError

from tests.helpers import load_module

host = load_module("_modules/ha_host.py", "ha_host_module")
# Bounding sets as /proc/1/status prints them: a full root (CAP_LAST_CAP 40)
# and a systemd-nspawn container (no sys_module, no sys_time, has net_admin).
FULL = "000001ffffffffff"
NSPAWN = "00000000fdecbfff"
SOURCES = """\
^,*,10.10.10.51,10,6,377,12,-0.000001,0.000002,0.000123
^,?,10.10.10.52,0,6,0,4294967295,0.0,0.0,0.0
=,+,10.10.10.53,11,6,17,40,0.000010,0.000012,0.000456
"""
TRACKING = (
    "0A0A0A33,10.10.10.51,11,1764083000.123,0.000000012,-0.000000345,0.000001000,-12.5,0.001,0.05,"
    "0.000123,0.000045,64.5,Normal\n"
)


@pytest.fixture
def configure_loader_modules(run_all, utils):
    return {host: {"__salt__": {"cmd.run_all": run_all}, "__utils__": utils}}


@pytest.fixture
def proc(tmp_path, monkeypatch):
    (tmp_path / "proc" / "1").mkdir(parents=True)
    (tmp_path / "sys" / "module").mkdir(parents=True)
    monkeypatch.setattr(host, "PROC", tmp_path / "proc")
    monkeypatch.setattr(host, "SYS_MODULE", tmp_path / "sys" / "module")
    return tmp_path


def set_capbnd(proc, mask: str) -> None:
    (proc / "proc" / "1" / "status").write_text(f"Name:\tsystemd\nCapInh:\t0000000000000000\nCapBnd:\t{mask}\n")


def test_capabilities_of_a_full_root(proc):
    set_capbnd(proc, FULL)
    assert host.capabilities() == ["net_admin", "sys_module", "sys_time"]
    assert host.can_set_clock() is True


def test_a_container_may_not_set_the_clock(proc):
    set_capbnd(proc, NSPAWN)
    assert host.capabilities() == ["net_admin"]
    assert host.can_set_clock() is False


def test_capabilities_without_capbnd_line_raise(proc):
    (proc / "proc" / "1" / "status").write_text("Name:\tinit\n")
    with pytest.raises(CommandExecutionError, match="CapBnd"):
        host.capabilities()


def test_kernel_module_states(proc):
    modules = proc / "proc" / "modules"
    assert host.kernel_module("br_netfilter") == "no-module-support"
    modules.write_text("bridge 311296 1 br_netfilter, Live 0x0\nstp 12288 1 bridge, Live 0x0\n")
    assert host.kernel_module("br_netfilter") == "absent"
    assert host.kernel_module("bridge") == "loaded"
    # Built-in modules with parameters show in /sys/module only.
    (proc / "sys" / "module" / "br_netfilter").mkdir()
    assert host.kernel_module("br_netfilter") == "loaded"


def test_parse_sources():
    rows = [line.split(",") for line in SOURCES.splitlines()]
    parsed = host.parse_sources(rows)
    assert parsed[0] == {"mode": "server", "state": "synced", "address": "10.10.10.51", "stratum": 10,
                         "poll": 6, "reach": 255, "last_rx": 12}
    assert parsed[1]["state"] == "unreachable" and parsed[1]["reach"] == 0
    assert parsed[2]["mode"] == "peer" and parsed[2]["state"] == "combined" and parsed[2]["reach"] == 15


def test_parse_sources_rejects_short_lines():
    with pytest.raises(CommandExecutionError, match="unexpected chronyc sources line"):
        host.parse_sources([["^", "*", "10.10.10.51"]])


def test_parse_tracking():
    data = host.parse_tracking([TRACKING.strip().split(",")])
    assert data["reference_name"] == "10.10.10.51"
    assert data["stratum"] == 11
    assert data["leap_status"] == "Normal"
    assert data["last_offset"] == pytest.approx(-3.45e-7)


def test_parse_tracking_rejects_other_output():
    with pytest.raises(CommandExecutionError, match="unexpected chronyc tracking output"):
        host.parse_tracking([["506Cannot talk to daemon"]])


def test_chronyc_sources_and_tracking(run_all):
    run_all.handler = lambda argv, **kwargs: (0, SOURCES if argv[-1] == "sources" else TRACKING, "")
    assert [source["address"] for source in host.sources()] == ["10.10.10.51", "10.10.10.52", "10.10.10.53"]
    assert host.tracking()["reference_name"] == "10.10.10.51"
    assert [call["argv"] for call in run_all.calls] == [["chronyc", "-c", "-n", "sources"],
                                                        ["chronyc", "-c", "-n", "tracking"]]
    assert {call["timeout"] for call in run_all.calls} == {10}


def test_chronyc_failure_names_the_daemon(run_all):
    run_all.handler = lambda argv, **kwargs: (1, "", "506 Cannot talk to daemon\n")
    with pytest.raises(CommandExecutionError, match=r"^chronyc sources failed: 506 Cannot talk to daemon \(is chronyd "
                                                    r"running\?\)$"):
        host.sources()


def test_chronyc_missing_or_hanging(run_all):
    run_all.handler = lambda argv, **kwargs: run_all.missing(argv)
    with pytest.raises(CommandExecutionError, match=r"^chronyc not found: is chrony installed\?$"):
        host.tracking()
    run_all.handler = lambda argv, timeout, **kwargs: run_all.timed_out(argv, timeout)
    with pytest.raises(CommandExecutionError, match="^chronyc tracking did not finish within 10 s$"):
        host.tracking()


def test_virtual_needs_proc(proc):
    assert host.__virtual__() == (False, "ha_host needs Linux /proc")
    set_capbnd(proc, FULL)
    assert host.__virtual__() == "ha_host"
