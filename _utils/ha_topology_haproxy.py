"""
The HAProxy part of the site's topology: ``ha:haproxy`` (the stats page and
the listeners), its checks (what haproxy.cfg takes as one word, one bind per
address and port) and the listeners as haproxy.cfg gets them. Pure Python on
top of the pillar and of what the core topology derived (every controller,
the Galera health endpoint's port); no Salt dunders.
"""

from __future__ import annotations

import re
from typing import Any

import ha_pillar
from ha_pillar import INT, INTERVAL_RE, NONE, STR, check_address, get, int_in, key, named

STATS_PASSWORD = ("haproxy", "stats", "password")
LISTENER_MODES = ("http", "tcp")
# How HAProxy checks a listener's servers: an HTTP request (the APIs), a TCP
# connect, or the Galera health endpoint of each controller, which also makes
# the listener active/backup (one writer at a time).
LISTENER_CHECKS = {"http": "http", "tcp": "tcp", "clustercheck": "tcp"}
# haproxy.cfg takes "stats auth USER:PASSWORD" as one word on one line.
STATS_USER_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
STATS_PASSWORD_RE = re.compile(r"^[^\s#:'\"\\]+$")
CHECK_PATH_RE = re.compile(r"^/[^\s#'\"\\]*$")
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
OBSERVE = "observe layer4 error-limit 1 on-error mark-down on-marked-down shutdown-sessions"
SERVER_CHECKS = {
    "http": f"check inter 2s fastinter 500ms downinter 2s rise 2 fall 2 {OBSERVE}",
    "fast": f"check inter 500ms fastinter 250ms downinter 1s rise 2 fall 2 {OBSERVE}",
}
LISTENER_SCHEMA = {"port": INT, "backend_port": INT, "bind": STR, "mode": STR, "check": STR, "check_path": STR,
                   "timeout": (STR, INT, NONE)}


def schema() -> dict:
    """The schema of ``ha:haproxy`` (see ha_pillar)."""
    return {
        "stats": {"port": INT, "bind": STR, "user": STR, "password": STR},
        "listeners": named(LISTENER_SCHEMA),
    }


def secret_paths() -> list[tuple[str, ...]]:
    """The pillar paths (below ``ha``) of HAProxy's secrets."""
    return [STATS_PASSWORD]


def check(ha: dict, vip_address: Any, errors: list[str]) -> None:
    """Report the problems of ``ha:haproxy``; ``vip_address``: the pillar's, where a listener binds by default."""
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
        errors.append(f"{key(*STATS_PASSWORD)}: must not contain spaces, ':', '#', quotes or "
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
        if "bind" in spec and check_address((*path, "bind"), spec["bind"], None, errors) is None:
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
        server_check = SERVER_CHECKS["http" if check == "http" else "fast"]
        line = f"server {node['id']} {node['address']}:{backend_port} {server_check}"
        if check == "clustercheck":
            # One writer at a time avoids certification conflicts between
            # nodes; the others take over when it fails its check.
            line += f" port {check_port}"
            if index:
                line += " backup"
        servers.append(line)
    return {"name": name, "bind": f"{vip}:{spec['port']}", "mode": mode, "options": options, "servers": servers}


def config(ha: dict, controllers: list[dict], check_port: int) -> dict:
    """HAProxy's stats page and listeners (see ha_topology.haproxy_config); ``check_port``: Galera's health endpoint."""
    vip = str(ha["vip"]["address"])
    stats = ha["haproxy"]["stats"]
    return {
        "stats": {"bind": f"{stats.get('bind', vip)}:{stats['port']}", "user": stats["user"]},
        "listeners": [
            _listener(name, spec, str(spec.get("bind", vip)), controllers, check_port)
            for name, spec in sorted(ha["haproxy"]["listeners"].items())
        ],
    }
