"""Unit tests of _modules/ha_pacemaker.py: corosync.conf, known hosts, the CIB and its diff, and the commands
(pcs, crm_mon, chpasswd) over a fake cmd.run_all."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from salt.exceptions import CommandExecutionError

from tests.helpers import load_module, valid_pillar

ha_pacemaker = load_module("_modules/ha_pacemaker.py", "ha_pacemaker_module")
ha_topology = load_module("_modules/ha_topology.py", "ha_topology_for_pacemaker_module")
C01, C02, C03 = (f"openstack-controller0{i}" for i in (1, 2, 3))
CLONE = "lb-haproxy-clone"
PCS = "/usr/sbin/pcs"
SECRET = "pw-of-hacluster-4b7e1c90d2aa"
# Debian's package corosync.conf (the one-node cluster it starts at install).
DEBIAN_CONF = """\
totem {
\tversion: 2
\tcluster_name: debian
\tcrypto_cipher: none
\tcrypto_hash: none
}
logging {
\tfileline: off
\tlogger_subsys {
\t\tsubsys: QUORUM
\t\tdebug: off
\t}
}
quorum {
\tprovider: corosync_votequorum
}
nodelist {
\tnode {
\t\tname: node1
\t\tnodeid: 1
\t\tring0_addr: 127.0.0.1
\t}
}
"""
# As pcs cluster setup writes it, with a link section and comments added.
PCS_CONF = """\
# Written by pcs
totem {
    version: 2
    cluster_name: openstack-cluster-01
    transport: knet
    token: 1000
    interface {
        linknumber: 0
    }
}

nodelist {
    node {
        ring0_addr: 10.10.10.51
        name: openstack-controller01
        nodeid: 1
    }

    node {
        ring0_addr: 10.10.10.52
        name: openstack-controller02
        nodeid: 2
    }

    node {
        ring0_addr: 10.10.10.53
        name: openstack-controller03
        nodeid: 3
    }
}
"""
# A CIB as the formula leaves it (pacemaker 2.1, pcs 0.11).
CIB = """\
<cib crm_feature_set="3.16.2" validate-with="pacemaker-3.9" epoch="12" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="cib-bootstrap-options">
        <nvpair id="cib-bootstrap-options-have-watchdog" name="have-watchdog" value="false"/>
        <nvpair id="cib-bootstrap-options-stonith-enabled" name="stonith-enabled" value="false"/>
        <nvpair id="cib-bootstrap-options-no-quorum-policy" name="no-quorum-policy" value="stop"/>
      </cluster_property_set>
    </crm_config>
    <nodes/>
    <resources>
      <primitive class="ocf" id="vip" provider="heartbeat" type="IPaddr2">
        <instance_attributes id="vip-instance_attributes">
          <nvpair id="vip-instance_attributes-cidr_netmask" name="cidr_netmask" value="24"/>
          <nvpair id="vip-instance_attributes-ip" name="ip" value="10.10.10.69"/>
          <nvpair id="vip-instance_attributes-run_arping" name="run_arping" value="false"/>
        </instance_attributes>
        <meta_attributes id="vip-meta_attributes">
          <nvpair id="vip-meta_attributes-resource-stickiness" name="resource-stickiness" value="100"/>
          <nvpair id="vip-meta_attributes-failure-timeout" name="failure-timeout" value="60s"/>
        </meta_attributes>
        <operations>
          <op id="vip-monitor-interval-10s" interval="10s" name="monitor"/>
          <op id="vip-start-interval-0s" interval="0s" name="start" timeout="20s"/>
        </operations>
      </primitive>
      <clone id="lb-haproxy-clone">
        <primitive class="systemd" id="lb-haproxy" type="haproxy">
          <meta_attributes id="lb-haproxy-meta_attributes">
            <nvpair id="lb-haproxy-meta_attributes-failure-timeout" name="failure-timeout" value="60s"/>
          </meta_attributes>
          <operations>
            <op id="lb-haproxy-monitor-interval-10s" interval="10s" name="monitor"/>
          </operations>
        </primitive>
      </clone>
    </resources>
    <constraints>
      <rsc_order first="vip" then="lb-haproxy-clone" kind="Optional" first-action="start" then-action="start" \
symmetrical="false" id="order-vip-lb-haproxy-clone-Optional"/>
      <rsc_colocation id="colocation-vip-lb-haproxy-clone-INFINITY" rsc="vip" score="INFINITY" \
with-rsc="lb-haproxy-clone"/>
      <rsc_location id="location-vip" rsc="vip">
        <rule id="location-vip-rule" score="50">
          <expression id="location-vip-rule-expr" operation="ne" attribute="#is_dc" value="true"/>
        </rule>
      </rsc_location>
    </constraints>
  </configuration>
  <status/>
</cib>
"""
ORDER = {"type": "order", "id": "order-vip-lb-haproxy-clone-Optional", "first": "vip", "first-action": "start",
         "then": CLONE, "then-action": "start", "kind": "Optional", "symmetrical": "false"}
COLOCATION = {"type": "colocation", "id": "colocation-vip-lb-haproxy-clone-INFINITY", "rsc": "vip",
              "with-rsc": CLONE, "score": "INFINITY"}
ADD_ORDER = ["constraint", "order", "start", "vip", "then", "start", CLONE, "kind=Optional", "symmetrical=false"]
ADD_COLOCATION = ["constraint", "colocation", "add", "vip", "with", CLONE, "INFINITY"]
LOCATION = {"type": "location", "id": "location-vip", "rsc": "vip", "score": "50", "rule": "#is_dc ne true"}
ADD_LOCATION = ["constraint", "location", "vip", "rule", "score=50", "#is_dc", "ne", "true"]
# What pcs resource move leaves: a location of the operator's, not the formula's.
MOVED = {"type": "location", "id": "cli-prefer-vip", "rsc": "vip", "score": "INFINITY", "rule": None}


@pytest.fixture
def pacemaker_map(tmp_path):
    return {"corosync_conf": str(tmp_path / "corosync.conf"), "known_hosts": str(tmp_path / "known-hosts"),
            "package_cluster": {"name": "debian", "nodes": {"node1": "127.0.0.1"}}, "user": "hacluster",
            "pcs": PCS, "crm_mon": "/usr/sbin/crm_mon", "cibadmin": "/usr/sbin/cibadmin",
            "crm_node": "/usr/sbin/crm_node"}


@pytest.fixture
def configure_loader_modules(pacemaker_map, run_all, utils):
    return {ha_pacemaker: {"__salt__": {"ha_topology.formula_map": lambda: {"pacemaker": pacemaker_map},
                                        "cmd.run_all": run_all,
                                        # The waits' probes call the module through __salt__.
                                        "ha_pacemaker.status": lambda: ha_pacemaker.status(),
                                        "ha_pacemaker.pcsd_status": lambda nodes: ha_pacemaker.pcsd_status(nodes),
                                        "ha_pacemaker.forget_node": lambda node: ha_pacemaker.forget_node(node)},
                           "__utils__": utils, "__context__": {}}}


@pytest.fixture
def wanted():
    """What the formula passes to ha_pacemaker.configured for pillar.example."""
    return ha_topology.pacemaker_resources("haproxy", valid_pillar())


@pytest.fixture
def current(wanted):
    """The CIB above with the formula's properties set: nothing differs."""
    cib = ha_pacemaker.parse_cib(CIB)
    cib["properties"].update(wanted["properties"])
    return cib


