"""
What one node sees of the control plane, for ``salt-run ha.status``
(``_runners/ha.py`` judges every node's report with ``ha_verdict``), and
the restart of one controller's services with a health gate after each,
for the rolling restart (``salt-run state.orchestrate ha.rolling_restart``),
and the retirement of a controller's services when it leaves
(``salt-run state.orchestrate ha.remove_controller``).

Every part of the report is bounded in time (each command has a timeout)
and a part that fails says why instead of failing the whole report.
"""

from __future__ import annotations

import contextvars
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from salt.exceptions import CommandExecutionError

__virtualname__ = "ha_health"

# How long each restarted component may take to be healthy again (seconds):
# a Galera member's IST and a RabbitMQ node's boot take the longest.
GATE_TIMEOUT = 300
# The parts of a node's report are read side by side, and a part still
# unread after this many seconds is reported as such: the report reaches
# ha.status within its 20 s even when one part hangs (crm_mon of a
# Pacemaker that waits on systemd, rabbitmqctl of a node still booting),
# and names that part instead of the whole node going silent.
PART_TIMEOUT = 14


def __virtual__():
    if "ha_kit.run" not in __utils__:  # noqa: F821 - Salt loader dunder
        return (False, "the formula's ha_kit utils module is not synced: run saltutil.sync_all")
    return __virtualname__


def _salt(name: str) -> Callable:
    return __salt__[name]  # noqa: F821 - Salt loader dunder


def _me() -> str:
    return __opts__["id"]  # noqa: F821 - Salt loader dunder


