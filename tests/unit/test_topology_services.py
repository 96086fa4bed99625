"""Unit tests of the RabbitMQ, memcached, etcd and map parts of the topology (_utils/ha_topology_rabbitmq.py,
ha_topology_memcached.py, ha_topology_etcd.py), through _modules/ha_topology.py."""

from __future__ import annotations

import pytest
from salt.exceptions import CommandExecutionError

from tests.helpers import load_module, valid_pillar

ha_topology = load_module("_modules/ha_topology.py", "ha_topology_for_services")
CONTROLLERS = [f"openstack-controller0{i}" for i in (1, 2, 3)]
MAP = {"galera": {"service": "mariadb"}, "rabbitmq": {"ctl": "/usr/sbin/rabbitmqctl"},
       "etcd": {"etcdctl": "/usr/bin/etcdctl"}}


@pytest.fixture
def ha():
    return valid_pillar()


@pytest.fixture
def renderer():
    """slsutil.renderer answering ``value`` and recording its calls."""
    def render(path, **kwargs):
        render.calls.append((path, kwargs))
        return render.value

    render.calls, render.value = [], MAP
    return render


@pytest.fixture
def configure_loader_modules(ha, renderer):
    return {ha_topology: {"__pillar__": {"ha": ha}, "__grains__": {"id": "openstack-controller01"},
                          "__salt__": {"slsutil.renderer": renderer}, "__context__": {}}}


def test_rabbitmq_node_of_the_first_controller():
    assert ha_topology.rabbitmq_node() == {
        "node": "rabbit@openstack-controller01",
        "first": "rabbit@openstack-controller01",
        "node_type": "disc",
        "cluster": [f"rabbit@{name}" for name in CONTROLLERS],
        "peers": {"rabbit@openstack-controller02": "10.10.10.52", "rabbit@openstack-controller03": "10.10.10.53"},
        "address": "10.10.10.51",
        "port": 5672,
        "management_port": 15672,
        "settings": {
            "cluster_partition_handling": "pause_minority",
            "distribution.listener.interface": "10.10.10.51",
            "listeners.tcp.1": "10.10.10.51:5672",
            "loopback_users.guest": "true",
            "management.tcp.ip": "10.10.10.51",
            "management.tcp.port": 15672,
            "net_ticktime": 10,
            "vm_memory_high_watermark.relative": 0.4,
        },
        "watchdog": {"enabled": True, "interval": 5, "confirm": 15, "stale": 60, "stuck": 45},
    }


def test_rabbitmq_watchdog_off_when_splits_are_left_to_the_operator(ha):
    ha["rabbitmq"]["cluster_partition_handling"] = "ignore"
    assert ha_topology.rabbitmq_node(ha=ha)["watchdog"]["enabled"] is False
    ha["rabbitmq"]["cluster_partition_handling"] = "autoheal"
    assert ha_topology.rabbitmq_node(ha=ha)["watchdog"]["enabled"] is True


def test_rabbitmq_node_of_another_controller(ha):
    node = ha_topology.rabbitmq_node("openstack-controller02")
    assert node["node"] == "rabbit@openstack-controller02" and node["first"] == "rabbit@openstack-controller01"
    assert node["node_type"] == "ram" and node["address"] == "10.10.10.52"
    assert node["settings"]["listeners.tcp.1"] == "10.10.10.52:5672"
    assert node["settings"]["management.tcp.ip"] == node["settings"]["distribution.listener.interface"] \
        == "10.10.10.52"
    assert list(node["settings"]) == sorted(node["settings"])
    ha["rabbitmq"].update(ram_nodes=["openstack-controller03"], port=5680, management_port=15680)
    ha["haproxy"]["listeners"]["rabbitmq"]["backend_port"] = 5680
    node = ha_topology.rabbitmq_node("openstack-controller02")
    assert node["node_type"] == "disc" and node["management_port"] == node["settings"]["management.tcp.port"] == 15680
    assert node["settings"]["listeners.tcp.1"] == "10.10.10.52:5680"


