"""
The lab tier: the real lab (bin/lab) with systemd containers, a salt-master
and salt-minions. The session boots the lab (or reuses one that is up) and
always removes it at the end, even when a test fails.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from lab import config
from tests.conftest import MEASUREMENTS
from tests.helpers import REPO, load_module, pillar_secrets

LAB = REPO / "bin" / "lab"
# A first ha.deploy of everything on the lab takes about 10 minutes on two
# cores; the deadline leaves room for a slower machine.
DEPLOY_TIMEOUT = 1500


# The verbs of bin/lab that inject a fault: each is recorded with its time,
# so that the audit at the end of the lab tier can tell a membership change
# or a VIP move that a test caused from a false failover.
FAULT_VERBS = ("crash", "boot", "isolate", "heal")


class Lab:
    """Drives bin/lab the way an operator does."""

    def __init__(self):
        self.started = time.time()
        self.faults: list[tuple[float, str, str]] = []

    def run(self, *args: str, check: bool = True, timeout: float = 600, input: str | None = None
            ) -> subprocess.CompletedProcess:
        began = time.time()
        result = subprocess.run([str(LAB), *args], capture_output=True, text=True, timeout=timeout, input=input)
        if args and args[0] in FAULT_VERBS and result.returncode == 0:
            self.faults.append((began, args[0], args[1]))
        if check:
            assert result.returncode == 0, f"bin/lab {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return result

    def exec(self, node: str, *cmd: str, check: bool = True, input: str | None = None, timeout: float = 600
             ) -> subprocess.CompletedProcess:
        return self.run("exec", node, "--", *cmd, check=check, input=input, timeout=timeout)

    def status(self) -> dict[str, dict[str, str]]:
        """bin/lab status as {node: {role, address, state, minion}}."""
        lines = self.run("status").stdout.splitlines()
        header = next(i for i, line in enumerate(lines) if line.startswith("NODE"))
        nodes = {}
        for line in lines[header + 1:]:
            name, role, address, state, minion = line.split()
            nodes[name] = {"role": role, "address": address, "state": state, "minion": minion}
        return nodes

    def not_answering(self, nodes: list[str]) -> list[str]:
        """The nodes whose minion does not answer a ping (one salt call for all of them)."""
        result = self.run("salt", "--out=json", "--static", "--timeout=5", "-L", ",".join(nodes), "test.ping",
                          check=False)
        try:
            answers = json.loads(result.stdout or "{}")
        except json.JSONDecodeError:
            answers = {}
        return [node for node in nodes if answers.get(node) is not True]

    def answering(self, node: str) -> bool:
        return not self.not_answering([node])

    def orchestrate(self, *args: str, sls: str = "ha.deploy") -> tuple[int, dict]:
        """salt-run state.orchestrate SLS; returns (exit code, {state id: result})."""
        result = self.run("salt-run", "--out=json", "state.orchestrate", sls, *args, check=False,
                          timeout=DEPLOY_TIMEOUT)
        data = json.loads(result.stdout)["data"]
        (steps,) = data.values()
        return result.returncode, {body["__id__"]: body for body in steps.values()}


def slowest_steps(steps: dict, count: int = 6) -> str:
    """The ``count`` slowest steps of an orchestration's result ({state id: result}), as 'ID 12.3 s'."""
    timed = sorted(((body.get("duration", 0) / 1000, step_id) for step_id, body in steps.items()), reverse=True)
    return ", ".join(f"{step_id} {seconds:.1f} s" for seconds, step_id in timed[:count])


