"""Unit tests of _modules/ha_galera.py with mocked dunders, a fake SQL layer and a fake mariadbd and systemctl."""

from __future__ import annotations

import pytest
from salt.exceptions import CommandExecutionError

from tests.helpers import load_module

ha_galera = load_module("_modules/ha_galera.py", "ha_galera_module")
UUID = "a0c4b1a2-e89f-11f1-90b2-e7b430a4d936"


@pytest.fixture
def galera_map(tmp_path):
    return {"service": "mariadb", "socket": "/run/mysqld/mysqld.sock", "datadir": str(tmp_path),
            "mariadbd": "/usr/sbin/mariadbd", "new_cluster_cmd": "galera_new_cluster"}


@pytest.fixture
def running():
    return {"value": False}


@pytest.fixture
def configure_loader_modules(galera_map, running, run_all, utils):
    return {ha_galera: {
        "__salt__": {"service.status": lambda name: running["value"],
                     "ha_topology.formula_map": lambda: {"galera": galera_map}, "cmd.run_all": run_all},
        "__utils__": utils,
    }}


def wsrep(status="Primary", state=4, on=True):
    return {"wsrep_on": on, "cluster_status": status, "local_state": state, "cluster_size": 3}


@pytest.mark.parametrize(
    ("local", "bootstrap_node", "peer", "expected"),
    [
        ({"running": True, "wsrep": wsrep()}, False, None, "none"),
        ({"running": True, "wsrep": wsrep(state=1)}, False, "10.10.10.51", "wait"),
        ({"running": True, "wsrep": wsrep(on=False)}, True, None, "restart"),
        # Running but not queryable (e.g. root cannot connect): never stopped blindly.
        ({"running": True, "error": "cannot connect"}, True, "10.10.10.52", "unknown"),
        ({"running": False, "grastate": {"uuid": UUID}}, False, "10.10.10.51", "join"),
        ({"running": False, "grastate": {}}, True, None, "bootstrap"),
        ({"running": False, "grastate": {"uuid": ha_galera.ZERO_UUID}}, True, None, "bootstrap"),
        ({"running": False, "grastate": {"uuid": UUID}}, True, None, "recover"),
        ({"running": False, "grastate": {"uuid": UUID}}, False, None, "recover"),
        ({"running": False, "grastate": {}}, False, None, "blocked"),
        # A node of a non-primary component with a Synced peer elsewhere: never bootstrap.
        ({"running": True, "wsrep": wsrep(status="non-Primary", state=0)}, True, None, "recover"),
    ],
)
def test_decide(local, bootstrap_node, peer, expected):
    local.setdefault("grastate", {"uuid": UUID})
    assert ha_galera.decide(local, bootstrap_node, peer) == expected


def test_grastate(galera_map, tmp_path):
    assert ha_galera.grastate() == {}
    (tmp_path / "grastate.dat").write_text(
        f"# GALERA saved state\nversion: 2.1\nuuid:    {UUID}\nseqno:   -1\nsafe_to_bootstrap: 0\n")
    assert ha_galera.grastate() == {"uuid": UUID, "seqno": -1, "safe_to_bootstrap": False}


def test_set_safe_to_bootstrap(tmp_path):
    (tmp_path / "grastate.dat").write_text(f"uuid: {UUID}\nseqno: 12\nsafe_to_bootstrap: 0\n")
    assert ha_galera.set_safe_to_bootstrap() is True
    assert ha_galera.grastate()["safe_to_bootstrap"] is True
    assert ha_galera.grastate()["seqno"] == 12


@pytest.fixture
def no_chown(monkeypatch):
    monkeypatch.setattr(ha_galera.shutil, "chown", lambda *a: None)


def test_recover_position_parses_the_log(run_all, no_chown, tmp_path):
    def mariadbd(argv, **kwargs):
        log = next(a for a in argv if a.startswith("--log-error=")).split("=", 1)[1]
        with open(log, "w") as handle:
            handle.write(f"[Note] WSREP: Recovered position: {UUID}:806\n")
        return 0, "", ""

    run_all.handler = mariadbd
    assert ha_galera.recover_position() == {"uuid": UUID, "seqno": 806}
    (call,) = run_all.calls
    assert call["argv"][:4] == ["/usr/sbin/mariadbd", "--user=mysql", f"--datadir={tmp_path}", "--wsrep-recover"]
    assert call["timeout"] == 300 and call["python_shell"] is False


