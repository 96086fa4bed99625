"""Unit tests of _utils/ha_kit.py: the state return, the secret getter, the command runner (over a fake and over
Salt's real cmd.run_all) and the poll loop."""

from __future__ import annotations

import pytest
import salt.config
import salt.loader
import salt.modules.cmdmod as cmdmod
from salt.exceptions import CommandExecutionError

from tests.helpers import REPO

SECRET = "pw-with-a-\\n-and-$-0f3a9c1e77"


# The toolkit as Salt loads it


@pytest.mark.filterwarnings("ignore:'crypt' is deprecated:DeprecationWarning")  # Salt's own utils
def test_salts_utils_loader_offers_the_functions_the_tests_use(utils):
    opts = salt.config.minion_config(None)
    opts.update(utils_dirs=[str(REPO / "_utils")], extension_modules=str(REPO / "no-extension-modules"))
    loaded = salt.loader.utils(opts)
    assert sorted(key for key in loaded if key.startswith("ha_kit.")) == sorted(utils)
    assert loaded["ha_kit.is_test"]({"test": True}) is True


# A state's return


def test_state_return_helpers(kit):
    ret = kit.ret("ha-x")
    assert ret == {"name": "ha-x", "changes": {}, "result": True, "comment": ""}
    assert kit.change(ret, "policy", None, {"pattern": "^"}) is ret
    assert ret["changes"] == {"policy": {"old": None, "new": {"pattern": "^"}}}
    assert kit.would(ret, "policy would be set") is ret
    assert ret == {"name": "ha-x", "changes": {"policy": {"old": None, "new": {"pattern": "^"}}}, "result": None,
                   "comment": "policy would be set"}
    assert kit.would(kit.ret("y"), "would", {"set_up": ["fernet"]})["changes"] == {"set_up": ["fernet"]}


def test_fail_keeps_what_was_done_unless_told(kit):
    ret = kit.change(kit.ret("c"), "authenticated", None, ["c1"])
    assert kit.fail(ret, "pcs cluster setup failed") == {
        "name": "c", "changes": {"authenticated": {"old": None, "new": ["c1"]}}, "result": False,
        "comment": "pcs cluster setup failed"}
    assert kit.fail(ret, "nothing done", {})["changes"] == {}


@pytest.mark.parametrize(("opts", "expected"), [({"test": True}, True), ({"test": False}, False), ({}, False),
                                                ({"test": None}, False)])
def test_is_test(kit, opts, expected):
    assert kit.is_test(opts) is expected


# secret


def test_secret_reads_the_unmasked_pillar(kit, pillar_get):
    pillar_get.flat["ha:x:password"] = SECRET
    assert kit.secret({"pillar.get": pillar_get}, "ha:x:password") == SECRET
    assert pillar_get.calls == [("ha:x:password", True)]


@pytest.mark.parametrize("value", [None, "", 12345678901234567, {"nested": "value"}, ["a"]])
def test_secret_that_is_empty_or_no_string_names_the_key_only(kit, pillar_get, value):
    pillar_get.flat["ha:x:password"] = value
    with pytest.raises(CommandExecutionError) as err:
        kit.secret({"pillar.get": pillar_get}, "ha:x:password")
    assert str(err.value) == "pillar key ha:x:password is empty or not a string"


def test_secret_missing_key_asks_for_none_as_the_default(kit):
    seen = []

    def pillar_get(key, default="", *, unmask=False):
        seen.append((key, default, unmask))
        return default

    with pytest.raises(CommandExecutionError, match="^pillar key ha:absent is empty or not a string$"):
        kit.secret({"pillar.get": pillar_get}, "ha:absent")
    assert seen == [("ha:absent", None, True)]


# run, over a fake cmd.run_all


