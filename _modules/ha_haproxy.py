"""
The local HAProxy at run time, through its admin socket (the map's
``haproxy:stats_socket``): the servers of every listener and their state, a
controller's servers drained and made ready again (the rolling restart), and
their current sessions. Runtime changes last until HAProxy restarts or
reloads its configuration.
"""

from __future__ import annotations

import csv
import socket

from salt.exceptions import CommandExecutionError

__virtualname__ = "ha_haproxy"

# What `set server ... state` takes: ready (in rotation), drain (no new
# connection, the current ones continue) and maint (out of rotation).
SERVER_STATES = ("ready", "drain", "maint")
# The rows of `show stat` that are not servers, and the listener of the stats page.
NOT_SERVERS = ("FRONTEND", "BACKEND")
STATS_LISTENER = "stats"


def __virtual__():
    return __virtualname__


def _socket_path() -> str:
    return __salt__["ha_topology.formula_map"]()["haproxy"]["stats_socket"]  # noqa: F821 - Salt loader dunder


def command(line: str, timeout: float = 5) -> str:
    """
    One command on the admin socket and HAProxy's answer. Raises when
    HAProxy does not run here or does not answer within ``timeout`` seconds.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_haproxy.command 'show info'
    """
    path = _socket_path()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(timeout)
            connection.connect(path)
            connection.sendall(line.encode() + b"\n")
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
    except OSError as exc:
        raise CommandExecutionError(f"HAProxy's admin socket {path} does not answer: {exc} "
                                    "(does HAProxy run on this node?)") from None
    return answer.decode(errors="replace")


def parse_stat(text: str) -> dict[str, dict[str, dict]]:
    """``show stat`` CSV as ``{listener: {server: {"status", "sessions", "backup"}}}``, servers only."""
    lines = text.strip().splitlines()
    if not lines or not lines[0].startswith("# "):
        raise CommandExecutionError(f"HAProxy's show stat printed no CSV header: {text[:200]!r}")
    reader = csv.DictReader([lines[0][2:], *lines[1:]])
    listeners: dict[str, dict[str, dict]] = {}
    for row in reader:
        if row["svname"] in NOT_SERVERS or row["pxname"] == STATS_LISTENER:
            continue
        listeners.setdefault(row["pxname"], {})[row["svname"]] = {
            "status": row["status"],
            "sessions": int(row["scur"] or 0),
            "backup": row["bck"] == "1",
        }
    return listeners


def servers() -> dict[str, dict[str, dict]]:
    """
    Every listener's servers as this node's HAProxy sees them:
    ``{listener: {server: {"status", "sessions", "backup"}}}``; status as
    HAProxy's stats page shows it (``UP``, ``DOWN``, ``DRAIN``, ``MAINT``,
    ``UP 1/2`` while a check changes its mind...).

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_haproxy.servers
    """
    return parse_stat(command("show stat"))


def set_state(server: str, state: str) -> list[str]:
    """
    Put ``server`` (a controller's minion id, the servers' name in every
    listener) in ``state`` (``SERVER_STATES``) in every listener that has
    it; return those listeners.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller02 ha_haproxy.set_state openstack-controller01 drain
    """
    if state not in SERVER_STATES:
        raise CommandExecutionError(f"state must be one of {', '.join(SERVER_STATES)}, not {state!r}")
    listeners = sorted(name for name, found in servers().items() if server in found)
    if not listeners:
        raise CommandExecutionError(f"no HAProxy listener here has a server {server}")
    answer = command("; ".join(f"set server {listener}/{server} state {state}" for listener in listeners))
    if answer.strip():
        raise CommandExecutionError(f"HAProxy refused to set {server} {state}: {answer.strip()[:300]}")
    return listeners


def sessions(server: str) -> int:
    """
    The current sessions of ``server`` over every listener of this node's HAProxy.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller02 ha_haproxy.sessions openstack-controller01
    """
    return sum(found[server]["sessions"] for found in servers().values() if server in found)


def shutdown_sessions(server: str) -> list[str]:
    """
    End every current session of ``server`` in every listener of this node's
    HAProxy (the clients reconnect to another server); return the listeners.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller02 ha_haproxy.shutdown_sessions openstack-controller01
    """
    listeners = sorted(name for name, found in servers().items() if server in found)
    if listeners:
        command("; ".join(f"shutdown sessions server {listener}/{server}" for listener in listeners))
    return listeners