def test_recover_position_without_a_position(run_all, no_chown):
    run_all.handler = lambda argv, **kwargs: (1, "", "InnoDB: error")
    with pytest.raises(CommandExecutionError, match=r"^mariadbd --wsrep-recover found no position \(exit 1\)$"):
        ha_galera.recover_position()


def test_recover_position_that_hangs(run_all, no_chown):
    run_all.handler = lambda argv, timeout, **kwargs: run_all.timed_out(argv, timeout)
    with pytest.raises(CommandExecutionError, match="^mariadbd --wsrep-recover did not finish within 300 s$"):
        ha_galera.recover_position()


def test_recover_position_refuses_a_running_server(running):
    running["value"] = True
    with pytest.raises(CommandExecutionError, match="MariaDB is running"):
        ha_galera.recover_position()


def test_status_position(monkeypatch, running, tmp_path):
    (tmp_path / "grastate.dat").write_text(f"uuid: {UUID}\nseqno: -1\nsafe_to_bootstrap: 0\n")
    monkeypatch.setattr(ha_galera, "recover_position", lambda: {"uuid": UUID, "seqno": 77})
    assert ha_galera.status()["position"] == {"uuid": UUID, "seqno": -1}
    assert ha_galera.status(recover=True)["position"] == {"uuid": UUID, "seqno": 77}
    assert ha_galera.status()["synced"] is False
    running["value"] = True
    monkeypatch.setattr(ha_galera, "wsrep_status",
                        lambda: {**wsrep(), "cluster_state_uuid": UUID, "last_committed": 90})
    result = ha_galera.status(recover=True)
    assert result["position"] == {"uuid": UUID, "seqno": 90} and "recovered" not in result
    assert result["synced"] is True


@pytest.mark.parametrize("grastate", ["", f"uuid: {ha_galera.ZERO_UUID}\nseqno: -1\nsafe_to_bootstrap: 0\n"])
def test_status_of_a_node_without_cluster_state_has_no_uuid(monkeypatch, tmp_path, grastate):
    # What the recovery runner reads: a fresh node's all-zero uuid is no cluster of its own.
    if grastate:
        (tmp_path / "grastate.dat").write_text(grastate)
    monkeypatch.setattr(ha_galera, "recover_position", lambda: {"uuid": ha_galera.ZERO_UUID, "seqno": -1})
    assert ha_galera.status(recover=True)["position"] == {"uuid": "", "seqno": -1}


def test_status_of_a_running_node_that_is_not_synced(monkeypatch, running):
    running["value"] = True
    monkeypatch.setattr(ha_galera, "wsrep_status", lambda: {**wsrep(state=1), "cluster_state_uuid": UUID,
                                                            "last_committed": 5})
    assert ha_galera.status()["synced"] is False


def test_wait_synced(monkeypatch, clock):
    answers = [CommandExecutionError("cannot connect to MariaDB"), wsrep(state=1), wsrep()]

    def wsrep_status():
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(ha_galera, "wsrep_status", wsrep_status)
    assert ha_galera.wait_synced(60) == wsrep() and clock.sleeps == [1, 1]


def test_wait_synced_gives_up_with_the_last_status(monkeypatch, clock):
    monkeypatch.setattr(ha_galera, "wsrep_status", lambda: wsrep(status="non-Primary", state=0))
    with pytest.raises(CommandExecutionError) as err:
        ha_galera.wait_synced("30")
    assert str(err.value).startswith("did not see the node Synced in a Primary component within 30 s: last status: "
                                     "{'wsrep_on': True, 'cluster_status': 'non-Primary'")
    assert sum(clock.sleeps) == 30


def test_join_and_bootstrap_through_systemctl(monkeypatch, run_all, clock):
    monkeypatch.setattr(ha_galera, "wsrep_status", lambda: wsrep())
    assert ha_galera.join(60) == wsrep()
    assert ha_galera.bootstrap() == wsrep() and ha_galera.stop() is True
    assert [call["argv"] for call in run_all.calls] == [
        ["systemctl", "reset-failed", "mariadb"], ["systemctl", "start", "mariadb"],
        ["systemctl", "reset-failed", "mariadb"], ["galera_new_cluster"], ["systemctl", "stop", "mariadb"]]
    # No time limit but systemd's own: a joining node's start lasts as long as its state transfer.
    assert {call["timeout"] for call in run_all.calls} == {None}


