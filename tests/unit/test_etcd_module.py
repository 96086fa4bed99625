"""Unit tests of _modules/ha_etcd.py with a fake etcdctl (outputs measured on etcd 3.4.23)."""

from __future__ import annotations

import json

import pytest
from salt.exceptions import CommandExecutionError

from tests.helpers import load_module

ha_etcd = load_module("_modules/ha_etcd.py", "ha_etcd_module")
ETCDCTL = "/usr/bin/etcdctl"
C01, C02, C03 = NAMES = tuple(f"openstack-controller0{i}" for i in (1, 2, 3))
IDS = {C01: 10276657743932975437, C02: 1595146813512749570, C03: 17433524950063235123}
HEX = {name: format(member_id, "x") for name, member_id in IDS.items()}
EXPECTED = {name: {"peer_url": f"http://10.10.10.5{i}:2380", "client_url": f"http://10.10.10.5{i}:2379"}
            for i, name in enumerate(NAMES, 1)}
CLIENT = {spec["client_url"]: name for name, spec in EXPECTED.items()}
HEADER = {"cluster_id": 14841639068965178418, "member_id": IDS[C01], "raft_term": 2}
# As etcd 3.4.23 prints them for its package default one-member cluster.
MEMBER_LIST = json.dumps({"header": HEADER, "members": [{"ID": IDS[C01], "name": C01,
                          "peerURLs": ["http://localhost:2380"], "clientURLs": ["http://localhost:2379"]}]})
ENDPOINT_STATUS = ('[{"Endpoint":"127.0.0.1:2379","Status":{"header":{"cluster_id":14841639068965178418,'
                   '"member_id":10276657743932975437,"revision":1,"raft_term":2},"version":"3.4.23","dbSize":20480,'
                   '"leader":10276657743932975437,"raftIndex":4,"raftTerm":2,"raftAppliedIndex":4,'
                   '"dbSizeInUse":16384}}]')
ENDPOINT_HEALTH = '[{"endpoint":"127.0.0.1:2379","health":true,"took":"1.866512ms"}]'
DEADLINE = "context deadline exceeded"


def member(name, peer=None, started=True):
    entry = {"ID": IDS[name], "peerURLs": [peer or EXPECTED[name]["peer_url"]]}
    if started:  # a member added but never started has no name and no client URLs
        entry.update(name=name, clientURLs=[EXPECTED[name]["client_url"]])
    return entry


class FakeEtcd:
    """etcdctl behind cmd.run_all: three members that answer by endpoint, while they hold a quorum."""

    def __init__(self, run_all):
        self.members = [member(name) for name in NAMES]
        self.up = set(NAMES)
        self.leaders = dict.fromkeys(NAMES, IDS[C01])  # the leader each member reports
        self.outputs = {}  # etcdctl arguments (a tuple) -> (returncode, stdout, stderr), or an exception
        self.calls = run_all.calls
        run_all.handler = self.answer

    def answer(self, argv, **kwargs):
        args = tuple(argv[6:])
        if args in self.outputs:
            return self.outputs[args]
        endpoints = argv[1].removeprefix("--endpoints=").split(",")
        live = [CLIENT[e] for e in endpoints if CLIENT.get(e) in self.up]
        quorum = len(self.up) > len(NAMES) // 2
        if not live:
            return 1, "", f"Error: {DEADLINE}\n"
        if args == ("member", "list"):
            return 0, json.dumps({"header": HEADER, "members": self.members}), ""
        if args[:2] == ("member", "remove"):
            # etcdctl prints the member list without it.
            self.members = [entry for entry in self.members if format(entry["ID"], "x") != args[2]]
            return 0, json.dumps({"header": HEADER, "members": self.members}), ""
        (name,) = live
        if args == ("endpoint", "health"):
            if quorum:
                return 0, json.dumps([{"endpoint": endpoints[0], "health": True, "took": "1.8ms"}]), ""
            return (1, json.dumps([{"endpoint": endpoints[0], "health": False, "took": "5s", "error": DEADLINE}]),
                    f"{endpoints[0]} is unhealthy: failed to commit proposal: {DEADLINE}\nError: unhealthy cluster\n")
        assert args == ("endpoint", "status")
        status = {"header": {**HEADER, "member_id": IDS[name]}, "version": "3.4.23", "dbSize": 20480,
                  "leader": self.leaders[name], "raftTerm": 2}
        return 0, json.dumps([{"Endpoint": endpoints[0], "Status": status}]), ""


