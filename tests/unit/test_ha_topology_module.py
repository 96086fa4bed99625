"""Unit tests of _modules/ha_topology.py: validation and derived topology."""

from __future__ import annotations

import pytest
from salt.exceptions import CommandExecutionError

from tests.helpers import example_pillar, load_module, valid_pillar

ha_topology = load_module("_modules/ha_topology.py", "ha_topology_module")


@pytest.fixture
def ha():
    return valid_pillar()


@pytest.fixture
def configure_loader_modules(ha):
    return {ha_topology: {"__pillar__": {"ha": ha}, "__grains__": {"id": "openstack-controller02"}}}


def errors_for(ha, mutate):
    mutate(ha)
    return ha_topology.validate(ha)


def test_filled_example_is_valid(ha):
    assert ha_topology.validate() == []
    assert ha_topology.check() is True


def test_example_placeholders_are_rejected_each_by_key():
    example = example_pillar()
    errors = ha_topology.validate(example)
    paths = [("ha",) + path for path in ha_topology.SECRETS]
    paths += [("ha", "galera", "databases", user, "password") for user in example["galera"]["databases"]]
    assert sorted(errors) == sorted(
        ":".join(path) + ": is a reference or placeholder value; set a random secret" for path in paths
    )


@pytest.mark.parametrize("value", ["admin", "123456", "Password", "short-but-ok"])
def test_weak_secrets_are_rejected(ha, value):
    errors = errors_for(ha, lambda h: h["galera"].__setitem__("root_password", value))
    assert len(errors) == 1 and errors[0].startswith("ha:galera:root_password:")


def test_missing_secret_is_named(ha):
    errors = errors_for(ha, lambda h: h["pacemaker"].pop("hacluster_password"))
    assert errors == ["ha:pacemaker:hacluster_password: is required"]


def test_erlang_cookie_must_be_alphanumeric(ha):
    errors = errors_for(ha, lambda h: h["rabbitmq"].__setitem__("erlang_cookie", "a-b" * 10))
    assert errors == ["ha:rabbitmq:erlang_cookie: must be 20 to 255 letters and digits"]


def test_no_ha_pillar():
    assert ha_topology.validate({}) != []
    assert "no 'ha' mapping" in ha_topology.validate("nope")[0]


def test_bad_node_address_and_outside_network(ha):
    def mutate(h):
        h["nodes"]["openstack-controller01"]["address"] = "10.10.10.300"
        h["nodes"]["openstack-compute01"]["address"] = "192.168.1.4"

    errors = errors_for(ha, mutate)
    assert "ha:nodes:openstack-controller01:address: '10.10.10.300' is not an IPv4 address" in errors
    assert any(e.startswith("ha:nodes:openstack-compute01:address: 192.168.1.4 is not a host address") for e in errors)


def test_duplicate_node_address(ha):
    errors = errors_for(ha, lambda h: h["nodes"]["openstack-compute01"].__setitem__("address", "10.10.10.51"))
    assert errors == ["ha:nodes:openstack-compute01:address: 10.10.10.51 is also the address of openstack-controller01"]


def test_needs_three_controllers(ha):
    def mutate(h):
        h["nodes"].pop("openstack-controller03")
        h["rabbitmq"]["ram_nodes"] = []

    errors = errors_for(ha, mutate)
    assert errors == ["ha:nodes: an HA control plane needs at least 3 controllers, found 2"]


def test_unknown_role_and_bad_name(ha):
    def mutate(h):
        h["nodes"]["openstack-compute01"]["roles"] = ["network"]
        h["nodes"]["Bad_Name"] = {"address": "10.10.10.60", "roles": ["compute"]}

    errors = errors_for(ha, mutate)
    assert "ha:nodes:openstack-compute01:roles: unknown role(s) network" in errors
    assert "ha:nodes:Bad_Name: the node name must be a lower-case host name" in errors


def test_vip_checks(ha):
    def mutate(h):
        h["vip"]["address"] = "10.10.10.52"
        h["vip"]["cidr_netmask"] = 16

    errors = errors_for(ha, mutate)
    assert "ha:vip:address: 10.10.10.52 is also the address of node openstack-controller02" in errors
    assert any(e.startswith("ha:vip:cidr_netmask: 16 differs") for e in errors)


