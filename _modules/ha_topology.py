"""
Topology of the HA OpenStack site, derived once from the ``ha`` pillar.

Every state, template and orchestration of the formula takes its node list,
roles and addresses from this module instead of rebuilding them in Jinja, and
the pillar is validated here before anything changes on any node.

The module is pure Python on top of the pillar: it loads everywhere, on the
minions and on the master (for ``salt-run state.orchestrate ha.deploy``, after
``salt-run saltutil.sync_all``).
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import importlib
import ipaddress
import re
import zoneinfo
from typing import Any

import ha_pillar
import ha_topology_openstack
from salt.exceptions import CommandExecutionError

# Salt runs this file again on every load of the module (each job, a sync),
# but keeps a plain import for the life of the process: reloaded, a synced
# change of _utils takes effect without restarting the minion.
ha_pillar = importlib.reload(ha_pillar)
ha_topology_openstack = importlib.reload(ha_topology_openstack)
from ha_pillar import (  # noqa: E402 - bound after the reload
    ANY,
    BOOL,
    HOSTNAME_RE,
    INT,
    LIST,
    NONE,
    SCALAR,
    STR,
    check_ports,
    check_schema,
    get,
    hint,
    int_in,
    is_kind,
    key,
    list_of,
    message_key,
    named,
    section,
    shown,
    under,
)

__virtualname__ = "ha_topology"

ROLES = ("controller", "compute")
MIN_CONTROLLERS = 3

# Pillar paths (below ``ha``) that hold secrets. Each one is required and must
# not be a reference value, a placeholder or too short to resist guessing.
SECRETS = (
    ("pacemaker", "hacluster_password"),
    ("galera", "root_password"),
    ("galera", "clustercheck_password"),
    ("rabbitmq", "erlang_cookie"),
    ("rabbitmq", "openstack_password"),
    ("haproxy", "stats", "password"),
    *ha_topology_openstack.secret_paths(),
)
# Erlang's cookie is sent to the VM as an atom; keep it to what every
# RabbitMQ release accepts.
ERLANG_COOKIE_RE = re.compile(r"^[A-Za-z0-9]{20,255}$")
# Used with fullmatch: "$" alone would also accept a trailing newline.
CLUSTER_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
LISTENER_MODES = ("http", "tcp")
# How HAProxy checks a listener's servers: an HTTP request (the APIs), a TCP
# connect, or the Galera health endpoint of each controller, which also makes
# the listener active/backup (one writer at a time).
LISTENER_CHECKS = {"http": "http", "tcp": "tcp", "clustercheck": "tcp"}
# haproxy.cfg takes "stats auth USER:PASSWORD" as one word on one line.
STATS_USER_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
STATS_PASSWORD_RE = re.compile(r"^[^\s#:'\"\\]+$")
CHECK_PATH_RE = re.compile(r"^/[^\s#'\"\\]*$")
# Pacemaker/HAProxy time values: a number with an optional unit.
INTERVAL_RE = re.compile(r"^[0-9]{1,6}(ms|s|m|min|h)?$")
SQL_NAME_RE = re.compile(r"^[A-Za-z0-9_]{1,64}$")
# rsync needs no SST credentials; mariabackup would need an SST user first.
SST_METHODS = ("rsync",)
MAP_TEMPLATE = "salt://ha/map.json.jinja"
# [mysqld] options that galera_node() derives from the topology.
GALERA_NODE_OPTIONS = (
    "bind_address", "wsrep_on", "wsrep_provider", "wsrep_cluster_name", "wsrep_cluster_address",
    "wsrep_node_name", "wsrep_node_address", "wsrep_sst_method",
)
# Every service reaches MariaDB through HAProxy, so MariaDB sees one client
# address (the VIP holder's) for all of them. Its host cache counts aborted
# handshakes per address and, after max_connect_errors of them without a
# good connection in between, blocks the address until FLUSH HOSTS: a
# client probing the VIP, or connections cut by a failover, then lock every
# service out of its database. Without a host cache nothing is counted or
# blocked (and no name is resolved: the accounts are granted by address).
GALERA_NO_HOST_BLOCKING = {"host_cache_size": 0, "max_connect_errors": 4294967295, "skip_name_resolve": "ON"}
PARTITION_HANDLING = ("pause_minority", "autoheal", "ignore")
# mirrored: classic queues mirrored by a policy (the reference's ha-all);
# quorum: no mirroring policy, the services declare quorum queues.
QUEUE_TYPES = ("mirrored", "quorum")
POLICY_APPLY_TO = ("all", "queues", "exchanges")
RABBITMQ_DEFAULTS = {
    "port": 5672,
    "management_port": 15672,
    "cluster_partition_handling": "pause_minority",
    "queue_type": "mirrored",
    "ram_nodes": [],
    "ha_policy": {"name": "ha-all", "pattern": "^", "definition": {"ha-mode": "all"}},
    "settings": {},
}
# rabbitmq.conf keys that rabbitmq_node() derives from the topology (prefixes).
RABBITMQ_DERIVED = ("listeners.", "management.tcp.", "distribution.listener.", "cluster_partition_handling",
                    "loopback_users")
MEMCACHED_DEFAULTS = {"port": 11211, "memory_mb": 64, "max_connections": 1024}
ETCD_DEFAULTS = {"client_port": 2379, "peer_port": 2380}
# Ports the controllers' services use at their own address that the pillar
# does not set: MariaDB, Galera replication, IST, SST, RabbitMQ inter-node,
# Erlang's port mapper, pcsd; and the RabbitMQ CLI tools' range.
NODE_FIXED_PORTS = {3306: "MariaDB", 4567: "Galera replication", 4568: "Galera IST", 4444: "Galera SST",
                    25672: "RabbitMQ inter-node", 4369: "Erlang port mapper", 2224: "pcsd"}
RABBITMQ_CLI_PORTS = (35672, 35682)
# The listeners whose backends are the controllers' own clustered services
# (MariaDB's fixed port, or a port of the pillar); every other listener's
# backend is an API of its own port on every controller.
LISTENER_BACKENDS = {"galera": (3306, "MariaDB"), "rabbitmq": (("rabbitmq", "port"), "ha:rabbitmq:port")}
# Erlang's distribution declares a silent peer down after 0.75 to 1.25 x
# net_ticktime. At the default 60 s, a node cut off for about a minute is
# seen down by some peers and not by others before the cut heals;
# pause_minority acts only on a peer seen down, so such a cut can leave the
# cluster split for good. At 10 s every side sees any cut longer than
# 12.5 s, and the cut-off node pauses and rejoins when it heals.
RABBITMQ_NET_TICKTIME = 10
# The self-repair (salt/ha/rabbitmq/files/watchdog.py): looks every
# `interval` s; the node on the smaller side of a split restarts once the
# split lasted `confirm` s, longer than a node takes to show up as running
# after its AMQP port opens; any disagreement that outlasts `stale` s is
# ended by the node of the highest name involved; a start still not done
# after `stuck` s while the majority runs is killed and done again (a start
# took 8 to 25 s in the lab, a hung one never ends).
RABBITMQ_WATCHDOG = {"interval": 5, "confirm": 15, "stale": 60, "stuck": 45}
# Optional sections of the pillar: absent means defaults, present must be a mapping.
OPTIONAL_SECTIONS = ("rabbitmq", "memcached", "etcd", "base", "chrony", "openstack")
# Cluster properties: the reference's values where sensible. Fencing is off
# as in the reference (set stonith-enabled: true with a fence device), but a
# partitioned minority stops its resources: never no-quorum-policy=ignore on
# a cluster of three or more nodes.
PACEMAKER_PROPERTIES = {
    "pe-warn-series-max": "1000",
    "pe-input-series-max": "1000",
    "pe-error-series-max": "1000",
    "cluster-recheck-interval": "5min",
    "stonith-enabled": "false",
    "no-quorum-policy": "stop",
    # The DC runs its scheduler 150 ms after the last change it saw. With no
    # delay, after a node's loss the DC's CIB query overtakes its own update
    # of the lost node's attributes, and Pacemaker before 3.0.2 then sleeps
    # 1 s in do_pe_invoke_callback before it asks again: the VIP started
    # 1.2 to 1.5 s after the membership change instead of 0.3 s (README,
    # "Failover").
    "transition-delay": "150ms",
}
PACEMAKER_DEFAULTS = {"totem": {}, "properties": {}, "monitor_interval": "10s", "resource_stickiness": 100}
# Corosync's totem timing, under ha:pacemaker:totem: a node that stopped
# answering is out of the membership after token + consensus (1.2 x token
# unless set) plus a few ms, so about 1.15 s with these. Corosync 3.1's own
# default (3000 ms, plus token_coefficient 650 ms per node beyond two)
# takes about 8 s on three nodes. corosync runs at realtime priority
# (sched_rr), so a busy node still passes the token in time (see README).
TOTEM_DEFAULTS = {"token": 500, "token_coefficient": 0}
# Below this, a stalled scheduler on a loaded node could split the cluster.
TOTEM_MIN_TOKEN = 200
# ignore is refused: a partitioned minority would keep running its resources.
NO_QUORUM_POLICIES = ("stop", "freeze", "demote", "suicide")
# corosync.conf totem options that pcs sets (all integers, in milliseconds or counts).
TOTEM_OPTIONS = (
    "consensus", "downcheck", "fail_recv_const", "heartbeat_failures_allowed", "hold", "join", "max_messages",
    "max_network_delay", "merge", "miss_count_const", "send_join", "seqno_unchanged_const", "token",
    "token_coefficient", "token_retransmit", "token_retransmits_before_loss_const", "window_size",
)
# How HAProxy checks every server. Galera and RabbitMQ (cheap checks, the
# writers' failover): twice a second, a quarter second apart once a check
# failed, so that a dead server is out of rotation about a second after it
# died (two failed checks; a check's connect waits at most the interval).
# The HTTP APIs: every 2 s, half a second apart once a check failed: each
# check is a request into the service, and nine listeners checked from
# three HAProxies twice a second cost a third of a core of the 2-core lab.
# On every server, the first connection of a client that fails (refused or
# not accepted within `timeout connect`) marks it down at once, so that a
# dead API server is out of rotation at the first request that meets it,
# before its checks notice. A server back needs two good checks; the
# sessions of a server marked down are cut, so that its clients reconnect at
# once instead of waiting on a dead peer.
HAPROXY_OBSERVE = "observe layer4 error-limit 1 on-error mark-down on-marked-down shutdown-sessions"
HAPROXY_SERVER_CHECKS = {
    "http": f"check inter 2s fastinter 500ms downinter 2s rise 2 fall 2 {HAPROXY_OBSERVE}",
    "fast": f"check inter 500ms fastinter 250ms downinter 1s rise 2 fall 2 {HAPROXY_OBSERVE}",
}
VIP_RESOURCE = "vip"
# How much the VIP avoids the DC (a location score), at most half the
# resource stickiness.
VIP_DC_AVOIDANCE = 50
HAPROXY_RESOURCE = "lb-haproxy"
# Kernel parameters every node gets (the reference's): routing and bridged
# traffic through iptables for Neutron, and binding the VIP on any controller.
# The pillar's ha:base:sysctl adds others but cannot change these.
BASE_SYSCTL = {
    "net.ipv4.ip_forward": "1",
    "net.bridge.bridge-nf-call-iptables": "1",
    "net.bridge.bridge-nf-call-ip6tables": "1",
    "net.ipv4.ip_nonlocal_bind": "1",
}
SYSCTL_NAME_RE = re.compile(r"^[a-z0-9_]+(\.[A-Za-z0-9_-]+)+$")
SYSCTL_VALUE_RE = re.compile(r"^[A-Za-z0-9_./: -]{1,128}$")
SELINUX_MODES = ("enforcing", "permissive", "disabled")
# disabled: the distribution's firewall off (the reference's choice);
# managed: the formula's own rules (firewall_rules).
FIREWALL_MODES = ("disabled", "managed")
FIREWALL_PROTOCOLS = ("tcp", "udp")
PORT_RANGE_RE = re.compile(r"^([0-9]{1,5})-([0-9]{1,5})$")
# The UDP side of Galera replication and Corosync (knet, link 0).
FIREWALL_FIXED_UDP = {4567: "Galera replication", 5405: "Corosync"}
NTP_PORT = 123
TIMEZONE_RE = re.compile(r"^[A-Za-z0-9_+-]{1,64}(/[A-Za-z0-9_+-]{1,64}){0,3}$")
RELEASE_RE = re.compile(r"^[a-z]{3,20}$")
BASE_DEFAULTS = {"upgrade": False, "sysctl": {}, "selinux": "enforcing", "firewall": "disabled",
                 "ssh_port": 22, "firewall_allow": [], "openstack_release": "caracal"}
CHRONY_DEFAULTS = {"servers": [], "upstream": [], "local_stratum": 10}
SITE_SOURCE_OPTIONS = "iburst minpoll 4 maxpoll 6"
NTP_SERVER_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.:-]{0,252})$")


# --- The pillar's schema -----------------------------------------------------
# Every key the formula reads, with the type of its value. The schema runs
# before the value checks below: a key of the wrong type gets one message
# ("must be an integer, not a string") and its value checks are not shown;
# a key the formula does not know is reported with the closest known name,
# so that a typo (memcache: for memcached:) never silently gives defaults.
# A table of Python rather than jsonschema: the validation runs first on the
# master, inside Salt's Python, which would need one more package there; and
# its messages name the key as an operator writes it (ha:rabbitmq:ram_nodes),
# which jsonschema's would need rewriting for.
# Cluster properties Pacemaker 2.1 knows, by the kind of value it takes
# (pe_opts and the controller's options); pcs refuses any other name.
PACEMAKER_PROPERTY_KINDS = {
    **dict.fromkeys((
        "concurrent-fencing", "enable-acl", "enable-startup-probes", "maintenance-mode", "remove-after-stop",
        "shutdown-lock", "start-failure-is-fatal", "startup-fencing", "stonith-enabled", "stop-all-resources",
        "stop-orphan-actions", "stop-orphan-resources", "symmetric-cluster"), "boolean"),
    **dict.fromkeys((
        "cluster-delay", "cluster-recheck-interval", "dc-deadtime", "election-timeout", "join-finalization-timeout",
        "join-integration-timeout", "priority-fencing-delay", "shutdown-escalation", "shutdown-lock-limit",
        "stonith-timeout", "stonith-watchdog-timeout", "transition-delay"), "time"),
    **dict.fromkeys((
        "batch-limit", "cluster-ipc-limit", "migration-limit", "node-action-limit", "node-health-base",
        "node-health-green", "node-health-red", "node-health-yellow", "pe-error-series-max",
        "pe-input-series-max", "pe-warn-series-max", "stonith-max-attempts"), "integer"),
    "load-threshold": "percentage",
    "no-quorum-policy": ("stop", "freeze", "ignore", "demote", "suicide"),
    "stonith-action": ("reboot", "off", "poweroff"),
    "placement-strategy": ("default", "utilization", "minimal", "balanced"),
    "fence-reaction": ("stop", "panic"),
    "node-health-strategy": ("none", "migrate-on-red", "only-green", "progressive", "custom"),
}
# Properties Pacemaker and pcs keep themselves.
PACEMAKER_OWN_PROPERTIES = ("cluster-infrastructure", "cluster-name", "dc-version", "dc-uuid", "have-watchdog",
                            "last-lrm-refresh")
# What Pacemaker reads as a boolean (crm_str_to_boolean).
PACEMAKER_BOOLEANS = ("true", "false", "yes", "no", "on", "off", "y", "n", "1", "0")
PERCENTAGE_RE = re.compile(r"^[0-9]{1,3}%$")
INTEGER_RE = re.compile(r"^-?[0-9]{1,9}$")
# What a RabbitMQ 3.x policy definition may hold: a tuple lists the values a
# key takes, an int is the least integer it takes, str is any string. RabbitMQ
# refuses the whole policy for one bad key, at deploy time; checked here first.
RABBITMQ_POLICY_KEYS: dict[str, Any] = {
    "ha-mode": ("all", "exactly", "nodes"),
    "ha-params": None,  # checked with ha-mode
    "ha-sync-mode": ("manual", "automatic"),
    "ha-sync-batch-size": 1,
    "ha-promote-on-shutdown": ("when-synced", "always"),
    "ha-promote-on-failure": ("when-synced", "always"),
    "queue-master-locator": ("min-masters", "client-local", "random"),
    "queue-leader-locator": ("client-local", "random", "least-leaders"),
    "queue-mode": ("default", "lazy"),
    "queue-version": (1, 2),
    "overflow": ("drop-head", "reject-publish", "reject-publish-dlx"),
    **dict.fromkeys(("message-ttl", "max-length", "max-length-bytes", "max-in-memory-length", "max-in-memory-bytes",
                     "delivery-limit", "initial-cluster-size", "stream-max-segment-size-bytes"), 0),
    "expires": 1,
    **dict.fromkeys(("alternate-exchange", "dead-letter-exchange", "dead-letter-routing-key", "max-age"), str),
}
LISTENER_SCHEMA = {"port": INT, "backend_port": INT, "bind": STR, "mode": STR, "check": STR, "check_path": STR,
                   "timeout": (STR, INT, NONE)}
SCHEMA = {
    "timezone": STR,
    "domain": (STR, NONE),
    "management_network": STR,
    # The formula's map data (package, service and path names), free-form.
    "lookup": named(ANY),
    "vip": {"address": STR, "cidr_netmask": INT, "hostname": (STR, NONE)},
    "nodes": named({"address": STR, "roles": list_of(STR)}),
    "base": {
        "upgrade": BOOL, "openstack_release": STR, "sysctl": named(SCALAR), "selinux": STR, "firewall": STR,
        "ssh_port": INT, "firewall_allow": list_of({"port": (INT, STR), "proto": STR, "source": (STR, NONE)}),
    },
    "chrony": {"servers": list_of(STR), "upstream": list_of(STR), "local_stratum": INT},
    "pacemaker": {
        "cluster_name": STR, "hacluster_password": STR, "totem": dict.fromkeys(TOTEM_OPTIONS, INT),
        "properties": named(SCALAR), "monitor_interval": (STR, INT), "resource_stickiness": INT,
    },
    "galera": {
        "cluster_name": STR, "root_password": STR, "clustercheck_password": STR, "sst_method": STR,
        "settings": named(SCALAR),
        "clustercheck": {"port": INT, "available_when_donor": BOOL, "available_when_readonly": BOOL},
        "databases": named({"password": STR, "databases": list_of(STR)}),
    },
    "rabbitmq": {
        "erlang_cookie": STR, "openstack_password": STR, "port": INT, "management_port": INT,
        "ram_nodes": list_of(STR), "cluster_partition_handling": STR, "queue_type": STR,
        "ha_policy": {"name": STR, "pattern": STR, "apply_to": STR, "priority": INT,
                      "definition": named((SCALAR, LIST))},
        "settings": named(SCALAR),
    },
    "memcached": {"port": INT, "memory_mb": INT, "max_connections": INT},
    "etcd": {"cluster_token": STR, "client_port": INT, "peer_port": INT},
    "haproxy": {
        "stats": {"port": INT, "bind": STR, "user": STR, "password": STR},
        "listeners": named(LISTENER_SCHEMA),
    },
    "openstack": ha_topology_openstack.schema(),
}


def __virtual__():
    return __virtualname__


def _ha_pillar(ha: dict | None) -> Any:
    if ha is not None:
        return ha
    return __pillar__.get("ha")  # noqa: F821 - Salt loader dunder


def _node_sort_key(name: str) -> list:
    # Natural order, so openstack-controller10 comes after controller09.
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _check_secret(path: tuple[str, ...], value: Any, errors: list[str]) -> None:
    if ha_pillar.check_secret(path, value, errors) and path == ("rabbitmq", "erlang_cookie") \
            and not ERLANG_COOKIE_RE.fullmatch(value):
        errors.append(f"{key(*path)}: must be 20 to 255 letters and digits")


def _check_network(ha: dict, errors: list[str]) -> ipaddress.IPv4Network | None:
    raw = ha.get("management_network")
    try:
        return ipaddress.IPv4Network(str(raw), strict=True)
    except ValueError:
        errors.append(f"{key('management_network')}: {raw!r} is not an IPv4 network such as 10.10.10.0/24")
        return None


def _check_address(path: tuple, raw: Any, network, errors: list[str]) -> ipaddress.IPv4Address | None:
    try:
        address = ipaddress.IPv4Address(str(raw))
    except ValueError:
        errors.append(f"{key(*path)}: {raw!r} is not an IPv4 address")
        return None
    if network is not None and (
        address not in network or address in (network.network_address, network.broadcast_address)
    ):
        errors.append(f"{key(*path)}: {address} is not a host address of management_network {network}")
    return address


def _check_nodes(ha: dict, network, errors: list[str]) -> dict[str, dict]:
    nodes = ha.get("nodes")
    if not isinstance(nodes, dict) or not nodes:
        errors.append(f"{key('nodes')}: must map each node's minion id to its address and roles")
        return {}
    checked: dict[str, dict] = {}
    seen_addresses: dict[ipaddress.IPv4Address, str] = {}
    for name, spec in nodes.items():
        if not isinstance(name, str) or not HOSTNAME_RE.fullmatch(name):
            errors.append(f"{key('nodes', name)}: the node name must be a lower-case host name")
            continue
        if not isinstance(spec, dict):
            errors.append(f"{key('nodes', name)}: must be a mapping with address and roles")
            continue
        address = _check_address(("nodes", name, "address"), spec.get("address"), network, errors)
        if address is not None:
            if address in seen_addresses:
                errors.append(
                    f"{key('nodes', name, 'address')}: {address} is also the address of {seen_addresses[address]}"
                )
            seen_addresses[address] = name
        roles = spec.get("roles")
        if not isinstance(roles, list) or not roles:
            errors.append(f"{key('nodes', name, 'roles')}: must be a non-empty list of {', '.join(ROLES)}")
            roles = []
        unknown = [role for role in roles if isinstance(role, str) and role not in ROLES]
        if unknown:
            errors.append(f"{key('nodes', name, 'roles')}: unknown role(s) {', '.join(map(shown, unknown))}")
        checked[name] = {"address": address, "roles": [role for role in ROLES if role in roles]}
    # RabbitMQ names a node rabbit@ and its short name, and /etc/hosts lists
    # both names: one host under its short and its full name would be two
    # nodes of one name.
    short_names: dict[str, str] = {}
    for name in checked:
        other = short_names.setdefault(name.split(".")[0], name)
        if other != name:
            errors.append(f"{key('nodes', name)}: has the short name {name.split('.')[0]} of node {other}; "
                          "list each node once, under one name")
    controllers = [name for name, spec in checked.items() if "controller" in spec["roles"]]
    if len(controllers) < MIN_CONTROLLERS:
        errors.append(
            f"{key('nodes')}: an HA control plane needs at least {MIN_CONTROLLERS} controllers, "
            f"found {len(controllers)}"
        )
    return checked


def _check_vip(ha: dict, network, nodes: dict[str, dict], errors: list[str]) -> None:
    vip = ha.get("vip")
    if not isinstance(vip, dict):
        errors.append(f"{key('vip')}: must be a mapping with address and cidr_netmask")
        return
    address = _check_address(("vip", "address"), vip.get("address"), network, errors)
    for name, spec in nodes.items():
        if address is not None and spec["address"] == address:
            errors.append(f"{key('vip', 'address')}: {address} is also the address of node {name}")
    netmask = vip.get("cidr_netmask")
    if not int_in(netmask, 1, 32):
        errors.append(f"{key('vip', 'cidr_netmask')}: {netmask!r} must be a prefix length from 1 to 32")
    elif network is not None and netmask != network.prefixlen:
        errors.append(
            f"{key('vip', 'cidr_netmask')}: {netmask} differs from the prefix of management_network {network}"
        )
    hostname = vip.get("hostname")
    if hostname is not None and (not isinstance(hostname, str) or not HOSTNAME_RE.fullmatch(hostname)):
        errors.append(f"{key('vip', 'hostname')}: {hostname!r} is not a lower-case host name")
    elif hostname in nodes:
        errors.append(f"{key('vip', 'hostname')}: {hostname} is also the name of a node")


@functools.cache
def _time_zones() -> frozenset[str]:
    """The tz database's zone names where this host has one (empty where it has none)."""
    return frozenset(zoneinfo.available_timezones())


