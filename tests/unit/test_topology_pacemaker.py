"""Unit tests of the Pacemaker and HAProxy parts of the topology (_utils/ha_topology_pacemaker.py,
ha_topology_haproxy.py), through _modules/ha_topology.py: validation and derived data."""

from __future__ import annotations

import pytest
from salt.exceptions import CommandExecutionError

from tests.helpers import load_module, valid_pillar

ha_topology = load_module("_modules/ha_topology.py", "ha_topology_for_pacemaker")
C01, C02, C03 = CONTROLLERS = tuple(f"openstack-controller0{i}" for i in (1, 2, 3))
ADDRESSES = {C01: "10.10.10.51", C02: "10.10.10.52", C03: "10.10.10.53"}
POLICIES = "stop, freeze, demote, suicide"
OBSERVE = "observe layer4 error-limit 1 on-error mark-down on-marked-down shutdown-sessions"
CHECK = f"check inter 500ms fastinter 250ms downinter 1s rise 2 fall 2 {OBSERVE}"
HTTP_CHECK = f"check inter 2s fastinter 500ms downinter 2s rise 2 fall 2 {OBSERVE}"


@pytest.fixture
def ha():
    return valid_pillar()


@pytest.fixture
def configure_loader_modules(ha):
    return {ha_topology: {"__pillar__": {"ha": ha}, "__grains__": {"id": C01}}}


def errors_for(ha, mutate):
    mutate(ha)
    return ha_topology.validate(ha)


def pacemaker(**values):
    return lambda h: h["pacemaker"].update(values)


def listener(name, **values):
    return lambda h: h["haproxy"]["listeners"][name].update(values)


def add_controllers(ha):
    """controller9 and controller10, listed before the others: neither insertion nor string order is natural."""
    ha["nodes"] = {"openstack-controller10": {"address": "10.10.10.60", "roles": ["controller"]},
                   "openstack-controller9": {"address": "10.10.10.59", "roles": ["controller"]}, **ha["nodes"]}


