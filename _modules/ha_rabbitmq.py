"""
RabbitMQ on a controller, through ``rabbitmqctl``: cluster status as
structured data, membership (join, node type), users, permissions and
policies.

Passwords go to ``rabbitmqctl`` on its standard input (``add_user``,
``change_password`` and ``authenticate_user`` read it there when the argument
is left out), never on a command line. The path of ``rabbitmqctl`` comes from
the formula's map (``rabbitmq:ctl``).
"""

from __future__ import annotations

import json
import time
from typing import Any

from salt.exceptions import CommandExecutionError

__virtualname__ = "ha_rabbitmq"

NODE_TYPES = ("disc", "ram")
# Exit code of rabbitmqctl authenticate_user for wrong credentials.
EX_DATAERR = 65


def __virtual__():
    if "ha_kit.run" not in __utils__:  # noqa: F821 - Salt loader dunder
        return (False, "the formula's ha_kit utils module is not synced: run saltutil.sync_all")
    return __virtualname__


def _map() -> dict:
    return __salt__["ha_topology.formula_map"]()["rabbitmq"]  # noqa: F821 - Salt loader dunder


def _ctl(*args: str, node: str | None = None, stdin: str | None = None, timeout: float = 120,
         check: bool = True) -> dict:
    """rabbitmqctl ``args`` (against ``node``), as ha_kit.run returns it; raises on failure with ``check``."""
    result = __utils__["ha_kit.run"](  # noqa: F821 - Salt loader dunder
        __salt__, [_map()["ctl"], *(["-n", node] if node else []), *args], stdin=stdin, timeout=timeout,  # noqa: F821
        what=f"rabbitmqctl {args[0]}", hint="is the RabbitMQ package installed?",
    )
    if check and result["retcode"] != 0:
        raise CommandExecutionError(
            f"rabbitmqctl {args[0]}{' on ' + node if node else ''} failed: {_tail(result)}"
        )
    return result


def _tail(result: dict) -> str:
    return __utils__["ha_kit.tail"](result, 3)  # noqa: F821 - Salt loader dunder


def _json(*args: str, node: str | None = None, timeout: float = 60) -> Any:
    output = _ctl(*args, "--formatter", "json", node=node, timeout=timeout)["stdout"]
    try:
        return json.loads(output)
    except ValueError:
        raise CommandExecutionError(f"rabbitmqctl {args[0]} printed no JSON: {output[:200]!r}") from None


def cluster_status(node: str | None = None, timeout: float = 60) -> dict:
    """
    The cluster as seen by ``node`` (default: the local node):
    ``running_nodes``, ``disc_nodes``, ``ram_nodes``, ``partitions`` (node to
    the nodes it cannot see) and ``alarms``, each sorted.

    CLI Example:

    .. code-block:: bash

        salt 'openstack-controller*' ha_rabbitmq.cluster_status
    """
    raw = _json("cluster_status", node=node, timeout=timeout)
    partitions = raw.get("partitions") or {}
    return {
        "running_nodes": sorted(raw.get("running_nodes", [])),
        "disc_nodes": sorted(raw.get("disk_nodes", [])),
        "ram_nodes": sorted(raw.get("ram_nodes", [])),
        # Older releases print [] instead of {} when there is no partition.
        "partitions": dict(partitions) if isinstance(partitions, dict) else {},
        "alarms": raw.get("alarms", []),
    }


# The states of a classic queue whose leader (its master process) runs:
# under flow control or while its mirrors synchronise it still serves.
LEADER_STATES = ("running", "flow", "idle", "syncing")


def mirrors_wanted(definition: dict, cluster: list[str]) -> int:
    """How many copies a classic queue under a policy of ``definition`` should have in ``cluster``."""
    mode, params = definition.get("ha-mode"), definition.get("ha-params")
    if mode == "all":
        return len(cluster)
    if mode == "exactly" and isinstance(params, int):
        return min(params, len(cluster))
    if mode == "nodes" and isinstance(params, list):
        return max(1, len(set(params) & set(cluster)))
    return 1


def queue_problems(rows: list[dict], cluster: list[str], running: list[str],
                   policies: dict[str, dict] | None = None) -> list[str]:
    """
    The queues of ``rows`` (``list_queues`` as :py:func:`queues` asks for
    it) that have no leader on a running node (a classic queue whose
    master does not run), or fewer replicas than they should: a classic
    queue under a mirroring policy of ``policies`` (:py:func:`policies`) its
    ``ha-mode``'s count of synchronised copies in ``cluster``, a quorum queue
    every member online.
    """
    problems = []
    for row in rows:
        name = row.get("name", "?")
        if row.get("type") == "quorum":
            members, online = row.get("members") or [], row.get("online") or []
            leader = row.get("leader") in running
            have, want = len(online), len(members)
        else:
            # rabbitmqctl's JSON names a classic queue's pids by number, not
            # by node: its leader runs while the queue does.
            leader = row.get("state") in LEADER_STATES
            synchronised = row.get("synchronised_slave_pids") or []
            have = 1 + len(synchronised if isinstance(synchronised, list) else [])
            definition = (policies or {}).get(row.get("policy") or "", {}).get("definition", {})
            want = 1 if row.get("exclusive") else mirrors_wanted(definition, cluster)
        if not leader:
            problems.append(f"{name}: no leader on a running node ({row.get('state') or 'no state'})")
        elif have < want:
            problems.append(f"{name}: {have} of {want} replicas")
    return problems


