"""Each lab node starts in cgroups of its own (lab/nodes.py), in the hierarchies systemd uses."""

from __future__ import annotations

from lab import nodes
from lab.config import Node

NODE = Node("openstack-controller01", "10.10.10.51", "controller")


def hierarchy(path):
    path.mkdir(parents=True)
    (path / "cgroup.procs").write_text("")
    return path


def test_hybrid_host_uses_the_named_systemd_and_the_unified_hierarchy(tmp_path, monkeypatch):
    monkeypatch.setattr(nodes, "CGROUP_ROOT", tmp_path)
    for name in ("systemd", "unified", "memory"):
        hierarchy(tmp_path / name)
    assert nodes.cgroups(NODE) == [tmp_path / "systemd/halab/openstack-controller01",
                                   tmp_path / "unified/halab/openstack-controller01"]
    assert nodes.cgroups() == [tmp_path / "systemd/halab", tmp_path / "unified/halab"]


def test_unified_host_uses_its_root(tmp_path, monkeypatch):
    monkeypatch.setattr(nodes, "CGROUP_ROOT", hierarchy(tmp_path / "cgroup"))
    assert nodes.cgroups(NODE) == [tmp_path / "cgroup/halab/openstack-controller01"]


def test_remove_cgroups_removes_the_node_tree_deepest_first_and_keeps_others(tmp_path, monkeypatch):
    monkeypatch.setattr(nodes, "CGROUP_ROOT", tmp_path)
    hierarchy(tmp_path / "systemd")
    mine = tmp_path / "systemd/halab/openstack-controller01"
    (mine / "payload/system.slice/mariadb.service").mkdir(parents=True)
    (mine / "supervisor").mkdir()
    other = tmp_path / "systemd/halab/openstack-controller02/payload"
    other.mkdir(parents=True)
    nodes.remove_cgroups(NODE)
    assert not mine.exists()
    assert other.is_dir()
    nodes.remove_cgroups()
    assert not (tmp_path / "systemd/halab").exists()


def test_no_lab_cgroups_is_nothing_to_remove(tmp_path, monkeypatch):
    monkeypatch.setattr(nodes, "CGROUP_ROOT", tmp_path)
    hierarchy(tmp_path / "systemd")
    nodes.remove_cgroups()
    assert (tmp_path / "systemd").is_dir()
