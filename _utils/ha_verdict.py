"""
The verdicts of ``salt-run ha.status``: what every node reported of itself
(``ha_health.collect``) judged against the site's topology, per component
and for the whole control plane. Pure Python on plain data; no Salt dunders.

A verdict is ``healthy``, ``degraded`` (still serving, redundancy lost) or
``down`` (not serving). A node that did not answer is a problem of every
component it takes part in: what it would have said is unknown, so nothing
it runs counts as healthy.
"""

from __future__ import annotations

from typing import Any

from ha_topology_pacemaker import HAPROXY_CLONE, VIP_RESOURCE

HEALTHY, DEGRADED, DOWN = "healthy", "degraded", "down"
RANK = {HEALTHY: 0, DEGRADED: 1, DOWN: 2}
# The runner's exit code per verdict of the whole, for monitoring.
EXIT_CODES = {HEALTHY: 0, DEGRADED: 1, DOWN: 2}
# The components in the order the report shows them; every controller runs
# all but chrony, which runs on every node.
CONTROLLER_COMPONENTS = ("pacemaker", "galera", "rabbitmq", "etcd", "memcached", "haproxy", "services")
COMPONENTS = ("nodes", *CONTROLLER_COMPONENTS, "chrony")
# A node whose clock is further than this from its source (seconds) is
# degraded: the clusters' timeouts and keystone's tokens assume agreeing
# clocks.
MAX_CLOCK_OFFSET = 0.5


def worst(verdicts: list[str]) -> str:
    """The worst of ``verdicts`` (healthy for none)."""
    return max(verdicts, key=RANK.__getitem__, default=HEALTHY)


def _result(verdict: str, summary: str, problems: list[str], cells: dict[str, str]) -> dict:
    # A problem makes a healthy verdict degraded: nothing reported as wrong is healthy.
    if problems and verdict == HEALTHY:
        verdict = DEGRADED
    return {"verdict": verdict, "summary": summary, "problems": problems, "cells": cells}


def _views(answers: dict[str, Any], nodes: list[str], component: str, problems: list[str],
           cells: dict[str, str]) -> dict[str, dict]:
    """Each node's report of ``component``; a node without one is a problem and its cell says why."""
    views = {}
    for node in nodes:
        answer = answers.get(node, "not asked")
        section = answer.get(component) if isinstance(answer, dict) else None
        if not isinstance(answer, dict):
            why = str(answer)
        elif not isinstance(section, dict):
            why = f"reported no {component}"
        elif "error" in section:
            why = str(section["error"])
        else:
            views[node] = section
            continue
        problems.append(f"{node}: {why}")
        cells[node] = "no answer" if not isinstance(answer, dict) else "error"
    return views


def _nodes(answers: dict[str, Any], controllers: list[str], computes: list[str]) -> dict:
    problems, cells = [], {}
    for node in controllers + computes:
        if isinstance(answers.get(node), dict):
            cells[node] = "answers"
        else:
            cells[node] = "no answer"
            problems.append(f"{node}: {answers.get(node, 'not asked')}")
    answering = [n for n in controllers if isinstance(answers.get(n), dict)]
    verdict = DOWN if not answering else HEALTHY
    summary = f"{len(controllers + computes) - len(problems)} of {len(controllers + computes)} nodes answer"
    return _result(verdict, summary, problems, cells)


