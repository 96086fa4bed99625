"""The VIP's quorum guard (salt/ha/pacemaker/files/vip_guard.py): its reading of corosync's cmap and of the node's
addresses, and what it drops."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.helpers import load_module

guard = load_module("salt/ha/pacemaker/files/vip_guard.py", "ha_vip_guard")

VIP = "10.10.10.69"
# No HAProxy answers there: the guard's HAProxy part then does nothing.
NO_HAPROXY = "/nonexistent/haproxy.sock"
# corosync-cmapctl -b nodelist.node on a lab controller (corosync 3.1.7).
NODELIST = """\
nodelist.node.0.name (str) = openstack-controller01
nodelist.node.0.nodeid (u32) = 1
nodelist.node.0.ring0_addr (str) = 10.10.10.51
nodelist.node.1.name (str) = openstack-controller02
nodelist.node.1.nodeid (u32) = 2
nodelist.node.1.ring0_addr (str) = 10.10.10.52
nodelist.node.2.name (str) = openstack-controller03
nodelist.node.2.nodeid (u32) = 3
nodelist.node.2.ring0_addr (str) = 10.10.10.53
"""


def members(**status: str) -> dict[str, str]:
    """runtime.members keys, as corosync-cmapctl -b runtime.members gives them, for node ids n1, n2, ..."""
    text = "".join(f"runtime.members.{node[1:]}.config_version (u64) = 0\n"
                   f"runtime.members.{node[1:]}.ip (str) = r(0) ip(10.10.10.5{node[1:]})\n"
                   f"runtime.members.{node[1:]}.status (str) = {state}\n" for node, state in status.items())
    return guard.parse(text)


def test_parse_reads_keys_and_values_without_types():
    assert guard.parse(NODELIST)["nodelist.node.1.nodeid"] == "2"
    assert guard.parse("runtime.members.1.ip (str) = r(0) ip(10.10.10.51) \nno separator\n") == {
        "runtime.members.1.ip": "r(0) ip(10.10.10.51)"}


@pytest.mark.parametrize(
    ("status", "quorate"),
    [
        ({"n1": "joined", "n2": "joined", "n3": "joined"}, True),
        ({"n1": "joined", "n2": "joined", "n3": "left"}, True),
        # Cut off: the two others left.
        ({"n1": "joined", "n2": "left", "n3": "left"}, False),
        # A node not known to the membership yet (booting alone).
        ({"n1": "joined"}, False),
        ({}, False),
    ],
)
def test_quorum_is_a_majority_of_the_nodelist(status, quorate):
    assert guard.quorate(guard.parse(NODELIST), members(**status)) is quorate


def test_quorum_counts_votes_and_an_empty_nodelist_has_none():
    weighted = guard.parse(NODELIST + "nodelist.node.0.quorum_votes (u32) = 3\n")
    assert guard.quorate(weighted, members(n1="joined", n2="left", n3="left"))
    assert not guard.quorate(weighted, members(n1="left", n2="joined", n3="joined"))
    assert not guard.quorate({}, members(n1="joined"))


class Node:
    """The commands the guard runs on a node: corosync-cmapctl and ip, with the node's addresses."""

    def __init__(self, status: dict[str, str] | None, addresses: list[tuple[str, str, int]],
                 nodelist: str | None = NODELIST, refused: set[str] | None = None, pingable: set[str] = frozenset()):
        self.status, self.addresses, self.nodelist, self.calls = status, addresses, nodelist, []
        # The (address, port) pairs of the guard's TCP refusals (policy rules), and the addresses that answer a
        # ping.
        self.refused, self.pingable = set(refused or ()), pingable

    def run(self, command, **kwargs):
        self.calls.append(command)
        if command[:5] == ["ip", "-j", "-4", "rule", "show"]:
            assert command[5:] == ["priority", guard.RULE_PRIORITY], command
            return subprocess.CompletedProcess(command, 0, json.dumps(
                [{"priority": 10770, "src": "all", "dst": address, "ipproto": "tcp", "dport": int(port),
                  "action": "unreachable"} for address, port in sorted(self.refused)]), "")
        if command[:3] == ["ip", "-4", "rule"]:
            verb, address, port = command[3], command[7].removesuffix("/32"), command[11]
            assert command[4:7] == ["priority", guard.RULE_PRIORITY, "to"] and command[8:] == [
                "ipproto", "tcp", "dport", port, "unreachable"], command
            (self.refused.add if verb == "add" else self.refused.discard)((address, port))
            return subprocess.CompletedProcess(command, 0, "", "")
        if command[0] == "ping":
            return subprocess.CompletedProcess(command, 0 if command[-1] in self.pingable else 1, "", "")
        if command[:2] == ["ss", "-K"]:
            return subprocess.CompletedProcess(command, 0, "", "")
        if command[0] == "corosync-cmapctl":
            wanted = self.nodelist if command[-1] == "nodelist.node" else self.status
            if wanted is None:
                return subprocess.CompletedProcess(command, 1, "", "Failed to initialize the cmap API")
            text = self.nodelist if command[-1] == "nodelist.node" else "".join(
                f"runtime.members.{n[1:]}.status (str) = {s}\n" for n, s in self.status.items())
            return subprocess.CompletedProcess(command, 0, text, "")
        if command[:3] == ["ip", "-j", "-4"]:
            shown = [{"ifname": ifname, "addr_info": [{"local": address, "prefixlen": prefix}]}
                     for ifname, address, prefix in self.addresses]
            return subprocess.CompletedProcess(command, 0, json.dumps(shown), "")
        if command[:3] == ["ip", "addr", "del"]:
            return subprocess.CompletedProcess(command, 0, "", "")
        raise AssertionError(command)

    @property
    def dropped(self):
        return [c[3:] for c in self.calls if c[:3] == ["ip", "addr", "del"]]

    @property
    def ended(self):
        return [c[-1] for c in self.calls if c[:2] == ["ss", "-K"]]


