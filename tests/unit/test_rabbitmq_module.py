"""Unit tests of _modules/ha_rabbitmq.py with a fake rabbitmqctl (outputs measured on RabbitMQ 3.10.8)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from salt.exceptions import CommandExecutionError

from tests.helpers import load_module

ha_rabbitmq = load_module("_modules/ha_rabbitmq.py", "ha_rabbitmq_module")
CTL = "/usr/sbin/rabbitmqctl"
C01, C02, C03 = (f"rabbit@openstack-controller0{i}" for i in (1, 2, 3))
SECRET = "Rabbit-secret-0f3a9c1e77"
ONE_NODE = json.dumps({"alarms": [], "cluster_name": C01, "disk_nodes": [C01], "feature_flags": [],
                       "listeners": {C01: []}, "maintenance_status": {C01: "not under maintenance"},
                       "partitions": {}, "ram_nodes": [], "running_nodes": [C01], "versions": {}})
USERS = '[{"user":"testu","tags":[]},{"user":"guest","tags":["administrator"]}]'
POLICY_3_10 = ('[{"vhost":"/","name":"ha-all","pattern":"^","apply-to":"all",'
               '"definition":"{\\"ha-mode\\":\\"all\\"}","priority":0}]')
POLICY_NEWER = ('[{"vhost":"/","name":"ha-all","pattern":"^","apply-to":"all",'
                '"definition":{"ha-mode":"all"},"priority":0}]')
PERMISSIONS = '[{"user":"guest","configure":".*","write":".*","read":".*"}]'
UNREACHABLE = ("Error: unable to perform an operation on node 'rabbit@openstack-controller01'. "
               "Please see diagnostics information and suggestions below.\n\nMost common reasons for this are:\n\n"
               " * Target node is unreachable (e.g. due to hostname resolution, TCP connection or firewall issues)\n"
               " * CLI tool fails to authenticate with the server (e.g. due to CLI tool's Erlang cookie not matching)\n"
               " * Target node is not running")


def command(argv: list[str]) -> str:
    """The rabbitmqctl command of an argument list, with or without -n NODE."""
    return (argv[3:] if argv[1:2] == ["-n"] else argv[1:])[0]


class FakeCtl:
    """rabbitmqctl behind cmd.run_all: answers by command name; ``calls`` are cmd.run_all's, with the command."""

    def __init__(self, run_all):
        self.run_all = run_all
        # command -> (returncode, stdout, stderr), or an exception to raise; or a list of them, answered in turn
        # (the last one then for every further call)
        self.answers: dict = {}
        run_all.handler = self.answer

    def answer(self, argv, **kwargs):
        answer = self.answers.get(command(argv), (0, "", ""))
        if isinstance(answer, list):
            return answer.pop(0) if len(answer) > 1 else answer[0]
        return answer

    @property
    def calls(self) -> list[dict]:
        return [{**call, "command": command(call["argv"])} for call in self.run_all.calls]

    def commands(self):
        return [call["command"] for call in self.calls]

    def argv(self, name):
        (argv,) = [call["argv"] for call in self.calls if call["command"] == name]
        return argv


@pytest.fixture
def rabbitmq_map():
    return {"ctl": CTL, "service": "rabbitmq-server"}


@pytest.fixture
def configure_loader_modules(rabbitmq_map, run_all, utils):
    return {ha_rabbitmq: {"__salt__": {"ha_topology.formula_map": lambda: {"rabbitmq": rabbitmq_map},
                                       "cmd.run_all": run_all,
                                       # The waits' probes call the module through __salt__.
                                       "ha_rabbitmq.cluster_status": lambda *args, **kwargs: ha_rabbitmq.cluster_status(
                                           *args, **kwargs)},
                          "__utils__": utils}}


@pytest.fixture
def ctl(run_all):
    return FakeCtl(run_all)


def test_cluster_status_of_one_node(ctl):
    ctl.answers["cluster_status"] = (0, ONE_NODE, "")
    assert ha_rabbitmq.cluster_status() == {"running_nodes": [C01], "disc_nodes": [C01], "ram_nodes": [],
                                            "partitions": {}, "alarms": []}
    assert ctl.calls[0]["argv"] == [CTL, "cluster_status", "--formatter", "json"]
    assert ctl.calls[0]["python_shell"] is False and ctl.calls[0]["timeout"] == 60


