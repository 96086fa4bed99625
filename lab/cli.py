"""bin/lab: a multi-node lab of systemd containers with a real salt-master and minions."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lab import config, image, master, nodes
from lab.config import Node, Topology
from lab.util import run, step, wait_for, warn

DEFAULT_CONTROLLERS = 3
DEFAULT_COMPUTES = 1


def _topology() -> Topology:
    topology = Topology.load()
    if topology is None:
        raise SystemExit("lab: no lab here; run bin/lab up")
    return topology


def _image_path(topology: Topology) -> Path:
    return image.image_dir(topology.image)


def responding(names: list[str], timeout: int = 5) -> set[str]:
    """The minions among ``names`` that answer test.ping now."""
    if not names:
        return set()
    result = master.cli(
        "salt", ["--out=json", "--static", f"--timeout={timeout}", "-L", ",".join(names), "test.ping"],
        capture_output=True,
    )
    try:
        answers = json.loads(result.stdout or "{}")
    except json.JSONDecodeError:
        return set()
    return {name for name, value in answers.items() if value is True}


def _wait_minions(names: list[str], timeout: float = 120) -> None:
    wait_for(f"minions {', '.join(names)} to answer", lambda: responding(names) == set(names), timeout, 1)


def _boot(node: Node, topology: Topology) -> None:
    nodes.mount(node, _image_path(topology))
    master.preseed_key(node.name, node.root / "etc/salt/pki/minion")
    nodes.start(node, _image_path(topology))
    state = nodes.wait_booted(node)
    if state not in ("running", "degraded", "starting"):
        warn(f"{node.name} finished booting as {state!r}")


def _stale_lab() -> bool:
    """A lab that nothing runs any more: its state is here, but its bridge is
    gone (the machine booted again), or neither its master nor any of its
    nodes runs (the run that owned it was killed: the bridge outlives its
    processes). Booting such a lab again would boot its nodes on the disks
    that run left, half deployed or half torn down."""
    if not config.STATE.exists():
        return False
    if not nodes.bridge_up():
        return True
    topology = Topology.load()
    running = [n for n in (topology.nodes if topology else ()) if nodes.leader(n) is not None]
    return master.pid() is None and not running


def up(args) -> int:
    if _stale_lab():
        step("clearing a lab left over from an earlier run")
        down(args)
    key = image.image_key()
    current = Topology.load()
    if current is None:
        wanted = config.make_topology(DEFAULT_CONTROLLERS if args.controllers is None else args.controllers,
                                      DEFAULT_COMPUTES if args.computes is None else args.computes, key)
    else:
        # A running lab grows: its nodes stay as they are, new ones are added.
        wanted = config.grow_topology(current, args.controllers, args.computes)
        if current.image != key:
            warn(f"the lab runs image {current.image}; the recipe now gives {key} (bin/lab down to rebuild)")
    image.build(wanted.image)
    # The lab's state holds the master's keys and caches and the site's secrets.
    config.STATE.mkdir(mode=0o700, parents=True, exist_ok=True)
    config.STATE.chmod(0o700)
    wanted.save()
    step(f"bridge {config.BRIDGE} at {config.MASTER_ADDRESS}/{config.NETWORK.prefixlen}")
    nodes.create_bridge()
    step("salt-master on the bridge")
    master.write_config()
    master.write_pillar(wanted)
    master.start()
    down_nodes = [n for n in wanted.nodes if nodes.leader(n) is None]
    if down_nodes:
        step(f"booting {', '.join(n.name for n in down_nodes)}")
        with ThreadPoolExecutor(max_workers=len(down_nodes)) as pool:
            list(pool.map(lambda n: _boot(n, wanted), down_nodes))
    names = [n.name for n in wanted.nodes]
    step("waiting for every minion to answer")
    _wait_minions(names)
    return status(args)


def down(args) -> int:
    """Remove everything the lab created: nodes, links, bridge, mounts, state."""
    topology = Topology.load()
    known = list(topology.nodes) if topology else []
    if config.NODES_DIR.exists():
        names = {n.name for n in known}
        known += [Node(p.name, "", "") for p in config.NODES_DIR.iterdir() if p.name not in names]
    for node in known:
        nodes.kill(node)
    for pid in nodes.nspawn_pids():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    master.stop()
    nodes.remove_cgroups()
    for node in known:
        nodes.unmount(node)
    # Links the nodes left on the bridge disappear with their namespaces, but
    # the kernel may take minutes to free a namespace that had many
    # connections: delete what is left (either end of a veth removes both).
    with contextlib.suppress(SystemExit):
        wait_for("the nodes' links to go", lambda: not nodes.bridge_ports(), 20)
    for port in nodes.bridge_ports():
        run(["ip", "link", "del", port], check=False)
    wait_for("the nodes' links to go", lambda: not nodes.bridge_ports(), 20)
    nodes.delete_bridge()
    if config.STATE.exists():
        shutil.rmtree(config.STATE)
    step("lab removed")
    return 0


def remove(args) -> int:
    """Take a node out of the lab for good: powered off, its disk deleted, its key and its pillar entry gone."""
    topology = _topology()
    node = topology.node(args.node)
    left = config.without(topology, node.name)
    if nodes.leader(node) is not None:
        nodes.kill(node)
    nodes.remove_cgroups(node)
    nodes.unmount(node)
    if node.dir.exists():
        shutil.rmtree(node.dir)
    master.forget_key(node.name)
    left.save()
    master.write_pillar(left)
    step(f"{node.name} removed from the lab and its pillar")
    return 0


def unlist(args) -> int:
    """Take a node out of the lab's pillar only: it keeps running (the first step of removing a controller).
    Nodes unlisted before stay unlisted."""
    topology = _topology()
    node = topology.node(args.node)
    listed = master.pillar_nodes()
    left = topology
    for other in topology.nodes:
        if other.name == node.name or other.name not in listed:
            left = config.without(left, other.name)
    master.write_pillar(left)
    step(f"{node.name} no longer in the lab's pillar; still running until bin/lab remove {node.name}")
    return 0


def status(args) -> int:
    topology = _topology()
    bridge = nodes.bridge_up()
    up_names = [n.name for n in topology.nodes if nodes.leader(n)]
    isolated = {n.name for n in topology.nodes if n.name in up_names and nodes.is_isolated(n)}
    # An isolated node's minion cannot answer: asking it would only hold the
    # command for the master's gather_job_timeout.
    reachable = [name for name in up_names if name not in isolated]
    answering = responding(reachable) if bridge and master.pid() else set()
    print(f"bridge {config.BRIDGE}: {'up' if bridge else 'down'}   "
          f"salt-master: {'running' if master.pid() else 'stopped'}   image: {topology.image}")
    print(f"{'NODE':26} {'ROLE':11} {'ADDRESS':14} {'STATE':9} MINION")
    for node in topology.nodes:
        if node.name not in up_names:
            state = "down"
        elif node.name in isolated:
            state = "isolated"
        else:
            state = "up"
        minion = "answering" if node.name in answering else "-"
        print(f"{node.name:26} {node.role:11} {node.address:14} {state:9} {minion}")
    return 0


def deploy(args) -> int:
    step("syncing the formula's modules to the master")
    # Its output (the list of synced modules) is shown only when it fails.
    synced = master.cli("salt-run", ["saltutil.sync_all"], capture_output=True)
    if synced.returncode != 0:
        print(synced.stdout + synced.stderr, end="")
        return synced.returncode
    step("salt-run state.orchestrate ha.deploy")
    return master.cli("salt-run", ["state.orchestrate", "ha.deploy", *args.args]).returncode


def salt(args) -> int:
    return master.cli("salt", args.args).returncode


def salt_run(args) -> int:
    return master.cli("salt-run", args.args).returncode


def execute(args) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise SystemExit("lab: usage: bin/lab exec NODE -- CMD...")
    return nodes.execute(_topology().node(args.node), command).returncode


def crash(args) -> int:
    node = _topology().node(args.node)
    if nodes.leader(node) is None:
        raise SystemExit(f"lab: {node.name} is already down")
    nodes.kill(node)
    step(f"{node.name} lost power")
    return 0


def boot(args) -> int:
    topology = _topology()
    node = topology.node(args.node)
    nodes.require_bridge()
    _boot(node, topology)
    _wait_minions([node.name])
    step(f"{node.name} is up, minion answering")
    return 0


def isolate(args) -> int:
    nodes.isolate(_topology().node(args.node))
    step(f"{args.node} cut off the lab network")
    return 0


def heal(args) -> int:
    nodes.heal(_topology().node(args.node))
    step(f"{args.node} back on the lab network")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bin/lab", description=__doc__)
    verbs = p.add_subparsers(dest="verb", required=True)
    v = verbs.add_parser("up", help="build or reuse the image, boot the nodes, start master and minions")
    # Default: the reference site's counts for a new lab, the lab's own for a running one.
    v.add_argument("--controllers", type=int, default=None)
    v.add_argument("--computes", type=int, default=None)
    v.set_defaults(func=up)
    verbs.add_parser("down", help="remove everything the lab created").set_defaults(func=down)
    verbs.add_parser("status", help="every node: state, address, minion").set_defaults(func=status)
    # Pass-through verbs are dispatched by main() before parsing; they are
    # declared here for --help only.
    verbs.add_parser("deploy", help="salt-run state.orchestrate ha.deploy (extra args passed on)")
    for verb in ("salt", "salt-run"):
        verbs.add_parser(verb, help=f"{verb} against the lab's master")
    v = verbs.add_parser("exec", help="run a command inside a node: exec NODE -- CMD...")
    v.add_argument("node")
    v.add_argument("command", nargs=argparse.REMAINDER)
    v.set_defaults(func=execute)
    for verb, func, text in (
        ("crash", crash, "power loss: kill the node at once"),
        ("boot", boot, "start a node again with its disk as it was"),
        ("isolate", isolate, "cut a node off the lab network"),
        ("heal", heal, "put an isolated node back on the lab network"),
        ("unlist", unlist, "take a node out of the lab's pillar only, leaving it running"),
        ("remove", remove, "take a node out of the lab for good (disk, key and pillar entry)"),
    ):
        v = verbs.add_parser(verb, help=text)
        v.add_argument("node")
        v.set_defaults(func=func)
    return p


PASS_THROUGH = {"salt": salt, "salt-run": salt_run, "deploy": deploy}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if os.geteuid() != 0:
        raise SystemExit("lab: must run as root (it creates a bridge, mounts and containers)")
    # Pass-through verbs hand everything after them to Salt untouched,
    # options included, which argparse would try to interpret.
    if argv and argv[0] in PASS_THROUGH:
        return PASS_THROUGH[argv[0]](argparse.Namespace(args=argv[1:]))
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