@pytest.fixture
def node(monkeypatch):
    def make(status, addresses, **kwargs):
        fake = Node(status, addresses, **kwargs)
        monkeypatch.setattr(guard.subprocess, "run", fake.run)
        # What judge asks to follow in the background (follow_move has tests of its own).
        fake.watched = []
        monkeypatch.setattr(guard, "watch_move", lambda vip, gone: fake.watched.append((vip, gone)))
        return fake
    return make


def test_a_node_without_quorum_drops_the_vip_and_only_it(node, capsys):
    fake = node({"n1": "joined", "n2": "left", "n3": "left"},
                [("host0", "10.10.10.51", 24), ("host0", VIP, 24), ("lo", "127.0.0.1", 8)])
    guard.judge("corosync-cmapctl", VIP, NO_HAPROXY, None)
    assert fake.dropped == [[f"{VIP}/24", "dev", "host0"]]
    assert "corosync membership without quorum (joined node ids: 1)" in capsys.readouterr().out


def test_a_node_with_quorum_keeps_the_vip(node):
    fake = node({"n1": "joined", "n2": "joined", "n3": "left"}, [("host0", VIP, 24)])
    guard.judge("corosync-cmapctl", VIP, NO_HAPROXY, None)
    assert fake.dropped == []


def test_a_failed_read_while_corosync_reports_keeps_the_vip(node):
    fake = node(None, [("host0", VIP, 24)])
    guard.judge("corosync-cmapctl", VIP, NO_HAPROXY, None)
    assert fake.dropped == []


def test_a_failed_read_of_the_nodelist_keeps_the_vip(node):
    fake = node({"n1": "joined", "n2": "joined", "n3": "joined"}, [("host0", VIP, 24)], nodelist=None)
    guard.judge("corosync-cmapctl", VIP, NO_HAPROXY, None)
    assert fake.dropped == []


def test_without_corosync_the_vip_goes_and_a_node_without_it_does_nothing(node, capsys):
    fake = node(None, [("host0", VIP, 24)])
    guard.judge("corosync-cmapctl", VIP, NO_HAPROXY, None, tracking=False)
    assert fake.dropped == [[f"{VIP}/24", "dev", "host0"]]
    assert "corosync does not answer" in capsys.readouterr().out
    fake = node({"n1": "joined", "n2": "left", "n3": "left"}, [("host0", "10.10.10.51", 24)])
    guard.judge("corosync-cmapctl", VIP, NO_HAPROXY, None, tracking=False)
    assert fake.dropped == []


