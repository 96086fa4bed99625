"""Unit tests of _utils/ha_verdict.py: the lab's healthy ha.status report judged again, then broken one way at a
time."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import ha_verdict
import pytest

DATA = Path(__file__).parent / "data"
# salt-run ha.status --out=json on the lab, every component healthy.
HEALTHY = json.loads((DATA / "status-healthy.json").read_text())
C01, C02, C03 = CONTROLLERS = [f"openstack-controller0{i}" for i in (1, 2, 3)]
COMPUTE = "openstack-compute01"
SILENT = "no answer within 20 s"
UUID = "925882f2-ee48-11f1-8ec3-8a497de72470"
# ha_topology.served_listeners of pillar.example (see test_ha_topology_module).
SERVED = ["galera", "glance_api", "keystone_public", "nova_api", "nova_metadata", "nova_vncproxy", "placement_api",
          "rabbitmq"]
TOPOLOGY = {"controllers": CONTROLLERS, "computes": [COMPUTE], "vip": "10.10.10.69",
            "rabbitmq_names": {node: f"rabbit@{node}" for node in CONTROLLERS}, "served_listeners": SERVED}
NON_CHRONY = ("nodes", "pacemaker", "galera", "rabbitmq", "etcd", "memcached", "haproxy", "services")


@pytest.fixture
def answers() -> dict:
    """Every node's ha_health.collect answer of the healthy lab, to break."""
    return copy.deepcopy(HEALTHY["reports"])


def judge(answers: dict) -> dict:
    return ha_verdict.judge(answers, TOPOLOGY)


def verdicts(report: dict) -> dict[str, str]:
    return {name: part["verdict"] for name, part in report["components"].items()}


def only(report: dict, name: str, verdict: str) -> None:
    """``name`` has ``verdict`` and every other component is healthy."""
    expected = dict.fromkeys(ha_verdict.COMPONENTS, ha_verdict.HEALTHY)
    expected[name] = verdict
    assert verdicts(report) == expected


def part(answers: dict, node: str, component: str) -> dict:
    return answers[node][component]


# --- the whole -------------------------------------------------------------------------


def test_the_lab_report_is_judged_again_as_it_was():
    assert judge(copy.deepcopy(HEALTHY["reports"])) == HEALTHY


def test_components_come_in_the_report_order(answers):
    report = judge(answers)
    assert list(report["components"]) == list(ha_verdict.COMPONENTS) == [
        "nodes", "pacemaker", "galera", "rabbitmq", "etcd", "memcached", "haproxy", "services", "chrony"]
    assert report["reports"] is answers


@pytest.mark.parametrize(("given", "expected"), [
    ([], "healthy"), (["healthy"], "healthy"), (["healthy", "degraded", "healthy"], "degraded"),
    (["down", "healthy", "degraded"], "down"), (["degraded", "down"], "down"),
])
def test_worst(given, expected):
    assert ha_verdict.worst(given) == expected


def test_exit_codes():
    assert ha_verdict.EXIT_CODES == {"healthy": 0, "degraded": 1, "down": 2}


def test_a_crashed_controller_makes_every_component_it_runs_degraded(answers):
    answers[C03] = SILENT
    report = judge(answers)
    assert verdicts(report) == dict.fromkeys(ha_verdict.COMPONENTS, "degraded")
    assert report["verdict"] == "degraded" and report["retcode"] == 1
    for name in (*NON_CHRONY, "chrony"):
        component = report["components"][name]
        assert f"{C03}: {SILENT}" in component["problems"], name
        assert component["cells"][C03] == "no answer", name
    assert report["components"]["nodes"]["summary"] == "3 of 4 nodes answer"
    assert report["components"]["galera"]["summary"] == f"2 of 3 Synced, cluster {UUID}"
    assert report["components"]["memcached"]["summary"] == "2 of 3 answer"
    assert report["vip_holder"] == C01


def crash(answers: dict, node: str) -> None:
    """``node`` down as the survivors see it a little later: the VIP, HAProxy and the clusters moved on."""
    answers[node] = SILENT
    survivors = [n for n in CONTROLLERS if n != node]
    for other in survivors:
        pacemaker = part(answers, other, "pacemaker")
        pacemaker["nodes"][node] = False
        pacemaker["dc"] = survivors[0]
        pacemaker["resources"] = {"vip": [survivors[0]], "lb-haproxy-clone": survivors}
        part(answers, other, "galera")["size"] = 2
        rabbitmq = part(answers, other, "rabbitmq")
        rabbitmq["running_nodes"] = [f"rabbit@{n}" for n in survivors]
        rabbitmq.pop("queues", None)
        part(answers, other, "etcd")["leader"] = survivors[0]
        for servers in part(answers, other, "haproxy")["listeners"].values():
            servers[node] = "DOWN"
    part(answers, survivors[0], "rabbitmq")["queues"] = {"total": 14, "unhealthy": []}


