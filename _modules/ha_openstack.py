"""
The OpenStack controller services of the ha formula: what each service's
config must say for HA (derived once here from the topology), the keystone
catalog, keystone's key repositories, and calls to keystone's API.

Secrets never appear in what the public functions return: a setting that
holds one carries a reference, ``{{pillar:KEY}}`` (the value as is) or
``{{pillar-url:KEY}}`` (URL-quoted, inside a connection URL), which
:py:func:`set_options` resolves when it writes the file; keystone's tokens
stay inside the module (:py:func:`authenticates`, :py:func:`api`), and
keystone's keys leave it sealed (:py:func:`key_repositories`).
"""

from __future__ import annotations

import importlib
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import ha_topology_openstack
from salt.exceptions import CommandExecutionError

# Reloaded for the reason given in ha_topology.py: a synced change takes effect at once.
topology = importlib.reload(ha_topology_openstack)

__virtualname__ = "ha_openstack"

SECRET_REF_RE = re.compile(r"\{\{pillar(-url)?:([A-Za-z0-9_:.-]+)\}\}")
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


def _address(ha: dict, minion_id: str) -> str | None:
    """The own address of the controller ``minion_id``; None for any other minion."""
    return next((n["address"] for n in _topology("nodes", ha=ha)
                 if n["id"] == minion_id and "controller" in n["roles"]), None)


def services(stage: str | None = None) -> list[str]:
    """
    The OpenStack controller services the formula deploys, in deploy order
    (the table ``SERVICES`` of ``_utils/ha_topology_openstack.py``); with
    ``stage`` (``identity``: keystone; ``services``: the ones registered with
    it) only those. What the states loop over.

    CLI Example:

    .. code-block:: bash

        salt-call ha_openstack.services services
    """
    if stage is not None and stage not in topology.STAGES:
        raise CommandExecutionError(f"unknown stage {stage!r}; known: {', '.join(topology.STAGES)}")
    return topology.services(stage)


def units(stage: str | None = None) -> list[str]:
    """
    The systemd units that run the services (of ``stage``, see
    :py:func:`services`) on this family, from the formula's map, in deploy
    order and each once: services may share a unit (httpd on RedHat).

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_openstack.units
    """
    openstack = _topology("formula_map")["openstack"]
    return list(dict.fromkeys(unit for service in services(stage) for unit in openstack[service]["services"]))


def apis(stage: str | None = None, gate: bool = False) -> list[str]:
    """
    The HTTP APIs of the services (of ``stage``, see :py:func:`services`);
    with ``gate``, only those the deploy waits for (its health gates).

    CLI Example:

    .. code-block:: bash

        salt-call ha_openstack.apis services gate=True
    """
    services(stage)
    return [api for api, spec in topology.apis(stage).items() if spec["gate"] or not gate]


def service_settings(service: str, minion_id: str | None = None, ha: dict | None = None,
                     server: str | None = None) -> dict:
    """
    What one controller's config files of ``service`` (one of
    :py:func:`services`) must say for HA: ``{"config": {section: {option:
    value}}, "uwsgi": {unit: {section: {option: value}}}}``. Database
    connections go through the VIP, memcached lists every controller,
    nova's transport_url every RabbitMQ node, and each API binds its
    backend port on the node's own address, so that HAProxy owns the VIP's
    ports. ``server`` is what runs the service's WSGI APIs on this family
    (the map's ``openstack:SERVICE:server``): ``uwsgi`` (the default,
    Debian's: bound and sized in the units' uWSGI ini), ``httpd`` (RDO's
    keystone and placement: also ``"httpd": {api: {processes, threads}}``
    for the sites' WSGIDaemonProcess) or ``eventlet`` (RDO's nova-api:
    bound by nova.conf's ``*_listen`` options). Secrets are references (see
    the module's docstring).

    CLI Example:

    .. code-block:: bash

        salt 'openstack-controller01' ha_openstack.service_settings nova
        salt 'openstack-controller02' ha_openstack.service_settings nova server=eventlet
    """
    ha = _ha(ha)
    minion_id = minion_id or __grains__["id"]  # noqa: F821 - Salt loader dunder
    if service not in topology.SERVICES:
        raise CommandExecutionError(f"unknown OpenStack service {service!r}; known: {', '.join(topology.SERVICES)}")
    server = server or topology.SERVERS[0]
    if server not in topology.SERVERS:
        raise CommandExecutionError(f"unknown WSGI server {server!r}; known: {', '.join(topology.SERVERS)}")
    address = _address(ha, minion_id)
    if address is None:
        raise CommandExecutionError(f"{minion_id} is not a controller in ha:nodes")
    node = {
        "address": address,
        "memcached": _topology("memcached_servers", ha=ha),
        "rabbitmq": _topology("rabbitmq_servers", ha=ha),
        "quorum_queues": _topology("rabbitmq_access", ha=ha)["quorum_queues"],
    }
    return topology.settings(service, ha, node, server)


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