def _check_timezone(ha: dict, errors: list[str]) -> None:
    zone = ha.get("timezone")
    if not isinstance(zone, str) or not zone:
        errors.append(f"{key('timezone')}: is required, e.g. Etc/UTC")
    elif not TIMEZONE_RE.fullmatch(zone):
        errors.append(f"{key('timezone')}: {zone!r} is not a time zone name such as Europe/Berlin")
    elif _time_zones() and zone not in _time_zones():
        close = difflib.get_close_matches(zone, sorted(_time_zones()), n=1, cutoff=0.6)
        suggestion = f"; did you mean {close[0]}?" if close else ""
        errors.append(f"{key('timezone')}: {zone!r} is not a zone of the tz database{suggestion}")


def _check_cluster_names(ha: dict, errors: list[str]) -> None:
    for path in (("pacemaker", "cluster_name"), ("galera", "cluster_name"), ("etcd", "cluster_token")):
        value = get(ha, path)
        if not isinstance(value, str) or not CLUSTER_NAME_RE.fullmatch(value):
            errors.append(f"{key(*path)}: {value!r} must be 1 to 63 letters, digits, '.', '_' or '-'")


def _check_haproxy(ha: dict, vip_address: Any, errors: list[str]) -> None:
    stats = get(ha, ("haproxy", "stats"))
    if not isinstance(stats, dict):
        errors.append(f"{key('haproxy', 'stats')}: must be a mapping with port, user and password")
        stats = {}
    user = stats.get("user")
    if not isinstance(user, str) or not user:
        errors.append(f"{key('haproxy', 'stats', 'user')}: is required")
    elif user.lower() in ha_pillar.WEAK_SECRETS:
        errors.append(f"{key('haproxy', 'stats', 'user')}: {user!r} is a reference value; pick a site-specific user")
    elif not STATS_USER_RE.fullmatch(user):
        errors.append(f"{key('haproxy', 'stats', 'user')}: must be letters, digits, '.', '_' or '-'")
    password = stats.get("password")
    if isinstance(password, str) and password and not STATS_PASSWORD_RE.fullmatch(password):
        errors.append(f"{key('haproxy', 'stats', 'password')}: must not contain spaces, ':', '#', quotes or "
                      "backslashes (haproxy.cfg takes it as one word)")
    listeners = get(ha, ("haproxy", "listeners"))
    if not isinstance(listeners, dict) or not listeners:
        errors.append(f"{key('haproxy', 'listeners')}: must map each service to its listener")
        listeners = {}
    binds: dict[tuple[str, int], str] = {}
    for name, spec in [("stats", stats)] + list(listeners.items()):
        path = ("haproxy", "stats") if name == "stats" else ("haproxy", "listeners", name)
        if not isinstance(spec, dict):
            errors.append(f"{key(*path)}: must be a mapping with at least a port")
            continue
        port = spec.get("port")
        if not int_in(port, 1, 65535):
            errors.append(f"{key(*path, 'port')}: {port!r} must be a TCP port from 1 to 65535")
            continue
        backend_port = spec.get("backend_port", port)
        if not int_in(backend_port, 1, 65535):
            errors.append(f"{key(*path, 'backend_port')}: {backend_port!r} must be a TCP port from 1 to 65535")
        if name != "stats":
            _check_listener(path, spec, errors)
        # A bind lands as written in haproxy.cfg and the firewall's rules; it
        # may be outside management_network (a public address).
        if "bind" in spec and _check_address((*path, "bind"), spec["bind"], None, errors) is None:
            continue
        bind = (str(spec.get("bind", vip_address)), port)
        if bind in binds:
            errors.append(
                f"{key(*path, 'port')}: {bind[0]}:{port} is already bound by {key(*binds[bind])}"
            )
        else:
            binds[bind] = path


