"""Unit tests of _runners/ha.py: the bounded ask of every node, ha.status, ha.require_healthy, the restart of one
controller and the removal of one (ha.require_removable, ha.remove_controller), over a fake LocalClient and a fake
clock."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from tests.helpers import load_module, valid_pillar

runner = load_module("_runners/ha.py", "ha_runner")
ha_topology = load_module("_modules/ha_topology.py", "ha_topology_for_ha_runner")
DATA = Path(__file__).parent / "data"
HEALTHY = json.loads((DATA / "status-healthy.json").read_text())
C01, C02, C03 = CONTROLLERS = [f"openstack-controller0{i}" for i in (1, 2, 3)]
COMPUTE = "openstack-compute01"
ALL = [*CONTROLLERS, COMPUTE]
SERVED = ["galera", "glance_api", "keystone_public", "nova_api", "nova_metadata", "nova_vncproxy", "placement_api",
          "rabbitmq"]
ETCD_ENDPOINTS = [f"http://10.10.10.5{i}:2379" for i in (1, 2, 3)]
TOPOLOGY = {"errors": [], "first": C01, "controllers": CONTROLLERS, "computes": [COMPUTE], "all": ALL,
            "vip": "10.10.10.69", "rabbitmq_names": {node: f"rabbit@{node}" for node in CONTROLLERS},
            "served_listeners": SERVED, "etcd_endpoints": ETCD_ENDPOINTS}
CLONE = "lb-haproxy-clone"


def returned(ret, retcode=0) -> dict:
    return {"ret": ret, "retcode": retcode, "jid": "20261202201856123456"}


class FakeClient:
    """
    A LocalClient: ``cmd_iter_no_block`` yields ``script`` (dicts, None, or a callable run then, yielding
    what it returns), then None forever (Salt's non-blocking wait); ``cmd`` answers through
    ``answer(minion, fun, args)``.
    """

    def __init__(self, clock, script=(), endless=True):
        self.clock, self.script, self.endless = clock, list(script), endless
        self.asked: list[tuple] = []
        self.read = 0  # how many items the runner took from cmd_iter_no_block
        self.calls: list[tuple] = []
        self.kwargs: list[dict] = []  # each call's keyword arguments, in the order of calls
        self.answer = lambda minion, fun, args: returned(True)

    def cmd_iter_no_block(self, tgt, fun, arg, **kwargs):
        self.asked.append((tgt, fun, arg, kwargs))
        for item in self.script:
            self.read += 1
            yield item() if callable(item) else item
        while self.endless:
            self.read += 1
            yield None

    def cmd(self, tgt, fun, arg, kwarg=None, timeout=None, full_return=False):
        assert full_return is True
        self.calls.append((tgt, fun, list(arg), timeout))
        self.kwargs.append(dict(kwarg or {}))
        answer = self.answer(tgt, fun, list(arg))
        return {} if answer is None else {tgt: answer}

    def funs(self) -> list[tuple]:
        return [(tgt, fun, *arg) for tgt, fun, arg, _ in self.calls]


@pytest.fixture
def context():
    return {}


@pytest.fixture
def configure_loader_modules(context, utils, clock):
    # The toolkit's wait runs on the same fake clock as the runner (clock, fake_time).
    return {runner: {"__opts__": {"conf_file": "/etc/salt/master", "id": "master"}, "__context__": context,
                     "__utils__": utils}}


EPOCH = 1796300000.0


class Time:
    """The runner's time module over the fake clock: monotonic, sleep and a wall clock that moves with them."""

    def __init__(self, clock):
        self.clock = clock

    def __getattr__(self, name):
        return getattr(self.clock, name)

    def __setattr__(self, name, value):
        if name == "clock":
            object.__setattr__(self, name, value)
        else:
            setattr(self.clock, name, value)

    def time(self) -> float:
        return EPOCH + self.clock.now - 1000.0


@pytest.fixture
def fake_time(monkeypatch, clock):
    fake = Time(clock)
    monkeypatch.setattr(runner, "time", fake)
    return fake


def healthy_script() -> list:
    reports = copy.deepcopy(HEALTHY["reports"])
    return [None, {C01: returned(reports[C01]), C02: returned(reports[C02])}, None,
            {COMPUTE: returned(reports[COMPUTE])}, {C03: returned(reports[C03])}]


@pytest.fixture
def client(monkeypatch, fake_time):
    fake = FakeClient(fake_time)
    conf_files = []
    monkeypatch.setattr(runner.salt.client, "get_local_client", lambda conf: conf_files.append(conf) or fake)
    fake.conf_files = conf_files
    return fake


def test_virtual():
    assert runner.__virtual__() == "ha"


# --- _ask --------------------------------------------------------------------------------


def test_ask_every_minion_at_once(fake_time):
    client = FakeClient(fake_time, healthy_script())
    assert runner._ask(client, ALL, "ha_health.collect") == HEALTHY["reports"]
    assert client.asked == [(ALL, "ha_health.collect", [], {"tgt_type": "list", "timeout": 20, "full_return": True})]
    # Stops reading once every minion answered; waits a little after each empty poll.
    assert client.read == 5
    assert fake_time.sleeps == [0.2, 0.2]


def test_ask_passes_the_arguments(fake_time):
    client = FakeClient(fake_time, [{C01: returned(3)}])
    assert runner._ask(client, [C01], "ha_haproxy.sessions", [C02], timeout=5) == {C01: 3}
    assert client.asked[0][2] == [C02] and client.asked[0][3]["timeout"] == 5


def test_ask_a_silent_minion_is_reported_at_the_deadline(fake_time):
    client = FakeClient(fake_time, [{C01: returned({"roles": []})}, lambda: setattr(fake_time, "now", 1019.9)])
    assert runner._ask(client, [C01, C02], "ha_health.collect") == {
        C01: {"roles": []}, C02: "no answer within 20 s"}
    assert fake_time.now > 1020
    assert set(fake_time.sleeps) == {0.2}


def test_ask_a_minion_stuck_past_the_deadline_is_not_waited_for(fake_time):
    # Salt's own wait goes on while a minion says the job still runs: the runner's deadline ends it.
    client = FakeClient(fake_time, [lambda: setattr(fake_time, "now", 1030.0)])
    assert runner._ask(client, [C01], "ha_health.collect", timeout=7.5) == {C01: "no answer within 7.5 s"}
    assert client.read == 1 and fake_time.sleeps == []


def test_ask_an_answer_read_at_the_deadline_counts_and_nothing_after(fake_time):
    late = lambda: setattr(fake_time, "now", 1030.0) or {C01: returned("late")}  # noqa: E731
    client = FakeClient(fake_time, [late, {C02: returned("later")}])
    assert runner._ask(client, [C01, C02], "test.echo") == {C01: "late", C02: "no answer within 20 s"}
    assert client.read == 1


def test_ask_when_salt_gives_up_first(fake_time):
    client = FakeClient(fake_time, [{C02: returned(True)}], endless=False)
    assert runner._ask(client, [C01, C02], "test.ping", timeout=3) == {C01: "no answer within 3 s", C02: True}
    assert fake_time.sleeps == []


def test_ask_a_failed_function(fake_time):
    client = FakeClient(fake_time, [{C01: returned("'ha_health.collect' is not available.", 254),
                                     C02: returned({"roles": []})}])
    assert runner._ask(client, [C01, C02], "ha_health.collect") == {
        C01: "ha_health.collect failed: 'ha_health.collect' is not available.", C02: {"roles": []}}


# --- _topology ---------------------------------------------------------------------------


class MasterMinion:
    """salt.minion.MasterMinion with the formula's ha_topology (or none): its functions, destroyed once used."""

    instances: list = []

    def __init__(self, opts, whitelist=None, functions=None):
        self.opts, self.whitelist, self.destroyed = opts, whitelist, 0
        self.functions = functions
        MasterMinion.instances.append(self)

    def destroy(self):
        self.destroyed += 1


@pytest.fixture
def master(monkeypatch):
    """The master's pillar (pillar.example filled in) and its MasterMinion over the formula's ha_topology."""
    ha = valid_pillar()
    seen = {}

    class Pillar:
        def __init__(self, opts, grains, minion_id, saltenv=None):
            seen.update(opts=opts, grains=grains, minion_id=minion_id, saltenv=saltenv)

        def compile_pillar(self):
            return {"ha": ha, "other": 1}

    functions = {f"ha_topology.{name}": getattr(ha_topology, name)
                 for name in ("plan", "rabbitmq_node", "served_listeners", "etcd_members")}
    MasterMinion.instances = []
    monkeypatch.setattr(runner.salt.loader, "grains", lambda opts: {"id": "master"})
    monkeypatch.setattr(runner.salt.pillar, "get_pillar", Pillar)
    monkeypatch.setattr(runner.salt.minion, "MasterMinion",
                        lambda opts, whitelist=None: MasterMinion(opts, whitelist, functions))
    return {"ha": ha, "seen": seen, "functions": functions}


def test_topology_from_the_masters_pillar(master):
    assert runner._topology() == TOPOLOGY
    assert master["seen"] == {"opts": runner.__opts__, "grains": {"id": "master"}, "minion_id": "master",
                              "saltenv": "base"}
    (minion,) = MasterMinion.instances
    assert minion.whitelist == ["ha_topology"] and minion.destroyed == 1


def test_topology_of_a_pillar_with_errors(master):
    del master["ha"]["vip"]
    topology = runner._topology()
    assert topology["errors"] and topology["controllers"] == []
    assert "vip" not in topology
    assert MasterMinion.instances[0].destroyed == 1


def test_topology_without_the_formulas_modules_on_the_master(master):
    master["functions"].clear()
    assert runner._topology() == {
        "errors": ["the formula's modules are not on the master: run salt-run saltutil.sync_all"]}
    assert MasterMinion.instances[0].destroyed == 1


# --- status ------------------------------------------------------------------------------


def test_report_asks_every_node_and_judges(monkeypatch, client):
    client.script = healthy_script()
    assert runner._report(copy.deepcopy(TOPOLOGY), timeout=9.0) == HEALTHY
    assert client.conf_files == ["/etc/salt/master"]
    assert client.asked == [(ALL, "ha_health.collect", [], {"tgt_type": "list", "timeout": 9.0, "full_return": True})]


def test_report_of_a_pillar_with_errors_asks_no_node(monkeypatch, client):
    errors = ["ha:vip: is required"]
    assert runner._report({"errors": errors}) == {"verdict": "down", "retcode": 2, "errors": errors}
    assert client.asked == []


def test_status_of_the_healthy_lab(monkeypatch, client, context):
    client.script = healthy_script()
    monkeypatch.setattr(runner, "_topology", lambda: copy.deepcopy(TOPOLOGY))
    assert runner.status() == {"outputter": "ha_status", "data": HEALTHY}
    assert "retcode" not in context


def test_status_with_a_crashed_controller(monkeypatch, client, context):
    script = healthy_script()
    script[4] = None  # C03 never answers
    client.script = script
    monkeypatch.setattr(runner, "_topology", lambda: copy.deepcopy(TOPOLOGY))
    result = runner.status()
    report = result["data"]
    assert result["outputter"] == "ha_status"
    assert report["reports"][C03] == "no answer within 20 s"
    assert report["verdict"] == "degraded" and report["retcode"] == 1
    assert {name for name, part in report["components"].items() if part["verdict"] != "healthy"} == {
        "nodes", "pacemaker", "galera", "rabbitmq", "etcd", "memcached", "haproxy", "services", "chrony"}
    assert context["retcode"] == 1


@pytest.mark.parametrize(("verdict", "retcode"), [("degraded", 1), ("down", 2)])
def test_status_sets_the_exit_code(monkeypatch, context, verdict, retcode):
    report = {"verdict": verdict, "retcode": retcode, "components": {}}
    timeouts = []
    monkeypatch.setattr(runner, "_topology", lambda: copy.deepcopy(TOPOLOGY))
    monkeypatch.setattr(runner, "_report", lambda topology, timeout: timeouts.append(timeout) or report)
    assert runner.status(timeout="7") == {"outputter": "ha_status", "data": report}
    assert context == {"retcode": retcode}
    assert timeouts == [7.0] and isinstance(timeouts[0], float)


def test_status_healthy_leaves_the_exit_code(monkeypatch, context):
    monkeypatch.setattr(runner, "_topology", lambda: copy.deepcopy(TOPOLOGY))
    monkeypatch.setattr(runner, "_report", lambda topology, timeout: {"verdict": "healthy", "retcode": 0})
    assert runner.status()["data"] == {"verdict": "healthy", "retcode": 0}
    assert context == {}


# --- require_healthy ---------------------------------------------------------------------


def degraded() -> dict:
    return {"verdict": "degraded", "retcode": 1, "vip_holder": C01, "components": {
        "nodes": {"verdict": "healthy", "summary": "4 of 4 nodes answer", "problems": []},
        "galera": {"verdict": "degraded", "summary": "2 of 3 Synced", "problems": [f"{C03}: MariaDB is not running",
                                                                                   f"{C02}: cluster size 2"]},
        "memcached": {"verdict": "down", "summary": "0 of 3 answer", "problems": []},
    }}


class Asked(list):
    """The timeouts _report was asked with, and how often the topology was read (``topologies``)."""

    topologies = 0


def scripted_reports(monkeypatch, reports: list) -> Asked:
    """_report answering ``reports`` in turn; returns the timeouts it was asked with. The topology is read once
    per call of require_healthy, never per report."""
    asked = Asked()

    def topology():
        asked.topologies += 1
        return copy.deepcopy(TOPOLOGY)

    monkeypatch.setattr(runner, "_topology", topology)

    def report(topology, timeout=runner.STATUS_TIMEOUT):
        assert topology == TOPOLOGY
        asked.append(timeout)
        return reports.pop(0)

    monkeypatch.setattr(runner, "_report", report)
    return asked


def test_require_healthy_at_once(monkeypatch, fake_time, context):
    scripted_reports(monkeypatch, [HEALTHY])
    assert runner.require_healthy() == {"result": True, "retcode": 0, "comment": "every component is healthy",
                                        "vip_holder": C01}
    assert context == {} and fake_time.sleeps == []


def test_require_healthy_fails_with_what_is_wrong(monkeypatch, fake_time, context):
    scripted_reports(monkeypatch, [degraded()])
    assert runner.require_healthy() == {"result": False, "retcode": 1, "comment": (
        f"the control plane is degraded: galera: {C03}: MariaDB is not running, {C02}: cluster size 2; "
        "memcached: 0 of 3 answer")}
    assert context == {"retcode": 1} and fake_time.sleeps == []


def test_require_healthy_of_a_pillar_with_errors(monkeypatch, fake_time, context):
    scripted_reports(monkeypatch, [{"verdict": "down", "retcode": 2, "errors": ["ha:vip: is required", "ha:x: bad"]}])
    assert runner.require_healthy()["comment"] == "the control plane is down: ha:vip: is required; ha:x: bad"
    assert context == {"retcode": 1}


def test_require_healthy_waits_within_its_timeout(monkeypatch, fake_time, context):
    asked = scripted_reports(monkeypatch, [degraded(), degraded(), HEALTHY])
    assert runner.require_healthy(timeout="60")["result"] is True
    assert fake_time.sleeps == [5, 5] and asked == [20, 20, 20]
    assert asked.topologies == 1
    assert context == {}


def test_require_healthy_gives_up_at_its_timeout(monkeypatch, fake_time, context):
    asked = scripted_reports(monkeypatch, [degraded() for _ in range(10)])
    assert runner.require_healthy(timeout=12)["result"] is False
    # ha_kit.wait: the last sleep ends at the deadline, where the probe runs once more.
    assert fake_time.sleeps == [5, 5, 2] and len(asked) == 4
    assert context == {"retcode": 1}


# --- restart_controller ------------------------------------------------------------------


class Cluster:
    """The controllers as the restart of ``node`` sees them: Pacemaker's view, the sessions, the calls' answers."""

    def __init__(self, client, node=C01):
        self.node, self.standby = node, False
        self.sessions = 0
        self.stale: list[str] = []  # what ha_pacemaker.forget_stale purges
        self.fail: dict[tuple, dict | None] = {}  # (minion, fun) -> its answer instead
        client.answer = self.answer

    def view(self) -> dict:
        up = [n for n in CONTROLLERS if n != self.node or not self.standby]
        return {"quorate": True, "dc": C02, "nodes": dict.fromkeys(CONTROLLERS, True),
                "resources": {"vip": [up[0]], CLONE: up}, "failed_actions": []}

    def answer(self, minion, fun, args):
        if (minion, fun) in self.fail:
            return self.fail[minion, fun]
        if fun == "ha_pacemaker.standby":
            self.standby = args[1]
            return returned(None)
        if fun == "ha_pacemaker.status":
            return returned(self.view())
        if fun == "ha_haproxy.sessions":
            return returned(self.sessions)
        if fun == "ha_health.restart_services":
            return returned({"restarted": [{"name": "galera", "units": ["mariadb"], "seconds": 31.0}]})
        if fun == "ha_pacemaker.forget_stale":
            return returned(self.stale)
        return returned(["galera", "keystone_public"])


@pytest.fixture
def cluster(monkeypatch, client):
    monkeypatch.setattr(runner, "_topology", lambda: copy.deepcopy(TOPOLOGY))
    return Cluster(client)


def test_restart_controller(monkeypatch, client, cluster, context):
    asked = scripted_reports(monkeypatch, [HEALTHY])
    result = runner.restart_controller(C01)
    assert result == {"result": True, "retcode": 0, "node": C01, "seconds": 0.0,
                      "restarted": [{"name": "galera", "units": ["mariadb"], "seconds": 31.0}],
                      "timeline": dict.fromkeys(["standby", "drained", "restarted", "in service", "healthy"], EPOCH)}
    assert client.funs() == [
        (C01, "ha_pacemaker.standby", C01, True),
        (C02, "ha_pacemaker.status"),
        # Out of rotation in the other HAProxies: maint, which a stick table does not bypass.
        (C02, "ha_haproxy.set_state", C01, "maint"),
        (C03, "ha_haproxy.set_state", C01, "maint"),
        (C02, "ha_haproxy.sessions", C01),
        (C03, "ha_haproxy.sessions", C01),
        (C01, "ha_health.restart_services"),
        (C01, "ha_pacemaker.standby", C01, False),
        (C01, "ha_pacemaker.status"),
        (C02, "ha_haproxy.set_state", C01, "ready"),
        (C03, "ha_haproxy.set_state", C01, "ready"),
        (C01, "ha_pacemaker.forget_stale"),
    ]
    assert [call[3] for call in client.calls] == [180, 60, 120, 120, 120, 120, 1800, 180, 60, 120, 120, 120]
    assert asked == [20] and context == {}


def test_restart_controller_purges_a_removed_node_pacemaker_lists_again(monkeypatch, client, cluster):
    scripted_reports(monkeypatch, [HEALTHY])
    cluster.stale = ["openstack-controller05"]
    result = runner.restart_controller(C01)
    assert result["result"] is True and result["forgotten"] == ["openstack-controller05"]
    # Purged before the health gate, which would take it for a node that is not a controller of the pillar.
    assert client.funs()[-1] == (C01, "ha_pacemaker.forget_stale")


def test_restart_controller_waits_for_the_vip_to_leave(monkeypatch, client, cluster, fake_time):
    scripted_reports(monkeypatch, [HEALTHY])
    views = [cluster.view(), cluster.view()]  # still on C01 twice: standby not settled yet
    original = cluster.answer

    def answer(minion, fun, args):
        if fun == "ha_pacemaker.status" and minion == C02 and views:
            return returned(views.pop(0) if cluster.standby else None)
        return original(minion, fun, args)

    client.answer = answer
    assert runner.restart_controller(C01)["result"] is True
    assert client.funs()[:4] == [(C01, "ha_pacemaker.standby", C01, True), (C02, "ha_pacemaker.status"),
                                 (C02, "ha_pacemaker.status"), (C02, "ha_pacemaker.status")]
    assert fake_time.sleeps == [2, 2]


def test_restart_controller_cuts_the_sessions_that_outlast_the_drain(monkeypatch, client, cluster, fake_time):
    scripted_reports(monkeypatch, [HEALTHY])
    cluster.sessions = 2
    result = runner.restart_controller(C01)
    assert result["result"] is True and result["seconds"] == 30.0
    assert result["timeline"] == {"standby": EPOCH, "drained": EPOCH, "restarted": EPOCH + 30,
                                  "in service": EPOCH + 30, "healthy": EPOCH + 30}
    funs = [(tgt, fun) for tgt, fun, *_ in client.funs()]
    # Asked every 2 s for 30 s (only C02: it still has sessions), then cut in every other HAProxy.
    assert funs.count((C02, "ha_haproxy.sessions")) == 16 and (C03, "ha_haproxy.sessions") not in funs
    assert fake_time.sleeps == [2] * 15
    cut = funs.index((C02, "ha_haproxy.shutdown_sessions"))
    assert funs[cut:cut + 3] == [(C02, "ha_haproxy.shutdown_sessions"), (C03, "ha_haproxy.shutdown_sessions"),
                                 (C01, "ha_health.restart_services")]


def test_restart_controller_of_a_node_that_is_not_a_controller(monkeypatch, client, cluster, context):
    result = runner.restart_controller(COMPUTE)
    assert result == {"result": False, "retcode": 1, "node": COMPUTE, "done": [], "timeline": {}, "comment": (
        f"{COMPUTE}: not a controller of the pillar: {CONTROLLERS}. Left as it is after: nothing; "
        "the other controllers are untouched.")}
    assert client.calls == [] and context == {"retcode": 1}


def test_restart_controller_with_pillar_errors(monkeypatch, client, context):
    monkeypatch.setattr(runner, "_topology", lambda: {"errors": ["ha:vip: is required"]})
    result = runner.restart_controller(C01)
    assert result["comment"] == (f"{C01}: not a controller of the pillar: ['ha:vip: is required']. Left as it is "
                                 "after: nothing; the other controllers are untouched.")
    assert client.calls == [] and context == {"retcode": 1}


def test_restart_controller_when_standby_fails(client, cluster, context):
    cluster.fail[C01, "ha_pacemaker.standby"] = returned("pcs node standby failed: Error: unable to wait", 1)
    result = runner.restart_controller(C01)
    assert result == {"result": False, "retcode": 1, "node": C01, "done": [], "timeline": {}, "comment": (
        f"{C01}: ha_pacemaker.standby failed: pcs node standby failed: Error: unable to wait. "
        "Left as it is after: nothing; the other controllers are untouched.")}
    assert len(client.calls) == 1 and context == {"retcode": 1}


def test_restart_controller_of_a_silent_node(client, cluster, context):
    cluster.fail[C01, "ha_pacemaker.standby"] = None
    result = runner.restart_controller(C01)
    assert result["comment"].startswith(f"{C01}: {C01} did not answer ha_pacemaker.standby within 180 s. ")


def test_restart_controller_when_a_restart_fails_leaves_the_node_drained(client, cluster, context):
    cluster.fail[C01, "ha_health.restart_services"] = returned(
        "CommandExecutionError: rabbitmq restarted but not healthy: did not see RabbitMQ whole within 300 s", 1)
    result = runner.restart_controller(C01)
    assert result["done"] == ["standby", "drained"]
    assert result["timeline"] == {"standby": EPOCH, "drained": EPOCH}
    assert result["comment"] == (
        f"{C01}: ha_health.restart_services failed: CommandExecutionError: rabbitmq restarted but not "
        "healthy: did not see RabbitMQ whole within 300 s. Left as it is after: standby, drained; the other "
        "controllers are untouched.")
    assert (C01, "ha_pacemaker.standby", C01, False) not in client.funs()
    assert context == {"retcode": 1}


def test_restart_controller_when_haproxy_does_not_come_back(monkeypatch, client, cluster, fake_time, context):
    original = cluster.answer

    def answer(minion, fun, args):
        if fun == "ha_pacemaker.standby" and args[1] is False:
            return returned(None)  # unstandby "done", the clone still not started there
        return original(minion, fun, args)

    client.answer = answer
    result = runner.restart_controller(C01)
    assert result["done"] == ["standby", "drained", "restarted"]
    assert result["comment"].startswith(f"{C01}: did not see HAProxy running on {C01} again within 120 s: "
                                        "the last check returned False. Left as it is after: standby, drained, "
                                        "restarted; ")
    assert (C02, "ha_haproxy.set_state", C01, "ready") not in client.funs()


def test_restart_controller_when_the_whole_is_not_healthy_after(monkeypatch, client, cluster, fake_time, context):
    asked = scripted_reports(monkeypatch, [degraded() for _ in range(100)])
    result = runner.restart_controller(C01)
    assert result["done"] == ["standby", "drained", "restarted", "in service"]
    assert result["comment"] == (
        f"{C01}: the control plane is degraded: galera: {C03}: MariaDB is not running, {C02}: cluster size 2; "
        "memcached: 0 of 3 answer. Left as it is after: standby, drained, restarted, in service; the other "
        "controllers are untouched.")
    assert len(asked) == 61  # every 5 s for HEALTHY_TIMEOUT (300 s)
    assert context == {"retcode": 1}


def test_restart_controller_passes_the_steps_to_the_node(monkeypatch, client, cluster):
    scripted_reports(monkeypatch, [HEALTHY, HEALTHY])
    assert runner.restart_controller(C01, steps=["openstack"])["result"] is True
    assert runner.restart_controller(C01)["result"] is True
    restarts = [(tgt, kwargs) for (tgt, fun, *_), kwargs in zip(client.funs(), client.kwargs, strict=True)
                if fun == "ha_health.restart_services"]
    # None: every step (ha_health.restart_services' default).
    assert restarts == [(C01, {"steps": ["openstack"]}), (C01, {"steps": None})]


# --- require_removable ---------------------------------------------------------------------------


C04, C05 = "openstack-controller04", "openstack-controller05"


def judged(monkeypatch, reports: list) -> list[dict]:
    """_report answering ``reports`` in turn; returns the topologies it was asked to judge."""
    topologies = []
    monkeypatch.setattr(runner, "_topology", lambda: copy.deepcopy(TOPOLOGY))
    monkeypatch.setattr(runner, "_report", lambda topology, timeout=runner.STATUS_TIMEOUT: topologies.append(
        copy.deepcopy(topology)) or reports.pop(0))
    return topologies


@pytest.mark.parametrize("listed", [C03, [C04, C02], COMPUTE])
def test_require_removable_of_a_node_still_in_the_pillar(monkeypatch, context, listed):
    topologies = judged(monkeypatch, [HEALTHY])
    still = [node for node in runner._names(listed) if node != C04]
    assert runner.require_removable(listed) == {"result": False, "retcode": 1, "comment": (
        f"{', '.join(still)} still listed in ha:nodes: remove it from the pillar first (at least three controllers "
        "stay), then run the removal again")}
    assert topologies == [] and context == {"retcode": 1}


def test_require_removable_of_no_node(monkeypatch, context):
    topologies = judged(monkeypatch, [HEALTHY])
    result = runner.require_removable([])
    assert result["result"] is False and result["comment"].startswith("name the controllers to remove: ")
    assert topologies == [] and context == {"retcode": 1}


def test_require_removable_of_a_pillar_with_errors(monkeypatch, context):
    monkeypatch.setattr(runner, "_topology", lambda: {"errors": ["ha:nodes: 2 controllers, at least 3"],
                                                      "controllers": [], "computes": [], "all": [], "first": None})
    assert runner.require_removable(C04) == {"result": False, "retcode": 1, "comment": (
        "the pillar is not valid: ha:nodes: 2 controllers, at least 3")}
    assert context == {"retcode": 1}


def test_require_removable_judges_the_control_plane_with_the_leaving_nodes(monkeypatch, fake_time, context):
    topologies = judged(monkeypatch, [HEALTHY])
    assert runner.require_removable(C04) == {"result": True, "retcode": 0, "comment": "every component is healthy",
                                             "vip_holder": C01}
    (seen,) = topologies
    assert seen["controllers"] == [*CONTROLLERS, C04] and seen["all"] == [*CONTROLLERS, C04, COMPUTE]
    assert seen["rabbitmq_names"] == {**TOPOLOGY["rabbitmq_names"], C04: f"rabbit@{C04}"}
    assert {k: v for k, v in seen.items() if k not in ("controllers", "all", "rabbitmq_names")} == {
        k: v for k, v in TOPOLOGY.items() if k not in ("controllers", "all", "rabbitmq_names")}
    assert context == {} and fake_time.sleeps == []


def test_require_removable_of_two_nodes_a_long_name_and_a_degraded_control_plane(monkeypatch, fake_time, context):
    topologies = judged(monkeypatch, [degraded()])
    result = runner.require_removable([C04, f"{C05}.example.org"])
    assert result["result"] is False and result["comment"].startswith("the control plane is degraded: galera: ")
    # Judged once (no timeout given: not asked again), with both nodes and RabbitMQ's short node name.
    (seen,) = topologies
    assert seen["controllers"] == [*CONTROLLERS, C04, f"{C05}.example.org"]
    assert seen["rabbitmq_names"][f"{C05}.example.org"] == f"rabbit@{C05}"
    assert context == {"retcode": 1} and fake_time.sleeps == []


def test_require_removable_asks_again_within_its_timeout(monkeypatch, fake_time, context):
    # The orchestration's precheck (timeout: 120): a report not healthy yet is asked for again, every 5 s, each
    # time of the control plane with the leaving node.
    topologies = judged(monkeypatch, [degraded(), degraded(), HEALTHY])
    assert runner.require_removable([C04], timeout="120") == {
        "result": True, "retcode": 0, "comment": "every component is healthy", "vip_holder": C01}
    assert fake_time.sleeps == [5, 5] and len(topologies) == 3
    assert all(seen["controllers"] == [*CONTROLLERS, C04] for seen in topologies)
    assert context == {}


def test_require_removable_gives_up_at_its_timeout(monkeypatch, fake_time, context):
    topologies = judged(monkeypatch, [degraded() for _ in range(10)])
    assert runner.require_removable(C04, timeout=12) == {"result": False, "retcode": 1, "comment": (
        f"the control plane is degraded: galera: {C03}: MariaDB is not running, {C02}: cluster size 2; "
        "memcached: 0 of 3 answer")}
    # ha_kit.wait: the last sleep ends at the deadline, where the report is asked for once more.
    assert fake_time.sleeps == [5, 5, 2] and len(topologies) == 4
    assert context == {"retcode": 1}


@pytest.mark.parametrize(("given", "passed"), [({}, 0.0), ({"timeout": 120}, 120.0), ({"timeout": "7.5"}, 7.5)])
def test_require_removable_passes_its_timeout_to_the_health_gate(monkeypatch, given, passed):
    judged(monkeypatch, [])
    gates = []
    monkeypatch.setattr(runner, "_require_healthy", lambda topology, timeout: gates.append(
        (topology["controllers"], timeout)) or {"result": True})
    assert runner.require_removable(C04, **given) == {"result": True}
    assert gates == [([*CONTROLLERS, C04], passed)] and isinstance(gates[0][1], float)


# --- remove_controller ---------------------------------------------------------------------------


class Leaving:
    """
    The clusters while ``node`` leaves them, as the remaining controllers and the node answer the runner:
    each call changes what the next ones see (the node in standby, out of Pacemaker, forgotten by RabbitMQ,
    out of Galera once MariaDB stopped there, out of etcd). The removal functions on the ``first`` controller wait
    for their own cluster to agree (their unit tests): here they return whether there was something to remove.
    ``others``: other leaving controllers, still members of every cluster. ``order``: the order in which
    Pacemaker lists its nodes, when not the default; ``sessions``: the node's sessions that a minion's HAProxy
    keeps (none by default).
    """

    def __init__(self, client, node=C04, others=(), first=C01):
        self.node, self.others, self.first = node, list(others), first
        self.order: list[str] | None = None
        self.sessions: dict[str, int] = {}
        self.standby = False
        self.in_pacemaker = self.in_rabbitmq = self.in_galera = self.in_etcd = True
        self.retired: list[list[str]] = []
        self.fail: dict[tuple, dict | None] = {}
        client.answer = self.answer

    def members(self, still: bool) -> list[str]:
        nodes = [*CONTROLLERS, *self.others, *([self.node] if still else [])]
        return [n for n in self.order if n in nodes] if self.order else nodes

    def answer(self, minion, fun, args):
        if (minion, fun) in self.fail:
            return self.fail[minion, fun]
        if fun == "ha_pacemaker.status":
            nodes = self.members(self.in_pacemaker)
            clone = [n for n in nodes if n != self.node or not self.standby]
            return returned({"quorate": True, "dc": C01, "nodes": dict.fromkeys(nodes, True),
                             "resources": {"vip": [clone[0]], CLONE: clone}, "failed_actions": []})
        if fun == "ha_pacemaker.standby":
            assert minion == self.node
            self.standby = args[1]
            return returned(None)
        if fun == "ha_haproxy.sessions":
            return returned(self.sessions.get(minion, 0))
        if fun == "ha_health.retire_services":
            assert minion == self.node
            self.retired.append(args[0])
            if args[0] == ["galera"]:
                self.in_galera = False
            return returned(["unit"])
        removed = {"ha_pacemaker.node_remove": "in_pacemaker", "ha_rabbitmq.forget": "in_rabbitmq",
                   "ha_etcd.member_remove": "in_etcd"}
        if fun in removed:
            assert minion == self.first
            was = getattr(self, removed[fun])
            setattr(self, removed[fun], False)
            return returned(was)
        if fun == "ha_galera.status":
            if minion == self.node and not self.in_galera:
                return returned({"running": False, "synced": False, "grastate": {"seqno": 1234}})
            size = len(self.members(self.in_galera))
            return returned({"running": True, "synced": True, "wsrep": {"cluster_size": size,
                                                                          "local_state_comment": "Synced"}})
        assert fun in ("ha_haproxy.set_state", "ha_haproxy.shutdown_sessions", "ha_rabbitmq.remove_data",
                       "ha_etcd.remove_data"), fun
        return returned(True)


@pytest.fixture
def leaving(monkeypatch, client):
    monkeypatch.setattr(runner, "_topology", lambda: copy.deepcopy(TOPOLOGY))
    return Leaving(client)


RABBITS = [f"rabbit@{node}" for node in CONTROLLERS]
STEPS = ["standby", "drained", "OpenStack stopped", "out of Pacemaker", "out of RabbitMQ", "out of Galera",
         "out of etcd", "stopped"]


def drain(node: str, others: list[str], first: str = C01) -> list[tuple]:
    """The calls of ``node``'s drain: the Pacemaker members as the first controller sees them, standby, the VIP and
    HAProxy off it as the first sees it, its servers in maint in the ``others``' HAProxies, their sessions."""
    return [
        (first, "ha_pacemaker.status"),
        (node, "ha_pacemaker.standby", node, True),
        (first, "ha_pacemaker.status"),
        *[(other, "ha_haproxy.set_state", node, "maint") for other in others],
        *[(other, "ha_haproxy.sessions", node) for other in others],
    ]


def removal(node=C04, first=C01) -> list[tuple]:
    """The calls of ``node``'s removal after its drain, in order: each cluster in turn, the cluster-wide step on
    the ``first`` controller, with its own bound (LEFT_TIMEOUT) to agree; Galera's gate (one look, every
    controller that stays) also when MariaDB did not run there any more."""
    return [
        (node, "ha_health.retire_services", ["openstack"]),
        (first, "ha_pacemaker.node_remove", node, 180),
        (node, "ha_health.retire_services", ["rabbitmq"]),
        (first, "ha_rabbitmq.forget", f"rabbit@{node}", 180),
        (node, "ha_rabbitmq.remove_data"),
        # Galera: whether MariaDB runs there, the cluster's size as the first controller sees it, the node's clean
        # shutdown, then every controller that stays Synced, the cluster one member smaller (as large when it
        # had left already).
        (node, "ha_galera.status"),
        (first, "ha_galera.status"),
        (node, "ha_health.retire_services", ["galera"]),
        *[(other, "ha_galera.status") for other in CONTROLLERS],
        (node, "ha_health.retire_services", ["etcd"]),
        (first, "ha_etcd.member_remove", ETCD_ENDPOINTS, node, 180),
        (node, "ha_etcd.remove_data"),
        (node, "ha_health.retire_services", ["memcached", "pacemaker", "other"]),
    ]


def test_remove_controller(client, leaving, fake_time, context):
    assert runner.remove_controller(C04) == {"result": True, "retcode": 0, "node": C04, "done": STEPS,
                                             "seconds": 0.0}
    assert client.funs() == [
        # The Pacemaker members, as the first controller sees them.
        (C01, "ha_pacemaker.status"),
        # Out of service, as in the rolling restart: out of every other member's HAProxy, the first one's first.
        (C04, "ha_pacemaker.standby", C04, True),
        (C01, "ha_pacemaker.status"),
        (C01, "ha_haproxy.set_state", C04, "maint"),
        (C02, "ha_haproxy.set_state", C04, "maint"),
        (C03, "ha_haproxy.set_state", C04, "maint"),
        (C01, "ha_haproxy.sessions", C04),
        (C02, "ha_haproxy.sessions", C04),
        (C03, "ha_haproxy.sessions", C04),
        (C04, "ha_health.retire_services", ["openstack"]),
        (C01, "ha_pacemaker.node_remove", C04, 180),
        (C04, "ha_health.retire_services", ["rabbitmq"]),
        (C01, "ha_rabbitmq.forget", f"rabbit@{C04}", 180),
        (C04, "ha_rabbitmq.remove_data"),
        (C04, "ha_galera.status"),
        (C01, "ha_galera.status"),
        (C04, "ha_health.retire_services", ["galera"]),
        (C01, "ha_galera.status"),
        (C02, "ha_galera.status"),
        (C03, "ha_galera.status"),
        (C04, "ha_health.retire_services", ["etcd"]),
        (C01, "ha_etcd.member_remove", ETCD_ENDPOINTS, C04, 180),
        (C04, "ha_etcd.remove_data"),
        (C04, "ha_health.retire_services", ["memcached", "pacemaker", "other"]),
    ]
    assert client.funs() == [*drain(C04, CONTROLLERS), *removal(C04)]
    timeouts = [(tgt, fun, timeout) for tgt, fun, _, timeout in client.calls]
    # A removal function's call: the command's own bound, then its wait for the cluster (2 * 180 + 60).
    assert [timeout for _, fun, timeout in timeouts if fun in (
        "ha_pacemaker.node_remove", "ha_rabbitmq.forget", "ha_etcd.member_remove")] == [480, 480, 480]
    assert {timeout for _, fun, timeout in timeouts if fun == "ha_health.retire_services"} == {600}
    assert [timeout for _, fun, timeout in timeouts if fun == "ha_galera.status"] == [60] * 5
    assert [timeout for _, fun, timeout in timeouts if fun == "ha_pacemaker.status"] == [60, 60]
    assert [timeout for _, fun, timeout in timeouts if fun.endswith(".remove_data")] == [120, 120]
    assert [timeout for _, fun, timeout in timeouts if fun == "ha_pacemaker.standby"] == [180]
    # The bounds go as arguments of the functions, nothing as keyword arguments.
    assert client.kwargs == [{}] * len(client.calls)
    assert leaving.retired == [["openstack"], ["rabbitmq"], ["galera"], ["etcd"], ["memcached", "pacemaker", "other"]]
    # Every gate met at its first look: nothing waited.
    assert context == {} and fake_time.sleeps == []


def test_remove_controller_waits_for_galera_to_shrink(client, leaving, fake_time, context):
    # C02 still counts the node at the first look; C03 is not Synced yet at the second.
    seen = {C02: [{"running": True, "synced": True, "wsrep": {"cluster_size": 4, "local_state_comment": "Synced"}}],
            C03: [{"running": True, "synced": False, "wsrep": {"cluster_size": 3, "local_state_comment": "Joined"}}]}
    original = leaving.answer

    def answer(minion, fun, args):
        if fun == "ha_galera.status" and seen.get(minion) and not leaving.in_galera:
            return returned(seen[minion].pop(0))
        return original(minion, fun, args)

    client.answer = answer
    assert runner.remove_controller(C04)["done"] == STEPS
    statuses = [tgt for tgt, fun, *_ in client.funs() if fun == "ha_galera.status"]
    # The node and the first controller before the shutdown, then a look at each controller in turn until one is
    # not there yet.
    assert statuses == [C04, C01, C01, C02, C01, C02, C03, C01, C02, C03]
    assert fake_time.sleeps == [2, 2] and context == {}


@pytest.mark.parametrize("others", [[], [C05]])
def test_remove_controller_takes_galeras_size_from_the_first_controller(client, leaving, fake_time, context, others):
    # The leaving node sees itself alone (a component of its own, not Primary): its view is not the cluster's.
    # The gate is one member fewer than the first controller saw before the shutdown: 4 to 3, or 5 to 4 while
    # C05 is still a member.
    leaving.others = others
    original = leaving.answer
    alone = {"running": True, "synced": False, "wsrep": {"cluster_size": 1, "local_state_comment": "Initialized"}}
    client.answer = lambda minion, fun, args: (
        returned(alone) if (minion, fun) == (C04, "ha_galera.status") and leaving.in_galera
        else original(minion, fun, args))
    assert runner.remove_controller(C04)["done"] == STEPS
    assert [call for call in client.funs() if call[1] == "ha_galera.status"] == [
        (C04, "ha_galera.status"), (C01, "ha_galera.status"), *[(other, "ha_galera.status") for other in CONTROLLERS]]
    assert fake_time.sleeps == [] and context == {}


def test_remove_controller_of_a_node_that_left_pacemaker_already(client, leaving, fake_time):
    # A run that stopped after pcs cluster node remove, run again: no drain, nothing to remove from Pacemaker.
    leaving.in_pacemaker = False
    result = runner.remove_controller(C04)
    assert result["result"] is True
    assert result["done"] == ["OpenStack stopped", "out of RabbitMQ", "out of Galera", "out of etcd", "stopped"]
    assert client.funs() == [(C01, "ha_pacemaker.status"), *removal(C04)]


def test_remove_controller_run_again_after_every_cluster_let_it_go(client, leaving, fake_time):
    # A run that stopped at the last step, run again: every step again, each with nothing to remove; the removal
    # functions still called (each waits for its cluster, their unit tests), Galera stopped there already: its
    # gate looks once at the rest, as large as before.
    leaving.in_pacemaker = leaving.in_rabbitmq = leaving.in_galera = leaving.in_etcd = False
    result = runner.remove_controller(C04)
    assert result["result"] is True and result["done"] == ["OpenStack stopped", "stopped"]
    assert client.funs() == [(C01, "ha_pacemaker.status"), *removal(C04)]
    assert [timeout for _, fun, _, timeout in client.calls if fun in (
        "ha_pacemaker.node_remove", "ha_rabbitmq.forget", "ha_etcd.member_remove")] == [480, 480, 480]
    assert fake_time.sleeps == []


def test_remove_controller_stops_at_the_first_failing_step(client, leaving, context):
    leaving.fail[C01, "ha_rabbitmq.forget"] = returned(
        "CommandExecutionError: rabbitmqctl forget_cluster_node failed: Error: {:active, 'Mnesia is running'}", 1)
    result = runner.remove_controller(C04)
    assert result == {"result": False, "retcode": 1, "node": C04, "done": STEPS[:4], "comment": (
        f"{C04}: {C01}: ha_rabbitmq.forget failed: CommandExecutionError: rabbitmqctl forget_cluster_node failed: "
        "Error: {:active, 'Mnesia is running'}. Left as it is after: standby, drained, OpenStack stopped, out of "
        f"Pacemaker; once the cause is fixed, salt-run ha.remove_controller {C04} goes on from there.")}
    assert client.funs() == [*drain(C04, CONTROLLERS), *removal(C04)[:4]]
    assert leaving.retired == [["openstack"], ["rabbitmq"]]
    assert context == {"retcode": 1}


def test_remove_controller_when_rabbitmq_does_not_agree(client, leaving, context):
    # forget_cluster_node done, the rest not agreeing within the function's wait: the node's data is kept.
    why = (f"did not see RabbitMQ without rabbit@{C04} within 180 s: members {RABBITS}, running "
           f"{RABBITS[:2]}, partitions {{'rabbit@{C01}': ['rabbit@{C03}']}}")
    leaving.fail[C01, "ha_rabbitmq.forget"] = returned(f"CommandExecutionError: {why}", 1)
    result = runner.remove_controller(C04)
    assert result["done"] == STEPS[:4]
    assert result["comment"] == (f"{C04}: {C01}: ha_rabbitmq.forget failed: CommandExecutionError: {why}. Left as "
                                 "it is after: standby, drained, OpenStack stopped, out of Pacemaker; once the cause "
                                 f"is fixed, salt-run ha.remove_controller {C04} goes on from there.")
    assert client.funs()[-1] == (C01, "ha_rabbitmq.forget", f"rabbit@{C04}", 180)
    assert (C04, "ha_rabbitmq.remove_data") not in client.funs()
    assert context == {"retcode": 1}


def test_remove_controller_when_pacemaker_does_not_agree(client, leaving, context):
    why = f"did not see {C04} gone from a quorate cluster within 180 s: quorate: False, nodes online: {{}}"
    leaving.fail[C01, "ha_pacemaker.node_remove"] = returned(f"CommandExecutionError: {why}", 1)
    result = runner.remove_controller(C04)
    assert result["done"] == STEPS[:3]
    assert result["comment"].startswith(f"{C04}: {C01}: ha_pacemaker.node_remove failed: CommandExecutionError: "
                                        f"{why}. Left as it is after: standby, drained, OpenStack stopped; ")
    assert client.funs()[-1] == (C01, "ha_pacemaker.node_remove", C04, 180)
    assert leaving.retired == [["openstack"]]


def test_remove_controller_when_galera_does_not_shrink(client, leaving, fake_time, context):
    original = leaving.answer
    client.answer = lambda minion, fun, args: (
        returned({"running": True, "synced": True, "wsrep": {"cluster_size": 4, "local_state_comment": "Synced"}})
        if fun == "ha_galera.status" else original(minion, fun, args))
    result = runner.remove_controller(C04)
    assert result["done"] == STEPS[:5]
    assert result["comment"] == (f"{C04}: did not see Galera without {C04} within 180 s: {C01}: Synced, size 4, "
                                 "expected 3. Left as it is after: standby, drained, OpenStack stopped, out of "
                                 f"Pacemaker, out of RabbitMQ; once the cause is fixed, salt-run "
                                 f"ha.remove_controller {C04} goes on from there.")
    # Every 2 s for LEFT_TIMEOUT, and once more at the deadline; etcd not touched.
    assert fake_time.sleeps == [2] * 90
    assert [tgt for tgt, fun, *_ in client.funs() if fun == "ha_galera.status"] == [C04, C01, *[C01] * 91]
    assert client.funs()[-1] == (C01, "ha_galera.status")
    assert (C04, "ha_health.retire_services", ["etcd"]) not in client.funs()
    assert context == {"retcode": 1}


def test_remove_controller_when_a_remaining_galera_member_does_not_answer(client, leaving, fake_time):
    original = leaving.answer
    client.answer = lambda minion, fun, args: (
        returned({"running": False, "synced": False, "grastate": {}}) if (minion, fun) == (C03, "ha_galera.status")
        else original(minion, fun, args))
    result = runner.remove_controller(C04)
    assert result["comment"].startswith(f"{C04}: did not see Galera without {C04} within 180 s: {C03}: not running, "
                                        "size None, expected 3. ")


def test_remove_controller_of_a_node_whose_galera_is_stopped(client, leaving, fake_time):
    # MariaDB not running there (stopped by hand, or a run that stopped after its shutdown): shut down again
    # (disabled); the rest agree at once, as large as before.
    leaving.in_galera = False
    result = runner.remove_controller(C04)
    assert result["done"] == [step for step in STEPS if step != "out of Galera"]
    assert client.funs() == [*drain(C04, CONTROLLERS), *removal(C04)]
    assert ["galera"] in leaving.retired and fake_time.sleeps == []


def test_remove_controller_when_etcd_does_not_agree(client, leaving, context):
    # member remove done, the rest not healthy within the function's wait: the node's data is kept.
    why = (f"did not see etcd without {C04} within 180 s: listed and not healthy, or still listed: "
           f"{C01}, {C02}")
    leaving.fail[C01, "ha_etcd.member_remove"] = returned(f"CommandExecutionError: {why}", 1)
    result = runner.remove_controller(C04)
    assert result["done"] == STEPS[:6]
    assert result["comment"].startswith(f"{C04}: {C01}: ha_etcd.member_remove failed: CommandExecutionError: {why}. "
                                        "Left as it is after: ")
    assert client.funs()[-1] == (C01, "ha_etcd.member_remove", ETCD_ENDPOINTS, C04, 180)
    assert leaving.retired[-1] == ["etcd"]


def test_remove_controller_of_a_silent_node(client, leaving, context):
    leaving.fail[C04, "ha_health.retire_services"] = None
    result = runner.remove_controller(C04)
    assert result["done"] == ["standby", "drained"]
    assert result["comment"].startswith(f"{C04}: {C04} did not answer ha_health.retire_services within 600 s. ")


@pytest.mark.parametrize(("node", "why"), [
    (C02, f"{C02} still listed in ha:nodes: remove it from the pillar first"),
    (COMPUTE, f"{COMPUTE} still listed in ha:nodes"),
])
def test_remove_controller_of_a_node_still_in_the_pillar(client, leaving, context, node, why):
    result = runner.remove_controller(node)
    assert result["result"] is False and result["done"] == []
    assert result["comment"].startswith(f"{node}: {why}")
    assert client.calls == [] and context == {"retcode": 1}


def test_remove_controller_while_another_leaving_controller_is_still_in(client, leaving, fake_time, context):
    # remove: [C04, C05]: the orchestration removes C04 first, while C05 is still a member of every cluster
    # (Pacemaker, RabbitMQ, Galera, etcd): the gates judge the live clusters, C05 in them does not hold C04 up.
    leaving.others = [C05]
    assert runner.remove_controller(C04) == {"result": True, "retcode": 0, "node": C04, "done": STEPS,
                                             "seconds": 0.0}
    # C04 out of C05's HAProxy too (C05 is a Pacemaker member: it may hold the VIP); Galera from five to four.
    assert client.funs() == [*drain(C04, [*CONTROLLERS, C05]), *removal(C04)]
    # Nothing else of C05: no call of it but the drain's, never named in a call.
    assert [fun for tgt, fun, *_ in client.funs() if tgt == C05] == ["ha_haproxy.set_state", "ha_haproxy.sessions"]
    assert not [call for call in client.funs() if C05 in call[2:]]
    assert fake_time.sleeps == []
    # Then C05, out of the clusters of the three that stay: Galera from four to three; C04 long gone.
    client.calls.clear()
    Leaving(client, node=C05)
    assert runner.remove_controller(C05)["done"] == STEPS
    assert client.funs() == [*drain(C05, CONTROLLERS), *removal(C05)]
    assert not [call for call in client.funs() if C04 in (call[0], *call[2:])]
    assert fake_time.sleeps == [] and context == {}


def test_remove_controller_drains_it_from_a_second_leaving_controllers_haproxy(monkeypatch, client, fake_time,
                                                                               context):
    # remove: [C04, C05], the first controller C02 (not the first by name), Pacemaker listing its nodes in an order
    # of its own, C05 holding the VIP; C05's HAProxy keeps a session of C04 past the drain's bound.
    monkeypatch.setattr(runner, "_topology", lambda: {**copy.deepcopy(TOPOLOGY), "first": C02})
    leaving = Leaving(client, others=[C05], first=C02)
    leaving.order = [C05, C03, C04, C01, C02]
    leaving.sessions = {C05: 1}
    assert runner.remove_controller(C04)["done"] == STEPS
    # Every other member's HAProxy, the first controller's first, then by name: C05's too.
    others = [C02, C01, C03, C05]
    # Asked every 2 s for DRAIN_TIMEOUT (30 s), each look every HAProxy until one has a session, then cut in all.
    sessions = [(other, "ha_haproxy.sessions", C04) for other in others]
    assert client.funs() == [
        (C02, "ha_pacemaker.status"),
        (C04, "ha_pacemaker.standby", C04, True),
        (C02, "ha_pacemaker.status"),
        *[(other, "ha_haproxy.set_state", C04, "maint") for other in others],
        *sessions * 16,
        *[(other, "ha_haproxy.shutdown_sessions", C04) for other in others],
        *removal(C04, first=C02),
    ]
    assert fake_time.sleeps == [2] * 15 and context == {}


def test_remove_controller_leaves_galera_alone_when_the_first_is_no_member(client, leaving, fake_time, context):
    # The size to shrink from is the first controller's: without it there is no gate to wait for, and the
    # node's MariaDB, the cluster's member, is not shut down.
    original = leaving.answer
    client.answer = lambda minion, fun, args: (
        returned({"running": False, "synced": False, "grastate": {}}) if (minion, fun) == (C01, "ha_galera.status")
        else original(minion, fun, args))
    result = runner.remove_controller(C04)
    assert result["result"] is False and result["done"] == STEPS[:5]
    assert result["comment"].startswith(f"{C04}: Galera: {C01} is no running member; {C04} is left as it is. ")
    assert ["galera"] not in leaving.retired and fake_time.sleeps == []
    assert client.funs()[-1] == (C01, "ha_galera.status")


def test_remove_controller_run_again_waits_for_galera_as_large_as_before(client, leaving, fake_time, context):
    # MariaDB had left already (a run that stopped at Galera's gate, run again): the rest must still agree on
    # the size the first controller sees; one that does not is waited for, then named.
    leaving.in_galera = False
    original = leaving.answer
    client.answer = lambda minion, fun, args: (
        returned({"running": True, "synced": False, "wsrep": {"cluster_size": 3, "local_state_comment": "Donor"}})
        if (minion, fun) == (C03, "ha_galera.status") else original(minion, fun, args))
    result = runner.remove_controller(C04)
    assert result["result"] is False and fake_time.sleeps == [2] * 90
    assert f"did not see Galera without {C04} within 180 s: {C03}: Donor, size 3, expected 3. " in result["comment"]
    assert (C04, "ha_health.retire_services", ["etcd"]) not in client.funs()
