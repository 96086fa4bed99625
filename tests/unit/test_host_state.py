"""Unit tests of _states/ha_host.py over a fake execution module, a recording cmd.run_all and files in tmp_path."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from salt.exceptions import CommandExecutionError

from tests.helpers import load_module
from tests.unit.conftest import Clock, RunAll

state = load_module("_states/ha_host.py", "ha_host_state")


class FakeHost:
    def __init__(self):
        self.module = "absent"
        self.caps = ["net_admin", "sys_module", "sys_time"]
        self.tracking: dict | Exception = {}

    def _tracking(self):
        if isinstance(self.tracking, Exception):
            raise self.tracking
        return self.tracking

    def funcs(self):
        return {
            "ha_host.kernel_module": lambda name: self.module,
            "ha_host.capabilities": lambda: self.caps,
            "ha_host.tracking": self._tracking,
            "kmod.load": lambda name: self.load(name),
        }


@pytest.fixture
def fake():
    return FakeHost()


@pytest.fixture
def opts():
    return {"test": False}


@pytest.fixture
def configure_loader_modules(fake, opts, utils, run_all):
    return {state: {"__salt__": {**fake.funcs(), "cmd.run_all": run_all}, "__opts__": opts, "__utils__": utils}}


@pytest.fixture
def modprobe(fake):
    """kmod.load recording its calls; answers a message string (modprobe failed) when ``failing``."""
    calls: list[str] = []
    failing: list[bool] = []

    def load(name):
        calls.append(name)
        if failing:
            return f"Error loading module {name}: modprobe: FATAL: Module {name} not found"
        return [name]

    fake.load = load
    return calls, failing


def test_loaded_module_changes_nothing(fake, modprobe):
    fake.module = "loaded"
    ret = state.kernel_module("br_netfilter")
    assert ret["result"] is True and ret["changes"] == {}
    assert modprobe[0] == []


def test_kernel_without_modules_changes_nothing(fake, modprobe):
    fake.module = "no-module-support"
    ret = state.kernel_module("br_netfilter")
    assert ret["result"] is True and ret["changes"] == {}
    assert "built in" in ret["comment"]
    assert modprobe[0] == []


def test_absent_module_is_loaded(modprobe):
    ret = state.kernel_module("br_netfilter")
    assert ret["result"] is True and ret["changes"] == {"loaded": "br_netfilter"}
    assert modprobe[0] == ["br_netfilter"]


def test_test_mode_loads_nothing(opts, modprobe):
    opts["test"] = True
    ret = state.kernel_module("br_netfilter")
    assert ret["result"] is None and ret["changes"] == {"loaded": "br_netfilter"}
    assert modprobe[0] == []


def test_failed_modprobe_in_a_container_says_where_to_load_it(fake, modprobe):
    fake.caps = ["net_admin"]
    modprobe[1].append(True)
    ret = state.kernel_module("br_netfilter")
    assert ret["result"] is False and ret["changes"] == {}
    assert "modprobe br_netfilter failed" in ret["comment"]
    assert "CAP_SYS_MODULE" in ret["comment"]


def test_chrony_answering_reports_what_it_follows(fake):
    fake.tracking = {"stratum": 11, "reference_id": "0A0A0A33", "reference_name": "10.10.10.51",
                     "leap_status": "Normal"}
    ret = state.chrony_answering("chronyd")
    assert ret["result"] is True and ret["changes"] == {}
    assert "stratum 11, following 10.10.10.51 (Normal)" in ret["comment"]
    fake.tracking = {"stratum": 10, "reference_id": "7F7F0101", "reference_name": "", "leap_status": "Normal"}
    assert "stratum 10, following its own clock" in state.chrony_answering("chronyd")["comment"]


def test_chrony_not_answering_fails(fake, opts):
    fake.tracking = CommandExecutionError("chronyc tracking failed: 506 Cannot talk to daemon (is chronyd running?)")
    ret = state.chrony_answering("chronyd")
    assert ret["result"] is False and ret["changes"] == {}
    assert "506 Cannot talk to daemon" in ret["comment"]
    opts["test"] = True
    assert state.chrony_answering("chronyd")["result"] is None


@pytest.fixture
def kernel_name(monkeypatch):
    """The kernel's host name as socket.gethostname reads it."""
    current = ["localhost.localdomain"]
    monkeypatch.setattr(state.socket, "gethostname", lambda: current[0])
    return current