def wait_until(what: str, probe, timeout: float, interval: float = 0.5, describe=None):
    """Poll ``probe`` until truthy; on timeout fail, with ``describe()`` saying what is still wrong."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = f": {describe()}" if describe else ""
            raise AssertionError(f"timed out after {timeout} s waiting for {what}{detail}")
        time.sleep(interval)


def status(lab) -> tuple[int, dict, float]:
    """salt-run ha.status --out=json: (exit code, the report, seconds the call took)."""
    started = time.monotonic()
    result = lab.run("salt-run", "--out=json", "ha.status", check=False, timeout=120)
    took = time.monotonic() - started
    try:
        return result.returncode, json.loads(result.stdout), took
    except json.JSONDecodeError as exc:
        raise AssertionError(f"ha.status printed no JSON (exit {result.returncode}):\n{result.stdout}\n"
                             f"{result.stderr}") from exc


def wait_healthy(lab, what: str, timeout: float) -> tuple[dict, float]:
    """Ask ha.status until it reports the control plane healthy (exit 0): (the report, seconds waited). On
    timeout the failure names the problems of the last report."""
    started = time.monotonic()
    last = []

    def healthy():
        last[:] = [status(lab)]
        return last[0][0] == 0

    def describe() -> str:
        problems = {name: part["problems"] for name, part in last[0][1].get("components", {}).items()
                    if part["problems"]}
        # A problem that names a node starts with it ("openstack-controller01: no answer within 20 s").
        named = sorted({line.split(":")[0] for lines in problems.values() for line in lines
                        if line.startswith("openstack-")})
        return f"{json.dumps(problems)}\n{inside(lab, named)}"

    wait_until(what, healthy, timeout, 5, describe=describe)
    return last[0][1], time.monotonic() - started


# What a node that is slow or wrong is doing, read through nsenter (not Salt, which may be what does not
# answer). What needs no daemon comes first; each command that asks systemd or D-Bus has its own deadline,
# so that a hung PID 1 is reported as such instead of silencing the whole report.
INSIDE = r"""
echo "load $(cat /proc/loadavg); pid 1 $(cut -d' ' -f3 /proc/1/stat) in $(cat /proc/1/wchan)"
echo "blocked (D state):"; ps -eo pid,stat,wchan:24,etimes,args | awk 'NR == 1 || $2 ~ /^D/' | head -15 | cut -c1-160
echo "busiest:"; ps -eo pid,stat,pcpu,rss,etimes,args --sort=-pcpu | head -12 | cut -c1-160
asks() { timeout -k 1 8 "$@" || echo "($* gave no answer within 8 s, or failed: $?)"; }
asks busctl --timeout=8 call org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.DBus.Peer Ping
asks systemctl list-jobs --no-pager | head -20
asks systemctl --failed --no-pager --plain | head -20
"""


def inside(lab, nodes: list[str]) -> str:
    """For a failure's message: each of ``nodes``' load, blocked and busiest processes, whether systemd
    answers over D-Bus, its jobs and failed units; and the host's load and pressure."""
    host = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    pressure = {kind: Path(f"/proc/pressure/{kind}").read_text().splitlines()[0]
                for kind in ("cpu", "io", "memory") if Path(f"/proc/pressure/{kind}").exists()}
    parts = [f"--- host: load {host}; " + "; ".join(f"{kind} {line}" for kind, line in pressure.items()),
             *blocked_on_host()]
    for node in nodes:
        try:
            result = lab.exec(node, "sh", "-c", INSIDE, check=False, timeout=60)
            parts.append(f"--- {node}:\n{result.stdout}{result.stderr}")
        except subprocess.TimeoutExpired:
            parts.append(f"--- {node}: nothing within 60 s")
    return "\n".join(parts)


def blocked_on_host() -> list[str]:
    """The host's processes in uninterruptible sleep (D), each with the top of its kernel stack: what a
    node's daemons wait for when the kernel, not the node, is slow (a lock held while a killed node's
    network namespace is freed, say)."""
    found = []
    for proc in (entry for entry in Path("/proc").iterdir() if entry.name.isdigit()):
        try:
            stat = (proc / "stat").read_text()
            if stat[stat.rindex(")") + 2] != "D":
                continue
            stack = [frame.split(" ", 1)[-1] for frame in (proc / "stack").read_text().splitlines()[:5]]
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile, or a stack the kernel does not show
        found.append(f"  D {proc.name} {stat[stat.index('(') + 1:stat.rindex(')')]}: {' < '.join(stack)}")
    return found[:20]


@pytest.fixture(scope="session")
def lab():
    driver = Lab()
    try:
        driver.run("up")
        yield driver
    finally:
        # HALAB_KEEP=1 keeps the lab for the next run while developing one
        # test file; make test and CI never set it.
        if os.environ.get("HALAB_KEEP") != "1":
            driver.run("down", check=False)


def lab_secrets() -> list[str]:
    """Every secret of the lab's generated pillar (ha_topology.secret_keys: passwords, cookie)."""
    secrets = pillar_secrets(yaml.safe_load((config.PILLAR_DIR / "ha.sls").read_text())["ha"])
    assert len(secrets) >= 14, secrets  # the lab pillar's 10 fixed secrets and 4 database accounts
    return secrets