def _check_listener(path: tuple, spec: dict, errors: list[str]) -> None:
    mode = spec.get("mode", "http")
    if mode not in LISTENER_MODES:
        errors.append(f"{key(*path, 'mode')}: {mode!r} must be one of {', '.join(LISTENER_MODES)}")
        return
    check = spec.get("check", mode)
    if not isinstance(check, str) or check not in LISTENER_CHECKS:
        errors.append(f"{key(*path, 'check')}: {check!r} must be one of {', '.join(LISTENER_CHECKS)}")
    elif LISTENER_CHECKS[check] != mode:
        errors.append(f"{key(*path, 'check')}: a {check} check needs mode {LISTENER_CHECKS[check]}, not {mode}")
    check_path = spec.get("check_path", "/")
    if not isinstance(check_path, str) or not CHECK_PATH_RE.fullmatch(check_path):
        errors.append(f"{key(*path, 'check_path')}: {check_path!r} must be a URL path starting with /")
    timeout = spec.get("timeout")
    if timeout is not None and not INTERVAL_RE.fullmatch(str(timeout)):
        errors.append(f"{key(*path, 'timeout')}: {timeout!r} must be a time such as 90m or 3h")


def _check_pacemaker(ha: dict, nodes: dict[str, dict], errors: list[str]) -> None:
    pacemaker = section(ha, "pacemaker", PACEMAKER_DEFAULTS)
    # Unknown options and values that are no integers are the schema's.
    totem = {k: v for k, v in pacemaker["totem"].items() if k in TOTEM_OPTIONS and is_kind(v, INT)} \
        if isinstance(pacemaker["totem"], dict) else {}
    for option, value in totem.items():
        if not int_in(value, 0, 3600000):
            errors.append(f"{key('pacemaker', 'totem', option)}: {value!r} must be from 0 to 3600000")
    timing = {**TOTEM_DEFAULTS, **{k: v for k, v in totem.items() if int_in(v, 0, 3600000)}}
    # Corosync's token grows by token_coefficient for every node beyond two.
    controllers = sum("controller" in spec["roles"] for spec in nodes.values())
    token = timing["token"] + max(0, controllers - 2) * timing["token_coefficient"]
    if timing["token"] < TOTEM_MIN_TOKEN:
        errors.append(f"{key('pacemaker', 'totem', 'token')}: {timing['token']} is below {TOTEM_MIN_TOKEN} ms; "
                      "a busy node would be taken for dead")
    elif "consensus" in timing and timing["consensus"] < token * 1.2:
        errors.append(f"{key('pacemaker', 'totem', 'consensus')}: {timing['consensus']} must be at least "
                      f"1.2 x the token of {controllers} controllers ({int(token * 1.2)} ms)")
    # Values of another kind than a single value are the schema's.
    properties = {name: value for name, value in pacemaker["properties"].items() if is_kind(value, SCALAR)} \
        if isinstance(pacemaker["properties"], dict) else {}
    for name, value in properties.items():
        if name != "no-quorum-policy":  # the formula's own rule, below
            _check_property(name, value, errors)
    policy = _pcs_value(properties.get("no-quorum-policy", PACEMAKER_PROPERTIES["no-quorum-policy"]))
    if policy not in NO_QUORUM_POLICIES:
        why = (f"; on {controllers} controllers a partitioned minority would keep running its resources"
                if policy == "ignore" else "")
        errors.append(f"{key('pacemaker', 'properties', 'no-quorum-policy')}: {policy!r} must be one of "
                      f"{', '.join(NO_QUORUM_POLICIES)}{why}")
    interval = pacemaker["monitor_interval"]
    if not INTERVAL_RE.fullmatch(str(interval)):
        errors.append(f"{key('pacemaker', 'monitor_interval')}: {interval!r} must be a time such as 10s")
    if not int_in(pacemaker["resource_stickiness"], 0, 1000000):
        errors.append(f"{key('pacemaker', 'resource_stickiness')}: {pacemaker['resource_stickiness']!r} must be "
                      "an integer from 0 to 1000000")


