"""Unit tests of _states/ha_openstack.py over fake Salt functions and an in-memory keystone."""

from __future__ import annotations

import copy
import grp
import itertools
import json
import os
import pwd
import stat
import urllib.parse

import pytest
from salt.exceptions import CommandExecutionError

from tests.helpers import load_module

state = load_module("_states/ha_openstack.py", "ha_openstack_state")
module = load_module("_modules/ha_openstack.py", "ha_openstack_module_for_state")
ha_ini = load_module("_modules/ha_ini.py", "ha_ini_for_openstack_state")

PILLAR = {
    "ha:galera:databases:keystone:password": "db@pass/word:1$x-0123456789",
    "ha:openstack:admin_password": "admin-secret-5f0e1d2c3b4a",
    **{f"ha:openstack:service_passwords:{u}": f"{u}$secret-0123456789abc" for u in ("glance", "placement", "nova")},
}
DB_URL = "mysql+pymysql://keystone:{{pillar-url:ha:galera:databases:keystone:password}}@10.10.10.69:3306/keystone"
MEMCACHED = ["10.10.10.51:11211", "10.10.10.52:11211", "10.10.10.53:11211"]
SETTINGS = {
    "config": {
        "database": {"connection": DB_URL},
        "token": {"provider": "fernet"},
        "keystone_authtoken": {"password": "{{pillar:ha:openstack:service_passwords:glance}}",
                               "memcached_servers": MEMCACHED},
    },
    "uwsgi": {"keystone": {"uwsgi": {"ha_bind_ip": "10.10.10.52", "ha_bind_port": 5000, "processes": 2}}},
}
PACKAGED = "[DEFAULT]\n#debug = false\n\n[database]\nconnection = sqlite:////var/lib/keystone/keystone.db\n\n" \
           "[token]\nprovider = fernet\n"
AUTH = "http://openstack-vip:5000/v3"
# The keystone the states talk to: this node's own (ha_openstack.node_url).
NODE_AUTH = "http://10.10.10.52:5000/v3"
SERVICES = (("keystone", "identity", "5000/v3"), ("glance", "image", "9292"), ("placement", "placement", "8778"),
            ("nova", "compute", "8774/v2.1"))
CATALOG = {
    "region": "RegionOne", "service_project": "service", "auth_url": AUTH,
    "admin": {"user": "admin", "project": "admin", "role": "admin", "password_pillar": "ha:openstack:admin_password"},
    "users": [{"name": u, "password_pillar": f"ha:openstack:service_passwords:{u}"}
              for u in ("glance", "placement", "nova")],
    "services": [{"name": n, "type": t, "description": f"OpenStack {n}", "url": f"http://openstack-vip:{u}"}
                 for n, t, u in SERVICES],
    "interfaces": ["public", "internal", "admin"],
}
INTERFACES = tuple(CATALOG["interfaces"])
ME = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name


def _no_secret(ret: dict) -> None:
    """No secret of the pillar in ``ret``: as is, URL-quoted or with '$' doubled."""
    forms = [f for v in PILLAR.values() for f in (v, urllib.parse.quote(v, safe=""), v.replace("$", "$$"))]
    assert [f for f in forms if f in repr(ret)] == []


class Keystone:
    """keystone's /v3 in dicts, as keystone-manage bootstrap leaves it; every write is recorded."""

    def __init__(self, bootstrapped: bool = True):
        self.ids, self.writes, self.down = itertools.count(1), [], False
        self.tables = {k: {} for k in ("domains", "projects", "users", "roles", "services", "endpoints")}
        self.passwords: dict[str, str] = {}
        self.assignments: set[tuple[str, str, str]] = set()  # (user, project, role)
        self.tables["domains"]["default"] = {"id": "default", "name": "Default"}
        if bootstrapped:
            admin = self.add("users", name="admin", domain_id="default", password=PILLAR["ha:openstack:admin_password"])
            self.assignments.add((admin["id"], self.add("projects", name="admin", domain_id="default")["id"],
                                  self.add("roles", name="admin")["id"]))
            keystone = self.add("services", name="keystone", type="identity")["id"]
            for interface in INTERFACES:
                self.add("endpoints", service_id=keystone, interface=interface, url=AUTH, region_id="RegionOne")

    def add(self, kind: str, password: str | None = None, **fields) -> dict:
        item = {"id": f"id{next(self.ids)}", **fields}
        self.tables[kind][item["id"]] = item
        if password is not None:
            self.passwords[item["id"]] = password
        return item

    def named(self, kind: str, name: str) -> dict | None:
        return next((i for i in self.tables[kind].values() if i["name"] == name), None)

    def token(self, auth_url, user, password_pillar, project):
        """As keystone: no project-scoped token without the right password and a role on the project."""
        if self.down:
            raise CommandExecutionError(f"keystone at {auth_url}/auth/tokens does not answer: refused")
        assert auth_url == NODE_AUTH
        found, scope = self.named("users", user), self.named("projects", project)
        if found is None or scope is None or self.passwords[found["id"]] != PILLAR[password_pillar]:
            return None
        return f"token-{user}" if any(a[:2] == (found["id"], scope["id"]) for a in self.assignments) else None

    def authenticates(self, auth_url, user, password_pillar, project):
        return self.token(auth_url, user, password_pillar, project) is not None

    def api(self, method, auth_url, user, password_pillar, project, path, body=None):
        """As ha_openstack.api: logged in as the admin."""
        assert self.token(auth_url, user, password_pillar, project) == "token-admin"
        split = urllib.parse.urlsplit(path)
        query, parts = dict(urllib.parse.parse_qsl(split.query)), split.path.strip("/").split("/")
        kind, one = parts[0], parts[0][:-1]
        if method != "GET":
            self.writes.append((method, split.path))
        if (method, parts) == ("GET", ["role_assignments"]):
            keys = ("user.id", "scope.project.id", "role.id")
            return {"role_assignments": [{"user": {"id": u}, "scope": {"project": {"id": p}}, "role": {"id": r}}
                                         for u, p, r in sorted(self.assignments)
                                         if all(query.get(k, v) == v for k, v in zip(keys, (u, p, r), strict=True))]}
        if method == "GET" and len(parts) == 1 and kind in self.tables:
            return {kind: [dict(i) for i in self.tables[kind].values() if all(i.get(k) == v for k, v in query.items())]}
        if method == "POST" and len(parts) == 1 and kind in self.tables:
            return {one: dict(self.add(kind, **body[one]))}
        if method == "PATCH" and len(parts) == 2 and parts[1] in self.tables.get(kind, {}):
            fields = dict(body[one])
            if "password" in fields:
                self.passwords[parts[1]] = fields.pop("password")
            self.tables[kind][parts[1]].update(fields)
            return {one: dict(self.tables[kind][parts[1]])}
        if method == "PUT" and len(parts) == 6 and parts[0::2] == ["projects", "users", "roles"]:
            assert all(parts[i] in self.tables[t] for i, t in ((1, "projects"), (3, "users"), (5, "roles")))
            self.assignments.add((parts[3], parts[1], parts[5]))
            return {}
        raise CommandExecutionError(f"keystone answered 404 to {method} {path}: {{}}")


