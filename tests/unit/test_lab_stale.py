"""bin/lab up removes a lab that nothing runs any more before it boots nodes."""

from __future__ import annotations

import pytest

from lab import cli, config, master, nodes
from lab.config import Node, Topology

TOPOLOGY = Topology(nodes=(Node("openstack-controller01", "10.10.10.51", "controller"),
                           Node("openstack-compute01", "10.10.10.54", "compute")), image="key")


@pytest.fixture
def lab_state(tmp_path, monkeypatch):
    """A lab's state directory with a topology; the bridge up, the master running, no node up."""
    state = tmp_path / "halab"
    state.mkdir()
    monkeypatch.setattr(config, "STATE", state)
    monkeypatch.setattr(Topology, "load", classmethod(lambda cls: TOPOLOGY))
    monkeypatch.setattr(nodes, "bridge_up", lambda: True)
    monkeypatch.setattr(master, "pid", lambda: 4242)
    monkeypatch.setattr(nodes, "leader", lambda node: None)
    return monkeypatch


def test_no_state_is_no_stale_lab(lab_state, tmp_path, monkeypatch):
    monkeypatch.setattr(config, "STATE", tmp_path / "absent")
    assert cli._stale_lab() is False


def test_a_lab_whose_bridge_went_is_stale(lab_state):
    lab_state.setattr(nodes, "bridge_up", lambda: False)
    assert cli._stale_lab() is True


def test_a_killed_run_leaves_a_stale_lab(lab_state):
    """The bridge outlives the run's processes: no master and no node running is stale."""
    lab_state.setattr(master, "pid", lambda: None)
    assert cli._stale_lab() is True


def test_a_lab_whose_nodes_all_lost_power_is_not_stale(lab_state):
    """Every node down while the master runs is a test's total power loss, not a leftover."""
    assert cli._stale_lab() is False


def test_a_lab_whose_master_died_with_nodes_running_is_not_stale(lab_state):
    lab_state.setattr(master, "pid", lambda: None)
    lab_state.setattr(nodes, "leader", lambda node: 77 if node.role == "controller" else None)
    assert cli._stale_lab() is False


def test_down_finds_a_master_whose_pidfile_a_second_run_overwrote(tmp_path, monkeypatch):
    """Processes of salt-master on the lab's config, other than the running master's group, are others."""
    etc = str(master.ETC).encode()
    title = b"/venv/bin/python3 /venv/bin/salt-master -c " + etc + b" --log-level=quiet "  # setproctitle's
    commands = {101: title + b"MainProcess\0",  # the running master
                102: title + b"MWorker-default-0\0",  # its worker
                201: title + b"MainProcess\0",  # a stale master
                202: b"python3\0/venv/bin/salt-master\0-c\0" + etc + b"\0",  # its worker, plain argv
                301: b"python3 /venv/bin/salt-master -c /etc/other\0",  # another master
                302: b"sleep -c " + etc + b"\0"}  # not a master
    proc = tmp_path / "proc"
    for number, argv in commands.items():
        (proc / str(number)).mkdir(parents=True)
        (proc / str(number) / "cmdline").write_bytes(argv)
    (proc / "self").mkdir()
    monkeypatch.setattr(master, "pid", lambda: 101)
    monkeypatch.setattr(master.os, "getpgid", lambda number: 101 if number < 200 else number // 100 * 100 + 1)
    assert master.others(proc) == [201, 202]