def test_the_vip_holder_crashed_and_the_survivors_took_over(answers):
    crash(answers, C01)
    report = judge(answers)
    assert verdicts(report) == dict.fromkeys(ha_verdict.COMPONENTS, "degraded")
    assert report["retcode"] == 1 and report["vip_holder"] == C02
    pacemaker = report["components"]["pacemaker"]
    assert pacemaker["problems"] == [f"{C01}: {SILENT}", f"{C01}: offline", f"lb-haproxy-clone not started on {C01}"]
    assert pacemaker["summary"] == f"quorate, 2 of 3 online, DC {C02}, vip on {C02}, lb-haproxy-clone on 2"
    assert pacemaker["cells"] == {C01: "no answer", C02: "online", C03: "online"}
    assert report["components"]["galera"]["problems"] == [
        f"{C01}: {SILENT}", f"{C02}: cluster size 2, expected 3", f"{C03}: cluster size 2, expected 3"]
    rabbitmq = report["components"]["rabbitmq"]
    assert rabbitmq["problems"] == [f"{C01}: {SILENT}", f"{C02}: sees rabbit@{C01} missing",
                                    f"{C03}: sees rabbit@{C01} missing"]
    assert rabbitmq["summary"] == "2 of 3 running together, 14 queues"
    assert rabbitmq["cells"] == {C01: "no answer", C02: "2 of 3 running", C03: "2 of 3 running"}
    assert report["components"]["etcd"]["summary"] == f"2 of 3 members healthy, leader {C02}"
    haproxy = report["components"]["haproxy"]
    assert haproxy["problems"] == [f"{C01}: {SILENT}", *(f"{listener}/{C01}: DOWN" for listener in SERVED)]
    assert haproxy["summary"].startswith(f"8 listeners as the VIP holder {C02} sees them (not judged")
    assert haproxy["cells"] == {C01: "no answer", C02: "16 of 33 servers UP", C03: "16 of 33 servers UP"}


def test_a_silent_vip_holder_leaves_no_view_of_haproxy(answers):
    # The survivors still name it (the report came before Pacemaker moved the VIP).
    answers[C01] = SILENT
    report = judge(answers)
    haproxy = report["components"]["haproxy"]
    assert haproxy["verdict"] == "down" and haproxy["summary"] == f"no view from the VIP holder {C01}"
    assert report["verdict"] == "down" and report["retcode"] == 2
    # C01 listed the queues: nobody did.
    assert report["components"]["rabbitmq"]["problems"] == [f"{C01}: {SILENT}", "no running node listed the queues"]


def test_every_controller_silent(answers):
    for node in CONTROLLERS:
        answers[node] = SILENT
    report = judge(answers)
    assert verdicts(report) == {**dict.fromkeys(NON_CHRONY, "down"), "chrony": "degraded"}
    assert report["components"]["nodes"]["summary"] == "1 of 4 nodes answer"
    assert report["components"]["pacemaker"]["summary"] == "no node sees a quorate cluster"
    assert report["components"]["haproxy"]["summary"] == "no node holds the VIP"
    assert report["components"]["etcd"]["summary"] == "0 of 3 members healthy, a quorum needs 2"
    assert report["vip_holder"] is None and report["retcode"] == 2


def test_a_silent_compute_is_a_problem_of_the_nodes_and_of_chrony_only(answers):
    answers[COMPUTE] = "ha_health.collect failed: 'ha_health.collect' is not available."
    report = judge(answers)
    assert verdicts(report) == {**dict.fromkeys(ha_verdict.COMPONENTS, "healthy"), "nodes": "degraded",
                                "chrony": "degraded"}
    assert report["components"]["nodes"]["problems"] == [
        f"{COMPUTE}: ha_health.collect failed: 'ha_health.collect' is not available."]
    assert report["components"]["chrony"]["cells"][COMPUTE] == "no answer"


