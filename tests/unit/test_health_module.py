"""Unit tests of _modules/ha_health.py: one node's report for ha.status, and a controller's restart with its gates."""

from __future__ import annotations

import contextvars
import copy
import json
import threading
import time
from pathlib import Path

import pytest
from salt.exceptions import CommandExecutionError

from tests.helpers import load_module

ha_health = load_module("_modules/ha_health.py", "ha_health_module")
ha_haproxy = load_module("_modules/ha_haproxy.py", "ha_haproxy_for_health")
DATA = Path(__file__).parent / "data"
HEALTHY = json.loads((DATA / "status-healthy.json").read_text())
C01, C02, C03 = CONTROLLERS = [f"openstack-controller0{i}" for i in (1, 2, 3)]
RABBITS = [f"rabbit@{node}" for node in CONTROLLERS]
UUID = "925882f2-ee48-11f1-8ec3-8a497de72470"
IDS = {C01: "8e9e05c52164694d", C02: "162317a6c3b89a02", C03: "f1eec1a7a4b1a233"}
URLS = {node: f"http://10.10.10.5{i}:2379" for i, node in enumerate(CONTROLLERS, 1)}
# memcached 1.6's answer to stats, shortened.
STATS = (b"STAT pid 812\r\nSTAT uptime 209\r\nSTAT time 1796300000\r\nSTAT version 1.6.18\r\n"
         b"STAT libevent 2.1.12-stable\r\nSTAT curr_connections 9\r\nSTAT total_connections 41\r\nEND\r\n")
# The formula's map on Debian, what restart_steps reads of it.
MAP = {
    "galera": {"service": "mariadb"},
    "rabbitmq": {"service": "rabbitmq-server", "watchdog": {"unit": "ha-rabbitmq-watchdog"}},
    "etcd": {"service": "etcd"},
    "memcached": {"service": "memcached"},
    "pacemaker": {"services": ["corosync", "pacemaker"], "vip_guard": {"unit": "ha-vip-guard"}},
}
# What ha_openstack.units answers on Debian.
OPENSTACK_UNITS = ["keystone", "glance-api", "placement-api", "nova-api", "nova-api-metadata", "nova-conductor",
                   "nova-scheduler", "nova-novncproxy"]
STEP_UNITS = {"galera": ["mariadb"], "rabbitmq": ["rabbitmq-server", "ha-rabbitmq-watchdog"], "etcd": ["etcd"],
              "memcached": ["memcached"], "pacemaker": ["corosync", "pacemaker", "ha-vip-guard"],
              "openstack": OPENSTACK_UNITS}
# Every unit the formula runs on a controller, in the order of the steps.
UNITS = [unit for units in STEP_UNITS.values() for unit in units]


class Connection:
    """What socket.create_connection returns, answering memcached's stats in ``chunks``."""

    def __init__(self, chunks: list[bytes]):
        self.chunks, self.sent = list(chunks), b""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def sendall(self, data: bytes) -> None:
        self.sent += data

    def recv(self, size: int) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""


class Memcached:
    """socket.create_connection in ha_health: records the addresses, answers with ``chunks`` or raises ``error``."""

    def __init__(self):
        self.chunks: list[bytes] = [STATS]
        self.error: OSError | None = None
        self.calls: list[tuple] = []
        self.connections: list[Connection] = []

    def __call__(self, address, timeout=None):
        self.calls.append((address, timeout))
        if self.error:
            raise self.error
        self.connections.append(Connection(self.chunks))
        return self.connections[-1]


@pytest.fixture
def memcached(monkeypatch):
    fake = Memcached()
    monkeypatch.setattr(ha_health.socket, "create_connection", fake)
    return fake


def galera_status() -> dict:
    return {"running": True, "grastate": {"uuid": UUID, "seqno": -1},
            "wsrep": {"wsrep_on": True, "cluster_size": 3, "cluster_status": "Primary", "local_state": 4,
                      "local_state_comment": "Synced", "cluster_state_uuid": UUID, "ready": True, "connected": True,
                      "read_only": False, "last_committed": 1162},
            "position": {"uuid": UUID, "seqno": 1162}, "synced": True}


