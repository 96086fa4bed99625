"""
The OpenStack controller services of the ha formula: what each service's
config must say for HA (derived once here from the topology), the keystone
catalog, keystone's key repositories, and calls to keystone's API.

Secrets never appear in what the public functions return: a setting that
holds one carries a reference, ``{{pillar:KEY}}`` (the value as is) or
``{{pillar-url:KEY}}`` (URL-quoted, inside a connection URL), which
:py:func:`set_options` resolves when it writes the file; keystone's tokens
stay inside the module (:py:func:`authenticates`, :py:func:`api`). The one
exception is :py:func:`key_repositories`, the Salt mine's function.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from salt.exceptions import CommandExecutionError

__virtualname__ = "ha_openstack"

SECRET_REF_RE = re.compile(r"\{\{pillar(-url)?:([A-Za-z0-9_:.-]+)\}\}")
# The services and the HAProxy listener (ha:haproxy:listeners) in front of
# each API: the API binds the listener's backend port on the node's own
# address, and its catalog URL is the listener on the VIP.
LISTENERS = {
    "keystone": "keystone_public",
    "glance": "glance_api",
    "placement": "placement_api",
    "nova": "nova_api",
    "nova_metadata": "nova_metadata",
    "nova_vncproxy": "nova_vncproxy",
}
# Users of the service project, with the admin role there (keystone's own
# admin comes from keystone-manage bootstrap).
SERVICE_USERS = ("glance", "placement", "nova")
CATALOG = (
    # (service name, type, description, listener, URL path)
    ("keystone", "identity", "OpenStack Identity", "keystone_public", "/v3"),
    ("glance", "image", "OpenStack Image", "glance_api", ""),
    ("placement", "placement", "Placement API", "placement_api", ""),
    ("nova", "compute", "OpenStack Compute", "nova_api", "/v2.1"),
)
INTERFACES = ("public", "internal", "admin")
DEFAULT_DOMAIN = "Default"
SERVICE_PROJECT = "service"
ADMIN = {"user": "admin", "project": "admin", "role": "admin"}
HTTP_TIMEOUT = 10
# A management command (keystone-manage db_sync, nova-manage ...) may take this long.
MANAGE_TIMEOUT = 900


def __virtual__():
    if "ha_kit.run" not in __utils__:  # noqa: F821 - Salt loader dunder
        return (False, "the formula's ha_kit utils module is not synced: run saltutil.sync_all")
    return __virtualname__


def _topology(function: str, *args, **kwargs) -> Any:
    return __salt__[f"ha_topology.{function}"](*args, **kwargs)  # noqa: F821 - Salt loader dunder


def _ha(ha: dict | None) -> dict:
    ha = ha if ha is not None else __pillar__.get("ha")  # noqa: F821 - Salt loader dunder
    _topology("check", ha=ha)
    return ha


def _listener_ports(ha: dict) -> dict[str, tuple[int, int]]:
    """Each service's (VIP port, backend port) from its HAProxy listener."""
    listeners = ha["haproxy"]["listeners"]
    return {
        service: (listeners[name]["port"], listeners[name].get("backend_port", listeners[name]["port"]))
        for service, name in LISTENERS.items()
    }


def _endpoint_host(ha: dict) -> str:
    openstack = ha["openstack"]
    return openstack.get("endpoint_host") or ha["vip"].get("hostname") or str(ha["vip"]["address"])


def _db_url(ha: dict, user: str, database: str) -> str:
    # Through the VIP: HAProxy's galera listener sends every writer to the
    # same node.
    port = ha["haproxy"]["listeners"]["galera"]["port"]
    return (f"mysql+pymysql://{user}:{{{{pillar-url:ha:galera:databases:{user}:password}}}}"
            f"@{ha['vip']['address']}:{port}/{database}")