def test_a_node_not_asked(answers):
    del answers[COMPUTE]
    report = judge(answers)
    assert report["components"]["nodes"]["problems"] == [f"{COMPUTE}: not asked"]
    assert report["components"]["chrony"]["problems"] == [f"{COMPUTE}: not asked"]


def test_a_part_that_failed_is_named_with_its_error(answers):
    answers[C02]["galera"] = {"error": "MariaDB does not answer: (2002, 'no socket')"}
    report = judge(answers)
    only(report, "galera", "degraded")
    galera = report["components"]["galera"]
    assert galera["problems"] == [f"{C02}: MariaDB does not answer: (2002, 'no socket')"]
    assert galera["cells"][C02] == "error"


def test_a_part_missing_from_an_answer(answers):
    del answers[C02]["etcd"]
    report = judge(answers)
    only(report, "etcd", "degraded")
    assert report["components"]["etcd"]["problems"] == [f"{C02}: reported no etcd"]
    assert report["components"]["etcd"]["cells"][C02] == "error"


# --- Pacemaker ---------------------------------------------------------------------------


def test_no_quorate_view_is_pacemaker_down(answers):
    for node in CONTROLLERS:
        part(answers, node, "pacemaker")["quorate"] = False
    report = judge(answers)
    pacemaker = report["components"]["pacemaker"]
    assert pacemaker["verdict"] == "down" and pacemaker["summary"] == "no node sees a quorate cluster"
    assert pacemaker["problems"] == [f"{node}: sees no quorum" for node in CONTROLLERS]
    assert pacemaker["cells"] == dict.fromkeys(CONTROLLERS, "online, no quorum")
    assert "vip_holder" not in pacemaker and report["vip_holder"] is None
    assert report["components"]["haproxy"]["verdict"] == "down"
    assert report["verdict"] == "down"


def test_one_node_without_quorum(answers):
    part(answers, C03, "pacemaker").update(quorate=False, nodes={C01: False, C02: False, C03: True})
    report = judge(answers)
    only(report, "pacemaker", "degraded")
    assert report["components"]["pacemaker"]["problems"] == [f"{C03}: sees no quorum"]
    assert report["components"]["pacemaker"]["cells"][C03] == "online, no quorum"


@pytest.mark.parametrize(("where", "problem"), [
    ([C01, C02], f"vip runs on 2 nodes: {C01}, {C02}"),
    ([], "vip runs on 0 nodes: none"),
])
def test_the_vip_on_other_than_one_node_is_pacemaker_down(answers, where, problem):
    for node in CONTROLLERS:
        part(answers, node, "pacemaker")["resources"]["vip"] = where
    report = judge(answers)
    pacemaker = report["components"]["pacemaker"]
    assert pacemaker["verdict"] == "down" and pacemaker["problems"] == [problem]
    assert pacemaker["vip_holder"] is None and report["vip_holder"] is None
    assert report["components"]["haproxy"]["summary"] == "no node holds the VIP"
    assert pacemaker["summary"] == (f"quorate, 3 of 3 online, DC {C01}, vip on {', '.join(where) or 'no node'}, "
                                    "lb-haproxy-clone on 3")


def test_haproxy_started_nowhere_is_pacemaker_down(answers):
    for node in CONTROLLERS:
        part(answers, node, "pacemaker")["resources"]["lb-haproxy-clone"] = []
    pacemaker = judge(answers)["components"]["pacemaker"]
    assert pacemaker["verdict"] == "down"
    assert pacemaker["problems"] == [f"lb-haproxy-clone not started on {node}" for node in CONTROLLERS]


def test_failed_actions_are_problems(answers):
    action = f"lb-haproxy_monitor_10000 on {C02}: complete (exit not running)"
    part(answers, C01, "pacemaker")["failed_actions"] = [action]
    report = judge(answers)
    only(report, "pacemaker", "degraded")
    assert report["components"]["pacemaker"]["problems"] == [f"failed action: {action}"]


def test_a_cluster_node_that_is_not_a_controller(answers):
    part(answers, C01, "pacemaker")["nodes"]["node1"] = True
    report = judge(answers)
    only(report, "pacemaker", "degraded")
    assert report["components"]["pacemaker"]["problems"] == [
        "node1: a cluster node that is not a controller of the pillar"]
    part(answers, C01, "pacemaker")["nodes"]["node1"] = False
    assert judge(answers)["components"]["pacemaker"]["problems"] == [
        "node1: a cluster node that is not a controller of the pillar (offline: a removed controller listed again, "
        "which ha.deploy purges once corosync lists it no more)"]


