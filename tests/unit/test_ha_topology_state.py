"""Unit tests of _states/ha_topology.py with the real execution module behind it."""

from __future__ import annotations

import pytest

from tests.helpers import load_module, valid_pillar

module = load_module("_modules/ha_topology.py", "ha_topology_module_for_state")
state = load_module("_states/ha_topology.py", "ha_topology_state")


@pytest.fixture
def ha():
    return valid_pillar()


@pytest.fixture
def configure_loader_modules(ha):
    dunders = {"__pillar__": {"ha": ha}, "__grains__": {"id": "openstack-controller01"}}
    salt_funcs = {f"ha_topology.{name}": getattr(module, name) for name in ("validate", "plan")}
    return {module: dunders, state: {**dunders, "__salt__": salt_funcs, "__opts__": {"test": False}}}


def test_valid_pillar_changes_nothing():
    ret = state.valid("ha-pillar-valid")
    assert ret["result"] is True and ret["changes"] == {}
    assert ret["comment"] == "The ha pillar is valid: 3 controller(s), 1 compute node(s)."


def test_invalid_pillar_fails_naming_keys(ha):
    ha["vip"]["address"] = "10.10.10.999"
    ha["haproxy"]["stats"]["password"] = "admin"
    ret = state.valid("ha-pillar-valid")
    assert ret["result"] is False and ret["changes"] == {}
    assert "ha:vip:address: '10.10.10.999' is not an IPv4 address" in ret["comment"]
    assert "ha:haproxy:stats:password:" in ret["comment"]


def test_explicit_pillar_argument_wins():
    ret = state.valid("x", ha={"nodes": {}})
    assert ret["result"] is False


def test_virtual_says_why_it_cannot_load():
    saved = state.__salt__
    state.__salt__ = {}
    try:
        assert state.__virtual__() == (False, "the ha_topology execution module is not synced: run saltutil.sync_all")
    finally:
        state.__salt__ = saved
