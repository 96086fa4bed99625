"""
The lab tier: the real lab (bin/lab) with systemd containers, a salt-master
and salt-minions. The session boots the lab (or reuses one that is up) and
always removes it at the end, even when a test fails.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.helpers import REPO

LAB = REPO / "bin" / "lab"


class Lab:
    """Drives bin/lab the way an operator does."""

    def run(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
        result = subprocess.run([str(LAB), *args], capture_output=True, text=True, timeout=timeout)
        if check:
            assert result.returncode == 0, f"bin/lab {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return result

    def exec(self, node: str, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run("exec", node, "--", *cmd, check=check)

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

    def orchestrate(self, *args: str) -> tuple[int, dict]:
        """salt-run state.orchestrate ha.deploy; returns (exit code, {state id: result})."""
        result = self.run("salt-run", "--out=json", "state.orchestrate", "ha.deploy", *args, check=False)
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


@pytest.fixture(scope="session")
def deployed(lab):
    """The lab after a first `bin/lab deploy` (as make lab runs it)."""
    result = lab.run("deploy", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return lab
