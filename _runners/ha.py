"""
Day-2 operations of the control plane, on the master:

- ``salt-run ha.status``: one report of every node and component, with a
  verdict per component and for the whole (``healthy``, ``degraded``,
  ``down``); ``--out=json`` gives the same as data. The exit code is 0 when
  healthy, 1 when degraded, 2 when down.
- ``ha.require_healthy`` and ``ha.restart_controller``: the steps of
  ``salt-run state.orchestrate ha.rolling_restart``.
- ``ha.require_removable`` and ``ha.remove_controller``: the steps of
  ``salt-run state.orchestrate ha.remove_controller``, which takes a
  controller out of every cluster once the pillar no longer lists it.

The topology comes from the pillar as the master sees it (the orchestrations'
view); the nodes report on themselves (``ha_health.collect``) and
``ha_verdict`` judges.
"""

from __future__ import annotations

import importlib
import logging
import time
from typing import Any

import salt.client
import salt.loader
import salt.minion
import salt.pillar
from salt.exceptions import CommandExecutionError

# The formula's _utils, on the path while Salt loads this runner once
# salt-run saltutil.sync_all brought them to the master; reloaded
# (dependencies first) so that a synced change is used at once.
try:
    import ha_kit
    import ha_topology_pacemaker
    import ha_topology_rabbitmq
    import ha_verdict

    ha_kit = importlib.reload(ha_kit)
    ha_topology_pacemaker = importlib.reload(ha_topology_pacemaker)
    ha_topology_rabbitmq = importlib.reload(ha_topology_rabbitmq)
    ha_verdict = importlib.reload(ha_verdict)
except ImportError:
    ha_verdict = None

log = logging.getLogger(__name__)

__virtualname__ = "ha"
# How long the status waits for the nodes' reports (seconds): a node that
# has not answered by then is reported as not answering.
STATUS_TIMEOUT = 20
# The rolling restart's bounds (seconds): a drained controller's sessions
# through the other HAProxies end by themselves or are cut; the restart of
# its services (each with its own gate); the whole cluster healthy again.
DRAIN_TIMEOUT = 30
RESTART_TIMEOUT = 1800
HEALTHY_TIMEOUT = 300
# The removal's bounds (seconds): a cluster's members agreeing that one of
# them left; a retired component's units stopped (a Galera member's clean
# shutdown the longest).
LEFT_TIMEOUT = 180
RETIRE_TIMEOUT = 600


def __virtual__():
    if ha_verdict is None:
        return (False, "the formula's _utils are not on the master: run salt-run saltutil.sync_all")
    return __virtualname__


def _topology() -> dict:
    """
    What the runners need of the site, from the ``ha`` pillar as the master
    sees it: ``errors`` (the validation's) or the ``controllers``,
    ``computes`` and ``all`` nodes, the ``first`` controller, the ``vip``,
    each controller's RabbitMQ node name (``rabbitmq_names``), the
    ``served_listeners`` and the etcd members' client URLs
    (``etcd_endpoints``).
    """
    grains = salt.loader.grains(__opts__)  # noqa: F821 - Salt loader dunder
    pillar = salt.pillar.get_pillar(__opts__, grains, __opts__["id"], saltenv="base").compile_pillar()  # noqa: F821
    ha = pillar.get("ha")
    minion = salt.minion.MasterMinion(__opts__, whitelist=["ha_topology"])  # noqa: F821
    try:
        functions = minion.functions
        if "ha_topology.plan" not in functions:
            return {"errors": ["the formula's modules are not on the master: run salt-run saltutil.sync_all"]}
        plan = functions["ha_topology.plan"](ha=ha)
        if plan["errors"]:
            return plan
        return {
            **plan,
            "vip": str(ha["vip"]["address"]),
            "rabbitmq_names": {node: functions["ha_topology.rabbitmq_node"](minion_id=node, ha=ha)["node"]
                               for node in plan["controllers"]},
            "served_listeners": functions["ha_topology.served_listeners"](ha=ha),
            "etcd_endpoints": [member["client_url"]
                               for member in functions["ha_topology.etcd_members"](ha=ha).values()],
        }
    finally:
        minion.destroy()


def _client():
    return salt.client.get_local_client(__opts__["conf_file"])  # noqa: F821 - Salt loader dunder