def _check_property(name: Any, value: Any, errors: list[str]) -> None:
    """A cluster property's value, by the kind Pacemaker takes: a bad value would be taken as its default, silently."""
    where = key("pacemaker", "properties", name)
    if name in PACEMAKER_OWN_PROPERTIES:
        errors.append(f"{where}: is kept by Pacemaker and pcs themselves; remove it")
        return
    kind = PACEMAKER_PROPERTY_KINDS.get(name)
    if kind is None:
        errors.append(f"{where}: not a cluster property of Pacemaker; {hint(name, PACEMAKER_PROPERTY_KINDS)}")
        return
    text = _pcs_value(value)
    if isinstance(kind, tuple):
        if text not in kind:
            errors.append(f"{where}: {value!r} must be one of {', '.join(kind)}")
    elif not {
        "boolean": text in PACEMAKER_BOOLEANS,
        "time": bool(INTERVAL_RE.fullmatch(text)),
        "integer": bool(INTEGER_RE.fullmatch(text)) or text.upper() in ("INFINITY", "+INFINITY", "-INFINITY"),
        "percentage": bool(PERCENTAGE_RE.fullmatch(text)),
    }[kind]:
        example = {"boolean": "true or false", "time": "a time such as 30s or 5min",
                   "integer": "an integer", "percentage": "a percentage such as 80%"}[kind]
        errors.append(f"{where}: {value!r} must be {example}")


def _check_galera(ha: dict, errors: list[str]) -> None:
    galera = ha.get("galera") if isinstance(ha.get("galera"), dict) else {}
    sst = galera.get("sst_method", "rsync")
    if sst not in SST_METHODS:
        errors.append(f"{key('galera', 'sst_method')}: {sst!r} is not supported; use {', '.join(SST_METHODS)}")
    settings = galera.get("settings", {})
    if isinstance(settings, dict):  # its kinds are the schema's
        for option in settings:
            if option in GALERA_NODE_OPTIONS:
                errors.append(f"{key('galera', 'settings', option)}: is derived from the topology; remove it")
            elif option in GALERA_NO_HOST_BLOCKING:
                errors.append(f"{key('galera', 'settings', option)}: is fixed so that MariaDB never blocks "
                              "HAProxy's address after aborted connections; remove it")
    check = galera.get("clustercheck", {})
    port = check.get("port", 9200) if isinstance(check, dict) else None
    if not int_in(port, 1, 65535):
        errors.append(f"{key('galera', 'clustercheck', 'port')}: {port!r} must be a TCP port from 1 to 65535")
    databases = galera.get("databases", {})
    if not isinstance(databases, dict):
        errors.append(f"{key('galera', 'databases')}: must map each service user to its password and databases")
        return
    for user, spec in databases.items():
        if not isinstance(user, str) or not SQL_NAME_RE.fullmatch(user):
            errors.append(f"{key('galera', 'databases', user)}: the user name must be letters, digits and _")
            continue
        if not isinstance(spec, dict):
            errors.append(f"{key('galera', 'databases', user)}: must be a mapping with a password")
            continue
        _check_secret(("galera", "databases", user, "password"), spec.get("password"), errors)
        names = spec.get("databases", [user])
        if not isinstance(names, list) or not names or not all(
            SQL_NAME_RE.fullmatch(n) for n in names if isinstance(n, str)
        ):
            errors.append(f"{key('galera', 'databases', user, 'databases')}: must list database names "
                          "(letters, digits and _)")


def _pcs_value(value: Any) -> str:
    """A pillar value as Pacemaker writes it (YAML's true is "true", not "True")."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _check_rabbitmq(ha: dict, nodes: dict[str, dict], errors: list[str]) -> None:
    rabbitmq = section(ha, "rabbitmq", RABBITMQ_DEFAULTS)
    check_ports("rabbitmq", rabbitmq, ("port", "management_port"), errors)
    handling = rabbitmq["cluster_partition_handling"]
    if handling not in PARTITION_HANDLING:
        errors.append(f"{key('rabbitmq', 'cluster_partition_handling')}: {handling!r} must be one of "
                      f"{', '.join(PARTITION_HANDLING)}")
    if rabbitmq["queue_type"] not in QUEUE_TYPES:
        errors.append(f"{key('rabbitmq', 'queue_type')}: {rabbitmq['queue_type']!r} must be one of "
                      f"{', '.join(QUEUE_TYPES)}")
    controllers = sorted((n for n, spec in nodes.items() if "controller" in spec["roles"]), key=_node_sort_key)
    first = controllers[0] if controllers else None
    ram_nodes = rabbitmq["ram_nodes"]
    if not isinstance(ram_nodes, list):
        errors.append(f"{key('rabbitmq', 'ram_nodes')}: must be a list of controller names")
        ram_nodes = []
    for name in ram_nodes:
        if not isinstance(name, str):
            continue  # the schema's
        if name not in controllers:
            errors.append(f"{key('rabbitmq', 'ram_nodes')}: {name!r} is not a controller")
        elif name == first:
            errors.append(f"{key('rabbitmq', 'ram_nodes')}: {name} is the first controller, which the "
                          "others join; it must stay a disc node")
    policy = rabbitmq["ha_policy"]
    if not isinstance(policy, dict) or not all(isinstance(policy.get(k), str) and policy.get(k)
                                               for k in ("name", "pattern")) \
            or not isinstance(policy.get("definition"), dict) or not policy["definition"]:
        errors.append(f"{key('rabbitmq', 'ha_policy')}: must have a name, a pattern and a definition mapping")
    else:
        if policy.get("apply_to", "all") not in POLICY_APPLY_TO:
            errors.append(f"{key('rabbitmq', 'ha_policy', 'apply_to')}: {policy['apply_to']!r} must be one of "
                          f"{', '.join(POLICY_APPLY_TO)}")
        if not int_in(policy.get("priority", 0), 0, 999):
            errors.append(f"{key('rabbitmq', 'ha_policy', 'priority')}: {policy['priority']!r} must be an "
                          "integer from 0 to 999")
        _check_policy_definition(policy["definition"], rabbitmq["queue_type"] == "mirrored", errors)
    settings = rabbitmq["settings"]
    if isinstance(settings, dict):  # its kinds are the schema's
        for option in settings:
            if str(option).startswith(RABBITMQ_DERIVED):
                errors.append(f"{key('rabbitmq', 'settings', option)}: is derived from the topology and "
                              "ha:rabbitmq; remove it")


def _check_policy_definition(definition: dict, mirrored: bool, errors: list[str]) -> None:
    path = ("rabbitmq", "ha_policy", "definition")
    for name, value in definition.items():
        where = key(*path, name)
        allowed = RABBITMQ_POLICY_KEYS.get(name, ...)
        if allowed is ...:
            errors.append(f"{where}: not a key of a RabbitMQ policy; {hint(name, RABBITMQ_POLICY_KEYS)}")
        elif isinstance(allowed, tuple):
            if isinstance(value, bool) or value not in allowed:
                errors.append(f"{where}: {value!r} must be one of {', '.join(map(str, allowed))}")
        elif allowed is str:
            if not isinstance(value, str) or not value:
                errors.append(f"{where}: {value!r} must be a name")
        elif isinstance(allowed, int) and not int_in(value, allowed, 2**63 - 1):
            errors.append(f"{where}: {value!r} must be an integer of at least {allowed}")
    mode, params = definition.get("ha-mode"), definition.get("ha-params")
    if mode == "exactly" and not int_in(params, 1, 1000):
        errors.append(f"{key(*path, 'ha-params')}: {params!r}: ha-mode exactly takes the number of replicas, "
                      "an integer of at least 1")
    elif mode == "nodes" and (not isinstance(params, list) or not params
                              or not all(isinstance(node, str) and node for node in params)):
        errors.append(f"{key(*path, 'ha-params')}: {params!r}: ha-mode nodes takes a list of node names such "
                      "as rabbit@openstack-controller01")
    elif mode is not None and mode not in ("exactly", "nodes") and "ha-params" in definition:
        errors.append(f"{key(*path, 'ha-params')}: only ha-mode exactly or nodes takes ha-params")
    if "ha-mode" not in definition:
        for name in definition:
            if isinstance(name, str) and name.startswith("ha-") and name in RABBITMQ_POLICY_KEYS:
                errors.append(f"{key(*path, name)}: needs ha-mode in the same definition")
        if mirrored:
            errors.append(f"{key(*path)}: mirrored queues (queue_type mirrored) need ha-mode here, such as "
                          "ha-mode: all")


def _check_memcached(ha: dict, errors: list[str]) -> None:
    memcached = section(ha, "memcached", MEMCACHED_DEFAULTS)
    check_ports("memcached", memcached, ("port",), errors)
    if not int_in(memcached["memory_mb"], 16, 1048576):
        errors.append(f"{key('memcached', 'memory_mb')}: {memcached['memory_mb']!r} must be a size in MiB "
                      "from 16 to 1048576")
    if not int_in(memcached["max_connections"], 16, 1048576):
        errors.append(f"{key('memcached', 'max_connections')}: {memcached['max_connections']!r} must be a "
                      "number from 16 to 1048576")


def _check_etcd(ha: dict, errors: list[str]) -> None:
    etcd = section(ha, "etcd", ETCD_DEFAULTS)
    check_ports("etcd", etcd, ("client_port", "peer_port"), errors)


def _check_base(ha: dict, errors: list[str]) -> None:
    base = section(ha, "base", BASE_DEFAULTS)
    if not isinstance(base["upgrade"], bool):
        errors.append(f"{key('base', 'upgrade')}: {base['upgrade']!r} must be true or false")
    if base["selinux"] not in SELINUX_MODES:
        errors.append(f"{key('base', 'selinux')}: {base['selinux']!r} must be one of {', '.join(SELINUX_MODES)}")
    if base["firewall"] not in FIREWALL_MODES:
        errors.append(f"{key('base', 'firewall')}: {base['firewall']!r} must be one of {', '.join(FIREWALL_MODES)}")
    if not int_in(base["ssh_port"], 1, 65535):
        errors.append(f"{key('base', 'ssh_port')}: {base['ssh_port']!r} must be a TCP port from 1 to 65535")
    _check_firewall_allow(base["firewall_allow"], errors)
    release = base["openstack_release"]
    if not isinstance(release, str) or not RELEASE_RE.fullmatch(release):
        errors.append(f"{key('base', 'openstack_release')}: {release!r} must be a release name such as caracal")
    sysctl = base["sysctl"]
    if not isinstance(sysctl, dict):
        errors.append(f"{key('base', 'sysctl')}: must map kernel parameter names to values")
        return
    for name, value in sysctl.items():
        if not isinstance(name, str) or not SYSCTL_NAME_RE.fullmatch(name):
            errors.append(f"{key('base', 'sysctl', name)}: is not a kernel parameter name such as vm.swappiness")
        elif isinstance(value, bool) or not SYSCTL_VALUE_RE.fullmatch(str(value)):
            errors.append(f"{key('base', 'sysctl', name)}: {value!r} is not a plain number or word")
        elif name in BASE_SYSCTL and str(value) != BASE_SYSCTL[name]:
            errors.append(
                f"{key('base', 'sysctl', name)}: the formula needs {BASE_SYSCTL[name]}; {value!r} would break it"
            )


def _port_spec(value: Any) -> bool:
    """A port (1-65535) or a range of ports "LOW-HIGH"."""
    if isinstance(value, str):
        match = PORT_RANGE_RE.fullmatch(value)
        return bool(match) and 1 <= int(match.group(1)) < int(match.group(2)) <= 65535
    return int_in(value, 1, 65535)


def _check_firewall_allow(allow: Any, errors: list[str]) -> None:
    if not isinstance(allow, list):
        errors.append(f"{key('base', 'firewall_allow')}: must be a list of {{port, proto, source}} entries")
        return
    for index, rule in enumerate(allow):
        path = ("base", "firewall_allow", index)
        if not isinstance(rule, dict) or "port" not in rule:
            errors.append(f"{key(*path)}: must be a mapping with port, and optionally proto and source")
            continue
        if not _port_spec(rule["port"]):
            errors.append(f"{key(*path, 'port')}: {rule['port']!r} must be a port from 1 to 65535 or a range "
                          "such as 8000-8010")
        if rule.get("proto", "tcp") not in FIREWALL_PROTOCOLS:
            errors.append(f"{key(*path, 'proto')}: {rule.get('proto')!r} must be tcp or udp")
        source = rule.get("source")
        if source is not None:
            try:
                ipaddress.IPv4Network(str(source), strict=False)
            except ValueError:
                errors.append(f"{key(*path, 'source')}: {source!r} is not an IPv4 address or network")


def _check_chrony(ha: dict, nodes: dict[str, dict], errors: list[str]) -> None:
    chrony = section(ha, "chrony", CHRONY_DEFAULTS)
    servers = chrony["servers"]
    if not isinstance(servers, list):
        errors.append(f"{key('chrony', 'servers')}: must be a list of node names")
    else:
        for name in servers:
            # Items of another kind are the schema's.
            if isinstance(name, str) and name not in nodes:
                errors.append(f"{key('chrony', 'servers')}: {name!r} is not a node of ha:nodes")
    upstream = chrony["upstream"]
    if not isinstance(upstream, list):
        errors.append(f"{key('chrony', 'upstream')}: must be a list of NTP server names or addresses")
    else:
        for server in upstream:
            if isinstance(server, str) and not NTP_SERVER_RE.fullmatch(server):
                errors.append(f"{key('chrony', 'upstream')}: {server!r} is not a host name or address")
    if not int_in(chrony["local_stratum"], 1, 15):
        errors.append(f"{key('chrony', 'local_stratum')}: {chrony['local_stratum']!r} must be from 1 to 15")


def _node_ports(ha: dict) -> list[tuple[tuple[str, ...], Any]]:
    """The ports that the pillar sets for every controller's services at its own address, by pillar path."""
    return [
        (("galera", "clustercheck", "port"), get(ha, ("galera", "clustercheck", "port")) or 9200),
        (("rabbitmq", "port"), section(ha, "rabbitmq", RABBITMQ_DEFAULTS)["port"]),
        (("rabbitmq", "management_port"), section(ha, "rabbitmq", RABBITMQ_DEFAULTS)["management_port"]),
        (("memcached", "port"), section(ha, "memcached", MEMCACHED_DEFAULTS)["port"]),
        (("etcd", "client_port"), section(ha, "etcd", ETCD_DEFAULTS)["client_port"]),
        (("etcd", "peer_port"), section(ha, "etcd", ETCD_DEFAULTS)["peer_port"]),
    ]


