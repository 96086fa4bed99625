"""Unit tests of the managed firewall (_utils/ha_topology_firewall.py, through _modules/ha_topology.py):
firewall_rules and its validation."""

from __future__ import annotations

import json
import subprocess

import pytest
from salt.exceptions import CommandExecutionError

from tests.helpers import load_module, valid_pillar
from tests.unit.test_topology_pacemaker import ADDRESSES, C01, C02, C03, add_controllers, listener

ha_topology = load_module("_modules/ha_topology.py", "ha_topology_for_firewall")
# The firewall's pure module (_utils/ha_topology_firewall.py), as the core imported it.
ha_topology_firewall = ha_topology.ha_topology_firewall
COMPUTE = "openstack-compute01"
VIP = "10.10.10.69"
# Every node of the example and the VIP, in address order.
SOURCES = [*ADDRESSES.values(), "10.10.10.54", VIP]
# The example's HAProxy stats page (1080) and listener ports, on the VIP.
LISTENER_PORTS = [80, 1080, 3306, 5000, 5673, 6080, 8774, 8775, 8776, 8778, 9292, 9696]
# The example's ports at each controller's own address: the listeners' backend
# ports (rabbitmq's is 5672, not its listener's 5673), pcsd, etcd, MariaDB,
# the port mapper, Galera SST/replication/IST, clustercheck, memcached,
# RabbitMQ management and inter-node, and the RabbitMQ CLI tools' range.
CLUSTER_TCP = [80, 2224, 2379, 2380, 3306, 4369, 4444, 4567, 4568, 5000, 5672, 6080, 8774, 8775, 8776, 8778, 9200,
               9292, 9696, 11211, 15672, 25672, "35672-35682"]
SSH = {"comment": "SSH", "proto": "tcp", "ports": [22], "sources": [], "destination": None}
NTP = {"comment": "NTP (chrony)", "proto": "udp", "ports": [123], "sources": ["10.10.10.0/24"], "destination": None}
HAPROXY = {"comment": "HAProxy listeners", "proto": "tcp", "ports": LISTENER_PORTS, "sources": [],
           "destination": VIP}
CLUSTER = {"comment": "cluster services", "proto": "tcp", "ports": CLUSTER_TCP, "sources": SOURCES,
           "destination": None}
CLUSTER_UDP = {"comment": "cluster services", "proto": "udp", "ports": [4567, 5405], "sources": SOURCES,
               "destination": None}


@pytest.fixture
def ha():
    """The example pillar with a managed firewall and no extra rule (each test adds its own)."""
    pillar = valid_pillar()
    pillar["base"].update(firewall="managed", ssh_port=22, firewall_allow=[])
    return pillar


@pytest.fixture
def configure_loader_modules(ha):
    return {ha_topology: {"__pillar__": {"ha": ha}, "__grains__": {"id": COMPUTE}}}


def errors_for(ha, mutate):
    mutate(ha)
    return ha_topology.validate(ha)


def base(**values):
    return lambda h: h["base"].update(values)


def allow(*entries):
    return base(firewall_allow=list(entries))


def rule_of(rules, comment, proto="tcp"):
    (found,) = [r for r in rules["rules"] if r["comment"] == comment and r["proto"] == proto]
    return found


# firewall_rules: which rules each node gets


def test_a_compute_node_gets_ssh_and_the_extra_rules_only(ha):
    allow({"port": 9100, "source": "10.10.10.0/24"}, {"port": "60000-60010", "proto": "udp"},
          {"port": 8443, "proto": "tcp", "source": "192.0.2.7"})(ha)
    rules = ha_topology.firewall_rules(COMPUTE, ha)
    extra = {"comment": "ha:base:firewall_allow", "destination": None}
    assert rules["rules"] == [
        SSH,
        {**extra, "proto": "tcp", "ports": [9100], "sources": ["10.10.10.0/24"]},
        {**extra, "proto": "udp", "ports": ["60000-60010"], "sources": []},
        {**extra, "proto": "tcp", "ports": [8443], "sources": ["192.0.2.7"]},
    ]


def test_ssh_port_defaults_to_22(ha):
    del ha["base"]["ssh_port"]
    assert ha_topology.firewall_rules(COMPUTE, ha)["rules"][0] == SSH
    del ha["base"]
    assert ha_topology.firewall_rules(COMPUTE, ha)["rules"] == [SSH]