def _ask(client, minions: list[str], fun: str, args: list | None = None, timeout: float = STATUS_TIMEOUT
         ) -> dict[str, Any]:
    """
    ``fun`` on every minion at once: each one's return, or why there is
    none. Bounded by ``timeout``: a minion still silent then (down, cut
    off, or stuck) is reported as not answering, never waited for longer.
    """
    answers: dict[str, Any] = {}
    deadline = time.monotonic() + timeout
    for ret in client.cmd_iter_no_block(minions, fun, args or [], tgt_type="list", timeout=timeout,
                                        full_return=True):
        for minion, data in (ret or {}).items():
            if data.get("retcode", 0) != 0:
                answers[minion] = f"{fun} failed: {data.get('ret')}"
            else:
                answers[minion] = data.get("ret")
        if len(answers) == len(minions) or time.monotonic() > deadline:
            break
        if not ret:
            time.sleep(0.2)
    for minion in minions:
        answers.setdefault(minion, f"no answer within {timeout:g} s")
    return answers


def _call(client, minion: str, fun: str, *args, timeout: float = 120, **kwargs) -> Any:
    """
    The toolkit's one call of a minion from the master (``ha_kit.call``),
    imported, not through ``__utils__``: the probes of ``_wait`` call it
    from the toolkit's loader, where this runner's dunders do not resolve.
    """
    return ha_kit.call(client, minion, fun, *args, timeout=timeout, **kwargs)


def _wait(what: str, probe, timeout: float, interval: float = 2) -> Any:
    """The toolkit's one poll loop (``ha_kit.wait``): a probe says why not yet by raising."""
    return __utils__["ha_kit.wait"](what, probe, timeout, interval)  # noqa: F821 - Salt loader dunder


def _report(topology: dict, timeout: float = STATUS_TIMEOUT) -> dict:
    """Every node's view (``ha_health.collect``) judged; ``topology`` is what :py:func:`_topology` returned."""
    if topology["errors"]:
        return {"verdict": ha_verdict.DOWN, "retcode": ha_verdict.EXIT_CODES[ha_verdict.DOWN],
                "errors": topology["errors"]}
    answers = _ask(_client(), topology["all"], "ha_health.collect", timeout=timeout)
    return ha_verdict.judge(answers, topology)


def status(timeout: float = STATUS_TIMEOUT) -> dict:
    """
    The control plane at a glance: the VIP's holder and, per component
    (nodes, Pacemaker, Galera, RabbitMQ, etcd, memcached, HAProxy as the
    VIP holder sees it, the systemd units the formula runs on each
    controller, chrony), a verdict, a summary, each node's state and the
    problems; then the verdict of the whole. A node that does not
    answer within ``timeout`` seconds is reported as such. Exit code: 0
    healthy, 1 degraded, 2 down.

    CLI Example:

    .. code-block:: bash

        salt-run ha.status
        salt-run ha.status --out=json
    """
    report = _report(_topology(), float(timeout))
    if report["retcode"]:
        __context__["retcode"] = report["retcode"]  # noqa: F821 - Salt loader dunder
    return {"outputter": "ha_status", "data": report}


def _problems(report: dict) -> str:
    if "errors" in report:
        return "; ".join(report["errors"])
    return "; ".join(f"{name}: {', '.join(part['problems']) or part['summary']}"
                     for name, part in report["components"].items() if part["verdict"] != "healthy")


def _refused(comment: str, **extra: Any) -> dict:
    """A runner's failure as the orchestration's salt.runner reads it: result False, exit code 1, why."""
    __context__["retcode"] = 1  # noqa: F821 - Salt loader dunder
    return {"result": False, "retcode": 1, **extra, "comment": comment}


def require_healthy(timeout: float = 0) -> dict:
    """
    Succeed when ``ha.status`` says healthy (with ``timeout``: once it says
    so within that many seconds); otherwise fail with what is wrong. The
    rolling restart's precheck and its gate between two controllers.

    CLI Example:

    .. code-block:: bash

        salt-run ha.require_healthy
    """
    return _require_healthy(_topology(), float(timeout))


def _require_healthy(topology: dict, timeout: float) -> dict:
    # The topology is read once: each poll asks the nodes only.
    reports: list[dict] = []

    def probe() -> bool:
        reports.append(_report(topology))
        return reports[-1]["verdict"] == "healthy"

    try:
        _wait("a healthy control plane", probe, timeout, 5)
    except CommandExecutionError:
        return _refused(f"the control plane is {reports[-1]['verdict']}: {_problems(reports[-1])}")
    return {"result": True, "retcode": 0, "comment": "every component is healthy",
            "vip_holder": reports[-1]["vip_holder"]}


