"""Every state of the formula renders for both OS families, on a real master and minions."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import salt.config
import salt.state

from tests.helpers import REPO, load_module, pillar_secrets
from tests.render.conftest import MINIONS, PILLAR

TOPOLOGY = load_module("_utils/ha_topology_openstack.py", "ha_topology_openstack_for_render")


def function(body: dict, module: str) -> str:
    """The function of a state as state.show_sls gives it: the one string among its module's arguments."""
    (name,) = [arg for arg in body[module] if isinstance(arg, str)]
    return name

ORCHESTRATIONS = {"ha.deploy", "ha.galera_recover", "ha.rolling_restart", "ha.remove_controller"}
STATES = sorted(
    ".".join(path.relative_to(REPO / "salt").with_suffix("").parts).removesuffix(".init")
    for path in (REPO / "salt" / "ha").rglob("*.sls")
)


def test_the_formula_has_states():
    assert {"ha.base", "ha.controller", "ha.compute", "ha.deploy", "ha.galera", "ha.galera_recover"} <= set(STATES)


# Every state on the RedHat minion; on Debian only the role states: the lab
# tier applies every Debian state for real on its nodes.
RENDERED = [("openstack-controller02", s) for s in STATES if s not in ORCHESTRATIONS] + [
    ("openstack-controller01", s) for s in ("ha.controller", "ha.compute")]


@pytest.mark.parametrize(("minion", "sls"), RENDERED)
def test_state_renders(salt_cli, minion, sls):
    # The low state: rendered and compiled, so that every requisite (an sls:
    # one too) names a state of the run and none of them forms a cycle.
    ret = salt_cli.run("state.show_low_sls", sls, minion_tgt=minion)
    assert ret.returncode == 0, ret
    assert isinstance(ret.data, list) and ret.data and all(isinstance(chunk, dict) for chunk in ret.data), ret.data
    for chunk in ret.data:
        assert chunk["__sls__"].startswith("ha"), chunk["__id__"]


@pytest.mark.parametrize("minion", sorted(MINIONS))
def test_top_assigns_states_by_role(salt_cli, minion):
    ret = salt_cli.run("state.show_top", minion_tgt=minion)
    assert ret.returncode == 0, ret
    role = "compute" if "compute" in minion else "controller"
    assert ret.data == {"base": [f"ha.{role}"]}


def test_hosts_entries_rendered_for_every_node(salt_cli):
    ret = salt_cli.run("state.show_sls", "ha.base.hosts", minion_tgt="openstack-controller02")
    hosts = {body["host"][0]["name"]: body["host"][1]["hostnames"]
             for body in ret.data.values() if "only" in body.get("host", [])}
    assert hosts == {
        "10.10.10.51": ["openstack-controller01"],
        "10.10.10.52": ["openstack-controller02"],
        "10.10.10.53": ["openstack-controller03"],
        "10.10.10.54": ["openstack-compute01"],
        "10.10.10.69": ["openstack-vip"],
    }


@pytest.mark.parametrize(
    ("minion", "galera_pkg"),
    [("openstack-controller01", "galera-4"), ("openstack-controller02", "mariadb-server-galera")],
)
def test_map_per_os_family(salt_cli, minion, galera_pkg):
    ret = salt_cli.run("state.show_sls", "map_probe", minion_tgt=minion)
    assert ret.returncode == 0, ret
    ha_map = ret.data["map-probe"]["test"][0]["map"]
    assert galera_pkg in ha_map["galera"]["pkgs"]
    assert ha_map["galera"]["service"] == "mariadb"
    assert ha_map["galera"]["settings"]["binlog_format"] == "ROW"


def test_pillar_lookup_overrides_the_map(salt_cli):
    ret = salt_cli.run(
        "state.show_sls", "map_probe", minion_tgt="openstack-controller01",
        pillar={"ha": {"lookup": {"galera": {"service": "mysqld"}}}},
    )
    ha_map = ret.data["map-probe"]["test"][0]["map"]
    assert ha_map["galera"]["service"] == "mysqld"
    assert ha_map["galera"]["config_file"] == "/etc/mysql/mariadb.conf.d/60-galera.cnf"


