"""
The lab's salt-master: a real salt-master process on the host, listening only
on the host's address on the lab bridge, serving the formula straight from the
working tree and the lab's generated pillar.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import yaml

from lab import config
from lab.config import Topology
from lab.nodes import require_bridge
from lab.util import run, wait_for

BIN = Path(sys.executable).parent
ETC = config.MASTER_DIR / "etc"
PIDFILE = config.MASTER_DIR / "run" / "salt-master.pid"
LOG = config.MASTER_DIR / "log" / "master"
RET_PORT = 4506
PLACEHOLDER_PREFIX = "CHANGEME"


def write_config() -> None:
    ETC.mkdir(parents=True, exist_ok=True)
    master = {
        "root_dir": str(config.MASTER_DIR),
        "pidfile": str(PIDFILE),
        "log_file": str(LOG),
        "interface": str(config.MASTER_ADDRESS),
        "user": "root",
        # The working tree is the formula: a changed state is live at the next deploy.
        "file_roots": {"base": [str(config.REPO / "salt"), str(config.REPO)]},
        # The checkout is a file root for its _modules, _states and _runners;
        # its virtualenv (13,500 of a clean clone's 14,000 files) and git
        # objects are not the formula. Serving them makes every file list the
        # master rebuilds walk and list them while minions wait on its lock:
        # the suspected cause of the master not answering the minions'
        # returns when five of them synced at once after every controller
        # lost power (the deploy's sync step failed there).
        "file_ignore_regex": [r"(^|/)\.venv(/|$)", r"(^|/)\.git(/|$)"],
        "pillar_roots": {"base": [str(config.REPO / "pillar"), str(config.PILLAR_DIR)]},
        "worker_threads": 4,
        "timeout": 20,
        # An orchestration step gives up on a minion that does not answer
        # saltutil.find_job within this time; the lab's nodes share two
        # cores, and a node unpacking packages may take longer than the
        # default 10 s.
        "gather_job_timeout": 30,
        # Salt's publisher drops a minion's connection after 30 s without a
        # ZMTP heartbeat answer; the minion then notices only at its TCP
        # keepalive, 5 minutes later. The lab cuts a node off the network
        # for longer than 30 s (bin/lab isolate): keep the connection for 2
        # minutes so that the minion answers again soon after heal.
        "zmq_heartbeat_timeout": 120000,
    }
    (ETC / "master").write_text(yaml.safe_dump(master, sort_keys=False))


def fill_placeholders(data, known=None):
    """Replace every CHANGEME placeholder of pillar.example with a random secret,
    or with the value ``known`` (the same structure) already has there."""
    if isinstance(data, dict):
        known = known if isinstance(known, dict) else {}
        return {key: fill_placeholders(value, known.get(key)) for key, value in data.items()}
    if isinstance(data, list):
        return [fill_placeholders(value) for value in data]
    if isinstance(data, str) and data.startswith(PLACEHOLDER_PREFIX):
        if isinstance(known, str) and not known.startswith(PLACEHOLDER_PREFIX):
            return known
        return secrets.token_hex(24)
    return data


def pillar_nodes() -> set[str]:
    """The nodes that the lab's pillar lists now (none before the first `up`)."""
    pillar_file = config.PILLAR_DIR / "ha.sls"
    if not pillar_file.exists():
        return set()
    return set(yaml.safe_load(pillar_file.read_text())["ha"]["nodes"])


def write_pillar(topology: Topology) -> None:
    """
    The lab's site pillar: pillar.example with the lab's nodes and random
    secrets (mode 0600). Written at every `up`, so that new keys of
    pillar.example reach a running lab; secrets already generated are kept.
    """
    pillar_file = config.PILLAR_DIR / "ha.sls"
    known = yaml.safe_load(pillar_file.read_text())["ha"] if pillar_file.exists() else {}
    example = yaml.safe_load((config.REPO / "pillar.example").read_text())
    ha = fill_placeholders(example["ha"], known)
    ha["nodes"] = {n.name: {"address": n.address, "roles": [n.role]} for n in topology.nodes}
    # One process per OpenStack API and worker: the lab's four nodes share two
    # cores, and every process imports its service at each boot. keystone
    # gets two: with one, a request in flight when the VIP holder died
    # (its database connection ran through that node, and reconnects once
    # the VIP is back) held the only process for 2.4 s, and every request
    # behind it waited, /v3 included.
    ha["openstack"]["workers"] = 1
    ha["openstack"]["service_workers"] = {"keystone": 2}
    config.PILLAR_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(config.PILLAR_DIR, 0o700)
    tmp = pillar_file.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("# Generated by bin/lab up from pillar.example: the lab's site.\n")
        yaml.safe_dump({"ha": ha}, handle, sort_keys=False)
    os.replace(tmp, pillar_file)