def test_the_view_of_the_node_that_sees_the_most_online_is_judged(answers):
    # C01 (the DC) sees C03 offline and the VIP on C02; the others see all three online.
    part(answers, C01, "pacemaker").update(nodes={C01: True, C02: True, C03: False},
                                           resources={"vip": [C02], "lb-haproxy-clone": [C01, C02]})
    report = judge(answers)
    assert report["vip_holder"] == C01
    assert report["components"]["pacemaker"]["cells"] == {C01: "online", C02: "online", C03: "online"}


def test_the_view_of_a_node_whose_dc_answered_comes_first(answers):
    # C02 names a DC that did not answer and more nodes online: C03's view, whose DC answered, is judged.
    part(answers, C02, "pacemaker").update(dc="openstack-controller09",
                                           nodes={**dict.fromkeys(CONTROLLERS, True), "openstack-controller09": True},
                                           resources={"vip": [C02], "lb-haproxy-clone": CONTROLLERS})
    report = judge(answers)
    assert report["vip_holder"] == C01
    assert report["components"]["pacemaker"]["verdict"] == "healthy"


# --- Galera ------------------------------------------------------------------------------


def test_no_synced_node_is_galera_down(answers):
    for node in CONTROLLERS:
        part(answers, node, "galera").update(state="Initialized", primary=False, synced=False, size=1)
    galera = judge(answers)["components"]["galera"]
    assert galera["verdict"] == "down" and galera["summary"] == "no node is Synced in a Primary component"
    assert galera["problems"][:2] == [f"{C01}: Initialized, non-Primary", f"{C01}: cluster size 1, expected 3"]
    assert galera["cells"][C01] == "Initialized non-Primary size 1 seqno 1162"


def test_two_cluster_uuids_is_galera_down(answers):
    other = "11111111-2222-3333-4444-555555555555"
    part(answers, C03, "galera")["uuid"] = other
    galera = judge(answers)["components"]["galera"]
    assert galera["verdict"] == "down" and galera["summary"] == "two clusters"
    assert galera["problems"] == [f"Synced nodes of different clusters: {other}, {UUID}"]


def test_a_stopped_member(answers):
    part(answers, C02, "galera").update(running=False, state="", size=0, uuid="", primary=False, synced=False)
    report = judge(answers)
    only(report, "galera", "degraded")
    galera = report["components"]["galera"]
    assert galera["problems"] == [f"{C02}: MariaDB is not running"]
    assert galera["cells"][C02] == "stopped"
    assert galera["summary"] == f"2 of 3 Synced, cluster {UUID}"


def test_a_donor_is_degraded(answers):
    part(answers, C03, "galera").update(state="Donor/Desynced", synced=False)
    report = judge(answers)
    only(report, "galera", "degraded")
    assert report["components"]["galera"]["problems"] == [f"{C03}: Donor/Desynced, Primary"]
    assert report["components"]["galera"]["cells"][C03] == "Donor/Desynced Primary size 3 seqno 1162"


# --- RabbitMQ ----------------------------------------------------------------------------


def test_rabbitmq_below_a_majority_is_down(answers):
    for node in CONTROLLERS:
        part(answers, node, "rabbitmq")["running_nodes"] = [f"rabbit@{node}"]
    rabbitmq = judge(answers)["components"]["rabbitmq"]
    assert rabbitmq["verdict"] == "down" and rabbitmq["summary"] == "no majority of the 3 nodes runs together"
    assert rabbitmq["cells"] == dict.fromkeys(CONTROLLERS, "1 of 3 running")
    assert rabbitmq["problems"][0] == f"{C01}: sees rabbit@{C02}, rabbit@{C03} missing"


def test_a_partitioned_node(answers):
    part(answers, C03, "rabbitmq").update(running_nodes=[f"rabbit@{C03}"],
                                          partitions={f"rabbit@{C03}": [f"rabbit@{C01}", f"rabbit@{C02}"]})
    report = judge(answers)
    only(report, "rabbitmq", "degraded")
    rabbitmq = report["components"]["rabbitmq"]
    assert rabbitmq["problems"] == [f"{C03}: sees rabbit@{C01}, rabbit@{C02} missing",
                                    f"{C03}: partition: rabbit@{C03} cannot see rabbit@{C01}, rabbit@{C02}"]
    assert rabbitmq["cells"][C03] == "1 of 3 running, partitioned"
    assert rabbitmq["summary"] == "3 of 3 running together, 14 queues"