def test_cluster_status_of_another_node_sorted_with_partitions(ctl):
    ctl.answers["cluster_status"] = (0, json.dumps({
        "alarms": [], "disk_nodes": [C01], "ram_nodes": [C03, C02], "running_nodes": [C03, C01],
        "partitions": {C03: [C02]},
    }), "")
    status = ha_rabbitmq.cluster_status(C01, timeout=30)
    assert ctl.calls[0]["argv"] == [CTL, "-n", C01, "cluster_status", "--formatter", "json"]
    assert ctl.calls[0]["timeout"] == 30
    assert status == {"running_nodes": [C01, C03], "disc_nodes": [C01], "ram_nodes": [C02, C03],
                      "partitions": {C03: [C02]}, "alarms": []}
    assert ha_rabbitmq.members(status) == [C01, C02, C03]
    assert [ha_rabbitmq.node_type(status, n) for n in (C01, C02, "rabbit@other")] == ["disc", "ram", None]


def test_cluster_status_without_ram_nodes_key(ctl):
    # Newer releases have no RAM nodes and print no ram_nodes key.
    ctl.answers["cluster_status"] = (0, json.dumps({"disk_nodes": [C02, C01], "running_nodes": [C01],
                                                    "partitions": {}, "alarms": []}), "")
    status = ha_rabbitmq.cluster_status()
    assert status["ram_nodes"] == [] and status["disc_nodes"] == [C01, C02]
    assert ha_rabbitmq.members(status) == [C01, C02]


def test_users(ctl):
    ctl.answers["list_users"] = (0, USERS, "")
    assert ha_rabbitmq.users() == {"testu": [], "guest": ["administrator"]}
    assert ctl.calls[0]["argv"] == [CTL, "list_users", "--formatter", "json"]


@pytest.mark.parametrize("output", [POLICY_3_10, POLICY_NEWER], ids=["definition-string-3.10", "definition-object"])
def test_policies_in_both_formats(ctl, output):
    ctl.answers["list_policies"] = (0, output, "")
    assert ha_rabbitmq.policies() == {
        "ha-all": {"pattern": "^", "apply_to": "all", "definition": {"ha-mode": "all"}, "priority": 0},
    }
    assert ctl.calls[0]["argv"] == [CTL, "list_policies", "-p", "/", "--formatter", "json"]


def test_permissions_of_a_vhost(ctl):
    ctl.answers["list_permissions"] = (0, PERMISSIONS, "")
    assert ha_rabbitmq.permissions("/openstack") == {"guest": [".*", ".*", ".*"]}
    assert ctl.calls[0]["argv"] == [CTL, "list_permissions", "-p", "/openstack", "--formatter", "json"]


@pytest.mark.parametrize(
    ("function", "argv"),
    [
        ("add_user", [CTL, "add_user", "openstack"]),
        ("change_password", [CTL, "change_password", "openstack"]),
        ("password_matches", [CTL, "authenticate_user", "openstack"]),
    ],
)
def test_passwords_only_on_stdin(ctl, function, argv):
    assert getattr(ha_rabbitmq, function)("openstack", SECRET) is True
    (call,) = ctl.calls
    assert call["argv"] == argv and call["stdin"] == SECRET + "\n"
    assert not any(SECRET in arg for arg in call["argv"])


def test_password_matches_exit_codes(ctl):
    ctl.answers["authenticate_user"] = (65, "", "Error:\nUser 'openstack' failed to authenticate")
    assert ha_rabbitmq.password_matches("openstack", SECRET) is False
    ctl.answers["authenticate_user"] = (69, "", UNREACHABLE)
    with pytest.raises(CommandExecutionError, match="(?s)authenticate_user failed: .*Target node is not running"):
        ha_rabbitmq.password_matches("openstack", SECRET)


def test_add_user_failure_keeps_the_password_out_of_the_error(ctl):
    ctl.answers["add_user"] = (70, "", 'Error:\nuser "openstack" already exists')
    with pytest.raises(CommandExecutionError) as err:
        ha_rabbitmq.add_user("openstack", SECRET)
    assert str(err.value) == 'rabbitmqctl add_user failed: Error: user "openstack" already exists'
    assert SECRET not in str(err.value)