class CmdlineSampler:
    """
    Samples every process command line in the given nodes while a deploy or
    a recovery runs, and records any that holds a secret. One sampler process
    runs inside each node (the secrets go in on its standard input) and reads
    /proc itself every 0.1 s: no process is started per sample, so sampling
    does not take the deploy's CPU, and short-lived commands are seen.
    """

    SCRIPT = """
import json, os, sys, threading
secrets = [s.encode() for s in json.loads(sys.stdin.readline())]
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
samples, leaks = 0, set()
print("armed", flush=True)
while not stop.is_set():
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or pid == str(os.getpid()):
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                line = f.read()
        except OSError:
            continue
        if any(s in line for s in secrets):
            leaks.add(line.replace(b"\\0", b" ")[:80].decode(errors="replace"))
    samples += 1
    stop.wait(0.1)
print(json.dumps({"samples": samples, "leaks": sorted(leaks)}), flush=True)
"""

    def __init__(self, lab: Lab, nodes: list[str]):
        self.lab, self.nodes, self.secrets = lab, nodes, lab_secrets()
        self.samples, self.leaks = 0, []
        self._processes: dict[str, subprocess.Popen] = {}

    def __enter__(self):
        assert self.secrets, "the lab pillar has no secrets to look for"
        try:
            for node in self.nodes:
                process = subprocess.Popen([str(LAB), "exec", node, "--", "python3", "-c", self.SCRIPT],
                                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                self._processes[node] = process
                process.stdin.write(json.dumps(self.secrets) + "\n")
                process.stdin.flush()
                assert process.stdout.readline().strip() == "armed", f"the sampler did not start in {node}"
        except BaseException:
            self._kill()
            raise
        return self

    def _kill(self):
        for process in self._processes.values():
            if not process.stdin.closed:
                process.stdin.close()
            process.kill()
            process.wait()

    def __exit__(self, *exc):
        # communicate() closes a sampler's standard input, which ends it; a
        # node that lost power meanwhile took its sampler with it and reports
        # nothing.
        try:
            for node, process in self._processes.items():
                out, _ = process.communicate(timeout=30)
                lines = out.strip().splitlines()
                if process.returncode != 0 or not lines:
                    continue
                report = json.loads(lines[-1])
                self.samples += report["samples"]
                self.leaks += [f"{node}: {line}..." for line in report["leaks"]]
        finally:
            self._kill()


# From inside a node: whether a TCP connection to ADDRESS:PORT is accepted
# ("open"), refused ("refused": a reset, from the firewall or because nothing
# listens) or gets no answer at all ("unreachable"); from SOURCE when given.
CONNECT = """
import socket, sys
address, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(); s.settimeout(3)
if sys.argv[3:]:
    s.bind((sys.argv[3], 0))
try:
    s.connect((address, port)); print("open")
except ConnectionRefusedError:
    print("refused")
except OSError:
    print("unreachable")
"""


def connect(lab: Lab, node: str, address: str, port: int = 9, source: str = "") -> str:
    """CONNECT run in ``node``; port 9 (discard) has no listener on the lab's nodes."""
    extra = [source] if source else []
    return lab.exec(node, "python3", "-c", CONNECT, address, str(port), *extra).stdout.strip()


CONTROLLERS = ["openstack-controller01", "openstack-controller02", "openstack-controller03"]
ADDRESSES = {"openstack-controller01": "10.10.10.51", "openstack-controller02": "10.10.10.52",
             "openstack-controller03": "10.10.10.53"}
ETCD_ENDPOINTS = ",".join(f"http://{address}:2379" for address in ADDRESSES.values())
# A node that is not a controller: clients of the controllers' services run there.
CLIENT_NODE = "openstack-compute01"


def rabbit_status(lab: Lab, node: str) -> dict | None:
    """rabbitmqctl cluster_status of one node, None when it does not answer."""
    result = lab.exec(node, "rabbitmqctl", "cluster_status", "--formatter", "json", check=False)
    try:
        return json.loads(result.stdout) if result.returncode == 0 else None
    except json.JSONDecodeError:
        return None


def rabbit_clustered(lab: Lab) -> bool:
    """Every controller sees the three nodes running and no partition."""
    wanted = sorted(f"rabbit@{node}" for node in CONTROLLERS)
    for node in CONTROLLERS:
        status = rabbit_status(lab, node)
        if status is None or sorted(status["running_nodes"]) != wanted or status["partitions"]:
            return False
    return True


def etcd_all_healthy(lab: Lab, via: str = "openstack-controller01") -> bool:
    result = lab.exec(via, "env", "ETCDCTL_API=3", "etcdctl", f"--endpoints={ETCD_ENDPOINTS}",
                      "endpoint", "health", check=False)
    return result.returncode == 0


def galera_all_synced(lab: Lab) -> bool:
    for node in CONTROLLERS:
        result = lab.exec(node, "mysql", "-N", "-B", check=False,
                          input="SHOW GLOBAL STATUS WHERE Variable_name IN "
                                "('wsrep_cluster_size', 'wsrep_local_state_comment');")
        status = dict(line.split("\t", 1) for line in result.stdout.splitlines() if "\t" in line)
        if result.returncode != 0 or status != {"wsrep_cluster_size": "3", "wsrep_local_state_comment": "Synced"}:
            return False
    return True


# After a crashed controller boots, every cluster is whole again by then (issue 13).
REJOIN_MAX = 120


def crm_mon(lab: Lab, node: str) -> dict | None:
    """crm_mon of one node as {"quorate", "online": [...], "resources": {id: [nodes started on]},
    "failed": ["OP_KEY on NODE", ...] (its failed actions)}; None if down."""
    result = lab.exec(node, "crm_mon", "--one-shot", "--inactive", "--output-as=xml", check=False)
    try:
        root = ET.fromstring(result.stdout)
    except ET.ParseError:
        return None
    if root.find("summary") is None:
        return None
    placed: dict[str, list[str]] = {}
    for resource in root.iter("resource"):
        if resource.get("role") == "Started" and resource.get("failed") == "false":
            placed.setdefault(resource.get("id"), []).extend(n.get("name") for n in resource.findall("node"))
    return {
        "quorate": root.find("summary/current_dc").get("with_quorum") == "true",
        "online": sorted(n.get("name") for n in root.find("nodes") if n.get("online") == "true"),
        "resources": {rid: sorted(nodes) for rid, nodes in placed.items()},
        "failed": [f"{failure.get('op_key')} on {failure.get('node')}" for failure in root.iter("failure")],
    }


def settled(lab: Lab, via: str, online: list[str]) -> dict | None:
    """The status seen from ``via`` once ``online`` are the online nodes, the VIP runs on one of them and
    HAProxy on all of them."""
    status = crm_mon(lab, via)
    if status is None or not status["quorate"] or status["online"] != sorted(online):
        return None
    vip, haproxy = status["resources"].get("vip", []), status["resources"].get("lb-haproxy", [])
    if len(vip) != 1 or haproxy != sorted(online):
        return None
    return status


def vip_holder(lab: Lab, via: str = "openstack-controller02", online: list[str] = CONTROLLERS) -> str:
    status = wait_until("the VIP and HAProxy started on the online controllers",
                        lambda: settled(lab, via, online), 120, 1, describe=lambda: crm_mon(lab, via))
    return status["resources"]["vip"][0]


# The priority of the VIP guard's refusals of a departed node's memcached.
GUARD_RULE_PRIORITY = load_module("salt/ha/pacemaker/files/vip_guard.py", "ha_vip_guard").RULE_PRIORITY


def no_refusal_left(lab: Lab) -> bool:
    """No controller's VIP guard refuses another node's memcached any more."""
    return not any(lab.exec(node, "ip", "-4", "rule", "show", "priority", GUARD_RULE_PRIORITY,
                            check=False).stdout.strip() for node in CONTROLLERS)


def not_recovered(lab: Lab) -> list[str]:
    """What is not whole again on the three controllers after a fault (empty: all is): Galera 3 Synced,
    RabbitMQ 3 running with no partition seen from any node, etcd 3 healthy, Pacemaker 3 online with the VIP
    and HAProxy started, no VIP guard refusing a node's memcached; the minions answering."""
    missing = [f"minion of {node}" for node in lab.not_answering(CONTROLLERS)]
    checks = {"Galera": galera_all_synced, "RabbitMQ": rabbit_clustered, "etcd": etcd_all_healthy,
              "Pacemaker": lambda lab: settled(lab, CONTROLLERS[1], CONTROLLERS) is not None,
              "VIP guard's memcached refusals": no_refusal_left}
    return missing or [name for name, probe in checks.items() if not probe(lab)]


def wait_recovered(lab: Lab, timeout: float = 300) -> str:
    """
    Waits until every cluster is whole (``not_recovered``); returns what was
    missing and until when, e.g. "RabbitMQ until 41 s" (empty when whole at
    once), so that a test can say which part took the time.
    """
    started, seen = time.monotonic(), {}

    def whole() -> bool:
        missing = not_recovered(lab)
        for part in missing:
            seen[part] = time.monotonic() - started
        return not missing

    wait_until("every cluster whole again", whole, timeout, 2,
               describe=lambda: f"still not whole: {', '.join(not_recovered(lab))}")
    return ", ".join(f"{part} until {last:.0f} s" for part, last in seen.items())


@pytest.fixture(scope="session")
def deployed(lab):
    """The lab after a first `bin/lab deploy` (as make lab runs it), command lines sampled meanwhile."""
    started = time.monotonic()
    with CmdlineSampler(lab, CONTROLLERS) as sampler:
        result = lab.run("deploy", check=False, timeout=DEPLOY_TIMEOUT)
    assert result.returncode == 0, result.stdout + result.stderr
    MEASUREMENTS.append(f"first bin/lab deploy (ha.deploy) on the lab: {time.monotonic() - started:.1f} s")
    lab.first_deploy_sampler = sampler
    lab.first_deploy_output = result.stdout + result.stderr
    return lab


@pytest.fixture(scope="module")
def sql_client(deployed):
    """The deployed lab with PyMySQL on the client node (the compute node), for the tests' SQL clients."""
    vip_holder(deployed)
    deployed.exec(CLIENT_NODE, "apt-get", "install", "-y", "-q", "python3-pymysql")
    try:
        yield deployed
    finally:
        deployed.exec(CLIENT_NODE, "apt-get", "purge", "-y", "-q", "python3-pymysql", check=False)


@pytest.fixture(scope="module")
def writer_account(sql_client):
    """A table and an account for a test's writer, reached through HAProxy from any controller."""
    password = secrets.token_hex(16)
    sql_client.exec(CONTROLLERS[0], "mysql", input=(
        "CREATE DATABASE hatest; CREATE TABLE hatest.acked (id BIGINT PRIMARY KEY AUTO_INCREMENT, note TEXT); "
        + "".join(f"CREATE USER 'hatest'@'{a}' IDENTIFIED BY '{password}'; GRANT ALL ON hatest.* TO 'hatest'@'{a}'; "
                  for a in ADDRESSES.values())))
    try:
        yield password
    finally:
        sql_client.exec(CONTROLLERS[0], "mysql", check=False, input=(
            "DROP DATABASE IF EXISTS hatest; "
            + "".join(f"DROP USER IF EXISTS 'hatest'@'{a}'; " for a in ADDRESSES.values())))


# Corosync's line for every new membership, and Pacemaker's for every start
# of the VIP, in the journal (short-unix: seconds since the epoch first).
MEMBERSHIP_RE = re.compile(r"^(\d+\.\d+) \S+ corosync\[\d+\]: +\[TOTEM \] A new membership \(([0-9a-f.]+)\) "
                           r"was formed\. Members(?: joined: [\d ]+?)?(?: left: ([\d ]+))?$")
VIP_START_RE = re.compile(r"^(\d+\.\d+) \S+ pacemaker-controld\[\d+\]: +notice: Result of start operation "
                          r"for vip on (\S+): ok")
# How long after a fault the changes it causes may show: a crash or a cut
# is seen within seconds; a node that boots or comes back rejoins once its
# services have started.
# A test that moves the VIP on purpose records a "move".
# A rolling restart (test_operations) restarts corosync on every controller
# and moves the VIP: its window is the bound on the whole restart.
FAULT_WINDOWS = {"crash": 15, "isolate": 15, "boot": 180, "heal": 180, "move": 15, "rolling_restart": 600}


def cluster_events(lab: Lab) -> dict[str, list[tuple[float, str]]]:
    """
    Since the lab fixture started: every membership change that removed a
    node (``left``: time, ring id) and every start of the VIP (``vip``: time,
    node), from every controller's journal (a node that lost power keeps
    what it had written; the survivors log what it could not).
    """
    left: dict[str, float] = {}
    starts: set[tuple[float, str]] = set()
    for node in CONTROLLERS:
        journal = lab.exec(node, "journalctl", "-o", "short-unix", "--no-pager", "-q", "-u", "corosync",
                           "-u", "pacemaker", "--since", f"@{int(lab.started)}", check=False).stdout
        for line in journal.splitlines():
            if match := MEMBERSHIP_RE.match(line):
                if match.group(3):
                    ring = match.group(2)
                    left[ring] = min(left.get(ring, float("inf")), float(match.group(1)))
            elif match := VIP_START_RE.match(line):
                starts.add((float(match.group(1)), match.group(2)))
    return {"left": sorted((t, ring) for ring, t in left.items()),
            "vip": sorted(starts)}


def unexplained(events: list[tuple[float, str]], faults: list[tuple[float, str, str]]) -> list[tuple[float, str]]:
    """The events that no fault of a test can have caused (none within its window before them)."""
    return [(t, what) for t, what in events
            if not any(at - 1 <= t <= at + FAULT_WINDOWS[verb] for at, verb, _ in faults)]