@pytest.fixture
def etcd_map():
    return {"etcdctl": ETCDCTL, "service": "etcd"}


@pytest.fixture
def configure_loader_modules(etcd_map, run_all, utils):
    return {ha_etcd: {"__salt__": {"ha_topology.formula_map": lambda: {"etcd": etcd_map},
                                   "ha_topology.etcd_members": lambda: EXPECTED, "cmd.run_all": run_all,
                                   # The waits' probes call the module through __salt__.
                                   "ha_etcd.health": lambda *args: ha_etcd.health(*args),
                                   "ha_etcd.members": lambda *args: ha_etcd.members(*args),
                                   "ha_etcd.endpoint_health": lambda *args: ha_etcd.endpoint_health(*args)},
                      "__utils__": utils}}


@pytest.fixture
def etcd(run_all):
    return FakeEtcd(run_all)


def test_members_of_the_measured_output(etcd):
    etcd.outputs[("member", "list")] = (0, MEMBER_LIST, "")
    assert ha_etcd.members(["http://127.0.0.1:2379"]) == [
        {"id": "8e9e05c52164694d", "name": C01, "peer_urls": ["http://localhost:2380"],
         "client_urls": ["http://localhost:2379"]},
    ]
    (call,) = etcd.calls
    assert call["argv"] == [ETCDCTL, "--endpoints=http://127.0.0.1:2379", "--dial-timeout=3s",
                            "--command-timeout=5s", "-w", "json", "member", "list"]
    # On top of the minion's environment (PATH and the rest).
    assert call["env"] == {"ETCDCTL_API": "3"} and call["clean_env"] is False
    assert call["timeout"] == 15 and call["python_shell"] is False


def test_members_with_one_not_started(etcd):
    etcd.members[2] = member(C03, started=False)
    listed = ha_etcd.members([EXPECTED[C01]["client_url"], EXPECTED[C02]["client_url"]])
    assert etcd.calls[0]["argv"][1] == "--endpoints=http://10.10.10.51:2379,http://10.10.10.52:2379"
    assert listed[0] == {"id": HEX[C03], "name": "", "peer_urls": ["http://10.10.10.53:2380"], "client_urls": []}
    assert [m["name"] for m in listed] == ["", C01, C02]


def test_endpoint_status_and_health_of_the_measured_output(etcd):
    etcd.outputs[("endpoint", "status")] = (0, ENDPOINT_STATUS, "")
    etcd.outputs[("endpoint", "health")] = (0, ENDPOINT_HEALTH, "")
    assert ha_etcd.endpoint_status("http://127.0.0.1:2379") == {
        "member_id": "8e9e05c52164694d", "leader": "8e9e05c52164694d", "raft_term": 2, "raft_index": 4,
        "version": "3.4.23", "db_size": 20480}
    assert ha_etcd.endpoint_health("http://127.0.0.1:2379") == {"healthy": True, "error": ""}
    assert all(call["env"]["ETCDCTL_API"] == "3" for call in etcd.calls)


def test_unreachable_endpoint(etcd):
    etcd.up.discard(C02)
    url = EXPECTED[C02]["client_url"]
    assert ha_etcd.endpoint_health(url) == {
        "healthy": False, "error": f"etcdctl endpoint health at {url} failed: Error: {DEADLINE}"}
    with pytest.raises(CommandExecutionError, match=f"^etcdctl endpoint status at {url} failed: Error: {DEADLINE}$"):
        ha_etcd.endpoint_status(url)


def test_healthy_cluster(etcd):
    assert ha_etcd.health(EXPECTED) == {
        "members": [{"id": HEX[n], "name": n, "peer_urls": [EXPECTED[n]["peer_url"]],
                     "client_urls": [EXPECTED[n]["client_url"]]} for n in NAMES],
        "healthy": list(NAMES), "unhealthy": {}, "leader": C01, "quorum": True, "problems": [],
    }
    assert all(call["env"]["ETCDCTL_API"] == "3" for call in etcd.calls)