@pytest.mark.parametrize(("node_type", "join_argv"), [
    ("disc", [CTL, "join_cluster", C01]),
    ("ram", [CTL, "join_cluster", "--ram", C01]),
])
def test_join_order_and_arguments(ctl, node_type, join_argv):
    disc, ram = ([C01, C02], []) if node_type == "disc" else ([C01], [C02])
    ctl.answers["cluster_status"] = (0, json.dumps({"disk_nodes": disc, "ram_nodes": ram,
                                                    "running_nodes": [C01, C02], "partitions": {}}), "")
    status = ha_rabbitmq.join(C01, C02, node_type, timeout=200)
    assert ctl.commands() == ["stop_app", "reset", "join_cluster", "start_app", "await_startup", "cluster_status"]
    assert ctl.argv("join_cluster") == join_argv
    assert ctl.argv("await_startup") == [CTL, "await_startup", "--timeout", "200"]
    assert [call["timeout"] for call in ctl.calls[:4]] == [120, 120, 200, 200]
    assert status["running_nodes"] == [C01, C02] and ha_rabbitmq.node_type(status, C02) == node_type


def test_join_starts_the_app_again_when_join_cluster_fails(ctl):
    ctl.answers["join_cluster"] = (69, "", UNREACHABLE)
    with pytest.raises(CommandExecutionError, match=r"^rabbitmqctl join_cluster failed: .*Target node is not running"):
        ha_rabbitmq.join(C01, C02)
    assert ctl.commands() == ["stop_app", "reset", "join_cluster", "start_app"]


def test_join_rejects_a_bad_node_type_before_touching_the_node(ctl):
    with pytest.raises(CommandExecutionError, match="node type 'disk' is not one of disc, ram"):
        ha_rabbitmq.join(C01, C02, "disk")
    assert ctl.calls == []


def test_change_node_type(ctl):
    ctl.answers["cluster_status"] = (0, json.dumps({"disk_nodes": [C01, C02], "running_nodes": [C01, C02]}), "")
    assert ha_rabbitmq.change_node_type(C02, "disc")["disc_nodes"] == [C01, C02]
    assert ctl.commands() == ["stop_app", "change_cluster_node_type", "start_app", "await_startup", "cluster_status"]
    assert ctl.argv("change_cluster_node_type") == [CTL, "change_cluster_node_type", "disc"]


def test_change_node_type_starts_the_app_again_on_failure(ctl):
    ctl.answers["change_cluster_node_type"] = (70, "", "Error:\n{:error, :mnesia_not_running}")
    with pytest.raises(CommandExecutionError, match="change_cluster_node_type failed"):
        ha_rabbitmq.change_node_type(C02, "ram")
    assert ctl.commands() == ["stop_app", "change_cluster_node_type", "start_app"]


def test_await_running_gives_up_at_the_deadline(ctl, clock):
    ctl.answers["cluster_status"] = (0, ONE_NODE, "")  # C02 never shows up
    with pytest.raises(CommandExecutionError, match=f"^did not see {C02} among the running nodes within 5 s: "
                                                    f"cluster status {{'running_nodes': \\['{C01}'\\]"):
        ha_rabbitmq.await_running(C02, timeout=5)
    assert ctl.argv("await_startup") == [CTL, "await_startup", "--timeout", "5"]
    assert ctl.calls[0]["timeout"] == 35
    assert clock.sleeps == [1] * 5 and ctl.commands().count("cluster_status") == 6


def test_await_running_polls_until_the_node_runs(ctl, clock):
    answers = [(0, ONE_NODE, ""), (69, "", UNREACHABLE),
               (0, json.dumps({"disk_nodes": [C01, C02], "running_nodes": [C01, C02]}), "")]
    ctl.run_all.handler = lambda argv, **kwargs: answers.pop(0) if command(argv) == "cluster_status" else (0, "", "")
    assert ha_rabbitmq.await_running(C02, timeout=30)["running_nodes"] == [C01, C02]
    assert clock.sleeps == [1, 1]