# Validation of ha:pacemaker


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (pacemaker(totem={"tokn": 1000}),
         "ha:pacemaker:totem:tokn: unknown key; did you mean token?"),
        (pacemaker(totem={"speed": 1000}),
         "ha:pacemaker:totem:speed: unknown key; known keys here: consensus, downcheck, fail_recv_const, "
         "heartbeat_failures_allowed, hold, join, max_messages, max_network_delay, merge, miss_count_const, "
         "send_join, seqno_unchanged_const, token, token_coefficient, token_retransmit, "
         "token_retransmits_before_loss_const, window_size"),
        (pacemaker(totem={"token": "1000"}), "ha:pacemaker:totem:token: '1000' must be an integer, not a string"),
        (pacemaker(totem={"token": 150}),
         "ha:pacemaker:totem:token: 150 is below 200 ms; a busy node would be taken for dead"),
        (pacemaker(totem={"token": 0, "consensus": 100}),
         "ha:pacemaker:totem:token: 0 is below 200 ms; a busy node would be taken for dead"),
        (pacemaker(totem={"consensus": 500}),
         "ha:pacemaker:totem:consensus: 500 must be at least 1.2 x the token of 3 controllers (600 ms)"),
        (pacemaker(totem={"token": 1000, "consensus": 1000}),
         "ha:pacemaker:totem:consensus: 1000 must be at least 1.2 x the token of 3 controllers (1200 ms)"),
        (pacemaker(totem={"token_coefficient": 650, "consensus": 1000}),
         "ha:pacemaker:totem:consensus: 1000 must be at least 1.2 x the token of 3 controllers (1380 ms)"),
        (pacemaker(totem={"token": True}), "ha:pacemaker:totem:token: True must be an integer, not true/false"),
        (pacemaker(totem={"consensus": -1}), "ha:pacemaker:totem:consensus: -1 must be from 0 to 3600000"),
        (pacemaker(totem={"token": 3600001}), "ha:pacemaker:totem:token: 3600001 must be from 0 to 3600000"),
        (pacemaker(totem=[{"token": 1000}]), "ha:pacemaker:totem: must be a mapping, not a list"),
        (pacemaker(properties=["stonith-enabled=false"]),
         "ha:pacemaker:properties: must be a mapping, not a list"),
        (pacemaker(properties={"stonith-enabled": None}),
         "ha:pacemaker:properties:stonith-enabled: is empty; give a single value"),
        (pacemaker(properties={"stonith-enabled": {"value": False}}),
         "ha:pacemaker:properties:stonith-enabled: must be a single value, not a mapping"),
        (pacemaker(properties={"Stonith_Enabled": "false"}),
         "ha:pacemaker:properties:Stonith_Enabled: not a cluster property of Pacemaker; did you mean stonith-enabled?"),
        (pacemaker(properties={"no-quorum-policy": "ignore"}),
         f"ha:pacemaker:properties:no-quorum-policy: 'ignore' must be one of {POLICIES}; on 3 controllers a "
         "partitioned minority would keep running its resources"),
        (pacemaker(properties={"no-quorum-policy": "Stop"}),
         f"ha:pacemaker:properties:no-quorum-policy: 'Stop' must be one of {POLICIES}"),
        (pacemaker(properties={"no-quorum-policy": True}),
         f"ha:pacemaker:properties:no-quorum-policy: 'true' must be one of {POLICIES}"),
        (pacemaker(monitor_interval="10 s"), "ha:pacemaker:monitor_interval: '10 s' must be a time such as 10s"),
        (pacemaker(monitor_interval="1d"), "ha:pacemaker:monitor_interval: '1d' must be a time such as 10s"),
        (pacemaker(monitor_interval="s"), "ha:pacemaker:monitor_interval: 's' must be a time such as 10s"),
        (pacemaker(failure_timeout="1 min"),
         "ha:pacemaker:failure_timeout: '1 min' must be a time such as 60s (0: a failure stays until pcs resource "
         "cleanup)"),
        (pacemaker(resource_stickiness=-1),
         "ha:pacemaker:resource_stickiness: -1 must be an integer from 0 to 1000000"),
        (pacemaker(resource_stickiness=1000001),
         "ha:pacemaker:resource_stickiness: 1000001 must be an integer from 0 to 1000000"),
        (pacemaker(resource_stickiness="INFINITY"),
         "ha:pacemaker:resource_stickiness: 'INFINITY' must be an integer, not a string"),
        (pacemaker(resource_stickiness=True),
         "ha:pacemaker:resource_stickiness: True must be an integer, not true/false"),
    ],
)
def test_pacemaker_validation(ha, mutate, error):
    assert errors_for(ha, mutate) == [error]


def test_the_ignore_hint_counts_the_controllers(ha):
    add_controllers(ha)
    (error,) = errors_for(ha, pacemaker(properties={"no-quorum-policy": "ignore"}))
    assert error.endswith("; on 5 controllers a partitioned minority would keep running its resources")


@pytest.mark.parametrize("policy", ["stop", "freeze", "demote", "suicide"])
def test_accepted_no_quorum_policies(ha, policy):
    assert errors_for(ha, pacemaker(properties={"no-quorum-policy": policy})) == []


@pytest.mark.parametrize(
    "values",
    [{"monitor_interval": 10}, {"monitor_interval": "500ms"}, {"monitor_interval": "1min"},
     {"failure_timeout": 0}, {"failure_timeout": "2min"},
     {"monitor_interval": "2h"}, {"resource_stickiness": 0}, {"resource_stickiness": 1000000},
     {"totem": {"token": 200, "consensus": 3600000, "window_size": 50}}, {"totem": {}},
     {"totem": {"token": 3000, "consensus": 3600}}, {"totem": {"consensus": 600}},
     {"properties": {"stonith-enabled": True, "pe-warn-series-max": 500}}],
)
def test_accepted_pacemaker_values(ha, values):
    assert errors_for(ha, pacemaker(**values)) == []


