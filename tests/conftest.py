"""Suite-wide hooks: the lab tier and its teardown first; measured figures are reported at the end."""

from __future__ import annotations

import logging

import pytest

MEASUREMENTS: list[str] = []


def pytest_collection_modifyitems(items):
    # The lab tier first, then the test that removes the lab, so that the
    # fast tiers (render, unit) do not share the two cores with idle lab nodes.
    # A test that powers off every controller goes last among the lab tests:
    # the services a recovery does not restart are not in the way of others.
    # The audit of the whole lab tier's failovers comes after all of them;
    # the scale-out, which leaves more controllers than the others expect,
    # after the audit.
    def order(item) -> int:
        if item.get_closest_marker("lab_teardown") is not None:
            return 4
        if item.get_closest_marker("lab_scale") is not None:
            return 3
        if item.get_closest_marker("lab_audit") is not None:
            return 2
        if item.get_closest_marker("lab_last") is not None:
            return 1
        return 0 if item.get_closest_marker("lab") is not None else 5

    items.sort(key=order)


def pytest_terminal_summary(terminalreporter):
    if MEASUREMENTS:
        terminalreporter.section("lab measurements")
        for line in MEASUREMENTS:
            terminalreporter.write_line(line)


@pytest.fixture
def measure():
    """Record a figure measured in the lab, printed in the summary of the run."""
    return MEASUREMENTS.append


def pytest_unconfigure(config):
    # Salt's log handlers flush records of the salt-factories daemons at
    # interpreter exit, after pytest closed its streams; without this, Python
    # prints a "Logging error" trace for each of them below pytest's summary.
    logging.raiseExceptions = False