def test_expected_members_default_to_the_topology(etcd):
    result = ha_etcd.health()
    assert result["quorum"] is True and result["healthy"] == list(NAMES)
    assert etcd.calls[0]["argv"][1] == "--endpoints=" + ",".join(EXPECTED[n]["client_url"] for n in NAMES)


def test_one_member_down_keeps_the_quorum(etcd):
    etcd.up.discard(C02)
    result = ha_etcd.health(EXPECTED)
    assert result["quorum"] is True and result["problems"] == [] and result["leader"] == C01
    assert result["healthy"] == [C01, C03]
    assert result["unhealthy"] == {C02: f"etcdctl endpoint health at http://10.10.10.52:2379 failed: Error: {DEADLINE}"}


def test_two_members_down_lose_the_quorum(etcd):
    etcd.up -= {C01, C03}
    result = ha_etcd.health(EXPECTED)
    assert result["quorum"] is False and result["leader"] is None and result["healthy"] == []
    assert result["problems"] == ["0 of 3 members healthy, a quorum needs 2"]
    assert sorted(result["unhealthy"]) == list(NAMES)
    assert result["unhealthy"][C02] == ("etcdctl endpoint health at http://10.10.10.52:2379 failed: "
                                        f"{EXPECTED[C02]['client_url']} is unhealthy: failed to commit proposal: "
                                        f"{DEADLINE} Error: unhealthy cluster")


def test_every_member_down(etcd):
    etcd.up.clear()
    result = ha_etcd.health(EXPECTED)
    assert result["members"] == [] and result["quorum"] is False
    assert result["problems"] == [
        "etcdctl member list at http://10.10.10.51:2379,http://10.10.10.52:2379,http://10.10.10.53:2379 failed: "
        f"Error: {DEADLINE}",
        "0 of 3 members healthy, a quorum needs 2",
    ]


def test_package_default_member_is_not_the_cluster(etcd):
    etcd.members = [member(C01, peer="http://localhost:2380")]
    result = ha_etcd.health(EXPECTED)
    assert result["quorum"] is False and result["healthy"] == list(NAMES)
    assert result["problems"] == [
        f"the member list is {{'{C01}': ['http://localhost:2380']}}, expected "
        + str({name: [spec["peer_url"]] for name, spec in EXPECTED.items()})
    ]


def test_member_not_started_is_not_the_expected_list(etcd):
    etcd.members[2] = member(C03, started=False)
    result = ha_etcd.health(EXPECTED)
    assert result["quorum"] is False and len(result["problems"]) == 1
    assert result["problems"][0].startswith("the member list is {'': ['http://10.10.10.53:2380'], ")


def test_disagreeing_leaders(etcd):
    etcd.leaders[C03] = IDS[C03]
    result = ha_etcd.health(EXPECTED)
    assert result["quorum"] is False and result["leader"] is None
    assert result["problems"] == [f"the healthy members disagree on the leader: {sorted([HEX[C01], HEX[C03]])}"]


def test_no_leader(etcd):
    etcd.leaders = dict.fromkeys(NAMES, 0)
    result = ha_etcd.health(EXPECTED)
    assert result["quorum"] is False and result["problems"] == ["no leader"]


def test_status_failure_after_a_healthy_check(etcd):
    url = EXPECTED[C03]["client_url"]
    etcd.outputs[("endpoint", "status")] = (1, "", f"Failed to get the status of endpoint {url} ({DEADLINE})")
    result = ha_etcd.health(EXPECTED)
    assert result["healthy"] == [] and result["leader"] is None and result["quorum"] is False
    assert result["unhealthy"][C03] == (f"etcdctl endpoint status at {url} failed: "
                                        f"Failed to get the status of endpoint {url} ({DEADLINE})")


