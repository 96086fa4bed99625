"""
The RabbitMQ part of the site's topology: ``ha:rabbitmq`` (ports, partition
handling, queue type and policy, rabbitmq.conf settings), its checks, one
controller's node and its settings, the cluster-wide user and policy, the
watchdog's timings. Pure Python on top of the pillar and of what the core
topology derived (this controller, every controller, the first one); no Salt
dunders.
"""

from __future__ import annotations

import re
from typing import Any

from ha_pillar import INT, LIST, SCALAR, STR, check_ports, hint, int_in, key, list_of, named, section

ERLANG_COOKIE = ("rabbitmq", "erlang_cookie")
OPENSTACK_PASSWORD = ("rabbitmq", "openstack_password")
# Erlang's cookie is sent to the VM as an atom; keep it to what every
# RabbitMQ release accepts.
ERLANG_COOKIE_RE = re.compile(r"^[A-Za-z0-9]{20,255}$")
PARTITION_HANDLING = ("pause_minority", "autoheal", "ignore")
# mirrored: classic queues mirrored by a policy (the reference's ha-all);
# quorum: no mirroring policy, the services declare quorum queues.
QUEUE_TYPES = ("mirrored", "quorum")
POLICY_APPLY_TO = ("all", "queues", "exchanges")
DEFAULTS = {
    "port": 5672,
    "management_port": 15672,
    "cluster_partition_handling": "pause_minority",
    "queue_type": "mirrored",
    "ram_nodes": [],
    "ha_policy": {"name": "ha-all", "pattern": "^", "definition": {"ha-mode": "all"}},
    "settings": {},
}
# rabbitmq.conf keys that node() (ha_topology.rabbitmq_node) derives from the topology (prefixes).
DERIVED = ("listeners.", "management.tcp.", "distribution.listener.", "cluster_partition_handling",
                    "loopback_users")