def test_duplicate_listener_bind_names_both(ha):
    # The reference bound cinder to glance's port 9292.
    errors = errors_for(ha, lambda h: h["haproxy"]["listeners"]["cinder_api"].__setitem__("port", 9292))
    # Bound twice on the VIP, and two backends of one port on every controller.
    assert errors == [
        "ha:haproxy:listeners:cinder_api:port: 10.10.10.69:9292 is already bound by ha:haproxy:listeners:glance_api",
        "ha:haproxy:listeners:glance_api:port: 9292 is also used on every controller by "
        "ha:haproxy:listeners:cinder_api:port",
    ]


@pytest.mark.parametrize("where, bind, error", [
    (("listeners", "keystone_public"), "10.10.10.300", "'10.10.10.300' is not an IPv4 address"),
    (("listeners", "horizon"), "vip.example.com", "'vip.example.com' is not an IPv4 address"),
    (("stats",), "fe80::1", "'fe80::1' is not an IPv4 address"),
    (("listeners", "galera"), None, "is empty; give a string"),
    (("stats",), {"address": "10.10.10.69"}, "must be a string, not a mapping"),
])
def test_listener_bind_must_be_an_ipv4_address(ha, where, bind, error):
    # It lands as written in haproxy.cfg and the firewall's rules.
    def mutate(h):
        spec = h["haproxy"]
        for key in where:
            spec = spec[key]
        spec["bind"] = bind

    assert errors_for(ha, mutate) == [f"ha:haproxy:{':'.join(where)}:bind: {error}"]


def test_listener_bind_outside_the_network_and_its_clash(ha):
    def mutate(h):
        h["haproxy"]["listeners"]["horizon"]["bind"] = "192.0.2.10"
        h["haproxy"]["listeners"]["keystone_public"].update(bind="192.0.2.10", port=80)

    assert errors_for(ha, mutate) == [
        "ha:haproxy:listeners:keystone_public:port: 192.0.2.10:80 is already bound by ha:haproxy:listeners:horizon",
        "ha:haproxy:listeners:keystone_public:port: 80 is also used on every controller by "
        "ha:haproxy:listeners:horizon:port"]


def test_stats_user_admin_rejected(ha):
    errors = errors_for(ha, lambda h: h["haproxy"]["stats"].__setitem__("user", "admin"))
    assert errors == ["ha:haproxy:stats:user: 'admin' is a reference value; pick a site-specific user"]


def test_bad_listener_port_and_mode(ha):
    def mutate(h):
        h["haproxy"]["listeners"]["horizon"]["port"] = 70000
        h["haproxy"]["listeners"]["galera"]["mode"] = "udp"
        h["haproxy"]["listeners"]["rabbitmq"]["backend_port"] = "x"

    errors = errors_for(ha, mutate)
    assert "ha:haproxy:listeners:horizon:port: 70000 must be a TCP port from 1 to 65535" in errors
    assert "ha:haproxy:listeners:galera:mode: 'udp' must be one of http, tcp" in errors
    assert "ha:haproxy:listeners:rabbitmq:backend_port: 'x' must be an integer, not a string" in errors


def test_cluster_name_checked(ha):
    errors = errors_for(ha, lambda h: h["galera"].__setitem__("cluster_name", "has space"))
    assert errors == ["ha:galera:cluster_name: 'has space' must be 1 to 63 letters, digits, '.', '_' or '-'"]


def test_check_raises_with_every_error(ha):
    ha["timezone"] = ""
    ha["management_network"] = "10.10.10.1/24"
    with pytest.raises(CommandExecutionError) as err:
        ha_topology.check(ha)
    assert "ha:timezone: is required" in str(err.value)
    assert "ha:management_network: '10.10.10.1/24' is not an IPv4 network" in str(err.value)


def test_nodes_controllers_first_in_natural_order(ha):
    ha["nodes"]["openstack-controller10"] = {"address": "10.10.10.60", "roles": ["controller"]}
    ha["nodes"]["openstack-compute00"] = {"address": "10.10.10.61", "roles": ["compute", "controller"]}
    assert [n["id"] for n in ha_topology.nodes()] == [
        "openstack-compute00",
        "openstack-controller01",
        "openstack-controller02",
        "openstack-controller03",
        "openstack-controller10",
        "openstack-compute01",
    ]
    assert ha_topology.nodes()[0]["roles"] == ["controller", "compute"]


