"""Unit tests of the pillar's schema and of the value checks it came with (issue 14): unknown keys
with a hint, a key's kind before its value, time zones, Pacemaker property values, RabbitMQ policy
definitions, ports of the listeners' backends, one node under two names."""

from __future__ import annotations

import pytest

from tests.helpers import load_module, valid_pillar

ha_topology = load_module("_modules/ha_topology.py", "ha_topology_schema")


@pytest.fixture
def ha():
    return valid_pillar()


def set_at(ha: dict, path: str, value) -> dict:
    """ha with the value at the colon-separated path below ha (made where missing)."""
    *parents, last = path.split(":")
    data = ha
    for key in parents:
        data = data.setdefault(key, {})
    data[last] = value
    return ha


# Unknown keys, at every level, with the closest known name as a hint.
@pytest.mark.parametrize("path, error", [
    ("memcache", "ha:memcache: unknown key; did you mean memcached?"),
    ("rabbitmq:ram_node", "ha:rabbitmq:ram_node: unknown key; did you mean ram_nodes?"),
    ("galera:clustercheck:prot", "ha:galera:clustercheck:prot: unknown key; did you mean port?"),
    ("haproxy:listeners:keystone_public:chek_path", "ha:haproxy:listeners:keystone_public:chek_path: unknown key; "
     "did you mean check_path?"),
    ("nodes:openstack-compute01:role", "ha:nodes:openstack-compute01:role: unknown key; did you mean roles?"),
    ("openstack:service_passwords:glanse", "ha:openstack:service_passwords:glanse: unknown key; did you mean glance?"),
    ("vip:zzz", "ha:vip:zzz: unknown key; known keys here: address, cidr_netmask, hostname"),
])
def test_unknown_keys_are_named_with_a_hint(ha, path, error):
    assert ha_topology.validate(set_at(ha, path, 1)) == [error]


def test_a_misspelt_section_no_longer_gives_defaults_silently(ha):
    ha["memcache"] = ha.pop("memcached")
    assert ha_topology.validate(ha) == ["ha:memcache: unknown key; did you mean memcached?"]


def test_names_chosen_by_the_operator_are_not_unknown_keys(ha):
    set_at(ha, "galera:settings:innodb_log_file_size", "512M")
    set_at(ha, "rabbitmq:settings:collect_statistics_interval", 10000)
    set_at(ha, "base:sysctl:vm.swappiness", 10)
    set_at(ha, "lookup:galera:service", "mariadb")
    assert ha_topology.validate(ha) == []


# A key's kind is checked before its value, and only the kind is reported.
@pytest.mark.parametrize("path, value, error", [
    ("memcached:port", "11211", "ha:memcached:port: '11211' must be an integer, not a string"),
    ("vip:cidr_netmask", None, "ha:vip:cidr_netmask: is empty; give an integer"),
    ("nodes:openstack-controller01:address", ["10.10.10.51"],
     "ha:nodes:openstack-controller01:address: must be a string, not a list"),
    ("galera:clustercheck:available_when_donor", "no",
     "ha:galera:clustercheck:available_when_donor: 'no' must be true or false, not a string"),
    ("haproxy:listeners:galera:timeout", ["90m"],
     "ha:haproxy:listeners:galera:timeout: must be a string or an integer, not a list"),
    ("openstack:workers", 2.5, "ha:openstack:workers: 2.5 must be an integer, not a number"),
])
def test_a_key_of_the_wrong_kind_gets_one_message(ha, path, value, error):
    assert ha_topology.validate(set_at(ha, path, value)) == [error]


@pytest.mark.parametrize("path", ["domain", "vip:hostname", "openstack:endpoint_host",
                                  "haproxy:listeners:galera:timeout"])
def test_optional_keys_may_be_left_empty(ha, path):
    assert ha_topology.validate(set_at(ha, path, None)) == []