def test_failed_start_says_where_to_look(run_all):
    run_all.handler = lambda argv, **kwargs: (
        (1, "", "Job for mariadb.service failed because the control process exited with error code.\n")
        if argv[:2] == ["systemctl", "start"] else (0, "", ""))
    with pytest.raises(CommandExecutionError, match="^systemctl start mariadb failed: Job for mariadb.service failed "
                                                    "because the control process exited with error code.; see "
                                                    "journalctl -u mariadb$"):
        ha_galera.join()
    run_all.handler = lambda argv, **kwargs: (1, "no such cluster\n", "")
    with pytest.raises(CommandExecutionError, match="^systemctl reset-failed mariadb failed: no such cluster; "):
        ha_galera.bootstrap()


def test_failed_new_cluster(run_all):
    run_all.handler = lambda argv, **kwargs: (1, "", "wsrep error\n") if argv == ["galera_new_cluster"] else (0, "", "")
    with pytest.raises(CommandExecutionError, match="^galera_new_cluster failed: wsrep error; see journalctl -u "
                                                    "mariadb$"):
        ha_galera.bootstrap()


class FakeSQL:
    """Answers the module's queries from a tiny model of mysql.global_priv."""

    def __init__(self, accounts, databases=(), test_grants=False):
        self.accounts = accounts  # {(user, host): priv dict}
        self.databases = set(databases)
        self.test_grants = test_grants
        self.grants = {}
        self.statements = []

    def __call__(self, sql, args=None):
        self.statements.append((sql, args))
        if sql.startswith("SELECT PASSWORD("):
            return [(f"*HASH-{args[0]}",)]
        if sql.startswith("SELECT Priv FROM"):
            priv = self.accounts.get(tuple(args))
            return [(__import__("json").dumps(priv),)] if priv else []
        if sql.startswith("SELECT User, Host"):
            return [k for k in self.accounts if k[0] == "" or (k[0] == "root" and k[1] != "localhost")]
        if sql.startswith("SHOW DATABASES LIKE 'test'"):
            return [("test",)] if "test" in self.databases else []
        if sql.startswith("SELECT SCHEMA_NAME"):
            return [(args[0],)] if args[0] in self.databases else []
        if sql.startswith("SELECT 1 FROM mysql.db"):
            return [(1,)] if self.test_grants else []
        if sql.startswith("SHOW GRANTS FOR"):
            return [(g,) for g in self.grants.get(tuple(args), [])]
        return []

    def modifying(self):
        return [s for s, _ in self.statements if not s.startswith(("SELECT", "SHOW"))]


def test_secure_from_a_fresh_install(monkeypatch):
    fake = FakeSQL({("root", "localhost"): {"plugin": "mysql_native_password", "authentication_string": "invalid",
                                            "auth_or": [{}, {"plugin": "unix_socket"}]},
                    ("", "localhost"): {"plugin": "mysql_native_password"},
                    ("root", "%"): {"plugin": "mysql_native_password"}},
                   databases=["test"], test_grants=True)
    monkeypatch.setattr(ha_galera, "_query", fake)
    changes = ha_galera.secure("s3cret-root-password", test=True)
    assert changes == ["root@localhost: unix socket or password authentication", "removed account ''@'localhost'",
                       "removed account 'root'@'%'", "removed database test", "removed grants on test databases"]
    assert fake.modifying() == []
    ha_galera.secure("s3cret-root-password")
    assert len(fake.modifying()) == 6
    assert all("s3cret-root-password" not in sql for sql, _ in fake.statements)
    assert ("ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD(%s)",
            ("s3cret-root-password",)) in fake.statements


def test_secure_when_already_secure(monkeypatch):
    fake = FakeSQL({("root", "localhost"): {"plugin": "unix_socket",
                                            "auth_or": [{"plugin": "mysql_native_password",
                                                         "authentication_string": "*HASH-pw-of-root-xyz"}]}})
    monkeypatch.setattr(ha_galera, "_query", fake)
    assert ha_galera.secure("pw-of-root-xyz") == []
    assert fake.modifying() == []