def test_a_node_whose_rabbitmq_does_not_run(answers):
    part(answers, C02, "rabbitmq")["running_nodes"] = []
    report = judge(answers)
    only(report, "rabbitmq", "degraded")
    assert report["components"]["rabbitmq"]["cells"][C02] == "not running"
    assert report["components"]["rabbitmq"]["problems"] == [f"{C02}: rabbit@{C02} is not running"]


def test_an_unexpected_rabbitmq_node(answers):
    part(answers, C02, "rabbitmq")["running_nodes"].append("rabbit@stray")
    assert judge(answers)["components"]["rabbitmq"]["problems"] == [f"{C02}: sees no node missing and rabbit@stray "
                                                                    "too many"]


def test_alarms_and_unhealthy_queues(answers):
    part(answers, C02, "rabbitmq")["alarms"] = ["memory"]
    part(answers, C01, "rabbitmq")["queues"] = {"total": 14, "unhealthy": ["conductor: 2 of 3 replicas"]}
    report = judge(answers)
    only(report, "rabbitmq", "degraded")
    assert report["components"]["rabbitmq"]["problems"] == [f"{C02}: alarm memory", "queue conductor: 2 of 3 replicas"]


def test_queues_that_could_not_be_listed(answers):
    part(answers, C01, "rabbitmq")["queues"] = {"error": "rabbitmqctl list_queues failed: timeout"}
    report = judge(answers)
    only(report, "rabbitmq", "degraded")
    assert report["components"]["rabbitmq"]["problems"] == [
        "the queues could not be listed: rabbitmqctl list_queues failed: timeout"]
    assert report["components"]["rabbitmq"]["summary"] == "3 of 3 running together"


# --- etcd --------------------------------------------------------------------------------


def test_etcd_below_a_majority_is_down(answers):
    for node in (C02, C03):
        answers[node]["etcd"] = {"healthy": False, "why": "context deadline exceeded"}
    etcd = judge(answers)["components"]["etcd"]
    assert etcd["verdict"] == "down" and etcd["summary"] == "1 of 3 members healthy, a quorum needs 2"
    assert etcd["problems"] == [f"{C02}: unhealthy: context deadline exceeded",
                                f"{C03}: unhealthy: context deadline exceeded"]
    assert etcd["cells"] == {C01: "healthy, raft index 12, leader", C02: "unhealthy", C03: "unhealthy"}


def test_one_unhealthy_member_without_a_reason(answers):
    answers[C03]["etcd"] = {"healthy": False}
    report = judge(answers)
    only(report, "etcd", "degraded")
    assert report["components"]["etcd"]["problems"] == [f"{C03}: unhealthy"]


def test_members_that_disagree_on_the_leader(answers):
    part(answers, C03, "etcd")["leader"] = C03
    report = judge(answers)
    only(report, "etcd", "degraded")
    etcd = report["components"]["etcd"]
    assert etcd["problems"] == [f"the healthy members name the leaders ['{C01}', '{C03}']"]
    assert etcd["summary"] == "3 of 3 members healthy, leader None"
    assert etcd["cells"][C03] == "healthy, raft index 12, leader"


def test_no_leader(answers):
    for node in CONTROLLERS:
        part(answers, node, "etcd")["leader"] = None
    report = judge(answers)
    only(report, "etcd", "degraded")
    assert report["components"]["etcd"]["problems"] == ["the healthy members name the leaders ['None']"]


def test_a_member_list_that_is_not_the_controllers(answers):
    part(answers, C02, "etcd")["members"] = [C01, C02]
    report = judge(answers)
    only(report, "etcd", "degraded")
    assert report["components"]["etcd"]["problems"] == [
        f"{C02}: the member list is {C01}, {C02}, expected {C01}, {C02}, {C03}"]


# --- memcached ---------------------------------------------------------------------------


def test_memcached(answers):
    answers[C02]["memcached"] = {"error": "memcached at 10.10.10.52:11211 does not answer: [Errno 111]"}
    report = judge(answers)
    only(report, "memcached", "degraded")
    assert report["components"]["memcached"]["summary"] == "2 of 3 answer"
    for node in CONTROLLERS:
        answers[node]["memcached"] = {"error": "down"}
    assert judge(answers)["components"]["memcached"]["verdict"] == "down"