def test_each_change_is_reported_at_once_not_when_the_tracker_ends(tmp_path):
    # Like corosync-cmapctl: a banner, an end at the end of its standard input, stdio never flushed.
    tracker = tmp_path / "corosync-cmapctl"
    tracker.write_text("#!/usr/bin/env python3\nimport select, sys, time\nprint('Type \"q\" to finish')\n"
                       "if select.select([sys.stdin], [], [], 0.5)[0] and not sys.stdin.readline():\n"
                       "    sys.exit()\n"
                       "print('modify> runtime.members.2.status (str) = left')\n"
                       "time.sleep(3)\nprint('modify> runtime.members.2.status (str) = joined')\n")
    tracker.chmod(0o755)
    started = time.monotonic()
    seen = [time.monotonic() - started for _ in guard.changes(str(tracker))]
    # Once when tracking starts, once per change, and the first change long before the tracker ended.
    assert len(seen) == 3 and seen[1] < 2 and seen[2] >= 3, seen


# The start of "show servers state" on a lab controller (HAProxy 2.6).
SERVERS_STATE = """\
1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight
3 galera 1 openstack-controller01 10.10.10.51 2 0 1 1 473 6 3 4 6 0 0 0 - 3306 - 0 0 - - 0
3 galera 2 openstack-controller02 10.10.10.52 2 0 1 1 473 6 3 4 6 0 0 0 - 3306 - 0 0 - - 0
4 keystone_public 1 openstack-controller01 10.10.10.51 2 0 1 1 473 6 3 4 6 0 0 0 - 5000 - 0 0 - - 0
4 keystone_public 2 openstack-controller02 10.10.10.52 2 0 1 1 473 6 3 4 6 0 0 0 - 5000 - 0 0 - - 0
"""


class FakeHAProxy:
    """An admin socket that answers "show servers state" and records every command line it gets."""

    def __init__(self, path: Path):
        self.path, self.commands = str(path), []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection:
                line = connection.makefile().readline().strip()
                self.commands.append(line)
                connection.sendall((SERVERS_STATE if line == "show servers state" else "\n").encode())

    def close(self):
        self.server.close()


@pytest.fixture
def haproxy(tmp_path):
    fake = FakeHAProxy(tmp_path / "admin.sock")
    yield fake
    fake.close()


def test_servers_of_a_node_that_left_are_taken_out_of_haproxy(node, haproxy, capsys):
    node({"n1": "joined", "n2": "left", "n3": "joined"}, [("host0", VIP, 24)])
    now = guard.judge("corosync-cmapctl", VIP, haproxy.path, {"1", "2", "3"})
    assert now == {"1", "3"}
    assert haproxy.commands == [
        "show servers state",
        "set server galera/openstack-controller02 health down; shutdown sessions server galera/openstack-controller02; "
        "set server keystone_public/openstack-controller02 health down; "
        "shutdown sessions server keystone_public/openstack-controller02",
    ]
    assert "node(s) at 10.10.10.52 left the membership" in capsys.readouterr().out


@pytest.mark.parametrize("before", [None, {"1", "2"}, {"1", "2", "3"}])
def test_haproxy_is_left_alone_when_no_node_left(node, haproxy, before):
    # None: the guard just started (or corosync restarted), so it knows of no departure.
    node({"n1": "joined", "n2": "joined", "n3": "joined"}, [("host0", VIP, 24)])
    assert guard.judge("corosync-cmapctl", VIP, haproxy.path, before) == {"1", "2", "3"}
    assert haproxy.commands == []


def test_a_failed_read_returns_no_membership_and_touches_no_server(node, haproxy):
    node(None, [("host0", VIP, 24)])
    assert guard.judge("corosync-cmapctl", VIP, haproxy.path, {"1", "2", "3"}) is None
    assert haproxy.commands == []


def test_haproxy_not_answering_does_not_stop_the_guard(node):
    fake = node({"n1": "joined", "n2": "left", "n3": "left"}, [("host0", VIP, 24)])
    assert guard.judge("corosync-cmapctl", VIP, NO_HAPROXY, {"1", "2", "3"}) == {"1"}
    assert fake.dropped == [[f"{VIP}/24", "dev", "host0"]]


