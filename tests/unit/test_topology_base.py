"""Unit tests of the base and chrony parts of the topology (_utils/ha_topology_base.py, ha_topology_chrony.py),
through _modules/ha_topology.py."""

from __future__ import annotations

import pytest
from salt.exceptions import CommandExecutionError

from tests.helpers import load_module, valid_pillar

ha_topology = load_module("_modules/ha_topology.py", "ha_topology_for_base")


@pytest.fixture
def ha():
    return valid_pillar()


@pytest.fixture
def configure_loader_modules(ha):
    return {ha_topology: {"__pillar__": {"ha": ha}, "__grains__": {"id": "openstack-compute01"},
                          "__context__": {}}}


def test_base_settings_merge_the_formula_sysctl_with_the_pillar(ha):
    settings = ha_topology.base_settings(ha)
    assert settings["sysctl"] == {
        "net.bridge.bridge-nf-call-ip6tables": "1",
        "net.bridge.bridge-nf-call-iptables": "1",
        "net.ipv4.ip_forward": "1",
        "net.ipv4.ip_nonlocal_bind": "1",
        "net.ipv4.tcp_keepalive_time": "600",
    }
    assert settings["upgrade"] is False
    assert settings["selinux"] == "enforcing"
    assert settings["firewall"] == "managed"  # pillar.example
    assert settings["openstack_release"] == "caracal"


def test_base_section_is_optional(ha):
    del ha["base"]
    settings = ha_topology.base_settings(ha)
    assert list(settings["sysctl"]) == sorted(ha_topology.ha_topology_base.BASE_SYSCTL)
    assert settings["upgrade"] is False
    assert settings["firewall"] == "disabled"  # the reference's choice is the default


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sysctl": {"net.ipv4.ip_forward": 0}}, "ha:base:sysctl:net.ipv4.ip_forward: the formula needs 1"),
        ({"sysctl": {"not a name": 1}}, "ha:base:sysctl:not a name: is not a kernel parameter name"),
        ({"sysctl": {"vm.swappiness": "10; reboot"}}, "ha:base:sysctl:vm.swappiness: '10; reboot' is not a plain"),
        ({"sysctl": {"vm.swappiness": True}}, "ha:base:sysctl:vm.swappiness: True is not a plain"),
        ({"sysctl": ["vm.swappiness=10"]}, "ha:base:sysctl: must be a mapping, not a list"),
        ({"upgrade": "yes"}, "ha:base:upgrade: 'yes' must be true or false"),
        ({"selinux": "off"}, "ha:base:selinux: 'off' must be one of enforcing, permissive, disabled"),
        ({"firewall": "open"}, "ha:base:firewall: 'open' must be one of disabled"),
        ({"openstack_release": "Train 2"}, "ha:base:openstack_release: 'Train 2' must be a release name"),
    ],
)
def test_bad_base_settings_are_named(ha, change, message):
    ha["base"].update(change)
    errors = ha_topology.validate(ha)
    assert any(error.startswith(message) for error in errors), errors


def test_base_must_be_a_mapping(ha):
    ha["base"] = "minimal"
    assert ha_topology.validate(ha) == ["ha:base: 'minimal' must be a mapping, not a string"]


SITE = "iburst minpoll 4 maxpoll 6"


def test_the_first_controller_serves_time(ha):
    assert ha_topology.chrony_node("openstack-controller01", ha) == {
        "serve": True,
        "sources": [{"address": "0.debian.pool.ntp.org", "options": "iburst"},
                    {"address": "1.debian.pool.ntp.org", "options": "iburst"}],
        "allow": ["10.10.10.0/24"],
        "local_stratum": 10,
        "orphan": False,
    }


def test_every_other_node_follows_the_first_controller(ha):
    for node in ("openstack-controller02", "openstack-controller03"):
        assert ha_topology.chrony_node(node, ha) == {
            "serve": False, "sources": [{"address": "10.10.10.51", "options": SITE}], "allow": [],
            "local_stratum": None, "orphan": False,
        }
    # This minion (grains id): the compute node.
    assert ha_topology.chrony_node(ha=ha)["sources"] == [{"address": "10.10.10.51", "options": SITE}]


def test_several_time_servers_follow_each_other(ha):
    ha["chrony"]["servers"] = ["openstack-controller01", "openstack-controller02"]
    ha["chrony"]["upstream"] = []
    first = ha_topology.chrony_node("openstack-controller01", ha)
    assert first["serve"] and first["orphan"] and first["sources"] == [{"address": "10.10.10.52", "options": SITE}]
    assert ha_topology.chrony_node("openstack-controller02", ha)["sources"] == [
        {"address": "10.10.10.51", "options": SITE}]
    assert [s["address"] for s in ha_topology.chrony_node("openstack-compute01", ha)["sources"]] == [
        "10.10.10.51", "10.10.10.52"]


def test_chrony_node_of_an_unknown_minion(ha):
    with pytest.raises(CommandExecutionError, match="openstack-controller09 is not a node"):
        ha_topology.chrony_node("openstack-controller09", ha)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"servers": ["openstack-controller09"]}, "ha:chrony:servers: 'openstack-controller09' is not a node"),
        ({"servers": "openstack-controller01"},
         "ha:chrony:servers: 'openstack-controller01' must be a list, not a string"),
        ({"upstream": ["ntp.example.org iburst"]}, "ha:chrony:upstream: 'ntp.example.org iburst' is not a host"),
        ({"upstream": "ntp.example.org"}, "ha:chrony:upstream: 'ntp.example.org' must be a list, not a string"),
        ({"local_stratum": 16}, "ha:chrony:local_stratum: 16 must be from 1 to 15"),
    ],
)
def test_bad_chrony_settings_are_named(ha, change, message):
    ha["chrony"].update(change)
    errors = ha_topology.validate(ha)
    assert any(error.startswith(message) for error in errors), errors
