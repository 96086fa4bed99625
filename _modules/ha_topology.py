"""
Topology of the HA OpenStack site, derived once from the ``ha`` pillar.

Every state, template and orchestration of the formula takes its node list,
roles and addresses from this module instead of rebuilding them in Jinja, and
the pillar is validated here before anything changes on any node.

The module is pure Python on top of the pillar: it loads everywhere, on the
minions and on the master (for ``salt-run state.orchestrate ha.deploy``, after
``salt-run saltutil.sync_all``). It keeps the core (the pillar, the top-level
schema, the validation, the inventory of nodes and roles) and the public
functions; each component's defaults, schema, checks and derived settings are
its module of ``_utils`` (``ha_topology_<component>.py``).
"""

from __future__ import annotations

import hashlib
import importlib
import ipaddress
import re
from typing import Any

import ha_pillar
import ha_topology_base
import ha_topology_chrony
import ha_topology_etcd
import ha_topology_firewall
import ha_topology_galera
import ha_topology_haproxy
import ha_topology_memcached
import ha_topology_openstack
import ha_topology_pacemaker
import ha_topology_rabbitmq
from salt.exceptions import CommandExecutionError

# Salt runs this file again on every load of the module (each job, a sync),
# but keeps a plain import for the life of the process: reloaded, a synced
# change of _utils takes effect without restarting the minion. Dependencies
# first: every component imports ha_pillar, base imports the firewall.
ha_pillar = importlib.reload(ha_pillar)
ha_topology_firewall = importlib.reload(ha_topology_firewall)
ha_topology_base = importlib.reload(ha_topology_base)
ha_topology_chrony = importlib.reload(ha_topology_chrony)
ha_topology_galera = importlib.reload(ha_topology_galera)
ha_topology_rabbitmq = importlib.reload(ha_topology_rabbitmq)
ha_topology_memcached = importlib.reload(ha_topology_memcached)
ha_topology_etcd = importlib.reload(ha_topology_etcd)
ha_topology_pacemaker = importlib.reload(ha_topology_pacemaker)
ha_topology_haproxy = importlib.reload(ha_topology_haproxy)
ha_topology_openstack = importlib.reload(ha_topology_openstack)
from ha_pillar import (  # noqa: E402 - bound after the reload
    ANY,
    HOSTNAME_RE,
    INT,
    NONE,
    STR,
    check_address,
    check_schema,
    entries,
    get,
    int_in,
    key,
    list_of,
    message_key,
    named,
    shown,
    under,
)

__virtualname__ = "ha_topology"

ROLES = ("controller", "compute")
MIN_CONTROLLERS = 3

# Pillar paths (below ``ha``) that hold secrets. Each one is required and must
# not be a reference value, a placeholder or too short to resist guessing.
SECRETS = (
    *ha_topology_pacemaker.secret_paths(),
    *ha_topology_galera.secret_paths(),
    *ha_topology_rabbitmq.secret_paths(),
    *ha_topology_haproxy.secret_paths(),
    *ha_topology_openstack.secret_paths(),
)
# Used with fullmatch: "$" alone would also accept a trailing newline.
CLUSTER_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
CLUSTER_NAMES = (ha_topology_pacemaker.CLUSTER_NAME, ha_topology_galera.CLUSTER_NAME,
                 ha_topology_etcd.CLUSTER_TOKEN)
MAP_TEMPLATE = "salt://ha/map.json.jinja"
# The listeners whose backends are the controllers' own clustered services
# (MariaDB's fixed port, or a port of the pillar); every other listener's
# backend is an API of its own port on every controller.
LISTENER_BACKENDS = {"galera": (ha_topology_galera.MARIADB_PORT, "MariaDB"),
                     "rabbitmq": (("rabbitmq", "port"), "ha:rabbitmq:port")}
# Optional sections of the pillar: absent means defaults, present must be a mapping.
OPTIONAL_SECTIONS = ("rabbitmq", "memcached", "etcd", "base", "chrony", "openstack")