def test_hostname_already_set_runs_nothing(kernel_name, run_all):
    kernel_name[0] = "openstack-controller01"
    ret = state.hostname("openstack-controller01")
    assert ret == {"name": "openstack-controller01", "changes": {}, "result": True,
                   "comment": "the host name is openstack-controller01"}
    assert run_all.calls == []


def test_hostname_set_through_hostname(kernel_name, run_all, opts):
    changes = {"old": "localhost.localdomain", "new": "openstack-controller01"}
    opts["test"] = True
    ret = state.hostname("openstack-controller01")
    assert (ret["result"], ret["changes"], run_all.calls) == (None, changes, [])
    assert ret["comment"] == "the host name would be set to openstack-controller01"
    opts["test"] = False
    ret = state.hostname("openstack-controller01")
    assert (ret["result"], ret["changes"]) == (True, changes)
    assert ret["comment"] == "the host name set to openstack-controller01"
    (call,) = run_all.calls
    assert call["argv"] == ["hostname", "openstack-controller01"] and call["python_shell"] is False


def test_hostname_failure_says_why(kernel_name, run_all):
    run_all.handler = lambda argv, **kwargs: (1, "", "hostname: you must be root to change the host name\n")
    ret = state.hostname("openstack-controller01")
    assert (ret["result"], ret["changes"]) == (False, {})
    assert ret["comment"] == ("hostname openstack-controller01 failed: hostname: you must be root to change the host "
                              "name")


@pytest.mark.parametrize(("answer", "comment"), [
    pytest.param(lambda argv, **kwargs: RunAll.missing(argv), "hostname not found", id="no hostname program"),
    pytest.param(lambda argv, timeout, **kwargs: RunAll.timed_out(argv, timeout),
                 "hostname openstack-controller01 did not finish within 120 s", id="timed out"),
])
def test_hostname_that_cannot_run_fails_with_the_reason(kernel_name, run_all, answer, comment):
    run_all.handler = answer
    ret = state.hostname("openstack-controller01")
    assert ret == {"name": "openstack-controller01", "changes": {}, "result": False, "comment": comment}
    assert len(run_all.calls) == 1


@pytest.fixture
def zones(tmp_path) -> dict:
    """A tz database in tmp_path/zoneinfo and the node's /etc in tmp_path/etc, as Debian leaves them (Etc/UTC)."""
    zoneinfo, etc = tmp_path / "zoneinfo", tmp_path / "etc"
    for name in ("Etc/UTC", "Europe/Berlin", "Asia/Shanghai"):
        (zoneinfo / name).parent.mkdir(parents=True, exist_ok=True)
        (zoneinfo / name).write_bytes(b"TZif2" + name.encode())
    etc.mkdir()
    (etc / "localtime").symlink_to(zoneinfo / "Etc/UTC")
    (etc / "timezone").write_text("Etc/UTC\n")
    return {"zoneinfo_dir": str(zoneinfo), "localtime": str(etc / "localtime"), "timezone_file": str(etc / "timezone")}


