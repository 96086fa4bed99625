"""ha.deploy on the lab: what the first steps of the orchestration do on real nodes."""

from __future__ import annotations

import time

import pytest

from tests.lab.conftest import lab_secrets, slowest_steps

pytestmark = pytest.mark.lab

NODES = {
    "openstack-controller01": "10.10.10.51",
    "openstack-controller02": "10.10.10.52",
    "openstack-controller03": "10.10.10.53",
    "openstack-compute01": "10.10.10.54",
}


def test_names_resolve_on_every_node(deployed):
    for node in NODES:
        for name, address in {**NODES, "openstack-vip": "10.10.10.69"}.items():
            answer = deployed.exec(node, "getent", "ahostsv4", name).stdout.split()
            assert answer[0] == address, f"{name} resolves to {answer[:1]} on {node}"


def test_top_assigns_roles(deployed):
    for node in NODES:
        role = "compute" if "compute" in node else "controller"
        ret = deployed.run("salt", "--out=txt", node, "state.show_top").stdout
        assert f"'ha.{role}'" in ret, ret


def test_bad_pillar_stops_at_the_first_step(deployed):
    code, steps = deployed.orchestrate('pillar={"ha": {"haproxy": {"stats": {"user": "admin"}}}}')
    assert code != 0
    assert list(steps) == ["ha-pillar-valid"]
    assert "ha:haproxy:stats:user: 'admin' is a reference value" in steps["ha-pillar-valid"]["comment"]


def test_second_deploy_repairs_a_drift_and_changes_nothing_else(deployed, measure):
    """The second ha.deploy: the one drifted setting (a node's host name) is put back; every other state of
    every step, the base and chrony of every node included, reports no change."""
    node = "openstack-compute01"
    deployed.exec(node, "hostname", "drifted")
    started = time.monotonic()
    code, steps = deployed.orchestrate()
    measure(f"second ha.deploy (one drifted host name): {time.monotonic() - started:.1f} s; "
            f"slowest steps: {slowest_steps(steps)}")
    assert code == 0
    assert all(step["result"] is True for step in steps.values())
    changed = {step_id: step["changes"] for step_id, step in steps.items() if step["changes"]}
    assert list(changed) == ["ha-base"], changed
    # Every changed state of every node, so that a failure names what drifted.
    changed_states = {minion: {body["__id__"]: body["changes"] for body in ret.values() if body["changes"]}
                      for minion, ret in changed["ha-base"]["ret"].items()}
    assert list(changed["ha-base"]["ret"]) == [node], changed_states
    states = changed["ha-base"]["ret"][node].values()
    assert [body["__id__"] for body in states if body["changes"]] == ["ha-base-hostname"]
    assert deployed.exec(node, "hostname").stdout.strip() == node


def test_first_deploy_output_holds_no_secret(deployed):
    """Salt's output of the whole first deploy (every state's changes and comments) names no secret."""
    assert "ha-pacemaker-cluster" in deployed.first_deploy_output
    leaked = [secret[:4] + "..." for secret in lab_secrets() if secret in deployed.first_deploy_output]
    assert leaked == []