def _part(probe: Callable[[], dict]) -> dict:
    """One part of the report, or ``{"error": why}``: a status report must come back whatever one part does."""
    try:
        return probe()
    except CommandExecutionError as exc:
        return {"error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - a part's own bug must not hide the other parts
        return {"error": f"{type(exc).__name__}: {exc}"}


def _chrony() -> dict:
    tracking = _salt("ha_host.tracking")()
    return {"source": tracking["reference_name"], "stratum": tracking["stratum"],
            "offset": tracking["system_time"], "leap": tracking["leap_status"]}


def _galera() -> dict:
    status = _salt("ha_galera.status")()
    if "error" in status:
        raise CommandExecutionError(status["error"])
    wsrep = status.get("wsrep") or {}
    return {"running": status["running"], "state": wsrep.get("local_state_comment", ""),
            "size": wsrep.get("cluster_size", 0), "uuid": wsrep.get("cluster_state_uuid", ""),
            "primary": wsrep.get("cluster_status") == "Primary", "seqno": status["position"]["seqno"],
            "synced": status["synced"]}


def _rabbitmq() -> dict:
    status = _salt("ha_rabbitmq.cluster_status")(timeout=15)
    name = _salt("ha_topology.rabbitmq_node")()["node"]
    report: dict[str, Any] = {"node": name, **{k: status[k] for k in ("running_nodes", "partitions", "alarms")}}
    # The queues are the cluster's: one node lists them, the first running one as this node sees it.
    if status["running_nodes"] and name == min(status["running_nodes"]):
        report["queues"] = _part(lambda: _salt("ha_rabbitmq.queues")(status))
    return report


def _etcd() -> dict:
    members = _salt("ha_topology.etcd_members")()
    url = members[_me()]["client_url"]
    health = _salt("ha_etcd.endpoint_health")(url)
    if not health["healthy"]:
        return {"healthy": False, "why": health["error"]}
    status = _salt("ha_etcd.endpoint_status")(url)
    names = {member["id"]: member["name"] for member in _salt("ha_etcd.members")([url])}
    return {"healthy": True, "leader": names.get(status["leader"]), "raft_index": status["raft_index"],
            "members": sorted(names.values())}


def memcached_stats(address: str, port: int, timeout: float = 3) -> dict[str, str]:
    """
    memcached's ``stats`` at ``address``:``port``; raises when it does not answer.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_health.memcached_stats 10.10.10.51 11211
    """
    try:
        with socket.create_connection((address, int(port)), timeout=timeout) as connection:
            connection.sendall(b"stats\r\n")
            answer = b""
            while not answer.endswith(b"END\r\n"):
                chunk = connection.recv(65536)
                if not chunk:
                    break
                answer += chunk
    except OSError as exc:
        raise CommandExecutionError(f"memcached at {address}:{port} does not answer: {exc}") from None
    return {fields[1]: fields[2] for fields in (line.split(" ", 2) for line in answer.decode().splitlines())
            if len(fields) == 3 and fields[0] == "STAT"}


def _memcached() -> dict:
    node = _salt("ha_topology.memcached_node")()
    stats = memcached_stats(node["address"], node["port"])
    return {"uptime": int(stats.get("uptime", 0)), "connections": int(stats.get("curr_connections", 0))}


def _haproxy() -> dict:
    return {"listeners": {listener: {server: found["status"] for server, found in servers.items()}
                          for listener, servers in _salt("ha_haproxy.servers")().items()}}


def _services() -> dict:
    """Each unit of :py:func:`restart_steps` (once, in their order) with its state, from one ``systemctl is-active``."""
    units = list(dict.fromkeys(unit for step in restart_steps() for unit in step["units"]))
    # systemctl exits non-zero when a unit is not active: no failure here, each unit's state is on its line.
    result = __utils__["ha_kit.run"](  # noqa: F821 - Salt loader dunder
        __salt__, ["systemctl", "is-active", *units], timeout=10, what="systemctl is-active")  # noqa: F821
    states = result["stdout"].splitlines()
    if len(states) != len(units):
        raise CommandExecutionError(
            f"systemctl is-active printed {len(states)} states for {len(units)} units (exit {result['retcode']}): "
            f"{__utils__['ha_kit.tail'](result, 2) or 'no output'}")  # noqa: F821
    return {"units": dict(zip(units, states, strict=True))}


CONTROLLER_PARTS = {"pacemaker": lambda: _salt("ha_pacemaker.status")(), "galera": _galera,
                    "rabbitmq": _rabbitmq, "etcd": _etcd, "memcached": _memcached, "haproxy": _haproxy,
                    "services": _services}


def collect() -> dict:
    """
    This node's report for ``salt-run ha.status``: its ``roles``, chrony
    (``source``, ``stratum``, ``offset`` in seconds, ``leap`` status) and,
    on a controller, Pacemaker (its view of the cluster), Galera (local
    state, cluster size and uuid, Primary or not, last committed seqno),
    RabbitMQ (running nodes, partitions and alarms as this node sees them;
    the first running node also judges the queues), etcd (the local
    member's health, the leader it follows, its raft index and the member
    list), memcached (uptime, connections), HAProxy (every listener's
    servers as this node's HAProxy sees them) and its services (the state
    of every systemd unit of :py:func:`restart_steps`, ``active`` when it
    runs). A part that cannot be read is ``{"error": why}``.

    CLI Example:

    .. code-block:: bash

        salt '*' ha_health.collect
    """
    roles = _salt("ha_topology.roles")()
    probes = {"chrony": _chrony, **(CONTROLLER_PARTS if "controller" in roles else {})}
    return {"roles": roles, **_parts(probes, PART_TIMEOUT)}


def _parts(probes: dict[str, Callable[[], dict]], timeout: float) -> dict[str, dict]:
    """Every probe's part (:py:func:`_part`) at once; one not back within ``timeout`` seconds is an error."""
    pool = ThreadPoolExecutor(max_workers=len(probes))
    # Each thread in a copy of this call's context: what __salt__ resolves
    # to (Salt's loader) is a context variable, unset in a new thread.
    futures = {name: pool.submit(contextvars.copy_context().run, _part, probe) for name, probe in probes.items()}
    done, _ = wait(futures.values(), timeout=timeout)
    # A part left running ends at its command's own timeout; nothing waits for it.
    pool.shutdown(wait=False)
    return {name: future.result() if future in done else {"error": f"no answer within {timeout:g} s"}
            for name, future in futures.items()}


# --- the restart of one controller -------------------------------------------------


def _gate(what: str, probe: Callable[[], Any], timeout: float) -> Any:
    return __utils__["ha_kit.wait"](what, probe, timeout, 2)  # noqa: F821 - Salt loader dunder


def _rabbitmq_whole() -> dict:
    # Through __salt__: the probe runs in the toolkit's loader (ha_kit.wait).
    status = __salt__["ha_rabbitmq.cluster_status"](timeout=15)  # noqa: F821 - Salt loader dunder
    members = __salt__["ha_rabbitmq.members"](status)  # noqa: F821
    if status["running_nodes"] != members or status["partitions"]:
        raise CommandExecutionError(f"running {status['running_nodes']} of {members}, "
                                    f"partitions {status['partitions']}")
    return status


def _apis_answer() -> list[str]:
    apis = __salt__["ha_openstack.apis"](gate=True)  # noqa: F821 - Salt loader dunder
    silent = [api for api in apis if not __salt__["ha_openstack.answers"](__salt__["ha_openstack.node_url"](api))]  # noqa: F821
    if silent:
        raise CommandExecutionError(f"not up on this node (no answer, or 4xx/5xx): {', '.join(silent)}")
    return apis


def restart_steps() -> list[dict]:
    """
    What :py:func:`restart_services` restarts on this controller, in order,
    from the formula's map: each step's ``name``, its systemd ``units``
    (stopped in reverse order, then started in order) and what its health
    gate waits for. Its units are also those whose state :py:func:`collect`
    reports (``services``).

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_health.restart_steps
    """
    ha_map = _salt("ha_topology.formula_map")()
    return [
        {"name": "galera", "units": [ha_map["galera"]["service"]], "gate": "Synced in the Primary component"},
        {"name": "rabbitmq", "units": [ha_map["rabbitmq"]["service"], ha_map["rabbitmq"]["watchdog"]["unit"]],
         "gate": "every member running, no partition"},
        {"name": "etcd", "units": [ha_map["etcd"]["service"]], "gate": "every member healthy"},
        {"name": "memcached", "units": [ha_map["memcached"]["service"]], "gate": "answers"},
        {"name": "pacemaker", "units": [*ha_map["pacemaker"]["services"], ha_map["pacemaker"]["vip_guard"]["unit"]],
         "gate": "online in a quorate cluster"},
        {"name": "openstack", "units": _salt("ha_openstack.units")(), "gate": "the APIs answer on this node"},
    ]


def _gates(timeout: float) -> dict[str, Callable[[], Any]]:
    me = _me()
    memcached = _salt("ha_topology.memcached_node")()
    return {
        "galera": lambda: _salt("ha_galera.wait_synced")(timeout),
        "rabbitmq": lambda: _gate("RabbitMQ whole", _rabbitmq_whole, timeout),
        "etcd": lambda: _salt("ha_etcd.wait_whole")(timeout),
        "memcached": lambda: _gate("memcached answering", lambda: memcached_stats(memcached["address"],
                                                                                  memcached["port"]), timeout),
        "pacemaker": lambda: _salt("ha_pacemaker.online")([me], timeout),
        "openstack": lambda: _gate("the OpenStack APIs answering", _apis_answer, timeout),
    }


def _unit(step: str, action: str, unit: str) -> None:
    """Stop or start ``unit`` (Salt's service module); raise naming the step and the unit when it did not."""
    try:
        if _salt(f"service.{action}")(unit):
            return
        why = f"see journalctl -u {unit}"
    except CommandExecutionError as exc:
        # systemctl's own words (a masked unit, a failed start), without Salt's "ERROR: " and a final period.
        why = str(exc).removeprefix("ERROR: ").rstrip(".")
    raise CommandExecutionError(f"{step}: {unit} did not {action}: {why}")


def _steps(names: list[str] | None) -> list[dict]:
    """The :py:func:`restart_steps` named in ``names`` (all when None), in their order; an unknown name raises."""
    steps = restart_steps()
    unknown = sorted(set(names or []) - {step["name"] for step in steps})
    if unknown:
        raise CommandExecutionError(f"no such step: {', '.join(unknown)}; the steps are "
                                    + ", ".join(step["name"] for step in steps))
    return [step for step in steps if names is None or step["name"] in names]


def restart_services(timeout: float = GATE_TIMEOUT, steps: list[str] | None = None) -> dict:
    """
    Restart this controller's clustered and OpenStack services one
    component at a time (:py:func:`restart_steps`; ``steps``: only those
    named), each followed by its health gate (up to ``timeout`` seconds).
    Run it on a controller that is drained (in Pacemaker standby, out of
    the other HAProxies): the rolling restart does that first. Returns the
    steps done with their ``seconds``; raises at the first unit that does
    not start or gate that is not met, naming them.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_health.restart_services
        salt openstack-controller01 ha_health.restart_services steps='[openstack]'
    """
    chosen = _steps(steps)
    gates = _gates(timeout)
    done = []
    for step in chosen:
        started = time.monotonic()
        for unit in reversed(step["units"]):
            _unit(step["name"], "stop", unit)
        for unit in step["units"]:
            _unit(step["name"], "start", unit)
        try:
            gates[step["name"]]()
        except CommandExecutionError as exc:
            raise CommandExecutionError(f"{step['name']} restarted but not healthy: {exc}") from None
        done.append({"name": step["name"], "units": step["units"], "seconds": round(time.monotonic() - started, 1)})
    return {"restarted": done}


def retire_services(steps: list[str]) -> list[str]:
    """
    Stop and disable the units of the :py:func:`restart_steps` named in
    ``steps`` (``other``: HAProxy, the Galera health endpoint and pcsd), in
    the order given, on a controller that leaves the control plane
    (``salt-run state.orchestrate ha.remove_controller``), so that none of
    them starts again at its next boot. A unit already stopped and disabled
    is left alone. Returns the units retired.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller04 ha_health.retire_services '[openstack]'
    """
    ha_map = _salt("ha_topology.formula_map")()
    known = {step["name"]: step["units"] for step in _steps([name for name in steps if name != "other"])}
    known["other"] = [ha_map["haproxy"]["service"], f"{ha_map['galera']['clustercheck']['unit']}.socket",
                      f"{ha_map['galera']['clustercheck']['unit']}.service", ha_map["pacemaker"]["pcsd_service"]]
    retired = []
    for name in steps:
        for unit in reversed(known[name]):
            if _salt("service.status")(unit):
                _unit(name, "stop", unit)
            if _salt("service.enabled")(unit):
                _unit(name, "disable", unit)
            retired.append(unit)
    return retired