def queues(status: dict | None = None, timeout: float = 30) -> dict:
    """
    The cluster's queues on ``/``: ``total`` and ``unhealthy``, one line per
    queue without a leader or below its replica count (see
    :py:func:`queue_problems`); ``status``: a :py:func:`cluster_status`
    result (default: asked for).

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_rabbitmq.queues
    """
    status = status or cluster_status(timeout=timeout)
    rows = _json("list_queues", "--quiet", "name", "type", "state", "policy", "exclusive",
                 "synchronised_slave_pids", "leader", "members", "online", timeout=timeout)
    problems = queue_problems(rows, members(status), status["running_nodes"], policies() if rows else {})
    return {"total": len(rows), "unhealthy": problems}


def members(status: dict) -> list[str]:
    """Every node the cluster knows (running or not), from a :py:func:`cluster_status` result."""
    return sorted(set(status["disc_nodes"]) | set(status["ram_nodes"]))


def node_type(status: dict, node: str) -> str | None:
    """``disc``, ``ram`` or None when ``node`` is not a member."""
    if node in status["disc_nodes"]:
        return "disc"
    if node in status["ram_nodes"]:
        return "ram"
    return None


def await_running(node: str, timeout: float = 300) -> dict:
    """
    Wait until the local app has started and ``node`` is among the running
    nodes; return the cluster status.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller02 ha_rabbitmq.await_running rabbit@openstack-controller02
    """
    started = time.monotonic()
    _ctl("await_startup", "--timeout", str(int(timeout)), timeout=timeout + 30)

    def probe() -> dict:
        # Through __salt__: the probe runs in the toolkit's loader (ha_kit.wait).
        status = __salt__["ha_rabbitmq.cluster_status"]()  # noqa: F821 - Salt loader dunder
        if node not in status["running_nodes"]:
            raise CommandExecutionError(f"cluster status {status}")
        return status

    # One time limit for both, the app's start and the node's showing up
    # (whole seconds, as the message names them).
    left = max(0, round(timeout - (time.monotonic() - started)))
    return __utils__["ha_kit.wait"](f"{node} among the running nodes", probe, left)  # noqa: F821


def join(target: str, node: str, node_type: str = "disc", timeout: float = 300) -> dict:
    """
    Make the local node (``node``) a member of ``target``'s cluster:
    ``stop_app``, ``reset``, ``join_cluster``, ``start_app``. ``reset`` wipes
    the local node's own data, so the state only calls this for a node that
    is not clustered with anyone yet.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller02 ha_rabbitmq.join rabbit@openstack-controller01 rabbit@openstack-controller02 ram
    """
    if node_type not in NODE_TYPES:
        raise CommandExecutionError(f"node type {node_type!r} is not one of {', '.join(NODE_TYPES)}")
    _ctl("stop_app")
    try:
        _ctl("reset")
        _ctl("join_cluster", *(["--ram"] if node_type == "ram" else []), target, timeout=timeout)
    finally:
        # Never leave the app stopped, also when the join failed.
        _ctl("start_app", timeout=timeout)
    return await_running(node, timeout)


def forget(node: str, timeout: float = 120) -> bool:
    """
    Remove the stopped member ``node`` (``rabbit@HOST``) from the cluster
    (``rabbitmqctl forget_cluster_node``), run on a running member: its
    queue mirrors and quorum queue memberships go with it. Returns once
    the cluster no longer lists it and every member left runs, with no
    partition (up to ``timeout`` seconds); False when it was no member
    (nothing to remove; the wait is the same). RabbitMQ refuses while
    ``node`` still runs: stop it first.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_rabbitmq.forget rabbit@openstack-controller04
    """
    forgotten = node in members(cluster_status(timeout=min(timeout, 60)))
    if forgotten:
        _ctl("forget_cluster_node", node, timeout=timeout)

    # Also when there was nothing to do: a removal run again after this wait
    # failed must not go on before the cluster agrees.
    def probe() -> dict:
        # Through __salt__: the probe runs in the toolkit's loader (ha_kit.wait).
        status = __salt__["ha_rabbitmq.cluster_status"](timeout=15)  # noqa: F821 - Salt loader dunder
        rest = members(status)
        if node in rest or status["running_nodes"] != rest or status["partitions"]:
            raise CommandExecutionError(f"members {rest}, running {status['running_nodes']}, "
                                        f"partitions {status['partitions']}")
        return status

    __utils__["ha_kit.wait"](f"RabbitMQ without {node}", probe, timeout, 2)  # noqa: F821
    return forgotten