@pytest.mark.parametrize(
    ("call", "argv"),
    [
        (lambda: ha_rabbitmq.set_tags("openstack", ["administrator", "monitoring"]),
         [CTL, "set_user_tags", "openstack", "administrator", "monitoring"]),
        (lambda: ha_rabbitmq.set_tags("openstack", []), [CTL, "set_user_tags", "openstack"]),
        (lambda: ha_rabbitmq.delete_user("guest"), [CTL, "delete_user", "guest"]),
        (lambda: ha_rabbitmq.set_permissions("openstack", ".*", "^amq", "", "/os"),
         [CTL, "set_permissions", "-p", "/os", "openstack", ".*", "^amq", ""]),
        (lambda: ha_rabbitmq.set_policy("ha-all", "^", {"ha-sync-mode": "automatic", "ha-mode": "all"}),
         [CTL, "set_policy", "-p", "/", "--apply-to", "all", "--priority", "0", "ha-all", "^",
          '{"ha-mode": "all", "ha-sync-mode": "automatic"}']),
        (lambda: ha_rabbitmq.set_policy("ha-q", "^q", {"ha-mode": "all"}, "queues", 5, "/os"),
         [CTL, "set_policy", "-p", "/os", "--apply-to", "queues", "--priority", "5", "ha-q", "^q",
          '{"ha-mode": "all"}']),
        (lambda: ha_rabbitmq.clear_policy("ha-all"), [CTL, "clear_policy", "-p", "/", "ha-all"]),
    ],
)
def test_changing_commands(ctl, call, argv):
    assert call() is True
    assert [c["argv"] for c in ctl.calls] == [argv] and ctl.calls[0]["stdin"] is None


def test_failure_names_the_command_and_node(ctl):
    ctl.answers["cluster_status"] = (69, "", UNREACHABLE)
    with pytest.raises(CommandExecutionError) as err:
        ha_rabbitmq.cluster_status(C01)
    # The last three lines of stderr, on one line.
    assert str(err.value) == f"rabbitmqctl cluster_status on {C01} failed: " + " ".join(UNREACHABLE.splitlines()[-3:])


def test_failure_falls_back_to_stdout(ctl):
    ctl.answers["delete_user"] = (70, "Deleting user \"nobody\" ...\nError: user 'nobody' does not exist", "")
    with pytest.raises(CommandExecutionError, match="^rabbitmqctl delete_user failed: Deleting user \"nobody\" "
                                                    "... Error: user 'nobody' does not exist$"):
        ha_rabbitmq.delete_user("nobody")


def test_output_that_is_not_json(ctl):
    ctl.answers["list_users"] = (0, "Listing users ...\nguest\t[administrator]\n", "")
    with pytest.raises(CommandExecutionError, match="rabbitmqctl list_users printed no JSON: 'Listing users"):
        ha_rabbitmq.users()


def test_missing_binary(ctl, run_all):
    ctl.answers["list_users"] = run_all.missing([CTL])
    with pytest.raises(CommandExecutionError, match=f"^{CTL} not found: is the RabbitMQ package installed"):
        ha_rabbitmq.users()


def test_timeout(ctl, run_all):
    ctl.answers["list_users"] = run_all.timed_out([CTL, "list_users"], 60)
    with pytest.raises(CommandExecutionError, match="^rabbitmqctl list_users did not finish within 60 s$"):
        ha_rabbitmq.users()
    ctl.answers["join_cluster"] = run_all.timed_out([CTL, "join_cluster"], 45)
    with pytest.raises(CommandExecutionError, match="^rabbitmqctl join_cluster did not finish within 45 s$"):
        ha_rabbitmq.join(C01, C02, timeout=45)
    assert ctl.commands()[-2:] == ["join_cluster", "start_app"]


# --- the queues ------------------------------------------------------------------------------------------------

# rabbitmqctl list_queues on the lab (3.10, ha-all): classic queues mirrored on every node; the JSON formatter
# prints the mirrors' pids as "#PID<...>" and an empty string for the quorum-only columns.
LAB_QUEUES_JSON = (Path(__file__).parent / "data" / "list-queues.json").read_text()
LAB_QUEUES = json.loads(LAB_QUEUES_JSON)
RABBITS = [C01, C02, C03]
LIST_QUEUES = [CTL, "list_queues", "--quiet", "name", "type", "state", "policy", "exclusive",
               "synchronised_slave_pids", "leader", "members", "online", "--formatter", "json"]
# The lab's policy (ha_rabbitmq.policies) and list_policies as 3.10 prints it (the definition a JSON string).
HA_ALL = {"ha-all": {"pattern": "^", "apply_to": "all", "definition": {"ha-mode": "all"}, "priority": 0}}
LIST_POLICIES = json.dumps([{"vhost": "/", "name": "ha-all", "pattern": "^", "apply-to": "all",
                             "definition": json.dumps({"ha-mode": "all"}), "priority": 0}])