def test_a_departure_with_quorum_follows_the_vip_and_without_quorum_does_not(node, haproxy):
    fake = node({"n1": "joined", "n2": "left", "n3": "joined"}, [("host0", "10.10.10.51", 24)])
    guard.judge("corosync-cmapctl", VIP, haproxy.path, {"1", "2", "3"})
    assert fake.watched == [(VIP, {"10.10.10.52"})]
    fake = node({"n1": "joined", "n2": "left", "n3": "left"}, [("host0", "10.10.10.51", 24)])
    guard.judge("corosync-cmapctl", VIP, haproxy.path, {"1", "2", "3"})
    assert fake.watched == []
    fake = node({"n1": "joined", "n2": "joined", "n3": "joined"}, [("host0", "10.10.10.51", 24)])
    guard.judge("corosync-cmapctl", VIP, haproxy.path, {"1", "2", "3"})
    assert fake.watched == []


MEMCACHED = ("11211",)


def test_a_departed_node_that_does_not_answer_has_its_memcached_refused_until_it_is_back(node, capsys):
    fake = node({"n1": "joined", "n2": "left", "n3": "joined"}, [("host0", "10.10.10.51", 24)])
    guard.judge("corosync-cmapctl", VIP, NO_HAPROXY, {"1", "2", "3"}, ports=MEMCACHED)
    assert fake.refused == {("10.10.10.52", "11211")}
    assert fake.ended == ["dst 10.10.10.52:11211"]
    assert "10.10.10.52 left the membership and does not answer" in capsys.readouterr().out
    # Still out: the refusal stays, and the address is not pinged again.
    fake.calls.clear()
    guard.judge("corosync-cmapctl", VIP, NO_HAPROXY, {"1", "3"}, ports=MEMCACHED)
    assert fake.refused == {("10.10.10.52", "11211")} and not [c for c in fake.calls if c[0] == "ping"]
    fake.status["n2"] = "joined"
    guard.judge("corosync-cmapctl", VIP, NO_HAPROXY, {"1", "3"}, ports=MEMCACHED)
    assert fake.refused == set()
    assert "10.10.10.52 is back in the membership" in capsys.readouterr().out


def test_a_departed_node_that_answers_is_not_refused(node):
    """Its corosync stopped (maintenance), its services still serve."""
    fake = node({"n1": "joined", "n2": "left", "n3": "joined"}, [("host0", "10.10.10.51", 24)],
                pingable={"10.10.10.52"})
    guard.judge("corosync-cmapctl", VIP, NO_HAPROXY, {"1", "2", "3"}, ports=MEMCACHED)
    assert fake.refused == set() and fake.ended == []


@pytest.mark.parametrize("status", [{"n1": "joined", "n2": "left", "n3": "left"}, None])
def test_without_quorum_or_corosync_no_node_is_refused(node, status):
    fake = node(status, [("host0", "10.10.10.51", 24)],
                refused={("10.10.10.52", "11211"), ("10.10.10.53", "11211")})
    guard.judge("corosync-cmapctl", VIP, NO_HAPROXY, {"1", "2", "3"}, tracking=status is not None, ports=MEMCACHED)
    assert fake.refused == set()


def test_clear_removes_every_refusal(node):
    fake = node(None, [], refused={("10.10.10.52", "11211"), ("10.10.10.53", "5672")})
    guard.refuse(set())
    assert fake.refused == set()


DEAD_MAC, NEW_MAC, OTHER_MAC = "4e:78:54:c5:c8:63", "9a:0b:11:22:33:44", "aa:bb:cc:dd:ee:ff"
# ss -H -t -n state established state close-wait ... "dst VIP" on a controller: a pooled connection that
# HAProxy closed is written to again, and retransmits as an established one does.
ESTABLISHED = ("ESTAB      0      0      10.10.10.53:47462 10.10.10.69:3306\n"
               "CLOSE-WAIT 1      0      10.10.10.53:46922 10.10.10.69:5000\n")