class Fake:
    """The Salt functions the states call: recorded, with answers the tests set."""

    def __init__(self):
        self.settings, self.keystone, self.answering = copy.deepcopy(SETTINGS), Keystone(), True
        # What the API answers once the gate has given up (ha_openstack.answer): an HTTP status or None.
        self.status: int | None = None
        self.servers: list[str | None] = []  # the WSGI server of each service_settings call
        self.daemon_calls: list[str] = []  # the APIs of the httpd_daemon calls
        self.results: dict[tuple, list[dict]] = {}  # run_manage's answers by command, in turn
        self.manage_calls: list[tuple] = []
        self.on_manage = None
        self.mine, self.mine_gets, self.sent, self.send_answer = {}, [], [], True
        # What db_synced fingerprints: the packages' versions and the digest of the schema's databases.
        # An exception as a version, a digest or the cells (below): the function that reads it raises it.
        self.versions: dict[str, str | Exception] = {"keystone": "2:25.0.0-0ubuntu1", "nova-api": "3:29.0.1-0ubuntu1",
                                                     "nova-conductor": "3:29.0.1-0ubuntu1"}
        self.digests: dict[tuple, str | Exception] = {}
        self.digest_calls: list[list[str]] = []
        # The names in nova_api.cell_mappings (ha_galera.column).
        self.cells: list[str] | Exception = []
        self.column_calls: list[tuple] = []

    def version(self, name):
        found = self.versions.get(name, "")
        if isinstance(found, Exception):
            raise found
        return found

    def schema_digest(self, databases):
        self.digest_calls.append(list(databases))
        found = self.digests.get(tuple(databases), "digest-" + "-".join(databases))
        if isinstance(found, Exception):
            raise found
        return found

    def column(self, database, table, name):
        self.column_calls.append((database, table, name))
        if isinstance(self.cells, Exception):
            raise self.cells
        return sorted(self.cells)

    def service_settings(self, service, server=None):
        if service != "keystone":
            raise CommandExecutionError(f"unknown OpenStack service {service!r}")
        self.servers.append(server)
        return copy.deepcopy(self.settings)

    def httpd_daemon(self, api):
        """As ha_openstack.httpd_daemon with ha:openstack:workers 2; the sites' APIs only."""
        self.daemon_calls.append(api)
        if api not in ("keystone", "placement"):
            raise CommandExecutionError(f"no httpd site serves {api!r}: only the services' WSGI APIs run under httpd")
        return {"processes": 2, "threads": 1}

    def run_manage(self, command, user, env_pillar=None):
        self.manage_calls.append((list(command), user, env_pillar))
        if self.on_manage:
            self.on_manage(command)
        queued = self.results.get(tuple(command))
        found = queued.pop(0) if queued else {"retcode": 0, "output": ""}
        return {"stdout": found["output"], **found}

    def funcs(self, pillar_get):
        return {
            "ha_openstack.service_settings": self.service_settings, "ha_openstack.set_options": module.set_options,
            "ha_openstack.run_manage": self.run_manage,
            "ha_openstack.catalog": lambda: copy.deepcopy(CATALOG),
            "ha_openstack.authenticates": lambda *args: self.keystone.authenticates(*args),
            "ha_openstack.api": lambda *args: self.keystone.api(*args),
            "ha_openstack.answers": lambda url: self.answering,
            "ha_openstack.answer": lambda url: self.status,
            "mine.send": lambda *args, **kwargs: self.sent.append((args, kwargs)) or self.send_answer,
            "mine.get": lambda tgt, fun: self.mine_gets.append((tgt, fun)) or (
                {tgt: self.mine[tgt]} if tgt in self.mine else {}),
            "pillar.get": pillar_get,
            "ha_openstack.node_bind": lambda api=None: {"address": "10.10.10.52",
                                                        "port": {"keystone": 5000, "glance": 9292, "placement": 8778,
                                                                 None: None}[api]},
            "ha_openstack.httpd_bound": module.httpd_bound,
            "ha_openstack.httpd_daemon": self.httpd_daemon,
            "ha_openstack.httpd_sized": module.httpd_sized,
            "ha_openstack.httpd_granted": module.httpd_granted,
            "pkg.version": self.version,
            "ha_galera.schema_digest": self.schema_digest,
            "ha_galera.column": self.column,
        }


@pytest.fixture
def fake(monkeypatch):
    fake = Fake()
    # The module's set_options writes what the fake's service_settings says.
    monkeypatch.setattr(module, "service_settings", fake.service_settings)
    return fake


@pytest.fixture
def opts():
    return {"test": False}


@pytest.fixture
def configure_loader_modules(fake, opts, pillar_get, utils):
    pillar_get.flat.update(PILLAR)
    return {state: {"__salt__": fake.funcs(pillar_get), "__opts__": opts, "__utils__": utils},
            module: {"__salt__": {"pillar.get": pillar_get, "ha_ini.set_options": ha_ini.set_options},
                     "__utils__": utils}}


def test_options_report_names_and_hide_secrets(tmp_path, opts):
    conf = tmp_path / "keystone.conf"
    conf.write_text(PACKAGED)
    expected = {"options": {"database.connection": "(secret)", "keystone_authtoken.password": "(secret)",
                            "keystone_authtoken.memcached_servers": MEMCACHED}}
    opts["test"] = True
    ret = state.options(str(conf), "keystone")
    assert (ret["result"], ret["changes"], conf.read_text()) == (None, expected, PACKAGED)
    assert ret["comment"] == f"3 option(s) of {conf} would be set"
    _no_secret(ret)
    opts["test"] = False
    ret = state.options(str(conf), "keystone")
    assert (ret["result"], ret["changes"]) == (True, expected)
    _no_secret(ret)
    written = conf.read_text()
    assert "connection = mysql+pymysql://keystone:db%40pass%2Fword%3A1%24x-0123456789@10.10.10.69:3306/keystone\n" \
        in written and "password = glance$$secret-0123456789abc\n" in written
    again = state.options(str(conf), "keystone")
    assert (again["result"], again["changes"]) == (True, {}) and conf.read_text() == written
    assert again["comment"] == f"{conf} has keystone's HA settings"