def test_ssh_port_from_the_pillar(ha):
    ha["base"]["ssh_port"] = 2222
    rules = ha_topology.firewall_rules(C02, ha)
    assert rules["rules"][0] == {**SSH, "ports": [2222]}
    assert rules["nftables"][0] == 'tcp dport { 2222 } accept comment "SSH"'
    assert rules["rich_rules"][0] == 'rule family="ipv4" port port="2222" protocol="tcp" accept'
    assert not any(22 in r["ports"] for r in rules["rules"])


def test_the_first_controller_of_the_example(ha):
    ha["base"]["firewall_allow"] = [{"port": 9100, "proto": "tcp", "source": "10.10.10.0/24"}]
    assert ha_topology.firewall_rules(C01, ha)["rules"] == [
        SSH, NTP, HAPROXY, CLUSTER, CLUSTER_UDP,
        {"comment": "ha:base:firewall_allow", "proto": "tcp", "ports": [9100], "sources": ["10.10.10.0/24"],
         "destination": None},
    ]


@pytest.mark.parametrize("node", [C02, C03])
def test_the_other_controllers_do_not_serve_time(ha, node):
    assert ha_topology.firewall_rules(node, ha)["rules"] == [SSH, HAPROXY, CLUSTER, CLUSTER_UDP]


def test_the_rabbitmq_listener_port_stays_on_the_vip(ha):
    rules = ha_topology.firewall_rules(C01, ha)
    assert 5673 in rule_of(rules, "HAProxy listeners")["ports"]
    assert 5672 not in rule_of(rules, "HAProxy listeners")["ports"]
    assert 5672 in rule_of(rules, "cluster services")["ports"]
    assert 5673 not in rule_of(rules, "cluster services")["ports"]


def test_time_servers_from_the_pillar(ha):
    ha["chrony"]["servers"] = [C02, COMPUTE]
    for node in (C02, COMPUTE):
        assert NTP in ha_topology.firewall_rules(node, ha)["rules"]
    for node in (C01, C03):
        assert not any(r["comment"].startswith("NTP") for r in ha_topology.firewall_rules(node, ha)["rules"])
    assert ha_topology.firewall_rules(COMPUTE, ha)["rules"] == [SSH, NTP]


def test_ntp_comes_from_the_management_network(ha):
    ha["management_network"] = "10.10.0.0/16"
    ha["vip"]["cidr_netmask"] = 16
    assert rule_of(ha_topology.firewall_rules(C01, ha), "NTP (chrony)", "udp")["sources"] == ["10.10.0.0/16"]


def test_listener_binds_group_the_frontends_per_address(ha):
    listener("horizon", bind="10.10.10.70")(ha)
    listener("keystone_public", bind="10.10.10.70")(ha)
    ha["haproxy"]["stats"]["bind"] = "10.10.10.71"
    rules = [r for r in ha_topology.firewall_rules(C01, ha)["rules"] if r["comment"] == "HAProxy listeners"]
    assert rules == [
        {**HAPROXY, "ports": [3306, 5673, 6080, 8774, 8775, 8776, 8778, 9292, 9696]},
        {**HAPROXY, "ports": [80, 5000], "destination": "10.10.10.70"},
        {**HAPROXY, "ports": [1080], "destination": "10.10.10.71"},
    ]


def test_cluster_services_follow_the_pillar_ports(ha):
    ha["galera"]["clustercheck"]["port"] = 9201
    ha["rabbitmq"].update(port=5680, management_port=15680)
    listener("rabbitmq", backend_port=5680)(ha)
    listener("horizon", backend_port=8080)(ha)
    ha["memcached"]["port"] = 11311
    ha["etcd"].update(client_port=2479, peer_port=2480)
    rules = ha_topology.firewall_rules(C01, ha)
    assert rule_of(rules, "cluster services")["ports"] == [
        2224, 2479, 2480, 3306, 4369, 4444, 4567, 4568, 5000, 5680, 6080, 8080, 8774, 8775, 8776, 8778, 9201,
        9292, 9696, 11311, 15680, 25672, "35672-35682"]
    # The listener on the VIP keeps its port; its servers moved.
    assert 80 in rule_of(rules, "HAProxy listeners")["ports"]


def test_clustercheck_port_default(ha):
    del ha["galera"]["clustercheck"]
    assert 9200 in rule_of(ha_topology.firewall_rules(C01, ha), "cluster services")["ports"]


def test_ports_sort_numerically_with_the_range_by_its_low_end(ha):
    listener("horizon", backend_port=40000)(ha)
    listener("nova_api", backend_port=35000)(ha)
    ports = rule_of(ha_topology.firewall_rules(C01, ha), "cluster services")["ports"]
    assert ports[-4:] == [25672, 35000, "35672-35682", 40000]
    assert ports.index(9200) < ports.index(11211)