def _check_node_ports(ha: dict, errors: list[str]) -> None:
    """Ports that every controller listens on at its own address must differ between services."""
    low, high = RABBITMQ_CLI_PORTS
    seen: dict[int, str] = {**{port: "the RabbitMQ CLI tools" for port in range(low, high + 1)}, **NODE_FIXED_PORTS}
    for path, port in _node_ports(ha):
        if not int_in(port, 1, 65535):
            continue  # reported by the section's own check
        other = seen.setdefault(port, key(*path))
        # Two ports of one section are reported by _check_ports already.
        if other != key(*path) and not other.startswith(key(path[0]) + ":"):
            errors.append(f"{key(*path)}: {port} is also used on every controller by {other}")
    listeners = get(ha, ("haproxy", "listeners"))
    for name, spec in sorted(listeners.items(), key=lambda item: str(item[0])) if isinstance(listeners, dict) else ():
        if not isinstance(spec, dict):
            continue
        field = "backend_port" if "backend_port" in spec else "port"
        port, path = spec.get(field), ("haproxy", "listeners", name, field)
        if not int_in(port, 1, 65535):
            continue  # reported by _check_haproxy
        if name in LISTENER_BACKENDS:
            # The backend of this listener is a service of the node itself.
            wanted, service = LISTENER_BACKENDS[name]
            wanted = dict(_node_ports(ha)).get(wanted) if isinstance(wanted, tuple) else wanted
            if int_in(wanted, 1, 65535) and port != wanted:
                errors.append(f"{key(*path)}: {port} differs from the port of {service}, {wanted}")
            continue
        other = seen.setdefault(port, key(*path))
        if other != key(*path):
            errors.append(f"{key(*path)}: {port} is also used on every controller by {other}")


def validate(ha: dict | None = None) -> list[str]:
    """
    Check the ``ha`` pillar and return the list of problems, each naming its key.

    An empty list means the pillar is valid.

    CLI Example:

    .. code-block:: bash

        salt '*' ha_topology.validate
    """
    ha = _ha_pillar(ha)
    if not isinstance(ha, dict):
        return [f"ha: the pillar has no 'ha' mapping (see pillar.example); got {type(ha).__name__}"]
    schema_errors: list[str] = []
    check_schema(ha, SCHEMA, (), schema_errors)
    errors: list[str] = []
    network = _check_network(ha, errors)
    nodes = _check_nodes(ha, network, errors)
    _check_vip(ha, network, nodes, errors)
    domain = ha.get("domain")
    if domain and (not isinstance(domain, str) or not HOSTNAME_RE.fullmatch(domain)):
        errors.append(f"{key('domain')}: {domain!r} is not a lower-case DNS domain")
    _check_timezone(ha, errors)
    _check_cluster_names(ha, errors)
    _check_haproxy(ha, get(ha, ("vip", "address")), errors)
    _check_galera(ha, errors)
    bad_sections = [name for name in OPTIONAL_SECTIONS if name in ha and not isinstance(ha[name], dict)]
    for name in bad_sections:
        errors.append(f"{key(name)}: must be a mapping")
    if not bad_sections:
        _check_rabbitmq(ha, nodes, errors)
        _check_memcached(ha, errors)
        _check_etcd(ha, errors)
        _check_node_ports(ha, errors)
        _check_base(ha, errors)
        _check_chrony(ha, nodes, errors)
        ha_topology_openstack.check(ha, errors)
    if isinstance(ha.get("pacemaker"), dict):
        _check_pacemaker(ha, nodes, errors)
    else:
        errors.append(f"{key('pacemaker')}: must be a mapping with cluster_name and hacluster_password")
    for path in SECRETS:
        _check_secret(path, get(ha, path), errors)
    # A key of the wrong kind gets the schema's message only: its value
    # checks would repeat it in other words.
    wrong = {message_key(message) for message in schema_errors}
    return schema_errors + [message for message in errors if not under(message_key(message), wrong)]


def secret_keys(ha: dict | None = None) -> list[str]:
    """
    The pillar keys (not the values) of every secret of the site: those of ``SECRETS`` and
    the password of each account of ``ha:galera:databases``. What the leak checks look for.

    CLI Example:

    .. code-block:: bash

        salt-call ha_topology.secret_keys
    """
    ha = _ha_pillar(ha)
    databases = get(ha, ("galera", "databases"))
    users = sorted(databases, key=str) if isinstance(databases, dict) else []
    return [key(*path) for path in (*SECRETS, *(("galera", "databases", user, "password") for user in users))]


def check(ha: dict | None = None) -> bool:
    """
    Raise ``CommandExecutionError`` listing every problem of the ``ha`` pillar.

    Returns True when the pillar is valid, so that ``salt.function`` steps and
    ``salt-call`` fail loudly on a bad pillar.

    CLI Example:

    .. code-block:: bash

        salt '*' ha_topology.check
    """
    errors = _validated(_ha_pillar(ha))
    if errors:
        raise CommandExecutionError("Invalid ha pillar:\n" + "\n".join(errors))
    return True