def test_extra_member_with_a_duplicate_name_is_not_the_expected_list(etcd):
    # A controller re-added with a new address while its old member is still listed: 4 members, 3 expected.
    etcd.members.insert(0, {**member(C01), "ID": 0x1234, "peerURLs": ["http://10.10.10.61:2380"]})
    result = ha_etcd.health(EXPECTED)
    assert len(result["members"]) == 4
    assert result["quorum"] is False and result["problems"][0].startswith("the member list is ")


def test_errors_of_etcdctl(etcd, run_all):
    etcd.outputs[("endpoint", "status")] = run_all.timed_out([ETCDCTL], 15)
    with pytest.raises(CommandExecutionError, match="^etcdctl endpoint status did not finish within 15 s$"):
        ha_etcd.endpoint_status("http://10.10.10.51:2379")
    etcd.outputs[("member", "list")] = (0, "{not json", "")
    with pytest.raises(CommandExecutionError, match="^etcdctl member list printed no JSON: '{not json'$"):
        ha_etcd.members(["http://10.10.10.51:2379"])


def test_missing_binary(etcd, run_all):
    etcd.outputs[("member", "list")] = run_all.missing([ETCDCTL])
    with pytest.raises(CommandExecutionError, match=f"^{ETCDCTL} not found: is the etcd client package installed"):
        ha_etcd.members(["http://10.10.10.51:2379"])


def scripted_health(monkeypatch, results):
    """health() answering from ``results``, the last one repeated; returns the expected arguments it saw."""
    seen = []

    def fake(expected):
        seen.append(expected)
        return results[min(len(seen), len(results)) - 1]

    monkeypatch.setattr(ha_etcd, "health", fake)
    return seen


HEALTHY = {"quorum": True, "unhealthy": {}, "problems": []}
ONE_DOWN = {"quorum": True, "unhealthy": {C03: "down"}, "problems": []}
NO_QUORUM = {"quorum": False, "unhealthy": {C02: "down", C03: "down"}, "problems": ["1 of 3 members healthy"]}


def test_wait_healthy_returns_once_healthy(monkeypatch, clock):
    seen = scripted_health(monkeypatch, [NO_QUORUM, NO_QUORUM, HEALTHY])
    assert ha_etcd.wait_healthy(EXPECTED, timeout=60) is HEALTHY
    assert seen == [EXPECTED] * 3 and clock.sleeps == [1, 1]


def test_wait_healthy_gives_up_at_the_deadline(monkeypatch, clock):
    seen = scripted_health(monkeypatch, [NO_QUORUM])
    assert ha_etcd.wait_healthy(EXPECTED, timeout=3) is NO_QUORUM
    # The last check at the deadline itself.
    assert len(seen) == 4 and clock.sleeps == [1] * 3 and clock.now == 1003


def test_wait_healthy_asks_the_topology_for_the_members_once(monkeypatch, clock):
    seen = scripted_health(monkeypatch, [NO_QUORUM, HEALTHY])
    assert ha_etcd.wait_healthy(timeout=10) is HEALTHY and seen == [EXPECTED, EXPECTED]


def test_wait_healthy_for_all_members(monkeypatch, clock):
    scripted_health(monkeypatch, [ONE_DOWN])
    assert ha_etcd.wait_healthy(EXPECTED, timeout=10) is ONE_DOWN and clock.sleeps == []
    assert ha_etcd.wait_healthy(EXPECTED, timeout=10, all_members=True) is ONE_DOWN
    assert clock.sleeps == [1] * 10
    scripted_health(monkeypatch, [ONE_DOWN, HEALTHY])
    assert ha_etcd.wait_healthy(EXPECTED, timeout=10, all_members=True) is HEALTHY


def test_problems_of_a_health_result():
    assert ha_etcd.problems(HEALTHY) == [] and ha_etcd.problems(HEALTHY, all_members=True) == []
    assert ha_etcd.problems(ONE_DOWN) == []
    assert ha_etcd.problems(ONE_DOWN, all_members=True) == [f"unhealthy: {{'{C03}': 'down'}}"]
    assert ha_etcd.problems(NO_QUORUM) == ["1 of 3 members healthy"]


def test_wait_whole_returns_once_every_member_is_healthy(monkeypatch, clock):
    scripted_health(monkeypatch, [ONE_DOWN, HEALTHY])
    assert ha_etcd.wait_whole(timeout=10) is HEALTHY and clock.sleeps == [1]


