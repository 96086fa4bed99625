"""The lab's topology: a new lab's naming and addressing, a running lab grown (bin/lab up with more nodes) and a
node taken out (bin/lab remove)."""

from __future__ import annotations

import pytest

from lab import config
from lab.config import Node

C = [f"openstack-controller0{i}" for i in range(1, 6)]


def nodes(topology) -> list[tuple[str, str, str]]:
    return [(n.name, n.address, n.role) for n in topology.nodes]


def test_a_new_lab_is_the_reference_site():
    assert nodes(config.make_topology(3, 1, "key")) == [
        (C[0], "10.10.10.51", "controller"), (C[1], "10.10.10.52", "controller"),
        (C[2], "10.10.10.53", "controller"), ("openstack-compute01", "10.10.10.54", "compute")]


def test_a_grown_lab_keeps_its_nodes_and_gives_the_new_ones_free_addresses():
    grown = config.grow_topology(config.make_topology(3, 1, "key"), 5, None)
    assert nodes(grown) == [
        (C[0], "10.10.10.51", "controller"), (C[1], "10.10.10.52", "controller"),
        (C[2], "10.10.10.53", "controller"), (C[3], "10.10.10.55", "controller"),
        (C[4], "10.10.10.56", "controller"), ("openstack-compute01", "10.10.10.54", "compute")]
    assert grown.image == "key"


def test_growing_to_the_same_counts_changes_nothing():
    current = config.make_topology(3, 1, "key")
    assert config.grow_topology(current, None, None) == current
    assert config.grow_topology(current, 3, 1) == current


def test_a_removed_name_and_address_are_taken_again():
    current = config.without(config.make_topology(4, 1, "key"), C[1])
    grown = config.grow_topology(current, 4, 2)
    assert nodes(grown) == [
        (C[0], "10.10.10.51", "controller"), (C[1], "10.10.10.52", "controller"),
        (C[2], "10.10.10.53", "controller"), (C[3], "10.10.10.54", "controller"),
        ("openstack-compute01", "10.10.10.55", "compute"), ("openstack-compute02", "10.10.10.56", "compute")]


def test_up_never_removes_a_node():
    with pytest.raises(SystemExit, match="^lab: the lab has 5 controllers and bin/lab up never removes a node"):
        config.grow_topology(config.make_topology(5, 1, "key"), 3, None)
    with pytest.raises(SystemExit, match="^lab: the lab has 1 computes"):
        config.grow_topology(config.make_topology(3, 1, "key"), None, 0)


def test_growth_stops_before_the_vip():
    current = config.make_topology(3, 1, "key")
    assert config.grow_topology(current, 17, None).nodes[-2].address == "10.10.10.68"
    with pytest.raises(SystemExit, match="would run into the VIP 10.10.10.69"):
        config.grow_topology(current, 18, None)


def test_remove_keeps_three_controllers():
    current = config.make_topology(4, 1, "key")
    left = config.without(current, C[3])
    assert [n.name for n in left.nodes] == [C[0], C[1], C[2], "openstack-compute01"]
    with pytest.raises(SystemExit, match=f"^lab: removing {C[0]} would leave fewer than 3 controllers$"):
        config.without(left, C[0])
    assert [n.name for n in config.without(left, "openstack-compute01").nodes] == C[:3]
    with pytest.raises(SystemExit, match="no node named"):
        config.without(left, "openstack-controller09")
    assert Node(C[0], "10.10.10.51", "controller") in left.nodes


def test_unlist_keeps_the_nodes_unlisted_before(monkeypatch):
    # bin/lab unlist twice: the second one must not list the first node again (the pillar is written whole).
    from lab import cli, master

    lab = config.make_topology(5, 1, "key")
    pillar = {n.name for n in lab.nodes}
    monkeypatch.setattr(cli, "_topology", lambda: lab)
    monkeypatch.setattr(master, "pillar_nodes", lambda: set(pillar))
    monkeypatch.setattr(master, "write_pillar", lambda topology: (pillar.clear(), pillar.update(
        n.name for n in topology.nodes)))
    for node in (C[3], C[4]):
        assert cli.unlist(type("Args", (), {"node": node})()) == 0
    assert sorted(pillar) == sorted([*C[:3], "openstack-compute01"])
    with pytest.raises(SystemExit, match="fewer than 3 controllers"):
        cli.unlist(type("Args", (), {"node": C[2]})())