def cluster_status(running=None) -> dict:
    return {"running_nodes": list(RABBITS if running is None else running), "disc_nodes": list(RABBITS),
            "ram_nodes": [], "partitions": {}, "alarms": []}


class Calls(dict):
    """__salt__ of fakes, recording each call as (name, args, kwargs)."""

    def __init__(self, functions: dict):
        super().__init__()
        self.calls: list[tuple] = []
        for name, function in functions.items():
            self[name] = function

    def __setitem__(self, name, function):
        def recorded(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            return function(*args, **kwargs)

        super().__setitem__(name, recorded)

    def names(self) -> list[str]:
        return [call[0] for call in self.calls]


def systemctl(argv: list[str], **kwargs) -> tuple:
    """``systemctl is-active UNIT...`` of a controller whose units all run."""
    assert argv[:2] == ["systemctl", "is-active"], argv
    return 0, "active\n" * len(argv[2:]), ""


@pytest.fixture
def salt(run_all):
    """What the node's modules answer on the lab's first controller, healthy."""
    run_all.handler = systemctl
    return Calls({
        "cmd.run_all": run_all,
        "ha_topology.roles": lambda: ["controller"],
        "ha_host.tracking": lambda: {"reference_id": "7F7F0101", "reference_name": "", "stratum": 10,
                                     "system_time": 0.0, "last_offset": 0.0, "leap_status": "Normal"},
        "ha_pacemaker.status": lambda: copy.deepcopy(HEALTHY["reports"][C01]["pacemaker"]),
        "ha_galera.status": galera_status,
        "ha_rabbitmq.cluster_status": lambda timeout=60: cluster_status(),
        "ha_topology.rabbitmq_node": lambda: {"node": f"rabbit@{C01}", "cluster": RABBITS},
        "ha_rabbitmq.queues": lambda status: {"total": 14, "unhealthy": []},
        "ha_topology.etcd_members": lambda: {n: {"client_url": URLS[n], "peer_url": "x"} for n in CONTROLLERS},
        "ha_etcd.endpoint_health": lambda url: {"healthy": True, "error": ""},
        "ha_etcd.endpoint_status": lambda url: {"member_id": IDS[C01], "leader": IDS[C01], "raft_term": 2,
                                                "raft_index": 12, "version": "3.4.23", "db_size": 20480},
        "ha_etcd.members": lambda endpoints: [{"id": IDS[n], "name": n, "peer_urls": [], "client_urls": []}
                                              for n in (C02, C01, C03)],
        "ha_topology.memcached_node": lambda: {"address": "10.10.10.51", "port": 11211},
        "ha_haproxy.servers": lambda: ha_haproxy.parse_stat((DATA / "show-stat.csv").read_text()),
        # The restart.
        "ha_topology.formula_map": lambda: MAP,
        "ha_openstack.units": lambda: list(OPENSTACK_UNITS),
        "service.stop": lambda unit: True,
        "service.start": lambda unit: True,
        "ha_galera.wait_synced": lambda timeout: galera_status()["wsrep"],
        "ha_rabbitmq.members": lambda status: sorted(set(status["disc_nodes"]) | set(status["ram_nodes"])),
        "ha_etcd.wait_whole": lambda timeout: {"quorum": True, "unhealthy": {}, "problems": [], "healthy": CONTROLLERS},
        "ha_pacemaker.online": lambda nodes, timeout: {"quorate": True},
        "ha_openstack.apis": lambda gate=False: ["keystone", "glance", "placement", "nova"],
        "ha_openstack.node_url": lambda api: f"http://10.10.10.51/{api}",
        "ha_openstack.answers": lambda url: True,
    })


@pytest.fixture
def configure_loader_modules(salt, utils):
    return {ha_health: {"__salt__": salt, "__opts__": {"id": C01}, "__utils__": utils}}


def test_virtual(utils):
    assert ha_health.__virtual__() == "ha_health"
    ha_health.__utils__ = {}
    try:
        assert ha_health.__virtual__() == (
            False, "the formula's ha_kit utils module is not synced: run saltutil.sync_all")
    finally:
        ha_health.__utils__ = utils


# --- the report ----------------------------------------------------------------------------


def test_collect_on_a_controller_is_the_lab_answer(salt, memcached):
    assert ha_health.collect() == HEALTHY["reports"][C01]
    assert memcached.calls == [(("10.10.10.51", 11211), 3)]
    assert memcached.connections[0].sent == b"stats\r\n"
    assert ("ha_rabbitmq.cluster_status", (), {"timeout": 15}) in salt.calls
    assert ("ha_etcd.endpoint_health", (URLS[C01],), {}) in salt.calls
    assert ("ha_etcd.members", ([URLS[C01]],), {}) in salt.calls


def test_collect_on_a_compute_reads_only_chrony(salt, memcached):
    salt["ha_topology.roles"] = lambda: ["compute"]
    salt["ha_host.tracking"] = lambda: {"reference_name": "10.10.10.51", "stratum": 11, "system_time": -1.574e-06,
                                        "leap_status": "Normal"}
    assert ha_health.collect() == HEALTHY["reports"]["openstack-compute01"]
    assert salt.names() == ["ha_topology.roles", "ha_host.tracking"]
    assert memcached.calls == []


def test_a_part_that_fails_says_why_and_the_others_still_come(salt, memcached):
    def broken():
        raise CommandExecutionError("crm_mon failed: the cluster does not run here")

    salt["ha_pacemaker.status"] = broken
    salt["ha_haproxy.servers"] = lambda: {}["no such key"]
    report = ha_health.collect()
    assert report["pacemaker"] == {"error": "crm_mon failed: the cluster does not run here"}
    assert report["haproxy"] == {"error": "KeyError: 'no such key'"}
    expected = HEALTHY["reports"][C01]
    assert {k: v for k, v in report.items() if k not in ("pacemaker", "haproxy")} == {
        k: v for k, v in expected.items() if k not in ("pacemaker", "haproxy")}


def test_a_part_that_hangs_is_reported_and_the_others_still_come(salt, memcached, monkeypatch):
    release = threading.Event()

    def hung():
        release.wait(10)
        return {}

    salt["ha_pacemaker.status"] = hung
    monkeypatch.setattr(ha_health, "PART_TIMEOUT", 0.5)
    started = time.monotonic()
    try:
        report = ha_health.collect()
    finally:
        release.set()
    assert time.monotonic() - started < 5
    assert report["pacemaker"] == {"error": "no answer within 0.5 s"}
    expected = HEALTHY["reports"][C01]
    assert {k: v for k, v in report.items() if k != "pacemaker"} == {
        k: v for k, v in expected.items() if k != "pacemaker"}


def test_parts_run_in_the_context_of_the_call():
    # Salt's loader, which __salt__ resolves through, is a context variable: each part must see the caller's.
    loader = contextvars.ContextVar("loader")
    loader.set("this call's loader")
    seen = ha_health._parts({"a": lambda: {"saw": loader.get(None)}, "b": lambda: {"saw": loader.get(None)}}, 5)
    assert seen == {"a": {"saw": "this call's loader"}, "b": {"saw": "this call's loader"}}


def test_chrony_that_fails(salt, memcached):
    def broken():
        raise CommandExecutionError("chronyc: 506 Cannot talk to daemon")

    salt["ha_host.tracking"] = broken
    assert ha_health.collect()["chrony"] == {"error": "chronyc: 506 Cannot talk to daemon"}


def test_galera_that_runs_without_an_answer(salt, memcached):
    salt["ha_galera.status"] = lambda: {"running": True, "grastate": {}, "error": "MariaDB does not answer",
                                        "position": {"uuid": "", "seqno": -1}, "synced": False}
    assert ha_health.collect()["galera"] == {"error": "MariaDB does not answer"}


def test_galera_stopped(salt, memcached):
    salt["ha_galera.status"] = lambda: {"running": False, "grastate": {"uuid": UUID, "seqno": 1162},
                                        "position": {"uuid": UUID, "seqno": 1162}, "synced": False}
    assert ha_health.collect()["galera"] == {"running": False, "state": "", "size": 0, "uuid": "",
                                             "primary": False, "seqno": 1162, "synced": False}


def test_only_the_first_running_rabbitmq_node_lists_the_queues(salt, memcached):
    salt["ha_topology.rabbitmq_node"] = lambda: {"node": f"rabbit@{C02}"}
    report = ha_health.collect()
    assert report["rabbitmq"] == {**HEALTHY["reports"][C02]["rabbitmq"]}
    assert "queues" not in report["rabbitmq"]
    assert "ha_rabbitmq.queues" not in salt.names()
    # With C01 stopped, C02 is the first running one.
    salt["ha_rabbitmq.cluster_status"] = lambda timeout=60: cluster_status(RABBITS[1:])
    assert ha_health.collect()["rabbitmq"]["queues"] == {"total": 14, "unhealthy": []}


def test_the_queues_are_listed_from_the_status_already_read(salt, memcached):
    seen = []
    salt["ha_rabbitmq.queues"] = lambda status: seen.append(status) or {"total": 0, "unhealthy": []}
    ha_health.collect()
    assert seen == [cluster_status()]


def test_queues_that_cannot_be_listed(salt, memcached):
    def broken(status):
        raise CommandExecutionError("rabbitmqctl list_queues failed: timeout")

    salt["ha_rabbitmq.queues"] = broken
    rabbitmq = ha_health.collect()["rabbitmq"]
    assert rabbitmq["queues"] == {"error": "rabbitmqctl list_queues failed: timeout"}
    assert rabbitmq["running_nodes"] == RABBITS


def test_rabbitmq_that_does_not_run(salt, memcached):
    def broken(timeout=60):
        raise CommandExecutionError(f"rabbitmqctl cluster_status failed: Error: unable to perform an operation on "
                                    f"node 'rabbit@{C01}'")

    salt["ha_rabbitmq.cluster_status"] = broken
    assert ha_health.collect()["rabbitmq"] == {
        "error": f"rabbitmqctl cluster_status failed: Error: unable to perform an operation on node 'rabbit@{C01}'"}


def test_an_unhealthy_etcd_member_is_not_asked_more(salt, memcached):
    error = f"etcdctl endpoint health at {URLS[C01]} failed: Error: context deadline exceeded"
    salt["ha_etcd.endpoint_health"] = lambda url: {"healthy": False, "error": error}
    assert ha_health.collect()["etcd"] == {"healthy": False, "why": error}
    assert "ha_etcd.endpoint_status" not in salt.names() and "ha_etcd.members" not in salt.names()


def test_an_etcd_leader_not_in_the_member_list(salt, memcached):
    salt["ha_etcd.endpoint_status"] = lambda url: {"leader": "ffff", "raft_index": 40}
    etcd = ha_health.collect()["etcd"]
    assert etcd == {"healthy": True, "leader": None, "raft_index": 40, "members": CONTROLLERS}


def test_memcached_that_does_not_answer(salt, memcached):
    memcached.error = ConnectionRefusedError(111, "Connection refused")
    assert ha_health.collect()["memcached"] == {
        "error": "memcached at 10.10.10.51:11211 does not answer: [Errno 111] Connection refused"}


def test_services_are_the_restart_units_asked_in_one_call(salt, memcached, run_all):
    assert ha_health.collect()["services"] == {"units": dict.fromkeys(UNITS, "active")}
    assert [call["argv"] for call in run_all.calls] == [["systemctl", "is-active", *UNITS]]
    assert run_all.calls[0]["timeout"] == 10


def test_services_not_active_are_states_not_an_error(salt, memcached, run_all):
    states = {**dict.fromkeys(UNITS, "active"), "nova-conductor": "failed", "nova-scheduler": "activating"}
    # systemctl is-active exits 3 when a unit is not active.
    run_all.handler = lambda argv, **kwargs: (3, "".join(f"{states[unit]}\n" for unit in argv[2:]), "")
    assert ha_health.collect()["services"] == {"units": states}


def test_a_unit_of_two_steps_is_asked_once(salt, run_all, monkeypatch):
    monkeypatch.setattr(ha_health, "restart_steps", lambda: [{"name": "a", "units": ["httpd", "etcd"]},
                                                             {"name": "b", "units": ["etcd", "memcached"]}])
    assert ha_health._services() == {"units": {"httpd": "active", "etcd": "active", "memcached": "active"}}
    assert [call["argv"] for call in run_all.calls] == [["systemctl", "is-active", "httpd", "etcd", "memcached"]]


def test_services_of_a_malformed_answer(salt, memcached, run_all):
    run_all.handler = lambda argv, **kwargs: (1, "", "Failed to connect to bus: No such file or directory\n")
    error = (f"systemctl is-active printed 0 states for {len(UNITS)} units (exit 1): "
             "Failed to connect to bus: No such file or directory")
    with pytest.raises(CommandExecutionError) as err:
        ha_health._services()
    assert str(err.value) == error
    assert ha_health.collect()["services"] == {"error": error}
    run_all.handler = lambda argv, **kwargs: (0, "active\n" * (len(argv) - 1), "")
    with pytest.raises(CommandExecutionError, match=(
            f"^systemctl is-active printed {len(UNITS) + 1} states for {len(UNITS)} units \\(exit 0\\): "
            "active active$")):
        ha_health._services()
    run_all.handler = lambda argv, **kwargs: (3, "", "")
    with pytest.raises(CommandExecutionError, match=f"for {len(UNITS)} units \\(exit 3\\): no output$"):
        ha_health._services()


def test_services_that_hang(salt, memcached, run_all):
    run_all.handler = lambda argv, timeout, **kwargs: run_all.timed_out(argv, timeout)
    assert ha_health.collect()["services"] == {"error": "systemctl is-active did not finish within 10 s"}


# --- memcached_stats ------------------------------------------------------------------------


def test_memcached_stats_across_chunks(memcached):
    memcached.chunks = [STATS[:7], STATS[7:-3], STATS[-3:]]
    stats = ha_health.memcached_stats("10.10.10.52", "11211", timeout=1.5)
    assert stats == {"pid": "812", "uptime": "209", "time": "1796300000", "version": "1.6.18",
                     "libevent": "2.1.12-stable", "curr_connections": "9", "total_connections": "41"}
    assert memcached.calls == [(("10.10.10.52", 11211), 1.5)]
    # Read up to END: nothing more is asked for.
    assert memcached.connections[0].chunks == []


def test_memcached_stats_of_a_connection_closed_early(memcached):
    memcached.chunks = [b"STAT pid 812\r\nSTAT upt"]
    assert ha_health.memcached_stats("10.10.10.51", 11211) == {"pid": "812"}


def test_memcached_stats_timeout(memcached):
    memcached.error = TimeoutError("timed out")
    with pytest.raises(CommandExecutionError, match="^memcached at 10.10.10.51:11211 does not answer: timed out$"):
        ha_health.memcached_stats("10.10.10.51", 11211)


# --- the restart ----------------------------------------------------------------------------


def test_restart_steps_from_the_map():
    assert ha_health.restart_steps() == [
        {"name": "galera", "units": ["mariadb"], "gate": "Synced in the Primary component"},
        {"name": "rabbitmq", "units": ["rabbitmq-server", "ha-rabbitmq-watchdog"],
         "gate": "every member running, no partition"},
        {"name": "etcd", "units": ["etcd"], "gate": "every member healthy"},
        {"name": "memcached", "units": ["memcached"], "gate": "answers"},
        {"name": "pacemaker", "units": ["corosync", "pacemaker", "ha-vip-guard"],
         "gate": "online in a quorate cluster"},
        {"name": "openstack", "units": OPENSTACK_UNITS, "gate": "the APIs answer on this node"},
    ]


def service_calls(salt) -> list[str]:
    return [f"{name.split('.')[1]} {args[0]}" for name, args, _ in salt.calls if name.startswith("service.")]


def expected_service_calls(steps) -> list[str]:
    calls = []
    for step in steps:
        calls += [f"stop {unit}" for unit in reversed(STEP_UNITS[step])]
        calls += [f"start {unit}" for unit in STEP_UNITS[step]]
    return calls


def test_restart_services_one_component_at_a_time_each_with_its_gate(salt, memcached, clock, monkeypatch):
    monkeypatch.setattr(ha_health, "time", clock)
    # The galera gate takes 12.3 s (an IST), the others nothing.
    salt["ha_galera.wait_synced"] = lambda timeout: setattr(clock, "now", clock.now + 12.3) or {"ok": True}
    result = ha_health.restart_services(timeout=60)
    assert result == {"restarted": [
        {"name": name, "units": STEP_UNITS[name], "seconds": 12.3 if name == "galera" else 0.0}
        for name in STEP_UNITS]}
    assert service_calls(salt) == expected_service_calls(STEP_UNITS)
    gates = [(name, args) for name, args, _ in salt.calls if not name.startswith("service.")
             and name not in ("ha_topology.formula_map", "ha_openstack.units", "ha_topology.memcached_node")]
    assert gates == [
        ("ha_galera.wait_synced", (60,)),
        ("ha_rabbitmq.cluster_status", ()), ("ha_rabbitmq.members", (cluster_status(),)),
        ("ha_etcd.wait_whole", (60,)),
        ("ha_pacemaker.online", ([C01], 60)),
        ("ha_openstack.apis", ()),
        *[(name, (arg,)) for api in ("keystone", "glance", "placement", "nova")
          for name, arg in (("ha_openstack.node_url", api), ("ha_openstack.answers", f"http://10.10.10.51/{api}"))],
    ]
    assert memcached.calls == [(("10.10.10.51", 11211), 3)]
    assert clock.sleeps == []


def test_a_gate_that_waits_until_the_component_is_whole(salt, memcached, clock, monkeypatch):
    monkeypatch.setattr(ha_health, "time", clock)
    answers = [cluster_status(RABBITS[1:]), cluster_status(RABBITS[1:]), cluster_status()]
    salt["ha_rabbitmq.cluster_status"] = lambda timeout: answers.pop(0)
    restarted = ha_health.restart_services(timeout=60)["restarted"]
    assert restarted[1] == {"name": "rabbitmq", "units": STEP_UNITS["rabbitmq"], "seconds": 4.0}
    assert clock.sleeps == [2, 2]


def test_a_unit_that_does_not_stop(salt, memcached):
    salt["service.stop"] = lambda unit: unit != "ha-rabbitmq-watchdog"
    with pytest.raises(CommandExecutionError,
                       match="^rabbitmq: ha-rabbitmq-watchdog did not stop: see journalctl -u ha-rabbitmq-watchdog$"):
        ha_health.restart_services()
    assert service_calls(salt) == [*expected_service_calls(["galera"]), "stop ha-rabbitmq-watchdog"]


def test_a_unit_that_does_not_start(salt, memcached):
    salt["service.start"] = lambda unit: unit != "etcd"
    with pytest.raises(CommandExecutionError, match=r"^etcd: etcd did not start: see journalctl -u etcd$"):
        ha_health.restart_services()
    assert service_calls(salt)[-2:] == ["stop etcd", "start etcd"]
    assert "ha_etcd.wait_whole" not in salt.names()


def test_a_unit_that_systemd_refuses_to_start(salt, memcached):
    # Salt's systemd service module raises with systemctl's words, e.g. for a masked unit.
    def start(unit):
        if unit == "memcached":
            raise CommandExecutionError("ERROR: Failed to start memcached.service: Unit memcached.service is masked.")
        return True

    salt["service.start"] = start
    with pytest.raises(CommandExecutionError) as err:
        ha_health.restart_services()
    assert str(err.value) == ("memcached: memcached did not start: Failed to start memcached.service: "
                              "Unit memcached.service is masked")


def test_a_gate_not_met_stops_the_restart_naming_the_step(salt, memcached, clock, monkeypatch):
    monkeypatch.setattr(ha_health, "time", clock)
    salt["ha_rabbitmq.cluster_status"] = lambda timeout: cluster_status(RABBITS[:2])
    with pytest.raises(CommandExecutionError) as err:
        ha_health.restart_services(timeout=10)
    assert str(err.value) == (
        f"rabbitmq restarted but not healthy: did not see RabbitMQ whole within 10 s: running {RABBITS[:2]} "
        f"of {RABBITS}, partitions {{}}")
    assert clock.sleeps == [2, 2, 2, 2, 2]
    assert service_calls(salt) == expected_service_calls(["galera", "rabbitmq"])


def test_a_partition_is_not_whole(salt, memcached, clock, monkeypatch):
    monkeypatch.setattr(ha_health, "time", clock)
    salt["ha_rabbitmq.cluster_status"] = lambda timeout: {**cluster_status(), "partitions": {RABBITS[2]: RABBITS[:2]}}
    with pytest.raises(CommandExecutionError, match="^rabbitmq restarted but not healthy: did not see RabbitMQ whole "
                                                    r"within 4 s: running .* partitions \{'rabbit@"):
        ha_health.restart_services(timeout=4)


def test_the_galera_gate_names_its_error(salt, memcached):
    def not_synced(timeout):
        raise CommandExecutionError("did not see the node Synced in a Primary component within 300 s: last status")

    salt["ha_galera.wait_synced"] = not_synced
    with pytest.raises(CommandExecutionError, match="^galera restarted but not healthy: did not see the node Synced "):
        ha_health.restart_services()
    assert service_calls(salt) == expected_service_calls(["galera"])


def test_the_etcd_gate_says_what_is_wrong(salt, memcached):
    def not_whole(timeout):
        raise CommandExecutionError(f"did not see every etcd member healthy within {timeout:g} s: "
                                    f"unhealthy: {{'{C03}': 'context deadline exceeded'}}")

    salt["ha_etcd.wait_whole"] = not_whole
    with pytest.raises(CommandExecutionError) as err:
        ha_health.restart_services(timeout=2)
    assert str(err.value) == ("etcd restarted but not healthy: did not see every etcd member healthy within 2 s: "
                              f"unhealthy: {{'{C03}': 'context deadline exceeded'}}")


def test_the_memcached_gate(salt, memcached, clock, monkeypatch):
    monkeypatch.setattr(ha_health, "time", clock)
    memcached.error = ConnectionRefusedError(111, "Connection refused")
    with pytest.raises(CommandExecutionError) as err:
        ha_health.restart_services(timeout=3)
    assert str(err.value) == ("memcached restarted but not healthy: did not see memcached answering within 3 s: "
                              "memcached at 10.10.10.51:11211 does not answer: [Errno 111] Connection refused")
    assert clock.sleeps == [2, 1]


def test_the_openstack_gate_names_the_silent_apis(salt, memcached, clock, monkeypatch):
    monkeypatch.setattr(ha_health, "time", clock)
    salt["ha_openstack.answers"] = lambda url: not url.endswith(("/glance", "/nova"))
    with pytest.raises(CommandExecutionError) as err:
        ha_health.restart_services(timeout=2)
    assert str(err.value) == ("openstack restarted but not healthy: did not see the OpenStack APIs answering within "
                              "2 s: not up on this node (no answer, or 4xx/5xx): glance, nova")
    assert ("ha_openstack.apis", (), {"gate": True}) in salt.calls


def test_the_pacemaker_gate_waits_for_this_node(salt, memcached):
    def offline(nodes, timeout):
        raise CommandExecutionError(f"did not see nodes {', '.join(nodes)} online in a quorate cluster within "
                                    f"{timeout} s")

    salt["ha_pacemaker.online"] = offline
    with pytest.raises(CommandExecutionError, match=f"^pacemaker restarted but not healthy: did not see nodes {C01} "
                                                    "online in a quorate cluster within 300 s$"):
        ha_health.restart_services()
    assert "ha_openstack.apis" not in salt.names()


# --- some steps only; a leaving controller's units retired ---------------------------------------------------------

STEP_NAMES = "galera, rabbitmq, etcd, memcached, pacemaker, openstack"


@pytest.mark.parametrize("names", [["nope"], ["openstack", "galera", "other", "nope"]])
def test_an_unknown_step_is_refused_before_any_unit(salt, memcached, names):
    unknown = ", ".join(sorted(set(names) - set(STEP_UNITS)))
    with pytest.raises(CommandExecutionError) as err:
        ha_health.restart_services(steps=names)
    assert str(err.value) == f"no such step: {unknown}; the steps are {STEP_NAMES}"
    assert service_calls(salt) == []


def test_steps_are_taken_in_their_order_whatever_the_order_asked():
    assert [step["name"] for step in ha_health._steps(["openstack", "galera"])] == ["galera", "openstack"]
    assert [step["name"] for step in ha_health._steps(None)] == list(STEP_UNITS)
    assert ha_health._steps([]) == []


def test_restart_services_of_the_openstack_step_only(salt, memcached):
    result = ha_health.restart_services(timeout=60, steps=["openstack"])
    assert result == {"restarted": [{"name": "openstack", "units": OPENSTACK_UNITS, "seconds": 0.0}]}
    assert service_calls(salt) == expected_service_calls(["openstack"])
    # Only the OpenStack gate: no other component is waited for.
    assert not {"ha_galera.wait_synced", "ha_rabbitmq.cluster_status", "ha_etcd.wait_whole",
                "ha_pacemaker.online"} & set(salt.names())
    assert ("ha_openstack.apis", (), {"gate": True}) in salt.calls
    assert memcached.calls == []


# The map's units of the "other" step besides restart_steps' (HAProxy, the Galera health endpoint, pcsd).
RETIRE_MAP = {**MAP, "haproxy": {"service": "haproxy"},
              "galera": {**MAP["galera"], "clustercheck": {"unit": "ha-clustercheck"}},
              "pacemaker": {**MAP["pacemaker"], "pcsd_service": "pcsd"}}


@pytest.fixture
def units(salt):
    """The units that run (``active``) and start at boot (``enabled``) on the leaving controller."""
    state = {"active": set(), "enabled": set()}
    salt["ha_topology.formula_map"] = lambda: RETIRE_MAP
    salt["service.status"] = lambda unit: unit in state["active"]
    salt["service.enabled"] = lambda unit: unit in state["enabled"]
    salt["service.disable"] = lambda unit: True
    return state


def changes(salt) -> list[str]:
    return [call for call in service_calls(salt) if call.split()[0] in ("stop", "disable")]


def test_retire_services_stops_what_runs_and_disables_what_starts_at_boot(salt, units):
    units["active"] = {"rabbitmq-server", "haproxy", "ha-clustercheck.service"}
    units["enabled"] = {"rabbitmq-server", "ha-rabbitmq-watchdog", "ha-clustercheck.socket", "pcsd"}
    retired = ha_health.retire_services(["rabbitmq", "other"])
    # In the order asked; each step's units in reverse (the watchdog before the server it would restart).
    assert changes(salt) == ["disable ha-rabbitmq-watchdog", "stop rabbitmq-server", "disable rabbitmq-server",
                             "disable pcsd", "stop ha-clustercheck.service", "disable ha-clustercheck.socket",
                             "stop haproxy"]
    assert retired == ["ha-rabbitmq-watchdog", "rabbitmq-server", "pcsd", "ha-clustercheck.service",
                       "ha-clustercheck.socket", "haproxy"]
    assert "service.start" not in salt.names()


def test_retire_services_in_the_order_given(salt, units):
    units["active"] = units["enabled"] = {"mariadb", "etcd", "corosync", "pacemaker", "ha-vip-guard", "keystone"}
    ha_health.retire_services(["openstack", "pacemaker", "galera"])
    assert [call for call in changes(salt) if call.startswith("stop")] == [
        "stop keystone", "stop ha-vip-guard", "stop pacemaker", "stop corosync", "stop mariadb"]
    assert "stop etcd" not in service_calls(salt)


def test_retire_services_leaves_retired_units_alone(salt, units):
    assert ha_health.retire_services(["etcd", "memcached"]) == ["etcd", "memcached"]
    assert changes(salt) == []
    assert service_calls(salt) == ["status etcd", "enabled etcd", "status memcached", "enabled memcached"]


def test_retire_services_of_a_unit_that_does_not_stop_or_disable(salt, units):
    units["active"] = units["enabled"] = {"mariadb", "pcsd"}
    salt["service.stop"] = lambda unit: unit != "mariadb"
    with pytest.raises(CommandExecutionError, match="^galera: mariadb did not stop: see journalctl -u mariadb$"):
        ha_health.retire_services(["galera", "other"])
    assert "disable mariadb" not in service_calls(salt)
    salt["service.stop"] = lambda unit: True
    salt["service.disable"] = lambda unit: unit != "pcsd"
    with pytest.raises(CommandExecutionError, match="^other: pcsd did not disable: see journalctl -u pcsd$"):
        ha_health.retire_services(["other"])


def test_retire_services_refuses_an_unknown_step(salt, units):
    units["active"] = {"mariadb"}
    with pytest.raises(CommandExecutionError, match="^no such step: nope; the steps are galera, "):
        ha_health.retire_services(["galera", "nope"])
    assert service_calls(salt) == []