def test_options_of_a_uwsgi_unit_and_failures(tmp_path, fake):
    ini = tmp_path / "keystone-uwsgi.ini"
    ini.write_text("[uwsgi]\nprocesses = 4\n")
    assert state.options(str(ini), "keystone", unit="keystone")["changes"] == {"options": {
        "uwsgi.ha_bind_ip": "10.10.10.52", "uwsgi.ha_bind_port": 5000, "uwsgi.processes": 2}}
    assert ini.read_text() == "[uwsgi]\nprocesses = 2\nha_bind_ip = 10.10.10.52\nha_bind_port = 5000\n"
    ret = state.options(str(tmp_path / "absent.conf"), "keystone")
    assert ret["result"] is False and ret["comment"].startswith(f"cannot set keystone's settings in {tmp_path}/")
    assert "absent.conf does not exist" in ret["comment"]
    fake.settings["uwsgi"]["keystone"]["uwsgi"]["processes"] = "{{pillar:ha:absent}}"
    ret = state.options(str(ini), "keystone", unit="keystone")
    assert (ret["result"], ret["changes"]) == (False, {}) and "processes = 2\n" in ini.read_text()
    assert ret["comment"].endswith(": pillar key ha:absent is empty or not a string")
    assert state.options(str(ini), "keystone", unit="nova-api")["result"] is False
    assert state.options(str(ini), "cinder")["result"] is False


def test_options_with_the_maps_extra_settings(tmp_path):
    conf = tmp_path / "nova.conf"
    conf.write_text("[DEFAULT]\n#web = /usr/share/spice-html5\n")
    ret = state.options(str(conf), "keystone", extra={"DEFAULT": {"web": "/usr/share/novnc"}})
    assert ret["changes"]["options"]["DEFAULT.web"] == "/usr/share/novnc"
    assert "#web = /usr/share/spice-html5\nweb = /usr/share/novnc\n" in conf.read_text()
    assert state.options(str(conf), "keystone", extra={"DEFAULT": {"web": "/usr/share/novnc"}})["changes"] == {}


def test_options_of_the_members_apart(tmp_path, opts):
    # The service watches the options without the controllers' servers (members False) and only requires
    # those (members True): a controller added or removed rewrites them without restarting the service.
    conf = tmp_path / "keystone.conf"
    conf.write_text(PACKAGED)
    ret = state.options(str(conf), "keystone", members=False)
    assert ret["changes"] == {"options": {"database.connection": "(secret)", "keystone_authtoken.password": "(secret)"}}
    assert ret["comment"] == f"2 option(s) of {conf} set" and "memcached_servers" not in conf.read_text()
    opts["test"] = True
    ret = state.options(str(conf), "keystone", members=True)
    assert (ret["result"], ret["changes"]) == (None, {"options": {"keystone_authtoken.memcached_servers": MEMCACHED}})
    assert "memcached_servers" not in conf.read_text()
    opts["test"] = False
    ret = state.options(str(conf), "keystone", members=True)
    assert (ret["result"], ret["changes"]) == (True, {"options": {"keystone_authtoken.memcached_servers": MEMCACHED}})
    assert "memcached_servers = 10.10.10.51:11211,10.10.10.52:11211,10.10.10.53:11211\n" in conf.read_text()
    assert state.options(str(conf), "keystone", members=False)["changes"] == {}
    assert state.options(str(conf), "keystone")["comment"] == f"{conf} has keystone's HA settings"


def test_options_pass_the_maps_server_on(tmp_path, fake):
    # The map's server (RedHat's: httpd, eventlet) reaches ha_openstack.service_settings; Debian's map names
    # none: its settings are uWSGI's, as before.
    conf = tmp_path / "keystone.conf"
    conf.write_text(PACKAGED)
    assert state.options(str(conf), "keystone", server="httpd")["result"] is True
    assert state.options(str(conf), "keystone", members=True)["result"] is True
    assert fake.servers == ["httpd", None]


PUBLISHED = {"fernet": {"0": "fernet-zero", "1": "fernet-one"}, "credential": {"0": "credential-zero"}}


def _sealed(kit, keys: dict, secret: str = PILLAR["ha:galera:databases:keystone:password"]) -> dict:
    """What ha_openstack.key_repositories publishes: the keys sealed with keystone's database password."""
    return {"sealed": kit.seal(keys, secret, "keystone key repositories")}


def test_keys_synced(tmp_path, fake, opts, kit):
    fake.mine["c1"] = _sealed(kit, PUBLISHED)
    fernet, credential = tmp_path / "fernet-keys", tmp_path / "credential-keys"
    fernet.mkdir()
    (fernet / "1").write_text("stale")
    (fernet / "9").write_text("extra")
    args = ("keystone", "c1", str(fernet), str(credential), *ME)
    changes = {"fernet_written": ["0", "1"], "fernet_removed": ["9"], "credential_written": ["0"]}
    opts["test"] = True
    ret = state.keys_synced(*args)
    assert (ret["result"], ret["changes"]) == (None, changes)
    assert sorted(p.name for p in fernet.iterdir()) == ["1", "9"] and not credential.exists()
    opts["test"] = False
    ret = state.keys_synced(*args)
    assert (ret["result"], ret["changes"]) == (True, changes) and fake.mine_gets[-1] == ("c1", "ha_keystone_keys")
    assert "fernet-zero" not in repr(ret) and "credential-zero" not in repr(ret)
    for kind, directory in (("fernet", fernet), ("credential", credential)):
        assert {p.name: p.read_text() for p in directory.iterdir()} == PUBLISHED[kind]
        assert {stat.S_IMODE(p.stat().st_mode) for p in directory.iterdir()} == {0o600}
    again = state.keys_synced(*args)
    assert (again["result"], again["changes"]) == (True, {})
    assert again["comment"] == "keystone's keys are identical to c1's"


