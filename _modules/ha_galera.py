"""
MariaDB Galera on a controller: state of the local node, bootstrap and join,
recovery positions, and the SQL side of the deployment (secure installation,
service databases and users), all through PyMySQL on the local unix socket as
root, so that no password ever appears on a command line.

Paths and names come from the formula's map and are passed in by the states;
the defaults below are Debian's.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.request
from typing import Any

from salt.exceptions import CommandExecutionError

__virtualname__ = "ha_galera"

SYNCED = 4  # wsrep_local_state of a Synced node
DONOR = 2
RECOVERED_RE = re.compile(r"WSREP: Recovered position:\s+([0-9a-f-]{36}):(-?\d+)")
ZERO_UUID = "00000000-0000-0000-0000-000000000000"


def __virtual__():
    if "ha_kit.run" not in __utils__:  # noqa: F821 - Salt loader dunder
        return (False, "the formula's ha_kit utils module is not synced: run saltutil.sync_all")
    return __virtualname__


def _has_cluster_state(uuid: str) -> bool:
    """Whether ``uuid`` (of grastate.dat or a recovered position) names a cluster: a node that never joined one
    has no uuid or the all-zero one."""
    return uuid not in ("", ZERO_UUID)


def galera_map() -> dict:
    """
    The galera section of the formula's map for this minion (package, service
    and path names per OS family, merged with ha:lookup), from
    ``ha_topology.formula_map``, so that names live in the map only.

    CLI Example:

    .. code-block:: bash

        salt 'openstack-controller*' ha_galera.galera_map
    """
    return __salt__["ha_topology.formula_map"]()["galera"]  # noqa: F821 - Salt loader dunder


def _connect(database: str | None = None):
    try:
        import pymysql
    except ImportError:
        raise CommandExecutionError(
            "PyMySQL is not importable by the salt-minion: install it into Salt's Python (salt-pip install PyMySQL)"
        ) from None
    try:
        socket = galera_map()["socket"]
        return pymysql.connect(unix_socket=socket, user="root", database=database, connect_timeout=5,
                               autocommit=True)
    except pymysql.err.OperationalError as exc:
        raise CommandExecutionError(f"cannot connect to MariaDB on {socket} as root: {exc.args[-1]}") from None


def _query(sql: str, args: Any = None) -> list[tuple]:
    connection = _connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, args)
            return list(cursor.fetchall())
    finally:
        connection.close()


def is_running() -> bool:
    """
    True when the MariaDB service is active.

    CLI Example:

    .. code-block:: bash

        salt 'openstack-controller*' ha_galera.is_running
    """
    return __salt__["service.status"](galera_map()["service"])  # noqa: F821 - Salt loader dunder


def grastate() -> dict:
    """
    Read ``grastate.dat``: ``uuid``, ``seqno`` and ``safe_to_bootstrap``;
    an empty dict when the node never joined a cluster.

    CLI Example:

    .. code-block:: bash

        salt 'openstack-controller*' ha_galera.grastate
    """
    path = os.path.join(galera_map()["datadir"], "grastate.dat")
    try:
        with open(path) as handle:
            text = handle.read()
    except FileNotFoundError:
        return {}
    values = dict(re.findall(r"^(\w+):\s*(\S*)\s*$", text, re.MULTILINE))
    return {
        "uuid": values.get("uuid", ""),
        "seqno": int(values.get("seqno", "-1")),
        "safe_to_bootstrap": values.get("safe_to_bootstrap") == "1",
    }


def wsrep_status() -> dict:
    """
    The running node's wsrep status: ``cluster_size``, ``cluster_status``,
    ``local_state`` (4 is Synced), ``local_state_comment``, ``cluster_state_uuid``,
    ``ready``, ``connected``, ``read_only``, ``last_committed``.

    CLI Example:

    .. code-block:: bash

        salt 'openstack-controller*' ha_galera.wsrep_status
    """
    status = dict(_query("SHOW GLOBAL STATUS LIKE 'wsrep\\_%'"))
    variables = dict(_query("SHOW GLOBAL VARIABLES WHERE Variable_name IN ('wsrep_on', 'read_only')"))
    return {
        "wsrep_on": variables.get("wsrep_on") == "ON",
        "cluster_size": int(status.get("wsrep_cluster_size", 0) or 0),
        "cluster_status": status.get("wsrep_cluster_status", ""),
        "local_state": int(status.get("wsrep_local_state", 0) or 0),
        "local_state_comment": status.get("wsrep_local_state_comment", ""),
        "cluster_state_uuid": status.get("wsrep_cluster_state_uuid", ""),
        "ready": status.get("wsrep_ready") == "ON",
        "connected": status.get("wsrep_connected") == "ON",
        "read_only": variables.get("read_only") == "ON",
        "last_committed": int(status.get("wsrep_last_committed", -1) or -1),
    }


def recover_position() -> dict:
    """
    Run ``mariadbd --wsrep-recover`` on a stopped node and return the last
    committed position it finds in InnoDB: ``{"uuid", "seqno"}``.

    CLI Example:

    .. code-block:: bash

        salt 'openstack-controller*' ha_galera.recover_position
    """
    if is_running():
        raise CommandExecutionError("MariaDB is running: read its position with ha_galera.status instead")
    with tempfile.TemporaryDirectory(prefix="wsrep-recover-") as tmp:
        shutil.chown(tmp, "mysql")  # mariadbd writes its log there as the mysql user
        log = os.path.join(tmp, "recover.log")
        result = __utils__["ha_kit.run"](  # noqa: F821 - Salt loader dunder
            __salt__,  # noqa: F821
            [galera_map()["mariadbd"], "--user=mysql", f"--datadir={galera_map()['datadir']}", "--wsrep-recover",
             f"--log-error={log}"],
            timeout=300, what="mariadbd --wsrep-recover", hint="is the MariaDB server installed?",
        )
        output = result["stdout"] + result["stderr"]
        if os.path.exists(log):
            with open(log) as handle:
                output += handle.read()
    match = RECOVERED_RE.search(output)
    if match is None:
        raise CommandExecutionError(f"mariadbd --wsrep-recover found no position (exit {result['retcode']})")
    return {"uuid": match.group(1), "seqno": int(match.group(2))}


def status(recover: bool = False) -> dict:
    """
    Everything about the local Galera node in one call: ``running``, the
    wsrep status when running, ``grastate`` and, with ``recover=True`` on a
    stopped node, the ``recovered`` position (see :py:func:`recover_position`).
    ``position`` is the best known ``{"uuid", "seqno"}``, the uuid empty for
    a node without cluster state (see ``decide``), and ``synced`` says
    whether the node is Synced in a Primary component (:py:func:`is_synced`):
    the recovery runner on the master reads both from here.

    CLI Example:

    .. code-block:: bash

        salt 'openstack-controller*' ha_galera.status recover=True
    """
    result: dict[str, Any] = {"running": is_running(), "grastate": grastate()}
    if result["running"]:
        try:
            result["wsrep"] = wsrep_status()
        except CommandExecutionError as exc:
            result["error"] = str(exc)
    position = {"uuid": result["grastate"].get("uuid", ""), "seqno": result["grastate"].get("seqno", -1)}
    if "wsrep" in result and result["wsrep"]["cluster_state_uuid"]:
        position = {"uuid": result["wsrep"]["cluster_state_uuid"], "seqno": result["wsrep"]["last_committed"]}
    elif not result["running"] and recover and position["seqno"] < 0 and result["grastate"]:
        result["recovered"] = recover_position()
        position = result["recovered"]
    result["position"] = {"uuid": position["uuid"] if _has_cluster_state(position["uuid"]) else "",
                          "seqno": position["seqno"]}
    result["synced"] = is_synced(result.get("wsrep"))
    return result


def is_synced(wsrep: dict | None) -> bool:
    """
    True for a node whose wsrep status (:py:func:`wsrep_status`) is Synced in a Primary component.

    CLI Example:

    .. code-block:: bash

        salt-call ha_galera.is_synced '{cluster_status: Primary, local_state: 4}'
    """
    return bool(wsrep) and wsrep["cluster_status"] == "Primary" and wsrep["local_state"] == SYNCED


def peer_synced(peers: list[str], port: int, timeout: float = 2) -> str | None:
    """
    The first peer whose health endpoint answers 200 (Synced), or None.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller02 ha_galera.peer_synced '[10.10.10.51, 10.10.10.53]' 9200
    """
    for peer in peers:
        try:
            with urllib.request.urlopen(f"http://{peer}:{port}/", timeout=timeout) as answer:
                if answer.status == 200:
                    return peer
        except (urllib.error.URLError, OSError):
            continue
    return None


def decide(local: dict, bootstrap_node: bool, synced_peer: str | None) -> str:
    """
    What a node must do to be Synced, from what it knows (pure logic):

    - ``none``: it is Synced in a Primary component already;
    - ``wait``: it runs as a cluster member that is still joining;
    - ``unknown``: it runs but cannot be queried (see ``error``): touch nothing;
    - ``restart``: it runs outside any cluster (e.g. the package's standalone
      server) and must be stopped before it bootstraps or joins;
    - ``join``: a peer is Synced, start and join it;
    - ``bootstrap``: this is the bootstrap node, no peer is Synced and the node
      never belonged to a cluster (its uuid is empty or all zeros): start a
      new cluster;
    - ``recover``: no peer is Synced and this node has cluster state, so the
      whole cluster is down: only the recovery orchestration may go on;
    - ``blocked``: no peer is Synced and this node is not the bootstrap node.
    """
    wsrep = local.get("wsrep")
    if local.get("running") and not wsrep:
        return "unknown"
    if local.get("running") and wsrep["wsrep_on"]:
        if is_synced(wsrep):
            return "none"
        if wsrep["cluster_status"] == "Primary":
            return "wait"
    if local.get("running") and not wsrep["wsrep_on"]:
        return "restart"
    if synced_peer:
        return "join"
    has_state = _has_cluster_state(local.get("grastate", {}).get("uuid", ""))
    if bootstrap_node and not has_state:
        return "bootstrap"
    if has_state:
        return "recover"
    return "blocked"


def wait_synced(timeout: float = 600) -> dict:
    """
    Wait until the local node is Synced in a Primary component; return its status.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller02 ha_galera.wait_synced 300
    """
    def probe() -> dict:
        wsrep = wsrep_status()
        if not is_synced(wsrep):
            raise CommandExecutionError(f"last status: {wsrep}")
        return wsrep

    return __utils__["ha_kit.wait"]("the node Synced in a Primary component", probe, float(timeout))  # noqa: F821


def _run(argv: list[str], unit: str) -> None:
    """Run a command of the service manager; raise with its message and where to read more."""
    # No time limit, as systemctl's own: a joining node's start lasts as
    # long as its state transfer.
    result = __utils__["ha_kit.run"](__salt__, argv, timeout=None, what=" ".join(argv))  # noqa: F821
    if result["retcode"] != 0:
        detail = __utils__["ha_kit.tail"](result)  # noqa: F821
        raise CommandExecutionError(f"{' '.join(argv)} failed: {detail}; see journalctl -u {unit}")


def _systemctl(*args: str) -> None:
    _run(["systemctl", *args], args[-1])


def stop() -> bool:
    """
    Stop MariaDB (a clean shutdown writes the node's position to grastate.dat).

    CLI Example:

    .. code-block:: bash

        salt openstack-controller02 ha_galera.stop
    """
    _systemctl("stop", galera_map()["service"])
    return True


def join(timeout: float = 600) -> dict:
    """
    Start MariaDB so that it joins the running cluster, and wait until Synced.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller02 ha_galera.join
    """
    # A failed start at boot (no primary component to join) leaves the unit
    # failed; clear that before starting it again.
    _systemctl("reset-failed", galera_map()["service"])
    _systemctl("start", galera_map()["service"])
    return wait_synced(timeout)


def set_safe_to_bootstrap() -> bool:
    """
    Mark this node's grastate.dat safe to bootstrap from (recovery only).

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_galera.set_safe_to_bootstrap
    """
    path = os.path.join(galera_map()["datadir"], "grastate.dat")
    with open(path) as handle:
        text = handle.read()
    if "safe_to_bootstrap:" not in text:
        raise CommandExecutionError(f"{path} has no safe_to_bootstrap line")
    with open(path, "w") as handle:
        handle.write(re.sub(r"^safe_to_bootstrap:.*$", "safe_to_bootstrap: 1", text, flags=re.MULTILINE))
    return True


def bootstrap(timeout: float = 300) -> dict:
    """
    Start a new cluster on this node (``galera_new_cluster``) and wait until
    it is Synced. Only the states and the recovery runner call it, after they
    made sure no other node holds a Primary component.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_galera.bootstrap
    """
    _systemctl("reset-failed", galera_map()["service"])
    _run([galera_map()["new_cluster_cmd"]], "mariadb")
    return wait_synced(timeout)


# --- SQL: secure installation, users, databases ---------------------------------------


def _native_hash(password: str) -> str:
    return _query("SELECT PASSWORD(%s)", (password,))[0][0]


def _auth_methods(user: str, host: str) -> list[dict] | None:
    """The authentication methods of an account (mysql.global_priv), or None if it does not exist."""
    rows = _query("SELECT Priv FROM mysql.global_priv WHERE User = %s AND Host = %s", (user, host))
    if not rows:
        return None
    priv = json.loads(rows[0][0])
    methods = [{k: v for k, v in priv.items() if k in ("plugin", "authentication_string")}]
    methods += priv.get("auth_or", [])
    return [m for m in methods if m]


def _password_matches(methods: list[dict], password: str) -> bool:
    wanted = _native_hash(password)
    return any(m.get("plugin") == "mysql_native_password" and m.get("authentication_string") == wanted
               for m in methods)


def secure(root_password: str, test: bool = False) -> list[str]:
    """
    What mysql_secure_installation does, idempotently: root@localhost keeps
    unix socket authentication and gets ``root_password`` as its alternative,
    other root accounts, anonymous users and the test database go. Returns
    what was (or, with ``test=True``, would be) changed.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_galera.secure root_password=... test=True
    """
    changes = []
    methods = _auth_methods("root", "localhost") or []
    has_socket = any(m.get("plugin") == "unix_socket" for m in methods)
    if not (has_socket and _password_matches(methods, root_password)):
        changes.append("root@localhost: unix socket or password authentication")
        if not test:
            _query("ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password "
                   "USING PASSWORD(%s)", (root_password,))
    for user, host in _query("SELECT User, Host FROM mysql.global_priv WHERE User = '' OR "
                             "(User = 'root' AND Host <> 'localhost')"):
        changes.append(f"removed account '{user}'@'{host}'")
        if not test:
            _query("DROP USER %s@%s", (user, host))
    if _query("SHOW DATABASES LIKE 'test'"):
        changes.append("removed database test")
        if not test:
            _query("DROP DATABASE test")
    if _query("SELECT 1 FROM mysql.db WHERE Db = 'test' OR Db LIKE 'test\\\\_%'"):
        changes.append("removed grants on test databases")
        if not test:
            _query("DELETE FROM mysql.db WHERE Db = 'test' OR Db LIKE 'test\\\\_%'")
            _query("FLUSH PRIVILEGES")
    return changes


def _valid_name(kind: str, name: str) -> str:
    # fullmatch: "$" alone would also accept a trailing newline.
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_]{1,64}", name):
        raise CommandExecutionError(f"invalid {kind} name {name!r}: letters, digits and _ only")
    return name


# The tables in which the services' migration tools record the version of
# their schema (alembic's, and sqlalchemy-migrate's in older releases).
SCHEMA_VERSION_TABLES = ("alembic_version", "migrate_version")


@contextlib.contextmanager
def _reading(what: str):
    """A failed read (a missing table, a lost connection) as an error that names what was read."""
    try:
        yield
    except CommandExecutionError:
        raise
    except Exception as exc:  # PyMySQL's errors: the module is imported lazily (_connect)
        raise CommandExecutionError(f"{what} failed: {exc}") from exc


def schema_digest(databases: list[str]) -> str:
    """
    A digest of the schemas of ``databases`` as this node's MariaDB holds
    them: every table's name and the rows of the migration tools' version
    tables. It changes when a migration ran, a database was dropped or
    restored from another point in time; the deploy compares it with the one
    recorded after the last schema sync (ha_openstack.db_synced).

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_galera.schema_digest '[nova, nova_api, nova_cell0]'
    """
    if not isinstance(databases, list):
        raise CommandExecutionError(f"databases must be a list of names, not {databases!r}")
    names = [_valid_name("database", name) for name in databases]
    connection = _connect()
    try:
        with _reading(f"reading the schemas of {', '.join(names)}"), connection.cursor() as cursor:
            found: dict[str, list] = {}
            for name in names:
                cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                               "ORDER BY table_name", (name,))
                tables = [row[0] for row in cursor.fetchall()]
                versions = {}
                for table in SCHEMA_VERSION_TABLES:
                    if table in tables:
                        # Both names are checked above: letters, digits and _ only.
                        cursor.execute(f"SELECT * FROM `{name}`.`{table}`")
                        versions[table] = sorted(str(row) for row in cursor.fetchall())
                found[name] = [tables, versions]
    finally:
        connection.close()
    return hashlib.sha256(json.dumps(found, sort_keys=True).encode()).hexdigest()


def column(database: str, table: str, name: str) -> list[str]:
    """
    The values of column ``name`` of ``database``.``table`` on this node,
    sorted (read-only; e.g. the names of nova's cell mappings).

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_galera.column nova_api cell_mappings name
    """
    sql = (f"SELECT `{_valid_name('column', name)}` "
           f"FROM `{_valid_name('database', database)}`.`{_valid_name('table', table)}`")
    with _reading(f"reading {database}.{table}.{name}"):
        rows = _query(sql)
    return sorted(str(row[0]) for row in rows)


def ensure_user(user: str, hosts: list[str], password: str, grants: dict[str, list[str]],
                test: bool = False) -> list[str]:
    """
    Ensure the account ``user`` exists at each of ``hosts`` with ``password``
    and exactly the privileges of ``grants`` (``{database or '*': [privilege,
    ...]}``, ``'*'`` meaning global privileges). Returns the changes.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_galera.ensure_user keystone '[10.10.10.51]' ... '{keystone: [ALL]}'
    """
    _valid_name("user", user)
    # Every name is checked before anything changes, so that a bad grant
    # cannot leave a new account without its privileges.
    for database in grants:
        if database != "*":
            _valid_name("database", database)
    for host in hosts:
        if not re.fullmatch(r"[A-Za-z0-9.:%_-]{1,255}", host):
            raise CommandExecutionError(f"invalid host {host!r} for account {user!r}")
    changes = []
    for host in hosts:
        account = f"'{user}'@'{host}'"
        methods = _auth_methods(user, host)
        if methods is None:
            changes.append(f"created {account}")
            if not test:
                _query("CREATE USER %s@%s IDENTIFIED BY %s", (user, host, password))
        elif not _password_matches(methods, password):
            changes.append(f"password of {account}")
            if not test:
                _query("ALTER USER %s@%s IDENTIFIED BY %s", (user, host, password))
        current = set() if methods is None else _grants(user, host)
        wanted = {_grant_line(user, host, db, privileges) for db, privileges in grants.items()}
        for line in sorted(wanted - current):
            changes.append(f"{line}")
            if not test:
                _query(line)
        for line in sorted(current - wanted):
            if line.startswith("GRANT USAGE ON *.*"):
                continue
            revoke = re.sub(r"^GRANT (.*) ON (.*) TO (.*)$", r"REVOKE \1 ON \2 FROM \3", line)
            changes.append(revoke)
            if not test:
                _query(revoke)
    return changes


def _grant_line(user: str, host: str, database: str, privileges: list[str]) -> str:
    target = "*.*" if database == "*" else f"`{_valid_name('database', database)}`.*"
    privs = ", ".join("ALL PRIVILEGES" if p.upper() == "ALL" else p.upper() for p in privileges)
    return f"GRANT {privs} ON {target} TO `{user}`@`{host}`"


def _grants(user: str, host: str) -> set[str]:
    lines = set()
    for (line,) in _query("SHOW GRANTS FOR %s@%s", (user, host)):
        # Compare without the password clause MariaDB appends.
        lines.add(re.sub(r" IDENTIFIED BY PASSWORD '[^']*'", "", line))
    return lines


def ensure_database(name: str, test: bool = False) -> list[str]:
    """
    Ensure the database ``name`` exists (utf8mb4). Returns the changes.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_galera.ensure_database keystone
    """
    _valid_name("database", name)
    # An exact comparison: in LIKE, "_" would match any character.
    if _query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (name,)):
        return []
    if not test:
        _query(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci")
    return [f"created database {name}"]