def test_timezone_sets_the_link_and_the_file(zones):
    localtime, zone = Path(zones["localtime"]), Path(zones["zoneinfo_dir"], "Europe/Berlin")
    ret = state.timezone("Europe/Berlin", **zones)
    assert (ret["result"], ret["comment"]) == (True, "the time zone set to Europe/Berlin")
    assert ret["changes"] == {
        zones["localtime"]: {"old": str(Path(zones["zoneinfo_dir"], "Etc/UTC")), "new": str(zone)},
        zones["timezone_file"]: {"old": "Etc/UTC", "new": "Europe/Berlin"},
    }
    assert localtime.is_symlink() and os.readlink(localtime) == str(zone)
    assert Path(zones["timezone_file"]).read_text() == "Europe/Berlin\n"
    # The new link was renamed over the old one: nothing staged is left beside it.
    assert sorted(p.name for p in localtime.parent.iterdir()) == ["localtime", "timezone"]
    again = state.timezone("Europe/Berlin", **zones)
    assert again == {"name": "Europe/Berlin", "changes": {}, "result": True,
                     "comment": "the time zone is Europe/Berlin"}


def test_timezone_in_test_mode_changes_no_file(zones, opts):
    opts["test"] = True
    ret = state.timezone("Asia/Shanghai", **zones)
    assert (ret["result"], ret["comment"]) == (None, "the time zone would be set to Asia/Shanghai")
    assert set(ret["changes"]) == {zones["localtime"], zones["timezone_file"]}
    assert os.readlink(zones["localtime"]) == str(Path(zones["zoneinfo_dir"], "Etc/UTC"))
    assert Path(zones["timezone_file"]).read_text() == "Etc/UTC\n"


def test_timezone_without_a_timezone_file(zones):
    # RedHat: the link only; no /etc/timezone is written.
    Path(zones["timezone_file"]).unlink()
    ret = state.timezone("Europe/Berlin", zones["zoneinfo_dir"], zones["localtime"])
    assert list(ret["changes"]) == [zones["localtime"]] and ret["result"] is True
    assert not Path(zones["timezone_file"]).exists()
    assert state.timezone("Europe/Berlin", zones["zoneinfo_dir"], zones["localtime"], None)["changes"] == {}


def test_timezone_fixes_each_file_on_its_own(zones):
    localtime = Path(zones["localtime"])
    zone = Path(zones["zoneinfo_dir"], "Etc/UTC")
    # Debian's own link is relative: the same zone, nothing to change but the file that differs.
    localtime.unlink()
    localtime.symlink_to(os.path.relpath(zone, localtime.parent))
    Path(zones["timezone_file"]).write_text("Europe/Berlin\n")
    ret = state.timezone("Etc/UTC", **zones)
    assert ret["changes"] == {zones["timezone_file"]: {"old": "Europe/Berlin", "new": "Etc/UTC"}}
    assert os.readlink(localtime) == os.path.relpath(zone, localtime.parent)
    # A copy of the zone's file rather than a link, and no /etc/timezone at all.
    localtime.unlink()
    localtime.write_bytes(zone.read_bytes())
    Path(zones["timezone_file"]).unlink()
    ret = state.timezone("Etc/UTC", **zones)
    assert ret["changes"] == {zones["localtime"]: {"old": None, "new": str(zone)},
                              zones["timezone_file"]: {"old": None, "new": "Etc/UTC"}}
    assert os.readlink(localtime) == str(zone) and Path(zones["timezone_file"]).read_text() == "Etc/UTC\n"


def test_timezone_replaces_a_link_left_staged_by_an_interrupted_run(zones):
    localtime = Path(zones["localtime"])
    staged = localtime.with_name(".localtime.ha-new")
    staged.symlink_to("/nowhere")
    localtime.unlink()
    assert state.timezone("Europe/Berlin", **zones)["changes"][zones["localtime"]]["old"] is None
    assert os.readlink(localtime) == str(Path(zones["zoneinfo_dir"], "Europe/Berlin"))
    assert not staged.is_symlink()