def _pacemaker(answers: dict[str, Any], controllers: list[str]) -> dict:
    problems: list[str] = []
    cells: dict[str, str] = {}
    views = _views(answers, controllers, "pacemaker", problems, cells)
    for node, view in views.items():
        cells[node] = "online" if view.get("nodes", {}).get(node) else "offline"
        if not view.get("quorate"):
            cells[node] += ", no quorum"
            problems.append(f"{node}: sees no quorum")
    # The cluster as a quorate node sees it; the designated controller's view first.
    quorate = sorted((v for v in views.values() if v.get("quorate")),
                     key=lambda v: (v.get("dc") not in views, -sum(v.get("nodes", {}).values())))
    if not quorate:
        return _result(DOWN, "no node sees a quorate cluster", problems, cells)
    view = quorate[0]
    online = sorted(n for n, up in view.get("nodes", {}).items() if up)
    for node in controllers:
        if node not in online:
            problems.append(f"{node}: offline")
    for node in sorted(set(view.get("nodes", {})) - set(controllers)):
        # Offline: most likely a removed controller that Pacemaker wrote back from a peer cache.
        offline = "" if view["nodes"][node] else (
            " (offline: a removed controller listed again, which ha.deploy purges once corosync lists it no more)")
        problems.append(f"{node}: a cluster node that is not a controller of the pillar{offline}")
    verdict = HEALTHY
    vip = view.get("resources", {}).get(VIP_RESOURCE, [])
    if len(vip) != 1:
        verdict = DOWN
        problems.append(f"{VIP_RESOURCE} runs on {len(vip)} nodes: {', '.join(vip) or 'none'}")
    clone = view.get("resources", {}).get(HAPROXY_CLONE, [])
    if not clone:
        verdict = DOWN
    for node in controllers:
        if node not in clone:
            problems.append(f"{HAPROXY_CLONE} not started on {node}")
    for action in view.get("failed_actions", []):
        problems.append(f"failed action: {action}")
    summary = (f"quorate, {len(online)} of {len(controllers)} online, DC {view.get('dc')}, "
               f"{VIP_RESOURCE} on {', '.join(vip) or 'no node'}, {HAPROXY_CLONE} on {len(clone)}")
    result = _result(verdict, summary, problems, cells)
    result["vip_holder"] = vip[0] if len(vip) == 1 else None
    return result


def _galera(answers: dict[str, Any], controllers: list[str]) -> dict:
    problems: list[str] = []
    cells: dict[str, str] = {}
    views = _views(answers, controllers, "galera", problems, cells)
    synced = []
    for node, view in views.items():
        if not view.get("running"):
            cells[node] = "stopped"
            problems.append(f"{node}: MariaDB is not running")
            continue
        primary = "Primary" if view.get("primary") else "non-Primary"
        cells[node] = f"{view.get('state') or '?'} {primary} size {view.get('size')} seqno {view.get('seqno')}"
        if view.get("synced"):
            synced.append(node)
        else:
            problems.append(f"{node}: {view.get('state') or 'no state'}, {primary}")
        if view.get("size") != len(controllers):
            problems.append(f"{node}: cluster size {view.get('size')}, expected {len(controllers)}")
    uuids = sorted({views[n].get("uuid") for n in synced})
    if not synced:
        return _result(DOWN, "no node is Synced in a Primary component", problems, cells)
    if len(uuids) > 1:
        problems.append(f"Synced nodes of different clusters: {', '.join(uuids)}")
        return _result(DOWN, "two clusters", problems, cells)
    return _result(HEALTHY, f"{len(synced)} of {len(controllers)} Synced, cluster {uuids[0]}", problems, cells)


def _rabbitmq(answers: dict[str, Any], controllers: list[str], names: dict[str, str]) -> dict:
    problems: list[str] = []
    cells: dict[str, str] = {}
    views = _views(answers, controllers, "rabbitmq", problems, cells)
    expected = sorted(names[n] for n in controllers)
    largest: list[str] = []
    for node, view in views.items():
        running = sorted(view.get("running_nodes", []))
        cells[node] = f"{len(running)} of {len(expected)} running"
        if names[node] not in running:
            cells[node] = "not running"
            problems.append(f"{node}: {names[node]} is not running")
            continue
        if running != expected:
            missing = sorted(set(expected) - set(running))
            problems.append(f"{node}: sees {', '.join(missing) or 'no node'} missing"
                            + (f" and {', '.join(sorted(set(running) - set(expected)))} too many"
                               if set(running) - set(expected) else ""))
        partitions = sorted(view.get("partitions", {}).items())
        if partitions:
            cells[node] += ", partitioned"
        for seen, unseen in partitions:
            problems.append(f"{node}: partition: {seen} cannot see {', '.join(unseen)}")
        for alarm in view.get("alarms", []):
            problems.append(f"{node}: alarm {alarm}")
        if len(running) > len(largest):
            largest = running
    if len(largest) * 2 <= len(expected):
        return _result(DOWN, f"no majority of the {len(expected)} nodes runs together", problems, cells)
    listed = [v["queues"] for v in views.values() if isinstance(v.get("queues"), dict)]
    queues = ""
    if listed and "error" in listed[0]:
        problems.append(f"the queues could not be listed: {listed[0]['error']}")
    elif listed:
        queues = f", {listed[0].get('total', 0)} queues"
        for unhealthy in listed[0].get("unhealthy", []):
            problems.append(f"queue {unhealthy}")
    else:
        problems.append("no running node listed the queues")
    return _result(HEALTHY, f"{len(largest)} of {len(expected)} running together{queues}", problems, cells)


