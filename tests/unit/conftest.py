"""
Fixtures shared by the unit tests of the custom modules: the formula's
toolkit (_utils/ha_kit.py) as Salt's ``__utils__`` would hold it, a clock
that nothing really waits on, a recording ``cmd.run_all`` and a
``pillar.get`` that masks as Salt 3008 does.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import pytest
from salt.exceptions import CommandExecutionError

from tests.helpers import load_module

KIT = load_module("_utils/ha_kit.py", "ha_kit")
# What Salt's utils loader offers: each public function of the module as "ha_kit.NAME".
UTILS = {f"ha_kit.{name}": function for name, function in inspect.getmembers(KIT, inspect.isfunction)
         if not name.startswith("_") and function.__module__ == KIT.__name__}
MASKED = "**********"


@pytest.fixture
def kit():
    """The toolkit's module, the one whose clock :py:func:`clock` replaces."""
    return KIT


@pytest.fixture
def utils() -> dict:
    """The toolkit as ``__utils__``, for configure_loader_modules."""
    return dict(UTILS)


class Clock:
    """The toolkit's time: sleep() advances monotonic() and nothing really waits."""

    def __init__(self):
        self.now, self.sleeps = 1000.0, []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """A fake clock under ha_kit.wait."""
    fake = Clock()
    monkeypatch.setattr(KIT, "time", fake)
    return fake


class RunAll:
    """
    ``cmd.run_all`` as the toolkit calls it: records each call (``argv`` and
    the keyword arguments) and answers through ``handler(argv, **kwargs)``,
    which returns ``(retcode, stdout, stderr)`` or an exception to raise. The
    answers of a timeout and of a missing program are the real ones' (see
    tests/unit/test_ha_kit.py, which checks them against Salt's cmd.run_all).
    """

    def __init__(self):
        self.calls: list[dict] = []
        self.handler: Callable[..., tuple | Exception] = lambda argv, **kwargs: (0, "", "")

    def __call__(self, cmd: list[str], **kwargs) -> dict:
        self.calls.append({"argv": list(cmd), **kwargs})
        answer = self.handler(list(cmd), **kwargs)
        if isinstance(answer, Exception):
            raise answer
        retcode, stdout, stderr = answer
        return {"pid": 4242, "retcode": retcode, "stdout": stdout, "stderr": stderr}

    @staticmethod
    def timed_out(argv: list[str], timeout: float) -> tuple:
        """The answer of cmd.run_all for a command it killed at its timeout."""
        return 1, f"{argv} : Timed out after {timeout} seconds", ""

    @staticmethod
    def missing(argv: list[str]) -> CommandExecutionError:
        """What cmd.run_all raises for a program that does not exist (output_loglevel quiet)."""
        return CommandExecutionError(
            "Unable to run command 'REDACTED' with the context '{'cwd': '/', 'shell': False}', reason: "
            f"[Errno 2] No such file or directory: '{argv[0]}'")


@pytest.fixture
def run_all() -> RunAll:
    return RunAll()


class PillarGet:
    """
    ``pillar.get`` over ``data`` (nested; keys "a:b:c") and ``flat`` (whole
    keys, looked up first), masked as Salt 3008 answers unless asked with
    unmask=True. ``calls`` records each key and whether it was unmasked.
    """

    def __init__(self):
        self.data, self.flat, self.calls = {}, {}, []

    def __call__(self, key: str, default=None, unmask: bool = False):
        self.calls.append((key, unmask))
        if not unmask:
            return MASKED
        if key in self.flat:
            return self.flat[key]
        found = self.data
        for part in key.split(":"):
            if not isinstance(found, dict) or part not in found:
                return default
            found = found[part]
        return found


@pytest.fixture
def pillar_get() -> PillarGet:
    return PillarGet()
