"""Unit tests of _output/ha_status.py: the text of salt-run ha.status."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import ha_verdict

from tests.helpers import load_module

ha_status = load_module("_output/ha_status.py", "ha_status_output")
DATA = Path(__file__).parent / "data"
HEALTHY = json.loads((DATA / "status-healthy.json").read_text())
C01, C02, C03 = (f"openstack-controller0{i}" for i in (1, 2, 3))
PAD = " " * 20
# The lab's healthy report as the outputter prints it.
HEALTHY_TEXT = [
    f"ha.status: HEALTHY  (VIP 10.10.10.69 on {C01})",
    "",
    "COMPONENT  VERDICT  NODE                    STATE",
    "nodes      healthy                          4 of 4 nodes answer",
    f"{PAD}{C01}  answers",
    f"{PAD}{C02}  answers",
    f"{PAD}{C03}  answers",
    f"{PAD}openstack-compute01     answers",
    "pacemaker  healthy                          "
    f"quorate, 3 of 3 online, DC {C01}, vip on {C01}, lb-haproxy-clone on 3",
    f"{PAD}{C01}  online",
    f"{PAD}{C02}  online",
    f"{PAD}{C03}  online",
    "galera     healthy                          3 of 3 Synced, cluster 925882f2-ee48-11f1-8ec3-8a497de72470",
    f"{PAD}{C01}  Synced Primary size 3 seqno 1162",
    f"{PAD}{C02}  Synced Primary size 3 seqno 1162",
    f"{PAD}{C03}  Synced Primary size 3 seqno 1162",
    "rabbitmq   healthy                          3 of 3 running together, 14 queues",
    f"{PAD}{C01}  3 of 3 running",
    f"{PAD}{C02}  3 of 3 running",
    f"{PAD}{C03}  3 of 3 running",
    f"etcd       healthy                          3 of 3 members healthy, leader {C01}",
    f"{PAD}{C01}  healthy, raft index 12, leader",
    f"{PAD}{C02}  healthy, raft index 12",
    f"{PAD}{C03}  healthy, raft index 12",
    "memcached  healthy                          3 of 3 answer",
    f"{PAD}{C01}  up 209 s, 9 connections",
    f"{PAD}{C02}  up 140 s, 6 connections",
    f"{PAD}{C03}  up 65 s, 3 connections",
    f"haproxy    healthy                          8 listeners as the VIP holder {C01} sees them "
    "(not judged, no service of the formula behind them: cinder_api, horizon, neutron_api)",
    f"{PAD}{C01}  24 of 33 servers UP",
    f"{PAD}{C02}  24 of 33 servers UP",
    f"{PAD}{C03}  24 of 33 servers UP",
    "services   healthy                          3 of 3 run every unit",
    f"{PAD}{C01}  16 of 16 units active",
    f"{PAD}{C02}  16 of 16 units active",
    f"{PAD}{C03}  16 of 16 units active",
    "chrony     healthy                          4 of 4 nodes keep time",
    f"{PAD}{C01}  its own clock +0.000000 s",
    f"{PAD}{C02}  10.10.10.51 -0.000005 s",
    f"{PAD}{C03}  10.10.10.51 -0.000003 s",
    f"{PAD}openstack-compute01     10.10.10.51 -0.000002 s",
]


def component(verdict: str, summary: str, cells: dict, problems: list | None = None) -> dict:
    return {"verdict": verdict, "summary": summary, "problems": problems or [], "cells": cells}


def test_virtual():
    assert ha_status.__virtual__() == "ha_status"


def test_the_healthy_lab_report():
    assert ha_status.render(HEALTHY).split("\n") == HEALTHY_TEXT


def test_output_prints_what_render_gives():
    assert ha_status.output(HEALTHY) == ha_status.render(HEALTHY)
    assert ha_status.output(HEALTHY, color=True) == "\n".join(HEALTHY_TEXT)


def test_the_columns_fit_the_widest_cell_and_the_problems_follow():
    report = {"verdict": "degraded", "vip": "10.0.0.9", "vip_holder": "c2", "components": {
        "galera": component("degraded", "2 of 3 Synced", {"c1": "Synced", "a-long-node-name": "stopped"},
                            ["a-long-node-name: MariaDB is not running"]),
        "memcached": component("healthy", "1 of 1 answer", {"c1": "up 5 s"}),
        "chrony": component("degraded", "2 of 2 nodes keep time", {}, ["c1: Not synchronised", "c2: +0.9 s"]),
    }}
    assert ha_status.render(report) == "\n".join([
        "ha.status: DEGRADED  (VIP 10.0.0.9 on c2)",
        "",
        "COMPONENT  VERDICT   NODE              STATE",
        "galera     degraded                    2 of 3 Synced",
        "                     c1                Synced",
        "                     a-long-node-name  stopped",
        "memcached  healthy                     1 of 1 answer",
        "                     c1                up 5 s",
        "chrony     degraded                    2 of 2 nodes keep time",
        "",
        "PROBLEMS",
        "  galera: a-long-node-name: MariaDB is not running",
        "  chrony: c1: Not synchronised",
        "  chrony: c2: +0.9 s",
    ])


def test_no_vip_holder_and_no_vip():
    report = {"verdict": "down", "vip": "10.0.0.9", "vip_holder": None, "components": {}}
    assert ha_status.render(report).split("\n")[0] == "ha.status: DOWN  (VIP 10.0.0.9 on no node)"
    del report["vip"]
    assert ha_status.render(report).split("\n")[0] == "ha.status: DOWN"


def test_a_report_of_pillar_errors():
    report = {"verdict": "down", "retcode": 2, "errors": ["ha:vip:address: is required", "ha:nodes: is required"]}
    assert ha_status.render(report) == "ha.status: DOWN\n  ha:vip:address: is required\n  ha:nodes: is required"


def test_a_judged_report_with_a_silent_controller_lists_its_problems():
    answers = copy.deepcopy(HEALTHY["reports"])
    answers[C03] = "no answer within 20 s"
    topology = {key: HEALTHY[key] for key in ("controllers", "computes", "vip")}
    topology.update(rabbitmq_names={node: f"rabbit@{node}" for node in HEALTHY["controllers"]},
                    served_listeners=["galera", "rabbitmq"])
    lines = ha_status.render(ha_verdict.judge(answers, topology)).split("\n")
    assert lines[0] == f"ha.status: DEGRADED  (VIP 10.10.10.69 on {C01})"
    assert lines[2] == "COMPONENT  VERDICT   NODE                    STATE"
    assert f"{' ' * 21}{C03}  no answer" in lines
    problems = lines[lines.index("PROBLEMS") + 1:]
    assert problems == [f"  {name}: {C03}: no answer within 20 s" for name in ha_verdict.COMPONENTS]


def test_output_of_something_else_is_its_text():
    assert ha_status.output("ha.status: Exception occurred in runner ha.status") == (
        "ha.status: Exception occurred in runner ha.status")
    assert ha_status.output({"result": False}) == "{'result': False}"
    assert ha_status.output(["a"]) == "['a']"