def test_rabbitmq_node_name_is_the_short_host_name(ha):
    ha["nodes"]["openstack-controller04.example.org"] = {"address": "10.10.10.60", "roles": ["controller"]}
    node = ha_topology.rabbitmq_node("openstack-controller04.example.org", ha)
    assert node["node"] == "rabbit@openstack-controller04" and node["cluster"][-1] == node["node"]


def test_non_controllers_have_no_service_node():
    for function in (ha_topology.rabbitmq_node, ha_topology.memcached_node):
        with pytest.raises(CommandExecutionError, match="^openstack-compute01 is not a controller in ha:nodes$"):
            function("openstack-compute01")
    with pytest.raises(CommandExecutionError, match="^salt-master is not a controller in ha:nodes$"):
        ha_topology.etcd_node("/var/lib/etcd/ha-cluster", "salt-master")


def test_rabbitmq_access_mirrored():
    assert ha_topology.rabbitmq_access() == {
        "user": {"name": "openstack", "password_pillar": "ha:rabbitmq:openstack_password",
                 "tags": ["administrator"], "permissions": {"/": [".*", ".*", ".*"]}},
        "ha_policy": {"name": "ha-all", "pattern": "^", "definition": {"ha-mode": "all"}, "apply_to": "all",
                      "priority": 0},
        "absent_policies": [],
        "quorum_queues": False,
    }


def test_rabbitmq_access_quorum(ha):
    ha["rabbitmq"]["queue_type"] = "quorum"
    ha["rabbitmq"]["ha_policy"] = {"name": "mirror-all", "pattern": "^", "definition": {"ha-mode": "all"},
                                   "apply_to": "queues", "priority": 1}
    access = ha_topology.rabbitmq_access()
    assert access["ha_policy"] is None and access["absent_policies"] == ["mirror-all"]
    assert access["quorum_queues"] is True and access["user"]["name"] == "openstack"


def test_rabbitmq_access_checks_the_pillar(ha):
    ha["rabbitmq"]["queue_type"] = "classic"
    with pytest.raises(CommandExecutionError, match="ha:rabbitmq:queue_type: 'classic' must be one of"):
        ha_topology.rabbitmq_access()


def test_memcached():
    assert ha_topology.memcached_node() == {"address": "10.10.10.51", "port": 11211, "memory_mb": 1024,
                                            "max_connections": 4096}
    assert ha_topology.memcached_node("openstack-controller03")["address"] == "10.10.10.53"
    assert ha_topology.memcached_servers() == ["10.10.10.51:11211", "10.10.10.52:11211", "10.10.10.53:11211"]


def test_etcd_members():
    assert ha_topology.etcd_members() == {
        name: {"peer_url": f"http://10.10.10.5{i}:2380", "client_url": f"http://10.10.10.5{i}:2379"}
        for i, name in enumerate(CONTROLLERS, 1)
    }