THREE = json.dumps({"disk_nodes": RABBITS, "ram_nodes": [], "running_nodes": RABBITS, "partitions": {}, "alarms": []})


def quorum(name, leader=C01, members=RABBITS, online=RABBITS, state="running"):
    return {"name": name, "type": "quorum", "state": state, "policy": "", "exclusive": False,
            "synchronised_slave_pids": "", "leader": leader, "members": list(members), "online": list(online)}


def classic(name, state="running", policy="ha-all", exclusive=False, mirrors=2):
    return {"name": name, "type": "classic", "state": state, "policy": policy, "exclusive": exclusive,
            "synchronised_slave_pids": [f"#PID<1279{i}.49{i}.0>" for i in range(mirrors)], "leader": "",
            "members": "", "online": ""}


def test_the_lab_queues_are_healthy():
    assert len(LAB_QUEUES) == 14
    assert ha_rabbitmq.queue_problems(LAB_QUEUES, RABBITS, RABBITS, HA_ALL) == []


def test_mirrors_lost_with_a_node():
    rows = copy.deepcopy(LAB_QUEUES)
    for row in rows:
        row["synchronised_slave_pids"] = row["synchronised_slave_pids"][:1]
    # The node is still a member of the cluster, stopped: every mirrored queue misses its mirror there.
    assert ha_rabbitmq.queue_problems(rows, RABBITS, [C01, C02], HA_ALL) == [
        f"{row['name']}: 2 of 3 replicas" for row in rows]


def test_classic_queues():
    rows = [classic("down", state="down", mirrors=0), classic("stateless", state="", mirrors=0),
            classic("unsynchronised", mirrors=0), classic("one-mirror", mirrors=1), classic("whole"),
            classic("reply_5e1", policy="", mirrors=0), classic("exclusive", exclusive=True, mirrors=0),
            {**classic("no-pids"), "synchronised_slave_pids": ""}, classic("flow", state="flow")]
    assert ha_rabbitmq.queue_problems(rows, RABBITS, RABBITS, HA_ALL) == [
        "down: no leader on a running node (down)",
        "stateless: no leader on a running node (no state)",
        "unsynchronised: 1 of 3 replicas",
        "one-mirror: 2 of 3 replicas",
        "no-pids: 1 of 3 replicas",
    ]


def test_mirroring_policies_other_than_all():
    policies = {"two": {"definition": {"ha-mode": "exactly", "ha-params": 2}},
                "five": {"definition": {"ha-mode": "exactly", "ha-params": 5}},
                "pinned": {"definition": {"ha-mode": "nodes", "ha-params": [C01, C02, "rabbit@gone"]}},
                "plain": {"definition": {"max-length": 10}}}
    rows = [classic("two-of-two", policy="two", mirrors=1), classic("one-of-two", policy="two", mirrors=0),
            classic("five-in-three", policy="five", mirrors=1), classic("pinned", policy="pinned", mirrors=1),
            classic("pinned-alone", policy="pinned", mirrors=0), classic("not-mirrored", policy="plain", mirrors=0),
            classic("unknown-policy", policy="gone", mirrors=0)]
    assert ha_rabbitmq.queue_problems(rows, RABBITS, RABBITS, policies) == [
        "one-of-two: 1 of 2 replicas",
        "five-in-three: 2 of 3 replicas",
        "pinned-alone: 1 of 2 replicas",
    ]
    assert ha_rabbitmq.mirrors_wanted({"ha-mode": "exactly", "ha-params": "2"}, RABBITS) == 1


def test_quorum_queues():
    rows = [quorum("whole"), quorum("leader-down", leader=C03), quorum("no-leader", leader="", state="minority"),
            quorum("member-offline", online=[C01, C02]), quorum("two-members", members=[C01, C02], online=[C01, C02])]
    assert ha_rabbitmq.queue_problems(rows, RABBITS, [C01, C02]) == [
        "leader-down: no leader on a running node (running)",
        "no-leader: no leader on a running node (minority)",
        "member-offline: 2 of 3 replicas",
    ]


def test_a_row_without_a_name():
    assert ha_rabbitmq.queue_problems([{"type": "classic", "state": "crashed"}], RABBITS, RABBITS) == [
        "?: no leader on a running node (crashed)"]


