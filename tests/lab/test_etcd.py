"""The etcd cluster deployed by ha.deploy on the lab's controllers; a member's crash and return."""

from __future__ import annotations

import json
import secrets
import time

import pytest

from tests.lab.conftest import (
    ADDRESSES,
    CONTROLLERS,
    ETCD_ENDPOINTS,
    REJOIN_MAX,
    etcd_all_healthy,
    vip_holder,
    wait_recovered,
    wait_until,
)

pytestmark = pytest.mark.lab


def etcdctl(lab, node: str, *args: str, endpoints: str | None = None, check: bool = True):
    endpoint = endpoints or f"http://{ADDRESSES[node]}:2379"
    return lab.exec(node, "env", "ETCDCTL_API=3", "etcdctl", f"--endpoints={endpoint}", "--command-timeout=5s",
                    *args, check=check)


@pytest.fixture(scope="module")
def etcd(deployed):
    wait_until("every etcd member to be healthy", lambda: etcd_all_healthy(deployed), 180, 2)
    return deployed


def test_three_members_named_after_the_controllers(etcd):
    listed = json.loads(etcdctl(etcd, "openstack-controller02", "member", "list", "-w", "json").stdout)
    members = {m["name"]: (m["peerURLs"], m["clientURLs"]) for m in listed["members"]}
    assert members == {node: ([f"http://{address}:2380"], [f"http://{address}:2379"])
                       for node, address in ADDRESSES.items()}
    health = json.loads(etcdctl(etcd, "openstack-controller01", "endpoint", "health", "-w", "json",
                                endpoints=ETCD_ENDPOINTS).stdout)
    assert sorted((h["endpoint"], h["health"]) for h in health) == [
        (f"http://{address}:2379", True) for address in ADDRESSES.values()]


def test_health_module_reports_the_leader(etcd):
    result = etcd.run("salt", "--out=json", "--static", "openstack-controller03", "ha_etcd.health").stdout
    report = json.loads(result)["openstack-controller03"]
    assert report["quorum"] is True and report["problems"] == []
    assert report["healthy"] == CONTROLLERS and report["leader"] in CONTROLLERS


def test_key_written_via_01_reads_back_via_03(etcd):
    key, value = f"/hatest/{secrets.token_hex(4)}", secrets.token_hex(8)
    try:
        etcdctl(etcd, "openstack-controller01", "put", key, value)
        assert etcdctl(etcd, "openstack-controller03", "get", key, "--print-value-only").stdout.strip() == value
    finally:
        etcdctl(etcd, "openstack-controller01", "del", key)


def test_survivors_serve_during_a_crash_and_the_member_rejoins(etcd, measure):
    """
    Power loss of a controller that holds nothing (not the first controller, Galera's active server and
    RabbitMQ's first node; not the VIP holder): the survivors serve etcd, and within 120 s of its boot every
    cluster is whole again (Galera, RabbitMQ, etcd, Pacemaker), no deploy run.
    """
    lab = etcd
    holder = vip_holder(lab)
    crashed = next(node for node in reversed(CONTROLLERS[1:]) if node != holder)
    first, other = (node for node in CONTROLLERS if node != crashed)
    key, value = f"/hatest/{secrets.token_hex(4)}", secrets.token_hex(8)
    try:
        lab.run("crash", crashed)
        crashed_at = time.monotonic()
        # If the crashed member led, the survivors elect a new leader first.
        wait_until("a write through a survivor", lambda: etcdctl(
            lab, first, "put", key, value, check=False).returncode == 0, 30, 0.2)
        measure(f"etcd write accepted by the survivors {time.monotonic() - crashed_at:.1f} s after the crash")
        # A quorum read and a write through each survivor.
        assert etcdctl(lab, other, "get", key, "--print-value-only").stdout.strip() == value
        etcdctl(lab, other, "put", key, value + "-2")
        assert etcdctl(lab, first, "get", key, "--print-value-only").stdout.strip() == value + "-2"
        unhealthy = etcdctl(lab, first, "endpoint", "health", endpoints=ETCD_ENDPOINTS, check=False)
        assert unhealthy.returncode != 0 and f"http://{ADDRESSES[crashed]}:2379 is unhealthy" in unhealthy.stderr
        # The VIP stayed where it was.
        assert vip_holder(lab, first, [first, other]) == holder

        started = time.monotonic()
        lab.run("boot", crashed)
        wait_until("the crashed member to be healthy again", lambda: etcd_all_healthy(lab), REJOIN_MAX, 0.5)
        measure(f"etcd member healthy again {time.monotonic() - started:.1f} s after bin/lab boot")
        slowest = wait_recovered(lab, REJOIN_MAX - (time.monotonic() - started))
        measure(f"power loss of {crashed} (holds nothing): every cluster whole {time.monotonic() - started:.1f} s "
                f"after its boot (not whole: {slowest or 'none'})")
        # It caught up with the writes it missed, with no manual step.
        assert etcdctl(lab, crashed, "get", key, "--print-value-only").stdout.strip() == value + "-2"
    finally:
        lab.run("boot", crashed, check=False)
        wait_recovered(lab)
        etcdctl(lab, "openstack-controller01", "del", key, check=False)