@pytest.mark.parametrize("published", [None, {"fernet": {"0": "k"}}, "not a mapping"])
def test_keys_synced_without_published_keys_fails(tmp_path, fake, published):
    if published is not None:
        fake.mine["c1"] = published
    ret = state.keys_synced("keystone", "c1", str(tmp_path / "f"), str(tmp_path / "c"), *ME)
    assert (ret["result"], ret["changes"]) == (False, {}) and not (tmp_path / "f").exists()
    assert ret["comment"].startswith("c1 has not published keystone's keys to the Salt mine")


def test_keys_synced_of_keys_sealed_with_another_secret_fails(tmp_path, fake, kit):
    fake.mine["c1"] = _sealed(kit, PUBLISHED, secret="another-pillar-secret-0123456789")
    ret = state.keys_synced("keystone", "c1", str(tmp_path / "f"), str(tmp_path / "c"), *ME)
    assert (ret["result"], ret["changes"]) == (False, {}) and not (tmp_path / "f").exists()
    assert ret["comment"] == ("keystone's keys from c1: the sealed keystone key repositories do not open with this "
                              "node's pillar secret: sealed with another secret, or altered; is its pillar this one?")


def test_keys_published(tmp_path, fake, opts):
    fernet, credential = tmp_path / "fernet-keys", tmp_path / "credential-keys"
    fernet.mkdir()

    def setup(command):  # what keystone-manage fernet_setup/credential_setup leave
        (tmp_path / f"{command[1].split('_')[0]}-keys").mkdir(exist_ok=True)
        (tmp_path / f"{command[1].split('_')[0]}-keys" / "0").write_text("key")

    fake.on_manage = setup
    args = ("keystone", str(fernet), str(credential), "keystone", "keystone", ["c1", "c2", "c3"])
    opts["test"] = True
    ret = state.keys_published(*args)
    assert (ret["result"], ret["changes"]) == (None, {"set_up": ["fernet", "credential"]})
    assert fake.manage_calls == [] and fake.sent == []
    opts["test"] = False
    ret = state.keys_published(*args)
    assert (ret["result"], ret["changes"]) == (True, {"set_up": ["fernet", "credential"]})
    assert fake.manage_calls == [
        (["keystone-manage", f"{kind}_setup", "--keystone-user", "keystone", "--keystone-group", "keystone"],
         "keystone", None) for kind in ("fernet", "credential")]
    assert fake.sent == [(("ha_keystone_keys",), {
        "mine_function": "ha_openstack.key_repositories", "fernet_dir": str(fernet),
        "credential_dir": str(credential), "allow_tgt": "c1,c2,c3", "allow_tgt_type": "list"})]
    again = state.keys_published(*args)
    assert (again["result"], again["changes"], len(fake.manage_calls), len(fake.sent)) == (True, {}, 2, 2)
    fake.send_answer = "mine.send is not available"
    ret = state.keys_published(*args)
    assert ret["result"] is False and "mine.send is not available" in ret["comment"]
    fake.on_manage = None
    (credential / "0").unlink()
    fake.results[tuple(fake.manage_calls[1][0])] = [
        {"retcode": 1, "output": "cannot reach mysql+pymysql://keystone:topsecret@10.10.10.69/keystone"}]
    ret = state.keys_published(*args)
    assert ret["result"] is False and len(fake.sent) == 3 and fake.manage_calls[-1][0][1] == "credential_setup"
    assert ret["comment"] == ("keystone-manage credential_setup failed: cannot reach "
                              "mysql+pymysql://keystone:****@10.10.10.69/keystone")


SYNC, CHECK, VERSION = (["keystone-manage", *args] for args in (["db_sync"], ["db_sync", "--check"], ["db_version"]))
NOVA_PACKAGES = ["nova-api", "nova-conductor"]
CHECK_FAILS = {"retcode": 2, "output": ""}
SYNC_RUN = [CHECK, VERSION, SYNC, VERSION]


@pytest.fixture
def stamp(tmp_path):
    """Where db_synced records keystone's fingerprint: in a folder that the first stamp creates."""
    return tmp_path / "schema-synced" / "keystone"


def keystone_synced(stamp, check=CHECK) -> dict:
    return state.db_synced("keystone", SYNC, VERSION, "keystone", str(stamp), ["keystone"], check)


def stamped(stamp) -> dict:
    return json.loads(stamp.read_text())


def test_db_synced_with_nothing_to_do_stamps_the_schema(fake, stamp):
    ret = keystone_synced(stamp)
    assert (ret["result"], ret["changes"], fake.manage_calls) == (True, {}, [(CHECK, "keystone", None)])
    assert ret["comment"] == "keystone's database schema is up to date"
    assert stamped(stamp) == {"packages": {"keystone": "2:25.0.0-0ubuntu1"}, "schemas": "digest-keystone"}
    assert fake.digest_calls == [["keystone"]]


def test_db_synced_runs_no_command_while_the_stamp_matches(fake, stamp, opts):
    keystone_synced(stamp)
    fake.manage_calls.clear()
    written = stamp.read_text()
    # The check would say a sync is due: it is not asked.
    fake.results[tuple(CHECK)] = [CHECK_FAILS] * 2
    for test in (False, True):
        opts["test"] = test
        ret = keystone_synced(stamp)
        assert (ret["result"], ret["changes"], fake.manage_calls) == (True, {}, [])
        assert ret["comment"] == ("keystone's database schema is up to date (packages and schema as at its last "
                                  "sync)")
    assert stamp.read_text() == written


def test_db_synced_syncs_and_stamps_the_schema_it_left(fake, stamp):
    fake.results[tuple(CHECK)] = [CHECK_FAILS]
    # A warning on standard error and log lines on standard output that differ at every run are not a change.
    fake.results[tuple(VERSION)] = [{"retcode": 0, "output": f"warning {i}\n{out}",
                                     "stdout": f"2026-11-27 14:02:2{i}.837 {i} INFO alembic.runtime.migration\n{out}"}
                                    for i, out in enumerate(("67\n", "72\n"))]
    fake.digests[("keystone",)] = "digest-at-67"

    def migrate(command):
        if command == SYNC:
            fake.digests[("keystone",)] = "digest-at-72"

    fake.on_manage = migrate
    ret = keystone_synced(stamp)
    assert (ret["result"], ret["changes"]) == (True, {"schema": ["72"]})
    assert ret["comment"] == "keystone's database schema synced"
    assert [c[0] for c in fake.manage_calls] == SYNC_RUN
    # The fingerprint of the schema that the sync left, not the one before it.
    assert stamped(stamp) == {"packages": {"keystone": "2:25.0.0-0ubuntu1"}, "schemas": "digest-at-72"}
    assert fake.digest_calls == [["keystone"], ["keystone"]]
    again = keystone_synced(stamp)
    assert (again["result"], again["changes"], len(fake.manage_calls)) == (True, {}, 4)