def _validated(ha: Any) -> list[str]:
    """validate()'s answer, computed once per run for one pillar: every getter checks the
    pillar first, and one state file calls several getters. Kept in ``__context__`` under
    a digest of the pillar, so that a pillar given on the command line is validated anew."""
    try:
        context = __context__  # noqa: F821 - Salt loader dunder
    except NameError:  # loaded outside Salt's loader
        return validate(ha)
    cache_key = "ha_topology.errors." + hashlib.sha256(repr(ha).encode()).hexdigest()
    if cache_key not in context:
        context[cache_key] = validate(ha)
    return list(context[cache_key])


def nodes(ha: dict | None = None) -> list[dict]:
    """
    Return every node as ``{"id", "address", "roles"}``, controllers first,
    each group in natural name order. The first controller is the one that
    bootstraps clusters on a first deploy and serves time.

    CLI Example:

    .. code-block:: bash

        salt-call ha_topology.nodes
    """
    ha = _ha_pillar(ha)
    check(ha)
    result = [
        {"id": name, "address": str(spec["address"]), "roles": [r for r in ROLES if r in spec["roles"]]}
        for name, spec in ha["nodes"].items()
    ]
    return sorted(result, key=lambda n: ("controller" not in n["roles"], _node_sort_key(n["id"])))


def first_controller(ha: dict | None = None) -> str:
    """
    The minion id of the first controller, the first of :py:func:`nodes`: the
    one that bootstraps Galera on a first deploy, that the other RabbitMQ
    nodes join, that serves time, sets up keystone and runs the one-off steps
    of the orchestration. Decided here only.

    CLI Example:

    .. code-block:: bash

        salt-call ha_topology.first_controller
    """
    return _controllers(_ha_pillar(ha))[0]["id"]


def _controllers(ha: dict) -> list[dict]:
    """The controllers among :py:func:`nodes`, in the same order (the first bootstraps)."""
    return [n for n in nodes(ha) if "controller" in n["roles"]]


def ids(role: str | None = None, ha: dict | None = None) -> list[str]:
    """
    Return the minion ids of all nodes, or of the nodes holding ``role``, in
    the order of :py:func:`nodes`.

    CLI Example:

    .. code-block:: bash

        salt-call ha_topology.ids controller
    """
    if role is not None and role not in ROLES:
        raise CommandExecutionError(f"unknown role {role!r}; known roles: {', '.join(ROLES)}")
    return [n["id"] for n in nodes(ha) if role is None or role in n["roles"]]


def roles(minion_id: str | None = None, ha: dict | None = None) -> list[str]:
    """
    Return the roles of ``minion_id`` (default: this minion); an empty list
    for a minion that is not a node of the site.

    CLI Example:

    .. code-block:: bash

        salt-call ha_topology.roles
    """
    minion_id = minion_id or __grains__["id"]  # noqa: F821 - Salt loader dunder
    for node in nodes(ha):
        if node["id"] == minion_id:
            return node["roles"]
    return []


def hosts(ha: dict | None = None) -> list[dict]:
    """
    Return the ``/etc/hosts`` entries every node needs so that the site's
    names resolve without DNS: one ``{"ip", "names"}`` per node and one for
    the VIP when ``ha:vip:hostname`` is set. With ``ha:domain`` the fully
    qualified name comes first.

    CLI Example:

    .. code-block:: bash

        salt-call ha_topology.hosts
    """
    ha = _ha_pillar(ha)
    domain = ha.get("domain") or ""
    entries = [(n["address"], n["id"]) for n in nodes(ha)]
    if ha["vip"].get("hostname"):
        entries.append((str(ha["vip"]["address"]), ha["vip"]["hostname"]))
    return [
        {"ip": ip, "names": [f"{name}.{domain}", name] if domain else [name]}
        for ip, name in entries
    ]


def plan(ha: dict | None = None) -> dict:
    """
    Return what an orchestration needs in one call, without raising on a bad
    pillar: ``errors`` (the validation result) and, when it is empty, the
    ``controllers``, ``computes`` and ``all`` lists of minion ids and the
    ``first`` controller (:py:func:`first_controller`).

    CLI Example:

    .. code-block:: bash

        salt-run salt.cmd ha_topology.plan
    """
    ha = _ha_pillar(ha)
    errors = validate(ha)
    if errors:
        return {"errors": errors, "controllers": [], "computes": [], "all": [], "first": None}
    return {
        "errors": [],
        "first": first_controller(ha),
        "controllers": ids("controller", ha),
        "computes": ids("compute", ha),
        "all": ids(None, ha),
    }


def galera_node(defaults: dict, provider: str, minion_id: str | None = None, ha: dict | None = None) -> dict:
    """
    What one controller needs for Galera: its ``address``, ``settings`` (the [mysqld] options:
    the map's ``defaults``, then ``ha:galera:settings``, then what the
    topology fixes: bind and node address = the node's own management
    address, node name, ``gcomm://`` list of every controller, cluster name,
    SST method), ``peers`` (the other controllers' addresses), ``bootstrap``
    (True on the first controller, the only node that may start a new
    cluster) and ``check_port`` (the health endpoint of every node).

    CLI Example:

    .. code-block:: bash

        salt-call ha_topology.galera_node '{binlog_format: ROW}' /usr/lib/galera/libgalera_smm.so
    """
    ha = _ha_pillar(ha)
    me, controllers = _controller(ha, minion_id)
    galera = ha["galera"]
    settings = {**defaults, **galera.get("settings", {})}
    settings.update({
        "bind_address": me["address"],
        "wsrep_on": "ON",
        "wsrep_provider": provider,
        "wsrep_cluster_name": galera["cluster_name"],
        "wsrep_cluster_address": "gcomm://" + ",".join(n["address"] for n in controllers),
        "wsrep_node_name": me["id"],
        "wsrep_node_address": me["address"],
        "wsrep_sst_method": galera.get("sst_method", "rsync"),
        **GALERA_NO_HOST_BLOCKING,
    })
    return {
        "address": me["address"],
        "settings": settings,
        "peers": [n["address"] for n in controllers if n["id"] != me["id"]],
        "bootstrap": first_controller(ha) == me["id"],
        "check_port": galera.get("clustercheck", {}).get("port", 9200),
    }


def galera_accounts(ha: dict | None = None) -> list[dict]:
    """
    The OpenStack service accounts of ``ha:galera:databases``: one
    ``{"user", "databases", "grants", "hosts", "password_pillar"}`` each, where hosts are
    every controller's address (HAProxy connects from them) and the grants
    cover only the user's own databases.

    CLI Example:

    .. code-block:: bash

        salt-call ha_topology.galera_accounts
    """
    ha = _ha_pillar(ha)
    hosts = [n["address"] for n in _controllers(ha)]
    return [
        {
            "user": user,
            "databases": spec.get("databases", [user]),
            "grants": {database: ["ALL"] for database in spec.get("databases", [user])},
            "hosts": hosts,
            "password_pillar": f"ha:galera:databases:{user}:password",
        }
        for user, spec in sorted(ha["galera"].get("databases", {}).items())
    ]


def formula_map() -> dict:
    """
    The formula's map for this minion (``salt/ha/defaults.yaml``, then its
    ``os_family`` in ``osfamilymap.yaml``, then ``ha:lookup``), so that the
    execution modules take package, service and path names from the map
    only. Rendered once per run from ``salt/ha/map.json.jinja``.

    CLI Example:

    .. code-block:: bash

        salt 'openstack-controller*' ha_topology.formula_map
    """
    if "ha_topology.map" not in __context__:  # noqa: F821 - Salt loader dunder
        rendered = __salt__["slsutil.renderer"](MAP_TEMPLATE, default_renderer="jinja|json")  # noqa: F821
        if not isinstance(rendered, dict) or "galera" not in rendered:
            raise CommandExecutionError(f"cannot render the formula's map from {MAP_TEMPLATE}: {rendered!r}")
        __context__["ha_topology.map"] = rendered  # noqa: F821
    return __context__["ha_topology.map"]  # noqa: F821


def _controller(ha: dict, minion_id: str | None) -> tuple[dict, list[dict]]:
    """This controller's node entry and every controller, in order."""
    minion_id = minion_id or __grains__["id"]  # noqa: F821 - Salt loader dunder
    controllers = _controllers(ha)
    me = next((n for n in controllers if n["id"] == minion_id), None)
    if me is None:
        raise CommandExecutionError(f"{minion_id} is not a controller in ha:nodes")
    return me, controllers


def _rabbit_name(node_id: str) -> str:
    # RabbitMQ's default node name: rabbit@ and the short host name, which the
    # formula sets to the minion id.
    return "rabbit@" + node_id.split(".")[0]


def rabbitmq_node(minion_id: str | None = None, ha: dict | None = None) -> dict:
    """
    What one controller needs for RabbitMQ: its ``node`` name, the ``first``
    node that the others join, its ``node_type`` (``ram`` when listed in
    ``ha:rabbitmq:ram_nodes``), the ``cluster`` node names, the other nodes'
    addresses (``peers``), ``address``, ``port`` and ``management_port``,
    ``watchdog`` (whether the self-repair runs, and its timings), and
    ``settings``: rabbitmq.conf from
    ``ha:rabbitmq:settings`` plus what the topology fixes (AMQP, management
    and inter-node listeners on the node's own address, partition handling,
    guest only from localhost).

    CLI Example:

    .. code-block:: bash

        salt-call ha_topology.rabbitmq_node
    """
    ha = _ha_pillar(ha)
    me, controllers = _controller(ha, minion_id)
    rabbitmq = section(ha, "rabbitmq", RABBITMQ_DEFAULTS)
    settings = {"net_ticktime": RABBITMQ_NET_TICKTIME, **rabbitmq["settings"]}
    settings.update({
        "listeners.tcp.1": f"{me['address']}:{rabbitmq['port']}",
        "management.tcp.ip": me["address"],
        "management.tcp.port": rabbitmq["management_port"],
        "distribution.listener.interface": me["address"],
        "cluster_partition_handling": rabbitmq["cluster_partition_handling"],
        "loopback_users.guest": "true",
    })
    return {
        "node": _rabbit_name(me["id"]),
        "first": _rabbit_name(first_controller(ha)),
        "node_type": "ram" if me["id"] in rabbitmq["ram_nodes"] else "disc",
        "cluster": [_rabbit_name(n["id"]) for n in controllers],
        "peers": {_rabbit_name(n["id"]): n["address"] for n in controllers if n["id"] != me["id"]},
        "address": me["address"],
        "port": rabbitmq["port"],
        "management_port": rabbitmq["management_port"],
        "settings": dict(sorted(settings.items())),
        # The self-repair runs unless partitions are left to the operator.
        "watchdog": {"enabled": rabbitmq["cluster_partition_handling"] != "ignore", **RABBITMQ_WATCHDOG},
    }