# Ports every controller's RabbitMQ uses at its own address that the pillar
# does not set: RabbitMQ inter-node, Erlang's port mapper; and the RabbitMQ
# CLI tools' range.
FIXED_PORTS = {25672: "RabbitMQ inter-node", 4369: "Erlang port mapper"}
CLI_PORTS = (35672, 35682)
# Erlang's distribution declares a silent peer down after 0.75 to 1.25 x
# net_ticktime. At the default 60 s, a node cut off for about a minute is
# seen down by some peers and not by others before the cut heals;
# pause_minority acts only on a peer seen down, so such a cut can leave the
# cluster split for good. At 10 s every side sees any cut longer than
# 12.5 s, and the cut-off node pauses and rejoins when it heals.
NET_TICKTIME = 10
# The self-repair (salt/ha/rabbitmq/files/watchdog.py): looks every
# `interval` s; the node on the smaller side of a split restarts once the
# split lasted `confirm` s, longer than a node takes to show up as running
# after its AMQP port opens; any disagreement that outlasts `stale` s is
# ended by the node of the highest name involved; a start still not done
# after `stuck` s while the majority runs is killed and done again (a start
# took 8 to 25 s in the lab, a hung one never ends).
WATCHDOG = {"interval": 5, "confirm": 15, "stale": 60, "stuck": 45}
# What a RabbitMQ 3.x policy definition may hold: a tuple lists the values a
# key takes, an int is the least integer it takes, str is any string. RabbitMQ
# refuses the whole policy for one bad key, at deploy time; checked here first.
POLICY_KEYS: dict[str, Any] = {
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


def schema() -> dict:
    """The schema of ``ha:rabbitmq`` (see ha_pillar)."""
    return {
        "erlang_cookie": STR, "openstack_password": STR, "port": INT, "management_port": INT,
        "ram_nodes": list_of(STR), "cluster_partition_handling": STR, "queue_type": STR,
        "ha_policy": {"name": STR, "pattern": STR, "apply_to": STR, "priority": INT,
                      "definition": named((SCALAR, LIST))},
        "settings": named(SCALAR),
    }


def secret_paths() -> list[tuple[str, ...]]:
    """The pillar paths (below ``ha``) of RabbitMQ's secrets."""
    return [ERLANG_COOKIE, OPENSTACK_PASSWORD]


def check_cookie(value: str, errors: list[str]) -> None:
    """The Erlang cookie's own form, once ha_pillar.check_secret found it worth checking."""
    if not ERLANG_COOKIE_RE.fullmatch(value):
        errors.append(f"{key(*ERLANG_COOKIE)}: must be 20 to 255 letters and digits")


def node_ports(ha: dict) -> list[tuple[tuple[str, ...], Any]]:
    """The ports that the pillar sets for every controller's RabbitMQ at its own address, by pillar path."""
    rabbitmq = section(ha, "rabbitmq", DEFAULTS)
    return [(("rabbitmq", "port"), rabbitmq["port"]), (("rabbitmq", "management_port"), rabbitmq["management_port"])]


def check(ha: dict, controllers: list[str], errors: list[str]) -> None:
    """Report the problems of ``ha:rabbitmq`` (a mapping or absent); ``controllers``: their names in order."""
    rabbitmq = section(ha, "rabbitmq", DEFAULTS)
    check_ports("rabbitmq", rabbitmq, ("port", "management_port"), errors)
    handling = rabbitmq["cluster_partition_handling"]
    if handling not in PARTITION_HANDLING:
        errors.append(f"{key('rabbitmq', 'cluster_partition_handling')}: {handling!r} must be one of "
                      f"{', '.join(PARTITION_HANDLING)}")
    if rabbitmq["queue_type"] not in QUEUE_TYPES:
        errors.append(f"{key('rabbitmq', 'queue_type')}: {rabbitmq['queue_type']!r} must be one of "
                      f"{', '.join(QUEUE_TYPES)}")
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
            if str(option).startswith(DERIVED):
                errors.append(f"{key('rabbitmq', 'settings', option)}: is derived from the topology and "
                              "ha:rabbitmq; remove it")


def _check_policy_definition(definition: dict, mirrored: bool, errors: list[str]) -> None:
    path = ("rabbitmq", "ha_policy", "definition")
    for name, value in definition.items():
        where = key(*path, name)
        allowed = POLICY_KEYS.get(name, ...)
        if allowed is ...:
            errors.append(f"{where}: not a key of a RabbitMQ policy; {hint(name, POLICY_KEYS)}")
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
            if isinstance(name, str) and name.startswith("ha-") and name in POLICY_KEYS:
                errors.append(f"{key(*path, name)}: needs ha-mode in the same definition")
        if mirrored:
            errors.append(f"{key(*path)}: mirrored queues (queue_type mirrored) need ha-mode here, such as "
                          "ha-mode: all")


def rabbit_name(node_id: str) -> str:
    # RabbitMQ's default node name: rabbit@ and the short host name, which the
    # formula sets to the minion id.
    return "rabbit@" + node_id.split(".")[0]


def node(ha: dict, me: dict, controllers: list[dict], first: str) -> dict:
    """What controller ``me`` needs for RabbitMQ (see ha_topology.rabbitmq_node); ``first``: the first controller."""
    rabbitmq = section(ha, "rabbitmq", DEFAULTS)
    settings = {"net_ticktime": NET_TICKTIME, **rabbitmq["settings"]}
    settings.update({
        "listeners.tcp.1": f"{me['address']}:{rabbitmq['port']}",
        "management.tcp.ip": me["address"],
        "management.tcp.port": rabbitmq["management_port"],
        "distribution.listener.interface": me["address"],
        "cluster_partition_handling": rabbitmq["cluster_partition_handling"],
        "loopback_users.guest": "true",
    })
    return {
        "node": rabbit_name(me["id"]),
        "first": rabbit_name(first),
        "node_type": "ram" if me["id"] in rabbitmq["ram_nodes"] else "disc",
        "cluster": [rabbit_name(n["id"]) for n in controllers],
        "peers": {rabbit_name(n["id"]): n["address"] for n in controllers if n["id"] != me["id"]},
        "address": me["address"],
        "port": rabbitmq["port"],
        "management_port": rabbitmq["management_port"],
        "settings": dict(sorted(settings.items())),
        # The self-repair runs unless partitions are left to the operator.
        "watchdog": {"enabled": rabbitmq["cluster_partition_handling"] != "ignore", **WATCHDOG},
    }


def access(ha: dict) -> dict:
    """The cluster-wide RabbitMQ objects (see ha_topology.rabbitmq_access)."""
    rabbitmq = section(ha, "rabbitmq", DEFAULTS)
    policy = rabbitmq["ha_policy"]
    mirrored = rabbitmq["queue_type"] == "mirrored"
    return {
        "user": {
            "name": "openstack",
            "password_pillar": key(*OPENSTACK_PASSWORD),
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


def servers(ha: dict, controllers: list[dict]) -> list[str]:
    """Every controller's RabbitMQ as ``ADDRESS:PORT``."""
    port = section(ha, "rabbitmq", DEFAULTS)["port"]
    return [f"{n['address']}:{port}" for n in controllers]
