"""
Nodes: systemd containers (systemd-nspawn) on an overlay of the node image,
attached to the lab's bridge, and the bridge itself.

The host has no systemd as PID 1, so machinectl cannot be used: a node is
found by its PID 1 (the process whose root is the node's overlay and whose PID
inside its namespace is 1), entered with nsenter and killed with SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import uuid
from pathlib import Path

from lab import config
from lab.config import Node
from lab.util import run, wait_for

NODE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


# --- the bridge -------------------------------------------------------------

def bridge_up() -> bool:
    """True when the lab's bridge exists and is up: only then may anything talk to a lab address."""
    operstate = Path(f"/sys/class/net/{config.BRIDGE}/flags")
    if not operstate.exists():
        return False
    return bool(int(operstate.read_text(), 16) & 0x1)  # IFF_UP


def require_bridge() -> None:
    if not bridge_up():
        raise SystemExit(f"lab: the lab is not up (bridge {config.BRIDGE} is missing or down); run bin/lab up")


def create_bridge() -> None:
    if not Path(f"/sys/class/net/{config.BRIDGE}").exists():
        run(["ip", "link", "add", config.BRIDGE, "type", "bridge"])
    address = f"{config.MASTER_ADDRESS}/{config.NETWORK.prefixlen}"
    current = run(["ip", "-o", "-4", "addr", "show", "dev", config.BRIDGE], capture=True).stdout
    if address not in current:
        run(["ip", "addr", "add", address, "dev", config.BRIDGE])
    run(["ip", "link", "set", config.BRIDGE, "up"])


def bridge_ports() -> list[str]:
    brif = Path(f"/sys/class/net/{config.BRIDGE}/brif")
    return sorted(p.name for p in brif.iterdir()) if brif.exists() else []


def delete_bridge() -> None:
    if Path(f"/sys/class/net/{config.BRIDGE}").exists():
        run(["ip", "link", "del", config.BRIDGE])


# --- node disks ---------------------------------------------------------------

def is_mounted(path: Path) -> bool:
    return any(line.split()[4] == str(path) for line in Path("/proc/self/mountinfo").read_text().splitlines())


def mount(node: Node, image: Path) -> None:
    """Mount the node's overlay; create and configure its upper layer on first use."""
    upper, work = node.dir / "upper", node.dir / "work"
    first = not upper.exists()
    for path in (upper, work, node.root):
        path.mkdir(parents=True, exist_ok=True)
    if not is_mounted(node.root):
        options = f"lowerdir={image / 'rootfs'},upperdir={upper},workdir={work}"
        run(["mount", "-t", "overlay", "overlay", "-o", options, str(node.root)])
    if first:
        _configure(node)


def _configure(node: Node) -> None:
    """What a provisioning system writes on a new server: name, address, identity, minion key."""
    root = node.root
    (root / "etc/hostname").write_text(node.name + "\n")
    (root / "etc/machine-id").write_text(uuid.uuid4().hex + "\n")
    network = root / "etc/systemd/network"
    network.mkdir(parents=True, exist_ok=True)
    # Persistent, so that services bound to the address find it at boot. No
    # gateway: lab nodes never get a route to the outside.
    (network / "10-host0.network").write_text(
        "[Match]\nName=host0\n\n[Network]\n"
        f"Address={node.address}/{config.NETWORK.prefixlen}\n"
        "LinkLocalAddressing=no\nIPv6AcceptRA=no\n"
    )
    (root / "etc/salt/minion_id").write_text(node.name)


def unmount(node: Node) -> None:
    if is_mounted(node.root):
        run(["umount", str(node.root)])


# --- cgroups ---------------------------------------------------------------------

# systemd-nspawn --keep-unit sets a node's cgroups up below the cgroup of the
# process that starts it (supervisor/ and payload/). Started from the host's
# root cgroup, every node got the same payload/, and the nodes' systemds
# shared one cgroup per unit name: one node's units held another's
# processes, and units failed at boot with 219/CGROUP when several nodes
# booted at once (a node with no /run/mysqld, its systemd-tmpfiles-setup
# failed). Each node is therefore started in a cgroup of its own,
# halab/NODE, in each hierarchy that systemd uses: the named v1 one and the
# unified one on a hybrid host, the unified one alone otherwise.
CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUP_PARENT = "halab"