def test_queues_of_a_given_status(ctl):
    ctl.answers["list_queues"] = (0, LAB_QUEUES_JSON, "")
    ctl.answers["list_policies"] = (0, LIST_POLICIES, "")
    status = {"running_nodes": [C01, C02], "disc_nodes": [C01, C02], "ram_nodes": [C03], "partitions": {},
              "alarms": []}
    assert ha_rabbitmq.queues(status) == {"total": 14, "unhealthy": []}
    assert ctl.commands() == ["list_queues", "list_policies"]
    assert ctl.calls[0]["argv"] == LIST_QUEUES and ctl.calls[0]["timeout"] == 30


def test_queues_below_their_replicas_with_a_ram_node_in_the_cluster(ctl):
    ctl.answers["list_queues"] = (0, json.dumps([classic("conductor", mirrors=1)]), "")
    ctl.answers["list_policies"] = (0, LIST_POLICIES, "")
    status = {"running_nodes": RABBITS, "disc_nodes": [C01, C02], "ram_nodes": [C03], "partitions": {}, "alarms": []}
    assert ha_rabbitmq.queues(status) == {"total": 1, "unhealthy": ["conductor: 2 of 3 replicas"]}


def test_queues_asks_for_the_status_itself(ctl):
    ctl.answers["cluster_status"] = (0, THREE, "")
    ctl.answers["list_queues"] = (0, json.dumps([quorum("q", leader=C03, online=[C03])]), "")
    ctl.answers["list_policies"] = (0, "[]", "")
    assert ha_rabbitmq.queues(timeout=10) == {"total": 1, "unhealthy": ["q: 1 of 3 replicas"]}
    assert ctl.commands() == ["cluster_status", "list_queues", "list_policies"]
    assert [call["timeout"] for call in ctl.calls][:2] == [10, 10]


def test_no_queue_no_policy_asked(ctl):
    ctl.answers["list_queues"] = (0, "[]", "")
    assert ha_rabbitmq.queues({"running_nodes": RABBITS, "disc_nodes": RABBITS, "ram_nodes": []}) == {
        "total": 0, "unhealthy": []}
    assert ctl.commands() == ["list_queues"]


def test_queues_that_cannot_be_listed(ctl, run_all):
    ctl.answers["list_queues"] = run_all.timed_out(LIST_QUEUES, 30)
    with pytest.raises(CommandExecutionError, match="^rabbitmqctl list_queues did not finish within 30 s$"):
        ha_rabbitmq.queues({"running_nodes": RABBITS, "disc_nodes": RABBITS, "ram_nodes": []})


# --- forget ------------------------------------------------------------------------------------------------------

C04 = "rabbit@openstack-controller04"


def status(disk=RABBITS, ram=(), running=RABBITS, partitions=None) -> tuple:
    """rabbitmqctl cluster_status's answer (JSON, as 3.10 prints it) for these nodes."""
    return 0, json.dumps({"disk_nodes": list(disk), "ram_nodes": list(ram), "running_nodes": list(running),
                          "partitions": partitions or {}, "alarms": []}), ""


STATUS_ARGV = [CTL, "cluster_status", "--formatter", "json"]


@pytest.mark.parametrize(("kind", "timeout", "first_look"), [
    # A member either way: a disc node or a RAM node, running or not. The first look is bounded by the timeout,
    # at most 60 s (the rest of the bound is the command's, then the wait's).
    ("disk", 90, 60), ("ram", 90, 60), ("disk", 30, 30), ("disk", 180, 60)])
def test_forget_a_stopped_member(ctl, clock, kind, timeout, first_look):
    before = {"disk": RABBITS, "ram": []}
    before[kind] = [*before[kind], C04]
    ctl.answers["cluster_status"] = [status(**before), status()]
    assert ha_rabbitmq.forget(C04, timeout=timeout) is True
    # Then the cluster as the first look after it sees it: without the node, all running, no partition.
    assert [call["argv"] for call in ctl.calls] == [STATUS_ARGV, [CTL, "forget_cluster_node", C04], STATUS_ARGV]
    assert [call["timeout"] for call in ctl.calls] == [first_look, timeout, 15]
    assert clock.sleeps == []