def _etcd(answers: dict[str, Any], controllers: list[str]) -> dict:
    problems: list[str] = []
    cells: dict[str, str] = {}
    views = _views(answers, controllers, "etcd", problems, cells)
    healthy, leaders = [], set()
    for node, view in views.items():
        if not view.get("healthy"):
            cells[node] = "unhealthy"
            problems.append(f"{node}: unhealthy" + (f": {view['why']}" if view.get("why") else ""))
            continue
        healthy.append(node)
        leaders.add(view.get("leader"))
        cells[node] = f"healthy, raft index {view.get('raft_index')}"
        if view.get("leader") == node:
            cells[node] += ", leader"
        members = sorted(view.get("members", []))
        if members != sorted(controllers):
            problems.append(f"{node}: the member list is {', '.join(members)}, "
                            f"expected {', '.join(sorted(controllers))}")
    majority = len(controllers) // 2 + 1
    if len(healthy) < majority:
        return _result(DOWN, f"{len(healthy)} of {len(controllers)} members healthy, a quorum needs {majority}",
                       problems, cells)
    if len(leaders) != 1 or None in leaders:
        problems.append(f"the healthy members name the leaders {sorted(str(leader) for leader in leaders)}")
    leader = next(iter(leaders)) if len(leaders) == 1 else None
    return _result(HEALTHY, f"{len(healthy)} of {len(controllers)} members healthy, leader {leader}", problems, cells)


def _memcached(answers: dict[str, Any], controllers: list[str]) -> dict:
    problems: list[str] = []
    cells: dict[str, str] = {}
    views = _views(answers, controllers, "memcached", problems, cells)
    for node, view in views.items():
        cells[node] = f"up {view.get('uptime')} s, {view.get('connections')} connections"
    verdict = HEALTHY if views else DOWN
    return _result(verdict, f"{len(views)} of {len(controllers)} answer", problems, cells)


def _haproxy(answers: dict[str, Any], controllers: list[str], vip_holder: str | None, served: list[str]) -> dict:
    problems: list[str] = []
    cells: dict[str, str] = {}
    views = _views(answers, controllers, "haproxy", problems, cells)
    for node, view in views.items():
        listeners = view.get("listeners", {})
        up = sum(1 for servers in listeners.values() for status in servers.values() if status == "UP")
        cells[node] = f"{up} of {sum(len(s) for s in listeners.values())} servers UP"
    if vip_holder not in views:
        why = "no node holds the VIP" if vip_holder is None else f"no view from the VIP holder {vip_holder}"
        return _result(DOWN, why, problems, cells)
    verdict = HEALTHY
    listeners = views[vip_holder].get("listeners", {})
    for listener in served:
        if listener not in listeners:
            verdict = DOWN
            problems.append(f"{vip_holder}: HAProxy has no listener {listener}")
    # The listeners of services deployed some other way are shown, not judged.
    others = sorted(set(listeners) - set(served))
    for listener, servers in sorted(listeners.items()):
        if listener in others:
            continue
        if "UP" not in servers.values():
            verdict = DOWN
        for node in controllers:
            status = servers.get(node)
            if status != "UP":
                problems.append(f"{listener}/{node}: {status or 'not a server'}")
    summary = f"{len(listeners) - len(others)} listeners as the VIP holder {vip_holder} sees them"
    if others:
        summary += f" (not judged, no service of the formula behind them: {', '.join(others)})"
    return _result(verdict, summary, problems, cells)


