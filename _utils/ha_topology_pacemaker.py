"""
The Pacemaker part of the site's topology: ``ha:pacemaker`` (cluster
properties, Corosync's totem, the resources' monitor and stickiness), its
checks, the cluster (members, totem) and what it runs (the VIP, the HAProxy
clone, their constraints). Pure Python on top of the pillar and of what the
core topology derived (every controller); no Salt dunders.
"""

from __future__ import annotations

import re
from typing import Any

from ha_pillar import INT, INTERVAL_RE, SCALAR, STR, hint, int_in, is_kind, key, named, section

CLUSTER_NAME = ("pacemaker", "cluster_name")
HACLUSTER_PASSWORD = ("pacemaker", "hacluster_password")
# The port every controller's pcsd listens on (the pillar does not set it).
FIXED_PORTS = {2224: "pcsd"}
# The UDP side of Corosync (knet, link 0).
FIXED_UDP_PORTS = {5405: "Corosync"}
# Cluster properties: the reference's values where sensible. Fencing is off
# as in the reference (set stonith-enabled: true with a fence device), but a
# partitioned minority stops its resources: never no-quorum-policy=ignore on
# a cluster of three or more nodes.
PROPERTIES = {
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
# A resource's failure (a monitor that timed out on a node too busy to
# answer, as after every controller lost power at once) is forgotten after
# failure_timeout: Pacemaker clears its fail count and its failed action
# then (it schedules a recheck for that moment), so a transient failure
# does not leave ha.status degraded until someone runs pcs resource cleanup.
DEFAULTS = {"totem": {}, "properties": {}, "monitor_interval": "10s", "resource_stickiness": 100,
            "failure_timeout": "60s"}
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
# Cluster properties Pacemaker 2.1 knows, by the kind of value it takes
# (pe_opts and the controller's options); pcs refuses any other name.
PROPERTY_KINDS = {
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
OWN_PROPERTIES = ("cluster-infrastructure", "cluster-name", "dc-version", "dc-uuid", "have-watchdog",
                            "last-lrm-refresh")
# What Pacemaker reads as a boolean (crm_str_to_boolean).
BOOLEANS = ("true", "false", "yes", "no", "on", "off", "y", "n", "1", "0")
PERCENTAGE_RE = re.compile(r"^[0-9]{1,3}%$")
INTEGER_RE = re.compile(r"^-?[0-9]{1,9}$")
VIP_RESOURCE = "vip"
# How much the VIP avoids the DC (a location score), at most half the
# resource stickiness.
VIP_DC_AVOIDANCE = 50
HAPROXY_RESOURCE = "lb-haproxy"
HAPROXY_CLONE = f"{HAPROXY_RESOURCE}-clone"


def schema() -> dict:
    """The schema of ``ha:pacemaker`` (see ha_pillar)."""
    return {
        "cluster_name": STR, "hacluster_password": STR, "totem": dict.fromkeys(TOTEM_OPTIONS, INT),
        "properties": named(SCALAR), "monitor_interval": (STR, INT), "resource_stickiness": INT,
        "failure_timeout": (STR, INT),
    }


def secret_paths() -> list[tuple[str, ...]]:
    """The pillar paths (below ``ha``) of Pacemaker's secrets."""
    return [HACLUSTER_PASSWORD]


def check(ha: dict, nodes: dict[str, dict], errors: list[str]) -> None:
    """Report the problems of ``ha:pacemaker`` (a mapping); ``nodes``: the checked nodes by name."""
    pacemaker = section(ha, "pacemaker", DEFAULTS)
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
    policy = _pcs_value(properties.get("no-quorum-policy", PROPERTIES["no-quorum-policy"]))
    if policy not in NO_QUORUM_POLICIES:
        why = (f"; on {controllers} controllers a partitioned minority would keep running its resources"
                if policy == "ignore" else "")
        errors.append(f"{key('pacemaker', 'properties', 'no-quorum-policy')}: {policy!r} must be one of "
                      f"{', '.join(NO_QUORUM_POLICIES)}{why}")
    interval = pacemaker["monitor_interval"]
    if not INTERVAL_RE.fullmatch(str(interval)):
        errors.append(f"{key('pacemaker', 'monitor_interval')}: {interval!r} must be a time such as 10s")
    failure_timeout = pacemaker["failure_timeout"]
    if not INTERVAL_RE.fullmatch(str(failure_timeout)):
        errors.append(f"{key('pacemaker', 'failure_timeout')}: {failure_timeout!r} must be a time such as 60s "
                      "(0: a failure stays until pcs resource cleanup)")
    if not int_in(pacemaker["resource_stickiness"], 0, 1000000):
        errors.append(f"{key('pacemaker', 'resource_stickiness')}: {pacemaker['resource_stickiness']!r} must be "
                      "an integer from 0 to 1000000")


def _check_property(name: Any, value: Any, errors: list[str]) -> None:
    """A cluster property's value, by the kind Pacemaker takes: a bad value would be taken as its default, silently."""
    where = key("pacemaker", "properties", name)
    if name in OWN_PROPERTIES:
        errors.append(f"{where}: is kept by Pacemaker and pcs themselves; remove it")
        return
    kind = PROPERTY_KINDS.get(name)
    if kind is None:
        errors.append(f"{where}: not a cluster property of Pacemaker; {hint(name, PROPERTY_KINDS)}")
        return
    text = _pcs_value(value)
    if isinstance(kind, tuple):
        if text not in kind:
            errors.append(f"{where}: {value!r} must be one of {', '.join(kind)}")
    elif not {
        "boolean": text in BOOLEANS,
        "time": bool(INTERVAL_RE.fullmatch(text)),
        "integer": bool(INTEGER_RE.fullmatch(text)) or text.upper() in ("INFINITY", "+INFINITY", "-INFINITY"),
        "percentage": bool(PERCENTAGE_RE.fullmatch(text)),
    }[kind]:
        example = {"boolean": "true or false", "time": "a time such as 30s or 5min",
                   "integer": "an integer", "percentage": "a percentage such as 80%"}[kind]
        errors.append(f"{where}: {value!r} must be {example}")


def _pcs_value(value: Any) -> str:
    """A pillar value as Pacemaker writes it (YAML's true is "true", not "True")."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def cluster(ha: dict, controllers: list[dict]) -> dict:
    """The Pacemaker/Corosync cluster (see ha_topology.pacemaker_cluster)."""
    pacemaker = section(ha, "pacemaker", DEFAULTS)
    return {
        "name": pacemaker["cluster_name"],
        "nodes": {n["id"]: n["address"] for n in controllers},
        "totem": {option: int(value) for option, value in sorted({**TOTEM_DEFAULTS, **pacemaker["totem"]}.items())},
        "password_pillar": key(*HACLUSTER_PASSWORD),
        "vip": str(ha["vip"]["address"]),
    }


def resources(ha: dict, haproxy_service: str) -> dict:
    """What the cluster runs (see ha_topology.pacemaker_resources)."""
    pacemaker = section(ha, "pacemaker", DEFAULTS)
    properties = {**PROPERTIES, **{k: _pcs_value(v) for k, v in pacemaker["properties"].items()}}
    monitor = str(pacemaker["monitor_interval"])
    failure_timeout = str(pacemaker["failure_timeout"])
    clone = HAPROXY_CLONE
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
                "meta": {"resource-stickiness": str(pacemaker["resource_stickiness"]),
                         "failure-timeout": failure_timeout},
                "clone": None,
            },
            {
                "id": HAPROXY_RESOURCE,
                "agent": f"systemd:{haproxy_service}",
                "options": {},
                "monitor_interval": monitor,
                "meta": {"failure-timeout": failure_timeout},
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