def _reason(exc: Exception, node: str) -> str:
    """What went wrong, once: without the node's name that the comment starts with, Salt's "ERROR: " and a final
    period."""
    text = str(exc).removeprefix(f"{node}: ")
    return text.replace(" failed: ERROR: ", " failed: ").rstrip(".")


def _pacemaker_view(client, node: str) -> dict:
    return _call(client, node, "ha_pacemaker.status", timeout=60)


def _drain(client, node: str, others: list[str], done: list[str], timeline: dict[str, float]) -> None:
    """
    Take ``node`` out of service: Pacemaker standby (the VIP and its HAProxy
    leave it), its servers out of rotation in the ``others``' HAProxies and
    their sessions given ``DRAIN_TIMEOUT`` seconds to end, then cut. Each
    step is added to ``done`` and ``timeline`` once it ended.
    """
    _call(client, node, "ha_pacemaker.standby", node, True, timeout=180)
    _wait(f"the VIP and HAProxy off {node}", lambda: all(
        node not in where for where in _pacemaker_view(client, others[0])["resources"].values()), 120)
    done.append("standby")
    timeline["standby"] = time.time()
    # maint, not drain: a drained server still takes the clients that a
    # stick table pins to it (the Galera listener's), maint takes none.
    # The sessions it has continue until they end or are cut below.
    for other in others:
        _call(client, other, "ha_haproxy.set_state", node, "maint")
    done.append("drained")
    timeline["drained"] = time.time()
    try:
        _wait(f"the sessions of {node} ended", lambda: all(
            _call(client, other, "ha_haproxy.sessions", node) == 0 for other in others), DRAIN_TIMEOUT)
    except CommandExecutionError:
        for other in others:
            _call(client, other, "ha_haproxy.shutdown_sessions", node)


def _failed(node: str, exc: Exception, done: list[str], then: str, **extra: Any) -> dict:
    """A day-2 step's failure: the node, the reason, what was ``done`` and what ``then`` holds."""
    return _refused(f"{node}: {_reason(exc, node)}. Left as it is after: {', '.join(done) or 'nothing'}; {then}",
                    node=node, done=done, **extra)


def restart_controller(node: str, steps: list[str] | None = None) -> dict:
    """
    Restart every clustered and OpenStack service of the controller
    ``node`` (``steps``: only the components named, see
    ``ha_health.restart_steps``) without an outage:

    1. drain it: Pacemaker standby (the VIP leaves it, its HAProxy stops),
       its servers out of rotation (``maint``) in every other HAProxy and
       their sessions given ``DRAIN_TIMEOUT`` seconds to end (then cut);
    2. restart its services one component at a time, each with a health
       gate (``ha_health.restart_services``);
    3. back in service: standby off, HAProxy running there again, its
       servers ready in the other HAProxies; a removed controller that
       Pacemaker lists again purged (``forgotten``,
       ``ha_pacemaker.forget_stale``);
    4. the whole control plane healthy (``ha.status``) within
       ``HEALTHY_TIMEOUT`` seconds.

    Returns the units restarted, the wall-clock ``timeline`` of the steps
    (epoch seconds when each ended) and the ``seconds`` it took. The first
    step that fails stops it, naming the node and the reason; the node is
    left as that step left it, the other controllers untouched.

    CLI Example:

    .. code-block:: bash

        salt-run ha.restart_controller openstack-controller01
        salt-run ha.restart_controller openstack-controller01 steps='[openstack]'
    """
    done: list[str] = []
    timeline: dict[str, float] = {}
    try:
        plan = _topology()
        if plan["errors"] or node not in plan["controllers"]:
            raise CommandExecutionError(
                f"not a controller of the pillar: {plan.get('controllers') or plan['errors']}")
        others = [n for n in plan["controllers"] if n != node]
        client = _client()
        started = time.monotonic()
        _drain(client, node, others, done, timeline)
        restarted = _call(client, node, "ha_health.restart_services", steps=steps, timeout=RESTART_TIMEOUT)
        done.append("restarted")
        timeline["restarted"] = time.time()
        _call(client, node, "ha_pacemaker.standby", node, False, timeout=180)
        _wait(f"HAProxy running on {node} again", lambda: node in _pacemaker_view(client, node)["resources"].get(
            ha_topology_pacemaker.HAPROXY_CLONE, []), 120)
        for other in others:
            _call(client, other, "ha_haproxy.set_state", node, "ready")
        done.append("in service")
        timeline["in service"] = time.time()
        # A controller removed before that Pacemaker wrote back into the CIB
        # (offline, in corosync's node list no more) is no member and holds
        # nothing: purged, not taken for a degraded cluster.
        forgotten = _call(client, node, "ha_pacemaker.forget_stale")
        healthy = _require_healthy(plan, HEALTHY_TIMEOUT)
        if not healthy["result"]:
            raise CommandExecutionError(healthy["comment"])
    except CommandExecutionError as exc:
        return _failed(node, exc, done, "the other controllers are untouched.", timeline=timeline)
    timeline["healthy"] = time.time()
    return {"result": True, "retcode": 0, "node": node, "restarted": restarted["restarted"], "timeline": timeline,
            "seconds": round(time.monotonic() - started, 1), **({"forgotten": forgotten} if forgotten else {})}


