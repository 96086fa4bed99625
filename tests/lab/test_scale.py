"""
Scale-out and scale-in of the control plane (issue 15), while a client on
the compute node writes to Galera and asks keystone for tokens through the
VIP:

- two controllers added to the pillar of the deployed lab, then ha.deploy:
  every cluster takes them in (Galera, RabbitMQ, etcd, Pacemaker, HAProxy)
  without restarting a member that ran before and without moving the VIP;
- the same two taken out of the pillar, then the removal orchestration:
  every cluster reports exactly the three that stay, the leaving nodes run
  and start at boot none of the formula's units, and a deploy after it
  changes nothing.

It runs after every other lab test and the audit, before the teardown.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.lab.conftest import CLIENT_NODE, CONTROLLERS, cluster_events, slowest_steps, vip_holder, wait_healthy
from tests.lab.test_operations import CLIENT, unit_starts
from tests.lab.test_pacemaker import VIP, ha_pillar, in_node, last_line, stop

pytestmark = [pytest.mark.lab, pytest.mark.lab_scale]

GROWN = 5
# Units whose restart a new controller causes by design: each reads the
# list of controllers only at its start, and none serves a client. The
# RabbitMQ self-repair judges partitions by the peers it knows.
RESTARTED_BY_DESIGN = {"ha-rabbitmq-watchdog"}


def failed_below(changes) -> list[str]:
    """The comments of the failed states or runner returns nested in a step's ``changes`` (a salt.state step
    holds every minion's states there), so that a failure names its cause, not only the minion."""
    if not isinstance(changes, dict):
        return []
    if changes.get("result") is False and isinstance(changes.get("comment"), str):
        return [f"{changes.get('__id__', '')} {changes['comment']}".strip()]
    return [why for value in changes.values() for why in failed_below(value)]


def failures(steps: dict) -> dict[str, str]:
    """The orchestration's failed steps, each with the causes found below it."""
    return {step_id: " | ".join([step["comment"], *failed_below(step.get("changes"))[:5]])
            for step_id, step in steps.items() if not step["result"]}


def assert_members(report: dict, controllers: list[str]) -> None:
    """In ``ha.status``'s ``report``, every controller sees exactly ``controllers`` in Galera (Synced), RabbitMQ
    (running), etcd (healthy) and Pacemaker (online, quorate), and every HAProxy listener of the VIP holder has
    exactly them as servers."""
    rabbits = sorted(f"rabbit@{node}" for node in controllers)
    for node in controllers:
        seen = report["reports"][node]
        assert seen["galera"]["state"] == "Synced" and seen["galera"]["size"] == len(controllers), (node, seen)
        assert sorted(seen["rabbitmq"]["running_nodes"]) == rabbits, (node, seen["rabbitmq"])
        assert seen["etcd"]["healthy"] and sorted(seen["etcd"]["members"]) == sorted(controllers), (node, seen)
        pacemaker = seen["pacemaker"]
        assert pacemaker["quorate"] and sorted(pacemaker["nodes"]) == sorted(controllers), (node, pacemaker)
        assert all(pacemaker["nodes"].values()), (node, pacemaker)
    listeners = report["reports"][report["vip_holder"]]["haproxy"]["listeners"]
    other = {name: sorted(servers) for name, servers in listeners.items() if sorted(servers) != sorted(controllers)}
    # The healthy report says the served listeners have them UP.
    assert listeners and not other, f"listeners whose servers are not {controllers}: {other}"


def deploy_changes_nothing(lab, measure, what: str) -> None:
    started = time.monotonic()
    code, steps = lab.orchestrate()
    changed = {step_id: step["changes"] for step_id, step in steps.items() if step["changes"]}
    measure(f"ha.deploy {what}: {time.monotonic() - started:.0f} s, {len(changed)} steps changed; "
            f"slowest steps: {slowest_steps(steps)}")
    assert code == 0 and not changed, json.dumps(changed, indent=1)[:4000]


def controllers_of(lab) -> list[str]:
    return [node for node, state in lab.status().items() if state["role"] == "controller"]


