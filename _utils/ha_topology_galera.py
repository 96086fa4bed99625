"""
The Galera part of the site's topology: ``ha:galera`` (the cluster, its
health endpoint, the services' accounts), its checks, one controller's
[mysqld] settings and the accounts to create. Pure Python on top of the
pillar and of what the core topology derived (this controller, every
controller, the first one); no Salt dunders.
"""

from __future__ import annotations

import re

from ha_pillar import BOOL, INT, SCALAR, STR, check_secret, entries, get, int_in, key, list_of, named

CLUSTER_NAME = ("galera", "cluster_name")
MARIADB_PORT = 3306
# The health endpoint of every controller (clustercheck) unless the pillar sets one.
CLUSTERCHECK_PORT = 9200
# Ports of every controller's MariaDB and Galera at its own address that the
# pillar does not set: MariaDB, Galera replication, IST, SST.
FIXED_PORTS = {MARIADB_PORT: "MariaDB", 4567: "Galera replication", 4568: "Galera IST", 4444: "Galera SST"}
# The UDP side of Galera replication.
FIXED_UDP_PORTS = {4567: "Galera replication"}
SQL_NAME_RE = re.compile(r"^[A-Za-z0-9_]{1,64}$")
# rsync needs no SST credentials; mariabackup would need an SST user first.
SST_METHODS = ("rsync",)
# [mysqld] options that node() (ha_topology.galera_node) derives from the topology.
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


def schema() -> dict:
    """The schema of ``ha:galera`` (see ha_pillar)."""
    return {
        "cluster_name": STR, "root_password": STR, "clustercheck_password": STR, "sst_method": STR,
        "settings": named(SCALAR),
        "clustercheck": {"port": INT, "available_when_donor": BOOL, "available_when_readonly": BOOL},
        "databases": named({"password": STR, "databases": list_of(STR)}),
    }


def secret_paths() -> list[tuple[str, ...]]:
    """The pillar paths (below ``ha``) of Galera's own secrets (the accounts' passwords are named by the pillar)."""
    return [("galera", "root_password"), ("galera", "clustercheck_password")]


def password_key(user: str) -> str:
    """The pillar key of a service account's password."""
    return key("galera", "databases", user, "password")


def check_port(ha: dict) -> int:
    """The port of every controller's health endpoint."""
    return get(ha, ("galera", "clustercheck", "port")) or CLUSTERCHECK_PORT


def node_ports(ha: dict) -> list[tuple[tuple[str, ...], object]]:
    """The ports that the pillar sets for every controller's Galera at its own address, by pillar path."""
    return [(("galera", "clustercheck", "port"), check_port(ha))]


def check(ha: dict, errors: list[str]) -> None:
    """Report the problems of ``ha:galera`` (its cluster name and secrets are checked with the others')."""
    galera = ha.get("galera") if isinstance(ha.get("galera"), dict) else {}
    sst = galera.get("sst_method", SST_METHODS[0])
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
    clustercheck = galera.get("clustercheck", {})
    port = clustercheck.get("port", CLUSTERCHECK_PORT) if isinstance(clustercheck, dict) else None
    if not int_in(port, 1, 65535):
        errors.append(f"{key('galera', 'clustercheck', 'port')}: {port!r} must be a TCP port from 1 to 65535")
    databases = galera.get("databases", {})
    if not isinstance(databases, dict):
        errors.append(f"{key('galera', 'databases')}: must map each service user to its password and databases")
        return
    for user, spec in entries(databases, ("galera", "databases"), SQL_NAME_RE,
                              "the user name must be letters, digits and _", "must be a mapping with a password",
                              errors):
        check_secret(("galera", "databases", user, "password"), spec.get("password"), errors)
        names = spec.get("databases", [user])
        if not isinstance(names, list) or not names or not all(
            SQL_NAME_RE.fullmatch(n) for n in names if isinstance(n, str)
        ):
            errors.append(f"{key('galera', 'databases', user, 'databases')}: must list database names "
                          "(letters, digits and _)")


def node(ha: dict, me: dict, controllers: list[dict], first: str, defaults: dict, provider: str) -> dict:
    """What controller ``me`` needs for Galera (see ha_topology.galera_node); ``first``: the first controller."""
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
        "wsrep_sst_method": galera.get("sst_method", SST_METHODS[0]),
        **GALERA_NO_HOST_BLOCKING,
    })
    return {
        "address": me["address"],
        "settings": settings,
        "peers": [n["address"] for n in controllers if n["id"] != me["id"]],
        "bootstrap": first == me["id"],
        "check_port": check_port(ha),
    }


def accounts(ha: dict, controllers: list[dict]) -> list[dict]:
    """The services' accounts (see ha_topology.galera_accounts)."""
    hosts = [n["address"] for n in controllers]
    return [
        {
            "user": user,
            "databases": spec.get("databases", [user]),
            "grants": {database: ["ALL"] for database in spec.get("databases", [user])},
            "hosts": hosts,
            "password_pillar": password_key(user),
        }
        for user, spec in sorted(ha["galera"].get("databases", {}).items())
    ]