@pytest.mark.parametrize(("value", "error"), [
    ("openstack-cluster-01", "ha:pacemaker: 'openstack-cluster-01' must be a mapping, not a string"),
    (None, "ha:pacemaker: is empty; give a mapping"),
    (["cluster_name"], "ha:pacemaker: must be a mapping, not a list"),
])
def test_pacemaker_must_be_a_mapping(ha, value, error):
    # One message: the section's kind comes before its keys' values.
    assert errors_for(ha, lambda h: h.__setitem__("pacemaker", value)) == [error]


def test_a_missing_pacemaker_section_names_its_required_keys(ha):
    assert errors_for(ha, lambda h: h.pop("pacemaker")) == [
        "ha:pacemaker:cluster_name: None must be 1 to 63 letters, digits, '.', '_' or '-'",
        "ha:pacemaker: must be a mapping with cluster_name and hacluster_password",
        "ha:pacemaker:hacluster_password: is required",
    ]


def test_pacemaker_options_have_defaults(ha):
    ha["pacemaker"] = {k: ha["pacemaker"][k] for k in ("cluster_name", "hacluster_password")}
    assert ha_topology.validate() == []
    assert ha_topology.pacemaker_cluster()["totem"] == {"token": 500, "token_coefficient": 0}
    wanted = ha_topology.pacemaker_resources("haproxy")
    assert wanted["properties"] == ha_topology.ha_topology_pacemaker.PROPERTIES
    assert [r["monitor_interval"] for r in wanted["resources"]] == ["10s", "10s"]
    assert [r["meta"] for r in wanted["resources"]] == [{"resource-stickiness": "100", "failure-timeout": "60s"},
                                                        {"failure-timeout": "60s"}]


# Validation of ha:haproxy


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (listener("galera", check="ssl"),
         "ha:haproxy:listeners:galera:check: 'ssl' must be one of http, tcp, clustercheck"),
        (listener("horizon", check="clustercheck"),
         "ha:haproxy:listeners:horizon:check: a clustercheck check needs mode tcp, not http"),
        (listener("horizon", check="tcp"), "ha:haproxy:listeners:horizon:check: a tcp check needs mode tcp, not http"),
        (listener("rabbitmq", check="http"),
         "ha:haproxy:listeners:rabbitmq:check: a http check needs mode http, not tcp"),
        # Without a mode the listener is http, which a clustercheck does not fit.
        (lambda h: h["haproxy"]["listeners"]["galera"].pop("mode"),
         "ha:haproxy:listeners:galera:check: a clustercheck check needs mode tcp, not http"),
        # A bad mode is the only error of its listener.
        (listener("galera", mode="udp", check_path="x", timeout="never"),
         "ha:haproxy:listeners:galera:mode: 'udp' must be one of http, tcp"),
        (listener("keystone_public", check_path="v3"),
         "ha:haproxy:listeners:keystone_public:check_path: 'v3' must be a URL path starting with /"),
        (listener("keystone_public", check_path="/v3 x"),
         "ha:haproxy:listeners:keystone_public:check_path: '/v3 x' must be a URL path starting with /"),
        (listener("keystone_public", check_path="/v3#x"),
         "ha:haproxy:listeners:keystone_public:check_path: '/v3#x' must be a URL path starting with /"),
        (listener("keystone_public", check_path="/v3\n"),
         "ha:haproxy:listeners:keystone_public:check_path: '/v3\\n' must be a URL path starting with /"),
        (listener("keystone_public", check_path=3),
         "ha:haproxy:listeners:keystone_public:check_path: 3 must be a string, not an integer"),
        (listener("galera", timeout="90 minutes"),
         "ha:haproxy:listeners:galera:timeout: '90 minutes' must be a time such as 90m or 3h"),
        (listener("rabbitmq", timeout="3h\n"),
         "ha:haproxy:listeners:rabbitmq:timeout: '3h\\n' must be a time such as 90m or 3h"),
        (lambda h: h["haproxy"]["stats"].__setitem__("user", "haproxy stats"),
         "ha:haproxy:stats:user: must be letters, digits, '.', '_' or '-'"),
        (lambda h: h["haproxy"]["stats"].__setitem__("user", "ops:stats"),
         "ha:haproxy:stats:user: must be letters, digits, '.', '_' or '-'"),
    ],
)
def test_listener_validation(ha, mutate, error):
    assert errors_for(ha, mutate) == [error]


