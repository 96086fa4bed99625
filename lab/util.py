"""Small helpers: logging steps, running commands, waiting with a deadline."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def run(cmd: Sequence[str], *, check: bool = True, capture: bool = False, **kwargs) -> subprocess.CompletedProcess:
    """Run a command; on failure raise SystemExit with what it printed."""
    result = subprocess.run(
        list(cmd),
        text=True,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.PIPE if capture else None,
        **kwargs,
    )
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout or "").strip() if capture else ""
        raise SystemExit(f"lab: command failed ({result.returncode}): {' '.join(cmd)}\n{detail}".rstrip())
    return result


def wait_for(what: str, probe: Callable[[], T], timeout: float, interval: float = 0.5) -> T:
    """Call ``probe`` until it returns a truthy value or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise SystemExit(f"lab: timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def warn(message: str) -> None:
    print(f"lab: {message}", file=sys.stderr, flush=True)
