#!/usr/bin/python3
# Managed by Salt (ha formula). RabbitMQ self-repair on one controller, for
# two states that RabbitMQ 3.10 (Debian 12) does not leave by itself.
#
# A split. Mnesia, RabbitMQ's metadata store, never merges two nodes again
# once each has dropped the other from its running nodes while both kept
# running (after a blip too short for pause_minority to engage, or when the
# network comes back while a paused node restarts): every node runs, every
# port answers, and the nodes stay split for good. The cure is to restart
# the nodes on the smaller side, which then take the larger side's data
# (what RabbitMQ's autoheal does, for the splits it notices). Every few
# seconds this process asks the local management API which cluster nodes
# run with the local node and which partitions they report, and knocks on
# the AMQP port of the nodes missing from that set. When some node runs
# RabbitMQ outside the local node's cluster, or a partition is reported, for
# `confirm` seconds in a row, and the local node is on the smaller side (on a
# tie: the side without the lowest node name), it restarts. A node on the
# larger side never acts, except when a disagreement outlasts `stale`
# seconds (a partial partition, where every node believes it is on the
# larger side): then the node of the highest name among those involved
# restarts.
#
# A start that hangs. A node that restarts after a partition (a paused
# minority whose peers came back) can hang for good in Erlang's global:sync
# at boot: RabbitMQ 3.10.8's "global hang workaround" no longer unblocks it
# on Erlang 25.1 and later (rabbitmq-server #6034, fixed in 3.10.10). When
# the service is active but the local AMQP port stays closed for `stuck`
# seconds while a majority of the controllers answer on theirs, the node's
# Erlang VM is killed and the service started again. A node paused by
# pause_minority sees no majority, and a stopped service is left alone.
#
# A restart stops the service (killed if it does not stop within a minute),
# then starts it: a fresh VM also drops a broken global state.
# Usage: ha-rabbitmq-watchdog CONFIG
import base64
import configparser
import json
import socket
import subprocess
import sys
import time
import urllib.request

STOP_TIMEOUT = 60
START_TIMEOUT = 600


def view(url: str, user: str, password: str) -> dict[str, dict] | None:
    """Each cluster node as the local node sees it: running with it, and the partitions it reports."""
    request = urllib.request.Request(f"{url}/api/nodes?columns=name,running,partitions")
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            nodes = json.load(response)
    except (OSError, ValueError):  # not running, paused, starting, or no user yet: nothing to judge
        return None
    return {node["name"]: {"running": bool(node.get("running")), "partitions": sorted(node.get("partitions") or [])}
            for node in nodes if isinstance(node, dict) and "name" in node}


def answers(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=1):
            return True
    except OSError:
        return False


def other_side(me: str, nodes: dict[str, dict], outside: set[str]) -> set[str]:
    """The nodes split from ``me``: running outside its cluster, or in a partition reported by either."""
    split = set(outside) | set(nodes.get(me, {}).get("partitions", []))
    split |= {name for name, node in nodes.items() if me in node["partitions"]}
    return split - {me}


def loses(me: str, nodes: dict[str, dict], split: set[str]) -> bool:
    """Whether ``me`` is on the side that must restart: the smaller one, or on a tie the one without the first node."""
    mine = ({name for name, node in nodes.items() if node["running"]} - split) | {me}
    if len(mine) != len(split):
        return len(mine) < len(split)
    return min(mine | split) not in mine


def majority_answers(peers: dict[str, str], port: int) -> bool:
    """Whether the local node and the peers that answer on the AMQP port are a majority: no reason to pause."""
    answering = sum(answers(address, port) for address in peers.values())
    return answering + 1 > (len(peers) + 1) / 2


def restart(service: str, why: str, graceful: bool = True) -> None:
    print(f"restarting {service}: {why}", flush=True)
    stopped = False
    if graceful:
        try:
            stopped = subprocess.run(["systemctl", "stop", service], timeout=STOP_TIMEOUT).returncode == 0
        except subprocess.TimeoutExpired:
            pass
    if not stopped:
        subprocess.run(["systemctl", "kill", "--signal=SIGKILL", service], check=False)
    try:
        subprocess.run(["systemctl", "restart", service], timeout=START_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        print(f"{service} did not start within {START_TIMEOUT} s", flush=True)


def split_from(options, me: str, peers: dict[str, str], port: int) -> tuple[dict | None, set[str]]:
    nodes = view(options["management_url"], options["user"], options["password"])
    if nodes is None or me not in nodes:
        return nodes, set()
    outside = {name for name, node in nodes.items()
               if not node["running"] and name in peers and answers(peers[name], port)}
    return nodes, other_side(me, nodes, outside)


def main(path: str) -> None:
    config = configparser.ConfigParser(interpolation=None)
    config.optionxform = str  # node names keep their case
    config.read(path)
    options = config["watchdog"]
    me, service = options["node"], options["service"]
    peers = dict(config["peers"])
    port = options.getint("amqp_port")
    interval, confirm, stale, stuck = (options.getfloat(key) for key in ("interval", "confirm", "stale", "stuck"))
    split_since = stuck_since = None
    while True:
        now = time.monotonic()
        active = subprocess.run(["systemctl", "is-active", "--quiet", service]).returncode == 0
        if active and not answers(options["address"], port) and majority_answers(peers, port):
            stuck_since = stuck_since or now
            if now - stuck_since >= stuck:
                restart(service, f"not started after {now - stuck_since:.0f} s while the majority runs",
                        graceful=False)
                # Judged anew from here: both cases wait their full window again.
                split_since = stuck_since = None
                continue
        else:
            stuck_since = None
        nodes, split = split_from(options, me, peers, port) if active else (None, set())
        if not split:
            split_since = None
        elif split_since is None:
            split_since = now
            print(f"split from {sorted(split)} in the view of {me}", flush=True)
        else:
            lasted = now - split_since
            why = None
            if lasted >= confirm and loses(me, nodes, split):
                why = f"split from {sorted(split)} for {lasted:.0f} s, on the smaller side"
            elif lasted >= stale and me == max(split | {me}):
                why = f"split from {sorted(split)} for {lasted:.0f} s, unresolved"
            if why:
                restart(service, why)
                split_since = stuck_since = None
                continue
        time.sleep(interval)


if __name__ == "__main__":
    main(sys.argv[1])