@pytest.mark.parametrize("char", [" ", "\t", ":", "#", "'", '"', "\\"])
def test_stats_password_is_one_word(ha, char):
    errors = errors_for(ha, lambda h: h["haproxy"]["stats"].__setitem__("password", f"k3Jq9xWv{char}Tz8mPa2L"))
    expected = ["ha:haproxy:stats:password: must not contain spaces, ':', '#', quotes or backslashes "
                "(haproxy.cfg takes it as one word)"]
    if not char.isprintable():
        # Every secret refuses control characters, this one too.
        expected.append("ha:haproxy:stats:password: holds a control character (a newline, tab, ...); "
                        "use printable characters only")
    assert errors == expected


@pytest.mark.parametrize(
    "mutate",
    [listener("horizon", check="http", check_path="/dashboard/auth/login/?next=/"), listener("galera", timeout=90),
     listener("rabbitmq", check="tcp", timeout="500ms"), listener("nova_api", mode="tcp"),
     lambda h: h["haproxy"]["stats"].update(user="ops.stats_1", password="k3Jq9xWv$Tz8mPa2L!")],
)
def test_accepted_listener_values(ha, mutate):
    assert errors_for(ha, mutate) == []


@pytest.mark.parametrize("check", [["http"], {"path": "/v3"}])
def test_unhashable_check_is_an_error_not_a_crash(ha, check):
    kind = "a list" if isinstance(check, list) else "a mapping"
    assert errors_for(ha, listener("keystone_public", check=check)) == [
        f"ha:haproxy:listeners:keystone_public:check: must be a string, not {kind}"]


# pacemaker_cluster and pacemaker_resources


def test_pacemaker_cluster_of_the_example():
    assert ha_topology.pacemaker_cluster() == {
        "name": "openstack-cluster-01",
        "nodes": ADDRESSES,
        "totem": {"token": 500, "token_coefficient": 0},
        "password_pillar": "ha:pacemaker:hacluster_password",
        "vip": "10.10.10.69",
    }


def test_pacemaker_cluster_nodes_in_natural_order_without_computes(ha):
    add_controllers(ha)
    ha["pacemaker"]["totem"] = {"token": 3000, "consensus": 3600}
    cluster = ha_topology.pacemaker_cluster()
    assert list(cluster["nodes"].items()) == [*ADDRESSES.items(), ("openstack-controller9", "10.10.10.59"),
                                              ("openstack-controller10", "10.10.10.60")]
    assert list(cluster["totem"].items()) == [("consensus", 3600), ("token", 3000), ("token_coefficient", 0)]


def test_pacemaker_cluster_checks_the_pillar(ha):
    ha["nodes"].pop(C03)
    with pytest.raises(CommandExecutionError, match="needs at least 3 controllers"):
        ha_topology.pacemaker_cluster()


def test_pacemaker_resources_of_the_example():
    wanted = ha_topology.pacemaker_resources("haproxy")
    assert wanted == {
        "properties": {"cluster-recheck-interval": "5min", "no-quorum-policy": "stop", "pe-error-series-max": "1000",
                       "pe-input-series-max": "1000", "pe-warn-series-max": "1000", "stonith-enabled": "false",
                       "transition-delay": "150ms"},
        "resources": [
            {"id": "vip", "agent": "ocf:heartbeat:IPaddr2", "options": {"ip": "10.10.10.69", "cidr_netmask": "24",
                                                                          "run_arping": "false"},
             "monitor_interval": "10s", "meta": {"resource-stickiness": "100", "failure-timeout": "60s"},
             "clone": None},
            {"id": "lb-haproxy", "agent": "systemd:haproxy", "options": {}, "monitor_interval": "10s",
             "meta": {"failure-timeout": "60s"},
             "clone": "lb-haproxy-clone"},
        ],
        "constraints": [
            {"type": "order", "first": "vip", "first-action": "start", "then": "lb-haproxy-clone",
             "then-action": "start", "kind": "Optional", "symmetrical": "false"},
            {"type": "colocation", "rsc": "vip", "with-rsc": "lb-haproxy-clone", "score": "INFINITY"},
            # Away from the DC, less than the stickiness of 100.
            {"type": "location", "rsc": "vip", "score": "50", "rule": "#is_dc ne true"},
        ],
        "started": {"resources": ["vip"], "clones": ["lb-haproxy-clone"]},
    }
    assert list(wanted["properties"]) == sorted(wanted["properties"])


