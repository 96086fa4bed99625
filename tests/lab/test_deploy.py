"""ha.deploy on the lab: what the first steps of the orchestration do on real nodes."""

from __future__ import annotations

import pytest

from tests.lab.conftest import lab_secrets

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


def test_drifted_hostname_is_repaired_then_nothing_changes(deployed):
    node = "openstack-compute01"
    deployed.exec(node, "hostname", "drifted")
    code, steps = deployed.orchestrate()
    assert code == 0
    assert list(steps["ha-base"]["changes"]["ret"]) == [node]
    assert deployed.exec(node, "hostname").stdout.strip() == node

    code, steps = deployed.orchestrate()
    assert code == 0
    assert all(step["result"] is True for step in steps.values())
    assert {step_id: step["changes"] for step_id, step in steps.items() if step["changes"]} == {}


def test_first_deploy_output_holds_no_secret(deployed):
    """Salt's output of the whole first deploy (every state's changes and comments) names no secret."""
    assert "ha-pacemaker-cluster" in deployed.first_deploy_output
    leaked = [secret[:4] + "..." for secret in lab_secrets() if secret in deployed.first_deploy_output]
    assert leaked == []