def test_wait_whole_says_what_is_still_wrong(monkeypatch, clock):
    scripted_health(monkeypatch, [ONE_DOWN])
    with pytest.raises(CommandExecutionError) as err:
        ha_etcd.wait_whole(timeout=2)
    assert str(err.value) == f"did not see every etcd member healthy within 2 s: unhealthy: {{'{C03}': 'down'}}"
    scripted_health(monkeypatch, [{"quorum": False, "unhealthy": {}, "problems": ["no leader", "two lists"]}])
    with pytest.raises(CommandExecutionError, match="within 2 s: no leader; two lists$"):
        ha_etcd.wait_whole(timeout=2)


def test_endpoint_status_has_the_raft_index(etcd):
    etcd.outputs[("endpoint", "status")] = (0, ENDPOINT_STATUS, "")
    assert ha_etcd.endpoint_status("http://127.0.0.1:2379") == {
        "member_id": "8e9e05c52164694d", "leader": "8e9e05c52164694d", "raft_term": 2, "raft_index": 4,
        "version": "3.4.23", "db_size": 20480}


def test_endpoint_status_without_a_raft_index(etcd):
    output = json.loads(ENDPOINT_STATUS)
    del output[0]["Status"]["raftIndex"]
    etcd.outputs[("endpoint", "status")] = (0, json.dumps(output), "")
    assert ha_etcd.endpoint_status("http://127.0.0.1:2379")["raft_index"] == 0


C04, ID04 = "openstack-controller04", 12912301866414593279
PEER04 = "http://10.10.10.61:2380"
ADD04 = ("member", "add", C04, f"--peer-urls={PEER04}")
# As etcd 3.4 prints `member add -w json`: the new member (its ID and peer URL, no name nor client URL until
# it starts) and the member list with it, the header of the member that answered.
MEMBER_ADD = json.dumps({
    "header": {"cluster_id": HEADER["cluster_id"], "member_id": IDS[C02], "raft_term": 3},
    "member": {"ID": ID04, "peerURLs": [PEER04]},
    "members": [*(member(name) for name in NAMES), {"ID": ID04, "peerURLs": [PEER04]}],
})


def test_member_add(etcd):
    etcd.outputs[ADD04] = (0, MEMBER_ADD, "")
    endpoints = [EXPECTED[C02]["client_url"], EXPECTED[C03]["client_url"]]
    listed = ha_etcd.member_add(endpoints, C04, PEER04)
    (call,) = etcd.calls
    assert call["argv"] == [ETCDCTL, "--endpoints=http://10.10.10.52:2379,http://10.10.10.53:2379",
                            "--dial-timeout=3s", "--command-timeout=5s", "-w", "json",
                            "member", "add", C04, "--peer-urls=http://10.10.10.61:2380"]
    assert call["env"] == {"ETCDCTL_API": "3"} and call["timeout"] == 30 and call["python_shell"] is False
    # The list as ha_etcd.members gives it, the new member unnamed (first, by name).
    assert listed == [
        {"id": format(ID04, "x"), "name": "", "peer_urls": [PEER04], "client_urls": []},
        *({"id": HEX[n], "name": n, "peer_urls": [EXPECTED[n]["peer_url"]], "client_urls": [EXPECTED[n]["client_url"]]}
          for n in NAMES),
    ]
    assert listed[0]["id"] == "b331b6229c4154ff"


def test_member_add_refused(etcd):
    # etcd refuses a peer URL that a member has already, and an addition that a quorum would not survive.
    etcd.outputs[ADD04] = (1, "", "Error: etcdserver: Peer URLs already exists\n")
    with pytest.raises(CommandExecutionError, match=f"^etcdctl member add {C04} --peer-urls={PEER04} at "
                                                    r"http://10.10.10.51:2379 failed: Error: etcdserver: Peer URLs "
                                                    "already exists$"):
        ha_etcd.member_add([EXPECTED[C01]["client_url"]], C04, PEER04)
    etcd.up.clear()
    del etcd.outputs[ADD04]
    with pytest.raises(CommandExecutionError, match=f"^etcdctl member add {C04} .* failed: Error: {DEADLINE}$"):
        ha_etcd.member_add([EXPECTED[C01]["client_url"]], C04, PEER04)