def test_etcd_node(ha):
    node = ha_topology.etcd_node("/var/lib/etcd/ha-cluster", "openstack-controller02")
    assert node["members"] == ha_topology.etcd_members()
    # The member's own settings only: the initial ones are read while the data directory is empty, from a file
    # of their own (ha_etcd.initial_settings), so that a controller added elsewhere restarts no member.
    assert node["environment"] == {
        "ETCD_NAME": "openstack-controller02",
        "ETCD_DATA_DIR": "/var/lib/etcd/ha-cluster",
        "ETCD_LISTEN_PEER_URLS": "http://10.10.10.52:2380",
        "ETCD_LISTEN_CLIENT_URLS": "http://10.10.10.52:2379,http://127.0.0.1:2379",
        "ETCD_INITIAL_ADVERTISE_PEER_URLS": "http://10.10.10.52:2380",
        "ETCD_ADVERTISE_CLIENT_URLS": "http://10.10.10.52:2379",
    }
    assert node["new_cluster"] == {
        "ETCD_INITIAL_CLUSTER": "openstack-controller01=http://10.10.10.51:2380,"
                                "openstack-controller02=http://10.10.10.52:2380,"
                                "openstack-controller03=http://10.10.10.53:2380",
        "ETCD_INITIAL_CLUSTER_TOKEN": "etcd-cluster-01",
        "ETCD_INITIAL_CLUSTER_STATE": "new",
    }
    # Every controller's new_cluster is the same: they start one cluster.
    assert all(ha_topology.etcd_node("/d", name)["new_cluster"] == node["new_cluster"] for name in CONTROLLERS)
    ha["etcd"].update(client_port=12379, peer_port=12380, cluster_token="etcd-site-b")
    node = ha_topology.etcd_node("/srv/etcd")
    environment = node["environment"]
    assert environment["ETCD_NAME"] == "openstack-controller01" and environment["ETCD_DATA_DIR"] == "/srv/etcd"
    assert environment["ETCD_LISTEN_CLIENT_URLS"] == "http://10.10.10.51:12379,http://127.0.0.1:12379"
    assert not any(key.startswith("ETCD_INITIAL_CLUSTER") for key in environment)
    assert node["new_cluster"]["ETCD_INITIAL_CLUSTER"].endswith(",openstack-controller03=http://10.10.10.53:12380")
    assert node["new_cluster"]["ETCD_INITIAL_CLUSTER_TOKEN"] == "etcd-site-b"


def test_etcd_initial_cluster_keeps_the_members_order():
    etcd = ha_topology.ha_topology_etcd
    assert etcd.initial_cluster({"c03": "http://10.10.10.53:2380", "c01": "http://10.10.10.51:2380"}) == \
        "c03=http://10.10.10.53:2380,c01=http://10.10.10.51:2380"
    assert etcd.initial_cluster({"c01": "http://10.10.10.51:2380"}) == "c01=http://10.10.10.51:2380"
    assert etcd.initial_cluster({}) == ""


C04 = "openstack-controller04"


def _listed(name, address, started=True):
    """One member as ha_etcd.members gives it: one added but never started has no name and no client URL."""
    return {"id": f"8e9e05c5216469{address.rsplit('.', 1)[1]}", "name": name if started else "",
            "peer_urls": [f"http://{address}:2380"], "client_urls": [f"http://{address}:2379"] if started else []}


@pytest.fixture
def four(ha):
    """The pillar with a fourth controller, added to a running cluster of the first three."""
    ha["nodes"][C04] = {"address": "10.10.10.61", "roles": ["controller"]}
    return ha


def test_etcd_joining_of_a_member_just_added(four):
    # ha_etcd.member_add's answer (sorted by name: the new member, still unnamed, first).
    listed = [_listed(C04, "10.10.10.61", started=False),
              *(_listed(name, f"10.10.10.5{i}") for i, name in enumerate(CONTROLLERS, 1))]
    assert ha_topology.etcd_joining(listed, C04) == {
        "ETCD_INITIAL_CLUSTER": f"{C04}=http://10.10.10.61:2380,openstack-controller01=http://10.10.10.51:2380,"
                                "openstack-controller02=http://10.10.10.52:2380,"
                                "openstack-controller03=http://10.10.10.53:2380",
        "ETCD_INITIAL_CLUSTER_STATE": "existing",
    }
    # The minion's own id by default.
    assert ha_topology.etcd_joining(listed) == ha_topology.etcd_joining(listed, "openstack-controller01")