def httpd_granted(text: str, directory: str) -> str:
    """
    httpd site ``text`` with a ``<Directory DIRECTORY>`` block that grants
    access (``Require all granted``) at the end of its first
    ``<VirtualHost>``, unless the site has a block for that directory
    already. EL9's httpd denies every directory by default, and RDO's
    placement site serves its WSGI script from /usr/bin without granting
    it: every request answers 403. Pure text; no I/O.
    """
    if re.search(rf"^\s*<Directory\s+\"?{re.escape(directory)}/?\"?\s*>", text, re.MULTILINE):
        return text
    block = f"  <Directory {directory}>\n    Require all granted\n  </Directory>\n"
    return re.sub(r"^(\s*</VirtualHost>)", lambda match: block + match.group(1), text, count=1, flags=re.MULTILINE)


HTTPD_DAEMON_RE = re.compile(r"^(\s*WSGIDaemonProcess[ \t]+\S+)([^\n]*)$", re.MULTILINE)


def httpd_sized(text: str, options: dict) -> str:
    """
    httpd config ``text`` with ``options`` ({name: value}: processes,
    threads) set in every ``WSGIDaemonProcess`` directive: replaced where
    it names them, added after the group's name where not; its other
    options kept. Pure text; no I/O.
    """
    def size(match: re.Match) -> str:
        rest = match.group(2)
        added = ""
        for option, value in options.items():
            pattern = re.compile(rf"(?<=\s){re.escape(option)}=\S*")
            if pattern.search(rest):
                rest = pattern.sub(f"{option}={value}", rest)
            else:
                added += f" {option}={value}"
        return f"{match.group(1)}{added}{rest}"

    return HTTPD_DAEMON_RE.sub(size, text)


def httpd_daemon(api: str, minion_id: str | None = None, ha: dict | None = None) -> dict:
    """
    The ``WSGIDaemonProcess`` options of the httpd site that serves ``api``
    (one of :py:func:`apis`) on this controller: the service's workers
    (``ha:openstack:service_workers``, else ``ha:openstack:workers``)
    processes of one thread each (see :py:func:`service_settings`, server
    ``httpd``).

    CLI Example:

    .. code-block:: bash

        salt-call ha_openstack.httpd_daemon placement
    """
    service = next((name for name, spec in topology.SERVICES.items() if api in spec["apis"]), None)
    sites = service_settings(service, minion_id, ha, server="httpd").get("httpd", {}) if service else {}
    if api not in sites:
        raise CommandExecutionError(f"no httpd site serves {api!r}: only the services' WSGI APIs run under httpd")
    return sites[api]


def node_bind(api: str | None = None, minion_id: str | None = None, ha: dict | None = None) -> dict:
    """
    Where ``api`` (one of :py:func:`apis`) listens on this controller:
    ``{"address", "port"}``, the node's own address and its HAProxy
    listener's backend port (None without ``api``).

    CLI Example:

    .. code-block:: bash

        salt-call ha_openstack.node_bind placement
    """
    ha = _ha(ha)
    minion_id = minion_id or __grains__["id"]  # noqa: F821 - Salt loader dunder
    address = _address(ha, minion_id)
    known = topology.apis()
    if address is None or (api is not None and api not in known):
        raise CommandExecutionError(f"no {api!r} API on {minion_id}: the APIs ({', '.join(known)}) run on "
                                    "the controllers")
    return {"address": address, "port": topology.listener_ports(ha)[api][1] if api else None}


def node_url(api: str, minion_id: str | None = None, ha: dict | None = None) -> str:
    """
    The URL of ``api`` (one of :py:func:`apis`) on this controller's own
    address: what the deploy's health gates ask.

    CLI Example:

    .. code-block:: bash

        salt-call ha_openstack.node_url keystone
    """
    bind = node_bind(api, minion_id, ha)
    return f"http://{bind['address']}:{bind['port']}{topology.apis()[api]['path']}"


