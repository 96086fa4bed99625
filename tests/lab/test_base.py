"""The base of every node and its time service, as ha.deploy left them on the lab."""

from __future__ import annotations

import time

import pytest

from tests.lab.conftest import connect, wait_until

pytestmark = pytest.mark.lab

TIME_SERVER = "openstack-controller01"
TIME_SERVER_ADDRESS = "10.10.10.51"
CLIENTS = ["openstack-controller02", "openstack-controller03", "openstack-compute01"]
NODES = [TIME_SERVER, *CLIENTS]
# The formula's own kernel parameters and the one pillar.example adds.
SYSCTL = {
    "net.ipv4.ip_forward": "1",
    "net.bridge.bridge-nf-call-iptables": "1",
    "net.bridge.bridge-nf-call-ip6tables": "1",
    "net.ipv4.ip_nonlocal_bind": "1",
    "net.ipv4.tcp_keepalive_time": "600",
}


def tracking(lab, node: str) -> list[str]:
    return lab.exec(node, "chronyc", "-c", "-n", "tracking").stdout.strip().split(",")


def test_clients_follow_the_time_server(deployed, measure):
    """chronyc sources on every client shows the first controller, selected; tracking follows it."""
    started = time.monotonic()

    def synced(node: str) -> bool:
        sources = deployed.exec(node, "chronyc", "-n", "sources").stdout
        return any(line.startswith("^*") and TIME_SERVER_ADDRESS in line for line in sources.splitlines())

    for node in CLIENTS:
        wait_until(f"{node} to select {TIME_SERVER_ADDRESS} in chronyc sources", lambda n=node: synced(n), 120, 1,
                   describe=lambda n=node: deployed.exec(n, "chronyc", "-n", "sources").stdout)
        fields = tracking(deployed, node)
        # reference name, stratum one below the server's, leap status
        assert fields[1] == TIME_SERVER_ADDRESS and fields[2] == "11" and fields[-1] == "Normal", fields
    measure(f"chrony: every client selected the time server {time.monotonic() - started:.1f} s after the checks began")


def test_time_server_serves_its_local_clock_without_touching_it(deployed):
    """No upstream answers in the lab: the server keeps serving at local stratum 10; in a container
    (no CAP_SYS_TIME, detected by the formula) chronyd runs with -x."""
    fields = tracking(deployed, TIME_SERVER)
    assert fields[2] == "10" and fields[-1] == "Normal", fields
    for node in NODES:
        capbnd = int(deployed.exec(node, "grep", "^CapBnd", "/proc/1/status").stdout.split()[1], 16)
        assert not capbnd >> 25 & 1, f"{node} has CAP_SYS_TIME"
        args = deployed.exec(node, "ps", "-o", "args=", "-C", "chronyd").stdout.split()
        assert args[-1] == "-x", (node, args)
    config = deployed.exec(TIME_SERVER, "cat", "/etc/chrony/chrony.conf").stdout
    assert {"allow 10.10.10.0/24", "local stratum 10"} <= set(config.splitlines())
    client = deployed.exec("openstack-compute01", "cat", "/etc/chrony/chrony.conf").stdout
    assert f"server {TIME_SERVER_ADDRESS} iburst" in client and "allow" not in client and "pool" not in client


def test_kernel_parameters_in_effect_and_persisted_once(deployed):
    for node in NODES:
        for name, value in SYSCTL.items():
            assert deployed.exec(node, "sysctl", "-n", name).stdout.strip() == value, (node, name)
            persisted = deployed.exec(node, "sh", "-c", f"grep -h '^{name} *=' /etc/sysctl.conf /etc/sysctl.d/*.conf",
                                      check=False).stdout.splitlines()
            assert [line.replace(" ", "") for line in persisted] == [f"{name}={value}"], (node, persisted)
        assert "br_netfilter" in deployed.exec(node, "cat", "/etc/modules-load.d/ha.conf").stdout.split()


def test_time_zone_from_the_pillar(deployed):
    for node in NODES:
        assert deployed.exec(node, "readlink", "/etc/localtime").stdout.strip().endswith("Asia/Shanghai"), node
        assert deployed.exec(node, "date", "+%z").stdout.strip() == "+0800", node


VIP = "10.10.10.69"
# An address of the lab's network that is not a node of ha:nodes.
OUTSIDER = "10.10.10.60"


def test_managed_firewall_lets_in_only_the_formulas_ports(deployed):
    """ha:base:firewall managed (pillar.example): the formula's nftables table, loaded at boot, on every node;
    a port no rule opens is refused, the cluster ports are open to the nodes only, the VIP's listeners to anyone."""
    lab = deployed

    for node in NODES:
        enabled = lab.exec(node, "systemctl", "is-enabled", "nftables", check=False).stdout.strip()
        # When it is not, what enabled or disabled it, and the links systemd reads.
        assert enabled == "enabled", (node, enabled, lab.exec(
            node, "sh", "-c", "ls -l /etc/systemd/system/sysinit.target.wants; "
            "journalctl --no-pager -o short-precise | grep -E 'systemctl (enable|disable|preset)|nftables'",
            check=False).stdout)
        table = lab.exec(node, "nft", "list", "table", "inet", "ha_formula").stdout
        assert "policy drop;" in table and 'comment "SSH"' in table, (node, table)
        assert ('comment "cluster services"' in table) == (node != "openstack-compute01"), (node, table)
    # A listener on a port that no rule opens: it answers on the node itself, and is refused from another node.
    lab.exec(TIME_SERVER, "systemd-run", "--unit=hatest-listener", "python3", "-m", "http.server", "8999",
             "--bind", TIME_SERVER_ADDRESS)
    lab.exec("openstack-compute01", "ip", "addr", "add", f"{OUTSIDER}/24", "dev", "host0")
    try:
        wait_until("the test listener on controller01",
                   lambda: connect(lab, TIME_SERVER, TIME_SERVER_ADDRESS, 8999) == "open", 20, 0.5)
        assert connect(lab, "openstack-compute01", TIME_SERVER_ADDRESS, 8999) == "refused"
        # Galera replication: open to a node of the site, refused to another address of the same network.
        assert connect(lab, "openstack-compute01", TIME_SERVER_ADDRESS, 4567) == "open"
        assert connect(lab, "openstack-compute01", TIME_SERVER_ADDRESS, 4567, OUTSIDER) == "refused"
        # keystone through the VIP: open to anyone; its backend on the node's own address only to the nodes.
        assert connect(lab, "openstack-compute01", VIP, 5000, OUTSIDER) == "open"
        assert connect(lab, "openstack-compute01", TIME_SERVER_ADDRESS, 5000, OUTSIDER) == "refused"
        assert connect(lab, "openstack-compute01", TIME_SERVER_ADDRESS, 5000) == "open"
    finally:
        lab.exec("openstack-compute01", "ip", "addr", "del", f"{OUTSIDER}/24", "dev", "host0", check=False)
        lab.exec(TIME_SERVER, "systemctl", "stop", "hatest-listener", check=False)
