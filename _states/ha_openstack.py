"""
The OpenStack controller services: their config files' HA settings
(``options``), keystone's key repositories (``keys_published`` on the first
controller, ``keys_synced`` on the others), database schemas
(``db_synced``), nova's cells (``nova_cells``), keystone's bootstrap and
catalog (``bootstrapped``, ``catalog``) and the health gate ``answering``.

No secret is ever returned: changes name options, files and objects only.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from pathlib import Path

import ha_topology_openstack
from salt.exceptions import CommandExecutionError

# Reloaded for the reason given in _modules/ha_topology.py.
topology = importlib.reload(ha_topology_openstack)

__virtualname__ = "ha_openstack"
MINE_FUNCTION = "ha_keystone_keys"
# user:password@ in a URL of a command's output (a failing nova-manage may
# print a transport URL or database connection).
# Every host of a multi-host URL (rabbit://u:p@h1,u:p@h2/) has its own.
URL_CREDENTIALS_RE = re.compile(r"((?://|,)[^:/@\s,]+):[^@\s]+@")


def __virtual__():
    if "ha_kit.ret" not in __utils__:  # noqa: F821 - Salt loader dunder
        return (False, "the formula's ha_kit utils module is not synced: run saltutil.sync_all")
    if "ha_openstack.service_settings" not in __salt__:  # noqa: F821
        return (False, "the ha_openstack execution module is not synced: run saltutil.sync_all")
    return __virtualname__


def _kit(function: str):
    """A function of the formula's toolkit (_utils/ha_kit.py)."""
    return __utils__[f"ha_kit.{function}"]  # noqa: F821 - Salt loader dunder


def _mod(function: str, *args, **kwargs):
    return __salt__[f"ha_openstack.{function}"](*args, **kwargs)  # noqa: F821 - Salt loader dunder


def _scrub(text: str) -> str:
    return URL_CREDENTIALS_RE.sub(r"\1:****@", text)


def _failed(ret: dict, command: str, done: dict) -> dict:
    """``ret`` as the failure of ``command``, with no change, its output scrubbed of credentials."""
    return _kit("fail")(ret, f"{command} failed: {_scrub(done['output'])}", {})


def options(name: str, service: str, unit: str | None = None, extra: dict | None = None,
            members: bool | None = None, server: str | None = None) -> dict:
    """
    Set the HA settings of ``service`` (ha_openstack.service_settings, its
    WSGI APIs run by ``server``: the map's ``openstack:SERVICE:server``,
    uwsgi when not given) in the INI file ``name``: its main config, or
    with ``unit`` that unit's uWSGI ini; ``extra`` ({section: {option:
    value}}, from the map: paths of the distribution) on top
    (``ha_openstack.set_options``). With ``members`` True only the options
    that list the controllers' servers, with False all others. Changes list
    each option set, secrets shown as ``(secret)``.

    .. code-block:: yaml

        ha-keystone-config:
          ha_openstack.options:
            - name: /etc/keystone/keystone.conf
            - service: keystone
    """
    ret, test = _kit("ret")(name), _kit("is_test")(__opts__)  # noqa: F821 - Salt loader dunder
    try:
        changed = _mod("set_options", name, service, unit, extra, test=test, members=members, server=server)
    except CommandExecutionError as error:
        return _kit("fail")(ret, f"cannot set {service}'s settings in {name}: {error}")
    if not changed:
        ret["comment"] = f"{name} has {service}'s HA settings"
        return ret
    ret["changes"] = {"options": changed}
    if test:
        return _kit("would")(ret, f"{len(changed)} option(s) of {name} would be set")
    ret["comment"] = f"{len(changed)} option(s) of {name} set"
    return ret