def _assert_refused(zones, opts, name):
    """``name`` fails with the message naming ha:timezone, in a run and a test run, and changes nothing."""
    for test in (False, True):
        opts["test"] = test
        ret = state.timezone(name, **zones)
        assert (ret["result"], ret["changes"]) == (False, {})
        assert ret["comment"] == (f"ha:timezone: {name!r} is no time zone of {zones['zoneinfo_dir']} "
                                  "(is tzdata installed?)")
    assert os.readlink(zones["localtime"]) == str(Path(zones["zoneinfo_dir"], "Etc/UTC"))
    assert Path(zones["timezone_file"]).read_text() == "Etc/UTC\n"


@pytest.mark.parametrize("name", ["Mars/Olympus", "Europe", "", "../secret", "Europe/../Etc/UTC"])
def test_timezone_refuses_what_is_no_zone(zones, opts, name):
    # ../secret exists beside the tz database and Europe/../Etc/UTC is a zone's file: refused for the "..".
    Path(zones["zoneinfo_dir"], "..", "secret").write_text("not a zone")
    _assert_refused(zones, opts, name)


@pytest.mark.parametrize("absolute", [
    pytest.param(lambda zones: "/etc/passwd", id="/etc/passwd"),
    pytest.param(lambda zones: zones["timezone_file"], id="the timezone file"),
    pytest.param(lambda zones: str(Path(zones["zoneinfo_dir"], "Europe/Berlin")), id="a zone's own path"),
])
def test_timezone_refuses_an_absolute_name(zones, opts, absolute):
    name = absolute(zones)
    # Path(zoneinfo_dir, "/etc/passwd") is /etc/passwd, an existing file: refused for being absolute.
    assert Path(zones["zoneinfo_dir"], name).is_file()
    _assert_refused(zones, opts, name)
    assert sorted(p.name for p in Path(zones["localtime"]).parent.iterdir()) == ["localtime", "timezone"]


def test_timezone_link_that_cannot_be_replaced_fails(zones, monkeypatch):
    # The rename itself fails (a read-only /etc; a read-only folder would not stop root).
    def refused(src, dst):
        raise PermissionError(13, "Permission denied", str(src), None, str(dst))

    monkeypatch.setattr(state.os, "replace", refused)
    ret = state.timezone("Europe/Berlin", **zones)
    assert (ret["result"], ret["changes"]) == (False, {})
    assert ret["comment"].startswith("setting the time zone Europe/Berlin failed: [Errno 13] Permission denied")
    # The old link stays, and so does the file written after it.
    assert os.readlink(zones["localtime"]) == str(Path(zones["zoneinfo_dir"], "Etc/UTC"))
    assert Path(zones["timezone_file"]).read_text() == "Etc/UTC\n"


def test_timezone_file_that_cannot_be_written_fails(zones, tmp_path):
    # /etc/timezone in a folder that does not exist: reading finds no file, writing fails.
    timezone_file = str(tmp_path / "missing" / "timezone")
    ret = state.timezone("Etc/UTC", zones["zoneinfo_dir"], zones["localtime"], timezone_file)
    assert (ret["result"], ret["changes"]) == (False, {})
    assert ret["comment"] == (f"setting the time zone Etc/UTC failed: [Errno 2] No such file or directory: "
                              f"{timezone_file!r}")
    assert not Path(timezone_file).parent.exists()
    assert os.readlink(zones["localtime"]) == str(Path(zones["zoneinfo_dir"], "Etc/UTC"))


IS_ACTIVE = ["systemctl", "is-active", "--quiet", "nftables"]
START = ["systemctl", "start", "nftables"]
JOURNAL = ["journalctl", "-u", "nftables", "-n", "5", "--no-pager", "-o", "cat"]
RULES = "#!/usr/sbin/nft -f\ntable inet ha_formula\ndelete table inet ha_formula\ntable inet ha_formula {\n}\n"
NFT_ERROR = ("/etc/nftables.conf:12:5-9: Error: Could not process rule: No such file or directory\n"
             "    add rule inet ha_formula input tcp dport 3306 accept\n")