def test_deploy_orchestration_renders(salt_run_cli):
    ret = salt_run_cli.run("state.orchestrate_show_sls", "ha.deploy")
    assert ret.returncode == 0, ret
    steps = ret.data[next(iter(ret.data))]
    assert list(steps) == [
        "ha-pillar-valid", "ha-sync", "ha-pillar-valid-on-nodes", "ha-base", "ha-prepare",
        "ha-galera-cluster-openstack-controller01", "ha-galera-cluster-openstack-controller02",
        "ha-galera-cluster-openstack-controller03", "ha-galera-sql",
        "ha-rabbitmq-cluster-openstack-controller01", "ha-rabbitmq-cluster-openstack-controller02",
        "ha-rabbitmq-cluster-openstack-controller03", "ha-rabbitmq-access", "ha-etcd",
        "ha-pacemaker-cluster", "ha-pacemaker-services", "ha-pacemaker-resources",
        "ha-openstack-databases", "ha-keystone-first", "ha-keystone-others", "ha-openstack-catalog",
        "ha-openstack-services",
    ]

    def arg(step, name):
        return next((a[name] for a in steps[step].get("salt", []) if isinstance(a, dict) and name in a), None)

    controllers = ["openstack-controller01", "openstack-controller02", "openstack-controller03"]
    assert arg("ha-base", "tgt") == [*controllers, "openstack-compute01"]
    assert arg("ha-base", "sls") == ["ha.base", "ha.chrony"]
    # Every package in one state run per controller, before the steps that run at the same time.
    assert arg("ha-prepare", "tgt") == controllers
    assert arg("ha-prepare", "require") == [{"salt": "ha-base"}]
    assert arg("ha-prepare", "parallel") is None
    assert [sls for sls in arg("ha-prepare", "sls") if sls.endswith(".install")][-1] == "ha.openstack.install"
    # The clusters at the same time, each step on nodes that other steps may share.
    parallel = [step for step in steps if arg(step, "parallel")]
    assert parallel == [step for step in steps if step.startswith(("ha-galera-", "ha-rabbitmq-", "ha-etcd",
                                                                   "ha-pacemaker-", "ha-openstack-databases"))] + [
        "ha-keystone-first", "ha-keystone-others", "ha-openstack-catalog", "ha-openstack-services"]
    # Steps that may share a node with another one of the deploy: keystone on the first and the catalog
    # run while the schemas may still be synced there.
    assert [step for step in steps if arg(step, "concurrent")] == [
        *parallel[:-3], "ha-openstack-catalog"]
    # Galera: one join at a time, each after the one before; the SQL side on the first after the last join.
    assert arg("ha-galera-cluster-openstack-controller01", "require") == [{"salt": "ha-prepare"}]
    assert arg("ha-galera-cluster-openstack-controller03", "require") == [
        {"salt": "ha-galera-cluster-openstack-controller02"}]
    assert arg("ha-galera-sql", "tgt") == "openstack-controller01"
    assert arg("ha-galera-sql", "require") == [{"salt": "ha-galera-cluster-openstack-controller03"}]
    # RabbitMQ: one controller at a time after the packages; access on the first once it runs.
    assert arg("ha-rabbitmq-cluster-openstack-controller01", "require") == [{"salt": "ha-prepare"}]
    assert arg("ha-rabbitmq-cluster-openstack-controller02", "require") == [
        {"salt": "ha-rabbitmq-cluster-openstack-controller01"}]
    assert arg("ha-rabbitmq-access", "tgt") == "openstack-controller01"
    assert arg("ha-rabbitmq-access", "require") == [{"salt": "ha-rabbitmq-cluster-openstack-controller01"}]
    # Pacemaker: the cluster-wide steps on the first controller only.
    assert arg("ha-pacemaker-cluster", "tgt") == arg("ha-pacemaker-resources", "tgt") == "openstack-controller01"
    assert arg("ha-pacemaker-cluster", "require") == [{"salt": "ha-prepare"}]
    assert arg("ha-pacemaker-resources", "require") == [{"salt": "ha-pacemaker-services"}]
    # etcd: every member at once.
    assert arg("ha-etcd", "tgt") == controllers
    # OpenStack, once the VIP leads to the databases: the schemas on the first while keystone starts there
    # (once every cluster is done), then keystone on the others while the catalog is set up once; then the
    # services everywhere.
    assert arg("ha-openstack-databases", "require") == [{"salt": "ha-galera-sql"}, {"salt": "ha-pacemaker-resources"}]
    assert arg("ha-keystone-first", "require") == [
        {"salt": "ha-galera-sql"}, {"salt": "ha-rabbitmq-cluster-openstack-controller03"},
        {"salt": "ha-rabbitmq-access"}, {"salt": "ha-etcd"}, {"salt": "ha-pacemaker-resources"}]
    assert arg("ha-keystone-first", "tgt") == arg("ha-openstack-databases", "tgt") == "openstack-controller01"
    assert arg("ha-openstack-catalog", "tgt") == "openstack-controller01"
    assert arg("ha-openstack-catalog", "sls") == "ha.openstack.catalog"
    assert arg("ha-keystone-others", "tgt") == ["openstack-controller02", "openstack-controller03"]
    assert arg("ha-keystone-others", "require") == arg("ha-openstack-catalog", "require") == [
        {"salt": "ha-keystone-first"}]
    assert arg("ha-openstack-services", "tgt") == controllers
    assert arg("ha-openstack-services", "require") == [
        {"salt": "ha-keystone-others"}, {"salt": "ha-openstack-catalog"}, {"salt": "ha-openstack-databases"}]


def test_recovery_orchestration_renders(salt_run_cli):
    ret = salt_run_cli.run("state.orchestrate_show_sls", "ha.galera_recover",
                           pillar='{"galera_recover": {"bootstrap_node": "openstack-controller02"}}')
    assert ret.returncode == 0, ret
    steps = ret.data[next(iter(ret.data))]
    args = {k: v for a in steps["ha-galera-recover"]["salt"] if isinstance(a, dict) for k, v in a.items()}
    assert args["name"] == "ha_galera.recover"
    assert args["bootstrap_node"] == "openstack-controller02"
    assert args["controllers"] == ["openstack-controller01", "openstack-controller02", "openstack-controller03"]