def test_two_controllers_join_through_the_pillar_and_a_deploy(sql_client, writer_account, measure):
    lab = sql_client
    # Nothing done blind: a problem left by an earlier test is named here, not blamed on the scale-out.
    wait_healthy(lab, "a healthy report before the scale-out", 120)
    holder = vip_holder(lab)
    vip_starts = len(cluster_events(lab)["vip"])
    before = unit_starts(lab)
    secrets = f"{writer_account}\n{ha_pillar()['openstack']['admin_password']}"
    client = in_node(CLIENT_NODE, CLIENT, VIP, secret=secrets)
    try:
        started = time.monotonic()
        lab.run("up", "--controllers", str(GROWN), timeout=900)
        booted = time.monotonic() - started
        grown = controllers_of(lab)
        assert grown[:3] == CONTROLLERS and len(grown) == GROWN, grown
        added = grown[3:]
        synced = lab.run("salt-run", "saltutil.sync_all", check=False, timeout=300)
        assert synced.returncode == 0, synced.stdout + synced.stderr
        code, steps = lab.orchestrate()
        took = time.monotonic() - started - booted
        result = json.loads(last_line(client, 60))
    finally:
        stop(client)
    failed = failures(steps)
    assert code == 0 and not failed, json.dumps(failed, indent=1)
    stored = {int(line) for line in lab.exec(CONTROLLERS[0], "mysql", "-N", "-B", input=(
        "SET SESSION wsrep_sync_wait = 1; SELECT id FROM hatest.acked;")).stdout.split()}
    lost = sorted(set(result["acked"]) - stored)
    after = unit_starts(lab)
    restarted = sorted(f"{node} {unit}" for (node, unit), value in after.items()
                       if value != before[node, unit] and unit not in RESTARTED_BY_DESIGN)
    events = cluster_events(lab)
    measure(f"scale-out 3 -> {GROWN} controllers: nodes booted in {booted:.0f} s, ha.deploy {took:.0f} s; "
            f"{len(result['acked'])} writes acknowledged, {len(lost)} lost, {len(result['failed_writes'])} failed "
            f"writes, {result['tokens']} tokens, {len(result['failed_tokens'])} failed token requests; "
            f"restarted on the first three: {restarted or 'none'}; VIP starts {len(events['vip']) - vip_starts}; "
            f"slowest steps: {slowest_steps(steps)}")
    assert lost == [], f"acknowledged writes lost: {lost[:20]}"
    assert restarted == [], f"restarted by the scale-out: {restarted}"
    assert vip_holder(lab, online=grown) == holder and len(events["vip"]) == vip_starts, events["vip"][vip_starts:]

    report, _ = wait_healthy(lab, "a healthy report of five controllers", 120)
    assert_members(report, grown)
    # A second deploy of the grown lab changes nothing: the joins are done.
    deploy_changes_nothing(lab, measure, "of the grown lab again")
    assert all(node in report["reports"] for node in added)


# The formula's units that a removed controller must neither run nor start at boot.
RETIRED_UNITS = ("mariadb", "rabbitmq-server", "ha-rabbitmq-watchdog", "etcd", "memcached", "corosync", "pacemaker",
                 "ha-vip-guard", "haproxy", "ha-clustercheck.socket", "pcsd", "keystone", "glance-api",
                 "placement-api", "nova-api", "nova-api-metadata", "nova-conductor", "nova-scheduler",
                 "nova-novncproxy")


def acknowledged_and_lost(lab, result: dict) -> tuple[int, list[int]]:
    stored = {int(line) for line in lab.exec(CONTROLLERS[0], "mysql", "-N", "-B", input=(
        "SET SESSION wsrep_sync_wait = 1; SELECT id FROM hatest.acked;")).stdout.split()}
    return len(result["acked"]), sorted(set(result["acked"]) - stored)


def test_two_controllers_leave_through_the_removal_orchestration(sql_client, writer_account, measure):
    lab = sql_client
    leaving = controllers_of(lab)[len(CONTROLLERS):]
    assert len(leaving) == GROWN - len(CONTROLLERS), leaving
    secrets = f"{writer_account}\n{ha_pillar()['openstack']['admin_password']}"
    client = in_node(CLIENT_NODE, CLIENT, VIP, secret=secrets)
    try:
        for node in leaving:
            lab.run("unlist", node)
        started = time.monotonic()
        code, steps = lab.orchestrate(f"pillar={json.dumps({'remove': leaving})}", sls="ha.remove_controller")
        took = time.monotonic() - started
        result = json.loads(last_line(client, 60))
    finally:
        stop(client)
    failed = failures(steps)
    assert code == 0 and not failed, json.dumps(failed, indent=1)[:4000]
    acked, lost = acknowledged_and_lost(lab, result)
    per_node = ", ".join(f"{node} {steps[f'ha-remove-{node}']['changes']['return']['seconds']} s"
                         for node in leaving)
    measure(f"scale-in {GROWN} -> {len(CONTROLLERS)} controllers: ha.remove_controller {took:.0f} s "
            f"(out of the clusters: {per_node}); "
            f"{acked} writes acknowledged, {len(lost)} lost, {len(result['failed_writes'])} failed writes, "
            f"{result['tokens']} tokens, {len(result['failed_tokens'])} failed token requests")
    assert lost == [], f"acknowledged writes lost: {lost[:20]}"
    for node in leaving:
        active = lab.exec(node, "systemctl", "is-active", *RETIRED_UNITS, check=False).stdout.split()
        enabled = lab.exec(node, "systemctl", "is-enabled", *RETIRED_UNITS, check=False).stdout.split()
        running = [unit for unit, state in zip(RETIRED_UNITS, active, strict=True) if state == "active"]
        at_boot = [unit for unit, state in zip(RETIRED_UNITS, enabled, strict=True) if state == "enabled"]
        assert not running and not at_boot, (node, running, at_boot)
    for node in leaving:
        lab.run("remove", node)

    report, _ = wait_healthy(lab, "a healthy report of three controllers", 120)
    assert_members(report, CONTROLLERS)
    # A deploy after the removal changes nothing: the remaining nodes were configured without the two.
    deploy_changes_nothing(lab, measure, "after the scale-in")