START_ERROR = ("Job for nftables.service failed because the control process exited with error code.\n"
               "See \"systemctl status nftables.service\" and \"journalctl -xeu nftables.service\" for details.\n")
JOURNAL_TEXT = "Starting nftables...\n/etc/nftables.conf:3:1-2: Error: syntax error\nFailed to start nftables.\n"


@pytest.fixture
def nft(tmp_path, run_all, monkeypatch):
    """
    The rule file in tmp_path and its record (in a folder not yet made);
    run_all answers ``systemctl is-active`` by ``active``, journalctl with
    ``journal`` and each load (nft -f, systemctl start) with the next of
    ``loads``, a success once they are used up. ``sleeps`` are the pauses
    between tries (NFT_PAUSE is 0: nothing waits).
    """
    monkeypatch.setattr(state, "NFT_PAUSE", 0)
    clock = Clock()
    monkeypatch.setattr(state, "time", clock)
    rules = tmp_path / "nftables.conf"
    rules.write_text(RULES)
    box = SimpleNamespace(
        rules=str(rules), record=str(tmp_path / "ha-formula" / "nftables-loaded"),
        digest=hashlib.sha256(RULES.encode()).hexdigest(), active=True, loads=[], journal=(0, JOURNAL_TEXT, ""),
        sleeps=clock.sleeps, argvs=lambda: [call["argv"] for call in run_all.calls],
    )

    def handler(argv, **kwargs):
        if argv == IS_ACTIVE:
            return (0, "", "") if box.active else (3, "", "")
        if argv == JOURNAL:
            return box.journal
        return box.loads.pop(0) if box.loads else (0, "", "")

    run_all.handler = handler
    return box


def nft_loaded(nft) -> dict:
    return state.nft_loaded(nft.rules, "nftables", nft.record)


def test_nft_loaded_and_recorded_runs_nothing_more(nft, run_all):
    Path(nft.record).parent.mkdir()
    Path(nft.record).write_text(nft.digest + "\n")
    ret = nft_loaded(nft)
    assert ret == {"name": nft.rules, "changes": {}, "result": True,
                   "comment": f"{nft.rules} is loaded and nftables is active"}
    assert nft.argvs() == [IS_ACTIVE]
    assert run_all.calls[0]["python_shell"] is False
    assert Path(nft.record).read_text() == nft.digest + "\n"


@pytest.mark.parametrize("recorded", [None, "0" * 64, ""], ids=["no record", "another digest", "empty record"])
def test_nft_loads_a_file_not_recorded(nft, recorded):
    if recorded is not None:
        Path(nft.record).parent.mkdir()
        Path(nft.record).write_text(recorded + "\n")
    ret = nft_loaded(nft)
    assert ret == {"name": nft.rules, "changes": {"loaded": nft.rules}, "result": True,
                   "comment": f"{nft.rules} loaded"}
    assert nft.argvs() == [IS_ACTIVE, ["nft", "-f", nft.rules]]
    assert Path(nft.record).read_text() == nft.digest + "\n"
    assert nft.sleeps == []
    # Recorded: the next run loads nothing.
    again = nft_loaded(nft)
    assert (again["result"], again["changes"]) == (True, {})
    assert nft.argvs() == [IS_ACTIVE, ["nft", "-f", nft.rules], IS_ACTIVE]


def test_nft_loads_the_file_again_once_it_changed(nft):
    nft_loaded(nft)
    Path(nft.rules).write_text(RULES + "# changed\n")
    ret = nft_loaded(nft)
    assert ret["changes"] == {"loaded": nft.rules}
    assert nft.argvs() == [IS_ACTIVE, ["nft", "-f", nft.rules]] * 2
    assert Path(nft.record).read_text() == hashlib.sha256((RULES + "# changed\n").encode()).hexdigest() + "\n"