# --- The pillar's schema -----------------------------------------------------
# Every key the formula reads, with the type of its value. The schema runs
# before the value checks below: a key of the wrong type gets one message
# ("must be an integer, not a string") and its value checks are not shown;
# a key the formula does not know is reported with the closest known name,
# so that a typo (memcache: for memcached:) never silently gives defaults.
# A table of Python rather than jsonschema: the validation runs first on the
# master, inside Salt's Python, which would need one more package there; and
# its messages name the key as an operator writes it (ha:rabbitmq:ram_nodes),
# which jsonschema's would need rewriting for. The top-level keys are the
# core's; each component's section is its module's schema().
SCHEMA = {
    "timezone": STR,
    "domain": (STR, NONE),
    "management_network": STR,
    # The formula's map data (package, service and path names), free-form.
    "lookup": named(ANY),
    "vip": {"address": STR, "cidr_netmask": INT, "hostname": (STR, NONE)},
    "nodes": named({"address": STR, "roles": list_of(STR)}),
    "base": ha_topology_base.schema(),
    "chrony": ha_topology_chrony.schema(),
    "pacemaker": ha_topology_pacemaker.schema(),
    "galera": ha_topology_galera.schema(),
    "rabbitmq": ha_topology_rabbitmq.schema(),
    "memcached": ha_topology_memcached.schema(),
    "etcd": ha_topology_etcd.schema(),
    "haproxy": ha_topology_haproxy.schema(),
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
    if ha_pillar.check_secret(path, value, errors) and path == ha_topology_rabbitmq.ERLANG_COOKIE:
        ha_topology_rabbitmq.check_cookie(value, errors)


def _check_network(ha: dict, errors: list[str]) -> ipaddress.IPv4Network | None:
    raw = ha.get("management_network")
    try:
        return ipaddress.IPv4Network(str(raw), strict=True)
    except ValueError:
        errors.append(f"{key('management_network')}: {raw!r} is not an IPv4 network such as 10.10.10.0/24")
        return None


def _check_nodes(ha: dict, network, errors: list[str]) -> dict[str, dict]:
    nodes = ha.get("nodes")
    if not isinstance(nodes, dict) or not nodes:
        errors.append(f"{key('nodes')}: must map each node's minion id to its address and roles")
        return {}
    checked: dict[str, dict] = {}
    seen_addresses: dict[ipaddress.IPv4Address, str] = {}
    for name, spec in entries(nodes, ("nodes",), HOSTNAME_RE, "the node name must be a lower-case host name",
                              "must be a mapping with address and roles", errors):
        address = check_address(("nodes", name, "address"), spec.get("address"), network, errors)
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
    address = check_address(("vip", "address"), vip.get("address"), network, errors)
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


def _check_cluster_names(ha: dict, errors: list[str]) -> None:
    for path in CLUSTER_NAMES:
        value = get(ha, path)
        if not isinstance(value, str) or not CLUSTER_NAME_RE.fullmatch(value):
            errors.append(f"{key(*path)}: {value!r} must be 1 to 63 letters, digits, '.', '_' or '-'")


def _node_ports(ha: dict) -> list[tuple[tuple[str, ...], Any]]:
    """The ports that the pillar sets for every controller's services at its own address, by pillar path."""
    return [*ha_topology_galera.node_ports(ha), *ha_topology_rabbitmq.node_ports(ha),
            *ha_topology_memcached.node_ports(ha), *ha_topology_etcd.node_ports(ha)]


def _fixed_ports() -> dict[int, str]:
    """The TCP ports the controllers' services use at their own address that the pillar does not set."""
    return {**ha_topology_galera.FIXED_PORTS, **ha_topology_rabbitmq.FIXED_PORTS, **ha_topology_pacemaker.FIXED_PORTS}


def _check_node_ports(ha: dict, errors: list[str]) -> None:
    """Ports that every controller listens on at its own address must differ between services."""
    low, high = ha_topology_rabbitmq.CLI_PORTS
    seen: dict[int, str] = {**{port: "the RabbitMQ CLI tools" for port in range(low, high + 1)}, **_fixed_ports()}
    for path, port in _node_ports(ha):
        if not int_in(port, 1, 65535):
            continue  # reported by the section's own check
        other = seen.setdefault(port, key(*path))
        # Two ports of one section are reported by ha_pillar.check_ports already.
        if other != key(*path) and not other.startswith(key(path[0]) + ":"):
            errors.append(f"{key(*path)}: {port} is also used on every controller by {other}")
    listeners = get(ha, ("haproxy", "listeners"))
    for name, spec in sorted(listeners.items(), key=lambda item: str(item[0])) if isinstance(listeners, dict) else ():
        if not isinstance(spec, dict):
            continue
        field = "backend_port" if "backend_port" in spec else "port"
        port, path = spec.get(field), ("haproxy", "listeners", name, field)
        if not int_in(port, 1, 65535):
            continue  # reported by ha_topology_haproxy.check
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
    ha_topology_base.check_timezone(ha, errors)
    _check_cluster_names(ha, errors)
    ha_topology_haproxy.check(ha, get(ha, ("vip", "address")), errors)
    ha_topology_galera.check(ha, errors)
    bad_sections = [name for name in OPTIONAL_SECTIONS if name in ha and not isinstance(ha[name], dict)]
    for name in bad_sections:
        errors.append(f"{key(name)}: must be a mapping")
    if not bad_sections:
        controllers = sorted((n for n, spec in nodes.items() if "controller" in spec["roles"]), key=_node_sort_key)
        ha_topology_rabbitmq.check(ha, controllers, errors)
        ha_topology_memcached.check(ha, errors)
        ha_topology_etcd.check(ha, errors)
        _check_node_ports(ha, errors)
        ha_topology_base.check(ha, errors)
        ha_topology_chrony.check(ha, nodes, errors)
        ha_topology_openstack.check(ha, errors)
    if isinstance(ha.get("pacemaker"), dict):
        ha_topology_pacemaker.check(ha, nodes, errors)
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
    The pillar keys (not the values) of every secret of the site: those of ``SECRETS`` (each
    component's ``secret_paths``) and the password of each account of ``ha:galera:databases``.
    What the leak checks look for.

    CLI Example:

    .. code-block:: bash

        salt-call ha_topology.secret_keys
    """
    ha = _ha_pillar(ha)
    databases = get(ha, ("galera", "databases"))
    users = sorted(databases, key=str) if isinstance(databases, dict) else []
    return [*(key(*path) for path in SECRETS), *(ha_topology_galera.password_key(user) for user in users)]


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
    return ha_topology_galera.node(ha, me, controllers, first_controller(ha), defaults, provider)


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
    return ha_topology_galera.accounts(ha, _controllers(ha))


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
    return ha_topology_rabbitmq.node(ha, me, controllers, first_controller(ha))


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
    return ha_topology_rabbitmq.access(ha)


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
    return ha_topology_memcached.node(ha, me)


def memcached_servers(ha: dict | None = None) -> list[str]:
    """
    Every controller's memcached as ``ADDRESS:PORT``, for the OpenStack
    services' ``memcache_servers`` and ``[cache] memcache_servers``.

    CLI Example:

    .. code-block:: bash

        salt-call ha_topology.memcached_servers
    """
    ha = _ha_pillar(ha)
    return ha_topology_memcached.servers(ha, _controllers(ha))


def rabbitmq_servers(ha: dict | None = None) -> list[str]:
    """
    Every controller's RabbitMQ as ``ADDRESS:PORT``, for the OpenStack
    services' ``transport_url``.

    CLI Example:

    .. code-block:: bash

        salt-call ha_topology.rabbitmq_servers
    """
    ha = _ha_pillar(ha)
    return ha_topology_rabbitmq.servers(ha, _controllers(ha))


def etcd_members(ha: dict | None = None) -> dict[str, dict]:
    """
    The etcd members: every controller, by name, with its ``peer_url`` and
    ``client_url`` on its own address.

    CLI Example:

    .. code-block:: bash

        salt-call ha_topology.etcd_members
    """
    ha = _ha_pillar(ha)
    return ha_topology_etcd.members(ha, _controllers(ha))


def etcd_node(data_dir: str, minion_id: str | None = None, ha: dict | None = None) -> dict:
    """
    etcd on one controller: ``environment``, the ETCD_* variables of its
    configuration (name, ``data_dir``, peer and client URLs on its own
    address plus the loopback for local clients); ``new_cluster``, its
    initial settings when every member starts a new cluster (the initial
    cluster of every controller, the cluster token, state ``new``; etcd
    reads them only while its data directory is empty, see
    :py:func:`etcd_joining` for a member that joins a running cluster), and
    ``members`` (see :py:func:`etcd_members`).

    CLI Example:

    .. code-block:: bash

        salt-call ha_topology.etcd_node /var/lib/etcd/ha
    """
    ha = _ha_pillar(ha)
    me, controllers = _controller(ha, minion_id)
    return ha_topology_etcd.node(ha, me, controllers, data_dir)


def etcd_joining(listed: list[dict], minion_id: str | None = None, ha: dict | None = None,
                 cluster_id: str | None = None) -> dict:
    """
    The initial settings of this controller starting with a running cluster
    whose member list (``ha_etcd.members``, this member already in it) is
    ``listed``: that cluster, state ``existing``; or, for a member the
    cluster (of id ``cluster_id``) was created with that never started,
    state ``new`` (see ``ha_topology_etcd.joining``). Raises when the list has a member that no
    controller of the pillar explains.

    CLI Example:

    .. code-block:: bash

        salt-call ha_topology.etcd_joining "$(salt-call --out=json ha_etcd.members ...)"
    """
    ha = _ha_pillar(ha)
    me, controllers = _controller(ha, minion_id)
    try:
        return ha_topology_etcd.joining(listed, ha_topology_etcd.members(ha, controllers), me["id"],
                                        ha_topology_etcd.cluster_token(ha), cluster_id)
    except ValueError as exc:
        raise CommandExecutionError(f"cannot join the running etcd cluster: {exc}") from None


def pacemaker_cluster(ha: dict | None = None) -> dict:
    """
    The Pacemaker/Corosync cluster: its ``name``, the ``nodes`` (every
    controller's minion id and management address, in order), the corosync
    ``totem`` options (the formula's ``TOTEM_DEFAULTS`` of ``ha_topology_pacemaker``, then
    ``ha:pacemaker:totem``), the pillar key of the hacluster password
    (``password_pillar``) and the ``vip`` address.

    CLI Example:

    .. code-block:: bash

        salt-call ha_topology.pacemaker_cluster
    """
    ha = _ha_pillar(ha)
    return ha_topology_pacemaker.cluster(ha, _controllers(ha))


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
    return ha_topology_pacemaker.resources(ha, haproxy_service)


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
    return ha_topology_haproxy.config(ha, _controllers(ha), ha_topology_galera.check_port(ha))


def served_listeners(ha: dict | None = None) -> list[str]:
    """
    The HAProxy listeners of the pillar whose servers run a service that
    the formula deploys on the controllers (Galera, RabbitMQ, the OpenStack
    APIs); the others (horizon, neutron or cinder in pillar.example) wait
    for services deployed some other way.

    CLI Example:

    .. code-block:: bash

        salt-call ha_topology.served_listeners
    """
    ha = _ha_pillar(ha)
    served = set(LISTENER_BACKENDS) | set(ha_topology_openstack.listeners())
    listeners = get(ha, ("haproxy", "listeners"))
    return sorted(name for name in (listeners if isinstance(listeners, dict) else {}) if name in served)


def base_settings(ha: dict | None = None) -> dict:
    """
    What every node's base states apply: ``sysctl`` (the formula's kernel
    parameters ``BASE_SYSCTL`` of ``ha_topology_base`` and ``ha:base:sysctl``, by name), ``upgrade``,
    ``selinux``, ``firewall`` and ``openstack_release``.

    CLI Example:

    .. code-block:: bash

        salt-call ha_topology.base_settings
    """
    ha = _ha_pillar(ha)
    check(ha)
    return ha_topology_base.settings(ha)


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
    return ha_topology_chrony.node(ha, minion_id, all_nodes, first_controller(ha))


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
    tcp = {*_fixed_ports(), "{}-{}".format(*ha_topology_rabbitmq.CLI_PORTS), *(port for _, port in _node_ports(ha))}
    udp = {*ha_topology_galera.FIXED_UDP_PORTS, *ha_topology_pacemaker.FIXED_UDP_PORTS}
    return ha_topology_firewall.rules(ha, me, all_nodes, chrony_node(minion_id, ha), tcp, udp)