def _names(controllers: str | list[str]) -> list[str]:
    """One minion id or a list of them, as a list."""
    return [controllers] if isinstance(controllers, str) else list(controllers)


def _with(topology: dict, leaving: list[str]) -> dict:
    """The topology as it was while the ``leaving`` controllers still belonged to it: the status judges them too."""
    return {**topology, "controllers": topology["controllers"] + leaving,
            "all": topology["controllers"] + leaving + topology["computes"],
            "rabbitmq_names": {**topology["rabbitmq_names"],
                               **{node: ha_topology_rabbitmq.rabbit_name(node) for node in leaving}}}


def _removable(topology: dict, leaving: list[str]) -> None:
    """Raise, saying why, unless the ``leaving`` controllers can be taken out of the pillar's site."""
    if topology["errors"]:
        raise CommandExecutionError(f"the pillar is not valid: {'; '.join(topology['errors'])}")
    if not leaving:
        raise CommandExecutionError("name the controllers to remove: salt-run state.orchestrate "
                                    "ha.remove_controller pillar='{\"remove\": [NODE]}'")
    listed = [node for node in leaving if node in topology["all"]]
    if listed:
        # The pillar is the site as it will be: the remaining controllers'
        # configuration (gcomm:// lists, HAProxy servers, etcd endpoints)
        # comes from it, and the validation keeps it at three controllers.
        raise CommandExecutionError(f"{', '.join(listed)} still listed in ha:nodes: remove it from the pillar "
                                    "first (at least three controllers stay), then run the removal again")


def require_removable(controllers: str | list[str], timeout: float = 0) -> dict:
    """
    The removal's precheck: succeed when the ``controllers`` (a minion id
    or a list) are no longer listed in the pillar, at least three
    controllers stay (the validation), and the control plane with them
    still in it, answering, is healthy (``ha.status``; with ``timeout``:
    once it says so within that many seconds); otherwise fail with what is
    wrong. Nothing changes.

    CLI Example:

    .. code-block:: bash

        salt-run ha.require_removable openstack-controller04
    """
    leaving = _names(controllers)
    try:
        topology = _topology()
        _removable(topology, leaving)
    except CommandExecutionError as exc:
        return _refused(str(exc))
    return _require_healthy(_with(topology, leaving), float(timeout))