def test_db_synced_reports_no_change_when_the_version_stayed(fake, stamp):
    fake.results[tuple(CHECK)] = [CHECK_FAILS]
    fake.results[tuple(VERSION)] = [{"retcode": 0, "output": "72\n"}] * 2
    ret = keystone_synced(stamp)
    assert (ret["result"], ret["changes"], ret["comment"]) == (True, {}, "keystone's database schema is up to date")
    assert [c[0] for c in fake.manage_calls] == SYNC_RUN and stamp.exists()


@pytest.mark.parametrize("move", [
    pytest.param(lambda fake, stamp: fake.versions.__setitem__("keystone", "2:26.0.0-0ubuntu1"),
                 id="package upgraded"),
    pytest.param(lambda fake, stamp: fake.digests.__setitem__(("keystone",), "digest-restored"),
                 id="schema moved"),
    pytest.param(lambda fake, stamp: stamp.write_text('{"packages": {"keystone": '), id="stamp damaged"),
    pytest.param(lambda fake, stamp: stamp.unlink(), id="stamp removed"),
])
def test_db_synced_runs_again_when_what_it_stamped_moved(fake, stamp, move):
    keystone_synced(stamp)
    move(fake, stamp)
    fake.manage_calls.clear()
    fake.results[tuple(CHECK)] = [CHECK_FAILS]
    ret = keystone_synced(stamp)
    assert ret["result"] is True and [c[0] for c in fake.manage_calls] == SYNC_RUN
    assert stamped(stamp) == {"packages": {"keystone": fake.versions["keystone"]},
                              "schemas": fake.digests.get(("keystone",), "digest-keystone")}
    assert keystone_synced(stamp)["result"] is True and len(fake.manage_calls) == 4


def test_db_synced_in_test_mode_writes_no_stamp(fake, stamp, opts):
    opts["test"] = True
    ret = keystone_synced(stamp)
    assert (ret["result"], ret["changes"], ret["comment"]) == (True, {}, "keystone's database schema is up to date")
    assert not stamp.parent.exists()
    fake.results[tuple(CHECK)] = [CHECK_FAILS]
    ret = keystone_synced(stamp)
    assert (ret["result"], ret["changes"], ret["comment"]) == (None, {}, "keystone-manage db_sync would run")
    assert [c[0] for c in fake.manage_calls] == [CHECK, CHECK, VERSION] and not stamp.parent.exists()


@pytest.mark.parametrize(("schema", "databases"), [("nova_api", ["nova_api"]), ("nova", ["nova", "nova_cell0"])])
def test_db_synced_fingerprints_every_package_and_the_schemas_databases(fake, tmp_path, schema, databases):
    stamp = tmp_path / schema
    ret = state.db_synced(schema, SYNC, VERSION, "nova", str(stamp), NOVA_PACKAGES)
    # No check: the sync runs (and the fingerprint is taken again after it).
    assert ret["result"] is True and [c[0] for c in fake.manage_calls] == [VERSION, SYNC, VERSION]
    assert fake.digest_calls == [databases, databases]
    assert stamped(stamp) == {"packages": {"nova-api": "3:29.0.1-0ubuntu1", "nova-conductor": "3:29.0.1-0ubuntu1"},
                              "schemas": "digest-" + "-".join(databases)}
    fake.versions["nova-conductor"] = "3:29.0.2-0ubuntu1"
    state.db_synced(schema, SYNC, VERSION, "nova", str(stamp), NOVA_PACKAGES)
    assert len(fake.manage_calls) == 6


def test_db_synced_failure_is_scrubbed_and_stamps_nothing(fake, tmp_path):
    stamp = tmp_path / "nova_api"
    fake.results[tuple(SYNC)] = [{"retcode": 1, "output": "error at rabbit://openstack:secretvalue@host:5672/"}]
    ret = state.db_synced("nova_api", SYNC, VERSION, "nova", str(stamp), NOVA_PACKAGES)
    assert (ret["result"], ret["changes"]) == (False, {})
    assert ret["comment"] == "keystone-manage db_sync failed: error at rabbit://openstack:****@host:5672/"
    assert [c[0] for c in fake.manage_calls] == [VERSION, SYNC] and not stamp.exists()


def test_scrub_hides_every_password_of_a_multi_host_transport_url(fake, tmp_path):
    # nova's transport_url lists every controller (ha_openstack._transport_url), one password per host.
    url = ",".join(f"openstack:secretvalue@10.10.10.5{i}:5672" for i in (1, 2, 3))
    fake.results[tuple(SYNC)] = [{"retcode": 1, "output": f"error at rabbit://{url}/"}]
    ret = state.db_synced("nova", SYNC, VERSION, "nova", str(tmp_path / "nova"), NOVA_PACKAGES)
    assert ret["result"] is False and "secretvalue" not in ret["comment"]


REFUSED = "cannot connect to MariaDB on /run/mysqld/mysqld.sock as root: refused"


@pytest.mark.parametrize("unreadable", [
    pytest.param(lambda fake: fake.digests.__setitem__(("keystone",), CommandExecutionError(REFUSED)),
                 id="schema digest"),
    pytest.param(lambda fake: fake.versions.__setitem__("keystone", CommandExecutionError(REFUSED)),
                 id="package version"),
])
def test_db_synced_fails_without_a_command_when_its_fingerprint_cannot_be_read(fake, stamp, unreadable):
    keystone_synced(stamp)
    written = stamp.read_text()
    fake.manage_calls.clear()
    unreadable(fake)
    # The check would say a sync is due: neither it nor the sync runs on a schema that cannot be compared.
    fake.results[tuple(CHECK)] = [CHECK_FAILS]
    ret = keystone_synced(stamp)
    assert ret == {"name": "keystone", "changes": {}, "result": False,
                   "comment": f"keystone's schema cannot be compared with its last sync: {REFUSED}"}
    assert fake.manage_calls == [] and stamp.read_text() == written