@pytest.mark.parametrize("recorded", [False, True], ids=["no record", "recorded"])
def test_nft_inactive_service_is_started_instead_of_nft(nft, recorded):
    # The service loads the file as it starts: no nft -f, even when the record says the file was loaded.
    nft.active = False
    if recorded:
        Path(nft.record).parent.mkdir()
        Path(nft.record).write_text(nft.digest + "\n")
    ret = nft_loaded(nft)
    assert ret == {"name": nft.rules, "changes": {"loaded": nft.rules, "started": "nftables"}, "result": True,
                   "comment": f"{nft.rules} loaded"}
    assert nft.argvs() == [IS_ACTIVE, START]
    assert Path(nft.record).read_text() == nft.digest + "\n"


@pytest.mark.parametrize(("active", "started"), [
    pytest.param(True, {}, id="active"),
    pytest.param(False, {"started": "nftables"}, id="inactive"),
])
def test_nft_test_mode_runs_and_records_nothing(nft, opts, active, started):
    opts["test"] = True
    nft.active = active
    ret = nft_loaded(nft)
    changes = {"loaded": nft.rules, **started}
    assert ret == {"name": nft.rules, "changes": changes, "result": None,
                   "comment": f"{nft.rules} would be loaded"}
    assert nft.argvs() == [IS_ACTIVE]
    assert not Path(nft.record).exists() and not Path(nft.record).parent.exists()


def test_nft_test_mode_with_the_file_loaded_changes_nothing(nft, opts):
    opts["test"] = True
    Path(nft.record).parent.mkdir()
    Path(nft.record).write_text(nft.digest + "\n")
    ret = nft_loaded(nft)
    assert (ret["result"], ret["changes"]) == (True, {})
    assert nft.argvs() == [IS_ACTIVE]


@pytest.mark.parametrize(("active", "changes"), [
    pytest.param(True, {}, id="nft -f"),
    pytest.param(False, {"started": "nftables"}, id="systemctl start"),
])
def test_nft_load_failing_twice_is_tried_again(nft, active, changes):
    nft.active = active
    argv = ["nft", "-f", nft.rules] if active else START
    nft.loads = [(1, "", NFT_ERROR), (1, "", NFT_ERROR)]
    ret = nft_loaded(nft)
    assert ret == {"name": nft.rules, "changes": {"loaded": nft.rules, **changes, "attempts": 3}, "result": True,
                   "comment": f"{nft.rules} loaded after 3 attempts"}
    assert nft.argvs() == [IS_ACTIVE, argv, argv, argv]
    assert nft.sleeps == [0, 0]
    assert Path(nft.record).read_text() == nft.digest + "\n"


def test_nft_load_failing_once_says_2_attempts(nft):
    nft.loads = [(1, "", NFT_ERROR)]
    ret = nft_loaded(nft)
    assert ret["changes"] == {"loaded": nft.rules, "attempts": 2}
    assert ret["comment"] == f"{nft.rules} loaded after 2 attempts"
    assert nft.argvs() == [IS_ACTIVE] + [["nft", "-f", nft.rules]] * 2


@pytest.mark.parametrize("recorded", [None, "0" * 64], ids=["no record", "another digest"])
def test_nft_failing_3_times_fails_with_what_nft_said(nft, recorded):
    if recorded is not None:
        Path(nft.record).parent.mkdir()
        Path(nft.record).write_text(recorded + "\n")
    nft.loads = [(1, "", NFT_ERROR)] * 3
    ret = nft_loaded(nft)
    assert ret == {"name": nft.rules, "changes": {}, "result": False,
                   "comment": f"nft -f {nft.rules} failed 3 times: {NFT_ERROR.strip()}"}
    # No journal for an active service: nft's own message says it all.
    assert nft.argvs() == [IS_ACTIVE] + [["nft", "-f", nft.rules]] * 3
    assert nft.sleeps == [0, 0]
    if recorded is None:
        assert not Path(nft.record).exists()
    else:
        assert Path(nft.record).read_text() == recorded + "\n"
    # Not recorded: the next run loads the file again.
    nft.loads = []
    assert nft_loaded(nft)["changes"] == {"loaded": nft.rules}


