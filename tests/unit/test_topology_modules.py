"""The components' modules of the topology (_utils/ha_topology_*.py): pure Python, and the core composed of them."""

from __future__ import annotations

import re

import pytest

from tests.helpers import REPO, load_module

ha_topology = load_module("_modules/ha_topology.py", "ha_topology_for_modules")
SECTIONS = ("base", "chrony", "galera", "rabbitmq", "memcached", "etcd", "pacemaker", "haproxy", "openstack")


@pytest.mark.parametrize("path", sorted((REPO / "_utils").glob("ha_topology_*.py")), ids=lambda p: p.name)
def test_a_component_module_uses_no_salt_dunder(path):
    assert not re.search(r"__(salt|pillar|grains|context|opts|utils)__", path.read_text())


@pytest.mark.parametrize("name", SECTIONS)
def test_each_section_of_the_schema_is_its_module_s(name):
    assert ha_topology.SCHEMA[name] == getattr(ha_topology, f"ha_topology_{name}").schema()


def test_the_secrets_are_the_components_in_order():
    owners = ("pacemaker", "galera", "rabbitmq", "haproxy", "openstack")
    assert ha_topology.SECRETS == tuple(
        path for owner in owners for path in getattr(ha_topology, f"ha_topology_{owner}").secret_paths())
    assert {path[0] for path in ha_topology.SECRETS} == set(owners)