# How keystone's and nova's oslo.cache clients treat a controller that died
# (its address no longer answers: every call to it waits for the socket
# timeout): the memcache_pool backend marks a server dead after one
# timed-out call and skips it for dead_retry seconds; its defaults (1 s,
# 300 s) stall a request for seconds after a crash, then keep a healed
# server out for five minutes.
MEMCACHE_SOCKET_TIMEOUT = 0.5
MEMCACHE_DEAD_RETRY = 30
# A service's call to keystone through the VIP waits this long for a
# connection (no limit by default).
AUTHTOKEN_CONNECT_TIMEOUT = 3


def _credentials(ha: dict, user: str) -> dict:
    """What a service needs to log in to keystone as ``user`` (keystoneauth's password plugin)."""
    return {
        "auth_url": f"http://{_endpoint_host(ha)}:{_listener_ports(ha)['keystone'][0]}",
        "auth_type": "password",
        "project_domain_name": DEFAULT_DOMAIN,
        "user_domain_name": DEFAULT_DOMAIN,
        "project_name": SERVICE_PROJECT,
        "username": user,
        "password": f"{{{{pillar:ha:openstack:service_passwords:{user}}}}}",
        "region_name": ha["openstack"].get("region", "RegionOne"),
    }


def _authtoken(ha: dict, user: str, memcached: list[str]) -> dict:
    """keystone_authtoken of a service that checks tokens: its credentials and the token cache."""
    credentials = _credentials(ha, user)
    return {
        "www_authenticate_uri": credentials["auth_url"],
        **credentials,
        "memcached_servers": memcached,
        # keystonemiddleware's "advanced" pool takes eventlet's primitives
        # in uWSGI's threaded workers: after a controller died, placement's
        # worker deadlocked in it ("greenlet.error: cannot switch to a
        # different thread") and never answered again. The plain pool of
        # python-memcache clients waits 3 s for a dead server, then each
        # client skips it for 30 s (neither is configurable there).
        "memcache_use_advanced_pool": False,
        "http_connect_timeout": AUTHTOKEN_CONNECT_TIMEOUT,
    }


def _cache(memcached: list[str]) -> dict:
    # oslo.cache through every controller's memcached: tokens validated on
    # one controller are cached for the others.
    return {"enabled": True, "backend": "oslo_cache.memcache_pool", "memcache_servers": memcached,
            "memcache_socket_timeout": MEMCACHE_SOCKET_TIMEOUT, "memcache_dead_retry": MEMCACHE_DEAD_RETRY}


def _uwsgi(address: str, port: int, workers: int) -> dict:
    # Debian's init scripts read the bind address, port and process count
    # from the keys that UWSGI_BIND_CONFIG_* name (see the units' drop-in);
    # uWSGI itself takes unknown keys as placeholders. (No '-' in these keys:
    # openstack-pkg-tools' INI reader does not match it.)
    return {"uwsgi": {"ha_bind_ip": address, "ha_bind_port": port, "processes": workers}}


def _transport_url(ha: dict, controllers: list[dict]) -> str:
    port = ha.get("rabbitmq", {}).get("port", 5672)
    hosts = ",".join(f"openstack:{{{{pillar-url:ha:rabbitmq:openstack_password}}}}@{n['address']}:{port}"
                     for n in controllers)
    return f"rabbit://{hosts}/"


