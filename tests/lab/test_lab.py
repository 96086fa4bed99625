"""The lab itself: nodes, network, power loss and isolation, teardown."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from lab import config
from tests.lab.conftest import cluster_events, connect, unexplained

pytestmark = pytest.mark.lab

NODES = ["openstack-controller01", "openstack-controller02", "openstack-controller03", "openstack-compute01"]

def test_status_shows_the_reference_topology(lab):
    status = lab.status()
    assert list(status) == NODES
    assert [n["address"] for n in status.values()] == ["10.10.10.51", "10.10.10.52", "10.10.10.53", "10.10.10.54"]
    assert all(n["state"] == "up" and n["minion"] == "answering" for n in status.values()), status


def test_exec_runs_inside_the_node(lab):
    assert lab.exec("openstack-controller02", "hostname").stdout.strip() == "openstack-controller02"
    assert lab.exec("openstack-compute01", "sh", "-c", "exit 7", check=False).returncode == 7


def test_nodes_run_systemd_and_a_minion(lab):
    for node in NODES:
        assert lab.exec(node, "systemctl", "is-active", "salt-minion").stdout.strip() == "active"
        assert lab.exec(node, "cat", "/proc/1/comm").stdout.strip() == "systemd"


def test_lab_addresses_live_only_on_the_bridge(lab):
    host = subprocess.run(["ip", "-o", "-4", "addr"], capture_output=True, text=True, check=True).stdout
    lab_lines = [line for line in host.splitlines() if " 10.10.10." in line]
    assert len(lab_lines) == 1 and lab_lines[0].split()[1] == config.BRIDGE
    for node, address in zip(NODES, ["10.10.10.51", "10.10.10.52", "10.10.10.53", "10.10.10.54"], strict=True):
        routes = lab.exec(node, "ip", "-4", "route").stdout
        assert "default" not in routes, f"{node} has a default route: {routes}"
        assert f"inet {address}/24" in lab.exec(node, "ip", "-4", "addr", "show", "host0").stdout


def test_nodes_reach_each_other_over_the_bridge(lab):
    assert connect(lab, "openstack-controller01", "10.10.10.54") == "refused"


def test_up_again_reuses_the_running_lab(lab, measure):
    leaders = {n: Path(config.NODES_DIR / n / "leader").read_text() for n in NODES}
    started = time.monotonic()
    lab.run("up")
    measure(f"bin/lab up on a running lab: {time.monotonic() - started:.1f} s")
    assert {n: Path(config.NODES_DIR / n / "leader").read_text() for n in NODES} == leaders


# bin/lab crash/boot and isolate/heal are tested where they serve the
# failover tests (test_pacemaker.py): one power loss and one isolation
# prove both the lab's commands and the cluster's behaviour.


@pytest.mark.lab_audit
def test_no_false_failover_in_the_whole_run(deployed, measure):
    """
    Every membership change that lost a node and every move of the VIP in
    the whole lab tier, the cold deploy included, followed a fault that a
    test injected (bin/lab crash, isolate, boot, heal); the first start of
    the VIP is the deploy's.
    """
    events = cluster_events(deployed)
    assert events["vip"] and events["left"], f"the audit read no VIP start or no membership change: {events}"
    lost = unexplained(events["left"], deployed.faults)
    moved = unexplained(events["vip"][1:], deployed.faults)
    measure(f"whole lab tier: {len(deployed.faults)} faults injected, {len(events['left'])} membership changes "
            f"that lost a node, {len(events['vip'])} starts of the VIP; without a fault before them: "
            f"{len(lost)} and {len(moved)}")
    assert lost == [] and moved == [], f"false failovers: membership {lost}, VIP {moved}"


@pytest.mark.lab_teardown
def test_down_leaves_nothing_behind(lab):
    leaders = [int(path.read_text().split()[0]) for path in config.NODES_DIR.glob("*/leader")]
    # Every node of the lab as it is now (the scale-out added controllers).
    assert len(leaders) == len(lab.status()) >= len(NODES)
    lab.run("down")
    alive = [pid for pid in leaders if Path(f"/proc/{pid}").exists()]
    assert alive == [], "node systemd processes survived"
    nspawn = subprocess.run(["pgrep", "-f", "systemd-nspawn"], capture_output=True, text=True).stdout.split()
    running = [pid for pid in nspawn if not Path(f"/proc/{pid}/status").read_text().count("State:\tZ")]
    assert running == [], "systemd-nspawn processes survived"
    assert str(config.STATE) not in Path("/proc/self/mountinfo").read_text()
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    assert config.BRIDGE not in links and " vb-" not in links
    assert not config.STATE.exists()
    assert subprocess.run(["pgrep", "-f", str(config.MASTER_DIR)], capture_output=True).returncode == 1