def remove_data() -> bool:
    """
    Delete this node's RabbitMQ database (the map's ``rabbitmq:mnesia_dir``)
    once the cluster forgot it (:py:func:`forget`): it would still believe
    itself a member and refuse to start; without it, it can join again as
    a new node. Refused while RabbitMQ runs here. Returns False when there
    was none.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller04 ha_rabbitmq.remove_data
    """
    rabbitmq = _map()
    return __utils__["ha_kit.remove_data"](__salt__, rabbitmq["service"], rabbitmq["mnesia_dir"])  # noqa: F821


def change_node_type(node: str, node_type: str, timeout: float = 300) -> dict:
    """
    Turn the local member into a ``disc`` or ``ram`` node (the app is
    stopped for the change).

    CLI Example:

    .. code-block:: bash

        salt openstack-controller02 ha_rabbitmq.change_node_type rabbit@openstack-controller02 disc
    """
    if node_type not in NODE_TYPES:
        raise CommandExecutionError(f"node type {node_type!r} is not one of {', '.join(NODE_TYPES)}")
    _ctl("stop_app")
    try:
        _ctl("change_cluster_node_type", node_type)
    finally:
        _ctl("start_app", timeout=timeout)
    return await_running(node, timeout)


def users() -> dict[str, list[str]]:
    """
    Every user with its tags.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_rabbitmq.users
    """
    return {entry["user"]: sorted(entry.get("tags", [])) for entry in _json("list_users")}


def password_matches(user: str, password: str) -> bool:
    """
    True when ``user`` authenticates with ``password`` (sent on stdin).

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_rabbitmq.password_matches openstack "$(cat secret)"
    """
    result = _ctl("authenticate_user", user, stdin=password + "\n", check=False)
    if result["retcode"] not in (0, EX_DATAERR):
        raise CommandExecutionError(f"rabbitmqctl authenticate_user failed: {_tail(result)}")
    return result["retcode"] == 0


def add_user(user: str, password: str) -> bool:
    """
    Create ``user`` with ``password`` (sent on stdin).

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_rabbitmq.add_user openstack "$(cat secret)"
    """
    _ctl("add_user", user, stdin=password + "\n")
    return True


def change_password(user: str, password: str) -> bool:
    """
    Set the password of ``user`` (sent on stdin).

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_rabbitmq.change_password openstack "$(cat secret)"
    """
    _ctl("change_password", user, stdin=password + "\n")
    return True


def set_tags(user: str, tags: list[str]) -> bool:
    """
    Replace the tags of ``user``.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_rabbitmq.set_tags openstack '[administrator]'
    """
    _ctl("set_user_tags", user, *tags)
    return True


def delete_user(user: str) -> bool:
    """
    Delete ``user``.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_rabbitmq.delete_user guest
    """
    _ctl("delete_user", user)
    return True


def permissions(vhost: str = "/") -> dict[str, list[str]]:
    """
    ``{user: [configure, write, read]}`` on ``vhost``.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_rabbitmq.permissions /
    """
    return {
        entry["user"]: [entry["configure"], entry["write"], entry["read"]]
        for entry in _json("list_permissions", "-p", vhost)
    }


def set_permissions(user: str, configure: str, write: str, read: str, vhost: str = "/") -> bool:
    """
    Set the permissions of ``user`` on ``vhost``.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_rabbitmq.set_permissions openstack '.*' '.*' '.*'
    """
    _ctl("set_permissions", "-p", vhost, user, configure, write, read)
    return True


def policies(vhost: str = "/") -> dict[str, dict]:
    """
    ``{name: {"pattern", "apply_to", "definition", "priority"}}`` on ``vhost``.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_rabbitmq.policies
    """
    found = {}
    for entry in _json("list_policies", "-p", vhost):
        definition = entry["definition"]
        # 3.10 prints the definition as a JSON string, newer releases as an object.
        if isinstance(definition, str):
            definition = json.loads(definition)
        found[entry["name"]] = {
            "pattern": entry["pattern"],
            "apply_to": entry["apply-to"],
            "definition": definition,
            "priority": int(entry["priority"]),
        }
    return found


def set_policy(name: str, pattern: str, definition: dict, apply_to: str = "all", priority: int = 0,
               vhost: str = "/") -> bool:
    """
    Create or replace the policy ``name`` on ``vhost``.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_rabbitmq.set_policy ha-all '^' '{"ha-mode": "all"}'
    """
    _ctl("set_policy", "-p", vhost, "--apply-to", apply_to, "--priority", str(priority), name, pattern,
         json.dumps(definition, sort_keys=True))
    return True


def clear_policy(name: str, vhost: str = "/") -> bool:
    """
    Remove the policy ``name`` from ``vhost``.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_rabbitmq.clear_policy ha-all
    """
    _ctl("clear_policy", "-p", vhost, name)
    return True