def test_run_passes_an_argument_list_without_a_shell_and_quietly(kit, run_all):
    run_all.handler = lambda argv, **kwargs: (0, "out\n", "warning\n")
    result = kit.run({"cmd.run_all": run_all}, ("rabbitmqctl", "add_user", "openstack"), stdin=SECRET + "\n",
                     timeout=45, what="rabbitmqctl add_user")
    assert result == {"pid": 4242, "retcode": 0, "stdout": "out\n", "stderr": "warning\n"}
    (call,) = run_all.calls
    assert call == {
        "argv": ["rabbitmqctl", "add_user", "openstack"], "cwd": "/", "stdin": SECRET + "\n", "python_shell": False,
        "env": None, "clean_env": False, "timeout": 45, "reset_system_locale": False, "rstrip": False,
        "stdin_raw_newlines": True, "ignore_retcode": True, "output_loglevel": "quiet",
    }
    assert not any(SECRET in arg for arg in call["argv"])


def test_run_leaves_a_failed_exit_to_the_caller(kit, run_all):
    run_all.handler = lambda argv, **kwargs: (69, "", "Error: line 1\nline 2\nline 3\nline 4\n")
    result = kit.run({"cmd.run_all": run_all}, ["rabbitmqctl", "cluster_status"], what="rabbitmqctl cluster_status")
    assert result["retcode"] == 69
    assert kit.tail(result, 3) == "line 2 line 3 line 4"
    assert kit.tail(result) == "Error: line 1\nline 2\nline 3\nline 4"
    assert kit.tail({"stdout": "\nonly stdout\n", "stderr": "  \n"}, 2) == "only stdout"


def test_tail_keeps_the_earlier_lines_that_start_with_a_prefix(kit):
    # pcs names the node that failed before the progress lines of the others.
    said = {"stdout": "", "stderr": "Sending updated corosync.conf to nodes...\nError: c02: Unable to connect to c02\n"
                                    "c03: Succeeded\nc01: Succeeded\nError: Errors have occurred, therefore pcs is "
                                    "unable to continue\n"}
    assert kit.tail(said, 3, "Error:") == ("Error: c02: Unable to connect to c02 c03: Succeeded c01: Succeeded "
                                           "Error: Errors have occurred, therefore pcs is unable to continue")
    assert kit.tail(said, 2) == "c01: Succeeded Error: Errors have occurred, therefore pcs is unable to continue"


def test_run_environment(kit, run_all):
    kit.run({"cmd.run_all": run_all}, ["etcdctl", "member", "list"], env={"ETCDCTL_API": "3"}, what="etcdctl")
    kit.run({"cmd.run_all": run_all}, ["keystone-manage"], env={"PATH": "/usr/bin", "OS_PW": SECRET}, clean_env=True,
            what="keystone-manage")
    assert [(c["env"], c["clean_env"]) for c in run_all.calls] == [
        ({"ETCDCTL_API": "3"}, False), ({"PATH": "/usr/bin", "OS_PW": SECRET}, True)]


def test_run_timeout_names_the_command_and_no_secret(kit, run_all):
    run_all.handler = lambda argv, timeout, **kwargs: run_all.timed_out(argv, timeout)
    with pytest.raises(CommandExecutionError) as err:
        kit.run({"cmd.run_all": run_all}, ["/usr/sbin/rabbitmqctl", "add_user", "openstack"], stdin=SECRET,
                env={"X": SECRET}, timeout=45, what="rabbitmqctl add_user")
    assert str(err.value) == "rabbitmqctl add_user did not finish within 45 s"
    with pytest.raises(CommandExecutionError, match=r"^pcs cluster setup did not finish within 2\.5 s$"):
        kit.run({"cmd.run_all": run_all}, ["/usr/sbin/pcs", "cluster", "setup", "c"], timeout=2.5,
                what="pcs cluster setup")


def test_run_exit_1_with_that_output_on_stderr_is_no_timeout(kit, run_all):
    run_all.handler = lambda argv, **kwargs: (1, "['x'] : Timed out after 5 seconds", "it printed that")
    assert kit.run({"cmd.run_all": run_all}, ["x"], timeout=5, what="x")["retcode"] == 1