# Time zones.
@pytest.mark.parametrize("zone, error", [
    ("Europe/Berln", "ha:timezone: 'Europe/Berln' is not a zone of the tz database; did you mean Europe/Berlin?"),
    ("Mars/Olympus", "ha:timezone: 'Mars/Olympus' is not a zone of the tz database"),
    ("Asia/Shanghai; reboot", "ha:timezone: 'Asia/Shanghai; reboot' is not a time zone name such as Europe/Berlin"),
    ("", "ha:timezone: is required, e.g. Etc/UTC"),
])
def test_bad_time_zones_are_named(ha, zone, error):
    assert ha_topology.validate(set_at(ha, "timezone", zone)) == [error]


@pytest.mark.parametrize("zone", ["UTC", "Etc/UTC", "America/Argentina/Buenos_Aires", "Etc/GMT+5"])
def test_time_zones_of_the_tz_database_pass(ha, zone):
    assert ha_topology.validate(set_at(ha, "timezone", zone)) == []


def test_without_a_tz_database_only_the_form_is_checked(ha, monkeypatch):
    monkeypatch.setattr(ha_topology.ha_topology_base, "_time_zones", frozenset)
    assert ha_topology.validate(set_at(ha, "timezone", "Mars/Olympus")) == []
    assert ha_topology.validate(set_at(ha, "timezone", "a b")) == [
        "ha:timezone: 'a b' is not a time zone name such as Europe/Berlin"]


# Pacemaker property values, by the kind Pacemaker takes.
@pytest.mark.parametrize("name, value, error", [
    ("stonith-enabled", "maybe", "'maybe' must be true or false"),
    ("cluster-recheck-interval", "often", "'often' must be a time such as 30s or 5min"),
    ("batch-limit", "many", "'many' must be an integer"),
    ("load-threshold", "80", "'80' must be a percentage such as 80%"),
    ("placement-strategy", "random", "'random' must be one of default, utilization, minimal, balanced"),
    ("stonith-enable", True, "not a cluster property of Pacemaker; did you mean stonith-enabled?"),
    ("dc-version", "2.1.5", "is kept by Pacemaker and pcs themselves; remove it"),
])
def test_bad_pacemaker_properties_are_named(ha, name, value, error):
    assert ha_topology.validate(set_at(ha, f"pacemaker:properties:{name}", value)) == [
        f"ha:pacemaker:properties:{name}: {error}"]


@pytest.mark.parametrize("name, value", [
    ("stonith-enabled", True), ("maintenance-mode", "false"), ("cluster-recheck-interval", "2min"),
    ("transition-delay", "0"), ("migration-limit", -1), ("node-health-red", "-INFINITY"),
    ("load-threshold", "60%"), ("no-quorum-policy", "freeze"),
])
def test_good_pacemaker_properties_pass(ha, name, value):
    assert ha_topology.validate(set_at(ha, f"pacemaker:properties:{name}", value)) == []


# RabbitMQ policy definitions.
DEFINITION = "ha:rabbitmq:ha_policy:definition"


@pytest.mark.parametrize("definition, errors", [
    ({"ha-mode": "everywhere"}, [f"{DEFINITION}:ha-mode: 'everywhere' must be one of all, exactly, nodes"]),
    ({"ha-mode": "exactly"}, [f"{DEFINITION}:ha-params: None: ha-mode exactly takes the number of replicas, "
                              "an integer of at least 1"]),
    ({"ha-mode": "nodes", "ha-params": "rabbit@a"},
     [f"{DEFINITION}:ha-params: 'rabbit@a': ha-mode nodes takes a list of node names such as "
      "rabbit@openstack-controller01"]),
    ({"ha-mode": "all", "ha-params": 2}, [f"{DEFINITION}:ha-params: only ha-mode exactly or nodes takes ha-params"]),
    ({"ha-mode": "all", "ha-sync-mode": "sometimes"},
     [f"{DEFINITION}:ha-sync-mode: 'sometimes' must be one of manual, automatic"]),
    ({"ha-mode": "all", "message-ttl": -5}, [f"{DEFINITION}:message-ttl: -5 must be an integer of at least 0"]),
    ({"ha-mode": "all", "ha-sync": "automatic"},
     [f"{DEFINITION}:ha-sync: not a key of a RabbitMQ policy; did you mean ha-sync-mode?"]),
    ({"ha-sync-mode": "automatic"}, [f"{DEFINITION}:ha-sync-mode: needs ha-mode in the same definition",
                                     f"{DEFINITION}: mirrored queues (queue_type mirrored) need ha-mode here, such "
                                     "as ha-mode: all"]),
])
def test_bad_policy_definitions_are_named(ha, definition, errors):
    assert ha_topology.validate(set_at(ha, "rabbitmq:ha_policy:definition", definition)) == errors


