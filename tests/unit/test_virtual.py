"""Each custom module that needs the toolkit loads with it, and with what else it needs, and says what is missing."""

from __future__ import annotations

import pytest

from tests.helpers import load_module

NOT_SYNCED = "the formula's ha_kit utils module is not synced: run saltutil.sync_all"
# Each state module and the execution function its __virtual__ looks for.
STATES = {"ha_etcd": "health", "ha_galera": "status", "ha_host": "kernel_module", "ha_openstack": "service_settings",
          "ha_pacemaker": "status", "ha_rabbitmq": "cluster_status"}


@pytest.fixture(params=sorted(STATES))
def name(request) -> str:
    return request.param


def virtual(module, salt: dict, utils: dict):
    """``module.__virtual__()`` with these dunders (a state's execution module, the toolkit)."""
    module.__salt__, module.__utils__ = salt, utils
    return module.__virtual__()


def test_execution_module_needs_the_toolkit(name, utils):
    # ha_host also needs Linux's /proc, which the test machine has.
    module = load_module(f"_modules/{name}.py", f"{name}_module_for_virtual")
    assert virtual(module, {}, utils) == name
    assert virtual(module, {}, {}) == (False, NOT_SYNCED)


def test_state_module_needs_its_execution_module_and_the_toolkit(name, utils):
    state = load_module(f"_states/{name}.py", f"{name}_state_for_virtual")
    salt = {f"{name}.{STATES[name]}": object()}
    assert virtual(state, salt, utils) == name
    assert virtual(state, {}, utils) == (False, f"the {name} execution module is not synced: run saltutil.sync_all")
    assert virtual(state, salt, {}) == (False, NOT_SYNCED)
