"""Unit tests of _runners/ha_galera.py: choosing the bootstrap node and the recovery sequence; the runners' call
of a minion inside the toolkit's wait, under Salt's own loader."""

from __future__ import annotations

import sys

import pytest
import salt.config
import salt.loader
from salt.exceptions import CommandExecutionError, LoaderError

from tests.helpers import REPO, load_module

runner = load_module("_runners/ha_galera.py", "ha_galera_runner")
UUID = "a0c4b1a2-e89f-11f1-90b2-e7b430a4d936"
NODES = ["c1", "c2", "c3"]


def pos(seqno, uuid=UUID):
    return {"uuid": uuid, "seqno": seqno}


def test_virtual_needs_the_toolkit(monkeypatch):
    assert runner.__virtual__() == "ha_galera"
    monkeypatch.setattr(runner, "ha_kit", None)
    assert runner.__virtual__() == (False, "the formula's _utils are not on the master: run salt-run "
                                           "saltutil.sync_all")


def test_choose_highest_seqno():
    assert runner.choose({"c1": pos(292), "c2": pos(806), "c3": pos(806)}, NODES) == "c2"


def test_choose_tie_goes_to_the_first():
    assert runner.choose({"c1": pos(5), "c2": pos(5), "c3": pos(5)}, NODES) == "c1"


def test_choose_refuses_to_guess():
    with pytest.raises(CommandExecutionError, match="refusing to guess.*c2: did not answer.*bootstrap_node"):
        runner.choose({"c1": pos(9), "c2": "did not answer", "c3": pos(1)}, NODES)


def test_choose_override():
    positions = {"c1": pos(9), "c2": "did not answer", "c3": pos(1)}
    assert runner.choose(positions, NODES, "c3") == "c3"
    with pytest.raises(CommandExecutionError, match="cannot be read"):
        runner.choose(positions, NODES, "c2")
    with pytest.raises(CommandExecutionError, match="not a controller"):
        runner.choose(positions, NODES, "c9")


def test_choose_ignores_a_node_without_cluster_state():
    # ha_galera.status reports no uuid for a node without cluster state (see test_galera_module).
    assert runner.choose({"c1": pos(9), "c2": pos(-1, ""), "c3": pos(8)}, NODES) == "c1"


def test_choose_rejects_mixed_clusters():
    other = "11111111-2222-3333-4444-555555555555"
    with pytest.raises(CommandExecutionError, match="different clusters"):
        runner.choose({"c1": pos(9), "c2": pos(8, other), "c3": pos(1)}, NODES)


class FakeClient:
    """Minions answering ha_galera functions from a table; records every call."""

    def __init__(self, nodes):
        self.nodes, self.calls = nodes, []

    def cmd(self, minion, fun, args, kwarg=None, timeout=None, full_return=False):
        self.calls.append((minion, fun, kwarg or {}))
        node = self.nodes[minion]
        if node is None:
            return {}
        if fun == "ha_galera.status":
            if kwarg and kwarg.get("recover"):
                return {minion: {"ret": {**DOWN, "position": node["position"]}, "retcode": 0}}
            return {minion: {"ret": node["status"], "retcode": 0}}
        return {minion: {"ret": True, "retcode": 0}}


# What ha_galera.status answers: the minion judges whether it is Synced.
SYNCED = {"running": True, "synced": True, "wsrep": {"cluster_status": "Primary", "local_state": 4}}
DOWN = {"running": False, "synced": False}
JOINING = {"running": True, "synced": False, "wsrep": {"cluster_status": "Primary", "local_state": 1}}


@pytest.fixture
def client(monkeypatch):
    # No __utils__: the runner calls the minions through the imported toolkit.
    fake = FakeClient({})
    monkeypatch.setattr(runner.salt.client, "get_local_client", lambda conf: fake)
    runner.__opts__ = {"conf_file": "/etc/salt/master"}
    return fake


def test_recover_from_full_outage(client):
    client.nodes.update({"c1": {"status": DOWN, "position": pos(806)}, "c2": {"status": DOWN, "position": pos(900)},
                         "c3": {"status": DOWN, "position": pos(292)}})
    report = runner.recover(NODES)
    assert report["bootstrapped"] == "c2" and report["rejoined"] == ["c1", "c3"]
    changing = [(m, f) for m, f, _ in client.calls if f != "ha_galera.status"]
    assert changing == [("c1", "ha_galera.stop"), ("c2", "ha_galera.stop"), ("c3", "ha_galera.stop"),
                        ("c2", "ha_galera.set_safe_to_bootstrap"), ("c2", "ha_galera.bootstrap"),
                        ("c1", "ha_galera.join"), ("c3", "ha_galera.join")]