def test_rolling_restart_orchestration_renders(salt_run_cli):
    """The precheck, then one controller at a time in the pillar's order, each step requiring the one before."""
    ret = salt_run_cli.run("state.orchestrate_show_sls", "ha.rolling_restart")
    assert ret.returncode == 0, ret
    steps = ret.data[next(iter(ret.data))]

    def args(step_id):
        return {k: v for a in steps[step_id]["salt"] if isinstance(a, dict) for k, v in a.items()}

    controllers = ["openstack-controller01", "openstack-controller02", "openstack-controller03"]
    assert sorted(steps) == sorted(["ha-pillar-valid", "ha-rolling-restart-precheck",
                                    *(f"ha-rolling-restart-{node}" for node in controllers)])
    assert args("ha-rolling-restart-precheck")["name"] == "ha.require_healthy"
    previous = "ha-rolling-restart-precheck"
    for node in controllers:
        step = args(f"ha-rolling-restart-{node}")
        assert step["name"] == "ha.restart_controller" and step["node"] == node
        assert step["require"] == [{"salt": previous}] and step["failhard"] is True
        previous = f"ha-rolling-restart-{node}"


CONTROLLERS = ["openstack-controller01", "openstack-controller02", "openstack-controller03"]
# The deploy's steps (ha.deploy, included by the removal), in the order they run.
DEPLOY_STEPS = [
    "ha-sync", "ha-pillar-valid-on-nodes", "ha-base", "ha-prepare",
    *(f"ha-galera-cluster-{node}" for node in CONTROLLERS), "ha-galera-sql",
    *(f"ha-rabbitmq-cluster-{node}" for node in CONTROLLERS), "ha-rabbitmq-access", "ha-etcd",
    "ha-pacemaker-cluster", "ha-pacemaker-services", "ha-pacemaker-resources",
    "ha-openstack-databases", "ha-keystone-first", "ha-keystone-others", "ha-openstack-catalog",
    "ha-openstack-services",
]


def removal_low(salt_run_cli, remove) -> dict[str, dict]:
    """
    The removal orchestration as the master renders it with the pillar's ``remove``, compiled as Salt's state
    run compiles it before it runs a chunk (State.call_high: the _in requisites turned into requisites of the
    states they name, then the chunks ordered by their requisites): each step's low chunk by its ID, in the
    order they run.
    """
    args = [] if remove is None else [f"pillar={json.dumps({'remove': remove})}"]
    ret = salt_run_cli.run("state.orchestrate_show_sls", "ha.remove_controller", *args)
    assert ret.returncode == 0, ret
    high = ret.data[next(iter(ret.data))]
    assert isinstance(high, dict), high
    opts = salt.config.minion_config(None)
    opts.update(file_client="local", grains={})
    state = salt.state.State(opts)
    high, errors = state.requisite_in(high)
    assert errors == []
    chunks, errors = state.compile_high_data(high)
    assert errors == []  # every requisite names a state of the run, none forms a cycle
    low = {chunk["__id__"]: chunk for chunk in chunks}
    assert len(low) == len(chunks)
    return low


@pytest.mark.parametrize("leaving", [["openstack-controller04"], "openstack-controller04",
                                     ["openstack-controller04", "openstack-controller05"]])
def test_remove_controller_orchestration(salt_run_cli, leaving):
    """The precheck, the pillar refreshed, one leaving controller at a time, the deploy, then the OpenStack units
    restarted one controller at a time: a chain, each step requiring the one before, the first failure the end."""
    low = removal_low(salt_run_cli, leaving)
    names = [leaving] if isinstance(leaving, str) else leaving
    removals = [f"ha-remove-{node}" for node in names]
    restarts = [f"ha-remove-restart-openstack-{node}" for node in CONTROLLERS]
    assert list(low) == ["ha-pillar-valid", "ha-remove-precheck", "ha-remove-pillar-refreshed", *removals,
                         *DEPLOY_STEPS, *restarts]
    precheck = low["ha-remove-precheck"]
    assert (precheck["state"], precheck["fun"], precheck["name"]) == ("salt", "runner", "ha.require_removable")
    assert precheck["controllers"] == names
    # A report not healthy yet is asked for again, for up to 120 s (the runner's own default: once).
    assert precheck["timeout"] == 120
    assert precheck["require"] == [{"ha_topology": "ha-pillar-valid"}]
    assert precheck["require_in"] == [{"salt": "ha-sync"}]
    refreshed = low["ha-remove-pillar-refreshed"]
    assert (refreshed["fun"], refreshed["name"]) == ("function", "saltutil.refresh_pillar")
    # Every node that stays reads the pillar without the leaving ones.
    assert refreshed["tgt"] == [*CONTROLLERS, "openstack-compute01"] and refreshed["tgt_type"] == "list"
    assert refreshed["require"] == [{"salt": "ha-remove-precheck"}]
    previous = "ha-remove-pillar-refreshed"
    for node, step_id in zip(names, removals, strict=True):
        step = low[step_id]
        assert (step["fun"], step["name"], step["node"]) == ("runner", "ha.remove_controller", node)
        assert step["require"] == [{"salt": previous}]
        previous = step_id
    # The deploy starts once the last one left, and no sooner.
    assert low[removals[-1]]["require_in"] == [{"salt": "ha-sync"}]
    assert {"salt": "ha-remove-precheck"} in low["ha-sync"]["require"]
    assert {"salt": removals[-1]} in low["ha-sync"]["require"]
    assert all("require_in" not in low[step_id] for step_id in removals[:-1])
    previous = "ha-openstack-services"
    for node, step_id in zip(CONTROLLERS, restarts, strict=True):
        step = low[step_id]
        assert (step["fun"], step["name"], step["node"]) == ("runner", "ha.restart_controller", node)
        assert step["steps"] == ["openstack"] and step["require"] == [{"salt": previous}]
        previous = step_id
    stops = ["ha-pillar-valid", "ha-remove-precheck", "ha-remove-pillar-refreshed", *removals, *restarts]
    assert all(low[step_id]["failhard"] is True for step_id in stops)