@pytest.fixture
def unwritable_stamp(tmp_path):
    """A stamp whose folder cannot be made: a file has its name (a read-only folder would not stop root)."""
    (tmp_path / "schema-synced").write_text("")
    return tmp_path / "schema-synced" / "keystone"


def _not_recorded(ret: dict, why: str) -> None:
    (warning,) = ret["warnings"]
    assert warning.startswith(f"keystone's sync not recorded: {why}"), warning


def test_db_synced_that_cannot_write_its_stamp_warns_after_the_sync(fake, unwritable_stamp):
    fake.results[tuple(CHECK)] = [CHECK_FAILS]
    fake.results[tuple(VERSION)] = [{"retcode": 0, "output": out} for out in ("67\n", "72\n")]
    ret = keystone_synced(unwritable_stamp)
    assert (ret["result"], ret["changes"]) == (True, {"schema": ["72"]})
    assert ret["comment"] == "keystone's database schema synced"
    assert [c[0] for c in fake.manage_calls] == SYNC_RUN
    _not_recorded(ret, "[Errno 17] File exists: ")


def test_db_synced_whose_fingerprint_fails_after_the_sync_warns(fake, stamp):
    fake.results[tuple(CHECK)] = [CHECK_FAILS]
    fake.results[tuple(VERSION)] = [{"retcode": 0, "output": out} for out in ("67\n", "72\n")]

    def migrate_then_lose_the_server(command):
        if command == SYNC:
            fake.digests[("keystone",)] = CommandExecutionError(REFUSED)

    fake.on_manage = migrate_then_lose_the_server
    ret = keystone_synced(stamp)
    assert (ret["result"], ret["changes"]) == (True, {"schema": ["72"]})
    assert ret["comment"] == "keystone's database schema synced"
    assert [c[0] for c in fake.manage_calls] == SYNC_RUN and fake.digest_calls == [["keystone"], ["keystone"]]
    assert ret["warnings"] == [f"keystone's sync not recorded: {REFUSED}"]
    # Not the fingerprint taken before the sync: no stamp at all, and the next run syncs again.
    assert not stamp.exists()


def test_db_synced_that_cannot_write_its_stamp_after_the_check_warns(fake, unwritable_stamp, opts):
    ret = keystone_synced(unwritable_stamp)
    assert (ret["result"], ret["changes"]) == (True, {})
    assert ret["comment"] == "keystone's database schema is up to date"
    assert [c[0] for c in fake.manage_calls] == [CHECK]
    _not_recorded(ret, "[Errno 17] File exists: ")
    # A test run records nothing: nothing to warn about.
    opts["test"] = True
    ret = keystone_synced(unwritable_stamp)
    assert (ret["result"], ret["changes"]) == (True, {}) and "warnings" not in ret


MAP_CELL0 = ["nova-manage", "cell_v2", "map_cell0"]
CREATE_CELL = ["nova-manage", "cell_v2", "create_cell", "--name=cell1", "--verbose"]


def test_nova_cells(fake, opts):
    fake.cells = ["cell1", "cell0"]
    ret = state.nova_cells("cell1", "nova")
    assert (ret["result"], ret["changes"], fake.manage_calls) == (True, {}, [])
    assert ret["comment"] == "nova's cells cell0 and cell1 exist"
    # Read from nova's API database: no nova-manage runs to list them.
    assert fake.column_calls == [("nova_api", "cell_mappings", "name")]
    fake.cells = ["cell0"]
    ret = state.nova_cells("cell1", "nova")
    assert (ret["result"], ret["changes"]) == (True, {"created": ["cell1"]})
    assert fake.manage_calls == [(CREATE_CELL, "nova", None)]
    fake.manage_calls.clear()
    # A cell of another name is no cell1.
    fake.cells = ["cell2"]
    ret = state.nova_cells("cell1", "nova")
    assert ret["changes"] == {"created": ["cell0", "cell1"]} and ret["comment"] == "nova's cells cell0, cell1 created"
    assert [c[0] for c in fake.manage_calls] == [MAP_CELL0, CREATE_CELL]
    opts["test"] = True
    fake.cells = []
    ret = state.nova_cells("cell1", "nova")
    assert (ret["result"], ret["changes"]) == (None, {"created": ["cell0", "cell1"]})
    assert ret["comment"] == "nova's cells cell0, cell1 would be created"
    assert len(fake.manage_calls) == 2 and len(fake.column_calls) == 4


def test_nova_cells_failures_are_scrubbed(fake):
    fake.results[tuple(MAP_CELL0)] = [{"retcode": 1, "output": "rabbit://openstack:pw1@h:5672/ refused"}]
    ret = state.nova_cells("cell1", "nova")
    assert (ret["result"], ret["changes"]) == (False, {})
    assert ret["comment"] == "nova-manage cell_v2 map_cell0 failed: rabbit://openstack:****@h:5672/ refused"
    # cell1 is not created after cell0 failed.
    assert [c[0] for c in fake.manage_calls] == [MAP_CELL0]
    fake.cells = ["cell0"]
    fake.results[tuple(CREATE_CELL)] = [{"retcode": 1, "output": "mysql+pymysql://nova:pw2@vip/nova: denied"}]
    ret = state.nova_cells("cell1", "nova")
    assert (ret["result"], ret["changes"]) == (False, {})
    assert ret["comment"] == "nova-manage cell_v2 create_cell failed: mysql+pymysql://nova:****@vip/nova: denied"


def test_nova_cells_that_cannot_be_read_fail_without_nova_manage(fake):
    fake.cells = CommandExecutionError("reading nova_api.cell_mappings.name failed: "
                                       "(1146, \"Table 'nova_api.cell_mappings' doesn't exist\")")
    ret = state.nova_cells("cell1", "nova")
    assert (ret["result"], ret["changes"]) == (False, {})
    assert ret["comment"].startswith("nova's cells cannot be read: ")
    assert ret["comment"] == ("nova's cells cannot be read: reading nova_api.cell_mappings.name failed: "
                              "(1146, \"Table 'nova_api.cell_mappings' doesn't exist\")")
    # No cell is mapped or created on a guess.
    assert fake.manage_calls == [] and fake.column_calls == [("nova_api", "cell_mappings", "name")]