def run_diff(current, wanted):
    return ha_pacemaker.diff(current, wanted["properties"], wanted["resources"], wanted["constraints"])


# parse_corosync_conf and cluster_config


def test_parse_debian_package_conf():
    assert ha_pacemaker.parse_corosync_conf(DEBIAN_CONF) == {
        "totem": {"version": "2", "cluster_name": "debian", "crypto_cipher": "none", "crypto_hash": "none"},
        "logging": {"fileline": "off", "logger_subsys": {"subsys": "QUORUM", "debug": "off"}},
        "quorum": {"provider": "corosync_votequorum"},
        "nodelist": {"node": {"name": "node1", "nodeid": "1", "ring0_addr": "127.0.0.1"}},
    }


def test_parse_repeated_sections_and_comments():
    conf = ha_pacemaker.parse_corosync_conf(PCS_CONF)
    assert conf["totem"] == {"version": "2", "cluster_name": "openstack-cluster-01", "transport": "knet",
                             "token": "1000", "interface": {"linknumber": "0"}}
    assert conf["nodelist"]["node"] == [
        {"ring0_addr": f"10.10.10.5{i}", "name": f"openstack-controller0{i}", "nodeid": str(i)} for i in (1, 2, 3)]
    assert list(conf) == ["totem", "nodelist"]


def test_parse_value_with_colons():
    assert ha_pacemaker.parse_corosync_conf("nodelist {\n node {\n  ring0_addr: fe80::1\n }\n}\n") == {
        "nodelist": {"node": {"ring0_addr": "fe80::1"}}}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("totem {\n version: 2\n}\n}\n", "^corosync.conf line 4: '}' without an open section$"),
        ("totem {\n version: 2\n", "^corosync.conf: a section is not closed$"),
        ("totem {\n nodelist {\n}\n", "^corosync.conf: a section is not closed$"),
        ("totem {\n version 2\n}\n", "^corosync.conf line 2: cannot read 'version 2'$"),
    ],
)
def test_parse_errors(text, message):
    with pytest.raises(CommandExecutionError, match=message):
        ha_pacemaker.parse_corosync_conf(text)


def test_cluster_config_of_the_package(pacemaker_map):
    with open(pacemaker_map["corosync_conf"], "w", encoding="utf-8") as handle:
        handle.write(DEBIAN_CONF)
    config = ha_pacemaker.cluster_config()
    assert config == {
        "name": "debian",
        "nodes": {"node1": "127.0.0.1"},
        "totem": {"version": "2", "cluster_name": "debian", "crypto_cipher": "none", "crypto_hash": "none"},
    }
    assert ha_pacemaker.is_package_cluster(config) is True


def test_cluster_config_of_a_given_path(tmp_path):
    path = tmp_path / "other.conf"
    path.write_text(PCS_CONF, encoding="utf-8")
    config = ha_pacemaker.cluster_config(str(path))
    assert config == {
        "name": "openstack-cluster-01",
        "nodes": {C01: "10.10.10.51", C02: "10.10.10.52", C03: "10.10.10.53"},
        "totem": {"version": "2", "cluster_name": "openstack-cluster-01", "transport": "knet", "token": "1000"},
    }
    assert ha_pacemaker.is_package_cluster(config) is False


def test_cluster_config_without_a_file_or_a_nodelist(tmp_path):
    assert ha_pacemaker.cluster_config() is None
    path = tmp_path / "bare.conf"
    path.write_text("totem {\n cluster_name: bare\n}\n", encoding="utf-8")
    assert ha_pacemaker.cluster_config(str(path)) == {"name": "bare", "nodes": {}, "totem": {"cluster_name": "bare"}}


def test_cluster_config_raises_on_a_broken_file(tmp_path):
    path = tmp_path / "broken.conf"
    path.write_text("totem {\n", encoding="utf-8")
    with pytest.raises(CommandExecutionError, match="not closed"):
        ha_pacemaker.cluster_config(str(path))


@pytest.mark.parametrize(
    "config",
    [None, {"name": "debian", "nodes": {"node1": "127.0.0.1", "node2": "127.0.0.2"}, "totem": {}},
     {"name": "openstack-cluster-01", "nodes": {"node1": "127.0.0.1"}, "totem": {}},
     {"name": "debian", "nodes": {"node1": "10.10.10.51"}, "totem": {}}],
)
def test_is_package_cluster_false(config):
    assert ha_pacemaker.is_package_cluster(config) is False


def test_no_package_cluster_in_the_map(pacemaker_map):
    pacemaker_map["package_cluster"] = None
    assert ha_pacemaker.is_package_cluster({"name": "debian", "nodes": {"node1": "127.0.0.1"}, "totem": {}}) is False


# known_hosts