def remove_controller(node: str) -> dict:
    """
    Take the controller ``node``, which the pillar no longer lists, out of
    every cluster, one at a time, each keeping its quorum and each followed
    by a gate: the cluster without ``node``, every member that is left
    healthy (judged on the live cluster, not on the pillar, since other
    controllers may still be leaving):

    1. out of service: Pacemaker standby (the VIP leaves it), its servers
       out of the other HAProxies, its sessions ended; its OpenStack
       services stopped;
    2. Pacemaker: ``pcs cluster node remove`` on the first controller
       (corosync reloads its node list on the others; quorum is counted
       without it);
    3. RabbitMQ: stopped there, ``forget_cluster_node`` on the first, its
       database deleted there;
    4. Galera: a clean shutdown there (the cluster shrinks by one, still
       Primary, every remaining member Synced);
    5. etcd: stopped there, ``member remove`` on the first, its data
       deleted there;
    6. memcached, Pacemaker's own units, HAProxy, the Galera health endpoint
       and pcsd stopped there.

    Every unit it stops is also disabled, so the node does not come back
    into a cluster at its next boot. A step already done (a run that
    stopped half way, run again) is skipped. The remaining controllers'
    configuration is the deploy's (the orchestration runs it next).
    Returns the steps ``done`` and the ``seconds`` it took; the first step
    that fails stops it, naming the node, the reason and what was done.

    CLI Example:

    .. code-block:: bash

        salt-run ha.remove_controller openstack-controller04
    """
    done: list[str] = []
    started = time.monotonic()
    # A removal function waits until its cluster agrees: its call may take
    # the command's own bound and then that wait.
    left = 2 * LEFT_TIMEOUT + 120
    try:
        topology = _topology()
        _removable(topology, [node])
        rest, first = topology["controllers"], topology["first"]
        client = _client()
        members = _pacemaker_view(client, first)["nodes"]
        if node in members:
            # Every other member's HAProxy, also a controller that leaves
            # after this one (it may hold the VIP), the first one's first.
            _drain(client, node, [first] + sorted(set(members) - {node, first}), done, {})
        _call(client, node, "ha_health.retire_services", ["openstack"], timeout=RETIRE_TIMEOUT)
        done.append("OpenStack stopped")
        if _call(client, first, "ha_pacemaker.node_remove", node, LEFT_TIMEOUT, timeout=left):
            done.append("out of Pacemaker")
        _call(client, node, "ha_health.retire_services", ["rabbitmq"], timeout=RETIRE_TIMEOUT)
        if _call(client, first, "ha_rabbitmq.forget", ha_topology_rabbitmq.rabbit_name(node), LEFT_TIMEOUT,
                 timeout=left):
            done.append("out of RabbitMQ")
        _call(client, node, "ha_rabbitmq.remove_data")
        if _remove_galera(client, node, first, rest):
            done.append("out of Galera")
        _call(client, node, "ha_health.retire_services", ["etcd"], timeout=RETIRE_TIMEOUT)
        if _call(client, first, "ha_etcd.member_remove", topology["etcd_endpoints"], node, LEFT_TIMEOUT,
                 timeout=left):
            done.append("out of etcd")
        _call(client, node, "ha_etcd.remove_data")
        _call(client, node, "ha_health.retire_services", ["memcached", "pacemaker", "other"], timeout=RETIRE_TIMEOUT)
        done.append("stopped")
    except CommandExecutionError as exc:
        return _failed(node, exc, done, f"once the cause is fixed, salt-run ha.remove_controller {node} "
                                        "goes on from there.")
    return {"result": True, "retcode": 0, "node": node, "done": done,
            "seconds": round(time.monotonic() - started, 1)}


def _remove_galera(client, node: str, first: str, rest: list[str]) -> bool:
    """
    MariaDB on ``node`` shut down cleanly, so that it leaves the cluster
    (stopped and disabled), then wait until every controller of ``rest``
    is Synced in a Primary component one member smaller than the ``first``
    controller saw before (as large, when ``node`` was not running: it had
    left already). Returns whether it was running.
    """
    running = _call(client, node, "ha_galera.status", timeout=60).get("running")
    size = (_call(client, first, "ha_galera.status", timeout=60).get("wsrep") or {}).get("cluster_size", 0)
    if not size:
        raise CommandExecutionError(f"Galera: {first} is no running member; {node} is left as it is")
    _call(client, node, "ha_health.retire_services", ["galera"], timeout=RETIRE_TIMEOUT)
    # Not running: left already (a removal run again); the rest must agree all the same.
    expected = size - 1 if running else size

    def shrunk() -> bool:
        for other in rest:
            seen = _call(client, other, "ha_galera.status", timeout=60)
            wsrep = seen.get("wsrep") or {}
            if not seen.get("synced") or wsrep.get("cluster_size") != expected:
                raise CommandExecutionError(f"{other}: {wsrep.get('local_state_comment') or 'not running'}, "
                                            f"size {wsrep.get('cluster_size')}, expected {expected}")
        return True

    _wait(f"Galera without {node}", shrunk, LEFT_TIMEOUT, 2)
    return bool(running)