@pytest.mark.parametrize("remove", [None, []])
def test_remove_controller_orchestration_without_a_node_still_runs_its_precheck_first(salt_run_cli, remove):
    # The precheck refuses it (no node named), and the deploy never runs before it.
    low = removal_low(salt_run_cli, remove)
    assert not [step_id for step_id in low if step_id.startswith("ha-remove-openstack-")]
    assert low["ha-remove-precheck"]["controllers"] == [] and low["ha-remove-precheck"]["timeout"] == 120
    assert low["ha-remove-precheck"]["require_in"] == [{"salt": "ha-sync"}]
    assert {"salt": "ha-remove-precheck"} in low["ha-sync"]["require"]
    order = list(low)
    assert order.index("ha-pillar-valid") < order.index("ha-remove-precheck") < order.index("ha-sync")


@pytest.mark.parametrize(("controllers", "listed"), [
    ("openstack-controller03", "openstack-controller03"),
    ('controllers=["openstack-controller04", "openstack-compute01"]', "openstack-compute01"),
])
def test_remove_controller_precheck_refuses_a_node_still_in_the_pillar(salt_run_cli, controllers, listed):
    # The precheck's runner, run by salt-run on the master: it refuses before it asks any node anything.
    ret = salt_run_cli.run("ha.require_removable", controllers)
    assert ret.returncode == 1, ret
    assert ret.data == {"result": False, "retcode": 1, "comment": (
        f"{listed} still listed in ha:nodes: remove it from the pillar first (at least three controllers stay), "
        "then run the removal again")}


def test_galera_config_is_rendered_from_the_topology(salt_cli):
    ret = salt_cli.run("state.show_sls", "ha.galera.config", minion_tgt="openstack-controller02")
    body = ret.data["ha-galera-config"]["file"]
    args = {k: v for a in body if isinstance(a, dict) for k, v in a.items()}
    assert args["name"] == "/etc/my.cnf.d/galera.cnf"
    settings = args["context"]["settings"]
    assert settings["bind_address"] == settings["wsrep_node_address"] == "10.10.10.52"
    assert settings["wsrep_provider"] == "/usr/lib64/galera/libgalera_smm.so"
    assert settings["wsrep_cluster_address"] == "gcomm://10.10.10.51,10.10.10.52,10.10.10.53"


def test_rendered_states_hold_no_secret(salt_cli):
    secrets = pillar_secrets(PILLAR)
    assert len(secrets) >= 14, secrets  # 10 fixed secrets and the example's 4 database accounts
    # Every state of a controller and of a compute node.
    for sls, minion in (("ha.controller", "openstack-controller01"), ("ha.compute", "openstack-compute01")):
        ret = salt_cli.run("state.show_sls", sls, minion_tgt=minion)
        assert ret.returncode == 0
        leaked = [secret[:4] + "..." for secret in secrets if secret in ret.stdout]
        assert not leaked, (sls, leaked)


def test_deploy_stops_at_its_first_step_on_a_bad_pillar(salt_run_cli):
    ret = salt_run_cli.run("state.orchestrate", "ha.deploy", pillar='{"ha": {"timezone": ""}}')
    assert ret.returncode != 0
    steps = ret.data["data"][next(iter(ret.data["data"]))]
    assert len(steps) == 1
    (only,) = steps.values()
    assert only["__id__"] == "ha-pillar-valid" and only["result"] is False
    assert "ha:timezone: is required" in only["comment"]