def catalog(ha: dict | None = None) -> dict:
    """
    The keystone catalog of the site: ``region``, ``admin`` (user, project,
    role, pillar key of the password), ``service_project``, ``users`` (one
    per service, with the pillar key of its password and the admin role on
    the service project), ``services`` (name, type, description and the URL,
    on the VIP, of its endpoints), ``interfaces`` (the endpoints each
    service has) and ``auth_url``.

    CLI Example:

    .. code-block:: bash

        salt-call ha_openstack.catalog
    """
    return topology.catalog(_ha(ha))


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
                test: bool = False, members: bool | None = None, server: str | None = None) -> dict[str, Any]:
    """
    Write the HA settings of ``service`` (:py:func:`service_settings`, its
    WSGI APIs run by ``server``), their secret references resolved, into
    the INI file ``path``: the service's main config, or with ``unit`` that
    unit's uWSGI ini; ``extra`` ({section: {option: value}}, from the map:
    paths of the distribution) on top (see ``ha_ini.set_options``). With
    ``members`` True only the options
    that list the controllers' servers (transport_url, memcached servers),
    with False all but those. Returns the options that changed (with
    ``test``: that would change, nothing is written) as ``{"section.option":
    value}``, a secret's value shown as ``(secret)``.

    CLI Example:

    .. code-block:: bash

        salt-call ha_openstack.set_options /etc/keystone/keystone.conf keystone test=True
    """
    settings = service_settings(service, server=server)
    if unit is not None and unit not in settings["uwsgi"]:
        raise CommandExecutionError(f"{service} has no uWSGI unit {unit!r}; known: "
                                    f"{', '.join(settings['uwsgi']) or 'none'}")
    sections = settings["uwsgi"][unit] if unit else settings["config"]
    for section, values in (extra or {}).items():
        sections.setdefault(section, {}).update(values)
    sections = topology.member_options(sections, members)
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
    The fernet and credential keys of this controller, sealed for the other
    controllers: ``{"sealed": TOKEN}``, where TOKEN opens (``ha_kit.unseal``)
    to ``{"fernet": {name: key}, "credential": {name: key}}`` with the
    pillar secret of ``KEYS_SEAL`` only. The Salt mine's function (see the
    state ``ha_openstack.keys_published``); it returns no key in clear.

    CLI Example:

    .. code-block:: bash

        salt-call ha_openstack.key_repositories /etc/keystone/fernet-keys /etc/keystone/credential-keys
    """
    found = {}
    for kind, directory in (("fernet", fernet_dir), ("credential", credential_dir)):
        path = Path(directory)
        if not path.is_dir():
            raise CommandExecutionError(f"{directory} does not exist: keystone's {kind} keys are not set up here")
        found[kind] = {p.name: p.read_text() for p in sorted(path.iterdir()) if p.is_file()}
        if not found[kind]:
            raise CommandExecutionError(f"{directory} holds no keys")
    seal = topology.KEYS_SEAL
    return {"sealed": __utils__["ha_kit.seal"](found, _secret(seal["secret"]), seal["purpose"])}  # noqa: F821


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
            "name": user, "domain": {"name": topology.DEFAULT_DOMAIN}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"name": topology.DEFAULT_DOMAIN}}},
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


def answer(url: str) -> int | None:
    """
    The HTTP status that the API at ``url`` answers a GET with, or None
    when nothing answers there.

    CLI Example:

    .. code-block:: bash

        salt-call ha_openstack.answer http://10.10.10.51:8778/
    """
    try:
        return _request("GET", url)[0]
    except CommandExecutionError:
        return None


def answers(url: str) -> bool:
    """
    Whether the API at ``url`` answers as a working one does: 2xx or 3xx to
    a GET of its version document, what HAProxy's ``httpchk`` wants of a
    backend. A 4xx or 5xx (placement's vhost denying ``/``, uWSGI without
    its application) is not up: HAProxy would mark the backend DOWN.

    CLI Example:

    .. code-block:: bash

        salt-call ha_openstack.answers http://10.10.10.51:5000/v3
    """
    status = answer(url)
    return status is not None and 200 <= status < 400


def run_manage(command: list[str], user: str, env_pillar: dict | None = None) -> dict:
    """
    Run a service's management command (``keystone-manage db_sync``, ...;
    the services' ``*-manage`` tools only) as the service's ``user``;
    secrets go in through the environment (``env_pillar``: {VARIABLE:
    pillar key}), never on the command line.
    Returns ``{"retcode", "output", "stdout"}``: the last 2000 characters of
    standard output and error together, and of standard output alone (the
    tools print warnings to standard error).

    CLI Example:

    .. code-block:: bash

        salt-call ha_openstack.run_manage '[keystone-manage, db_version]' keystone
    """
    # Only the services' own tools: with pillar secrets in its environment,
    # any other command (env, sh -c) would hand them back in its output.
    if not command or command[0] not in topology.manage_programs():
        raise CommandExecutionError(f"{command[:1]} is not a management tool of the OpenStack services "
                                    f"({', '.join(topology.manage_programs())})")
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