def rabbitmq_access(ha: dict | None = None) -> dict:
    """
    The cluster-wide RabbitMQ objects: the OpenStack ``user`` (name, pillar
    key of its password, tags, permissions on ``/``), the ``ha_policy`` to
    set (None with ``queue_type: quorum``) and ``absent_policies``.

    CLI Example:

    .. code-block:: bash

        salt-call ha_topology.rabbitmq_access
    """
    ha = _ha_pillar(ha)
    check(ha)
    rabbitmq = section(ha, "rabbitmq", RABBITMQ_DEFAULTS)
    policy = rabbitmq["ha_policy"]
    mirrored = rabbitmq["queue_type"] == "mirrored"
    return {
        "user": {
            "name": "openstack",
            "password_pillar": "ha:rabbitmq:openstack_password",
            "tags": ["administrator"],
            "permissions": {"/": [".*", ".*", ".*"]},
        },
        "ha_policy": {
            "name": policy["name"],
            "pattern": policy["pattern"],
            "definition": policy["definition"],
            "apply_to": policy.get("apply_to", "all"),
            "priority": policy.get("priority", 0),
        } if mirrored else None,
        "absent_policies": [] if mirrored else [policy["name"]],
        "quorum_queues": not mirrored,
    }


def memcached_node(minion_id: str | None = None, ha: dict | None = None) -> dict:
    """
    memcached on one controller: ``address`` (the node's own), ``port``,
    ``memory_mb`` and ``max_connections``.

    CLI Example:

    .. code-block:: bash

        salt-call ha_topology.memcached_node
    """
    ha = _ha_pillar(ha)
    me, _ = _controller(ha, minion_id)
    return {"address": me["address"], **section(ha, "memcached", MEMCACHED_DEFAULTS)}


def memcached_servers(ha: dict | None = None) -> list[str]:
    """
    Every controller's memcached as ``ADDRESS:PORT``, for the OpenStack
    services' ``memcache_servers`` and ``[cache] memcache_servers``.

    CLI Example:

    .. code-block:: bash

        salt-call ha_topology.memcached_servers
    """
    ha = _ha_pillar(ha)
    port = section(ha, "memcached", MEMCACHED_DEFAULTS)["port"]
    return [f"{n['address']}:{port}" for n in _controllers(ha)]


def rabbitmq_servers(ha: dict | None = None) -> list[str]:
    """
    Every controller's RabbitMQ as ``ADDRESS:PORT``, for the OpenStack
    services' ``transport_url``.

    CLI Example:

    .. code-block:: bash

        salt-call ha_topology.rabbitmq_servers
    """
    ha = _ha_pillar(ha)
    port = section(ha, "rabbitmq", RABBITMQ_DEFAULTS)["port"]
    return [f"{n['address']}:{port}" for n in _controllers(ha)]


def etcd_members(ha: dict | None = None) -> dict[str, dict]:
    """
    The etcd members: every controller, by name, with its ``peer_url`` and
    ``client_url`` on its own address.

    CLI Example:

    .. code-block:: bash

        salt-call ha_topology.etcd_members
    """
    ha = _ha_pillar(ha)
    etcd = section(ha, "etcd", ETCD_DEFAULTS)
    return {
        n["id"]: {
            "peer_url": f"http://{n['address']}:{etcd['peer_port']}",
            "client_url": f"http://{n['address']}:{etcd['client_port']}",
        }
        for n in _controllers(ha)
    }


def etcd_node(data_dir: str, minion_id: str | None = None, ha: dict | None = None) -> dict:
    """
    etcd on one controller: ``environment``, the ETCD_* variables of its
    configuration (name, ``data_dir``, peer and client URLs on its own
    address plus the loopback for local clients, the initial cluster of
    every member, the cluster token, initial state ``new``: etcd reads the
    initial-cluster settings only when its data directory is empty, so a
    member that already has data keeps its cluster), and ``members`` (see
    :py:func:`etcd_members`).

    CLI Example:

    .. code-block:: bash

        salt-call ha_topology.etcd_node /var/lib/etcd/ha
    """
    ha = _ha_pillar(ha)
    me, _ = _controller(ha, minion_id)
    etcd = section(ha, "etcd", ETCD_DEFAULTS)
    members = etcd_members(ha)
    mine = members[me["id"]]
    return {
        "environment": {
            "ETCD_NAME": me["id"],
            "ETCD_DATA_DIR": data_dir,
            "ETCD_LISTEN_PEER_URLS": mine["peer_url"],
            "ETCD_LISTEN_CLIENT_URLS": f"{mine['client_url']},http://127.0.0.1:{etcd['client_port']}",
            "ETCD_INITIAL_ADVERTISE_PEER_URLS": mine["peer_url"],
            "ETCD_ADVERTISE_CLIENT_URLS": mine["client_url"],
            "ETCD_INITIAL_CLUSTER": ",".join(f"{name}={spec['peer_url']}" for name, spec in members.items()),
            "ETCD_INITIAL_CLUSTER_TOKEN": etcd["cluster_token"],
            "ETCD_INITIAL_CLUSTER_STATE": "new",
        },
        "members": members,
    }


def pacemaker_cluster(ha: dict | None = None) -> dict:
    """
    The Pacemaker/Corosync cluster: its ``name``, the ``nodes`` (every
    controller's minion id and management address, in order), the corosync
    ``totem`` options (the formula's ``TOTEM_DEFAULTS``, then
    ``ha:pacemaker:totem``), the pillar key of the hacluster password
    (``password_pillar``) and the ``vip`` address.

    CLI Example:

    .. code-block:: bash

        salt-call ha_topology.pacemaker_cluster
    """
    ha = _ha_pillar(ha)
    controllers = _controllers(ha)
    pacemaker = section(ha, "pacemaker", PACEMAKER_DEFAULTS)
    return {
        "name": pacemaker["cluster_name"],
        "nodes": {n["id"]: n["address"] for n in controllers},
        "totem": {option: int(value) for option, value in sorted({**TOTEM_DEFAULTS, **pacemaker["totem"]}.items())},
        "password_pillar": "ha:pacemaker:hacluster_password",
        "vip": str(ha["vip"]["address"]),
    }