def test_run_of_a_missing_program(kit, run_all):
    run_all.handler = lambda argv, **kwargs: run_all.missing(argv)
    with pytest.raises(CommandExecutionError, match="^/usr/bin/etcdctl not found: is the etcd client package "
                                                    r"installed\?$"):
        kit.run({"cmd.run_all": run_all}, ["/usr/bin/etcdctl", "member", "list"], what="etcdctl member list",
                hint="is the etcd client package installed?")
    with pytest.raises(CommandExecutionError, match="^chpasswd not found$"):
        kit.run({"cmd.run_all": run_all}, ["chpasswd"], stdin=f"hacluster:{SECRET}\n", what="chpasswd")


def test_run_that_cannot_start_says_why_without_the_secrets(kit, run_all):
    run_all.handler = lambda argv, **kwargs: CommandExecutionError("Specified cwd '/' either not absolute or does "
                                                                   "not exist")
    with pytest.raises(CommandExecutionError) as err:
        kit.run({"cmd.run_all": run_all}, ["runuser", "-u", "nova", "--", "nova-manage"], env={"P": SECRET},
                what="nova-manage")
    assert str(err.value) == "nova-manage could not start: Specified cwd '/' either not absolute or does not exist"


# run, over Salt's own cmd.run_all: what the fake above stands for


@pytest.fixture
def configure_loader_modules():
    return {cmdmod: {"__opts__": {"cmd_safe": True}, "__grains__": {"os": "Debian", "os_family": "Debian"},
                     "__context__": {}, "__salt__": {}}}


REAL = {"cmd.run_all": cmdmod.run_all}


def test_real_run_all_passes_stdin_as_is_and_keeps_the_output(kit):
    # cmd.run_all turns a written "\n" of stdin into a newline unless told not to.
    result = kit.run(REAL, ["sh", "-c", 'cat; echo "err" >&2; exit 3'], stdin=SECRET + "\n", what="sh")
    assert result["retcode"] == 3 and result["stdout"] == SECRET + "\n" and result["stderr"] == "err\n"


def test_real_run_all_environment(kit):
    result = kit.run(REAL, ["sh", "-c", 'echo "$HA_X|$HOME|$(pwd)"'], env={"HA_X": "1"}, what="sh")
    assert result["stdout"].startswith("1|") and result["stdout"].endswith("|/\n")
    clean = kit.run(REAL, ["/usr/bin/env"], env={"PATH": "/usr/bin:/bin", "HA_X": SECRET}, clean_env=True,
                    what="env")
    assert sorted(clean["stdout"].splitlines()) == ["HA_X=" + SECRET, "PATH=/usr/bin:/bin"]


def test_real_run_all_timeout_and_missing_program(kit):
    with pytest.raises(CommandExecutionError, match=r"^sleep 5 did not finish within 0\.1 s$"):
        kit.run(REAL, ["sleep", "5"], stdin=SECRET, timeout=0.1, what="sleep 5")
    with pytest.raises(CommandExecutionError, match="^/nonexistent/ha-tool not found: is it installed\\?$"):
        kit.run(REAL, ["/nonexistent/ha-tool", "x"], what="ha-tool", hint="is it installed?")


# wait


def test_wait_returns_the_first_true_answer_without_sleeping(kit, clock):
    assert kit.wait("x", lambda: {"ok": 1}, 10) == {"ok": 1}
    assert clock.sleeps == []


def test_wait_polls_at_the_interval(kit, clock):
    answers = iter([None, CommandExecutionError("not yet"), {}, "done"])

    def probe():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert kit.wait("x", probe, 60, interval=2) == "done"
    assert clock.sleeps == [2, 2, 2]


def test_wait_gives_up_at_the_deadline_with_the_last_reason(kit, clock):
    seen = []

    def probe():
        seen.append(clock.now)
        raise CommandExecutionError(f"quorate: False at {clock.now:.0f}")

    with pytest.raises(CommandExecutionError) as err:
        kit.wait("nodes c1, c2 online", probe, 5, interval=2)
    # One probe at the deadline itself: the last sleep is what is left.
    assert seen == [1000, 1002, 1004, 1005] and clock.sleeps == [2, 2, 1]
    assert str(err.value) == "did not see nodes c1, c2 online within 5 s: quorate: False at 1005"