def test_restart_due_while_the_flag_is_there(tmp_path, opts):
    flag = tmp_path / "restart-pending" / "nova"
    quiet = {"name": str(flag), "changes": {}, "result": True,
             "comment": "nova: no setting changed since its last restart"}
    assert state.restart_due(str(flag), "nova") == quiet
    flag.parent.mkdir()
    flag.write_text("")
    due = {"name": str(flag), "changes": {"restart": "nova"}, "result": True,
           "comment": "nova: settings changed since its last restart"}
    assert state.restart_due(str(flag), "nova") == due
    # The flag goes once the units ran (ha-nova-restart-done), not here.
    assert flag.exists()
    opts["test"] = True
    assert state.restart_due(str(flag), "nova") == {**due, "result": None}
    flag.unlink()
    assert state.restart_due(str(flag), "nova") == quiet


def test_bootstrapped_passes_the_password_through_the_environment(fake, opts):
    fake.keystone = Keystone(bootstrapped=False)
    opts["test"] = True
    ret = state.bootstrapped("keystone", "keystone", NODE_AUTH)
    assert (ret["result"], ret["changes"], fake.manage_calls) == (None, {"bootstrapped": "admin"}, [])
    opts["test"] = False
    ret = state.bootstrapped("keystone", "keystone", NODE_AUTH)
    assert (ret["result"], ret["changes"]) == (True, {"bootstrapped": "admin"})
    _no_secret(ret)
    [(command, user, env_pillar)] = fake.manage_calls
    assert user == "keystone" and env_pillar == {"OS_BOOTSTRAP_PASSWORD": "ha:openstack:admin_password"}
    assert command[:2] == ["keystone-manage", "bootstrap"] and command.count(AUTH) == 3
    assert command[command.index("--bootstrap-region-id") + 1] == "RegionOne"
    assert [arg for arg in command for secret in PILLAR.values() if secret in arg] == []
    fake.keystone = Keystone()
    ret = state.bootstrapped("keystone", "keystone", NODE_AUTH)
    assert (ret["result"], ret["changes"], len(fake.manage_calls)) == (True, {}, 1)
    fake.keystone.down = True
    assert state.bootstrapped("keystone", "keystone", NODE_AUTH)["result"] is False


SERVICE_USERS = ("glance", "placement", "nova")
FIRST_RUN = {"projects": ["service"], "users": list(SERVICE_USERS), "roles": [f"{u}@service" for u in SERVICE_USERS],
             "services": list(SERVICE_USERS), "endpoints": [f"{s}/{i}" for s in SERVICE_USERS for i in INTERFACES]}


def _user_token(keystone: Keystone, user: str) -> str | None:
    return keystone.token(NODE_AUTH, user, f"ha:openstack:service_passwords:{user}", "service")


def test_catalog_created_then_complete(fake):
    ret = state.catalog("keystone", NODE_AUTH)
    assert (ret["result"], ret["changes"]) == (True, FIRST_RUN)
    _no_secret(ret)
    keystone = fake.keystone
    assert keystone.named("projects", "service")["domain_id"] == "default"
    assert [_user_token(keystone, user) for user in SERVICE_USERS] == [f"token-{u}" for u in SERVICE_USERS]
    for service in CATALOG["services"]:
        found = keystone.named("services", service["name"])
        endpoints = [e for e in keystone.tables["endpoints"].values() if e["service_id"] == found["id"]]
        assert sorted(e["interface"] for e in endpoints) == sorted(INTERFACES)
        assert {(e["url"], e["region_id"]) for e in endpoints} == {(service["url"], "RegionOne")}
    writes = len(keystone.writes)
    again = state.catalog("keystone", NODE_AUTH)
    assert (again["result"], again["changes"], len(keystone.writes)) == (True, {}, writes)
    assert again["comment"] == "keystone's catalog is complete"
    keystone.passwords[keystone.named("users", "admin")["id"]] = "other"
    ret = state.catalog("keystone", NODE_AUTH)
    assert (ret["result"], ret["changes"]) == (False, {})
    assert ret["comment"] == "keystone's catalog: keystone refuses admin's password: is keystone bootstrapped?"


def test_catalog_in_test_mode_changes_nothing(fake, opts):
    opts["test"] = True
    ret = state.catalog("keystone", NODE_AUTH)
    assert (ret["result"], fake.keystone.writes) == (None, [])
    assert ret["comment"] == "keystone's catalog would be completed"
    assert {k: v for k, v in ret["changes"].items() if k != "roles"} == {k: v for k, v in FIRST_RUN.items()
                                                                         if k != "roles"}


def test_catalog_test_mode_predicts_the_changes_of_a_real_run(fake, opts):
    opts["test"] = True
    predicted = state.catalog("keystone", NODE_AUTH)["changes"]
    opts["test"] = False
    assert predicted == state.catalog("keystone", NODE_AUTH)["changes"]


def test_catalog_resets_a_wrong_password_and_a_moved_endpoint(fake):
    state.catalog("keystone", NODE_AUTH)
    keystone = fake.keystone
    keystone.passwords[keystone.named("users", "glance")["id"]] = "old-password"
    nova = keystone.named("services", "nova")["id"]
    public = next(e for e in keystone.tables["endpoints"].values()
                  if e["service_id"] == nova and e["interface"] == "public")
    public["url"] = "http://10.10.10.51:8774/v2.1"
    ret = state.catalog("keystone", NODE_AUTH)
    assert (ret["result"], ret["changes"]) == (True, {"passwords": ["glance"], "endpoints": ["nova/public"]})
    assert _user_token(keystone, "glance") == "token-glance" and public["url"] == "http://openstack-vip:8774/v2.1"
    assert state.catalog("keystone", NODE_AUTH)["changes"] == {}


def test_catalog_converges_for_a_user_without_role_and_with_a_wrong_password(fake):
    state.catalog("keystone", NODE_AUTH)
    keystone = fake.keystone
    nova = keystone.named("users", "nova")["id"]
    keystone.passwords[nova] = "old-password"
    keystone.assignments = {a for a in keystone.assignments if a[0] != nova}
    assert state.catalog("keystone", NODE_AUTH)["result"] is True
    assert _user_token(keystone, "nova") == "token-nova"