def test_pacemaker_resources_from_the_pillar(ha):
    ha["pacemaker"].update(monitor_interval=20, resource_stickiness=0, failure_timeout=0, properties={
        "stonith-enabled": True, "maintenance-mode": False, "no-quorum-policy": "freeze", "pe-warn-series-max": 500})
    wanted = ha_topology.pacemaker_resources("haproxy.service")
    assert wanted["properties"] == {
        "cluster-recheck-interval": "5min", "maintenance-mode": "false", "no-quorum-policy": "freeze",
        "pe-error-series-max": "1000", "pe-input-series-max": "1000", "pe-warn-series-max": "500",
        "stonith-enabled": "true", "transition-delay": "150ms"}
    assert list(wanted["properties"]) == sorted(wanted["properties"])
    vip, lb = wanted["resources"]
    assert vip["monitor_interval"] == lb["monitor_interval"] == "20"
    assert vip["meta"] == {"resource-stickiness": "0", "failure-timeout": "0"}
    assert lb["meta"] == {"failure-timeout": "0"} and lb["agent"] == "systemd:haproxy.service"
    # Avoiding the DC stays below the stickiness: without stickiness, no preference at all.
    assert wanted["constraints"][-1] == {"type": "location", "rsc": "vip", "score": "0", "rule": "#is_dc ne true"}


@pytest.mark.parametrize("name, value", [
    ("transition-delay", "150 ms"), ("transition-delay", "soon"), ("transition-delay", -1),
    ("cluster-recheck-interval", "5 minutes"),
])
def test_time_properties_must_be_times(ha, name, value):
    ha["pacemaker"]["properties"] = {name: value}
    with pytest.raises(CommandExecutionError, match=f"ha:pacemaker:properties:{name}: .* must be a time such as"):
        ha_topology.pacemaker_resources("haproxy")


@pytest.mark.parametrize("value", ["0", "200ms", "1s", 2])
def test_time_properties_take_pacemaker_times(ha, value):
    ha["pacemaker"]["properties"] = {"transition-delay": value}
    assert ha_topology.pacemaker_resources("haproxy")["properties"]["transition-delay"] == str(value)


def test_pacemaker_resources_checks_the_pillar(ha):
    ha["pacemaker"]["properties"] = {"no-quorum-policy": "ignore"}
    with pytest.raises(CommandExecutionError, match="no-quorum-policy: 'ignore' must be one of"):
        ha_topology.pacemaker_resources("haproxy")


# haproxy_config


def servers(port, extra=("",) * 3, check=CHECK):
    return [f"server {node} {address}:{port} {check}{suffix}"
            for (node, address), suffix in zip(ADDRESSES.items(), extra, strict=True)]