# --- HAProxy -----------------------------------------------------------------------------


def test_unserved_listeners_all_down_are_not_judged(answers):
    listeners = part(answers, C01, "haproxy")["listeners"]
    assert set(listeners["horizon"].values()) == {"DOWN"}
    report = judge(answers)
    assert report["components"]["haproxy"]["verdict"] == "healthy"
    assert report["components"]["haproxy"]["summary"].endswith(
        "(not judged, no service of the formula behind them: cinder_api, horizon, neutron_api)")


def test_a_served_listener_without_an_up_server_is_haproxy_down(answers):
    part(answers, C01, "haproxy")["listeners"]["keystone_public"] = dict.fromkeys(CONTROLLERS, "DOWN")
    report = judge(answers)
    only(report, "haproxy", "down")
    assert report["components"]["haproxy"]["problems"] == [f"keystone_public/{node}: DOWN" for node in CONTROLLERS]
    assert report["retcode"] == 2


def test_only_the_vip_holders_view_is_judged(answers):
    part(answers, C02, "haproxy")["listeners"]["keystone_public"] = dict.fromkeys(CONTROLLERS, "DOWN")
    report = judge(answers)
    assert report["verdict"] == "healthy"
    assert report["components"]["haproxy"]["cells"][C02] == "21 of 33 servers UP"


def test_a_drained_server_is_degraded(answers):
    for listener in part(answers, C01, "haproxy")["listeners"].values():
        listener[C02] = "DRAIN"
    report = judge(answers)
    only(report, "haproxy", "degraded")
    assert report["components"]["haproxy"]["problems"] == [f"{listener}/{C02}: DRAIN" for listener in SERVED]
    assert report["components"]["haproxy"]["cells"][C01] == "16 of 33 servers UP"


def test_a_missing_served_listener_and_a_missing_server(answers):
    listeners = part(answers, C01, "haproxy")["listeners"]
    del listeners["nova_api"]
    del listeners["glance_api"][C03]
    report = judge(answers)
    only(report, "haproxy", "down")
    assert report["components"]["haproxy"]["problems"] == [f"{C01}: HAProxy has no listener nova_api",
                                                           f"glance_api/{C03}: not a server"]


def test_the_vip_holders_haproxy_not_read(answers):
    answers[C01]["haproxy"] = {"error": "HAProxy's admin socket /run/haproxy/admin.sock does not answer"}
    haproxy = judge(answers)["components"]["haproxy"]
    assert haproxy["verdict"] == "down" and haproxy["summary"] == f"no view from the VIP holder {C01}"
    assert haproxy["problems"] == [f"{C01}: HAProxy's admin socket /run/haproxy/admin.sock does not answer"]


# --- services ----------------------------------------------------------------------------


def units(answers: dict, node: str) -> dict:
    return part(answers, node, "services")["units"]


def test_every_unit_active_on_every_controller(answers):
    services = judge(answers)["components"]["services"]
    assert services["verdict"] == "healthy" and services["problems"] == []
    assert services["summary"] == "3 of 3 run every unit"
    assert services["cells"] == dict.fromkeys(CONTROLLERS, "16 of 16 units active")


def test_a_unit_that_systemd_gave_up_on_one_controller_is_degraded(answers):
    # The lab's defect: after a power loss of every controller, nova-conductor on one of them stayed failed.
    units(answers, C02)["nova-conductor"] = "failed"
    report = judge(answers)
    only(report, "services", "degraded")
    services = report["components"]["services"]
    assert services["problems"] == [f"{C02}: nova-conductor failed"]
    assert services["summary"] == "2 of 3 run every unit"
    assert services["cells"] == {C01: "16 of 16 units active", C02: "15 of 16 units active",
                                 C03: "16 of 16 units active"}
    assert report["verdict"] == "degraded" and report["retcode"] == 1


def test_the_units_of_one_controller_on_one_line(answers):
    units(answers, C01).update({"nova-conductor": "failed", "nova-scheduler": "activating"})
    units(answers, C03)["memcached"] = "inactive"
    report = judge(answers)
    only(report, "services", "degraded")
    services = report["components"]["services"]
    assert services["problems"] == [f"{C01}: nova-conductor failed, nova-scheduler activating",
                                    f"{C03}: memcached inactive"]
    assert services["summary"] == "1 of 3 run every unit"
    assert services["cells"][C01] == "14 of 16 units active"