@pytest.mark.parametrize("definition", [
    {"ha-mode": "all", "ha-sync-mode": "automatic"},
    {"ha-mode": "exactly", "ha-params": 2, "ha-promote-on-shutdown": "always"},
    {"ha-mode": "nodes", "ha-params": ["rabbit@openstack-controller01", "rabbit@openstack-controller02"]},
    {"ha-mode": "all", "queue-mode": "lazy", "max-length": 10000, "overflow": "reject-publish"},
])
def test_good_policy_definitions_pass(ha, definition):
    assert ha_topology.validate(set_at(ha, "rabbitmq:ha_policy:definition", definition)) == []


def test_quorum_queues_need_no_mirroring_in_the_policy(ha):
    set_at(ha, "rabbitmq:queue_type", "quorum")
    assert ha_topology.validate(set_at(ha, "rabbitmq:ha_policy:definition", {"max-length": 1000})) == []


# Ports of the listeners' backends on every controller.
@pytest.mark.parametrize("path, port, error", [
    ("haproxy:listeners:glance_api:backend_port", 11211,
     "ha:haproxy:listeners:glance_api:backend_port: 11211 is also used on every controller by ha:memcached:port"),
    ("haproxy:listeners:nova_api:backend_port", 9292,
     "ha:haproxy:listeners:nova_api:backend_port: 9292 is also used on every controller by "
     "ha:haproxy:listeners:glance_api:port"),
    ("galera:clustercheck:port", 5000,
     "ha:haproxy:listeners:keystone_public:port: 5000 is also used on every controller by "
     "ha:galera:clustercheck:port"),
    ("haproxy:listeners:horizon:backend_port", 4567,
     "ha:haproxy:listeners:horizon:backend_port: 4567 is also used on every controller by Galera replication"),
    ("haproxy:listeners:galera:backend_port", 3307,
     "ha:haproxy:listeners:galera:backend_port: 3307 differs from the port of MariaDB, 3306"),
])
def test_backend_ports_must_not_clash(ha, path, port, error):
    assert ha_topology.validate(set_at(ha, path, port)) == [error]


def test_a_listener_on_another_port_than_its_backend_passes(ha):
    set_at(ha, "haproxy:listeners:horizon:backend_port", 8080)
    assert ha_topology.validate(ha) == []


# One node under its short and its full name.
@pytest.mark.parametrize("name", ["openstack-compute01.example.org", "openstack-controller01.lab"])
def test_one_node_under_two_names_is_named(ha, name):
    short = name.split(".")[0]
    ha["nodes"][name] = {"address": "10.10.10.60", "roles": ["compute"]}
    assert ha_topology.validate(ha) == [
        f"ha:nodes:{name}: has the short name {short} of node {short}; list each node once, under one name"]


def test_nodes_of_one_domain_with_other_short_names_pass(ha):
    ha["nodes"] = {f"{name}.example.org": spec for name, spec in ha["nodes"].items()}
    ha["chrony"]["servers"] = []
    ha["rabbitmq"]["ram_nodes"] = [f"{name}.example.org" for name in ha["rabbitmq"]["ram_nodes"]]
    assert ha_topology.validate(ha) == []


# Secrets free of control characters, each secret of the pillar.
CONTROL = "holds a control character (a newline, tab, ...); use printable characters only"


@pytest.mark.parametrize("path", [":".join(path) for path in ha_topology.SECRETS]
                         + ["galera:databases:nova:password"])
def test_a_newline_in_any_secret_is_refused(ha, path):
    errors = ha_topology.validate(set_at(ha, path, "s3cretValue0123456789\ndebug = true"))
    assert f"ha:{path}: {CONTROL}" in errors
    assert all(error.startswith(f"ha:{path}: ") for error in errors)