def service_settings(service: str, minion_id: str | None = None, ha: dict | None = None) -> dict:
    """
    What one controller's config files of ``service`` (keystone, glance,
    placement or nova) must say for HA: ``{"config": {section: {option:
    value}}, "uwsgi": {unit: {section: {option: value}}}}``. Database
    connections go through the VIP, memcached lists every controller,
    nova's transport_url every RabbitMQ node, and each API binds its
    backend port on the node's own address, so that HAProxy owns the VIP's
    ports. Secrets are references (see the module's docstring).

    CLI Example:

    .. code-block:: bash

        salt 'openstack-controller01' ha_openstack.service_settings nova
    """
    ha = _ha(ha)
    minion_id = minion_id or __grains__["id"]  # noqa: F821 - Salt loader dunder
    controllers = [n for n in _topology("nodes", ha=ha) if "controller" in n["roles"]]
    me = next((n for n in controllers if n["id"] == minion_id), None)
    if me is None:
        raise CommandExecutionError(f"{minion_id} is not a controller in ha:nodes")
    address = me["address"]
    memcached = _topology("memcached_servers", ha=ha)
    ports = _listener_ports(ha)
    workers = ha["openstack"].get("workers", 2)
    vip_url = f"http://{_endpoint_host(ha)}"
    if service == "keystone":
        return {
            "config": {
                "database": {"connection": _db_url(ha, "keystone", "keystone")},
                "token": {"provider": "fernet"},
                "cache": _cache(memcached),
            },
            "uwsgi": {"keystone": _uwsgi(address, ports["keystone"][1], workers)},
        }
    if service == "glance":
        return {
            "config": {
                "DEFAULT": {"bind_host": address, "bind_port": ports["glance"][1], "workers": workers},
                "database": {"connection": _db_url(ha, "glance", "glance")},
                "keystone_authtoken": _authtoken(ha, "glance", memcached),
                "paste_deploy": {"flavor": "keystone"},
                "glance_store": {"stores": ["file", "http"], "default_store": "file",
                                 "filesystem_store_datadir": "/var/lib/glance/images/"},
                "oslo_messaging_notifications": {"driver": "noop"},
            },
            "uwsgi": {},
        }
    if service == "placement":
        return {
            "config": {
                "placement_database": {"connection": _db_url(ha, "placement", "placement")},
                "api": {"auth_strategy": "keystone"},
                "keystone_authtoken": _authtoken(ha, "placement", memcached),
            },
            "uwsgi": {"placement-api": _uwsgi(address, ports["placement"][1], workers)},
        }
    if service == "nova":
        access = _topology("rabbitmq_access", ha=ha)
        placement = _credentials(ha, "placement")
        placement["auth_url"] += "/v3"
        return {
            "config": {
                "DEFAULT": {
                    "my_ip": address,
                    "transport_url": _transport_url(ha, controllers),
                    "enabled_apis": ["osapi_compute", "metadata"],
                    "osapi_compute_workers": workers,
                    "metadata_workers": workers,
                },
                "api": {"auth_strategy": "keystone"},
                "api_database": {"connection": _db_url(ha, "nova", "nova_api")},
                "database": {"connection": _db_url(ha, "nova", "nova")},
                "keystone_authtoken": _authtoken(ha, "nova", memcached),
                "placement": placement,
                "glance": {"api_servers": f"{vip_url}:{ports['glance'][0]}"},
                "vnc": {"enabled": True, "server_listen": address, "server_proxyclient_address": address,
                        "novncproxy_host": address, "novncproxy_port": ports["nova_vncproxy"][1],
                        "novncproxy_base_url": f"{vip_url}:{ports['nova_vncproxy'][0]}/vnc_auto.html"},
                "oslo_concurrency": {"lock_path": "/var/lib/nova/tmp"},
                "oslo_messaging_rabbit": {"rabbit_quorum_queue": access["quorum_queues"]},
                "conductor": {"workers": workers},
                "scheduler": {"workers": workers},
                "cache": _cache(memcached),
            },
            "uwsgi": {
                "nova-api": _uwsgi(address, ports["nova"][1], workers),
                "nova-api-metadata": _uwsgi(address, ports["nova_metadata"][1], workers),
            },
        }
    raise CommandExecutionError(f"unknown OpenStack service {service!r}; known: keystone, glance, placement, nova")


HTTPD_LISTEN_RE = re.compile(r"^(\s*Listen\s+)(\S+)(.*)$", re.MULTILINE)
HTTPD_VHOST_RE = re.compile(r"^(\s*<VirtualHost\s+)([^>]+)(>.*)$", re.MULTILINE)


def _port_of(address: str) -> str:
    return address.rsplit(":", 1)[1] if ":" in address else address


def httpd_bound(text: str, address: str, port: int | None = None) -> str:
    """
    httpd config ``text`` with every ``Listen`` directive and every
    ``<VirtualHost>`` bound to ``address``: at ``port``, or at the port each
    already names (httpd.conf's ``Listen 80``). Pure text; no I/O.
    """
    def bind(match: re.Match) -> str:
        wanted = port if port is not None else _port_of(match.group(2).split()[0])
        return f"{match.group(1)}{address}:{wanted}{match.group(3)}"

    return HTTPD_VHOST_RE.sub(bind, HTTPD_LISTEN_RE.sub(bind, text))