def test_etcd_joining_is_the_cluster_as_it_is(four):
    # controller02 was removed from the cluster (the pillar still lists it), an old member of no controller of
    # the pillar is still started, controller03 was added but never started: the cluster as it is, each
    # member not started named after the controller with its peer URL.
    listed = [_listed("", "10.10.10.53", started=False), _listed("", "10.10.10.61", started=False),
              _listed("openstack-controller01", "10.10.10.51"), _listed("openstack-controller09", "10.10.10.59")]
    joining = ha_topology.etcd_joining(listed, C04)
    assert joining["ETCD_INITIAL_CLUSTER"].split(",") == [
        "openstack-controller03=http://10.10.10.53:2380", f"{C04}=http://10.10.10.61:2380",
        "openstack-controller01=http://10.10.10.51:2380", "openstack-controller09=http://10.10.10.59:2380"]
    assert joining["ETCD_INITIAL_CLUSTER_STATE"] == "existing"
    # The pure function is given the expected members by the wrapper.
    etcd = ha_topology.ha_topology_etcd
    assert etcd.joining(listed, ha_topology.etcd_members(), C04, "etcd-cluster-01") == joining


def test_etcd_bootstrap_id_is_etcds():
    # The ids a real etcd 3.4.23 gave the members of the lab's new cluster (etcdctl member list -w json).
    etcd = ha_topology.ha_topology_etcd
    assert etcd.bootstrap_id(["http://10.10.10.51:2380"], "etcd-cluster-01") == "1c1f9e587f93061"
    assert etcd.bootstrap_id(["http://10.10.10.53:2380"], "etcd-cluster-01") == "64d447dc193c4f78"
    assert etcd.bootstrap_id(["http://10.10.10.55:2380"], "etcd-cluster-01") == "632591215e4e3587"
    # The token is part of it; the peer URLs count sorted.
    assert etcd.bootstrap_id(["http://10.10.10.51:2380"], "etcd-site-b") != "1c1f9e587f93061"
    assert etcd.bootstrap_id(["http://b:2380", "http://a:2380"], "t") == etcd.bootstrap_id(
        ["http://a:2380", "http://b:2380"], "t")


def test_etcd_created_id_is_etcds():
    # A real etcd 3.4.23 cluster of the lab's three controllers: its member ids and the header's cluster_id.
    created_id = ha_topology.ha_topology_etcd.created_id
    assert created_id(["1c1f9e587f93061", "64d447dc193c4f78", "d57a2d062fd51e4c"]) == "a54dfded61bf9080"
    assert created_id(["d57a2d062fd51e4c", "1c1f9e587f93061", "64d447dc193c4f78"]) == "a54dfded61bf9080"
    assert created_id(["1c1f9e587f93061", "64d447dc193c4f78"]) != "a54dfded61bf9080"


def _created(name, address, started=True):
    """One member the cluster was created with, with the id etcd gave it."""
    member = _listed(name, address, started)
    member["id"] = ha_topology.ha_topology_etcd.bootstrap_id(member["peer_urls"], "etcd-cluster-01")
    return member


def ids(members):
    return [member["id"] for member in members]