def test_forget_a_node_that_is_no_member_still_waits_for_the_cluster(ctl, clock):
    # Nothing to forget (a removal run again): no forget_cluster_node, but the same wait until every member left
    # runs without a partition.
    ctl.answers["cluster_status"] = [status(), status(running=[C01, C02]), status(partitions={C02: [C03]}), status()]
    assert ha_rabbitmq.forget(C04) is False
    assert [call["argv"] for call in ctl.calls] == [STATUS_ARGV] * 4
    # The default bound (120 s): its first look at most 60 s, each look of the wait 15 s.
    assert [call["timeout"] for call in ctl.calls] == [60, 15, 15, 15]
    assert clock.sleeps == [2, 2]


def test_forget_a_node_that_is_no_member_gives_up_saying_what_it_saw(ctl, clock):
    ctl.answers["cluster_status"] = [status(), status(running=[C01, C03])]
    with pytest.raises(CommandExecutionError) as err:
        ha_rabbitmq.forget(C04, timeout=10)
    assert str(err.value) == (f"did not see RabbitMQ without {C04} within 10 s: members {RABBITS}, running "
                              f"{[C01, C03]}, partitions {{}}")
    assert clock.sleeps == [2] * 5
    assert ctl.commands() == ["cluster_status"] * (1 + 6)


def test_forget_waits_until_the_rest_agree(ctl, clock):
    ctl.answers["cluster_status"] = [
        status(disk=[*RABBITS, C04]),
        status(disk=[*RABBITS, C04]),  # still listed just after forget_cluster_node
        (69, "", UNREACHABLE),  # no answer
        status(running=[C01, C03]),  # a member left not running
        status(partitions={C02: [C03]}),  # a partition
        status(),
    ]
    assert ha_rabbitmq.forget(C04, timeout=60) is True
    assert ctl.commands() == ["cluster_status", "forget_cluster_node", *["cluster_status"] * 5]
    assert [call["timeout"] for call in ctl.calls] == [60, 60, *[15] * 5]
    assert clock.sleeps == [2, 2, 2, 2]


@pytest.mark.parametrize(("seen", "why"), [
    (status(disk=[*RABBITS, C04]), f"members {[*RABBITS, C04]}, running {RABBITS}, partitions {{}}"),
    (status(running=[C01, C02], partitions={C01: [C03], C02: [C03]}),
     f"members {RABBITS}, running {[C01, C02]}, partitions {{'{C01}': ['{C03}'], '{C02}': ['{C03}']}}"),
])
def test_forget_gives_up_saying_what_it_saw(ctl, clock, seen, why):
    ctl.answers["cluster_status"] = [status(disk=[*RABBITS, C04]), seen]
    with pytest.raises(CommandExecutionError) as err:
        ha_rabbitmq.forget(C04, timeout=10)
    assert str(err.value) == f"did not see RabbitMQ without {C04} within 10 s: {why}"
    # Every 2 s, and once more at the deadline.
    assert clock.sleeps == [2] * 5 and ctl.commands().count("cluster_status") == 1 + 6
    assert ctl.commands().count("forget_cluster_node") == 1


def test_forget_refused_while_the_node_runs(ctl, clock):
    ctl.answers["cluster_status"] = status(disk=[*RABBITS, C04], running=[*RABBITS, C04])
    ctl.answers["forget_cluster_node"] = (69, "", f"Error:\n{{:error, {{:failed_to_remove_node, :\"{C04}\", "
                                                  "{:active, 'Mnesia is running'}}}")
    with pytest.raises(CommandExecutionError, match="^rabbitmqctl forget_cluster_node failed: Error: .*Mnesia is "
                                                    "running"):
        ha_rabbitmq.forget(C04)
    # Nothing waited for.
    assert ctl.commands() == ["cluster_status", "forget_cluster_node"] and clock.sleeps == []


def test_remove_data_of_a_forgotten_node(rabbitmq_map, tmp_path, monkeypatch):
    rabbitmq_map["mnesia_dir"] = str(tmp_path / "mnesia")
    running = []
    monkeypatch.setitem(ha_rabbitmq.__salt__, "service.status", lambda name: name in running)
    assert ha_rabbitmq.remove_data() is False
    (tmp_path / "mnesia" / "rabbit@openstack-controller04").mkdir(parents=True)
    running.append("rabbitmq-server")
    with pytest.raises(CommandExecutionError, match="^rabbitmq-server runs here: stop it before its data in "):
        ha_rabbitmq.remove_data()
    assert (tmp_path / "mnesia").is_dir()
    running.clear()
    assert ha_rabbitmq.remove_data() is True
    assert list(tmp_path.iterdir()) == []