def test_cluster_sources_are_every_node_and_the_vip_in_address_order(ha):
    add_controllers(ha)
    ha["nodes"]["openstack-compute02"] = {"address": "10.10.10.9", "roles": ["compute"]}
    rules = ha_topology.firewall_rules(C02, ha)
    sources = ["10.10.10.9", *ADDRESSES.values(), "10.10.10.54", "10.10.10.59", "10.10.10.60", VIP]
    assert rule_of(rules, "cluster services")["sources"] == sources
    assert rule_of(rules, "cluster services", "udp") == {**CLUSTER_UDP, "sources": sources}
    # The new compute node itself gets no cluster rule.
    assert ha_topology.firewall_rules("openstack-compute02", ha)["rules"] == [SSH]


def test_firewall_rules_of_this_minion_from_the_pillar(ha):
    ha["base"]["firewall_allow"] = [{"port": 9100}]
    assert ha_topology.firewall_rules()["rules"] == [
        SSH, {"comment": "ha:base:firewall_allow", "proto": "tcp", "ports": [9100], "sources": [],
              "destination": None}]


def test_firewall_rules_of_an_unknown_minion(ha):
    with pytest.raises(CommandExecutionError, match="openstack-controller09 is not a node in ha:nodes"):
        ha_topology.firewall_rules("openstack-controller09", ha)


def test_firewall_rules_checks_the_pillar(ha):
    ha["base"]["firewall_allow"] = [{"port": 9100, "proto": "icmp"}]
    with pytest.raises(CommandExecutionError, match="ha:base:firewall_allow:0:proto: 'icmp' must be tcp or udp"):
        ha_topology.firewall_rules(COMPUTE, ha)


# The nftables and firewalld forms


def test_nftables_lines_of_a_controller(ha):
    ha["base"]["firewall_allow"] = [{"port": "9000-9010", "proto": "udp", "source": "192.0.2.0/28"}, {"port": 9100}]
    lines = ha_topology.firewall_rules(C01, ha)["nftables"]
    addresses = "10.10.10.51, 10.10.10.52, 10.10.10.53, 10.10.10.54, 10.10.10.69"
    assert lines == [
        'tcp dport { 22 } accept comment "SSH"',
        'ip saddr { 10.10.10.0/24 } udp dport { 123 } accept comment "NTP (chrony)"',
        "ip daddr 10.10.10.69 tcp dport { 80, 1080, 3306, 5000, 5673, 6080, 8774, 8775, 8776, 8778, 9292, 9696 } "
        'accept comment "HAProxy listeners"',
        f"ip saddr {{ {addresses} }} tcp dport {{ 80, 2224, 2379, 2380, 3306, 4369, 4444, 4567, 4568, 5000, 5672, "
        "6080, 8774, 8775, 8776, 8778, 9200, 9292, 9696, 11211, 15672, 25672, 35672-35682 } "
        'accept comment "cluster services"',
        f'ip saddr {{ {addresses} }} udp dport {{ 4567, 5405 }} accept comment "cluster services"',
        'ip saddr { 192.0.2.0/28 } udp dport { 9000-9010 } accept comment "ha:base:firewall_allow"',
        'tcp dport { 9100 } accept comment "ha:base:firewall_allow"',
    ]


def test_nft_rule_with_sources_and_a_destination():
    rule = {"comment": "web", "proto": "tcp", "ports": [80, "8000-8010"], "sources": ["192.0.2.1", "192.0.2.0/28"],
            "destination": "10.10.10.70"}
    assert ha_topology_firewall.nft_rule(rule) == (
        'ip saddr { 192.0.2.1, 192.0.2.0/28 } ip daddr 10.10.10.70 tcp dport { 80, 8000-8010 } accept comment "web"')


def test_rich_rules_of_a_compute_node(ha):
    ha["base"]["firewall_allow"] = [{"port": "9000-9010", "proto": "udp", "source": "192.0.2.0/28"}, {"port": 9100}]
    assert ha_topology.firewall_rules(COMPUTE, ha)["rich_rules"] == [
        'rule family="ipv4" port port="22" protocol="tcp" accept',
        'rule family="ipv4" source address="192.0.2.0/28" port port="9000-9010" protocol="udp" accept',
        'rule family="ipv4" port port="9100" protocol="tcp" accept',
    ]