def test_etcd_a_member_of_a_new_cluster_started_after_the_others(four):
    # A first deploy of four: 01, 02 and 04 formed the new cluster before 03 asked it. 03 starts as one of the
    # members it was created with (state new); a member added later (random id) is not one of them.
    created_id = ha_topology.ha_topology_etcd.created_id
    listed = [_created("", "10.10.10.53", started=False), _created("openstack-controller01", "10.10.10.51"),
              _created("openstack-controller02", "10.10.10.52"), _created(C04, "10.10.10.61")]
    assert ha_topology.etcd_joining(listed, "openstack-controller03", cluster_id=created_id(ids(listed))) == {
        "ETCD_INITIAL_CLUSTER": "openstack-controller03=http://10.10.10.53:2380,"
                                "openstack-controller01=http://10.10.10.51:2380,"
                                "openstack-controller02=http://10.10.10.52:2380,"
                                f"{C04}=http://10.10.10.61:2380",
        "ETCD_INITIAL_CLUSTER_STATE": "new",
    }
    # Without the cluster's id, or with another one: joined as it is.
    assert ha_topology.etcd_joining(listed, "openstack-controller03")["ETCD_INITIAL_CLUSTER_STATE"] == "existing"
    assert ha_topology.etcd_joining(listed, "openstack-controller03", cluster_id="1234")[
        "ETCD_INITIAL_CLUSTER_STATE"] == "existing"
    added = _listed("", "10.10.10.61", started=False)
    created = [_created("", "10.10.10.53", started=False), *listed[1:3]]
    assert ha_topology.etcd_joining([added, *created], "openstack-controller03", cluster_id=created_id(ids(created)))[
        "ETCD_INITIAL_CLUSTER"] == ("openstack-controller03=http://10.10.10.53:2380,"
                                    "openstack-controller01=http://10.10.10.51:2380,"
                                    "openstack-controller02=http://10.10.10.52:2380")
    # A member it was created with was removed since (C04): the created ones left do not give the cluster's id,
    # and a new cluster of them would be another one: joined as it is.
    assert ha_topology.etcd_joining(created, "openstack-controller03", cluster_id=created_id(ids(listed)))[
        "ETCD_INITIAL_CLUSTER_STATE"] == "existing"
    # The member added to the running cluster joins it as it is, the member not started yet included.
    joined = ha_topology.etcd_joining([added, *created], C04, cluster_id=created_id(ids(created)))
    assert joined["ETCD_INITIAL_CLUSTER_STATE"] == "existing"
    assert joined["ETCD_INITIAL_CLUSTER"].startswith(f"{C04}=http://10.10.10.61:2380,openstack-controller03=")
    # Another token: another cluster's ids, so not one this member was created with.
    four["etcd"]["cluster_token"] = "etcd-site-b"
    assert ha_topology.etcd_joining(listed, "openstack-controller03", cluster_id=created_id(ids(listed)))[
        "ETCD_INITIAL_CLUSTER_STATE"] == "existing"


def test_etcd_joining_refuses_a_member_it_cannot_name(four):
    started = [_listed(name, f"10.10.10.5{i}") for i, name in enumerate(CONTROLLERS, 1)]
    stranger = _listed("", "10.10.10.70", started=False)
    with pytest.raises(CommandExecutionError, match=r"^cannot join the running etcd cluster: no controller has the "
                                                    r"peer URL of member \w+ \['http://10.10.10.70:2380'\]$"):
        ha_topology.etcd_joining([stranger, _listed("", "10.10.10.61", started=False), *started], C04)
    # This member not added yet: no initial cluster without it.
    with pytest.raises(CommandExecutionError, match=f"^cannot join the running etcd cluster: {C04} is not a member$"):
        ha_topology.etcd_joining(started, C04)
    with pytest.raises(ValueError, match=f"^{C04} is not a member$"):
        ha_topology.ha_topology_etcd.joining(started, ha_topology.etcd_members(), C04, "etcd-cluster-01")
    with pytest.raises(CommandExecutionError, match="^openstack-compute01 is not a controller in ha:nodes$"):
        ha_topology.etcd_joining(started, "openstack-compute01")