def pacemaker_resources(haproxy_service: str, ha: dict | None = None) -> dict:
    """
    What the cluster runs, as the ``ha_pacemaker.configured`` state compares
    it with the live CIB: ``properties`` (the defaults of the reference, then
    ``ha:pacemaker:properties``), ``resources`` (the VIP as
    ``ocf:heartbeat:IPaddr2``; HAProxy's systemd unit ``haproxy_service`` as
    a clone on every controller), ``constraints`` (start the VIP, then the
    HAProxy clone, optionally, with no order on stop; the VIP only where
    HAProxy runs) and
    ``started``, the ``resources`` and ``clones`` of the health gate.

    CLI Example:

    .. code-block:: bash

        salt-call ha_topology.pacemaker_resources haproxy
    """
    ha = _ha_pillar(ha)
    check(ha)
    pacemaker = section(ha, "pacemaker", PACEMAKER_DEFAULTS)
    properties = {**PACEMAKER_PROPERTIES, **{k: _pcs_value(v) for k, v in pacemaker["properties"].items()}}
    monitor = str(pacemaker["monitor_interval"])
    clone = f"{HAPROXY_RESOURCE}-clone"
    # The VIP is placed away from the DC (Pacemaker's Designated
    # Controller), so that losing the VIP holder does not also lose the node
    # that decides where the VIP goes: the survivors need no election first
    # (about a second on a busy node, measured in the lab). Weaker than the
    # stickiness (at most half of it): a VIP already placed stays when its
    # node becomes the DC. A preference for the other nodes, not a negative
    # score on the DC: Pacemaker never places a resource on a node of
    # negative score, so the VIP would stay stopped when it cannot run on
    # the others.
    score = min(VIP_DC_AVOIDANCE, int(pacemaker["resource_stickiness"]) // 2)
    dc_avoidance = [{"type": "location", "rsc": VIP_RESOURCE, "score": str(score), "rule": "#is_dc ne true"}]
    return {
        "properties": dict(sorted(properties.items())),
        "resources": [
            {
                "id": VIP_RESOURCE,
                "agent": "ocf:heartbeat:IPaddr2",
                # No duplicate address check (run_arping): it holds the
                # start 2 s and cannot see a node cut off from the network.
                # A node left without quorum drops the VIP itself, within
                # milliseconds of the membership change (ha-vip-guard,
                # ha.pacemaker.guard), before the majority starts it.
                # Set to false, not left out: the state leaves options it
                # does not name, and clusters deployed before kept true.
                "options": {"ip": str(ha["vip"]["address"]), "cidr_netmask": str(ha["vip"]["cidr_netmask"]),
                            "run_arping": "false"},
                "monitor_interval": monitor,
                # The VIP stays where it is when a failed node comes back:
                # moving it again would cut the clients a second time.
                "meta": {"resource-stickiness": str(pacemaker["resource_stickiness"])},
                "clone": None,
            },
            {
                "id": HAPROXY_RESOURCE,
                "agent": f"systemd:{haproxy_service}",
                "options": {},
                "monitor_interval": monitor,
                "meta": {},
                "clone": clone,
            },
        ],
        "constraints": [
            # Not symmetrical: a node that must give up (lost quorum) drops
            # the VIP at once instead of after HAProxy has stopped, before
            # the majority starts it elsewhere (measured in the lab).
            {"type": "order", "first": VIP_RESOURCE, "first-action": "start", "then": clone,
             "then-action": "start", "kind": "Optional", "symmetrical": "false"},
            {"type": "colocation", "rsc": VIP_RESOURCE, "with-rsc": clone, "score": "INFINITY"},
            *dc_avoidance,
        ],
        # The health gate: the VIP on one node, the clone on every online node.
        "started": {"resources": [VIP_RESOURCE], "clones": [clone]},
    }


def _listener(name: str, spec: dict, vip: str, controllers: list[dict], check_port: int) -> dict:
    mode = spec.get("mode", "http")
    check = spec.get("check", mode)
    backend_port = spec.get("backend_port", spec["port"])
    options = ["balance source", "option tcpka"]
    if check == "http":
        options += [f"option httpchk GET {spec.get('check_path', '/')}", "option httplog", "option forwardfor"]
    elif check == "clustercheck":
        # The health endpoint answers 200 only where the node is Synced.
        # The stick table pins every new connection to the server that took
        # the last one, backups included, until that server is marked down:
        # a server coming back, or a check that flaps, never splits the
        # writers across two nodes.
        options += ["option httpchk GET /", "option tcplog", "stick-table type ip size 1", "stick on dst"]
    else:
        options += ["option tcplog"]
    if spec.get("timeout") is not None:
        options += [f"timeout client {spec['timeout']}", f"timeout server {spec['timeout']}"]
    servers = []
    for index, node in enumerate(controllers):
        server_check = HAPROXY_SERVER_CHECKS["http" if check == "http" else "fast"]
        line = f"server {node['id']} {node['address']}:{backend_port} {server_check}"
        if check == "clustercheck":
            # One writer at a time avoids certification conflicts between
            # nodes; the others take over when it fails its check.
            line += f" port {check_port}"
            if index:
                line += " backup"
        servers.append(line)
    return {"name": name, "bind": f"{vip}:{spec['port']}", "mode": mode, "options": options, "servers": servers}


def haproxy_config(ha: dict | None = None) -> dict:
    """
    HAProxy's listeners, for haproxy.cfg: the ``stats`` page (``bind``,
    ``user``; its password is read by the template) and one entry of
    ``listeners`` per ``ha:haproxy:listeners`` item, in name order: ``name``,
    ``bind`` (the VIP, or the listener's ``bind``, and its port), ``mode``,
    ``options`` and ``servers`` (every controller at its own address and the
    backend port, with the listener's health check).

    CLI Example:

    .. code-block:: bash

        salt-call ha_topology.haproxy_config
    """
    ha = _ha_pillar(ha)
    check(ha)
    vip = str(ha["vip"]["address"])
    controllers = _controllers(ha)
    check_port = get(ha, ("galera", "clustercheck", "port")) or 9200
    stats = ha["haproxy"]["stats"]
    return {
        "stats": {"bind": f"{stats.get('bind', vip)}:{stats['port']}", "user": stats["user"]},
        "listeners": [
            _listener(name, spec, str(spec.get("bind", vip)), controllers, check_port)
            for name, spec in sorted(ha["haproxy"]["listeners"].items())
        ],
    }


def base_settings(ha: dict | None = None) -> dict:
    """
    What every node's base states apply: ``sysctl`` (the formula's kernel
    parameters ``BASE_SYSCTL`` and ``ha:base:sysctl``, by name), ``upgrade``,
    ``selinux``, ``firewall`` and ``openstack_release``.

    CLI Example:

    .. code-block:: bash

        salt-call ha_topology.base_settings
    """
    ha = _ha_pillar(ha)
    check(ha)
    base = section(ha, "base", BASE_DEFAULTS)
    sysctl = {**BASE_SYSCTL, **{name: str(value) for name, value in base["sysctl"].items()}}
    return {
        "sysctl": dict(sorted(sysctl.items())),
        "upgrade": base["upgrade"],
        "selinux": base["selinux"],
        "firewall": base["firewall"],
        "openstack_release": base["openstack_release"],
    }


def chrony_node(minion_id: str | None = None, ha: dict | None = None) -> dict:
    """
    This node's chrony role. Time ``servers`` are ``ha:chrony:servers`` or
    else the first controller: they follow ``ha:chrony:upstream``, keep
    serving their own clock at ``local_stratum`` when no upstream answers,
    and ``allow`` the management network; several servers follow each other
    too (``orphan``). Every other node follows the time servers. Returns
    ``{"serve", "sources", "allow", "local_stratum", "orphan"}``, each
    source as ``{"address", "options"}`` of a chrony ``server`` line.

    CLI Example:

    .. code-block:: bash

        salt-call ha_topology.chrony_node
    """
    ha = _ha_pillar(ha)
    minion_id = minion_id or __grains__["id"]  # noqa: F821 - Salt loader dunder
    all_nodes = nodes(ha)
    if minion_id not in {n["id"] for n in all_nodes}:
        raise CommandExecutionError(f"{minion_id} is not a node in ha:nodes")
    chrony = section(ha, "chrony", CHRONY_DEFAULTS)
    servers = chrony["servers"] or [first_controller(ha)]
    address = {n["id"]: n["address"] for n in all_nodes}
    # The site's own servers are polled often (every 16 to 64 s): a node
    # that booted, or a time server that came back, is followed within a
    # minute instead of after chrony's back-off of up to 17 minutes.
    site = [{"address": address[s], "options": SITE_SOURCE_OPTIONS} for s in servers if s != minion_id]
    if minion_id in servers:
        upstream = [{"address": name, "options": "iburst"} for name in chrony["upstream"]]
        return {
            "serve": True,
            "sources": upstream + site,
            "allow": [str(ha["management_network"])],
            "local_stratum": chrony["local_stratum"],
            # Several time servers follow each other and agree on one clock
            # (orphan mode) while no upstream answers; one serves its own.
            "orphan": len(servers) > 1,
        }
    return {"serve": False, "sources": site, "allow": [], "local_stratum": None, "orphan": False}


def _port_key(port: int | str) -> tuple[int, str]:
    # By the low end; a port before a range that starts with it (a total
    # order: the rendered file must be the same at every run).
    low = port if isinstance(port, int) else int(str(port).split("-", 1)[0])
    return low, str(port)


def _nft_rule(rule: dict) -> str:
    parts = []
    if rule["sources"]:
        parts.append(f"ip saddr {{ {', '.join(rule['sources'])} }}")
    if rule["destination"]:
        parts.append(f"ip daddr {rule['destination']}")
    parts.append(f"{rule['proto']} dport {{ {', '.join(str(p) for p in rule['ports'])} }}")
    parts.append(f'accept comment "{rule["comment"]}"')
    return " ".join(parts)


def _rich_rules(rule: dict) -> list[str]:
    """firewalld's rich rules for one rule: one per source and port."""
    destination = f' destination address="{rule["destination"]}"' if rule["destination"] else ""
    sources = [f' source address="{source}"' for source in rule["sources"]] or [""]
    return [
        f'rule family="ipv4"{source}{destination} port port="{port}" protocol="{rule["proto"]}" accept'
        for source in sources
        for port in rule["ports"]
    ]


def firewall_rules(minion_id: str | None = None, ha: dict | None = None) -> dict:
    """
    What this node's firewall lets in with ``ha:base:firewall`` managed
    (besides loopback, ICMP, the replies to its own connections and TCP
    segments that open no connection; see nftables.conf.jinja):
    ``rules``, each ``{"comment", "proto", "ports", "sources",
    "destination"}`` (no sources: any; no destination: any of the node's
    addresses), the same as nftables rule lines (``nftables``) and as
    firewalld rich rules (``rich_rules``).

    Every node: SSH (``ha:base:ssh_port``) from anywhere, NTP from the
    management network on the time servers, and ``ha:base:firewall_allow``.
    Controllers: the HAProxy listeners and stats page on the VIP (or their
    ``bind`` address) from anywhere; the ports their services use at the
    node's own address (MariaDB, Galera, the health endpoint, RabbitMQ,
    memcached, etcd, pcsd, Corosync and the APIs behind HAProxy) from the
    nodes of ``ha:nodes`` and the VIP only.

    CLI Example:

    .. code-block:: bash

        salt-call ha_topology.firewall_rules
    """
    ha = _ha_pillar(ha)
    check(ha)
    minion_id = minion_id or __grains__["id"]  # noqa: F821 - Salt loader dunder
    all_nodes = nodes(ha)
    me = next((n for n in all_nodes if n["id"] == minion_id), None)
    if me is None:
        raise CommandExecutionError(f"{minion_id} is not a node in ha:nodes")
    base = section(ha, "base", BASE_DEFAULTS)
    rules = [{"comment": "SSH", "proto": "tcp", "ports": [base["ssh_port"]], "sources": [], "destination": None}]
    chrony = chrony_node(minion_id, ha)
    if chrony["serve"]:
        rules.append({"comment": "NTP (chrony)", "proto": "udp", "ports": [NTP_PORT], "sources": chrony["allow"],
                      "destination": None})
    if "controller" in me["roles"]:
        vip = str(ha["vip"]["address"])
        stats = ha["haproxy"]["stats"]
        frontends: dict[str, set] = {}
        frontends.setdefault(str(stats.get("bind", vip)), set()).add(stats["port"])
        listeners = ha["haproxy"]["listeners"]
        for spec in listeners.values():
            frontends.setdefault(str(spec.get("bind", vip)), set()).add(spec["port"])
        for address, ports in sorted(frontends.items()):
            rules.append({"comment": "HAProxy listeners", "proto": "tcp", "ports": sorted(ports), "sources": [],
                          "destination": address})
        tcp = {
            *NODE_FIXED_PORTS, "{}-{}".format(*RABBITMQ_CLI_PORTS),
            *(port for _, port in _node_ports(ha)),
            *(spec.get("backend_port", spec["port"]) for spec in listeners.values()),
        }
        # The VIP: HAProxy's checks and connections may leave from it.
        sources = sorted({n["address"] for n in all_nodes} | {vip}, key=ipaddress.IPv4Address)
        rules.append({"comment": "cluster services", "proto": "tcp", "ports": sorted(tcp, key=_port_key),
                      "sources": sources, "destination": None})
        rules.append({"comment": "cluster services", "proto": "udp", "ports": sorted(FIREWALL_FIXED_UDP),
                      "sources": sources, "destination": None})
    for rule in base["firewall_allow"]:
        rules.append({"comment": "ha:base:firewall_allow", "proto": rule.get("proto", "tcp"), "ports": [rule["port"]],
                      "sources": [str(rule["source"])] if rule.get("source") else [], "destination": None})
    return {
        "rules": rules,
        "nftables": [_nft_rule(rule) for rule in rules],
        "rich_rules": [line for rule in rules for line in _rich_rules(rule)],
    }