def test_ensure_user_creates_then_is_idempotent(monkeypatch):
    fake = FakeSQL({})
    monkeypatch.setattr(ha_galera, "_query", fake)
    changes = ha_galera.ensure_user("keystone", ["10.10.10.51"], "ks-password-1234567", {"keystone": ["ALL"]})
    assert changes == ["created 'keystone'@'10.10.10.51'",
                       "GRANT ALL PRIVILEGES ON `keystone`.* TO `keystone`@`10.10.10.51`"]
    assert ("CREATE USER %s@%s IDENTIFIED BY %s", ("keystone", "10.10.10.51", "ks-password-1234567")) \
        in fake.statements
    assert all("ks-password-1234567" not in sql for sql, _ in fake.statements)

    fake.accounts[("keystone", "10.10.10.51")] = {"plugin": "mysql_native_password",
                                                  "authentication_string": "*HASH-ks-password-1234567"}
    fake.grants[("keystone", "10.10.10.51")] = [
        "GRANT USAGE ON *.* TO `keystone`@`10.10.10.51` IDENTIFIED BY PASSWORD '*HASH'",
        "GRANT ALL PRIVILEGES ON `keystone`.* TO `keystone`@`10.10.10.51`",
    ]
    fake.statements.clear()
    assert ha_galera.ensure_user("keystone", ["10.10.10.51"], "ks-password-1234567", {"keystone": ["ALL"]}) == []
    assert fake.modifying() == []


def test_ensure_user_fixes_password_and_revokes_extra_grants(monkeypatch):
    fake = FakeSQL({("nova", "10.10.10.52"): {"plugin": "mysql_native_password", "authentication_string": "*OLD"}})
    fake.grants[("nova", "10.10.10.52")] = ["GRANT ALL PRIVILEGES ON `glance`.* TO `nova`@`10.10.10.52`"]
    monkeypatch.setattr(ha_galera, "_query", fake)
    changes = ha_galera.ensure_user("nova", ["10.10.10.52"], "nova-password-123456", {"nova": ["ALL"]}, test=True)
    assert changes == ["password of 'nova'@'10.10.10.52'",
                       "GRANT ALL PRIVILEGES ON `nova`.* TO `nova`@`10.10.10.52`",
                       "REVOKE ALL PRIVILEGES ON `glance`.* FROM `nova`@`10.10.10.52`"]
    assert fake.modifying() == []


def test_global_privilege_grant_line():
    assert ha_galera._grant_line("clustercheck", "localhost", "*", ["process"]) == \
        "GRANT PROCESS ON *.* TO `clustercheck`@`localhost`"


def test_ensure_database(monkeypatch):
    fake = FakeSQL({}, databases=["glance"])
    monkeypatch.setattr(ha_galera, "_query", fake)
    assert ha_galera.ensure_database("glance") == []
    assert ha_galera.ensure_database("nova_api", test=True) == ["created database nova_api"]
    assert fake.modifying() == []
    assert ha_galera.ensure_database("nova_api") == ["created database nova_api"]
    assert fake.modifying() == ["CREATE DATABASE `nova_api` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"]


def test_ensure_database_compares_names_exactly(monkeypatch):
    # With LIKE, an existing nova1api would hide a missing nova_api.
    fake = FakeSQL({}, databases=["nova1api"])
    monkeypatch.setattr(ha_galera, "_query", fake)
    assert ha_galera.ensure_database("nova_api") == ["created database nova_api"]


def test_ensure_user_checks_every_name_before_changing_anything(monkeypatch):
    fake = FakeSQL({})
    monkeypatch.setattr(ha_galera, "_query", fake)
    with pytest.raises(CommandExecutionError, match="invalid database"):
        ha_galera.ensure_user("nova", ["10.10.10.51"], "nova-password-123456", {"nova;drop": ["ALL"]})
    with pytest.raises(CommandExecutionError, match="invalid host"):
        ha_galera.ensure_user("nova", ["10.10.10.51' OR '1"], "nova-password-123456", {"nova": ["ALL"]})
    assert fake.statements == []


@pytest.mark.parametrize("name", ["nova;drop", "a b", "", "x" * 65, "`x`", "nova\n"])
def test_invalid_names_rejected(name):
    with pytest.raises(CommandExecutionError, match="invalid"):
        ha_galera.ensure_database(name)