def _cgroup_hierarchies() -> list[Path]:
    if (CGROUP_ROOT / "cgroup.procs").exists():
        return [CGROUP_ROOT]
    return [CGROUP_ROOT / name for name in ("systemd", "unified") if (CGROUP_ROOT / name / "cgroup.procs").exists()]


def cgroups(node: Node | None = None) -> list[Path]:
    """The node's own cgroups (or, without a node, the lab's parent of them), one per hierarchy."""
    parents = [hierarchy / CGROUP_PARENT for hierarchy in _cgroup_hierarchies()]
    return [parent / node.name for parent in parents] if node else parents


def remove_cgroups(node: Node | None = None) -> None:
    """Remove the node's cgroups (or all of the lab's), deepest first; a cgroup that still holds a process
    stays (rmdir refuses it)."""
    for top in cgroups(node):
        if not top.is_dir():
            continue
        for directory, _, _ in os.walk(top, topdown=False):
            with contextlib.suppress(OSError):
                os.rmdir(directory)


# --- processes ------------------------------------------------------------------

def _processes():
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            yield int(entry.name)


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22 (starttime), counted after the command name, which may hold spaces.
    return stat.rsplit(")", 1)[1].split()[19]


def _pid1_child(parent: int) -> int | None:
    """The child of a systemd-nspawn process that is PID 1 of its namespace: the node's systemd."""
    try:
        children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    except OSError:
        return None
    for child in map(int, children):
        try:
            status = Path(f"/proc/{child}/status").read_text()
        except OSError:
            continue
        nspid = next((line.split() for line in status.splitlines() if line.startswith("NSpid:")), [])
        if nspid[-1:] == ["1"] and len(nspid) > 2:
            return child
    return None


def leader(node: Node) -> int | None:
    """PID (on the host) of the node's systemd, or None when the node is down.

    Recorded with its start time when the node boots, so that it is still
    found if systemd-nspawn dies and not mistaken for a reused PID."""
    try:
        pid, started = (node.dir / "leader").read_text().split()
    except (OSError, ValueError):
        return None
    return int(pid) if _start_time(int(pid)) == started else None


def nspawn_pids(node: Node | None = None) -> list[int]:
    """systemd-nspawn processes of one node, or of the whole lab."""
    needle = str(node.root if node else config.NODES_DIR)
    pids = []
    for pid in _processes():
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"systemd-nspawn") and any(needle.encode() in a for a in argv):
            pids.append(pid)
    return pids


def start(node: Node, image: Path) -> int:
    """Boot the node; return its leader PID once its systemd runs."""
    if leader(node):
        raise SystemExit(f"lab: {node.name} is already up")
    # A killed node's host-side veth goes away with its namespace, shortly after.
    wait_for(f"the old network link of {node.name} to go", lambda: not nspawn_pids(node), 20)
    # A killed node's cgroups are left: its new systemd starts from none.
    remove_cgroups(node)
    procs = []
    for cgroup in cgroups(node):
        cgroup.mkdir(parents=True, exist_ok=True)
        procs.append(str(cgroup / "cgroup.procs"))
    console = open(node.dir / "console.log", "ab")
    # The shell enters the node's cgroups and becomes systemd-nspawn (same
    # PID): a preexec_fn would not be safe in the threads that boot nodes.
    process = subprocess.Popen(
        [
            "sh", "-c", 'for procs in $HALAB_CGROUPS; do echo $$ > "$procs" || exit 125; done; exec "$@"', "sh",
            "systemd-nspawn", "--quiet", "-D", str(node.root), "--keep-unit", "--register=no", "-b",
            f"--machine={node.name}", f"--network-bridge={config.BRIDGE}",
            f"--bind-ro={image / 'repo'}:{config.NODE_REPO_MOUNT}",
            "--resolv-conf=off", "--timezone=off", "--link-journal=no", "--console=passive",
        ],
        stdin=subprocess.DEVNULL, stdout=console, stderr=console, start_new_session=True,
        env={**os.environ, "HALAB_CGROUPS": " ".join(procs)},
    )
    console.close()


    def started() -> int | None:
        if process.poll() is not None:
            tail = (node.dir / "console.log").read_text(errors="replace").splitlines()[-5:]
            raise SystemExit(f"lab: systemd-nspawn of {node.name} exited with {process.returncode}: "
                             + " | ".join(tail))
        return _pid1_child(process.pid)

    pid = wait_for(f"{node.name} to start systemd", started, 60)
    (node.dir / "leader").write_text(f"{pid} {_start_time(pid)}\n")
    return pid