def test_wait_reason_of_a_false_answer(kit, clock):
    with pytest.raises(CommandExecutionError, match="^did not see x within 0.5 s: the last check returned False$"):
        kit.wait("x", lambda: False, 0.5)


def test_wait_deadline_counts_the_time_a_probe_takes(kit, clock):
    calls = []

    def slow_probe():
        calls.append(clock.now)
        clock.now += 7  # a probe that takes 7 s, e.g. a command that waits for its own timeout
        return None

    with pytest.raises(CommandExecutionError):
        kit.wait("x", slow_probe, 20, interval=1)
    assert calls == [1000, 1008, 1016] and clock.sleeps == [1, 1]


def test_wait_probes_once_with_no_time(kit, clock):
    calls = []
    with pytest.raises(CommandExecutionError, match="^did not see x within 0 s: "):
        kit.wait("x", lambda: calls.append(1), 0)
    assert calls == [1] and clock.sleeps == []


def test_wait_lets_other_errors_through(kit, clock):
    def probe():
        raise KeyError("quorate")

    with pytest.raises(KeyError):
        kit.wait("x", probe, 60)
    assert clock.sleeps == []


def test_wait_with_a_real_clock_and_a_tiny_timeout(kit):
    with pytest.raises(CommandExecutionError, match="^did not see x within 0.02 s: "):
        kit.wait("x", lambda: None, 0.02, interval=0.005)


def test_seal_opens_only_with_its_secret_and_purpose(kit):
    keys = {"fernet": {"0": "Zm9v-key-zero"}, "credential": {"0": "cred"}}
    sealed = kit.seal(keys, "pillar-secret-0123456789", "keystone key repositories")
    assert "Zm9v-key-zero" not in sealed and "cred" not in sealed
    assert kit.unseal(sealed, "pillar-secret-0123456789", "keystone key repositories") == keys
    # A new token each time (Fernet's random IV), all of which open.
    assert kit.seal(keys, "pillar-secret-0123456789", "keystone key repositories") != sealed
    for secret, purpose, token in (("pillar-secret-0123456789x", "keystone key repositories", sealed),
                                   ("pillar-secret-0123456789", "another purpose", sealed),
                                   ("pillar-secret-0123456789", "keystone key repositories", sealed[:-4] + "AAAA"),
                                   ("pillar-secret-0123456789", "keystone key repositories", "not a token")):
        with pytest.raises(CommandExecutionError, match="do not open with this node's pillar secret"):
            kit.unseal(token, secret, purpose)


class OneMinion:
    """The master's LocalClient as call() uses it: ``answers`` is what cmd returns; records the call."""

    def __init__(self, answers: dict):
        self.answers, self.calls = answers, []

    def cmd(self, tgt, fun, arg, kwarg=None, timeout=None, full_return=False):
        self.calls.append((tgt, fun, arg, kwarg, timeout, full_return))
        return self.answers


def test_call_returns_the_minions_return(kit):
    client = OneMinion({"c1": {"ret": {"synced": True}, "retcode": 0, "jid": "1"}})
    assert kit.call(client, "c1", "ha_galera.status", "x", timeout=20, recover=True) == {"synced": True}
    assert client.calls == [("c1", "ha_galera.status", ["x"], {"recover": True}, 20, True)]


def test_call_of_a_silent_minion(kit):
    with pytest.raises(CommandExecutionError, match=r"^c1 did not answer ha_galera.stop within 60 s$"):
        kit.call(OneMinion({}), "c1", "ha_galera.stop")


def test_call_that_failed_on_the_minion(kit):
    client = OneMinion({"c1": {"ret": "ERROR: mariadb did not stop", "retcode": 1}})
    with pytest.raises(CommandExecutionError, match=r"^c1: ha_galera.stop failed: ERROR: mariadb did not stop$"):
        kit.call(client, "c1", "ha_galera.stop", timeout=7.5)
