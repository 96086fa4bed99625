"""The RabbitMQ self-repair's judgement (salt/ha/rabbitmq/files/watchdog.py), on views the lab produced."""

from __future__ import annotations

import pytest

from tests.helpers import load_module

watchdog = load_module("salt/ha/rabbitmq/files/watchdog.py", "ha_rabbitmq_watchdog")

A, B, C = (f"rabbit@openstack-controller0{n}" for n in (1, 2, 3))


def nodes(running: set[str], partitions: dict[str, list[str]] | None = None) -> dict[str, dict]:
    partitions = partitions or {}
    return {name: {"running": name in running, "partitions": partitions.get(name, [])} for name in (A, B, C)}


def test_whole_cluster_is_not_split():
    assert watchdog.other_side(A, nodes({A, B, C}), outside=set()) == set()


def test_node_running_alone_loses_and_the_others_win():
    # After the cut healed, A's Mnesia runs without B and C, whose ports answer.
    alone = nodes({A})
    assert watchdog.other_side(A, alone, outside={B, C}) == {B, C}
    assert watchdog.loses(A, alone, {B, C})
    pair = nodes({B, C})
    assert watchdog.other_side(B, pair, outside={A}) == {A}
    assert not watchdog.loses(B, pair, {A})


def test_a_node_that_is_down_is_no_split():
    # A stopped or paused node does not answer on its AMQP port: not outside.
    assert watchdog.other_side(B, nodes({B, C}), outside=set()) == set()


def test_partitions_reported_by_others_name_the_loser():
    # Every node runs and sees the others, but B and C report a partition with A.
    view = nodes({A, B, C}, {B: [A], C: [A]})
    assert watchdog.other_side(A, view, outside=set()) == {B, C}
    assert watchdog.loses(A, view, {B, C})
    assert watchdog.other_side(B, view, outside=set()) == {A}
    assert not watchdog.loses(B, view, {A})


def test_tie_is_lost_by_the_side_without_the_lowest_name():
    four = {**nodes({A, B}), "rabbit@openstack-controller04": {"running": False, "partitions": []}}
    split = {C, "rabbit@openstack-controller04"}
    assert not watchdog.loses(A, four, split)
    assert watchdog.loses(C, {name: {"running": name in {C, "rabbit@openstack-controller04"}, "partitions": []}
                              for name in four}, {A, B})


@pytest.mark.parametrize("body, expected", [
    (b'[{"name": "rabbit@a", "running": true, "partitions": ["rabbit@b"]}]',
     {"rabbit@a": {"running": True, "partitions": ["rabbit@b"]}}),
    (b"not json", None),
    (b'[{"running": true}, "x"]', {}),
])
def test_view_reads_the_management_api(monkeypatch, body, expected):
    class Response:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self, *args):
            return body

    seen = {}

    def urlopen(request, timeout):
        seen["url"], seen["auth"] = request.full_url, request.get_header("Authorization")
        return Response()

    monkeypatch.setattr(watchdog.urllib.request, "urlopen", urlopen)
    assert watchdog.view("http://10.10.10.51:15672", "openstack", "secret") == expected
    assert seen["url"].startswith("http://10.10.10.51:15672/api/nodes") and seen["auth"].startswith("Basic ")


def test_view_is_none_when_the_api_does_not_answer(monkeypatch):
    def urlopen(request, timeout):
        raise OSError("connection refused")

    monkeypatch.setattr(watchdog.urllib.request, "urlopen", urlopen)
    assert watchdog.view("http://10.10.10.51:15672", "openstack", "secret") is None


@pytest.mark.parametrize("up, expected", [({"10.0.0.2", "10.0.0.3"}, True), ({"10.0.0.2"}, True), (set(), False)])
def test_majority_counts_the_local_node_and_the_answering_peers(monkeypatch, up, expected):
    monkeypatch.setattr(watchdog, "answers", lambda address, port: address in up)
    assert watchdog.majority_answers({B: "10.0.0.2", C: "10.0.0.3"}, 5672) is expected


def test_five_nodes_need_two_answering_peers(monkeypatch):
    peers = {f"rabbit@n{i}": f"10.0.0.{i}" for i in range(2, 6)}
    monkeypatch.setattr(watchdog, "answers", lambda address, port: address in {"10.0.0.2"})
    assert not watchdog.majority_answers(peers, 5672)
    monkeypatch.setattr(watchdog, "answers", lambda address, port: address in {"10.0.0.2", "10.0.0.3"})
    assert watchdog.majority_answers(peers, 5672)


def test_restart_kills_a_service_that_does_not_stop(monkeypatch):
    calls = []

    def run(command, timeout=None, check=False):
        calls.append(command[1])
        if command[1] == "stop":
            raise watchdog.subprocess.TimeoutExpired(command, timeout)
        return watchdog.subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(watchdog.subprocess, "run", run)
    watchdog.restart("rabbitmq-server", "test")
    assert calls == ["stop", "kill", "restart"]
    calls.clear()
    watchdog.restart("rabbitmq-server", "hung", graceful=False)
    assert calls == ["kill", "restart"]