def node_bind(api: str | None = None, minion_id: str | None = None, ha: dict | None = None) -> dict:
    """
    Where ``api`` (keystone, glance, placement, nova, nova_metadata,
    nova_vncproxy) listens on this controller: ``{"address", "port"}``, the
    node's own address and its HAProxy listener's backend port (None
    without ``api``).

    CLI Example:

    .. code-block:: bash

        salt-call ha_openstack.node_bind placement
    """
    ha = _ha(ha)
    minion_id = minion_id or __grains__["id"]  # noqa: F821 - Salt loader dunder
    address = next((n["address"] for n in _topology("nodes", ha=ha)
                    if n["id"] == minion_id and "controller" in n["roles"]), None)
    if address is None or (api is not None and api not in LISTENERS):
        raise CommandExecutionError(f"no {api!r} API on {minion_id}: the APIs ({', '.join(LISTENERS)}) run on "
                                    "the controllers")
    return {"address": address, "port": _listener_ports(ha)[api][1] if api else None}


def node_url(api: str, minion_id: str | None = None, ha: dict | None = None) -> str:
    """
    The URL of ``api`` (keystone, glance, placement, nova, nova_metadata,
    nova_vncproxy) on this controller's own address: what HAProxy checks,
    and the deploy's health gates.

    CLI Example:

    .. code-block:: bash

        salt-call ha_openstack.node_url keystone
    """
    bind = node_bind(api, minion_id, ha)
    return f"http://{bind['address']}:{bind['port']}{'/v3' if api == 'keystone' else '/'}"


def catalog(ha: dict | None = None) -> dict:
    """
    The keystone catalog of the site: ``region``, ``admin`` (user, project,
    role, pillar key of the password), ``service_project``, ``users`` (one
    per service, with the pillar key of its password and the admin role on
    the service project) and ``services`` (name, type, description and one
    URL, on the VIP, for each of the public, internal and admin interfaces).

    CLI Example:

    .. code-block:: bash

        salt-call ha_openstack.catalog
    """
    ha = _ha(ha)
    listeners = ha["haproxy"]["listeners"]
    host = _endpoint_host(ha)
    return {
        "region": ha["openstack"].get("region", "RegionOne"),
        "admin": {**ADMIN, "password_pillar": "ha:openstack:admin_password"},
        "service_project": SERVICE_PROJECT,
        "users": [{"name": user, "password_pillar": f"ha:openstack:service_passwords:{user}"}
                  for user in SERVICE_USERS],
        "services": [
            {"name": name, "type": kind, "description": description,
             "url": f"http://{host}:{listeners[listener]['port']}{path}"}
            for name, kind, description, listener, path in CATALOG
        ],
        "auth_url": f"http://{host}:{listeners['keystone_public']['port']}/v3",
    }


def _secret(key: str) -> str:
    return __utils__["ha_kit.secret"](__salt__, key)  # noqa: F821 - Salt loader dunder


def _resolve(value: Any) -> Any:
    """
    ``value`` with its secret references replaced by the pillar's values,
    URL-quoted for ``pillar-url``; ``$`` doubled in plain ones, which
    oslo.config would otherwise take for a substitution. Lists are
    resolved item by item. Private: it returns secrets.
    """
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    if not isinstance(value, str):
        return value

    def secret(match: re.Match) -> str:
        found = _secret(match.group(2))
        if match.group(1):
            return urllib.parse.quote(found, safe="")
        return found.replace("$", "$$")

    return SECRET_REF_RE.sub(secret, value)


def is_secret(value: Any) -> bool:
    """
    Whether a setting's value holds a secret reference.

    CLI Example:

    .. code-block:: bash

        salt-call ha_openstack.is_secret '{{pillar:ha:openstack:admin_password}}'
    """
    values = value if isinstance(value, list) else [value]
    return any(isinstance(v, str) and SECRET_REF_RE.search(v) for v in values)