# --- member_remove, remove_data ----------------------------------------------------------------------------------

STAYING = [EXPECTED[C01]["client_url"], EXPECTED[C02]["client_url"]]


PREFIX = [ETCDCTL, "--endpoints=http://10.10.10.51:2379,http://10.10.10.52:2379", "--dial-timeout=3s",
          "--command-timeout=5s", "-w", "json"]


def health_argv(name) -> list[str]:
    return [ETCDCTL, f"--endpoints={EXPECTED[name]['client_url']}", "--dial-timeout=3s", "--command-timeout=5s",
            "-w", "json", "endpoint", "health"]


@pytest.fixture
def between_looks(monkeypatch, clock):
    """Changes to make while the wait sleeps: each sleep runs the next one (a callable) of the list returned."""
    changes = []

    def sleep(seconds):
        type(clock).sleep(clock, seconds)
        if changes:
            changes.pop(0)()

    monkeypatch.setattr(clock, "sleep", sleep)
    return changes


def test_member_remove_by_name(etcd, clock):
    etcd.up.discard(C03)  # stopped first
    assert ha_etcd.member_remove(STAYING, C03) is True
    # The id as etcdctl takes it: hex, from the member list; then the member list again, and each member listed
    # asked for its health at its own client URL.
    assert [call["argv"] for call in etcd.calls] == [
        [*PREFIX, "member", "list"], [*PREFIX, "member", "remove", HEX[C03]], [*PREFIX, "member", "list"],
        health_argv(C01), health_argv(C02)]
    assert [call["timeout"] for call in etcd.calls] == [15, 30, 15, 15, 15]
    assert all(call["env"] == {"ETCDCTL_API": "3"} for call in etcd.calls)
    assert clock.sleeps == []


def test_member_remove_waits_until_it_is_gone_and_the_rest_healthy(etcd, clock, between_looks):
    etcd.up.discard(C03)
    # The removal not seen yet at the first look; then C02 not answering; then the two of them healthy.
    etcd.outputs[("member", "remove", HEX[C03])] = (0, json.dumps({"header": HEADER, "members": []}), "")
    between_looks.extend([lambda: (etcd.members.pop(), etcd.up.discard(C02)), lambda: etcd.up.add(C02)])
    assert ha_etcd.member_remove(STAYING, C03, timeout=60) is True
    assert clock.sleeps == [2, 2]
    # Each look: the member list, then the health of every member listed but the one removed.
    look = [[*PREFIX, "member", "list"], health_argv(C01), health_argv(C02)]
    assert [call["argv"] for call in etcd.calls] == [
        [*PREFIX, "member", "list"], [*PREFIX, "member", "remove", HEX[C03]], *look, *look, *look]


@pytest.mark.parametrize(("lost", "why"), [
    # etcdctl said it removed it, the list still has it.
    (True, C03),
    # C02 down: the two left hold no quorum, neither answers healthy.
    (False, f"{C01}, {C02}"),
])
def test_member_remove_gives_up_saying_what_it_saw(etcd, clock, lost, why):
    etcd.up.discard(C03)
    if lost:
        etcd.outputs[("member", "remove", HEX[C03])] = (0, json.dumps({"header": HEADER, "members": []}), "")
    else:
        etcd.up.discard(C02)
    with pytest.raises(CommandExecutionError) as err:
        ha_etcd.member_remove(STAYING, C03, timeout=10)
    assert str(err.value) == (f"did not see etcd without {C03} within 10 s: listed and not healthy, or still listed: "
                              f"{why}")
    # Every 2 s, and once more at the deadline; removed once.
    assert clock.sleeps == [2] * 5
    commands = [call["argv"][6:] for call in etcd.calls]
    assert commands.count(["member", "list"]) == 1 + 6 and commands.count(["member", "remove", HEX[C03]]) == 1


