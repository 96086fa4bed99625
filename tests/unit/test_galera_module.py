"""Unit tests of _modules/ha_galera.py with mocked dunders, a fake SQL layer and a fake mariadbd and systemctl."""

from __future__ import annotations

import re

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


class ProgrammingError(Exception):
    """As PyMySQL raises it (pymysql.err.ProgrammingError): the server's error number and message as args."""


class OperationalError(Exception):
    """As PyMySQL raises it (pymysql.err.OperationalError)."""


TABLES_SQL = "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY table_name"


class FakeServer:
    """
    A MariaDB server in dicts, behind the PyMySQL connection that ``_connect``
    opens: ``databases`` is {database: {table: [row as {column: value}]}}.
    Answers the statements of schema_digest and column; records every
    statement, every connection and every close. ``lost`` set: the next
    statement raises it (a connection lost mid-read).
    """

    def __init__(self, databases: dict):
        self.databases = databases
        self.statements: list[tuple] = []
        self.opened = self.closed = 0
        self.lost: Exception | None = None

    def connect(self, database=None):
        self.opened += 1
        return FakeConnection(self)

    def answer(self, sql: str, args) -> list[tuple]:
        self.statements.append((sql, args))
        if self.lost:
            raise self.lost
        if sql == TABLES_SQL:
            return [(table,) for table in sorted(self.databases.get(args[0], {}))]
        found = re.fullmatch(r"SELECT (\*|`(\w+)`) FROM `(\w+)`\.`(\w+)`", sql)
        assert found and args is None, sql
        _, column, database, table = found.groups()
        if table not in self.databases.get(database, {}):
            raise ProgrammingError(1146, f"Table '{database}.{table}' doesn't exist")
        rows = self.databases[database][table]
        if column is None:
            return [tuple(row.values()) for row in rows]
        if rows and column not in rows[0]:
            raise OperationalError(1054, f"Unknown column '{column}' in 'field list'")
        return [(row[column],) for row in rows]


class FakeConnection:
    def __init__(self, server: FakeServer):
        self.server = server

    def cursor(self):
        return FakeCursor(self.server)

    def close(self):
        self.server.closed += 1


class FakeCursor:
    def __init__(self, server: FakeServer):
        self.server, self.rows = server, ()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, sql, args=None):
        self.rows = tuple(self.server.answer(sql, args))
        return len(self.rows)

    def fetchall(self):
        return self.rows


def nova_databases(revision: str = "13863f4e1612") -> dict:
    """nova's databases after a sync: alembic's revision in nova and nova_cell0, the data in other tables."""
    return {
        "nova": {"alembic_version": [{"version_num": revision}], "instances": [{"id": 1, "uuid": "a"}],
                 "migrate_version": [{"repository_id": "nova", "repository_path": "/usr/lib/nova", "version": 402}]},
        "nova_cell0": {"alembic_version": [{"version_num": revision}], "instances": []},
        "nova_api": {"alembic_version": [{"version_num": "b30f573d3377"}],
                     "cell_mappings": [{"id": 2, "name": "cell1"}, {"id": 1, "name": "cell0"}]},
    }


@pytest.fixture
def server(monkeypatch):
    fake = FakeServer(nova_databases())
    monkeypatch.setattr(ha_galera, "_connect", fake.connect)
    return fake


def test_schema_digest_is_stable_for_the_same_schemas(server):
    digest = ha_galera.schema_digest(["nova", "nova_cell0"])
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert ha_galera.schema_digest(["nova", "nova_cell0"]) == digest
    # Another server with the same schemas (another controller, a replica): the same digest.
    server.databases = nova_databases()
    assert ha_galera.schema_digest(["nova", "nova_cell0"]) == digest
    # Rows of the services' own tables are data, not schema.
    server.databases["nova"]["instances"].append({"id": 2, "uuid": "b"})
    server.databases["nova_api"]["cell_mappings"].append({"id": 3, "name": "cell2"})
    assert ha_galera.schema_digest(["nova", "nova_cell0"]) == digest
    # One connection per digest, closed.
    assert server.opened == server.closed == 4


def test_schema_digest_reads_the_version_tables_only_where_they_exist(server):
    server.databases["nova_cell0"] = {"instances": []}
    ha_galera.schema_digest(["nova", "nova_cell0", "glance"])
    # A database without them (nova_cell0 here) or without any table (glance, not synced yet) is no error.
    assert server.statements == [
        (TABLES_SQL, ("nova",)),
        ("SELECT * FROM `nova`.`alembic_version`", None),
        ("SELECT * FROM `nova`.`migrate_version`", None),
        (TABLES_SQL, ("nova_cell0",)),
        (TABLES_SQL, ("glance",)),
    ]