def wait_booted(node: Node, timeout: float = 120) -> str:
    """
    Wait until the node's systemd has finished booting, or its salt-minion
    runs while other units are still starting; return the system's state.
    A unit may wait long for its peers at boot (MariaDB for a Primary
    component and the services that need it, after every controller lost
    power): the node is up, and recovering is the formula's job.
    """
    if leader(node) is None:
        raise SystemExit(f"lab: {node.name} is down")

    def booted() -> str | None:
        state = execute(node, ["systemctl", "is-system-running"], capture=True, timeout=10).stdout.strip()
        if state in ("running", "degraded"):
            return state
        minion = execute(node, ["systemctl", "is-active", "salt-minion"], capture=True, timeout=10).stdout.strip()
        return state if state == "starting" and minion == "active" else None

    try:
        return wait_for(f"{node.name} to finish booting", booted, timeout, 0.5)
    except subprocess.TimeoutExpired:
        raise SystemExit(f"lab: {node.name} did not answer systemctl within 10 s while booting") from None


def kill(node: Node) -> None:
    """Power loss: SIGKILL the node's systemd; the kernel then kills its whole PID namespace.

    Killing systemd-nspawn alone is not enough: the node's systemd would be
    re-parented and keep running."""
    link = host_link(node)
    nspawns = nspawn_pids(node)
    victims = [leader(node)] + [_pid1_child(pid) for pid in nspawns] + nspawns
    for pid in victims:
        if pid is not None:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    wait_for(f"{node.name} to die", lambda: leader(node) is None and not nspawn_pids(node), 30)
    (node.dir / "leader").unlink(missing_ok=True)
    # The kernel may free the node's network namespace, and with it the veth,
    # long after its processes died (seen: minutes, after many connections);
    # the next boot would then fail with "File exists". Removing the host end
    # removes the pair.
    if link and Path(f"/sys/class/net/{link}").exists():
        subprocess.run(["ip", "link", "del", link], capture_output=True, check=False)


def execute(node: Node, cmd: list[str], *, capture: bool = False, timeout: float | None = None,
            check: bool = False) -> subprocess.CompletedProcess:
    """Run ``cmd`` inside the node with a clean environment, like a root login would."""
    pid = leader(node)
    if pid is None:
        raise SystemExit(f"lab: {node.name} is down")
    env_cmd = ["env", "-i", f"PATH={NODE_PATH}", "HOME=/root", "LANG=C.UTF-8", "TERM=" + os.environ.get("TERM", "dumb")]
    full = ["nsenter", "-t", str(pid), "-a", *env_cmd, *cmd]
    return subprocess.run(
        full, text=True, timeout=timeout, check=check,
        stdout=subprocess.PIPE if capture else None, stderr=subprocess.PIPE if capture else None,
    )


# --- the node's link ---------------------------------------------------------------

def host_link(node: Node) -> str | None:
    """Name of the host-side veth of the node (nspawn shortens long names)."""
    pid = leader(node)
    if pid is None:
        return None
    # In the node's network namespace, "host0@ifN": N is the peer's index on the host.
    result = subprocess.run(
        ["nsenter", "-t", str(pid), "-n", "ip", "-o", "link", "show", "dev", "host0"],
        capture_output=True, text=True,
    )
    match = re.search(r"host0@if(\d+)", result.stdout)
    if result.returncode != 0 or match is None:
        return None
    for link in Path("/sys/class/net").iterdir():
        if (link / "ifindex").read_text().strip() == match.group(1):
            return link.name
    return None


def is_isolated(node: Node) -> bool:
    link = host_link(node)
    return link is not None and link not in bridge_ports()


def isolate(node: Node) -> None:
    link = wait_for(f"the network link of {node.name}", lambda: host_link(node), 10)
    run(["ip", "link", "set", link, "nomaster"])


def heal(node: Node) -> None:
    link = wait_for(f"the network link of {node.name}", lambda: host_link(node), 10)
    run(["ip", "link", "set", link, "master", config.BRIDGE])