def test_member_remove_of_a_name_that_is_no_member_still_waits_for_the_cluster(etcd, clock):
    # Nothing to remove: no member remove, but the same look at the cluster (each member listed healthy).
    assert ha_etcd.member_remove(STAYING, "openstack-controller04") is False
    assert [call["argv"] for call in etcd.calls] == [
        [*PREFIX, "member", "list"], [*PREFIX, "member", "list"], health_argv(C01), health_argv(C02),
        health_argv(C03)]
    assert [call["timeout"] for call in etcd.calls] == [15] * 5
    assert clock.sleeps == []


@pytest.fixture
def gone(etcd):
    """C03 removed by an earlier run (stopped, no member any more)."""
    etcd.up.discard(C03)
    etcd.members = [entry for entry in etcd.members if entry["ID"] != IDS[C03]]
    return etcd


def test_member_remove_of_a_member_removed_already_waits_until_the_rest_is_healthy(gone, clock, between_looks):
    # A removal run again after its wait failed: C02 not answering at the first look, back at the second.
    gone.up.discard(C02)
    between_looks.append(lambda: gone.up.add(C02))
    assert ha_etcd.member_remove(STAYING, C03, timeout=60) is False
    look = [[*PREFIX, "member", "list"], health_argv(C01), health_argv(C02)]
    assert [call["argv"] for call in gone.calls] == [[*PREFIX, "member", "list"], *look, *look]
    assert clock.sleeps == [2]


def test_member_remove_of_a_member_removed_already_gives_up_saying_what_it_saw(gone, clock):
    gone.up.discard(C02)  # the one left holds no quorum: neither answers healthy
    with pytest.raises(CommandExecutionError) as err:
        ha_etcd.member_remove(STAYING, C03, timeout=10)
    assert str(err.value) == (f"did not see etcd without {C03} within 10 s: listed and not healthy, or still listed: "
                              f"{C01}, {C02}")
    assert clock.sleeps == [2] * 5
    commands = [call["argv"][6:] for call in gone.calls]
    assert commands.count(["member", "list"]) == 1 + 6 and not [c for c in commands if c[:2] == ["member", "remove"]]


def test_member_remove_refused(etcd, clock):
    etcd.outputs[("member", "remove", HEX[C03])] = (1, "", "Error: etcdserver: re-configuration failed due to not "
                                                           "enough started members\n")
    with pytest.raises(CommandExecutionError, match=f"^etcdctl member remove {HEX[C03]} at .* failed: Error: "
                                                    "etcdserver: re-configuration failed"):
        ha_etcd.member_remove(STAYING, C03)
    # Nothing waited for.
    assert len(etcd.calls) == 2 and clock.sleeps == []


@pytest.fixture
def etcd_service(etcd_map, tmp_path, monkeypatch):
    """etcd's data directory under tmp_path and whether its unit runs (``running``), as service.status says."""
    etcd_map["data_dir"] = str(tmp_path / "ha-cluster")
    state = {"running": False, "asked": []}

    def status(name):
        state["asked"].append(name)
        return state["running"]

    monkeypatch.setitem(ha_etcd.__salt__, "service.status", status)
    return state


def test_remove_data_deletes_the_data_directory(etcd_map, etcd_service, tmp_path):
    member_dir = tmp_path / "ha-cluster" / "member" / "snap"
    member_dir.mkdir(parents=True)
    (member_dir / "db").write_bytes(b"bolt")
    assert ha_etcd.remove_data() is True
    assert not (tmp_path / "ha-cluster").exists() and tmp_path.exists()
    assert etcd_service["asked"] == ["etcd"]


def test_remove_data_without_data(etcd_map, etcd_service, tmp_path):
    assert ha_etcd.remove_data() is False
    assert list(tmp_path.iterdir()) == []


def test_remove_data_refused_while_etcd_runs(etcd_map, etcd_service, tmp_path):
    (tmp_path / "ha-cluster" / "member").mkdir(parents=True)
    etcd_service["running"] = True
    with pytest.raises(CommandExecutionError) as err:
        ha_etcd.remove_data()
    assert str(err.value) == f"etcd runs here: stop it before its data in {tmp_path / 'ha-cluster'} is removed"
    assert (tmp_path / "ha-cluster" / "member").is_dir()