def test_units_stopped_on_every_controller_but_each_active_somewhere_is_degraded(answers):
    for node, unit in zip(CONTROLLERS, ("nova-conductor", "nova-scheduler", "keystone"), strict=True):
        units(answers, node)[unit] = "failed"
    services = judge(answers)["components"]["services"]
    assert services["verdict"] == "degraded" and services["summary"] == "0 of 3 run every unit"


def test_a_unit_active_on_no_controller_is_down(answers):
    for node in CONTROLLERS:
        units(answers, node)["nova-conductor"] = "failed"
    units(answers, C03)["nova-scheduler"] = "inactive"
    report = judge(answers)
    only(report, "services", "down")
    services = report["components"]["services"]
    assert services["summary"] == "nova-conductor active on no controller"
    assert services["problems"] == [f"{C01}: nova-conductor failed", f"{C02}: nova-conductor failed",
                                    f"{C03}: nova-conductor failed, nova-scheduler inactive"]
    assert report["verdict"] == "down" and report["retcode"] == 2


def test_a_unit_active_only_on_a_silent_controller_is_down(answers):
    answers[C03] = SILENT
    for node in (C01, C02):
        units(answers, node)["nova-conductor"] = "failed"
    services = judge(answers)["components"]["services"]
    assert services["verdict"] == "down" and services["summary"] == "nova-conductor active on no controller"
    assert services["problems"] == [f"{C03}: {SILENT}", f"{C01}: nova-conductor failed",
                                    f"{C02}: nova-conductor failed"]
    assert services["cells"][C03] == "no answer"
    units(answers, C02)["nova-conductor"] = "active"
    assert judge(answers)["components"]["services"]["verdict"] == "degraded"


def test_services_not_read_on_a_controller(answers):
    answers[C02]["services"] = {"error": "no answer within 14 s"}
    answers[C03]["services"] = {"error": "systemctl is-active printed 0 states for 16 units (exit 1): "
                                         "Failed to connect to bus: No such file or directory"}
    report = judge(answers)
    only(report, "services", "degraded")
    services = report["components"]["services"]
    assert services["problems"] == [f"{C02}: no answer within 14 s", f"{C03}: systemctl is-active printed 0 "
                                    "states for 16 units (exit 1): Failed to connect to bus: No such file or directory"]
    assert services["cells"] == {C01: "16 of 16 units active", C02: "error", C03: "error"}
    assert services["summary"] == "1 of 3 run every unit"


def test_services_read_on_no_controller_is_down(answers):
    for node in CONTROLLERS:
        answers[node]["services"] = {"error": "no answer within 14 s"}
    services = judge(answers)["components"]["services"]
    assert services["verdict"] == "down" and services["summary"] == "0 of 3 run every unit"
    assert services["cells"] == dict.fromkeys(CONTROLLERS, "error")


# --- chrony ------------------------------------------------------------------------------


def test_a_clock_a_second_off_is_degraded(answers):
    part(answers, C02, "chrony")["offset"] = 1.0
    report = judge(answers)
    only(report, "chrony", "degraded")
    chrony = report["components"]["chrony"]
    assert chrony["problems"] == [f"{C02}: +1.000 s from its source (more than 0.5 s)"]
    assert chrony["cells"][C02] == "10.10.10.51 +1.000000 s"
    assert report["retcode"] == 1


@pytest.mark.parametrize("offset", [0.5, -0.5])
def test_an_offset_at_the_limit_is_healthy(answers, offset):
    part(answers, COMPUTE, "chrony")["offset"] = offset
    assert judge(answers)["verdict"] == "healthy"


def test_a_slow_clock_and_an_unsynchronised_one(answers):
    part(answers, COMPUTE, "chrony")["offset"] = -0.75
    part(answers, C03, "chrony")["leap"] = "Not synchronised"
    report = judge(answers)
    only(report, "chrony", "degraded")
    assert report["components"]["chrony"]["problems"] == [
        f"{C03}: Not synchronised", f"{COMPUTE}: -0.750 s from its source (more than 0.5 s)"]


def test_no_node_keeps_time(answers):
    for node in answers:
        answers[node]["chrony"] = {"error": "chronyc: command not found"}
    chrony = judge(answers)["components"]["chrony"]
    assert chrony["verdict"] == "down" and chrony["summary"] == "0 of 4 nodes keep time"