def test_answering(fake, opts, clock):
    assert state.answering(NODE_AUTH)["comment"] == f"{NODE_AUTH} answers"
    fake.answering = False
    ret = state.answering(NODE_AUTH, timeout=10)
    assert ret == {"name": NODE_AUTH, "changes": {}, "result": False,
                   "comment": f"{NODE_AUTH} is not up after 10 s (nothing answers): see the service's log"}
    assert clock.sleeps == [2] * 5
    fake.status = 403
    assert state.answering(NODE_AUTH, timeout=2)["comment"] == (
        f"{NODE_AUTH} is not up after 2 s (it answers HTTP 403, not 2xx or 3xx): see the service's log")
    del clock.sleeps[5:]
    opts["test"] = True
    assert state.answering(NODE_AUTH)["result"] is True and len(clock.sleeps) == 5


RDO_KEYSTONE_SITE = """Listen 5000

<VirtualHost *:5000>
    WSGIDaemonProcess keystone-public processes=5 threads=1 user=keystone group=keystone
    ErrorLog /var/log/httpd/keystone.log
</VirtualHost>
"""


def test_httpd_listen_binds_a_site_to_the_node_at_its_apis_port(tmp_path, opts):
    site = tmp_path / "wsgi-keystone.conf"
    site.write_text(RDO_KEYSTONE_SITE)
    site.chmod(0o640)
    opts["test"] = True
    ret = state.httpd_listen(str(site), "keystone")
    assert ret["result"] is None and site.read_text() == RDO_KEYSTONE_SITE
    # ha:openstack:workers processes of one thread each, not the package's 5.
    daemon = "WSGIDaemonProcess keystone-public processes=2 threads=1 user=keystone group=keystone"
    assert ret["changes"] == {"listen": ["Listen 10.10.10.52:5000", "<VirtualHost 10.10.10.52:5000>"],
                              "daemon": [daemon]}
    assert ret["comment"] == f"{site} would listen on 10.10.10.52 only, WSGIDaemonProcess processes=2 threads=1"
    opts["test"] = False
    ret = state.httpd_listen(str(site), "keystone")
    assert ret["result"] is True and ret["changes"]["listen"][0] == "Listen 10.10.10.52:5000"
    text = site.read_text()
    assert "Listen 10.10.10.52:5000\n" in text and "<VirtualHost 10.10.10.52:5000>\n" in text
    assert f"    {daemon}\n" in text and stat.S_IMODE(site.stat().st_mode) == 0o640
    again = state.httpd_listen(str(site), "keystone")
    assert (again["result"], again["changes"]) == (True, {})
    assert again["comment"] == f"{site} listens on 10.10.10.52 only, WSGIDaemonProcess processes=2 threads=1"


RDO_PLACEMENT_SITE = """Listen 10.10.10.52:8778

<VirtualHost 10.10.10.52:8778>
  WSGIProcessGroup placement-api
  WSGIDaemonProcess placement-api processes=3 threads=1 user=placement group=placement
</VirtualHost>
"""


def test_httpd_listen_sizes_a_bound_site(tmp_path, fake):
    # RDO's placement site, already bound (a run before the workers were applied): only its daemon changes.
    site = tmp_path / "00-placement-api.conf"
    site.write_text(RDO_PLACEMENT_SITE)
    ret = state.httpd_listen(str(site), "placement")
    assert ret["changes"] == {"daemon": [
        "WSGIDaemonProcess placement-api processes=2 threads=1 user=placement group=placement"]}
    assert site.read_text() == RDO_PLACEMENT_SITE.replace("processes=3", "processes=2")
    assert state.httpd_listen(str(site), "placement")["changes"] == {}
    assert fake.daemon_calls == ["placement", "placement"]


def test_httpd_listen_grants_the_directory_of_the_wsgi_script(tmp_path, fake, opts):
    site = tmp_path / "00-placement-api.conf"
    site.write_text(RDO_PLACEMENT_SITE.replace("processes=3", "processes=2"))
    opts["test"] = True
    ret = state.httpd_listen(str(site), "placement", grant="/usr/bin")
    assert ret["result"] is None and ret["changes"] == {"grant": ["<Directory /usr/bin>"]}
    assert "<Directory" not in site.read_text()
    opts["test"] = False
    ret = state.httpd_listen(str(site), "placement", grant="/usr/bin")
    assert ret["changes"] == {"grant": ["<Directory /usr/bin>"]}
    block = "  <Directory /usr/bin>\n    Require all granted\n  </Directory>\n"
    assert site.read_text().endswith(block + "</VirtualHost>\n")
    again = state.httpd_listen(str(site), "placement", grant="/usr/bin")
    assert again["changes"] == {} and again["comment"].endswith(", /usr/bin granted")


def test_httpd_listen_without_an_api_keeps_each_port(tmp_path, fake):
    main = tmp_path / "httpd.conf"
    main.write_text("ServerRoot /etc/httpd\nListen 80\nListen 0.0.0.0:8080 http\n")
    ret = state.httpd_listen(str(main))
    assert ret["result"] is True and ret["changes"] == {"listen": ["Listen 10.10.10.52:80",
                                                                   "Listen 10.10.10.52:8080 http"]}
    assert main.read_text() == "ServerRoot /etc/httpd\nListen 10.10.10.52:80\nListen 10.10.10.52:8080 http\n"
    # httpd's own config holds no site: no daemon is sized.
    assert fake.daemon_calls == []


def test_httpd_listen_of_an_api_without_a_site_fails(tmp_path, fake):
    site = tmp_path / "site.conf"
    site.write_text(RDO_PLACEMENT_SITE)
    ret = state.httpd_listen(str(site), "glance")
    assert ret["result"] is False and ret["changes"] == {} and site.read_text() == RDO_PLACEMENT_SITE
    assert ret["comment"] == f"cannot bind httpd in {site}: no httpd site serves 'glance': only the services' WSGI " \
                             "APIs run under httpd"


def test_httpd_listen_of_a_missing_file_fails(tmp_path):
    ret = state.httpd_listen(str(tmp_path / "absent.conf"), "keystone")
    assert ret["result"] is False and "cannot bind httpd in" in ret["comment"] and ret["changes"] == {}


def test_catalog_fails_on_a_service_password_missing_from_the_pillar(fake, pillar_get):
    del pillar_get.flat["ha:openstack:service_passwords:nova"]
    ret = state.catalog("keystone", NODE_AUTH)
    assert ret["result"] is False
    assert ret["comment"] == "keystone's catalog: pillar key ha:openstack:service_passwords:nova is empty or not a " \
                             "string"
    # What was done before the failure is reported.
    assert ret["changes"]["users"] == ["glance", "placement"]