def test_nft_service_failing_to_start_3_times_fails_with_its_journal(nft):
    nft.active = False
    nft.loads = [(1, "", START_ERROR)] * 3
    ret = nft_loaded(nft)
    assert ret == {"name": nft.rules, "changes": {}, "result": False,
                   "comment": f"systemctl start nftables failed 3 times: {START_ERROR.strip()} {JOURNAL_TEXT.strip()}"}
    assert "failed 3 times" in ret["comment"] and "syntax error" in ret["comment"]
    assert nft.argvs() == [IS_ACTIVE, START, START, START, JOURNAL]
    assert nft.sleeps == [0, 0]
    assert not Path(nft.record).exists()


def test_nft_rule_file_that_cannot_be_read_fails(nft, opts):
    Path(nft.rules).unlink()
    for test in (False, True):
        opts["test"] = test
        ret = nft_loaded(nft)
        assert (ret["result"], ret["changes"]) == (False, {})
        assert ret["comment"] == (f"the rule set {nft.rules} cannot be read: [Errno 2] No such file or directory: "
                                  f"{nft.rules!r}")
    assert "cannot be read" in ret["comment"]
    assert nft.argvs() == []
    assert not Path(nft.record).exists()


@pytest.mark.parametrize(("answer", "argvs", "comment"), [
    pytest.param(lambda argv, **kwargs: RunAll.missing(argv) if argv[0] == "systemctl" else (0, "", ""),
                 lambda rules: [IS_ACTIVE], lambda rules: "systemctl not found", id="no systemctl"),
    pytest.param(lambda argv, **kwargs: RunAll.missing(argv) if argv[0] == "nft" else (0, "", ""),
                 lambda rules: [IS_ACTIVE, ["nft", "-f", rules]], lambda rules: "nft not found", id="no nft"),
    pytest.param(lambda argv, timeout, **kwargs: RunAll.timed_out(argv, timeout) if argv[0] == "nft"
                 else (0, "", ""),
                 lambda rules: [IS_ACTIVE, ["nft", "-f", rules]],
                 lambda rules: f"nft -f {rules} did not finish within 120 s", id="nft timed out"),
    pytest.param(lambda argv, timeout, **kwargs: RunAll.timed_out(argv, timeout) if argv == START
                 else (3, "", ""),
                 lambda rules: [IS_ACTIVE, START],
                 lambda rules: "systemctl start nftables did not finish within 120 s", id="start timed out"),
])
def test_nft_command_that_cannot_run_fails_with_the_reason(nft, run_all, answer, argvs, comment):
    run_all.handler = answer
    ret = nft_loaded(nft)
    assert ret == {"name": nft.rules, "changes": {}, "result": False, "comment": comment(nft.rules)}
    assert "Traceback" not in ret["comment"]
    # Not tried again: a program that is missing or hangs stays so.
    assert nft.argvs() == argvs(nft.rules)
    assert not Path(nft.record).exists()


def test_nft_load_not_recorded_succeeds_with_a_warning(nft):
    # A file where the record's folder should be: the load stands, the next run loads again.
    Path(nft.record).parent.write_text("not a folder")
    ret = nft_loaded(nft)
    assert (ret["result"], ret["changes"], ret["comment"]) == (True, {"loaded": nft.rules}, f"{nft.rules} loaded")
    (warning,) = ret["warnings"]
    assert warning.startswith(f"the load of {nft.rules} not recorded (it is loaded again next time): [Errno 17]")
    assert nft.argvs() == [IS_ACTIVE, ["nft", "-f", nft.rules]]
    assert Path(nft.record).parent.read_text() == "not a folder"
    assert nft_loaded(nft)["changes"] == {"loaded": nft.rules}
    assert nft.argvs() == [IS_ACTIVE, ["nft", "-f", nft.rules]] * 2