def test_rich_rules_of_a_controller_one_per_source_and_port(ha):
    rules = ha_topology.firewall_rules(C01, ha)
    rich = rules["rich_rules"]
    # SSH, NTP, one per listener port, then one per source and port of the cluster services.
    assert len(rich) == 1 + 1 + len(LISTENER_PORTS) + len(SOURCES) * (len(CLUSTER_TCP) + 2)
    assert rich[:3] == [
        'rule family="ipv4" port port="22" protocol="tcp" accept',
        'rule family="ipv4" source address="10.10.10.0/24" port port="123" protocol="udp" accept',
        'rule family="ipv4" destination address="10.10.10.69" port port="80" protocol="tcp" accept',
    ]
    assert 'rule family="ipv4" destination address="10.10.10.69" port port="5000" protocol="tcp" accept' in rich
    for source in SOURCES:
        assert f'rule family="ipv4" source address="{source}" port port="3306" protocol="tcp" accept' in rich
        assert f'rule family="ipv4" source address="{source}" port port="35672-35682" protocol="tcp" accept' in rich
        assert f'rule family="ipv4" source address="{source}" port port="5405" protocol="udp" accept' in rich
    assert rich[-1] == 'rule family="ipv4" source address="10.10.10.69" port port="5405" protocol="udp" accept'
    assert len(set(rich)) == len(rich)


def test_rich_rules_with_sources_and_a_destination_source_first():
    rule = {"comment": "web", "proto": "udp", "ports": [80, "8000-8010"], "sources": ["192.0.2.1", "192.0.2.2"],
            "destination": "10.10.10.70"}
    prefix = 'rule family="ipv4" source address='
    destination = 'destination address="10.10.10.70"'
    assert ha_topology_firewall.rich_rules(rule) == [
        f'{prefix}"192.0.2.1" {destination} port port="80" protocol="udp" accept',
        f'{prefix}"192.0.2.1" {destination} port port="8000-8010" protocol="udp" accept',
        f'{prefix}"192.0.2.2" {destination} port port="80" protocol="udp" accept',
        f'{prefix}"192.0.2.2" {destination} port port="8000-8010" protocol="udp" accept',
    ]


# Validation of ha:base:firewall, ssh_port and firewall_allow


@pytest.mark.parametrize("value", [1, 22, 65535, "1-65535", "8000-8010", "1-2"])
def test_port_spec_accepts(value):
    assert ha_topology_firewall.port_spec(value) is True


@pytest.mark.parametrize(
    "value",
    [0, 65536, -1, True, 22.0, None, [22], "22", "9000-8000", "8000-8000", "0-10", "8000-65536", "8000-", "-8000",
     "8000 - 8010", "8000-8010\n", "a-b", "100000-100001"],
)
def test_port_spec_rejects(value):
    assert ha_topology_firewall.port_spec(value) is False


ENTRY = "ha:base:firewall_allow:0"


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (base(firewall="open"), "ha:base:firewall: 'open' must be one of disabled, managed"),
        (base(firewall="Managed"), "ha:base:firewall: 'Managed' must be one of disabled, managed"),
        (base(ssh_port=0), "ha:base:ssh_port: 0 must be a TCP port from 1 to 65535"),
        (base(ssh_port=70000), "ha:base:ssh_port: 70000 must be a TCP port from 1 to 65535"),
        (base(ssh_port="22"), "ha:base:ssh_port: '22' must be an integer, not a string"),
        (base(ssh_port=True), "ha:base:ssh_port: True must be an integer, not true/false"),
        (base(firewall_allow={"port": 9100}), "ha:base:firewall_allow: must be a list, not a mapping"),
        (base(firewall_allow="9100/tcp"), "ha:base:firewall_allow: '9100/tcp' must be a list, not a string"),
        (allow({"proto": "tcp"}), f"{ENTRY}: must be a mapping with port, and optionally proto and source"),
        (allow(9100), f"{ENTRY}: 9100 must be a mapping, not an integer"),
        (allow({"port": "9000-8000"}),
         f"{ENTRY}:port: '9000-8000' must be a port from 1 to 65535 or a range such as 8000-8010"),
        (allow({"port": 0}), f"{ENTRY}:port: 0 must be a port from 1 to 65535 or a range such as 8000-8010"),
        (allow({"port": 65536}), f"{ENTRY}:port: 65536 must be a port from 1 to 65535 or a range such as 8000-8010"),
        (allow({"port": 9100, "proto": "icmp"}), f"{ENTRY}:proto: 'icmp' must be tcp or udp"),
        (allow({"port": 9100, "proto": "TCP"}), f"{ENTRY}:proto: 'TCP' must be tcp or udp"),
        (allow({"port": 9100, "proto": None}), f"{ENTRY}:proto: is empty; give a string"),
        (allow({"port": 9100, "source": "not-an-address"}),
         f"{ENTRY}:source: 'not-an-address' is not an IPv4 address or network"),
        (allow({"port": 9100, "source": "10.10.10.0/33"}),
         f"{ENTRY}:source: '10.10.10.0/33' is not an IPv4 address or network"),
        (allow({"port": 9100, "source": "2001:db8::/32"}),
         f"{ENTRY}:source: '2001:db8::/32' is not an IPv4 address or network"),
        (allow({"port": 9100, "source": ""}), f"{ENTRY}:source: '' is not an IPv4 address or network"),
    ],
)
def test_firewall_validation(ha, mutate, error):
    assert errors_for(ha, mutate) == [error]