def test_defaults_when_optional_keys_are_missing(ha):
    del ha["memcached"]
    for key in ("port", "management_port", "ram_nodes", "cluster_partition_handling", "queue_type", "ha_policy",
                "settings"):
        del ha["rabbitmq"][key]
    del ha["etcd"]["client_port"], ha["etcd"]["peer_port"]
    assert ha_topology.validate(ha) == []
    assert ha_topology.memcached_node() == {"address": "10.10.10.51", "port": 11211, "memory_mb": 64,
                                            "max_connections": 1024}
    node = ha_topology.rabbitmq_node("openstack-controller02")
    assert node["node_type"] == "disc" and node["management_port"] == 15672
    assert node["settings"] == {
        "cluster_partition_handling": "pause_minority", "distribution.listener.interface": "10.10.10.52",
        "listeners.tcp.1": "10.10.10.52:5672", "loopback_users.guest": "true", "management.tcp.ip": "10.10.10.52",
        "management.tcp.port": 15672, "net_ticktime": 10,
    }
    access = ha_topology.rabbitmq_access()
    assert access["ha_policy"]["name"] == "ha-all" and access["ha_policy"]["definition"] == {"ha-mode": "all"}
    assert ha_topology.etcd_members()["openstack-controller03"] == {"peer_url": "http://10.10.10.53:2380",
                                                                    "client_url": "http://10.10.10.53:2379"}


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda h: h["rabbitmq"].__setitem__("ram_nodes", ["openstack-controller01"]),
         "ha:rabbitmq:ram_nodes: openstack-controller01 is the first controller, which the others join; it must "
         "stay a disc node"),
        (lambda h: h["rabbitmq"].__setitem__("ram_nodes", ["openstack-controller02", "openstack-compute01"]),
         "ha:rabbitmq:ram_nodes: 'openstack-compute01' is not a controller"),
        (lambda h: h["rabbitmq"].__setitem__("ram_nodes", "openstack-controller02"),
         "ha:rabbitmq:ram_nodes: 'openstack-controller02' must be a list, not a string"),
        (lambda h: h["rabbitmq"].__setitem__("cluster_partition_handling", "pause_if_all_down"),
         "ha:rabbitmq:cluster_partition_handling: 'pause_if_all_down' must be one of pause_minority, autoheal, "
         "ignore"),
        (lambda h: h["rabbitmq"].__setitem__("queue_type", "stream"),
         "ha:rabbitmq:queue_type: 'stream' must be one of mirrored, quorum"),
        (lambda h: h["rabbitmq"]["ha_policy"].__setitem__("definition", {}),
         "ha:rabbitmq:ha_policy: must have a name, a pattern and a definition mapping"),
        (lambda h: h["rabbitmq"]["ha_policy"].pop("pattern"),
         "ha:rabbitmq:ha_policy: must have a name, a pattern and a definition mapping"),
        (lambda h: h["rabbitmq"].__setitem__("ha_policy", "ha-all"),
         "ha:rabbitmq:ha_policy: 'ha-all' must be a mapping, not a string"),
        (lambda h: h["rabbitmq"]["settings"].__setitem__("listeners.tcp.1", "0.0.0.0:5672"),
         "ha:rabbitmq:settings:listeners.tcp.1: is derived from the topology and ha:rabbitmq; remove it"),
        (lambda h: h["rabbitmq"]["settings"].__setitem__("loopback_users.guest", "false"),
         "ha:rabbitmq:settings:loopback_users.guest: is derived from the topology and ha:rabbitmq; remove it"),
        (lambda h: h["rabbitmq"]["settings"].__setitem__("log.file", {"level": "debug"}),
         "ha:rabbitmq:settings:log.file: must be a single value, not a mapping"),
        (lambda h: h["rabbitmq"].__setitem__("management_port", 5672),
         "ha:rabbitmq:management_port: 5672 is also ha:rabbitmq:port"),
        (lambda h: h["rabbitmq"].__setitem__("port", 0), "ha:rabbitmq:port: 0 must be a TCP port from 1 to 65535"),
        (lambda h: h["haproxy"]["listeners"]["rabbitmq"].__setitem__("backend_port", 5674),
         "ha:haproxy:listeners:rabbitmq:backend_port: 5674 differs from the port of ha:rabbitmq:port, 5672"),
        (lambda h: h["haproxy"]["listeners"]["rabbitmq"].pop("backend_port"),
         "ha:haproxy:listeners:rabbitmq:port: 5673 differs from the port of ha:rabbitmq:port, 5672"),
        (lambda h: h["memcached"].__setitem__("memory_mb", 8),
         "ha:memcached:memory_mb: 8 must be a size in MiB from 16 to 1048576"),
        (lambda h: h["memcached"].__setitem__("memory_mb", "1G"),
         "ha:memcached:memory_mb: '1G' must be an integer, not a string"),
        (lambda h: h["memcached"].__setitem__("max_connections", True),
         "ha:memcached:max_connections: True must be an integer, not true/false"),
        (lambda h: h["memcached"].__setitem__("max_connections", 1048577),
         "ha:memcached:max_connections: 1048577 must be a number from 16 to 1048576"),
        (lambda h: h["memcached"].__setitem__("port", 65536),
         "ha:memcached:port: 65536 must be a TCP port from 1 to 65535"),
        (lambda h: h["etcd"].__setitem__("peer_port", 2379), "ha:etcd:peer_port: 2379 is also ha:etcd:client_port"),
        (lambda h: h["etcd"].__setitem__("client_port", "2379"),
         "ha:etcd:client_port: '2379' must be an integer, not a string"),
        (lambda h: h["rabbitmq"]["ha_policy"].__setitem__("priority", "high"),
         "ha:rabbitmq:ha_policy:priority: 'high' must be an integer, not a string"),
        (lambda h: h["rabbitmq"]["ha_policy"].__setitem__("apply_to", "streams"),
         "ha:rabbitmq:ha_policy:apply_to: 'streams' must be one of all, queues, exchanges"),
        (lambda h: h["memcached"].__setitem__("port", 2379),
         "ha:etcd:client_port: 2379 is also used on every controller by ha:memcached:port"),
        (lambda h: h["rabbitmq"].__setitem__("management_port", 4567),
         "ha:rabbitmq:management_port: 4567 is also used on every controller by Galera replication"),
        (lambda h: h["etcd"].__setitem__("peer_port", 9200),
         "ha:etcd:peer_port: 9200 is also used on every controller by ha:galera:clustercheck:port"),
        (lambda h: h["etcd"].__setitem__("cluster_token", "etcd cluster"),
         "ha:etcd:cluster_token: 'etcd cluster' must be 1 to 63 letters, digits, '.', '_' or '-'"),
    ],
)
def test_services_validation(ha, mutate, error):
    mutate(ha)
    assert ha_topology.validate(ha) == [error]