def set_options(path: str, service: str, unit: str | None = None, extra: dict | None = None,
                test: bool = False) -> dict[str, Any]:
    """
    Write the HA settings of ``service`` (:py:func:`service_settings`), their
    secret references resolved, into the INI file ``path``: the service's
    main config, or with ``unit`` that unit's uWSGI ini; ``extra``
    ({section: {option: value}}, from the map: paths of the distribution) on
    top (see ``ha_ini.set_options``). Returns the options that changed (with
    ``test``: that would change, nothing is written) as ``{"section.option":
    value}``, a secret's value shown as ``(secret)``.

    CLI Example:

    .. code-block:: bash

        salt-call ha_openstack.set_options /etc/keystone/keystone.conf keystone test=True
    """
    settings = service_settings(service)
    if unit is not None and unit not in settings["uwsgi"]:
        raise CommandExecutionError(f"{service} has no uWSGI unit {unit!r}; known: {', '.join(settings['uwsgi'])}")
    sections = settings["uwsgi"][unit] if unit else settings["config"]
    for section, values in (extra or {}).items():
        sections.setdefault(section, {}).update(values)
    resolved = {section: {option: _resolve(value) for option, value in values.items()}
                for section, values in sections.items()}
    changed = __salt__["ha_ini.set_options"](path, resolved, test=test)  # noqa: F821 - Salt loader dunder
    shown = {}
    for item in changed:
        section, option = item.split(".", 1)
        value = sections[section][option]
        shown[item] = "(secret)" if is_secret(value) else value
    return shown


# --- keystone's key repositories -------------------------------------------


def key_repositories(fernet_dir: str, credential_dir: str) -> dict:
    """
    The fernet and credential keys of this controller, as ``{"fernet":
    {name: key}, "credential": {name: key}}``, for the other controllers.
    Published through the Salt mine to the controllers only; never call it
    from the command line, it returns the keys. Public only because
    ``mine.send`` runs it by name (``__salt__``); see the module's docstring.
    """
    found = {}
    for kind, directory in (("fernet", fernet_dir), ("credential", credential_dir)):
        path = Path(directory)
        if not path.is_dir():
            raise CommandExecutionError(f"{directory} does not exist: keystone's {kind} keys are not set up here")
        found[kind] = {p.name: p.read_text() for p in sorted(path.iterdir()) if p.is_file()}
        if not found[kind]:
            raise CommandExecutionError(f"{directory} holds no keys")
    return found


# --- keystone's API ----------------------------------------------------------


def _payload(raw: bytes) -> dict:
    """A JSON answer as data; any other (nova's metadata API answers text) as its first 200 characters."""
    try:
        return json.loads(raw) if raw else {}
    except ValueError:
        return {"raw": raw.decode(errors="replace")[:200]}


def _request(method: str, url: str, token: str | None = None, body: dict | None = None) -> tuple[int, dict, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    request.add_header("Accept", "application/json")
    if token:
        request.add_header("X-Auth-Token", token)
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:  # noqa: S310 - http(s) URL from the catalog
            # Header names in lower case: HAProxy and HTTP/2 proxies send them so.
            headers = {name.lower(): value for name, value in response.headers.items()}
            return response.status, headers, _payload(response.read())
    except urllib.error.HTTPError as error:
        payload = _payload(error.read())
        return error.code, {name.lower(): value for name, value in error.headers.items()}, payload
    except (urllib.error.URLError, OSError) as error:
        raise CommandExecutionError(f"keystone at {url} does not answer: {error}") from error


def _token(auth_url: str, user: str, password_pillar: str, project: str) -> str | None:
    """
    A project-scoped token of ``user`` (password read from ``password_pillar``)
    from keystone at ``auth_url``, or None when keystone refuses the
    credentials. Private: it returns the token.
    """
    password = _secret(password_pillar)
    body = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"name": DEFAULT_DOMAIN}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"name": DEFAULT_DOMAIN}}},
    }}
    status, headers, payload = _request("POST", f"{auth_url}/auth/tokens", body=body)
    if status == 201:
        return headers.get("x-subject-token")
    if status == 401:
        return None
    raise CommandExecutionError(f"keystone answered {status} to a token request for {user}: {payload}")