def httpd_listen(name: str, api: str | None = None, grant: str | None = None) -> dict:
    """
    Bind httpd's ``Listen`` directives and ``<VirtualHost>`` blocks in the
    config file ``name`` to this controller's own address: at the backend
    port of ``api``'s HAProxy listener (RDO's keystone and placement
    vhosts), or without ``api`` at the ports they name (httpd.conf's
    ``Listen 80``), so that HAProxy can bind those ports on the VIP. With
    ``api``, the site's ``WSGIDaemonProcess`` also gets
    ``ha:openstack:workers`` processes of one thread each
    (``ha_openstack.httpd_daemon``). With ``grant`` (a directory: where the
    site's WSGI script lives), the site grants access to it
    (``ha_openstack.httpd_granted``). Changes list the directives as they
    are now (``listen``, ``daemon``, ``grant``), of the kinds that changed.

    .. code-block:: yaml

        ha-placement-httpd-placement:
          ha_openstack.httpd_listen:
            - name: /etc/httpd/conf.d/00-placement-api.conf
            - api: placement
            - grant: /usr/bin
    """
    ret = _kit("ret")(name)
    path = Path(name)
    try:
        bind = _mod("node_bind", api)
        daemon = _mod("httpd_daemon", api) if api else None
        text = path.read_text()
    except (CommandExecutionError, OSError) as error:
        return _kit("fail")(ret, f"cannot bind httpd in {name}: {error}")
    bound, detail = _mod("httpd_bound", text, bind["address"], bind["port"]), ""
    if daemon:
        bound = _mod("httpd_sized", bound, daemon)
        detail = ", WSGIDaemonProcess " + " ".join(f"{option}={value}" for option, value in daemon.items())
    if grant:
        bound = _mod("httpd_granted", bound, grant)
        detail += f", {grant} granted"
    for kind, starts in (("listen", ("Listen", "<VirtualHost")), ("daemon", ("WSGIDaemonProcess",)),
                         ("grant", ("<Directory",))):
        before, after = ([line.strip() for line in t.splitlines() if line.strip().startswith(starts)]
                         for t in (text, bound))
        if after != before:
            ret["changes"][kind] = after
    if bound == text:
        ret["comment"] = f"{name} listens on {bind['address']} only{detail}"
        return ret
    if _kit("is_test")(__opts__):  # noqa: F821 - Salt loader dunder
        return _kit("would")(ret, f"{name} would listen on {bind['address']} only{detail}")
    path.write_text(bound)
    ret["comment"] = f"{name} listens on {bind['address']} only{detail}"
    return ret


def keys_published(name: str, fernet_dir: str, credential_dir: str, user: str, group: str,
                   controllers: list[str]) -> dict:
    """
    On the first controller: set up keystone's fernet and credential key
    repositories unless they hold keys (keystone-manage fernet_setup,
    credential_setup), then publish them through the Salt mine to the
    ``controllers`` only, for ``keys_synced``.

    .. code-block:: yaml

        ha-keystone-keys:
          ha_openstack.keys_published:
            - name: keystone
            - fernet_dir: /etc/keystone/fernet-keys
            - credential_dir: /etc/keystone/credential-keys
            - user: keystone
            - group: keystone
            - controllers: [c1, c2, c3]
    """
    ret, test = _kit("ret")(name), _kit("is_test")(__opts__)  # noqa: F821 - Salt loader dunder
    missing = [kind for kind, directory in (("fernet", fernet_dir), ("credential", credential_dir))
               if not Path(directory).is_dir() or not any(Path(directory).iterdir())]
    if missing and test:
        return _kit("would")(ret, f"keystone's {' and '.join(missing)} keys would be set up and published",
                             {"set_up": missing})
    for kind in missing:
        # As keystone's user, like every keystone-manage run: a first run as
        # root would leave keystone's log file to root.
        done = _mod("run_manage", ["keystone-manage", f"{kind}_setup", "--keystone-user", user,
                                   "--keystone-group", group], user)
        if done["retcode"]:
            return _failed(ret, f"keystone-manage {kind}_setup", done)
    if test:
        ret["comment"] = "keystone's keys are set up; they would be published to the controllers"
        return ret
    # Readable by the controllers only (allow_tgt), kept in the master's
    # root-only cache; never in a job's return.
    sent = __salt__["mine.send"](MINE_FUNCTION, mine_function="ha_openstack.key_repositories",  # noqa: F821
                                 fernet_dir=fernet_dir, credential_dir=credential_dir,
                                 allow_tgt=",".join(controllers), allow_tgt_type="list")
    if sent is not True:
        return _kit("fail")(ret, f"publishing keystone's keys to the Salt mine failed: {sent}")
    if missing:
        ret["changes"] = {"set_up": missing}
    ret["comment"] = "keystone's keys are published to the controllers"
    return ret