@pytest.mark.parametrize(
    ("minion", "memcached_config", "memcached_source", "etcd_config"),
    [
        ("openstack-controller01", "/etc/memcached.conf", "options.jinja", "/etc/default/etcd"),
        ("openstack-controller02", "/etc/sysconfig/memcached", "sysconfig.jinja", "/etc/etcd/etcd.conf"),
    ],
)
def test_service_configs_per_os_family(salt_cli, minion, memcached_config, memcached_source, etcd_config):
    def file_args(sls, state_id):
        ret = salt_cli.run("state.show_sls", sls, minion_tgt=minion)
        assert ret.returncode == 0, ret
        return {k: v for arg in ret.data[state_id]["file"] if isinstance(arg, dict) for k, v in arg.items()}

    memcached = file_args("ha.memcached.config", "ha-memcached-config")
    assert memcached["name"] == memcached_config
    assert memcached["source"].endswith(memcached_source)
    assert file_args("ha.etcd.config", "ha-etcd-config")["name"] == etcd_config
    # The execution modules read the same map through ha_topology.formula_map.
    ret = salt_cli.run("ha_topology.formula_map", minion_tgt=minion)
    assert ret.data["etcd"]["config_file"] == etcd_config
    assert ret.data["memcached"]["config_file"] == memcached_config


def test_base_per_os_family(salt_cli):
    def states(sls, minion, **kwargs):
        ret = salt_cli.run("state.show_sls", sls, minion_tgt=minion, **kwargs)
        assert ret.returncode == 0, ret
        return ret.data

    def args(body, module):
        return {k: v for arg in body[module] if isinstance(arg, dict) for k, v in arg.items()}

    redhat = states("ha.base", "openstack-controller02")
    assert args(redhat["ha-base-openstack-repo"], "pkg")["name"] == "centos-release-openstack-caracal"
    # CRB, as RDO's install guide has it on EL9, and HighAvailability: both enabled before any package.
    for repo in ("crb", "highavailability"):
        managed = args(redhat[f"ha-base-repo-{repo}"], "pkgrepo")
        assert (managed["name"], managed["enabled"]) == (repo, True)
        assert {"pkgrepo": f"ha-base-repo-{repo}"} in args(redhat["ha-base-repos"], "test")["require"]
    # No curl on RedHat: the images' curl-minimal conflicts with it. Debian's list is as before.
    assert args(redhat["ha-base-packages"], "pkg")["pkgs"] == ["tzdata", "kmod", "rsyslog", "sudo", "iputils",
                                                               "nmap-ncat"]
    assert args(redhat["ha-base-selinux-policy"], "pkg")["name"] == "openstack-selinux"
    assert "mode" in redhat["ha-base-selinux"]["selinux"]
    # semanage for Salt's selinux module, before the mode is set, in every mode.
    for mode in ("enforcing", "permissive", "disabled"):
        selinux = states("ha.base.security", "openstack-compute01", pillar={"ha": {"base": {"selinux": mode}}})
        tools = args(selinux["ha-base-selinux-tools"], "pkg")
        assert tools["pkgs"] == ["policycoreutils-python-utils"]
        assert tools["require_in"] == [{"selinux": "ha-base-selinux"}]
        assert args(selinux["ha-base-selinux"], "selinux")["name"] == mode
        assert ("ha-base-selinux-policy" in selinux) is (mode == "enforcing")
    # pillar.example's managed firewall: firewalld's default zone holds exactly the formula's rich rules.
    zone = args(redhat["ha-base-firewall-zone"], "firewalld")
    assert zone["prune_rich_rules"] is True and zone["prune_services"] is True and zone["services"] == []
    assert ('rule family="ipv4" destination address="10.10.10.69" port port="5000" protocol="tcp" accept'
            in zone["rich_rules"])
    assert ('rule family="ipv4" source address="10.10.10.54" port port="4567" protocol="udp" accept'
            in zone["rich_rules"])
    assert {"ha-base-nftables-stopped", "ha-base-iptables-stopped"} <= set(redhat)
    assert "ha-base-firewalld-stopped" not in redhat
    debian = states("ha.base", "openstack-controller01")
    assert not any(state_id.startswith(("ha-base-repo-", "ha-base-openstack-repo", "ha-base-selinux"))
                   for state_id in debian)
    assert args(debian["ha-base-packages"], "pkg")["pkgs"] == ["tzdata", "curl", "kmod", "rsyslog", "sudo",
                                                               "iputils-ping", "netcat-openbsd"]
    nftables = args(debian["ha-base-firewall-config"], "file")
    assert nftables["name"] == "/etc/nftables.conf" and nftables["check_cmd"] == "nft -c -f"
    assert any(rule.endswith('accept comment "cluster services"') for rule in nftables["context"]["rules"])
    assert args(debian["ha-base-firewall"], "service")["name"] == "nftables"
    loaded = args(debian["ha-base-firewall-loaded"], "ha_host")
    assert (loaded["name"], loaded["service"], loaded["record"]) == (
        "/etc/nftables.conf", "nftables", "/var/lib/ha-formula/nftables-loaded")
    assert loaded["require"] == [{"service": "ha-base-firewall"}]
    assert "ha-base-ufw-stopped" in debian
    # The reference's choice: the distribution's firewall services off, no rules.
    disabled = states("ha.base", "openstack-controller01", pillar={"ha": {"base": {"firewall": "disabled"}}})
    assert {"ha-base-nftables-stopped", "ha-base-ufw-stopped"} <= set(disabled)
    assert "ha-base-firewall-config" not in disabled
    sysctl = {args(body, "sysctl")["name"]: args(body, "sysctl") for body in debian.values() if "sysctl" in body}
    assert sysctl["net.ipv4.ip_nonlocal_bind"]["config"] == "/etc/sysctl.d/60-ha.conf"
    assert set(sysctl) >= {"net.ipv4.ip_forward", "net.bridge.bridge-nf-call-iptables"}
    assert args(states("ha.chrony", "openstack-controller01")["ha-chrony-config"], "file")["name"] == (
        "/etc/chrony/chrony.conf")
    assert args(states("ha.chrony", "openstack-controller02")["ha-chrony-options"], "file")["name"] == (
        "/etc/sysconfig/chronyd")
    # The host name and the time zone by ha_host's states, in files and the kernel (no hostnamectl or timedatectl:
    # their D-Bus round trips can time out); Debian also names the zone in /etc/timezone.
    for minion, base, timezone_file in (("openstack-controller01", debian, "/etc/timezone"),
                                        ("openstack-controller02", redhat, None)):
        assert function(base["ha-base-hostname"], "ha_host") == "hostname"
        hostname = args(base["ha-base-hostname"], "ha_host")
        assert hostname["name"] == minion and hostname["require"] == [{"file": "ha-base-hostname-file"}]
        assert args(base["ha-base-hostname-file"], "file")["contents"] == minion
        assert function(base["ha-base-timezone"], "ha_host") == "timezone"
        zone = args(base["ha-base-timezone"], "ha_host")
        assert {k: zone[k] for k in ("name", "zoneinfo_dir", "localtime", "timezone_file")} == {
            "name": PILLAR["timezone"], "zoneinfo_dir": "/usr/share/zoneinfo", "localtime": "/etc/localtime",
            "timezone_file": timezone_file}
        assert not [state_id for state_id, body in base.items()
                    if "timezone" in body or (state_id.startswith("ha-base-hostname") and "cmd" in body)]


