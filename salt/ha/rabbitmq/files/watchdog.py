#!/usr/bin/python3
# Managed by Salt (ha formula). RabbitMQ split repair on one controller.
#
# Mnesia, RabbitMQ's metadata store, never merges two nodes again once each
# has dropped the other from its running nodes while both kept running. That
# happens when the network comes back while a paused minority node restarts
# (seen in the lab after a node was cut off for 60 s), or after a blip too
# short for pause_minority to engage: every node then runs, every port
# answers, and the nodes stay split for good. The only cure is to restart
# the RabbitMQ application of the nodes on the smaller side, which then take
# the larger side's data (what RabbitMQ's autoheal does, for the splits it
# notices).
#
# Every few seconds this process asks the local management API which cluster
# nodes run with the local node and which partitions they report, and knocks
# on the AMQP port of the nodes missing from that set. When some node runs
# RabbitMQ outside the local node's cluster, or a partition is reported, for
# `confirm` seconds in a row, and the local node is on the smaller side (on a
# tie: the side without the first node in name order), it restarts its own
# RabbitMQ application. A node on the larger side never acts, except when a
# disagreement outlasts `stale` seconds (a partial partition, where every
# node believes it is on the larger side): then the node of the highest name
# among those involved restarts. A paused or stopped application does not
# answer the API, so this process never interferes with pause_minority or a
# starting node.
# Usage: ha-rabbitmq-watchdog CONFIG
import base64
import configparser
import json
import socket
import subprocess
import sys
import time
import urllib.request

# After a restart, let the cluster settle before judging it again.
COOLDOWN = 60


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


def restart(ctl: str, service: str) -> None:
    print("restarting the local RabbitMQ application to rejoin the larger side", flush=True)
    for action in ("stop_app", "start_app"):
        try:
            result = subprocess.run([ctl, action], capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            result = None
        if result is None or result.returncode != 0:
            print(f"rabbitmqctl {action} failed; restarting the service", flush=True)
            subprocess.run(["systemctl", "restart", service], check=False)
            return


def main(path: str) -> None:
    config = configparser.ConfigParser(interpolation=None)
    config.optionxform = str  # node names keep their case
    config.read(path)
    options = config["watchdog"]
    me = options["node"]
    peers = dict(config["peers"])
    port = options.getint("amqp_port")
    interval, confirm, stale = (options.getfloat(key) for key in ("interval", "confirm", "stale"))
    since = None
    while True:
        nodes = view(options["management_url"], options["user"], options["password"])
        split: set[str] = set()
        if nodes is not None and me in nodes:
            outside = {name for name, node in nodes.items()
                       if not node["running"] and name in peers and answers(peers[name], port)}
            split = other_side(me, nodes, outside)
        now = time.monotonic()
        if not split:
            since = None
        elif since is None:
            since = now
            print(f"split from {sorted(split)} in the view of {me}", flush=True)
        elif (now - since >= confirm and loses(me, nodes, split)) or (
                now - since >= stale and me == max(split | {me})):
            restart(options["ctl"], options["service"])
            since = None
            time.sleep(COOLDOWN)
            continue
        time.sleep(interval)


if __name__ == "__main__":
    main(sys.argv[1])
