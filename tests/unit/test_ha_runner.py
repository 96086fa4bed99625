"""Unit tests of _runners/ha.py: the bounded ask of every node, ha.status, ha.require_healthy and the restart of one
controller, over a fake LocalClient and a fake clock."""

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
TOPOLOGY = {"errors": [], "first": C01, "controllers": CONTROLLERS, "computes": [COMPUTE], "all": ALL,
            "vip": "10.10.10.69", "rabbitmq_names": {node: f"rabbit@{node}" for node in CONTROLLERS},
            "served_listeners": SERVED}
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
                 for name in ("plan", "rabbitmq_node", "served_listeners")}
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
        "nodes", "pacemaker", "galera", "rabbitmq", "etcd", "memcached", "haproxy", "chrony"}
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
    ]
    assert [call[3] for call in client.calls] == [180, 60, 120, 120, 120, 120, 1800, 180, 60, 120, 120]
    assert asked == [20] and context == {}


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