def test_ids_by_role():
    assert ha_topology.ids("controller") == [f"openstack-controller0{i}" for i in (1, 2, 3)]
    assert ha_topology.ids("compute") == ["openstack-compute01"]
    with pytest.raises(CommandExecutionError):
        ha_topology.ids("network")


def test_roles_of_this_and_other_minions():
    assert ha_topology.roles() == ["controller"]
    assert ha_topology.roles("openstack-compute01") == ["compute"]
    assert ha_topology.roles("salt-master") == []


def test_hosts_entries(ha):
    assert ha_topology.hosts()[0] == {"ip": "10.10.10.51", "names": ["openstack-controller01"]}
    assert ha_topology.hosts()[-1] == {"ip": "10.10.10.69", "names": ["openstack-vip"]}
    ha["domain"] = "example.org"
    assert ha_topology.hosts(ha)[3] == {
        "ip": "10.10.10.54",
        "names": ["openstack-compute01.example.org", "openstack-compute01"],
    }
    ha["vip"].pop("hostname")
    assert len(ha_topology.hosts(ha)) == 4


def test_plan_never_raises(ha):
    assert ha_topology.plan()["all"] == ha_topology.ids()
    ha["nodes"] = "broken"
    plan = ha_topology.plan(ha)
    assert plan["all"] == [] and plan["first"] is None and plan["errors"]


def test_the_first_controller_is_decided_once_in_natural_order(ha):
    """One rule for every component: the first controller of nodes(), in natural name order."""
    address = {name: spec["address"] for name, spec in ha["nodes"].items()}
    ha["nodes"] = {"ctl10": {"address": address["openstack-controller01"], "roles": ["controller"]},
                   "ctl9": {"address": address["openstack-controller02"], "roles": ["controller"]},
                   "ctl11": {"address": address["openstack-controller03"], "roles": ["controller"]},
                   "cmp1": {"address": address["openstack-compute01"], "roles": ["compute"]}}
    ha["rabbitmq"]["ram_nodes"] = []
    assert ha_topology.first_controller(ha) == "ctl9"
    assert ha_topology.plan(ha)["first"] == "ctl9"
    galera = {name: ha_topology.galera_node({}, "/lib/galera.so", minion_id=name, ha=ha)["bootstrap"]
              for name in ("ctl9", "ctl10", "ctl11")}
    assert galera == {"ctl9": True, "ctl10": False, "ctl11": False}
    assert ha_topology.rabbitmq_node("ctl11", ha=ha)["first"] == "rabbit@ctl9"
    ha["rabbitmq"]["ram_nodes"] = ["ctl9"]
    assert "ha:rabbitmq:ram_nodes: ctl9 is the first controller, which the others join; it must stay a disc " \
           "node" in ha_topology.validate(ha)


SERVED = ["galera", "glance_api", "keystone_public", "nova_api", "nova_metadata", "nova_vncproxy", "placement_api",
          "rabbitmq"]


def test_served_listeners_of_the_example(ha):
    # horizon, neutron_api and cinder_api wait for services the formula does not deploy.
    assert sorted(ha["haproxy"]["listeners"]) == sorted([*SERVED, "horizon", "neutron_api", "cinder_api"])
    assert ha_topology.served_listeners(ha) == SERVED
    # The pillar by default.
    assert ha_topology.served_listeners() == SERVED


def test_served_listeners_are_those_of_the_pillar(ha):
    for name in ("nova_vncproxy", "horizon", "galera"):
        del ha["haproxy"]["listeners"][name]
    assert ha_topology.served_listeners(ha) == [name for name in SERVED if name not in ("nova_vncproxy", "galera")]


@pytest.mark.parametrize("listeners", [None, [], "galera", {}])
def test_served_listeners_without_a_mapping_of_listeners(ha, listeners):
    ha["haproxy"]["listeners"] = listeners
    assert ha_topology.served_listeners(ha) == []
    del ha["haproxy"]
    assert ha_topology.served_listeners(ha) == []