@pytest.mark.parametrize(("minion", "keystone_pkg", "nova_pkg"), [
    ("openstack-controller01", "keystone", "nova-api"),
    ("openstack-controller02", "openstack-keystone", "openstack-nova-api"),
])
def test_schema_syncs_per_os_family(salt_cli, minion, keystone_pkg, nova_pkg):
    """Each schema sync of the services' table has a state, with its own stamp and its service's packages."""
    synced = {}
    for sls in ("ha.openstack.keystone", "ha.openstack.databases"):
        ret = salt_cli.run("state.show_sls", sls, minion_tgt=minion)
        assert ret.returncode == 0, ret
        for state_id, body in ret.data.items():
            if "ha_openstack" in body and function(body, "ha_openstack") == "db_synced":
                found = {k: v for arg in body["ha_openstack"] if isinstance(arg, dict) for k, v in arg.items()}
                synced[found["name"]] = {**found, "id": state_id}
    # keystone's schema is synced by the first controller's keystone SLS (ha.deploy's ha-keystone-first).
    expected = [s for s in TOPOLOGY.schemas() if minion == "openstack-controller01" or s != "keystone"]
    assert sorted(synced) == sorted(expected)
    openstack = salt_cli.run("ha_topology.formula_map", minion_tgt=minion).data["openstack"]
    pkgs = {service: openstack[service]["pkgs"] for service in TOPOLOGY.SERVICES}
    for schema, found in synced.items():
        service = next(name for name, spec in TOPOLOGY.SERVICES.items() if schema in spec["schemas"])
        assert found["stamp"] == f"/var/lib/ha-formula/schema-synced/{schema}"
        assert found["packages"] == pkgs[service] and found["packages"]
    assert nova_pkg in synced["nova"]["packages"] and synced["nova_api"]["packages"] == synced["nova"]["packages"]
    assert (synced["nova_api"]["id"], synced["nova"]["id"]) == ("ha-nova-api-db-sync", "ha-nova-db-sync")
    if "keystone" in synced:
        assert keystone_pkg in synced["keystone"]["packages"] and synced["keystone"]["id"] == "ha-keystone-db-sync"
    else:
        assert keystone_pkg in pkgs["keystone"]