class Neighbors:
    """ip and ss on a survivor: the VIP's link-layer address changes after ``moves_after`` looks (or never),
    or the VIP comes to this node."""

    def __init__(self, vip_mac: str | None, gone_mac: str | None, moves_after: int | None = None,
                 comes_here: bool = False, established: str = ESTABLISHED):
        self.vip_mac, self.gone_mac, self.moves_after, self.comes_here = vip_mac, gone_mac, moves_after, comes_here
        self.established, self.looks, self.calls = established, 0, []

    def run(self, command, **kwargs):
        self.calls.append(command)
        arrived = self.moves_after is not None and self.looks > self.moves_after
        if command[:3] == ["ip", "-j", "-4"]:
            self.looks += 1
            here = [{"ifname": "host0", "addr_info": [{"local": VIP, "prefixlen": 24}]}] if (
                self.comes_here and arrived) else []
            return subprocess.CompletedProcess(command, 0, json.dumps(here), "")
        if command[:3] == ["ip", "-j", "neigh"]:
            mac = self.gone_mac if command[-1] != VIP else (
                NEW_MAC if arrived and not self.comes_here else self.vip_mac)
            entries = [{"dst": command[-1], "dev": "host0", "lladdr": mac, "state": ["REACHABLE"]}] if mac else [
                {"dst": command[-1], "dev": "host0", "state": ["FAILED"]}]
            return subprocess.CompletedProcess(command, 0, json.dumps(entries), "")
        if command[:2] == ["ss", "-H"]:
            assert command[-1] == f"dst {VIP}" and "close-wait" in command and "syn-sent" not in command, command
            return subprocess.CompletedProcess(command, 0, self.established, "")
        if command[:2] == ["ss", "-K"]:
            # Never before the VIP answered elsewhere.
            assert arrived, "connections ended before the VIP moved"
            return subprocess.CompletedProcess(command, 0, "", "")
        raise AssertionError(command)

    @property
    def ended(self):
        return [c[-1] for c in self.calls if c[:2] == ["ss", "-K"]]


@pytest.fixture
def survivor(monkeypatch):
    def make(*args, **kwargs):
        fake = Neighbors(*args, **kwargs)
        monkeypatch.setattr(guard.subprocess, "run", fake.run)
        monkeypatch.setattr(guard, "MOVE_POLL", 0.001)
        return fake
    return make


@pytest.mark.parametrize("comes_here", [False, True])
def test_connections_through_the_departed_holder_end_when_the_vip_answers_elsewhere(survivor, capsys, comes_here):
    fake = survivor(DEAD_MAC, DEAD_MAC, moves_after=3, comes_here=comes_here)
    guard.follow_move(VIP, {"10.10.10.51"})
    assert fake.ended == ["( ( src 10.10.10.53:47462 and dst 10.10.10.69:3306 ) or "
                          "( src 10.10.10.53:46922 and dst 10.10.10.69:5000 ) )"]
    assert "ended this node's 2 connection(s)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("vip_mac", "gone_mac", "here"),
    [
        # The departed node did not hold the VIP: the connections run through a live node.
        (OTHER_MAC, DEAD_MAC, False),
        # This node holds the VIP: its connections to it are its own.
        (DEAD_MAC, DEAD_MAC, True),
        # No address known for the VIP, or for the departed node: nothing to compare.
        (None, DEAD_MAC, False),
        (DEAD_MAC, None, False),
    ],
)
def test_no_connection_ends_unless_the_departed_node_held_the_vip(survivor, vip_mac, gone_mac, here):
    fake = survivor(vip_mac, gone_mac, moves_after=0 if here else 1, comes_here=here)
    if here:
        fake.looks = 1
    guard.follow_move(VIP, {"10.10.10.51"})
    assert fake.ended == []


def test_a_vip_that_does_not_move_ends_nothing(survivor, monkeypatch, capsys):
    fake = survivor(DEAD_MAC, DEAD_MAC, moves_after=None)
    monkeypatch.setattr(guard, "MOVE_WAIT", 0.05)
    guard.follow_move(VIP, {"10.10.10.51"})
    assert fake.ended == []
    assert "did not answer elsewhere within" in capsys.readouterr().out


def test_without_connections_to_the_vip_nothing_is_watched(survivor):
    fake = survivor(DEAD_MAC, DEAD_MAC, moves_after=0, established="")
    guard.follow_move(VIP, {"10.10.10.51"})
    assert fake.ended == [] and fake.looks == 1


def test_servers_at_matches_the_address_column_only():
    assert guard.servers_at(SERVERS_STATE, {"10.10.10.51"}) == [
        "galera/openstack-controller01", "keystone_public/openstack-controller01"]
    assert guard.servers_at(SERVERS_STATE, {"1"}) == []
    assert guard.addresses(guard.parse(NODELIST), {"2", "3"}) == {"10.10.10.52", "10.10.10.53"}