@pytest.mark.parametrize("change", [
    pytest.param(lambda dbs: dbs["nova"].__setitem__("services", []), id="a table added"),
    pytest.param(lambda dbs: dbs["nova_cell0"].pop("instances"), id="a table dropped"),
    pytest.param(lambda dbs: dbs["nova"]["alembic_version"][0].__setitem__("version_num", "960aac0e09ea"),
                 id="alembic revision"),
    pytest.param(lambda dbs: dbs["nova_cell0"]["alembic_version"][0].__setitem__("version_num", "960aac0e09ea"),
                 id="alembic revision of the second database"),
    pytest.param(lambda dbs: dbs["nova"]["migrate_version"][0].__setitem__("version", 403),
                 id="sqlalchemy-migrate version"),
    pytest.param(lambda dbs: dbs["nova"].pop("alembic_version"), id="version table dropped"),
    pytest.param(lambda dbs: dbs.__setitem__("nova_cell0", {}), id="database emptied"),
    # The same tables and rows in all, but one of them in the other database.
    pytest.param(lambda dbs: dbs["nova_cell0"].__setitem__("migrate_version", dbs["nova"].pop("migrate_version")),
                 id="a table moved to the other database"),
])
def test_schema_digest_changes_with_the_schemas(server, change):
    before = ha_galera.schema_digest(["nova", "nova_cell0"])
    change(server.databases)
    assert ha_galera.schema_digest(["nova", "nova_cell0"]) != before


def test_schema_digest_covers_only_the_databases_asked_for(server):
    before = ha_galera.schema_digest(["nova_api"])
    server.databases["nova"]["alembic_version"][0]["version_num"] = "960aac0e09ea"
    assert ha_galera.schema_digest(["nova_api"]) == before
    assert ha_galera.schema_digest(["nova_api", "nova"]) != before


@pytest.mark.parametrize("name", ["nova;drop", "nova`", "a b", "", "x" * 65, "nova\n", None])
def test_schema_digest_rejects_an_invalid_name_before_connecting(server, name):
    with pytest.raises(CommandExecutionError, match=r"^invalid database name .*: letters, digits and _ only$"):
        ha_galera.schema_digest(["nova", name])
    assert (server.opened, server.statements) == (0, [])


@pytest.mark.parametrize("databases", ["nova", "nova,nova_cell0", ("nova", "nova_cell0"), None])
def test_schema_digest_of_no_list_is_refused_before_connecting(server, databases):
    # A string would otherwise be read as its letters, each a valid database name ("n", "o", "v", "a").
    with pytest.raises(CommandExecutionError, match=r"^databases must be a list of names, not "):
        ha_galera.schema_digest(databases)
    assert (server.opened, server.statements) == (0, [])


def test_schema_digest_failure_names_what_was_read(server):
    server.lost = OperationalError(2013, "Lost connection to MySQL server during query")
    with pytest.raises(CommandExecutionError) as err:
        ha_galera.schema_digest(["nova", "nova_cell0"])
    assert str(err.value) == ("reading the schemas of nova, nova_cell0 failed: "
                              "(2013, 'Lost connection to MySQL server during query')")
    assert isinstance(err.value.__cause__, OperationalError)
    assert server.opened == server.closed == 1


def test_schema_digest_keeps_a_connection_error_as_it_is(monkeypatch):
    def refused(database=None):
        raise CommandExecutionError("cannot connect to MariaDB on /run/mysqld/mysqld.sock as root: refused")

    monkeypatch.setattr(ha_galera, "_connect", refused)
    with pytest.raises(CommandExecutionError, match="^cannot connect to MariaDB on /run/mysqld/mysqld.sock as root"):
        ha_galera.schema_digest(["nova"])
    with pytest.raises(CommandExecutionError, match="^cannot connect to MariaDB on /run/mysqld/mysqld.sock as root"):
        ha_galera.column("nova_api", "cell_mappings", "name")


def test_column_gives_the_sorted_values(server):
    assert ha_galera.column("nova_api", "cell_mappings", "name") == ["cell0", "cell1"]
    assert ha_galera.column("nova_api", "cell_mappings", "id") == ["1", "2"]
    assert server.statements[0] == ("SELECT `name` FROM `nova_api`.`cell_mappings`", None)
    server.databases["nova_api"]["cell_mappings"] = []
    assert ha_galera.column("nova_api", "cell_mappings", "name") == []
    assert server.opened == server.closed == 3


@pytest.mark.parametrize(("args", "kind"), [
    (("nova_api;", "cell_mappings", "name"), "database"),
    (("nova_api", "cell_mappings`", "name"), "table"),
    (("nova_api", "cell_mappings", "name FROM x"), "column"),
    (("nova_api", "cell_mappings", "*"), "column"),
])
def test_column_rejects_an_invalid_name_before_connecting(server, args, kind):
    with pytest.raises(CommandExecutionError, match=f"^invalid {kind} name "):
        ha_galera.column(*args)
    assert (server.opened, server.statements) == (0, [])


def test_column_failure_names_what_was_read(server):
    del server.databases["nova_api"]["cell_mappings"]
    with pytest.raises(CommandExecutionError) as err:
        ha_galera.column("nova_api", "cell_mappings", "name")
    assert str(err.value) == ("reading nova_api.cell_mappings.name failed: "
                              "(1146, \"Table 'nova_api.cell_mappings' doesn't exist\")")
    assert isinstance(err.value.__cause__, ProgrammingError) and server.opened == server.closed == 1
    with pytest.raises(CommandExecutionError, match=r"^reading nova_api\.alembic_version\.name failed: \(1054, "):
        ha_galera.column("nova_api", "alembic_version", "name")