def preseed_key(name: str, minion_pki: Path) -> None:
    """Generate the minion's key pair and accept it on the master, as provisioning would."""
    accepted = config.MASTER_DIR / "etc/salt/pki/master/minions"
    if (accepted / name).exists() and (minion_pki / "minion.pem").exists():
        return
    tmp = config.MASTER_DIR / "keygen" / name
    tmp.mkdir(parents=True, exist_ok=True)
    run([str(BIN / "salt-key"), "-c", str(ETC), f"--gen-keys={name}", f"--gen-keys-dir={tmp}"], capture=True)
    minion_pki.mkdir(parents=True, exist_ok=True)
    os.chmod(minion_pki, 0o700)
    shutil.move(tmp / f"{name}.pem", minion_pki / "minion.pem")
    shutil.copy(tmp / f"{name}.pub", minion_pki / "minion.pub")
    os.chmod(minion_pki / "minion.pem", 0o400)
    accepted.mkdir(parents=True, exist_ok=True)
    shutil.move(tmp / f"{name}.pub", accepted / name)
    shutil.rmtree(tmp)


def forget_key(name: str) -> None:
    """The master no longer knows the minion ``name``: its accepted key and cached data removed."""
    (config.MASTER_DIR / "etc/salt/pki/master/minions" / name).unlink(missing_ok=True)
    shutil.rmtree(config.MASTER_DIR / "var/cache/salt/master/minions" / name, ignore_errors=True)


def pid() -> int | None:
    try:
        value = int(PIDFILE.read_text())
        argv = Path(f"/proc/{value}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return value if b"salt-master" in argv else None


def _listening() -> bool:
    try:
        with socket.create_connection((str(config.MASTER_ADDRESS), RET_PORT), timeout=1):
            return True
    except OSError:
        return False


def start() -> None:
    require_bridge()
    if pid() and _listening():
        return
    LOG.parent.mkdir(parents=True, exist_ok=True)
    PIDFILE.parent.mkdir(parents=True, exist_ok=True)
    with open(config.MASTER_DIR / "log" / "master.out", "ab") as out:
        subprocess.Popen(
            [str(BIN / "salt-master"), "-c", str(ETC), "--log-level=quiet"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True,
        )
    wait_for("the salt-master to listen", _listening, 60)


def others(proc: Path = Path("/proc")) -> list[int]:
    """
    Every other salt-master process on the lab's config: a master whose
    pidfile a second run overwrote keeps its socket on the lab's address,
    and the next lab's minions would talk to it.
    """
    main = pid()
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            # Salt sets its processes' titles: one string with spaces, not NUL-separated arguments.
            words = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").split()
            config_dirs = [after for before, after in zip(words, words[1:], strict=False) if before == "-c"]
            # The running master's workers are in its process group (see stop).
            if any(word.endswith("salt-master") for word in words) and str(ETC) in config_dirs \
                    and os.getpgid(int(entry.name)) != main:
                found.append(int(entry.name))
    return sorted(found)


def stop() -> None:
    main = pid()
    stale = others()
    for process in stale:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process, signal.SIGKILL)
    if main is None:
        return
    # The master runs in a session of its own (start_new_session): its
    # process group id is its pid, and it holds all its worker processes.
    try:
        os.killpg(main, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        wait_for("the salt-master to stop", lambda: pid() is None, 20)
    except SystemExit:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(main, signal.SIGKILL)


def cli(tool: str, args: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run salt, salt-run or salt-key against the lab's master."""
    require_bridge()
    return subprocess.run([str(BIN / tool), "-c", str(ETC), *args], text=True, **kwargs)