def test_every_bad_entry_and_field_is_named(ha):
    errors = errors_for(ha, allow({"port": 9100}, {"port": "9000-8000", "proto": "icmp", "source": "x"}, "22"))
    assert errors == [
        "ha:base:firewall_allow:2: '22' must be a mapping, not a string",
        "ha:base:firewall_allow:1:port: '9000-8000' must be a port from 1 to 65535 or a range such as 8000-8010",
        "ha:base:firewall_allow:1:proto: 'icmp' must be tcp or udp",
        "ha:base:firewall_allow:1:source: 'x' is not an IPv4 address or network",
    ]


@pytest.mark.parametrize(
    "mutate",
    [base(firewall="disabled"), base(firewall="managed"), base(ssh_port=1), base(ssh_port=65535),
     base(ssh_port=2222), base(firewall_allow=[]),
     allow({"port": 9100}), allow({"port": "8000-8010", "proto": "udp"}), allow({"port": 65535, "proto": "tcp"}),
     allow({"port": 9100, "source": "192.0.2.7"}), allow({"port": 9100, "source": "10.10.10.0/24"}),
     allow({"port": 9100, "source": "0.0.0.0/0"}), allow({"port": 9100, "source": None})],
)
def test_accepted_firewall_values(ha, mutate):
    assert errors_for(ha, mutate) == []


def test_firewall_settings_are_optional(ha):
    for key in ("firewall", "ssh_port", "firewall_allow"):
        del ha["base"][key]
    assert ha_topology.validate(ha) == []
    assert ha_topology.base_settings(ha)["firewall"] == "disabled"


def test_a_port_and_a_range_with_the_same_low_end_keep_one_order(ha):
    """The rendered rule set must be the same at every run: the sort is total, not left to set order."""
    ports = sorted(["35672-35682", 35673, 35672, "9000-9010", 9000], key=ha_topology_firewall.port_key)
    assert ports == [9000, "9000-9010", 35672, "35672-35682", 35673]


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda h: h.setdefault("memcached", {}).update(port=4369),
         "ha:memcached:port: 4369 is also used on every controller by Erlang port mapper"),
        (lambda h: h.setdefault("etcd", {}).update(client_port=2224),
         "ha:etcd:client_port: 2224 is also used on every controller by pcsd"),
        (lambda h: h.setdefault("rabbitmq", {}).update(management_port=35675),
         "ha:rabbitmq:management_port: 35675 is also used on every controller by the RabbitMQ CLI tools"),
    ],
)
def test_node_ports_must_not_clash_with_the_fixed_ones(ha, mutate, error):
    assert error in errors_for(ha, mutate)


# firewalld's own parser, from Debian's python3-firewall (a host package of
# make venv): each rule as firewalld reads it and prints it back.
CANONICAL = """
import json, sys
from firewall.core.rich import Rich_Rule
print(json.dumps([str(Rich_Rule(rule_str=rule)) for rule in json.load(sys.stdin)]))
"""


def test_rich_rules_are_in_firewalds_own_form(ha):
    # Salt's firewalld state compares its rich rules with what firewall-cmd
    # lists, which is firewalld's canonical form: a rule written otherwise
    # would be added again at every deploy.
    ha["base"]["firewall_allow"] = [{"port": 9100, "proto": "tcp", "source": "10.10.10.0/24"},
                                    {"port": 161, "proto": "udp"}]
    ha["base"]["ssh_port"] = 2222
    rules = sorted({rule for node in (C01, C02, COMPUTE)
                    for rule in ha_topology.firewall_rules(node, ha)["rich_rules"]})
    assert any("35672-35682" in rule for rule in rules) and any("10.10.10.0/24" in rule for rule in rules)
    found = subprocess.run(["/usr/bin/python3", "-c", CANONICAL], input=json.dumps(rules), capture_output=True,
                           text=True, check=False)
    assert found.returncode == 0, f"firewalld's parser (python3-firewall, make host-packages): {found.stderr}"
    assert json.loads(found.stdout) == rules
