"""
Day-2 operations of the control plane, on the master:

- ``salt-run ha.status``: one report of every node and component, with a
  verdict per component and for the whole (``healthy``, ``degraded``,
  ``down``); ``--out=json`` gives the same as data. The exit code is 0 when
  healthy, 1 when degraded, 2 when down.
- ``ha.require_healthy`` and ``ha.restart_controller``: the steps of
  ``salt-run state.orchestrate ha.rolling_restart``.

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
    import ha_verdict

    ha_kit = importlib.reload(ha_kit)
    ha_topology_pacemaker = importlib.reload(ha_topology_pacemaker)
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


def __virtual__():
    if ha_verdict is None:
        return (False, "the formula's _utils are not on the master: run salt-run saltutil.sync_all")
    return __virtualname__


def _topology() -> dict:
    """
    What the runners need of the site, from the ``ha`` pillar as the master
    sees it: ``errors`` (the validation's) or the ``controllers``,
    ``computes`` and ``all`` nodes, the ``vip``, each controller's RabbitMQ
    node name (``rabbitmq_names``) and the ``served_listeners``.
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
    VIP holder sees it, chrony), a verdict, a summary, each node's state
    and the problems; then the verdict of the whole. A node that does not
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
        __context__["retcode"] = 1  # noqa: F821 - Salt loader dunder
        return {"result": False, "retcode": 1,
                "comment": f"the control plane is {reports[-1]['verdict']}: {_problems(reports[-1])}"}
    return {"result": True, "retcode": 0, "comment": "every component is healthy",
            "vip_holder": reports[-1]["vip_holder"]}


def _reason(exc: Exception, node: str) -> str:
    """What went wrong, once: without the node's name that the comment starts with, Salt's "ERROR: " and a final
    period."""
    text = str(exc).removeprefix(f"{node}: ")
    return text.replace(" failed: ERROR: ", " failed: ").rstrip(".")


def _pacemaker_view(client, node: str) -> dict:
    return _call(client, node, "ha_pacemaker.status", timeout=60)


def restart_controller(node: str) -> dict:
    """
    Restart every clustered and OpenStack service of the controller
    ``node`` without an outage:

    1. drain it: Pacemaker standby (the VIP leaves it, its HAProxy stops),
       its servers out of rotation (``maint``) in every other HAProxy and
       their sessions given ``DRAIN_TIMEOUT`` seconds to end (then cut);
    2. restart its services one component at a time, each with a health
       gate (``ha_health.restart_services``);
    3. back in service: standby off, HAProxy running there again, its
       servers ready in the other HAProxies;
    4. the whole control plane healthy (``ha.status``) within
       ``HEALTHY_TIMEOUT`` seconds.

    Returns the units restarted, the wall-clock ``timeline`` of the steps
    (epoch seconds when each ended) and the ``seconds`` it took. The first
    step that fails stops it, naming the node and the reason; the node is
    left as that step left it, the other controllers untouched.

    CLI Example:

    .. code-block:: bash

        salt-run ha.restart_controller openstack-controller01
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
        restarted = _call(client, node, "ha_health.restart_services", timeout=RESTART_TIMEOUT)
        done.append("restarted")
        timeline["restarted"] = time.time()
        _call(client, node, "ha_pacemaker.standby", node, False, timeout=180)
        _wait(f"HAProxy running on {node} again", lambda: node in _pacemaker_view(client, node)["resources"].get(
            ha_topology_pacemaker.HAPROXY_CLONE, []), 120)
        for other in others:
            _call(client, other, "ha_haproxy.set_state", node, "ready")
        done.append("in service")
        timeline["in service"] = time.time()
        healthy = _require_healthy(plan, HEALTHY_TIMEOUT)
        if not healthy["result"]:
            raise CommandExecutionError(healthy["comment"])
    except CommandExecutionError as exc:
        __context__["retcode"] = 1  # noqa: F821 - Salt loader dunder
        return {"result": False, "retcode": 1, "node": node, "done": done, "timeline": timeline,
                "comment": f"{node}: {_reason(exc, node)}. Left as it is after: {', '.join(done) or 'nothing'}; "
                           "the other controllers are untouched."}
    timeline["healthy"] = time.time()
    return {"result": True, "retcode": 0, "node": node, "restarted": restarted["restarted"], "timeline": timeline,
            "seconds": round(time.monotonic() - started, 1)}
