#!/usr/bin/python3
# Managed by Salt (ha formula). Drops the VIP from this controller the
# moment corosync's membership leaves the node without quorum, or corosync
# stops, so that a node cut off from the others never holds the VIP while
# the majority starts it.
#
# Pacemaker stops the VIP on such a node too (no-quorum-policy stop), but
# only after the node elected itself DC of its partition and ran the
# scheduler: about as long as the majority needs to start the VIP, so the
# two raced and the address was on two nodes for a moment. This process
# learns of the new membership from corosync itself (corosync-cmapctl
# tracking runtime.members), the same moment Pacemaker does, and removes the
# address within milliseconds, well before the majority's transition and
# IPaddr2's start (a few hundred milliseconds). That lets IPaddr2 start the
# VIP without its 2 s duplicate-address check (run_arping), which on a cut
# network cannot see the other node anyway.
#
# Quorum here is corosync's votequorum as the formula configures it: more
# than half of the votes of the nodes in corosync's nodelist are joined.
#
# It also takes the servers of a node that left the membership out of this
# node's HAProxy (its admin socket: health down, sessions cut). HAProxy's own
# checks need one to two intervals and a connect timeout to notice a dead
# server; until then the VIP's new holder sent some requests, and the Galera
# writers, to the dead node. The checks bring the servers back when they
# answer again (rise), as after any failure.
#
# And when the node that left held the VIP, it ends this node's connections
# to the VIP the moment the VIP answers elsewhere. Those connections ran
# through the dead node's HAProxy: one that was waiting for an answer
# retransmits with a backoff that doubles (0.2, 0.4, 0.8, 1.6 s ...), and
# learns of its end (a reset from the VIP's new holder) only at its next
# retransmission, up to twice as long after the crash as the VIP took to
# move. In the lab a keystone worker waited so for its database 3 s after the
# VIP had moved, and tokens failed meanwhile. An ended connection fails at
# once; the services' database and HTTP clients connect again.
#
# And while a node of the nodelist is out of the membership and does not
# answer a ping (it is dead or cut off; a node whose corosync was merely
# stopped still serves), this node's connections to its memcached end and a
# new one fails at once (a policy rule: unreachable, TCP to that port only;
# the rule goes when the node has joined again). Before, each client waited
# for its timeout: keystone's memcached clients, one per pooled connection,
# each waited 0.5 s for the dead node's memcached before skipping it, three
# times in the first token request after a crash. Only memcached: the
# clusters' own links (Galera, RabbitMQ, etcd) reconnect by their own rules:
# with every port refused, a clean-clone run once saw the two survivors of
# a cut lose their Galera quorum for the whole cut (suspected: Galera gave
# up its direct link between them after the earlier refusals and relayed
# through the node that was then cut off).
# Usage: ha-vip-guard CMAPCTL VIP HAPROXY_SOCKET MEMCACHED_PORT
#        ha-vip-guard --clear   (removes its rules; the unit's ExecStopPost)
import json
import os
import pty
import socket
import subprocess
import sys
import threading
import time

RETRY = 1.0
# After a departure of the VIP's holder: how long to wait for the VIP to
# answer elsewhere (Pacemaker starts it within seconds), and how often to look.
MOVE_WAIT = 30.0
MOVE_POLL = 0.05
# The priority of the guard's policy rules: it owns every rule there.
RULE_PRIORITY = "10770"
# How long a departed node has to answer a ping before it counts as gone.
PING_WAIT = "0.3"