def _tokens() -> dict:
    """The tokens this Salt job got (``__context__``), so that a state's many calls of :py:func:`api` log in once."""
    return __context__.setdefault("ha_openstack.tokens", {})  # noqa: F821 - Salt loader dunder


def authenticates(auth_url: str, user: str, password_pillar: str, project: str) -> bool:
    """
    Whether keystone at ``auth_url`` gives ``user``, with the password read
    from ``password_pillar``, a token scoped to ``project`` (it needs the
    password and a role there). The token is kept for :py:func:`api`, never
    returned; after a refusal, none is kept for these credentials.

    CLI Example:

    .. code-block:: bash

        salt-call ha_openstack.authenticates http://10.10.10.51:5000/v3 admin ha:openstack:admin_password admin
    """
    found = _token(auth_url, user, password_pillar, project)
    if found is None:
        _tokens().pop((auth_url, user, project), None)
        return False
    _tokens()[(auth_url, user, project)] = found
    return True


def api(method: str, auth_url: str, user: str, password_pillar: str, project: str, path: str,
        body: dict | None = None) -> dict:
    """
    One call of keystone's API at ``auth_url`` (``path`` below /v3) as
    ``user`` of ``project`` (password read from ``password_pillar``, see
    :py:func:`authenticates`); keystone's answer, which for what the formula
    asks (domains, projects, users, roles, services, endpoints) holds no
    secret. Raises unless keystone answered 2xx.

    CLI Example:

    .. code-block:: bash

        salt-call ha_openstack.api GET http://10.10.10.51:5000/v3 admin ha:openstack:admin_password admin /projects
    """
    if (auth_url, user, project) not in _tokens() and not authenticates(auth_url, user, password_pillar, project):
        raise CommandExecutionError(f"keystone at {auth_url} refuses {user}'s password")
    token = _tokens()[(auth_url, user, project)]
    status, _, payload = _request(method, f"{auth_url}{path}", token=token, body=body)
    if status // 100 != 2:
        raise CommandExecutionError(f"keystone answered {status} to {method} {path}: {payload}")
    return payload


def answers(url: str) -> bool:
    """
    Whether an OpenStack API answers at ``url`` (any HTTP status counts:
    an API that asks for a token is up).

    CLI Example:

    .. code-block:: bash

        salt-call ha_openstack.answers http://10.10.10.51:5000/v3
    """
    try:
        _request("GET", url)
    except CommandExecutionError:
        return False
    return True


def run_manage(command: list[str], user: str, env_pillar: dict | None = None) -> dict:
    """
    Run a service's management command (``keystone-manage db_sync``, ...)
    as the service's ``user``; secrets go in through the environment
    (``env_pillar``: {VARIABLE: pillar key}), never on the command line.
    Returns ``{"retcode", "output", "stdout"}``: the last 2000 characters of
    standard output and error together, and of standard output alone (the
    tools print warnings to standard error).

    CLI Example:

    .. code-block:: bash

        salt-call ha_openstack.run_manage '[keystone-manage, db_version]' keystone
    """
    # The command's whole environment: nothing of the minion's.
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    for variable, key in (env_pillar or {}).items():
        env[variable] = _secret(key)
    # runuser rather than cmd.run_all's runas, which would add the user's
    # login environment (su -) to this one.
    argv = ["runuser", "-u", user, "--", *command] if user != "root" else command
    done = __utils__["ha_kit.run"](  # noqa: F821 - Salt loader dunder
        __salt__, argv, env=env, clean_env=True, timeout=MANAGE_TIMEOUT, what=" ".join(command),  # noqa: F821
        hint="is the service's package installed?",
    )
    output = (done["stdout"] + done["stderr"])[-2000:]
    return {"retcode": done["retcode"], "output": output, "stdout": done["stdout"][-2000:]}


