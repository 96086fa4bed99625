"""Unit tests of the Galera part of the topology (_utils/ha_topology_galera.py), through _modules/ha_topology.py."""

from __future__ import annotations

import pytest
from salt.exceptions import CommandExecutionError

from tests.helpers import load_module, valid_pillar

ha_topology = load_module("_modules/ha_topology.py", "ha_topology_for_galera")
PROVIDER = "/usr/lib/galera/libgalera_smm.so"


@pytest.fixture
def ha():
    return valid_pillar()


@pytest.fixture
def configure_loader_modules(ha):
    return {ha_topology: {"__pillar__": {"ha": ha}, "__grains__": {"id": "openstack-controller01"}}}


def test_galera_node_of_the_first_controller():
    node = ha_topology.galera_node({"binlog_format": "ROW", "max_connections": 100}, PROVIDER)
    assert node["bootstrap"] is True and node["address"] == "10.10.10.51" and node["check_port"] == 9200
    assert node["peers"] == ["10.10.10.52", "10.10.10.53"]
    settings = node["settings"]
    assert settings["max_connections"] == 4096  # pillar ha:galera:settings over the map default
    assert settings["innodb_buffer_pool_size"] == "256M"
    assert settings["binlog_format"] == "ROW"
    assert settings["bind_address"] == settings["wsrep_node_address"] == "10.10.10.51"
    assert settings["wsrep_cluster_address"] == "gcomm://10.10.10.51,10.10.10.52,10.10.10.53"
    assert settings["wsrep_node_name"] == "openstack-controller01"
    assert settings["wsrep_provider"] == PROVIDER and settings["wsrep_sst_method"] == "rsync"
    assert settings["wsrep_cluster_name"] == "mariadb_galera_cluster"
    # No host cache: MariaDB never blocks HAProxy's address after aborted handshakes.
    assert (settings["host_cache_size"], settings["max_connect_errors"], settings["skip_name_resolve"]) == (
        0, 4294967295, "ON")


def test_galera_node_of_others():
    node = ha_topology.galera_node({}, PROVIDER, "openstack-controller02")
    assert node["bootstrap"] is False and node["peers"] == ["10.10.10.51", "10.10.10.53"]
    with pytest.raises(CommandExecutionError, match="not a controller"):
        ha_topology.galera_node({}, PROVIDER, "openstack-compute01")


def test_galera_accounts():
    accounts = {a["user"]: a for a in ha_topology.galera_accounts()}
    assert sorted(accounts) == ["glance", "keystone", "nova", "placement"]
    assert accounts["nova"]["grants"] == {"nova": ["ALL"], "nova_api": ["ALL"], "nova_cell0": ["ALL"]}
    assert accounts["keystone"] == {"user": "keystone", "databases": ["keystone"], "grants": {"keystone": ["ALL"]},
                                    "hosts": ["10.10.10.51", "10.10.10.52", "10.10.10.53"],
                                    "password_pillar": "ha:galera:databases:keystone:password"}


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda g: g.__setitem__("sst_method", "mariabackup"),
         "ha:galera:sst_method: 'mariabackup' is not supported; use rsync"),
        (lambda g: g["settings"].__setitem__("wsrep_cluster_address", "gcomm://"),
         "ha:galera:settings:wsrep_cluster_address: is derived from the topology; remove it"),
        (lambda g: g["settings"].__setitem__("max_connect_errors", 100),
         "ha:galera:settings:max_connect_errors: is fixed so that MariaDB never blocks HAProxy's address after "
         "aborted connections; remove it"),
        (lambda g: g["settings"].__setitem__("host_cache_size", 128),
         "ha:galera:settings:host_cache_size: is fixed so that MariaDB never blocks HAProxy's address after "
         "aborted connections; remove it"),
        (lambda g: g["settings"].__setitem__("x", [1]),
         "ha:galera:settings:x: must be a single value, not a list"),
        (lambda g: g["clustercheck"].__setitem__("port", 0),
         "ha:galera:clustercheck:port: 0 must be a TCP port from 1 to 65535"),
        (lambda g: g["databases"]["nova"].__setitem__("password", "123456"),
         "ha:galera:databases:nova:password: is a reference or placeholder value; set a random secret"),
        (lambda g: g["databases"]["nova"].__setitem__("databases", ["nova", "nova_api", "nova_cell0", "bad-name"]),
         "ha:galera:databases:nova:databases: must list database names (letters, digits and _)"),
        (lambda g: g["databases"].__setitem__("bad-user", {"password": "x" * 20}),
         "ha:galera:databases:bad-user: the user name must be letters, digits and _"),
        (lambda g: g["databases"]["nova"].__setitem__("databases", ["nova", "nova_api", "nova_cell0", "nova\n"]),
         "ha:galera:databases:nova:databases: must list database names (letters, digits and _)"),
        (lambda g: g.__setitem__("cluster_name", "galera\n"),
         "ha:galera:cluster_name: 'galera\\n' must be 1 to 63 letters, digits, '.', '_' or '-'"),
    ],
)
def test_galera_validation(ha, mutate, error):
    mutate(ha["galera"])
    assert ha_topology.validate(ha) == [error]