def test_haproxy_config_of_the_example():
    config = ha_topology.haproxy_config()
    listeners = {entry["name"]: entry for entry in config["listeners"]}
    assert config["stats"] == {"bind": "10.10.10.69:1080", "user": "haproxy-stats"}
    assert list(listeners) == ["cinder_api", "galera", "glance_api", "horizon", "keystone_public", "neutron_api",
                               "nova_api", "nova_metadata", "nova_vncproxy", "placement_api", "rabbitmq"]
    clustercheck = " port 9200"
    assert listeners["galera"] == {
        "name": "galera", "bind": "10.10.10.69:3306", "mode": "tcp",
        "options": ["balance source", "option tcpka", "option httpchk GET /", "option tcplog",
                    "stick-table type ip size 1", "stick on dst", "timeout client 90m", "timeout server 90m"],
        "servers": servers(3306, (clustercheck, clustercheck + " backup", clustercheck + " backup")),
    }
    assert listeners["rabbitmq"] == {
        "name": "rabbitmq", "bind": "10.10.10.69:5673", "mode": "tcp",
        "options": ["balance source", "option tcpka", "option tcplog", "timeout client 3h", "timeout server 3h"],
        "servers": servers(5672),
    }
    assert listeners["keystone_public"] == {
        "name": "keystone_public", "bind": "10.10.10.69:5000", "mode": "http",
        "options": ["balance source", "option tcpka", "option httpchk GET /v3", "option httplog",
                    "option forwardfor"],
        "servers": servers(5000, check=HTTP_CHECK),
    }
    assert listeners["horizon"]["options"][2] == "option httpchk GET /"
    assert listeners["nova_vncproxy"]["options"][2] == "option httpchk GET /vnc_auto.html"


def test_haproxy_clustercheck_port_and_binds_from_the_pillar(ha):
    ha["galera"]["clustercheck"]["port"] = 9201
    ha["haproxy"]["stats"]["bind"] = "127.0.0.1"
    ha["haproxy"]["listeners"]["horizon"]["bind"] = "10.10.10.70"
    ha["haproxy"]["listeners"]["horizon"]["backend_port"] = 8080
    config = ha_topology.haproxy_config()
    listeners = {entry["name"]: entry for entry in config["listeners"]}
    assert config["stats"]["bind"] == "127.0.0.1:1080"
    assert listeners["horizon"]["bind"] == "10.10.10.70:80"
    assert listeners["horizon"]["servers"] == servers(8080, check=HTTP_CHECK)
    assert listeners["galera"]["bind"] == "10.10.10.69:3306"
    assert all(s.endswith(("on-marked-down shutdown-sessions port 9201", " port 9201 backup"))
               for s in listeners["galera"]["servers"])


def test_haproxy_clustercheck_port_default(ha):
    del ha["galera"]["clustercheck"]
    galera = next(e for e in ha_topology.haproxy_config()["listeners"] if e["name"] == "galera")
    assert all(s.endswith((" port 9200", " port 9200 backup")) for s in galera["servers"])


def test_haproxy_servers_in_natural_order_first_active(ha):
    add_controllers(ha)
    ha["haproxy"]["listeners"]["rabbitmq"]["check"] = "clustercheck"
    listeners = {e["name"]: e for e in ha_topology.haproxy_config()["listeners"]}
    order = [*CONTROLLERS, "openstack-controller9", "openstack-controller10"]
    for name in ("galera", "rabbitmq"):
        lines = listeners[name]["servers"]
        assert [line.split()[1] for line in lines] == order
        assert not lines[0].endswith("backup") and all(line.endswith(" backup") for line in lines[1:])
    assert listeners["rabbitmq"]["servers"][-1] == (
        f"server openstack-controller10 10.10.10.60:5672 {CHECK} port 9200 backup")
    assert [line.split()[1] for line in listeners["horizon"]["servers"]] == order
    assert not any("backup" in line for line in listeners["horizon"]["servers"])


def test_haproxy_tcp_check_and_default_mode(ha):
    ha["haproxy"]["listeners"]["nova_api"] = {"port": 8774}
    ha["haproxy"]["listeners"]["rabbitmq"]["check"] = "tcp"
    listeners = {e["name"]: e for e in ha_topology.haproxy_config()["listeners"]}
    assert listeners["nova_api"]["mode"] == "http"
    assert listeners["nova_api"]["options"] == ["balance source", "option tcpka", "option httpchk GET /",
                                                "option httplog", "option forwardfor"]
    assert listeners["rabbitmq"]["options"][:3] == ["balance source", "option tcpka", "option tcplog"]


def test_haproxy_config_checks_the_pillar(ha):
    ha["haproxy"]["stats"]["password"] = "k3Jq9xWv:Tz8mPa2L"
    with pytest.raises(CommandExecutionError, match="ha:haproxy:stats:password: must not contain"):
        ha_topology.haproxy_config()