def _write_key(path: Path, content: str, uid: int, gid: int) -> None:
    temporary = path.with_name(f".{path.name}.ha-tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(content)
    os.chown(temporary, uid, gid)
    os.replace(temporary, path)


def keys_synced(name: str, source: str, fernet_dir: str, credential_dir: str, user: str, group: str) -> dict:
    """
    On the other controllers: make keystone's key repositories identical to
    those ``source`` (the first controller) published (``keys_published``):
    missing or different keys written (0600, ``user``:``group``), keys it
    does not have removed. Changes name the key files only.

    .. code-block:: yaml

        ha-keystone-keys:
          ha_openstack.keys_synced:
            - name: keystone
            - source: openstack-controller01
            - fernet_dir: /etc/keystone/fernet-keys
            - credential_dir: /etc/keystone/credential-keys
            - user: keystone
            - group: keystone
    """
    ret, test = _kit("ret")(name), _kit("is_test")(__opts__)  # noqa: F821 - Salt loader dunder
    published = __salt__["mine.get"](source, MINE_FUNCTION).get(source)  # noqa: F821
    if not isinstance(published, dict) or not isinstance(published.get("sealed"), str):
        return _kit("fail")(ret, f"{source} has not published keystone's keys to the Salt mine (or this node may "
                                 "not read them): apply ha.keystone on it first")
    seal = topology.KEYS_SEAL
    try:
        published = _kit("unseal")(published["sealed"], _kit("secret")(__salt__, seal["secret"]),  # noqa: F821
                                   seal["purpose"])
    except CommandExecutionError as error:
        return _kit("fail")(ret, f"keystone's keys from {source}: {error}; is its pillar this one?")
    import grp  # noqa: PLC0415 - POSIX only, like the nodes
    import pwd  # noqa: PLC0415
    try:
        uid, gid = pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid
    except KeyError as error:
        return _kit("fail")(ret, f"no such user or group {error}: is keystone installed?")
    changes: dict[str, list[str]] = {}
    for kind, directory in (("fernet", fernet_dir), ("credential", credential_dir)):
        path = Path(directory)
        keys = published[kind]
        present = {p.name: p for p in path.iterdir() if p.is_file()} if path.is_dir() else {}
        differing = sorted(k for k, v in keys.items() if k not in present or present[k].read_text() != v)
        extra = sorted(set(present) - set(keys))
        if differing:
            changes[f"{kind}_written"] = differing
        if extra:
            changes[f"{kind}_removed"] = extra
        if test or not (differing or extra):
            continue
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chown(path, uid, gid)
        for key in differing:
            _write_key(path / key, keys[key], uid, gid)
        for key in extra:
            present[key].unlink()
    ret["changes"] = changes
    if changes and test:
        _kit("would")(ret, f"keystone's keys would be made identical to {source}'s")
    elif changes:
        ret["comment"] = f"keystone's keys made identical to {source}'s"
    else:
        ret["comment"] = f"keystone's keys are identical to {source}'s"
    return ret


def _version(result: dict) -> str:
    """
    A schema version: the last line of standard output. The tools print
    warnings (eventlet's) on standard error and log lines with a time stamp
    (alembic's, from nova-manage) on standard output before it.
    """
    lines = result["stdout"].strip().splitlines()
    return lines[-1].strip() if lines else ""


def _schema_fingerprint(name: str, packages: list[str]) -> dict:
    """What a schema sync depends on: the versions of the service's packages and its databases' digest."""
    return {"packages": {package: __salt__["pkg.version"](package) for package in packages},  # noqa: F821
            "schemas": __salt__["ha_galera.schema_digest"](topology.schema_databases(name))}  # noqa: F821


def _stamped(stamp: str, fingerprint: dict) -> bool:
    try:
        return json.loads(Path(stamp).read_text()) == fingerprint
    except (OSError, ValueError):
        return False


def _record(ret: dict, name: str, stamp: str, fingerprint) -> None:
    """Write ``fingerprint`` (or what it returns, when callable) to ``stamp``: a failure is a warning, the
    schema is synced and the next run syncs again (a no-op) and records it."""
    try:
        path = Path(stamp)
        path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        path.write_text(json.dumps(fingerprint() if callable(fingerprint) else fingerprint, sort_keys=True) + "\n")
    except (CommandExecutionError, OSError) as exc:
        ret.setdefault("warnings", []).append(f"{name}'s sync not recorded: {exc}")


def db_synced(name: str, sync: list[str], version: list[str], user: str, stamp: str, packages: list[str],
              check: list[str] | None = None) -> dict:
    """
    Bring the schema ``name`` (a key of a service's schemas in
    ha_topology_openstack: keystone, nova_api, nova, ...) up to date with
    ``sync`` (run as ``user``), on one controller (Galera replicates it).

    After a sync the state records in ``stamp`` the versions of
    ``packages`` and a digest of the schema's databases
    (ha_galera.schema_digest); while both are unchanged, nothing runs: the
    schema can only move when the code (an upgrade) or the databases (a
    migration, a drop, a restore) moved. Otherwise ``check``, where the
    service has one, exits 0 when nothing is to do; else ``sync`` runs and the
    state reports a change only when ``version``'s output moved.

    .. code-block:: yaml

        ha-keystone-db-sync:
          ha_openstack.db_synced:
            - name: keystone
            - sync: [keystone-manage, db_sync]
            - check: [keystone-manage, db_sync, --check]
            - version: [keystone-manage, db_version]
            - user: keystone
            - stamp: /var/lib/ha-formula/schema-synced/keystone
            - packages: [keystone]
    """
    ret = _kit("ret")(name)
    try:
        fingerprint = _schema_fingerprint(name, packages)
    except CommandExecutionError as exc:
        return _kit("fail")(ret, f"{name}'s schema cannot be compared with its last sync: {exc}")
    if _stamped(stamp, fingerprint):
        ret["comment"] = f"{name}'s database schema is up to date (packages and schema as at its last sync)"
        return ret
    if check and _mod("run_manage", check, user)["retcode"] == 0:
        if not _kit("is_test")(__opts__):  # noqa: F821 - Salt loader dunder
            _record(ret, name, stamp, fingerprint)
        ret["comment"] = f"{name}'s database schema is up to date"
        return ret
    before = _mod("run_manage", version, user)
    if _kit("is_test")(__opts__):  # noqa: F821 - Salt loader dunder
        return _kit("would")(ret, f"{' '.join(sync)} would run")
    done = _mod("run_manage", sync, user)
    if done["retcode"]:
        return _failed(ret, " ".join(sync), done)
    after = _mod("run_manage", version, user)
    _record(ret, name, stamp, lambda: _schema_fingerprint(name, packages))
    if _version(after) != _version(before) or before["retcode"]:
        ret["changes"] = {"schema": [_version(after) or "synced"]}
        ret["comment"] = f"{name}'s database schema synced"
    else:
        ret["comment"] = f"{name}'s database schema is up to date"
    return ret


def nova_cells(name: str, user: str) -> dict:
    """
    nova's cells: cell0 mapped and one cell ``name`` created (from nova.conf's
    transport_url and database connection) unless nova-manage lists them.

    .. code-block:: yaml

        ha-nova-cells:
          ha_openstack.nova_cells:
            - name: cell1
            - user: nova
    """
    ret = _kit("ret")(name)
    # Read from the API database (a nova-manage start takes seconds).
    try:
        names = __salt__["ha_galera.column"](topology.NOVA_API_DATABASE, "cell_mappings", "name")  # noqa: F821
    except CommandExecutionError as exc:
        return _kit("fail")(ret, f"nova's cells cannot be read: {exc}")
    todo = [cell for cell in ("cell0", name) if cell not in names]
    if not todo:
        ret["comment"] = f"nova's cells cell0 and {name} exist"
        return ret
    ret["changes"] = {"created": todo}
    if _kit("is_test")(__opts__):  # noqa: F821 - Salt loader dunder
        return _kit("would")(ret, f"nova's cells {', '.join(todo)} would be created")
    for cell in todo:
        command = (["nova-manage", "cell_v2", "map_cell0"] if cell == "cell0"
                   else ["nova-manage", "cell_v2", "create_cell", f"--name={cell}", "--verbose"])
        done = _mod("run_manage", command, user)
        if done["retcode"]:
            return _failed(ret, " ".join(command[:3]), done)
    ret["comment"] = f"nova's cells {', '.join(todo)} created"
    return ret


def restart_due(name: str, service: str) -> dict:
    """
    A change (that the service's units watch) while the restart flag ``name``
    is there: the service's settings changed since its last restart
    (ha.openstack.config writes the flag; the units' run removes it). Read in
    Python: an ``onlyif`` would load every execution module first.

    .. code-block:: yaml

        ha-nova-restart-due:
          ha_openstack.restart_due:
            - name: /var/lib/ha-formula/restart-pending/nova
            - service: nova
    """
    ret = _kit("ret")(name)
    if not os.path.exists(name):
        ret["comment"] = f"{service}: no setting changed since its last restart"
        return ret
    ret["changes"] = {"restart": service}
    ret["comment"] = f"{service}: settings changed since its last restart"
    if _kit("is_test")(__opts__):  # noqa: F821 - Salt loader dunder
        ret["result"] = None
    return ret


def answering(name: str, timeout: int = 120) -> dict:
    """
    Health gate: wait until the API at URL ``name`` answers as a working
    API does (2xx or 3xx, see ``ha_openstack.answers``), up to ``timeout``
    seconds.

    .. code-block:: yaml

        ha-keystone-answering:
          ha_openstack.answering:
            - name: http://10.10.10.51:5000/v3
    """
    ret = _kit("ret")(name)
    if _kit("is_test")(__opts__):  # noqa: F821 - Salt loader dunder
        ret["comment"] = f"{name} would be waited for"
        return ret
    try:
        _kit("wait")(f"{name} answering", lambda: _mod("answers", name), timeout, 2)
    except CommandExecutionError:
        status = _mod("answer", name)
        said = "nothing answers" if status is None else f"it answers HTTP {status}, not 2xx or 3xx"
        return _kit("fail")(ret, f"{name} is not up after {timeout} s ({said}): see the service's log")
    ret["comment"] = f"{name} answers"
    return ret


def bootstrapped(name: str, user: str, auth_url: str) -> dict:
    """
    keystone's bootstrap (keystone-manage bootstrap: the admin project,
    user and role, the region and keystone's own endpoints on the VIP, from
    ha_openstack.catalog), unless the admin already gets a token from the
    keystone at ``auth_url`` (this node's). The password goes in through
    the environment.

    .. code-block:: yaml

        ha-keystone-bootstrap:
          ha_openstack.bootstrapped:
            - name: keystone
            - user: keystone
            - auth_url: http://10.10.10.51:5000/v3
    """
    ret = _kit("ret")(name)
    catalog = _mod("catalog")
    admin = catalog["admin"]
    try:
        if _mod("authenticates", auth_url, admin["user"], admin["password_pillar"], admin["project"]):
            ret["comment"] = f"keystone is bootstrapped: {admin['user']} gets a token at {auth_url}"
            return ret
    except CommandExecutionError as error:
        return _kit("fail")(ret, str(error))
    ret["changes"] = {"bootstrapped": admin["user"]}
    if _kit("is_test")(__opts__):  # noqa: F821 - Salt loader dunder
        return _kit("would")(ret, "keystone would be bootstrapped")
    url = next(s["url"] for s in catalog["services"] if s["name"] == "keystone")
    command = ["keystone-manage", "bootstrap", "--bootstrap-username", admin["user"],
               "--bootstrap-project-name", admin["project"], "--bootstrap-role-name", admin["role"],
               "--bootstrap-service-name", "keystone", "--bootstrap-region-id", catalog["region"],
               "--bootstrap-admin-url", url, "--bootstrap-internal-url", url, "--bootstrap-public-url", url]
    done = _mod("run_manage", command, user, {"OS_BOOTSTRAP_PASSWORD": admin["password_pillar"]})
    if done["retcode"]:
        return _failed(ret, "keystone-manage bootstrap", done)
    ret["comment"] = f"keystone bootstrapped: {admin['user']} in project {admin['project']}, endpoints at {url}"
    return ret


def _find(api, path: str, key: str, **match) -> dict | None:
    query = "&".join(f"{k}={v}" for k, v in match.items() if k in ("name", "type", "interface", "service_id"))
    found = api("GET", f"{path}?{query}" if query else path)[key]
    return next((item for item in found if all(item.get(k) == v for k, v in match.items())), None)


def catalog(name: str, auth_url: str) -> dict:
    """
    The site's keystone catalog (ha_openstack.catalog) through the API of
    the keystone at ``auth_url``, as the admin: the service project, one
    user per service (admin on the service project; a wrong password is
    reset), the services and their public, internal and admin endpoints.

    .. code-block:: yaml

        ha-openstack-catalog:
          ha_openstack.catalog:
            - name: keystone
            - auth_url: http://10.10.10.51:5000/v3
    """
    ret = _kit("ret")(name)
    wanted = _mod("catalog")
    admin = wanted["admin"]
    auth = auth_url
    changes: dict[str, list[str]] = {}
    test = _kit("is_test")(__opts__)  # noqa: F821 - Salt loader dunder
    login = (admin["user"], admin["password_pillar"], admin["project"])
    try:
        if not _mod("authenticates", auth, *login):
            raise CommandExecutionError(f"keystone refuses {admin['user']}'s password: is keystone bootstrapped?")

        def api(method, path, body=None):
            return _mod("api", method, auth, *login, path, body)

        domain = _find(api, "/domains", "domains", name="Default")["id"]
        project = _find(api, "/projects", "projects", name=wanted["service_project"], domain_id=domain)
        if project is None:
            changes.setdefault("projects", []).append(wanted["service_project"])
            project = {"id": None} if test else api("POST", "/projects", {"project": {
                "name": wanted["service_project"], "domain_id": domain,
                "description": "OpenStack services"}})["project"]
        role = _find(api, "/roles", "roles", name=admin["role"])
        for user in wanted["users"]:
            _ensure_user(api, user, domain, project["id"], role["id"], auth, wanted["service_project"],
                         test, changes)
        for service in wanted["services"]:
            _ensure_service(api, service, wanted["region"], wanted["interfaces"], test, changes)
    except CommandExecutionError as error:
        # What was done before the failure stays in the changes.
        return _kit("fail")(ret, f"keystone's catalog: {error}", changes)
    ret["changes"] = changes
    if changes and test:
        _kit("would")(ret, "keystone's catalog would be completed")
    elif changes:
        ret["comment"] = "keystone's catalog completed"
    else:
        ret["comment"] = "keystone's catalog is complete"
    return ret


def _ensure_user(api, user: dict, domain: str, project: str | None, role: str, auth: str, project_name: str,
                 test: bool, changes: dict) -> None:
    found = _find(api, "/users", "users", name=user["name"], domain_id=domain)
    password = _kit("secret")(__salt__, user["password_pillar"])  # noqa: F821 - Salt loader dunder
    if found is None:
        changes.setdefault("users", []).append(user["name"])
        changes.setdefault("roles", []).append(f"{user['name']}@{project_name}")
        if test:
            return
        found = api("POST", "/users", {"user": {"name": user["name"], "domain_id": domain,
                                                  "password": password, "enabled": True}})["user"]
        api("PUT", f"/projects/{project}/users/{found['id']}/roles/{role}")
        return
    if project is None:
        # Test mode, and the service project is still to be created.
        changes.setdefault("roles", []).append(f"{user['name']}@{project_name}")
        return
    assigned = api("GET", f"/role_assignments?user.id={found['id']}&scope.project.id={project}&role.id={role}")
    if not assigned["role_assignments"]:
        changes.setdefault("roles", []).append(f"{user['name']}@{project_name}")
        if test:
            return
        api("PUT", f"/projects/{project}/users/{found['id']}/roles/{role}")
    # With its role, the user gets a token unless its password is not the
    # pillar's: then the pillar's is set.
    if not _mod("authenticates", auth, user["name"], user["password_pillar"], project_name):
        changes.setdefault("passwords", []).append(user["name"])
        if not test:
            api("PATCH", f"/users/{found['id']}", {"user": {"password": password}})


def _ensure_service(api, service: dict, region: str, interfaces: list[str], test: bool, changes: dict) -> None:
    found = _find(api, "/services", "services", name=service["name"], type=service["type"])
    if found is None:
        changes.setdefault("services", []).append(service["name"])
        if test:
            for interface in interfaces:
                changes.setdefault("endpoints", []).append(f"{service['name']}/{interface}")
            return
        found = api("POST", "/services", {"service": {"name": service["name"], "type": service["type"],
                                                        "description": service["description"],
                                                        "enabled": True}})["service"]
    for interface in interfaces:
        endpoint = _find(api, "/endpoints", "endpoints", service_id=found["id"], interface=interface)
        if endpoint is not None and endpoint["url"] == service["url"] and endpoint.get("region_id") == region:
            continue
        changes.setdefault("endpoints", []).append(f"{service['name']}/{interface}")
        if test:
            continue
        body = {"endpoint": {"service_id": found["id"], "interface": interface, "url": service["url"],
                             "region_id": region, "enabled": True}}
        if endpoint is None:
            api("POST", "/endpoints", body)
        else:
            api("PATCH", f"/endpoints/{endpoint['id']}", body)