def test_openstack_per_os_family(salt_cli):
    def states(sls, minion):
        ret = salt_cli.run("state.show_sls", sls, minion_tgt=minion)
        assert ret.returncode == 0, ret
        return ret.data

    def args(body, module):
        return {k: v for arg in body[module] if isinstance(arg, dict) for k, v in arg.items()}

    debian = states("ha.openstack", "openstack-controller01")
    assert {"keystone", "nova-api", "python3-openstackclient", "openstack-pkg-tools"} <= set(
        args(debian["ha-openstack-packages"], "pkg")["pkgs"])
    assert args(debian["ha-keystone-uwsgi-bind-keystone"], "file")["name"] == (
        "/etc/systemd/system/keystone.service.d/ha-bind.conf")
    assert args(debian["ha-nova-uwsgi-nova-api-metadata"], "ha_openstack")["name"] == (
        "/etc/nova/nova-api-metadata-uwsgi.ini")
    assert args(debian["ha-openstack-nova-serialproxy-stopped"], "service")["enable"] is False
    assert args(debian["ha-nova-defaults"], "file")["key_values"]["NOVA_CONSOLE_PROXY_TYPE"] == "novnc"
    assert args(debian["ha-openstack-no-start-at-install"], "file")["name"] == "/usr/sbin/policy-rc.d"
    # The first controller publishes keystone's keys; the others take them.
    assert "keys_published" in debian["ha-keystone-keys"]["ha_openstack"]
    redhat = states("ha.openstack", "openstack-controller02")
    assert "keys_synced" in redhat["ha-keystone-keys"]["ha_openstack"]
    assert {"openstack-keystone", "openstack-nova-api", "openstack-glance"} <= set(
        args(redhat["ha-openstack-packages"], "pkg")["pkgs"])
    assert not [state_id for state_id in redhat if "uwsgi" in state_id or "start-at-install" in state_id]
    assert "ha-nova-defaults" not in redhat
    assert args(redhat["ha-nova-service-openstack-nova-api"], "service")["name"] == "openstack-nova-api"
    # RDO's keystone and placement run under httpd: their sites and httpd's own Listen on the node's address.
    assert args(redhat["ha-keystone-httpd-keystone-site"], "file")["source"] == (
        "/usr/share/keystone/wsgi-keystone.conf")
    site = args(redhat["ha-keystone-httpd-keystone"], "ha_openstack")
    assert (site["name"], site["api"]) == ("/etc/httpd/conf.d/wsgi-keystone.conf", "keystone")
    assert {"file": "ha-keystone-httpd-keystone-site"} in site["require"]
    placement = args(redhat["ha-placement-httpd-placement"], "ha_openstack")
    # RDO's placement site does not grant its script's directory; keystone's does.
    assert (placement["name"], placement["grant"]) == ("/etc/httpd/conf.d/00-placement-api.conf", "/usr/bin")
    assert "grant" not in site
    assert args(redhat["ha-openstack-httpd-listen"], "ha_openstack")["name"] == "/etc/httpd/conf/httpd.conf"
    # A settings change leaves a flag; the service's units restart while it is there (also in a later state run:
    # ha.deploy writes the settings and restarts the services in different steps), then it goes. A failed
    # setting fails the flag's state (required too), so the units neither start nor restart.
    pending = args(redhat["ha-keystone-restart-pending"], "file")
    assert pending["name"] == "/var/lib/ha-formula/restart-pending/keystone"
    for setting in ({"ha_openstack": "ha-keystone-httpd-keystone"}, {"ha_openstack": "ha-openstack-httpd-listen"},
                    {"ha_openstack": "ha-keystone-config"}):
        assert setting in pending["onchanges"] and setting in pending["require"]
    assert {"ha_openstack": "ha-placement-httpd-placement"} in args(
        redhat["ha-placement-restart-pending"], "file")["onchanges"]
    # The flag is read by ha_openstack.restart_due (no onlyif, whose check loads every execution module).
    assert function(redhat["ha-keystone-restart-due"], "ha_openstack") == "restart_due"
    due = args(redhat["ha-keystone-restart-due"], "ha_openstack")
    assert (due["name"], due["service"]) == ("/var/lib/ha-formula/restart-pending/keystone", "keystone")
    assert "onlyif" not in due
    assert args(redhat["ha-keystone-service-httpd"], "service")["watch"] == [
        {"ha_openstack": "ha-keystone-restart-due"}]
    assert args(redhat["ha-placement-restart-done"], "file")["name"] == (
        "/var/lib/ha-formula/restart-pending/placement")
    assert args(redhat["ha-placement-restart-done"], "file")["require"] == [
        {"service": "ha-placement-service-httpd"}]
    nova = args(debian["ha-nova-restart-pending"], "file")["onchanges"]
    assert {"ha_openstack": "ha-nova-uwsgi-nova-api-metadata"} in nova and {"file": "ha-nova-defaults"} in nova
    assert {"ha_openstack": "ha-nova-members"} not in nova
    assert args(debian["ha-nova-service-nova-api-metadata"], "service")["watch"] == [
        {"ha_openstack": "ha-nova-restart-due"}]
    assert {"service": "ha-nova-service-nova-api-metadata"} in args(debian["ha-nova-restart-done"], "file")["require"]
    due = args(debian["ha-keystone-restart-due"], "ha_openstack")["require"]
    assert {"ha_openstack": "ha-keystone-db-sync"} in due and {"ha_openstack": "ha-keystone-keys"} in due
    # On either family, every service's units watch its own restart_due state, which reads the flag that its
    # restart-done state removes; no test state is left to watch.
    for family in (debian, redhat):
        for service in ("keystone", "glance", "placement", "nova"):
            body = family[f"ha-{service}-restart-due"]
            assert [module for module in body if not module.startswith("__")] == ["ha_openstack"]
            assert function(body, "ha_openstack") == "restart_due"
            due, done = args(body, "ha_openstack"), args(family[f"ha-{service}-restart-done"], "file")
            assert due["service"] == service
            assert due["name"] == done["name"] == f"/var/lib/ha-formula/restart-pending/{service}"
            units = [unit["service"] for unit in done["require"]]
            assert units and all(args(family[unit], "service")["watch"] == [
                {"ha_openstack": f"ha-{service}-restart-due"}] for unit in units)
        assert not [state_id for state_id, body in family.items() if "test" in body]
    assert not [state_id for state_id in debian if "httpd" in state_id]
    # Every unit that runs a service is started again while it exits (its database not there yet), each once
    # (httpd runs two services on RedHat), with one daemon-reload after any of the drop-ins changed.
    for family, units in ((debian, ["keystone", "glance-api", "placement-api", "nova-api", "nova-api-metadata",
                                    "nova-conductor", "nova-scheduler", "nova-novncproxy"]),
                          (redhat, ["httpd", "openstack-glance-api", "openstack-nova-api", "openstack-nova-conductor",
                                    "openstack-nova-scheduler", "openstack-nova-novncproxy"])):
        dropins = {state_id.removeprefix("ha-openstack-restart-"): args(body, "file")
                   for state_id, body in family.items()
                   if state_id.startswith("ha-openstack-restart-") and state_id != "ha-openstack-restart-reload"}
        assert list(dropins) == units
        for unit, dropin in dropins.items():
            assert dropin["name"] == f"/etc/systemd/system/{unit}.service.d/ha-restart.conf"
            assert "Restart=always\nRestartSec=10\n" in dropin["contents"]
        assert args(family["ha-openstack-restart-reload"], "module")["onchanges"] == [
            {"file": f"ha-openstack-restart-{unit}"} for unit in units]
    assert "Restart" not in args(debian["ha-keystone-uwsgi-bind-keystone"], "file")["contents"]