def test_known_hosts_without_tokens(pacemaker_map):
    data = {"format_version": 1, "data_version": 3, "known_hosts": {
        C01: {"dest_list": [{"addr": "10.10.10.51", "port": 2224}], "token": "token-of-01-5f3c"},
        C02: {"dest_list": [{"addr": "10.10.10.52", "port": 2224}, {"addr": "192.168.0.52", "port": 2224}],
              "token": "token-of-02-a9d1"},
    }}
    with open(pacemaker_map["known_hosts"], "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    hosts = ha_pacemaker.known_hosts()
    assert hosts == {C01: ["10.10.10.51"], C02: ["10.10.10.52", "192.168.0.52"]}
    assert "token" not in repr(hosts)


def test_known_hosts_missing_empty_or_broken(pacemaker_map):
    assert ha_pacemaker.known_hosts() == {}
    with open(pacemaker_map["known_hosts"], "w", encoding="utf-8") as handle:
        json.dump({"format_version": 1, "known_hosts": {}}, handle)
    assert ha_pacemaker.known_hosts() == {}
    with open(pacemaker_map["known_hosts"], "w", encoding="utf-8") as handle:
        handle.write('{"known_hosts": {"a": ')
    with pytest.raises(CommandExecutionError, match=r"/known-hosts is not valid JSON: "):
        ha_pacemaker.known_hosts()


# parse_cib


def test_parse_cib():
    assert ha_pacemaker.parse_cib(CIB) == {
        "properties": {"have-watchdog": "false", "stonith-enabled": "false", "no-quorum-policy": "stop"},
        "resources": {
            "vip": {"agent": "ocf:heartbeat:IPaddr2", "options": {"cidr_netmask": "24", "ip": "10.10.10.69",
                                                                  "run_arping": "false"},
                    "monitor_interval": "10s", "meta": {"resource-stickiness": "100", "failure-timeout": "60s"},
                    "clone": None},
            "lb-haproxy": {"agent": "systemd:haproxy", "options": {}, "monitor_interval": "10s",
                           "meta": {"failure-timeout": "60s"},
                           "clone": CLONE},
        },
        "constraints": [ORDER, COLOCATION, LOCATION],
    }


def test_parse_cib_defaults_and_empty_sections():
    cib = ha_pacemaker.parse_cib(
        '<cib><configuration><crm_config/><resources><primitive class="ocf" id="x" provider="heartbeat" '
        'type="Dummy"/></resources><constraints><rsc_order id="o" first="x" then="y"/></constraints>'
        "</configuration></cib>")
    assert cib == {
        "properties": {},
        "resources": {"x": {"agent": "ocf:heartbeat:Dummy", "options": {}, "monitor_interval": None, "meta": {},
                            "clone": None}},
        "constraints": [{"type": "order", "id": "o", "first": "x", "first-action": "start", "then": "y",
                         "then-action": "start", "kind": "Mandatory", "symmetrical": "true"}],
    }


@pytest.mark.parametrize(("xml", "message"), [("<cib><configuration>", "^cannot read the CIB: "),
                                               ("<cib><status/></cib>", "^the CIB has no configuration section$")])
def test_parse_cib_errors(xml, message):
    with pytest.raises(CommandExecutionError, match=message):
        ha_pacemaker.parse_cib(xml)


# diff


def test_diff_nothing_differs(current, wanted):
    assert run_diff(current, wanted) == {"changes": {}, "commands": []}


def test_diff_of_the_measured_cib_sets_only_the_properties(wanted):
    assert run_diff(ha_pacemaker.parse_cib(CIB), wanted) == {
        "changes": {"properties": {
            "cluster-recheck-interval": {"old": None, "new": "5min"},
            "pe-error-series-max": {"old": None, "new": "1000"},
            "pe-input-series-max": {"old": None, "new": "1000"},
            "pe-warn-series-max": {"old": None, "new": "1000"},
            "transition-delay": {"old": None, "new": "150ms"},
        }},
        "commands": [["property", "set", "cluster-recheck-interval=5min", "pe-error-series-max=1000",
                      "pe-input-series-max=1000", "pe-warn-series-max=1000"],
                     ["property", "set", "--force", "transition-delay=150ms"]],
    }


def test_diff_gives_a_cluster_deployed_before_the_failure_timeout_its_meta_alone(current, wanted):
    for resource in current["resources"].values():
        del resource["meta"]["failure-timeout"]
    assert run_diff(current, wanted) == {
        "changes": {"resources": {"vip": {"meta": {"failure-timeout": {"old": None, "new": "60s"}}},
                                  "lb-haproxy": {"meta": {"failure-timeout": {"old": None, "new": "60s"}}}}},
        "commands": [["resource", "meta", "vip", "failure-timeout=60s"],
                     ["resource", "meta", "lb-haproxy", "failure-timeout=60s"]],
    }


def test_diff_forces_only_the_properties_in_milliseconds(current, wanted):
    # pcs 0.11 refuses "150ms" (it knows s, m and h); only that value is forced.
    current["properties"]["transition-delay"] = "1s"
    current["properties"]["stonith-enabled"] = "true"
    assert run_diff(current, wanted)["commands"] == [
        ["property", "set", "stonith-enabled=false"],
        ["property", "set", "--force", "transition-delay=150ms"],
    ]
    wanted["properties"]["transition-delay"] = "2s"
    assert run_diff(current, wanted)["commands"] == [
        ["property", "set", "stonith-enabled=false", "transition-delay=2s"],
    ]


def test_diff_changed_property(current, wanted):
    current["properties"]["stonith-enabled"] = "true"
    assert run_diff(current, wanted) == {
        "changes": {"properties": {"stonith-enabled": {"old": "true", "new": "false"}}},
        "commands": [["property", "set", "stonith-enabled=false"]],
    }


def test_diff_creates_missing_resources_and_constraints(wanted):
    empty = {"properties": dict(wanted["properties"]), "resources": {}, "constraints": []}
    assert run_diff(empty, wanted) == {
        "changes": {
            "resources": {"vip": {"old": None, "new": "created"}, "lb-haproxy": {"old": None, "new": "created"}},
            "constraints": {
                f"order start vip then start {CLONE} kind=Optional symmetrical=false": {"old": None, "new": "present"},
                f"colocation add vip with {CLONE} INFINITY": {"old": None, "new": "present"},
                "location vip rule score=50 #is_dc ne true": {"old": None, "new": "present"},
            },
        },
        "commands": [
            ["resource", "create", "vip", "ocf:heartbeat:IPaddr2", "ip=10.10.10.69", "cidr_netmask=24",
             "run_arping=false", "op", "monitor", "interval=10s", "meta", "resource-stickiness=100",
             "failure-timeout=60s"],
            ["resource", "create", "lb-haproxy", "systemd:haproxy", "op", "monitor", "interval=10s", "meta",
             "failure-timeout=60s", "clone"],
            ADD_ORDER,
            ADD_COLOCATION,
            ADD_LOCATION,
        ],
    }


@pytest.mark.parametrize(
    ("have", "message"),
    [({"agent": "ocf:heartbeat:IPaddr", "clone": None}, "^resource vip exists as ocf:heartbeat:IPaddr, not "
      r"ocf:heartbeat:IPaddr2: remove it \(pcs resource delete vip\) and deploy again$"),
     ({"clone": "vip-clone"}, "^resource vip exists as ocf:heartbeat:IPaddr2 in vip-clone, not "
      "ocf:heartbeat:IPaddr2: remove it")],
)
def test_diff_refuses_a_resource_of_another_kind(current, wanted, have, message):
    current["resources"]["vip"].update(have)
    with pytest.raises(CommandExecutionError, match=message):
        run_diff(current, wanted)


def test_diff_updates_options_monitor_and_meta(current, wanted):
    vip = current["resources"]["vip"]
    vip.update(options={"ip": "10.10.10.70", "cidr_netmask": "24", "run_arping": "true", "nic": "eth0"},
               monitor_interval="30s",
               meta={"resource-stickiness": "0", "failure-timeout": "60s", "target-role": "Started"})
    current["resources"]["lb-haproxy"]["monitor_interval"] = "20s"
    assert run_diff(current, wanted) == {
        "changes": {"resources": {
            # A VIP of a cluster deployed before the quorum guard: its duplicate address check goes.
            "vip": {"options": {"ip": {"old": "10.10.10.70", "new": "10.10.10.69"},
                                "run_arping": {"old": "true", "new": "false"}},
                    "monitor_interval": {"old": "30s", "new": "10s"},
                    "meta": {"resource-stickiness": {"old": "0", "new": "100"}}},
            "lb-haproxy": {"monitor_interval": {"old": "20s", "new": "10s"}},
        }},
        "commands": [
            ["resource", "update", "vip", "ip=10.10.10.69", "run_arping=false"],
            ["resource", "update", "vip", "op", "monitor", "interval=10s"],
            ["resource", "meta", "vip", "resource-stickiness=100"],
            ["resource", "update", "lb-haproxy", "op", "monitor", "interval=10s"],
        ],
    }


def test_diff_adds_a_missing_option_and_meta(current, wanted):
    vip = current["resources"]["vip"]
    vip.update(options={"ip": "10.10.10.69"}, meta={})
    assert run_diff(current, wanted)["commands"] == [
        ["resource", "update", "vip", "cidr_netmask=24", "run_arping=false"],
        ["resource", "meta", "vip", "resource-stickiness=100", "failure-timeout=60s"]]


def test_diff_adds_a_missing_constraint(current, wanted):
    current["constraints"] = [ORDER, LOCATION]
    assert run_diff(current, wanted) == {
        "changes": {"constraints": {f"colocation add vip with {CLONE} INFINITY": {"old": None, "new": "present"}}},
        "commands": [ADD_COLOCATION],
    }


@pytest.mark.parametrize(
    ("other", "add"),
    [({**ORDER, "id": "order-vip-lb-haproxy-clone-mandatory", "kind": "Mandatory"}, ADD_ORDER),
     ({**ORDER, "id": "order-reversed", "first": CLONE, "then": "vip"}, ADD_ORDER),
     ({**ORDER, "id": "order-stop", "then-action": "stop"}, ADD_ORDER),
     ({**COLOCATION, "id": "colocation-reversed", "rsc": CLONE, "with-rsc": "vip"}, ADD_COLOCATION),
     ({**COLOCATION, "id": "colocation-1000", "score": "1000"}, ADD_COLOCATION),
     ({**LOCATION, "id": "location-vip-100", "score": "100"}, ADD_LOCATION),
     ({**LOCATION, "id": "location-vip-dc", "rule": "#is_dc eq true"}, ADD_LOCATION)],
)
def test_diff_replaces_a_constraint_on_the_same_pair(current, wanted, other, add):
    current["constraints"] = [c for c in (ORDER, COLOCATION, LOCATION) if c["type"] != other["type"]] + [other]
    described = " ".join(add[1:])
    assert run_diff(current, wanted) == {
        "changes": {"constraints": {described: {"old": [other["id"]], "new": "present"}}},
        "commands": [["constraint", "remove", other["id"]], add],
    }


def test_diff_replaces_an_order_without_symmetrical(wanted):
    """An older deploy's order has no symmetrical attribute (Pacemaker's default true): removed, created again."""
    old = ' symmetrical="false"'
    assert CIB.count(old) == 1
    cib = ha_pacemaker.parse_cib(CIB.replace(old, ""))
    cib["properties"].update(wanted["properties"])
    assert cib["constraints"] == [{**ORDER, "symmetrical": "true"}, COLOCATION, LOCATION]
    assert run_diff(cib, wanted) == {
        "changes": {"constraints": {f"order start vip then start {CLONE} kind=Optional symmetrical=false": {
            "old": ["order-vip-lb-haproxy-clone-Optional"], "new": "present"}}},
        "commands": [["constraint", "remove", "order-vip-lb-haproxy-clone-Optional"], ADD_ORDER],
    }


def test_diff_removes_only_the_wrong_one_next_to_the_exact_one(current, wanted):
    wrong = {**COLOCATION, "id": "colocation-lb-haproxy-clone-vip", "rsc": CLONE, "with-rsc": "vip"}
    current["constraints"] = [ORDER, COLOCATION, LOCATION, wrong]
    assert run_diff(current, wanted) == {
        "changes": {"constraints": {f"colocation add vip with {CLONE} INFINITY": {
            "old": ["colocation-lb-haproxy-clone-vip"], "new": "present"}}},
        "commands": [["constraint", "remove", "colocation-lb-haproxy-clone-vip"]],
    }


def test_diff_removes_every_wrong_one_in_one_command(current, wanted):
    first = {**ORDER, "id": "o1", "kind": "Mandatory"}
    second = {**ORDER, "id": "o2", "first": CLONE, "then": "vip"}
    current["constraints"] = [first, COLOCATION, LOCATION, second]
    assert run_diff(current, wanted)["commands"] == [["constraint", "remove", "o1", "o2"], ADD_ORDER]


def test_diff_removes_constraints_with_the_same_words_whatever_pcs_is_installed(current, wanted, run_all):
    """pcs routes "constraint remove" and "constraint delete" to one function since 0.10.1, neither deprecated
    (EL9's 0.11.7 and later included): diff asks pcs nothing, and Debian 12's 0.11.5 keeps its commands."""
    current["constraints"] = [{**ORDER, "kind": "Mandatory"}, COLOCATION, LOCATION]
    assert run_diff(current, wanted)["commands"][0] == ["constraint", "remove", ORDER["id"]]
    assert run_all.calls == []


def test_diff_leaves_constraints_on_other_resources(current, wanted):
    others = [
        {**ORDER, "id": "order-vip-other", "then": "other-clone", "kind": "Mandatory"},
        {**COLOCATION, "id": "colocation-other", "rsc": "other", "with-rsc": CLONE, "score": "-INFINITY"},
        {**ORDER, "id": "order-other-vip", "first": "other", "then": "vip"},
        MOVED,
        {**LOCATION, "id": "location-other", "rsc": "other"},
    ]
    current["constraints"] = [ORDER, COLOCATION, LOCATION, *others]
    assert run_diff(current, wanted) == {"changes": {}, "commands": []}


def test_diff_duplicate_exact_constraints_report_no_change(current, wanted):
    current["constraints"] = [ORDER, {**ORDER, "id": "order-vip-lb-haproxy-clone-Optional-1"}, COLOCATION, LOCATION]
    result = run_diff(current, wanted)
    assert bool(result["changes"]) == bool(result["commands"]), result


def test_diff_does_not_change_its_arguments(current, wanted):
    current["properties"]["stonith-enabled"] = "true"
    current["constraints"] = [{**ORDER, "kind": "Mandatory"}]
    before = copy.deepcopy((current, wanted))
    run_diff(current, wanted)
    assert (current, wanted) == before


def test_parse_cib_location_of_a_node_and_of_a_rule_of_several_expressions():
    cib = ha_pacemaker.parse_cib(
        '<cib><configuration><constraints><rsc_location id="cli-prefer-vip" rsc="vip" node="n1" score="INFINITY"/>'
        '<rsc_location id="l2" rsc="vip"><rule id="r" score="-10" boolean-op="or">'
        '<expression id="e1" attribute="#uname" operation="eq" value="n1"/>'
        '<expression id="e2" attribute="#is_dc" operation="eq" value="true"/></rule></rsc_location>'
        "</constraints></configuration></cib>")
    assert cib["constraints"] == [MOVED, {"type": "location", "id": "l2", "rsc": "vip", "score": "-10",
                                          "rule": "#uname eq n1 or #is_dc eq true"}]


# The commands, over a fake cmd.run_all


def pcs_answering(run_all, version="0.11.5", **answers):
    """pcs --version answering ``version``; other commands by their first two words (``answers``), else success."""
    def answer(argv, **kwargs):
        if argv == [PCS, "--version"]:
            return 0, version + "\n", ""
        found = answers.get(" ".join(argv[1:3]), (0, "", ""))
        return found(argv) if callable(found) else found

    run_all.handler = answer


def test_setup_and_totem_check_the_pcs_version_once(run_all):
    pcs_answering(run_all)
    nodes = {C01: "10.10.10.51", C02: "10.10.10.52"}
    ha_pacemaker.setup("openstack-cluster-01", nodes, {"token": 500})
    ha_pacemaker.update_totem({"token": 1000})
    assert [call["argv"] for call in run_all.calls] == [
        [PCS, "--version"],
        [PCS, "cluster", "setup", "openstack-cluster-01", C01, "addr=10.10.10.51", C02, "addr=10.10.10.52",
         "totem", "token=500", "--start", "--enable"],
        [PCS, "cluster", "config", "update", "totem", "token=1000"],
        [PCS, "cluster", "reload", "corosync"],
    ]
    assert [call["timeout"] for call in run_all.calls] == [120, 300, 120, 120]


def test_unsupported_pcs_is_refused_before_any_change(run_all):
    pcs_answering(run_all, version="0.12.0")
    with pytest.raises(CommandExecutionError, match="^pcs '0.12.0' is not supported by ha_pacemaker"):
        ha_pacemaker.update_totem({"token": 1000})
    assert [call["argv"] for call in run_all.calls] == [[PCS, "--version"]]


def test_auth_sends_the_password_on_stdin_and_checks_the_tokens(run_all, pacemaker_map):
    def store_tokens(argv):
        with open(pacemaker_map["known_hosts"], "w", encoding="utf-8") as handle:
            json.dump({"known_hosts": {C01: {"dest_list": [{"addr": "10.10.10.51"}], "token": "t"}}}, handle)
        return 0, "openstack-controller01: Authorized\n", ""

    pcs_answering(run_all, **{"host auth": store_tokens})
    ha_pacemaker.auth({C01: "10.10.10.51"}, SECRET)
    call = run_all.calls[-1]
    assert call["argv"] == [PCS, "host", "auth", C01, "addr=10.10.10.51", "-u", "hacluster"]
    assert call["stdin"] == SECRET + "\n" and call["timeout"] == 180
    with pytest.raises(CommandExecutionError, match=f"^pcs host auth stored no token for {C02}: "):
        ha_pacemaker.auth({C01: "10.10.10.51", C02: "10.10.10.52"}, SECRET)


def test_failed_pcs_command_names_it_with_its_last_lines_and_no_secret(run_all):
    pcs_answering(run_all, **{"host auth": (1, "", "Error: a\nc02: b\nc03: c\nc04: d\nError: e\n")})
    with pytest.raises(CommandExecutionError) as err:
        ha_pacemaker.auth({C01: "10.10.10.51"}, SECRET)
    # The last 4 lines, after the earlier errors (which name the node that failed).
    assert str(err.value) == "pcs host auth failed (exit 1): Error: a c02: b c03: c c04: d Error: e"


def test_pcs_that_hangs_or_is_missing(run_all):
    pcs_answering(run_all, **{"cluster setup": lambda argv: run_all.timed_out(argv, 300)})
    with pytest.raises(CommandExecutionError, match="^pcs cluster setup did not finish within 300 s$"):
        ha_pacemaker.setup("c", {C01: "10.10.10.51"})
    run_all.handler = lambda argv, **kwargs: run_all.missing(argv)
    with pytest.raises(CommandExecutionError, match=f"^{PCS} not found: are the formula's pacemaker packages "
                                                    r"installed \(ha.pacemaker.install\)\?$"):
        ha_pacemaker.version()


def test_set_password_through_chpasswd_on_stdin(run_all):
    ha_pacemaker.set_password("hacluster", SECRET)
    (call,) = run_all.calls
    assert call["argv"] == ["chpasswd"] and call["stdin"] == f"hacluster:{SECRET}\n"
    run_all.handler = lambda argv, **kwargs: (1, "", "chpasswd: user 'hacluster' does not exist\n")
    with pytest.raises(CommandExecutionError, match="^chpasswd for hacluster failed \\(exit 1\\): chpasswd: user "
                                                    "'hacluster' does not exist$"):
        ha_pacemaker.set_password("hacluster", SECRET)
    with pytest.raises(CommandExecutionError, match="cannot contain a newline"):
        ha_pacemaker.set_password("hacluster", "two\nlines")
    assert len(run_all.calls) == 2


def test_push_edits_a_copy_of_the_cib_and_pushes_it_once(run_all):
    def cib_copy(argv):
        with open(argv[3], "w", encoding="utf-8") as handle:
            handle.write(CIB)
        return 0, "", ""

    pcs_answering(run_all, **{"cluster cib": cib_copy})
    ha_pacemaker.push([["property", "set", "stonith-enabled=false"], ADD_COLOCATION])
    argvs = [call["argv"][1:] for call in run_all.calls[1:]]
    original = argvs[0][2]
    edited = original.replace("original.xml", "edited.xml")
    assert argvs == [["cluster", "cib", original], ["-f", edited, "property", "set", "stonith-enabled=false"],
                     ["-f", edited, *ADD_COLOCATION], ["cluster", "cib-push", edited, f"diff-against={original}"]]


CRM_MON = f"""<pacemaker-result api-version="2.30" request="crm_mon --one-shot --inactive --output-as=xml">
  <summary><current_dc present="true" name="{C01}" with_quorum="true"/></summary>
  <nodes><node name="{C01}" online="true"/><node name="{C02}" online="true"/><node name="{C03}" online="false"/></nodes>
  <resources>
    <resource id="vip" role="Started" active="true" failed="false"><node name="{C02}"/></resource>
    <clone id="{CLONE}">
      <resource id="lb-haproxy" role="Started" active="true" failed="false"><node name="{C02}"/></resource>
      <resource id="lb-haproxy" role="Started" active="true" failed="false"><node name="{C01}"/></resource>
      <resource id="lb-haproxy" role="Stopped" active="false" failed="false"/>
    </clone>
  </resources>
  <status code="0" message="OK"/>
</pacemaker-result>
"""
NOT_RUNNING = ('<pacemaker-result api-version="2.30"><status code="102" message="Not connected"><errors>'
               "<error>crm_mon: Connection to cluster failed: Connection refused</error></errors></status>"
               "</pacemaker-result>")
UP = {"quorate": True, "dc": C01, "nodes": {C01: True, C02: True, C03: False},
      "resources": {"vip": [C02], CLONE: [C01, C02]}, "failed_actions": []}


def test_status_of_crm_mon(run_all):
    run_all.handler = lambda argv, **kwargs: (0, CRM_MON, "")
    assert ha_pacemaker.status() == UP
    (call,) = run_all.calls
    assert call["argv"] == ["/usr/sbin/crm_mon", "--one-shot", "--inactive", "--output-as=xml"]
    assert call["timeout"] == 60


def test_status_of_a_node_without_a_cluster(run_all):
    run_all.handler = lambda argv, **kwargs: (102, NOT_RUNNING, "")
    with pytest.raises(CommandExecutionError, match="^the cluster does not run here: Not connected$"):
        ha_pacemaker.status()
    run_all.handler = lambda argv, **kwargs: (1, "", "crm_mon: error 1\nsegfault\n")
    with pytest.raises(CommandExecutionError, match="^crm_mon failed: crm_mon: error 1 segfault$"):
        ha_pacemaker.status()


def test_online_waits_for_every_node_in_a_quorate_cluster(run_all, clock):
    answers = [(102, NOT_RUNNING, ""), (0, CRM_MON, ""), (0, CRM_MON.replace('online="false"', 'online="true"'), "")]
    run_all.handler = lambda argv, **kwargs: answers.pop(0)
    assert ha_pacemaker.online([C01, C02, C03], timeout=60)["nodes"] == {C01: True, C02: True, C03: True}
    assert clock.sleeps == [2, 2]


def test_online_gives_up_with_what_it_saw_last(run_all, clock):
    run_all.handler = lambda argv, **kwargs: (0, CRM_MON, "")
    with pytest.raises(CommandExecutionError) as err:
        ha_pacemaker.online([C01, C02, C03], timeout=10)
    assert str(err.value) == (f"did not see nodes {C01}, {C02}, {C03} online in a quorate cluster within 10 s: "
                              f"quorate: True, nodes online: {UP['nodes']}")


# --- status: the lab's crm_mon and its failed actions; standby -------------------------------------------------

LAB_CRM_MON = (Path(__file__).parent / "data" / "crm_mon.xml").read_text()
# As pacemaker 2.1 lists failed actions, after the node history.
FAILURES = f"""\
  <failures>
    <failure op_key="lb-haproxy_monitor_10000" node="{C02}" exitstatus="not running" exitreason="" exitcode="7"
             call="13" status="complete" last-rc-change="2026-12-02 20:21:30 +08:00" queued="0" exec="0"
             interval="10000" task="monitor"/>
    <failure op_key="vip_start_0" node="{C01}" exitstatus="error" exitreason="[findif] failed" exitcode="1"
             call="20" status="complete" last-rc-change="2026-12-02 20:22:01 +08:00" queued="0" exec="61"
             interval="0" task="start"/>
  </failures>
"""


def test_status_of_the_lab_crm_mon(run_all):
    run_all.handler = lambda argv, **kwargs: (0, LAB_CRM_MON, "")
    assert ha_pacemaker.status() == {"quorate": True, "dc": C01, "nodes": {C01: True, C02: True, C03: True},
                                     "resources": {"vip": [C01], CLONE: [C01, C02, C03]}, "failed_actions": []}


def test_status_of_crm_mon_has_no_failed_actions(run_all):
    run_all.handler = lambda argv, **kwargs: (0, CRM_MON, "")
    assert ha_pacemaker.status()["failed_actions"] == []


def test_status_lists_the_failed_actions_one_line_each(run_all):
    xml = LAB_CRM_MON.replace("  <status code=", FAILURES + "  <status code=")
    run_all.handler = lambda argv, **kwargs: (0, xml, "")
    status = ha_pacemaker.status()
    assert status["failed_actions"] == [
        f"lb-haproxy_monitor_10000 on {C02}: complete (exit not running)",
        f"vip_start_0 on {C01}: complete (exit error: [findif] failed)",
    ]
    assert status["resources"] == {"vip": [C01], CLONE: [C01, C02, C03]}


def test_status_with_an_empty_failures_element(run_all):
    xml = LAB_CRM_MON.replace("  <status code=", "  <failures/>\n  <status code=")
    run_all.handler = lambda argv, **kwargs: (0, xml, "")
    assert ha_pacemaker.status()["failed_actions"] == []


@pytest.mark.parametrize(("on", "word"), [(True, "standby"), (False, "unstandby")])
def test_standby_waits_for_the_cluster_to_settle(run_all, on, word):
    pcs_answering(run_all)
    assert ha_pacemaker.standby(C01, on) is None
    assert [call["argv"] for call in run_all.calls] == [[PCS, "--version"], [PCS, "node", word, C01, "--wait=120"]]
    assert run_all.calls[1]["timeout"] == 150


def test_standby_with_a_timeout(run_all):
    pcs_answering(run_all)
    ha_pacemaker.standby(C02, timeout=60.7)
    assert run_all.calls[1]["argv"] == [PCS, "node", "standby", C02, "--wait=60"]
    assert run_all.calls[1]["timeout"] == 90.7


def test_standby_that_does_not_settle(run_all):
    pcs_answering(run_all, **{"node standby": (1, "", "Error: waiting timeout\n")})
    with pytest.raises(CommandExecutionError, match="^pcs node standby failed \\(exit 1\\): Error: waiting timeout$"):
        ha_pacemaker.standby(C01)


# --- node_remove ------------------------------------------------------------------------------------------------

C04 = "openstack-controller04"
# corosync.conf of the cluster grown to four nodes (pcs cluster node add).
PCS_CONF_4 = PCS_CONF.removesuffix("}\n") + """
    node {
        ring0_addr: 10.10.10.54
        name: openstack-controller04
        nodeid: 4
    }
}
"""


def crm_mon_of(nodes: dict[str, bool], quorate: bool = True, dc: str | None = C01) -> str:
    """crm_mon's XML for these nodes (name to online), with or without quorum, under ``dc`` (None: no DC)."""
    listed = "".join(f'<node name="{name}" online="{str(up).lower()}"/>' for name, up in nodes.items())
    current_dc = (f'<current_dc present="true" name="{dc}" with_quorum="{str(quorate).lower()}"/>' if dc
                  else '<current_dc present="false"/>')
    return (f'<pacemaker-result api-version="2.30"><summary>{current_dc}</summary><nodes>{listed}</nodes>'
            '<resources/><status code="0" message="OK"/></pacemaker-result>')


THREE = {C01: True, C02: True, C03: True}
CRM_MON_ARGV = ["/usr/sbin/crm_mon", "--one-shot", "--inactive", "--output-as=xml"]
PURGE = ["/usr/sbin/crm_node", "--force", "--remove", C04]


@pytest.fixture
def four_nodes(pacemaker_map):
    with open(pacemaker_map["corosync_conf"], "w", encoding="utf-8") as handle:
        handle.write(PCS_CONF_4)
    assert list(ha_pacemaker.cluster_config()["nodes"]) == [C01, C02, C03, C04]


def answering_views(run_all, views: list[str]) -> None:
    """crm_mon answering ``views`` in turn, the last one repeated; pcs and crm_node succeeding."""
    def answer(argv, **kwargs):
        return 0, views.pop(0) if len(views) > 1 else views[0], ""

    pcs_answering(run_all, **{"--one-shot --inactive": answer})


def test_node_remove_of_a_node_that_is_no_member(run_all, pacemaker_map):
    # No corosync.conf at all: not a node of the cluster, an error, nothing run.
    with pytest.raises(CommandExecutionError, match="^this node has no corosync.conf: run the removal on a node "):
        ha_pacemaker.node_remove(C04)
    assert run_all.calls == []
    # A cluster without the node and a CIB without it, or with it online (not a stale entry): nothing to do.
    with open(pacemaker_map["corosync_conf"], "w", encoding="utf-8") as handle:
        handle.write(PCS_CONF)
    answering_views(run_all, [crm_mon_of(THREE)])
    assert ha_pacemaker.node_remove(C04) is False
    assert [call["argv"] for call in run_all.calls] == [CRM_MON_ARGV]


def test_node_remove_run_again_purges_another_node_written_back(run_all, clock, pacemaker_map):
    # C04 is gone, but controller05 (removed earlier) is listed again offline: purged, then the same wait.
    with open(pacemaker_map["corosync_conf"], "w", encoding="utf-8") as handle:
        handle.write(PCS_CONF)
    c05 = "openstack-controller05"
    answering_views(run_all, [crm_mon_of({**THREE, c05: False}), crm_mon_of({**THREE, c05: False}),
                              crm_mon_of(THREE)])
    assert ha_pacemaker.node_remove(C04, timeout=60) is True
    purged = [call["argv"][-1] for call in run_all.calls if call["argv"][0] == "/usr/sbin/crm_node"]
    assert purged == [c05]


def test_stale_nodes_and_their_purge(run_all, pacemaker_map):
    with pytest.raises(CommandExecutionError, match="^this node has no corosync.conf: ask a node of the cluster"):
        ha_pacemaker.stale_nodes()
    with open(pacemaker_map["corosync_conf"], "w", encoding="utf-8") as handle:
        handle.write(PCS_CONF)
    c05 = "openstack-controller05"
    # Offline and in no node list: stale. A listed node that is offline (C03) is a member that is down, never stale.
    answering_views(run_all, [crm_mon_of({C01: True, C02: True, C03: False, c05: False})])
    assert ha_pacemaker.stale_nodes() == [c05]
    assert ha_pacemaker.forget_stale() == [c05]
    assert [call["argv"][0] for call in run_all.calls] == [CRM_MON_ARGV[0]] * 2 + ["/usr/sbin/crm_node"]
    assert run_all.calls[-1]["argv"][-1] == c05


def test_node_remove_waits_until_the_node_is_gone_and_the_rest_online(run_all, clock, four_nodes):
    views = [
        crm_mon_of({**THREE, C04: True}),  # still listed, online: not purged
        crm_mon_of({C01: True, C02: True, C03: False}),  # gone, but C03 not back yet
        crm_mon_of(THREE, quorate=False),  # every node, no quorum yet
        crm_mon_of(THREE, dc=None),  # no DC yet
        crm_mon_of(THREE, dc=C04),  # the leaving node still the DC
        crm_mon_of(THREE),  # gone, 1 ...
        crm_mon_of(THREE, dc=C02),  # ... another DC: counted anew
        crm_mon_of(THREE, dc=C02),
        crm_mon_of(THREE, dc=C02),
    ]
    answering_views(run_all, views)
    assert ha_pacemaker.node_remove(C04, timeout=60) is True
    argvs = [call["argv"] for call in run_all.calls]
    assert argvs[:2] == [[PCS, "--version"], [PCS, "cluster", "node", "remove", C04]]
    assert argvs[2:] == [CRM_MON_ARGV] * 9
    assert run_all.calls[1]["timeout"] == 60
    assert clock.sleeps == [2] * 8 and len(views) == 1


def test_node_remove_purges_the_node_written_back_and_counts_anew(run_all, clock, four_nodes):
    # Gone, then a DC taking over writes it back from its peer cache (offline): purged, and the count restarts.
    views = [crm_mon_of(THREE), crm_mon_of(THREE, dc=C02), crm_mon_of({**THREE, C04: False}, dc=C02),
             crm_mon_of(THREE, dc=C02)]
    answering_views(run_all, views)
    assert ha_pacemaker.node_remove(C04, timeout=60) is True
    argvs = [call["argv"] for call in run_all.calls][2:]
    assert argvs == [CRM_MON_ARGV, CRM_MON_ARGV, CRM_MON_ARGV, PURGE, CRM_MON_ARGV, CRM_MON_ARGV, CRM_MON_ARGV]
    assert clock.sleeps == [2] * 5


def test_node_remove_purges_an_entry_left_by_an_earlier_removal(run_all, clock, pacemaker_map):
    # Not in corosync's node list any more, but the CIB lists it offline: purged, then the same wait.
    with open(pacemaker_map["corosync_conf"], "w", encoding="utf-8") as handle:
        handle.write(PCS_CONF)
    answering_views(run_all, [crm_mon_of({**THREE, C04: False}), crm_mon_of({**THREE, C04: False}),
                              crm_mon_of(THREE)])
    assert ha_pacemaker.node_remove(C04, timeout=60) is True
    argvs = [call["argv"] for call in run_all.calls]
    assert [PCS, "cluster", "node", "remove", C04] not in argvs
    assert argvs == [CRM_MON_ARGV, CRM_MON_ARGV, PURGE, CRM_MON_ARGV, CRM_MON_ARGV, CRM_MON_ARGV]


def test_node_remove_purges_a_node_removed_before_that_came_back(run_all, clock, four_nodes):
    # Removing C04: controller05, removed before, is written back offline meanwhile; a node of corosync's list
    # that is offline (C03, crashed) is no stale entry: never purged, waited for.
    c05 = "openstack-controller05"
    answering_views(run_all, [crm_mon_of({**THREE, C04: False, c05: False}), crm_mon_of({**THREE, c05: False}),
                              crm_mon_of({C01: True, C02: True, C03: False}), crm_mon_of(THREE)])
    assert ha_pacemaker.node_remove(C04, timeout=60) is True
    purged = [call["argv"][-1] for call in run_all.calls if call["argv"][0] == "/usr/sbin/crm_node"]
    assert purged == [C04, c05, c05]


def test_node_remove_gives_up_with_what_it_saw_last(run_all, clock, four_nodes):
    answering_views(run_all, [crm_mon_of({**THREE, C04: True})])
    with pytest.raises(CommandExecutionError) as err:
        ha_pacemaker.node_remove(C04, timeout=10)
    assert str(err.value) == (f"did not see {C04} gone from a quorate cluster within 10 s: quorate: True, DC: {C01}, "
                              f"nodes online: {{'{C01}': True, '{C02}': True, '{C03}': True, '{C04}': True}}")
    assert [call["argv"][1:] for call in run_all.calls[:2]] == [["--version"], ["cluster", "node", "remove", C04]]
    assert PURGE not in [call["argv"] for call in run_all.calls]


def test_forget_node_that_crm_node_refuses(run_all):
    run_all.handler = lambda argv, **kwargs: (1, "", "crm_node: Could not remove node: No such device\n")
    with pytest.raises(CommandExecutionError, match=f"^crm_node --force --remove {C04} failed \\(exit 1\\): "
                                                    "crm_node: Could not remove node: No such device$"):
        ha_pacemaker.forget_node(C04)
    assert run_all.calls[0]["argv"] == PURGE


def test_node_remove_that_pcs_refuses(run_all, clock, four_nodes):
    pcs_answering(run_all, **{"cluster node": (1, "", "Error: Unable to connect to openstack-controller04\n")})
    with pytest.raises(CommandExecutionError, match="^pcs cluster node failed \\(exit 1\\): Error: Unable to connect"):
        ha_pacemaker.node_remove(C04)
    # No wait after a failed removal.
    assert len(run_all.calls) == 2 and clock.sleeps == []


def test_pcsd_status_and_the_gate_before_a_node_add(run_all, monkeypatch):
    answers = iter([(2, "  openstack-controller01: Online\n  openstack-controller02: Unable to authenticate\n", ""),
                    (0, "  openstack-controller01: Online\n  openstack-controller02: Online\n", "")])
    pcs_answering(run_all, **{"status pcsd": lambda argv: next(answers)})
    assert ha_pacemaker.pcsd_status([C01, C02, C03]) == {C01: "Online", C02: "Unable to authenticate"}
    assert run_all.calls[-1]["argv"] == [PCS, "status", "pcsd", C01, C02, C03]
    ha_pacemaker.pcsd_online([C01, C02], timeout=5)
    pcs_answering(run_all, **{"status pcsd": (2, "  openstack-controller01: Online\n  openstack-controller02: "
                                                 "Offline\n", "")})
    with pytest.raises(CommandExecutionError) as err:
        ha_pacemaker.pcsd_online([C01, C02, C03], timeout=0)
    assert str(err.value) == (f"did not see pcsd online on {C01}, {C02}, {C03} within 0 s: {C02}: Offline, "
                              f"{C03}: no answer")