def test_recover_leaves_a_synced_node_alone(client):
    client.nodes.update({"c1": {"status": DOWN}, "c2": {"status": SYNCED}, "c3": {"status": DOWN}})
    report = runner.recover(NODES)
    assert report["bootstrapped"] is None and report["already_synced"] == ["c2"]
    assert [(m, f) for m, f, _ in client.calls if f != "ha_galera.status"] == [
        ("c1", "ha_galera.join"), ("c3", "ha_galera.join")]


def test_recover_refuses_when_a_node_does_not_answer(client):
    client.nodes.update({"c1": {"status": DOWN, "position": pos(5)}, "c2": None,
                         "c3": {"status": DOWN, "position": pos(4)}})
    with pytest.raises(CommandExecutionError, match="refusing to guess.*c2"):
        runner.recover(NODES)
    assert not any(f in ("ha_galera.bootstrap", "ha_galera.join") for _, f, _ in client.calls)


def test_recover_stops_a_node_that_runs_but_is_not_synced_before_it_rejoins(client):
    client.nodes.update({"c1": {"status": SYNCED}, "c2": {"status": JOINING}, "c3": {"status": DOWN}})
    report = runner.recover(NODES)
    assert report["already_synced"] == ["c1"] and report["rejoined"] == ["c2", "c3"]
    assert [(m, f) for m, f, _ in client.calls if f != "ha_galera.status"] == [
        ("c2", "ha_galera.stop"), ("c2", "ha_galera.join"), ("c3", "ha_galera.join")]


def test_recover_refuses_minions_with_an_older_module(client):
    # ha_galera.status before it judged "synced" itself: the runner does not guess.
    old = {"running": False, "wsrep": None}
    client.nodes.update({n: {"status": old, "position": pos(5)} for n in NODES})
    with pytest.raises(CommandExecutionError, match="refusing to guess.*c1: c1's ha_galera module is older than this "
                                                    "runner: run saltutil.sync_all on it"):
        runner.recover(NODES)
    assert [f for _, f, _ in client.calls] == ["ha_galera.status"] * 3


# --- the runners' call of a minion inside the toolkit's wait, under Salt's own loader --------------------------


class AnsweringClient:
    """A LocalClient whose minions answer every function with ``answer``."""

    def __init__(self, answer):
        self.answer, self.calls = answer, []

    def cmd(self, minion, fun, args, kwarg=None, timeout=None, full_return=False):
        self.calls.append((minion, fun, list(args), kwarg, timeout))
        return {minion: {"ret": self.answer, "retcode": 0}}


@pytest.mark.filterwarnings("ignore:'crypt' is deprecated:DeprecationWarning")  # Salt's own utils
@pytest.mark.parametrize(("name", "public"), [("ha_galera", "recover"), ("ha", "status")])
def test_a_runners_call_works_in_a_probe_of_the_toolkits_wait(name, public):
    # Salt loads the runner and the toolkit; a probe that ha_kit.wait runs is called in the toolkit's loader,
    # where the runner's own dunders do not resolve (the rolling restart stopped at its first controller on
    # that: 93a10af). The runner's _call must not need them.
    opts = salt.config.master_config(None)
    opts.update(utils_dirs=[str(REPO / "_utils")], runner_dirs=[str(REPO / "_runners")],
                extension_modules=str(REPO / "no-extension-modules"))
    utils = salt.loader.utils(opts)
    runners = salt.loader.runner(opts, utils=utils)
    loaded = sys.modules[runners[f"{name}.{public}"].func.__module__]
    client = AnsweringClient({"synced": True})

    def probe():
        with pytest.raises(LoaderError, match="does not have a packed value for: __utils__"):
            loaded.__utils__["ha_kit.call"]  # noqa: B018 - what a probe of the old _call did first
        return loaded._call(client, "c1", "ha_galera.status", timeout=7)

    assert utils["ha_kit.wait"]("c1's status", probe, 1) == {"synced": True}
    assert client.calls == [("c1", "ha_galera.status", [], {}, 7)]