def test_openstack_wsgi_servers_per_os_family(salt_cli):
    """
    RedHat's map names what runs each service's WSGI APIs (issue 16): RDO's nova-api its own eventlet server, bound
    by nova.conf; keystone and placement httpd, their sites sized by ha:openstack:workers. Debian's names none: its
    states render as before (uWSGI).
    """
    def states(minion):
        ret = salt_cli.run("state.show_sls", "ha.openstack.config", minion_tgt=minion)
        assert ret.returncode == 0, ret
        return ret.data

    def args(body):
        return {k: v for arg in body["ha_openstack"] if isinstance(arg, dict) for k, v in arg.items()}

    debian, redhat = states("openstack-controller01"), states("openstack-controller02")
    for service in TOPOLOGY.SERVICES:
        assert "server" not in args(debian[f"ha-{service}-config"])
        assert "server" not in args(debian[f"ha-{service}-members"])
    servers = {service: args(redhat[f"ha-{service}-config"]).get("server") for service in TOPOLOGY.SERVICES}
    assert servers == {"keystone": "httpd", "glance": None, "placement": "httpd", "nova": "eventlet"}
    assert {service: args(redhat[f"ha-{service}-members"]).get("server") for service in TOPOLOGY.SERVICES} == servers
    # What the minions' module makes of them.
    nova = salt_cli.run("ha_openstack.service_settings", "nova", server="eventlet", minion_tgt="openstack-controller02")
    assert nova.returncode == 0, nova
    assert {k: v for k, v in nova.data["config"]["DEFAULT"].items() if k.endswith(("_listen", "_listen_port"))} == {
        "osapi_compute_listen": "10.10.10.52", "osapi_compute_listen_port": 8774,
        "metadata_listen": "10.10.10.52", "metadata_listen_port": 8775}
    daemon = salt_cli.run("ha_openstack.httpd_daemon", "placement", minion_tgt="openstack-controller02")
    assert daemon.returncode == 0 and daemon.data == {"processes": PILLAR["openstack"]["workers"], "threads": 1}


@pytest.mark.parametrize("minion", ["openstack-controller01", "openstack-controller02"])  # Debian, RedHat
def test_haproxy_accepts_the_config_each_family_renders(salt_cli, minion, tmp_path):
    """The HAProxy config that a controller of each family renders (its map, the example pillar), checked by
    ``haproxy -c`` (Debian's haproxy, a host package of make venv; EL9 ships 2.4, Debian 12 2.6)."""
    ret = salt_cli.run("state.show_sls", "ha.haproxy.config", minion_tgt=minion)
    assert ret.returncode == 0, ret
    managed = {k: v for arg in ret.data["ha-haproxy-config"]["file"] if isinstance(arg, dict) for k, v in arg.items()}
    template = (REPO / "salt" / managed["source"].removeprefix("salt://")).read_text()
    rendered = salt_cli.run("file.apply_template_on_contents", contents=template, template="jinja",
                            context=managed["context"], defaults={}, saltenv="base", minion_tgt=minion)
    assert rendered.returncode == 0 and isinstance(rendered.data, str), rendered
    config = tmp_path / "haproxy.cfg"
    config.write_text(rendered.data)
    assert shutil.which("haproxy"), "haproxy is missing: make host-packages installs it"
    checked = subprocess.run(["haproxy", "-c", "-f", str(config)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "listen galera" in rendered.data and managed["check_cmd"].endswith("-c -f")
