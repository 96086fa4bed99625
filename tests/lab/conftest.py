"""
The lab tier: the real lab (bin/lab) with systemd containers, a salt-master
and salt-minions. The session boots the lab (or reuses one that is up) and
always removes it at the end, even when a test fails.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time

import pytest
import yaml

from lab import config
from tests.conftest import MEASUREMENTS
from tests.helpers import REPO

LAB = REPO / "bin" / "lab"


class Lab:
    """Drives bin/lab the way an operator does."""

    def run(self, *args: str, check: bool = True, timeout: float = 600, input: str | None = None
            ) -> subprocess.CompletedProcess:
        result = subprocess.run([str(LAB), *args], capture_output=True, text=True, timeout=timeout, input=input)
        if check:
            assert result.returncode == 0, f"bin/lab {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return result

    def exec(self, node: str, *cmd: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
        return self.run("exec", node, "--", *cmd, check=check, input=input)

    def status(self) -> dict[str, dict[str, str]]:
        """bin/lab status as {node: {role, address, state, minion}}."""
        lines = self.run("status").stdout.splitlines()
        header = next(i for i, line in enumerate(lines) if line.startswith("NODE"))
        nodes = {}
        for line in lines[header + 1:]:
            name, role, address, state, minion = line.split()
            nodes[name] = {"role": role, "address": address, "state": state, "minion": minion}
        return nodes

    def answering(self, node: str) -> bool:
        result = self.run("salt", "--out=json", "--static", "--timeout=5", node, "test.ping", check=False)
        try:
            return json.loads(result.stdout or "{}").get(node) is True
        except json.JSONDecodeError:
            return False

    def orchestrate(self, *args: str, sls: str = "ha.deploy") -> tuple[int, dict]:
        """salt-run state.orchestrate SLS; returns (exit code, {state id: result})."""
        result = self.run("salt-run", "--out=json", "state.orchestrate", sls, *args, check=False)
        data = json.loads(result.stdout)["data"]
        (steps,) = data.values()
        return result.returncode, {body["__id__"]: body for body in steps.values()}


def wait_until(what: str, probe, timeout: float, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


@pytest.fixture(scope="session")
def lab():
    driver = Lab()
    try:
        driver.run("up")
        yield driver
    finally:
        driver.run("down", check=False)


def lab_secrets() -> list[str]:
    """Every secret of the lab's generated pillar (passwords, cookie)."""
    ha = yaml.safe_load((config.PILLAR_DIR / "ha.sls").read_text())["ha"]
    found = []

    def walk(data, key=""):
        if isinstance(data, dict):
            for k, v in data.items():
                walk(v, k)
        elif isinstance(data, str) and ("password" in key or "cookie" in key):
            found.append(data)

    walk(ha)
    return found


class CmdlineSampler:
    """
    Samples every process command line in the given nodes, in a thread, while
    a deploy or a recovery runs, and records any that holds a secret.
    """

    SCRIPT = 'for f in /proc/[0-9]*/cmdline; do tr "\\0" " " < "$f" 2>/dev/null; echo; done'

    def __init__(self, lab: Lab, nodes: list[str]):
        self.lab, self.nodes, self.secrets = lab, nodes, lab_secrets()
        self.samples, self.leaks = 0, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            for node in self.nodes:
                result = self.lab.exec(node, "sh", "-c", self.SCRIPT, check=False)
                if result.returncode != 0:
                    continue  # the node is down at this moment
                self.samples += 1
                for line in result.stdout.splitlines():
                    if any(secret in line for secret in self.secrets):
                        self.leaks.append(f"{node}: {line[:80]}...")

    def __enter__(self):
        assert self.secrets, "the lab pillar has no secrets to look for"
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=60)


CONTROLLERS = ["openstack-controller01", "openstack-controller02", "openstack-controller03"]


@pytest.fixture(scope="session")
def deployed(lab):
    """The lab after a first `bin/lab deploy` (as make lab runs it), command lines sampled meanwhile."""
    started = time.monotonic()
    with CmdlineSampler(lab, CONTROLLERS) as sampler:
        result = lab.run("deploy", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    MEASUREMENTS.append(f"first bin/lab deploy (ha.deploy) on the lab: {time.monotonic() - started:.1f} s")
    lab.first_deploy_sampler = sampler
    return lab