def _services(answers: dict[str, Any], controllers: list[str]) -> dict:
    problems: list[str] = []
    cells: dict[str, str] = {}
    views = _views(answers, controllers, "services", problems, cells)
    whole, active = [], set()
    for node, view in views.items():
        units = view.get("units", {})
        stopped = [f"{unit} {state}" for unit, state in units.items() if state != "active"]
        active.update(unit for unit, state in units.items() if state == "active")
        cells[node] = f"{len(units) - len(stopped)} of {len(units)} units active"
        if stopped:
            problems.append(f"{node}: {', '.join(stopped)}")
        else:
            whole.append(node)
    # A unit active on none of the controllers that answered: what it runs is not served.
    nowhere = list(dict.fromkeys(unit for view in views.values() for unit in view.get("units", {})
                                 if unit not in active))
    verdict = DOWN if nowhere or not views else HEALTHY
    summary = (f"{', '.join(nowhere)} active on no controller" if nowhere
               else f"{len(whole)} of {len(controllers)} run every unit")
    return _result(verdict, summary, problems, cells)


def _chrony(answers: dict[str, Any], nodes: list[str]) -> dict:
    problems: list[str] = []
    cells: dict[str, str] = {}
    views = _views(answers, nodes, "chrony", problems, cells)
    for node, view in views.items():
        offset = view.get("offset", 0.0)
        cells[node] = f"{view.get('source') or 'its own clock'} {offset:+.6f} s"
        if view.get("leap") != "Normal":
            problems.append(f"{node}: {view.get('leap')}")
        if abs(offset) > MAX_CLOCK_OFFSET:
            problems.append(f"{node}: {offset:+.3f} s from its source (more than {MAX_CLOCK_OFFSET} s)")
    verdict = HEALTHY if views else DOWN
    return _result(verdict, f"{len(views)} of {len(nodes)} nodes keep time", problems, cells)


def judge(answers: dict[str, Any], topology: dict) -> dict:
    """
    The status report: ``answers`` maps every node of the pillar to its
    ``ha_health.collect`` report, or to why there is none ("no answer
    within 20 s"); ``topology`` has the ``controllers`` and ``computes``,
    each controller's RabbitMQ node name (``rabbitmq_names``), the
    ``served_listeners`` (``ha_topology.served_listeners``) and the ``vip``
    address. Returns ``verdict`` (of the whole: the worst component's),
    ``retcode`` (``EXIT_CODES``), ``vip`` and ``vip_holder``,
    ``components`` (name to ``verdict``, one-line ``summary``,
    ``problems`` and a ``cells`` text per node) in ``COMPONENTS`` order,
    and ``reports``, what the nodes said.
    """
    controllers, computes = topology["controllers"], topology["computes"]
    components = {"nodes": _nodes(answers, controllers, computes)}
    pacemaker = components["pacemaker"] = _pacemaker(answers, controllers)
    components["galera"] = _galera(answers, controllers)
    components["rabbitmq"] = _rabbitmq(answers, controllers, topology["rabbitmq_names"])
    components["etcd"] = _etcd(answers, controllers)
    components["memcached"] = _memcached(answers, controllers)
    components["haproxy"] = _haproxy(answers, controllers, pacemaker.get("vip_holder"), topology["served_listeners"])
    components["services"] = _services(answers, controllers)
    components["chrony"] = _chrony(answers, controllers + computes)
    # Each component's nodes in the pillar's order, whichever answered first.
    for part in components.values():
        part["cells"] = {node: part["cells"][node] for node in controllers + computes if node in part["cells"]}
    verdict = worst([c["verdict"] for c in components.values()])
    return {
        "verdict": verdict,
        "retcode": EXIT_CODES[verdict],
        "vip": topology["vip"],
        "vip_holder": pacemaker.get("vip_holder"),
        "controllers": controllers,
        "computes": computes,
        "components": components,
        "reports": answers,
    }