def cmap(cmapctl: str, prefix: str) -> dict[str, str]:
    """The corosync cmap keys under ``prefix`` and their values (empty when corosync does not answer)."""
    try:
        result = subprocess.run([cmapctl, "-b", prefix], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    if result.returncode != 0:
        return {}
    return parse(result.stdout)


def parse(text: str) -> dict[str, str]:
    """Lines of corosync-cmapctl (``KEY (TYPE) = VALUE``) as a mapping."""
    keys = {}
    for line in text.splitlines():
        key, sep, value = line.partition(" = ")
        if sep:
            keys[key.split(" (", 1)[0].strip()] = value.strip()
    return keys


def quorate(nodelist: dict[str, str], members: dict[str, str]) -> bool:
    """
    Whether the joined members hold more than half of the nodelist's votes
    (``nodelist.node.N.nodeid``/``quorum_votes``; ``runtime.members.ID.status``).
    """
    votes: dict[str, int] = {}
    for key, value in nodelist.items():
        if key.endswith(".nodeid"):
            votes[value] = int(nodelist.get(key[: -len("nodeid")] + "quorum_votes", "1"))
    present = joined(members)
    return bool(votes) and sum(count for nodeid, count in votes.items() if nodeid in present) * 2 > sum(votes.values())


def joined(members: dict[str, str]) -> set[str]:
    """The node ids that corosync reports as joined."""
    return {key.split(".")[2] for key, value in members.items()
            if key.startswith("runtime.members.") and key.endswith(".status") and value == "joined"}


def addresses(nodelist: dict[str, str], nodeids: set[str]) -> set[str]:
    """The ring addresses (``nodelist.node.N.ringX_addr``) of the nodes with these ids."""
    found = set()
    for key, value in nodelist.items():
        if key.endswith(".nodeid") and value in nodeids:
            node = key[: -len("nodeid")]
            found |= {address for name, address in nodelist.items()
                      if name.startswith(node) and name.endswith("_addr")}
    return found


def haproxy(path: str, command: str) -> str:
    """One command on HAProxy's admin socket and its answer ('' when HAProxy does not answer)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(2)
            connection.connect(path)
            connection.sendall(command.encode() + b"\n")
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
    except OSError:
        return ""
    return answer.decode(errors="replace")


def servers_at(state: str, gone: set[str]) -> list[str]:
    """``BACKEND/SERVER`` of every server in ``show servers state`` whose address is in ``gone``."""
    found = []
    for line in state.splitlines():
        fields = line.split()
        # be_id be_name srv_id srv_name srv_addr ...
        if len(fields) > 4 and not line.startswith("#") and fields[4] in gone:
            found.append(f"{fields[1]}/{fields[3]}")
    return found


def take_out(path: str, gone: set[str]) -> None:
    """Marks every HAProxy server at an address in ``gone`` down and cuts its sessions."""
    servers = servers_at(haproxy(path, "show servers state"), gone)
    if servers:
        haproxy(path, "; ".join(f"set server {server} health down; shutdown sessions server {server}"
                                for server in servers))
        print(f"node(s) at {', '.join(sorted(gone))} left the membership: HAProxy servers "
              f"{', '.join(servers)} marked down", flush=True)


def held(vip: str) -> list[tuple[str, int]]:
    """The interfaces (and prefix lengths) that hold ``vip`` on this node."""
    try:
        result = subprocess.run(["ip", "-j", "-4", "addr", "show"], capture_output=True, text=True, timeout=5)
        interfaces = json.loads(result.stdout or "[]")
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return []
    return [(interface["ifname"], int(address["prefixlen"])) for interface in interfaces
            for address in interface.get("addr_info", []) if address.get("local") == vip]


def drop(vip: str, why: str) -> None:
    for interface, prefix in held(vip):
        result = subprocess.run(["ip", "addr", "del", f"{vip}/{prefix}", "dev", interface],
                                capture_output=True, text=True, timeout=5)
        outcome = "dropped it" if result.returncode == 0 else f"could not drop it: {result.stderr.strip()}"
        print(f"{why}: this node held the VIP {vip} on {interface}, {outcome}", flush=True)


def neighbor(address: str) -> str | None:
    """The link-layer address this node has for ``address`` (None when it has none)."""
    try:
        result = subprocess.run(["ip", "-j", "neigh", "show", address], capture_output=True, text=True, timeout=5)
        entries = json.loads(result.stdout or "[]")
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    return next((entry["lladdr"] for entry in entries if entry.get("lladdr")), None)


# The states of a connection that may still send: one the peer closed
# (close-wait: HAProxy ends idle connections) is written to when its pool
# hands it out again, and retransmits as an established one does. Not
# syn-sent: a connect made while no node held the VIP completes at its next
# SYN, and a database client that sees it fail waits for its retry interval.
SENDING_STATES = ("established", "close-wait", "fin-wait-1", "last-ack")


def _ss(match: str, *options: str) -> subprocess.CompletedProcess:
    """ss over this node's TCP connections in SENDING_STATES that ``match`` (an ss filter expression)."""
    states = [word for state in SENDING_STATES for word in ("state", state)]
    return subprocess.run(["ss", *options, "-H", "-t", "-n", *states, match], capture_output=True, text=True,
                          timeout=5)


def connections(vip: str) -> list[tuple[str, str]]:
    """This node's TCP connections to ``vip`` that may still send: (local, remote) as ADDRESS:PORT."""
    try:
        result = _ss(f"dst {vip}")
    except (OSError, subprocess.TimeoutExpired):
        return []
    # Netid? State? Recv-Q Send-Q Local Peer: with several states, ss shows the State column.
    return [(fields[-2], fields[-1]) for fields in map(str.split, result.stdout.splitlines()) if len(fields) >= 4]


def end_all(match: str) -> None:
    """Ends the connections that ``match`` (ss -K: the kernel aborts them; their process gets an error at once)."""
    try:
        _ss(match, "-K")
    except (OSError, subprocess.TimeoutExpired):
        print(f"could not end the connections ({match})", flush=True)


def end(sockets: list[tuple[str, str]]) -> None:
    """Ends these connections."""
    end_all("( " + " or ".join(f"( src {local} and dst {remote} )" for local, remote in sockets) + " )")


def moved(vip: str, holder: str) -> bool:
    """Whether the VIP answers elsewhere than at the link-layer address ``holder``: here, or another node."""
    if held(vip):
        return True
    now = neighbor(vip)
    return now is not None and now != holder


def follow_move(vip: str, gone: set[str]) -> None:
    """
    When a node at an address in ``gone`` held the VIP (this node reached
    the VIP at that node's link-layer address), waits until the VIP answers
    elsewhere (IPaddr2 announces it), then ends the connections this node
    had to the VIP: they ran through the departed node.
    """
    if held(vip):
        return
    holder = neighbor(vip)
    if holder is None or holder not in {neighbor(address) for address in gone}:
        return
    stale = connections(vip)
    if not stale:
        return
    deadline = time.monotonic() + MOVE_WAIT
    while time.monotonic() < deadline:
        if moved(vip, holder):
            end(stale)
            print(f"the VIP {vip} moved away from the node(s) at {', '.join(sorted(gone))}: ended this node's "
                  f"{len(stale)} connection(s) to it through there", flush=True)
            return
        time.sleep(MOVE_POLL)
    print(f"the VIP {vip} did not answer elsewhere within {MOVE_WAIT:.0f} s of the departure of its holder",
          flush=True)


def watch_move(vip: str, gone: set[str]) -> None:
    """follow_move in the background: the guard keeps following corosync meanwhile."""
    threading.Thread(target=follow_move, args=(vip, gone), daemon=True).start()


def refused() -> set[tuple[str, str]]:
    """The (address, TCP port) pairs this node's guard rules make unreachable."""
    try:
        result = subprocess.run(["ip", "-j", "-4", "rule", "show", "priority", RULE_PRIORITY],
                                capture_output=True, text=True, timeout=5)
        rules = json.loads(result.stdout or "[]")
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return set()
    return {(rule["dst"], str(rule["dport"])) for rule in rules if rule.get("dst") and rule.get("dport")}


def answers(address: str) -> bool:
    """Whether ``address`` answers a ping within PING_WAIT seconds."""
    try:
        return subprocess.run(["ping", "-n", "-q", "-c", "1", "-W", PING_WAIT, address], capture_output=True,
                              timeout=5).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def refuse(wanted: set[tuple[str, str]], present: set[tuple[str, str]] | None = None) -> None:
    """Makes exactly the ``wanted`` (address, TCP port) pairs unreachable from this node (policy rules at
    RULE_PRIORITY; ``present``: the refused pairs, when just read); the connections to a newly refused pair
    end."""
    present = refused() if present is None else present
    for verb, targets in (("add", wanted - present), ("del", present - wanted)):
        for address, port in sorted(targets):
            result = subprocess.run(["ip", "-4", "rule", verb, "priority", RULE_PRIORITY, "to", f"{address}/32",
                                     "ipproto", "tcp", "dport", port, "unreachable"],
                                    capture_output=True, text=True, timeout=5)
            if result.returncode != 0:
                print(f"could not {verb} the refusal of {address}:{port}: {result.stderr.strip()}", flush=True)
            elif verb == "add":
                end_all(f"dst {address}:{port}")
                print(f"{address} left the membership and does not answer: its connections to port {port} "
                      "ended, new ones fail at once", flush=True)
            else:
                print(f"{address} is back in the membership (or the guard stops): port {port} as usual",
                      flush=True)


def judge(cmapctl: str, vip: str, socket_path: str, before: set[str] | None,
          tracking: bool = True, ports: tuple[str, ...] = ()) -> set[str] | None:
    """
    Drops the VIP when corosync's membership has no quorum, or when
    corosync does not answer once its tracking ended (``tracking`` False).
    A read that fails while corosync still reports (a busy node, a sync in
    progress) decides nothing: the VIP stays until the facts are known.
    Takes the nodes that were joined ``before`` and are not now out of
    HAProxy and, with quorum, follows the VIP's move away from them
    (watch_move); with quorum, TCP to the ``ports`` of every node of the
    nodelist that is not joined and does not answer fails at once
    (refuse), and without quorum or corosync, to none.
    Returns the joined node ids (None when unknown).
    """
    members = cmap(cmapctl, "runtime.members")
    nodelist = cmap(cmapctl, "nodelist.node") if members else {}
    if not members or not nodelist:
        if not tracking:
            drop(vip, "corosync does not answer")
            refuse(set())
        else:
            print("could not read corosync's membership; the VIP stays where it is", flush=True)
        return None
    now = joined(members)
    with_quorum = quorate(nodelist, members)
    if not with_quorum:
        drop(vip, f"corosync membership without quorum (joined node ids: {', '.join(sorted(now)) or 'none'})")
    if before and before - now:
        gone = addresses(nodelist, before - now)
        take_out(socket_path, gone)
        if with_quorum:
            watch_move(vip, gone)
    # Last: it waits for pings; the VIP and HAProxy do not. A node out of the
    # membership that is refused already stays so until it joins.
    present = refused()
    wanted = set()
    if with_quorum:
        nodeids = {value for key, value in nodelist.items() if key.endswith(".nodeid")}
        out = {address for address in addresses(nodelist, nodeids - now)
               if any(pair[0] == address for pair in present) or not answers(address)}
        wanted = {(address, port) for address in out for port in ports}
    refuse(wanted, present)
    return now


def changes(cmapctl: str):
    """
    Yields once the tracking of runtime.members is set up, then once per
    batch of changes corosync reports there, until corosync stops.
    """
    # corosync-cmapctl never flushes its output: on a pipe its reports would
    # wait in a 4 KiB buffer, on a terminal each line is written at once. It
    # also reads its standard input for "q" and ends at its end, so that is
    # the terminal too, where nothing is ever typed.
    leader, follower = pty.openpty()
    tracker = subprocess.Popen([cmapctl, "-b", "-T", "runtime.members"], stdin=follower, stdout=follower,
                               stderr=subprocess.DEVNULL)
    os.close(follower)
    try:
        # Track first, then judge: a change between the two is not missed.
        yield
        while True:
            try:
                report = os.read(leader, 65536)
            except OSError:  # EIO: the tracker exited
                break
            if not report:
                break
            # Not its banner ('Type "q" to finish'): a change of a key.
            if b"runtime.members." in report:
                yield
    finally:
        os.close(leader)
        tracker.kill()
        tracker.wait()


def main(cmapctl: str, vip: str, socket_path: str, memcached_port: str) -> None:
    before, ports = None, (memcached_port,)
    while True:
        for count, _ in enumerate(changes(cmapctl)):
            if count:
                # Membership changes are rare: each is worth a line.
                print("corosync reported a membership change", flush=True)
            before = judge(cmapctl, vip, socket_path, before, ports=ports) or before
        # corosync stopped (or is not started yet): Pacemaker does not run
        # without it, so no resource may stay here.
        judge(cmapctl, vip, socket_path, None, tracking=False)
        before = None
        time.sleep(RETRY)


if __name__ == "__main__":
    if sys.argv[1:] == ["--clear"]:
        refuse(set())
    else:
        main(*sys.argv[1:5])