def test_rabbitmq_section_must_be_a_mapping(ha):
    ha["rabbitmq"] = ["port", 5672]
    errors = ha_topology.validate(ha)
    assert errors == ["ha:rabbitmq: must be a mapping, not a list"]


@pytest.mark.parametrize("section", ["memcached", "etcd"])
def test_optional_sections_must_be_mappings(ha, section):
    ha[section] = [11211]
    errors = ha_topology.validate(ha)
    assert f"ha:{section}: must be a mapping, not a list" in errors
    assert all(error.startswith(f"ha:{section}") for error in errors), errors


def test_formula_map_is_rendered_once(renderer):
    assert ha_topology.formula_map() == MAP
    assert ha_topology.formula_map() is ha_topology.__context__["ha_topology.map"]
    assert renderer.calls == [("salt://ha/map.json.jinja", {"default_renderer": "jinja|json"})]


@pytest.mark.parametrize("rendered", ["not a map", None, ["galera"], {"rabbitmq": {}}])
def test_formula_map_must_render_to_a_map(renderer, rendered):
    renderer.value = rendered
    with pytest.raises(CommandExecutionError,
                       match="^cannot render the formula's map from salt://ha/map.json.jinja: "):
        ha_topology.formula_map()
    assert "ha_topology.map" not in ha_topology.__context__


def test_etcd_joining_refuses_two_members_of_one_name(four):
    # A controller re-added at another address while its old member is still listed.
    started = [_listed(name, f"10.10.10.5{i}") for i, name in enumerate(CONTROLLERS, 1)]
    stale = _listed(C04, "10.10.10.44")
    with pytest.raises(CommandExecutionError, match=f"are both {C04}: remove the stale one"):
        ha_topology.etcd_joining([*started, stale, _listed("", "10.10.10.61", started=False)], C04)
