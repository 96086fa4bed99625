"""
The OpenStack part of the site's topology: the one table of the controller
services (:py:data:`SERVICES`), the ``ha:openstack`` schema and checks, and
what each service's config must say for HA. Pure Python on top of the pillar
and of what the core topology derived (the node's address, the controllers'
memcached and RabbitMQ servers); no Salt dunders.

Read by the core's validation and secrets (``_modules/ha_topology.py``), by
the services' execution module (``_modules/ha_openstack.py``: settings, the
keystone catalog, the APIs' addresses) and through it by the states' loops.
Adding a service is one entry of :py:data:`SERVICES`, its settings function
and its map data (package, units and files in ``defaults.yaml`` and
``osfamilymap.yaml``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import ha_pillar

# Every service reaches MariaDB through this HAProxy listener: the VIP sends
# every writer to the same node.
DATABASE_LISTENER = "galera"
INTERFACES = ("public", "internal", "admin")
DEFAULT_DOMAIN = "Default"
SERVICE_PROJECT = "service"
ADMIN = {"user": "admin", "project": "admin", "role": "admin"}
DEFAULTS = {"region": "RegionOne", "workers": 2, "service_workers": {}, "endpoint_host": None}
REGION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# How keystone's and nova's oslo.cache clients treat a controller that died
# (its address no longer answers: every call to it waits for the socket
# timeout): the memcache_pool backend marks a server dead after one
# timed-out call and skips it for dead_retry seconds; its defaults (1 s,
# 300 s) stall a request for seconds after a crash, then keep a healed
# server out for five minutes.
MEMCACHE_SOCKET_TIMEOUT = 0.5
MEMCACHE_DEAD_RETRY = 30
# keystone's fernet and credential keys pass from the first controller to
# the others through the Salt mine, sealed (ha_kit.seal) with a key derived
# from keystone's own database password, which every controller holds: the
# mine, the master's cache and any job return hold them encrypted only.
# nova's API database (its cell mappings among them).
NOVA_API_DATABASE = "nova_api"
KEYS_SEAL = {"secret": "ha:galera:databases:keystone:password", "purpose": "keystone key repositories"}
# A service's call to keystone through the VIP waits this long for a
# connection (no limit by default).
AUTHTOKEN_CONNECT_TIMEOUT = 3


def _ref(pillar_key: str, url: bool = False) -> str:
    """A secret's reference, which ha_openstack.set_options resolves when it writes the file."""
    return f"{{{{pillar{'-url' if url else ''}:{pillar_key}}}}}"


def password_key(service: str) -> str:
    """The pillar key of a service's keystone password."""
    return f"ha:openstack:service_passwords:{service}"


def endpoint_host(ha: dict) -> str:
    """The host name or address of the site's endpoints: endpoint_host, the VIP's name, or its address."""
    openstack = ha_pillar.section(ha, "openstack", DEFAULTS)
    return openstack["endpoint_host"] or ha["vip"].get("hostname") or str(ha["vip"]["address"])


def listener_ports(ha: dict) -> dict[str, tuple[int, int]]:
    """Each API's (VIP port, backend port), from its HAProxy listener."""
    listeners = ha["haproxy"]["listeners"]
    return {
        api: (listeners[spec["listener"]]["port"],
              listeners[spec["listener"]].get("backend_port", listeners[spec["listener"]]["port"]))
        for api, spec in apis().items()
    }


def _db_url(ha: dict, user: str, database: str) -> str:
    port = ha["haproxy"]["listeners"][DATABASE_LISTENER]["port"]
    password = _ref(f"ha:galera:databases:{user}:password", url=True)
    return f"mysql+pymysql://{user}:{password}@{ha['vip']['address']}:{port}/{database}"


def _credentials(ha: dict, user: str) -> dict:
    """What a service needs to log in to keystone as ``user`` (keystoneauth's password plugin)."""
    return {
        "auth_url": f"http://{endpoint_host(ha)}:{listener_ports(ha)['keystone'][0]}",
        "auth_type": "password",
        "project_domain_name": DEFAULT_DOMAIN,
        "user_domain_name": DEFAULT_DOMAIN,
        "project_name": SERVICE_PROJECT,
        "username": user,
        "password": _ref(password_key(user)),
        "region_name": ha_pillar.section(ha, "openstack", DEFAULTS)["region"],
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


def _workers(ha: dict, service: str) -> int:
    """The processes of ``service``'s APIs and workers: ``ha:openstack:service_workers:SERVICE``, else
    ``ha:openstack:workers``."""
    openstack = ha_pillar.section(ha, "openstack", DEFAULTS)
    return openstack["service_workers"].get(service, openstack["workers"])


def _uwsgi(address: str, port: int, workers: int) -> dict:
    # Debian's init scripts read the bind address, port and process count
    # from the keys that UWSGI_BIND_CONFIG_* name (see the units' drop-in);
    # uWSGI itself takes unknown keys as placeholders. (No '-' in these keys:
    # openstack-pkg-tools' INI reader does not match it.)
    # One thread per process, as kolla runs keystone, placement and nova's
    # APIs: eventlet (nova's monkey-patching, and a hub that the libraries
    # start even in placement) cannot switch greenlets across threads. With
    # Debian's 32 threads, nova-api-metadata on a 5-controller lab and
    # placement-api on a cold 3-controller deploy deadlocked at their first
    # requests ("greenlet.error: cannot switch to a different thread"),
    # their listen queues full, and never answered again.
    # need-app: a worker that cannot load the application exits uWSGI, and
    # the unit's drop-in starts it again. Without it uWSGI stays up with no
    # application and answers 500 forever: nova's APIs and placement open
    # the database while loading, and after a power loss of every
    # controller Galera is back only later than oslo.db's retries (100 s).
    return {"uwsgi": {"ha_bind_ip": address, "ha_bind_port": port, "processes": workers, "threads": 1,
                      "need-app": "true"}}


# How a family runs a service's WSGI APIs (the map's openstack:SERVICE:server,
# which ha.openstack.config passes on; glance-api runs its own server on
# either family and binds through its own options whatever it says):
# - "uwsgi" (the default; Debian): the init scripts' uWSGI, bound and sized
#   in each unit's ini (_uwsgi);
# - "httpd" (RDO's keystone and placement): mod_wsgi sites, bound by
#   ha_openstack.httpd_listen and sized in their WSGIDaemonProcess (_httpd);
# - "eventlet" (RDO's openstack-nova-api runs /usr/bin/nova-api): the
#   service's own server, bound and sized by its config options, which
#   listen on every address by default.
SERVERS = ("uwsgi", "httpd", "eventlet")


def _httpd(workers: int) -> dict:
    # A mod_wsgi daemon group (WSGIDaemonProcess): one thread per process,
    # for the reason given in _uwsgi (RDO's sites have threads=1 too).
    return {"processes": workers, "threads": 1}


def _served(server: str, units: dict[str, tuple[str, int]], address: str, workers: int) -> dict:
    """
    The settings of WSGI APIs (``units``: {uWSGI unit: (API, backend
    port)}) under ``server``: ``uwsgi`` {unit: ini sections}, and under
    httpd also ``httpd`` {API: WSGIDaemonProcess options}. Under eventlet
    the service's settings function binds them in its config.
    """
    if server == "uwsgi":
        return {"uwsgi": {unit: _uwsgi(address, port, workers) for unit, (_, port) in units.items()}}
    if server == "httpd":
        return {"uwsgi": {}, "httpd": {api: _httpd(workers) for api, _ in units.values()}}
    return {"uwsgi": {}}


def _transport_url(rabbitmq: list[str]) -> str:
    password = _ref("ha:rabbitmq:openstack_password", url=True)
    return "rabbit://" + ",".join(f"openstack:{password}@{server}" for server in rabbitmq) + "/"


# The options that list the controllers' servers. A controller added or
# removed changes them on every controller: they are written then, but do
# not restart the running services (which would restart every controller's
# APIs at once); the services read them at their next restart, e.g. the
# rolling restart.
MEMBER_OPTIONS = frozenset({("DEFAULT", "transport_url"), ("keystone_authtoken", "memcached_servers"),
                            ("cache", "memcache_servers")})


def member_options(sections: dict[str, dict], members: bool | None) -> dict[str, dict]:
    """``sections`` ({section: {option: value}}) with only (``members`` True), without (False) or with all
    (None) the options of MEMBER_OPTIONS."""
    if members is None:
        return sections
    kept = {section: {option: value for option, value in values.items()
                      if ((section, option) in MEMBER_OPTIONS) == members}
            for section, values in sections.items()}
    return {section: values for section, values in kept.items() if values}


# What each service's settings function is given: the site's ``ha`` pillar,
# ``node``: this controller's ``address``, the controllers' ``memcached``
# and ``rabbitmq`` servers (ADDRESS:PORT) and ``quorum_queues``, and the
# ``server`` (one of SERVERS) that runs its WSGI APIs on this family.
Settings = Callable[[dict, dict, str], dict]


def _keystone(ha: dict, node: dict, server: str) -> dict:
    ports, workers = listener_ports(ha), _workers(ha, "keystone")
    return {
        "config": {
            "database": {"connection": _db_url(ha, "keystone", "keystone")},
            "token": {"provider": "fernet"},
            "cache": _cache(node["memcached"]),
        },
        **_served(server, {"keystone": ("keystone", ports["keystone"][1])}, node["address"], workers),
    }


def _glance(ha: dict, node: dict, server: str) -> dict:
    ports, workers = listener_ports(ha), _workers(ha, "glance")
    return {
        "config": {
            "DEFAULT": {"bind_host": node["address"], "bind_port": ports["glance"][1], "workers": workers},
            "database": {"connection": _db_url(ha, "glance", "glance")},
            "keystone_authtoken": _authtoken(ha, "glance", node["memcached"]),
            "paste_deploy": {"flavor": "keystone"},
            "glance_store": {"stores": ["file", "http"], "default_store": "file",
                             "filesystem_store_datadir": "/var/lib/glance/images/"},
            "oslo_messaging_notifications": {"driver": "noop"},
        },
        "uwsgi": {},
    }


def _placement(ha: dict, node: dict, server: str) -> dict:
    ports, workers = listener_ports(ha), _workers(ha, "placement")
    return {
        "config": {
            "placement_database": {"connection": _db_url(ha, "placement", "placement")},
            "api": {"auth_strategy": "keystone"},
            "keystone_authtoken": _authtoken(ha, "placement", node["memcached"]),
        },
        **_served(server, {"placement-api": ("placement", ports["placement"][1])}, node["address"], workers),
    }


def _nova(ha: dict, node: dict, server: str) -> dict:
    ports, workers = listener_ports(ha), _workers(ha, "nova")
    address, vip_url = node["address"], f"http://{endpoint_host(ha)}"
    placement = _credentials(ha, "placement")
    placement["auth_url"] += "/v3"
    units = {"nova-api": ("nova", ports["nova"][1]), "nova-api-metadata": ("nova_metadata", ports["nova_metadata"][1])}
    settings = {
        "config": {
            "DEFAULT": {
                "my_ip": address,
                "transport_url": _transport_url(node["rabbitmq"]),
                "enabled_apis": ["osapi_compute", "metadata"],
                "osapi_compute_workers": workers,
                "metadata_workers": workers,
            },
            "api": {"auth_strategy": "keystone"},
            "api_database": {"connection": _db_url(ha, "nova", NOVA_API_DATABASE)},
            "database": {"connection": _db_url(ha, "nova", "nova")},
            "keystone_authtoken": _authtoken(ha, "nova", node["memcached"]),
            "placement": placement,
            "glance": {"api_servers": f"{vip_url}:{ports['glance'][0]}"},
            "vnc": {"enabled": True, "server_listen": address, "server_proxyclient_address": address,
                    "novncproxy_host": address, "novncproxy_port": ports["nova_vncproxy"][1],
                    "novncproxy_base_url": f"{vip_url}:{ports['nova_vncproxy'][0]}/vnc_auto.html"},
            "oslo_concurrency": {"lock_path": "/var/lib/nova/tmp"},
            "oslo_messaging_rabbit": {"rabbit_quorum_queue": node["quorum_queues"]},
            "conductor": {"workers": workers},
            "scheduler": {"workers": workers},
            "cache": _cache(node["memcached"]),
        },
        **_served(server, units, address, workers),
    }
    if server == "eventlet":
        # nova-api serves both APIs itself (enabled_apis): bound to the
        # node's address, or it would take the VIP's ports on every address.
        settings["config"]["DEFAULT"].update({
            "osapi_compute_listen": address, "osapi_compute_listen_port": ports["nova"][1],
            "metadata_listen": address, "metadata_listen_port": ports["nova_metadata"][1],
        })
    return settings


# The OpenStack controller services, in the order the deploy sets them up.
# - stage: "identity" is keystone, set up first (ha.openstack.keystone: its
#   keys, schema and bootstrap on the first controller); "services" are the
#   ones registered with it afterwards (ha.openstack.databases, .services).
# - apis: each HTTP API the service runs, behind an HAProxy listener
#   (ha:haproxy:listeners): the API binds the listener's backend port on
#   the node's own address and HAProxy serves it on the VIP. path: its URL
#   path on the node (the health gate's); gate: whether the deploy waits
#   for it to answer before going on (the console proxy is checked by
#   HAProxy only: nothing the deploy does next needs it).
# - schemas: each schema sync of the service (ha.openstack.databases,
#   named as in the map's db_sync/api_db_sync) and the databases it
#   migrates; together, the databases its MariaDB account (named after the
#   service, ha:galera:databases) needs.
# - service_user: a keystone user in the service project (keystone's own
#   admin comes from keystone-manage bootstrap), with the password
#   ha:openstack:service_passwords:NAME.
# - catalog: the keystone service (type, description, the API of its
#   endpoints and the URL path after the listener's address).
# - settings: what its config files must say for HA (see Settings).
SERVICES: dict[str, dict[str, Any]] = {
    "keystone": {
        "stage": "identity",
        "apis": {"keystone": {"listener": "keystone_public", "path": "/v3", "gate": True}},
        "schemas": {"keystone": ["keystone"]},
        "service_user": False,
        "catalog": {"type": "identity", "description": "OpenStack Identity", "api": "keystone", "path": "/v3"},
        "settings": _keystone,
    },
    "glance": {
        "stage": "services",
        "apis": {"glance": {"listener": "glance_api", "path": "/", "gate": True}},
        "schemas": {"glance": ["glance"]},
        "service_user": True,
        "catalog": {"type": "image", "description": "OpenStack Image", "api": "glance", "path": ""},
        "settings": _glance,
    },
    "placement": {
        "stage": "services",
        "apis": {"placement": {"listener": "placement_api", "path": "/", "gate": True}},
        "schemas": {"placement": ["placement"]},
        "service_user": True,
        "catalog": {"type": "placement", "description": "Placement API", "api": "placement", "path": ""},
        "settings": _placement,
    },
    "nova": {
        "stage": "services",
        "apis": {
            "nova": {"listener": "nova_api", "path": "/", "gate": True},
            "nova_metadata": {"listener": "nova_metadata", "path": "/", "gate": True},
            "nova_vncproxy": {"listener": "nova_vncproxy", "path": "/", "gate": False},
        },
        "schemas": {NOVA_API_DATABASE: [NOVA_API_DATABASE], "nova": ["nova", "nova_cell0"]},
        "service_user": True,
        "catalog": {"type": "compute", "description": "OpenStack Compute", "api": "nova", "path": "/v2.1"},
        "settings": _nova,
    },
}
STAGES = ("identity", "services")


def services(stage: str | None = None) -> list[str]:
    """The services' names, in deploy order; with ``stage`` only that stage's."""
    return [name for name, spec in SERVICES.items() if stage is None or spec["stage"] == stage]


def apis(stage: str | None = None) -> dict[str, dict]:
    """Every API of the services (of ``stage``), by name: its listener, path and gate."""
    return {api: spec for name in services(stage) for api, spec in SERVICES[name]["apis"].items()}


def listeners() -> list[str]:
    """The HAProxy listeners the services need: their APIs' and the database's."""
    return [DATABASE_LISTENER, *(spec["listener"] for spec in apis().values())]


def accounts() -> dict[str, list[str]]:
    """The MariaDB account of each service and the databases it needs."""
    return {name: [database for databases in spec["schemas"].values() for database in databases]
            for name, spec in SERVICES.items()}


def schema_databases(schema: str) -> list[str]:
    """The databases that the schema sync ``schema`` (a key of a service's schemas) migrates."""
    for spec in SERVICES.values():
        if schema in spec["schemas"]:
            return list(spec["schemas"][schema])
    raise KeyError(f"{schema} is no schema of the OpenStack services ({', '.join(schemas())})")


def schemas() -> list[str]:
    """Every schema sync of the services, in deploy order."""
    return [schema for spec in SERVICES.values() for schema in spec["schemas"]]


def service_users() -> list[str]:
    """The services with a keystone user of their own."""
    return [name for name, spec in SERVICES.items() if spec["service_user"]]


def manage_programs() -> list[str]:
    """The services' management tools (keystone-manage, ...), the only commands run with secrets."""
    return [f"{name}-manage" for name in SERVICES]


def secret_paths() -> list[tuple[str, ...]]:
    """The pillar paths (below ``ha``) of the services' secrets."""
    return [("openstack", "admin_password"),
            *(("openstack", "service_passwords", user) for user in service_users())]


def schema() -> dict:
    """The schema of ``ha:openstack`` (see ha_pillar)."""
    return {
        "region": ha_pillar.STR, "endpoint_host": (ha_pillar.STR, ha_pillar.NONE), "admin_password": ha_pillar.STR,
        "workers": ha_pillar.INT, "service_workers": dict.fromkeys(SERVICES, ha_pillar.INT),
        "service_passwords": dict.fromkeys(service_users(), ha_pillar.STR),
    }


def settings(service: str, ha: dict, node: dict, server: str = "uwsgi") -> dict:
    """
    What one controller's config files of ``service`` must say for HA when
    ``server`` (one of SERVERS) runs its WSGI APIs: ``{"config": {section:
    {option: value}}, "uwsgi": {unit: {section: {option: value}}}}``, under
    httpd with ``"httpd": {api: {option: value}}`` (WSGIDaemonProcess);
    secrets as references. ``node`` as in Settings.
    """
    if service not in SERVICES:
        raise KeyError(f"unknown OpenStack service {service!r}; known: {', '.join(SERVICES)}")
    if server not in SERVERS:
        raise KeyError(f"unknown WSGI server {server!r}; known: {', '.join(SERVERS)}")
    return SERVICES[service]["settings"](ha, node, server)


def catalog(ha: dict) -> dict:
    """
    The keystone catalog of the site: ``region``, ``admin`` (user, project,
    role, pillar key of the password), ``service_project``, ``users`` (one
    per service user, with the pillar key of its password), ``services``
    (name, type, description and the URL of its endpoints on the VIP),
    ``interfaces`` (each service's endpoints) and ``auth_url``.
    """
    host, ports = endpoint_host(ha), listener_ports(ha)
    entries = [(name, spec["catalog"]) for name, spec in SERVICES.items() if spec["catalog"]]
    return {
        "region": ha_pillar.section(ha, "openstack", DEFAULTS)["region"],
        "admin": {**ADMIN, "password_pillar": "ha:openstack:admin_password"},
        "service_project": SERVICE_PROJECT,
        "users": [{"name": user, "password_pillar": password_key(user)} for user in service_users()],
        "services": [
            {"name": name, "type": entry["type"], "description": entry["description"],
             "url": f"http://{host}:{ports[entry['api']][0]}{entry['path']}"}
            for name, entry in entries
        ],
        "interfaces": list(INTERFACES),
        "auth_url": f"http://{host}:{ports['keystone'][0]}{SERVICES['keystone']['catalog']['path']}",
    }


def check(ha: dict, errors: list[str]) -> None:
    """Report the problems of ``ha:openstack`` and what the services need of the rest of the pillar."""
    key = ha_pillar.key
    openstack = ha_pillar.section(ha, "openstack", DEFAULTS)
    region = openstack["region"]
    if not isinstance(region, str) or not REGION_RE.fullmatch(region):
        errors.append(f"{key('openstack', 'region')}: {region!r} must be letters, digits, '_', '.' or '-'")
    # Every process count: the one of all services, and each service's own.
    counts = [(("openstack", "workers"), openstack["workers"])]
    if isinstance(openstack["service_workers"], dict):
        counts += [(("openstack", "service_workers", service), count)
                   for service, count in openstack["service_workers"].items()]
    for path, count in counts:
        if not ha_pillar.int_in(count, 1, 64):
            errors.append(f"{key(*path)}: {count!r} must be a number of processes from 1 to 64")
    host = openstack["endpoint_host"]
    if host and (not isinstance(host, str) or not ha_pillar.HOSTNAME_RE.fullmatch(host)):
        errors.append(f"{key('openstack', 'endpoint_host')}: {host!r} is not a host name or address")
    configured = ha_pillar.get(ha, ("haproxy", "listeners"))
    if isinstance(configured, dict):
        for name in listeners():
            if not isinstance(configured.get(name), dict):
                errors.append(f"{key('haproxy', 'listeners', name)}: is required: the OpenStack services sit "
                              "behind it")
    databases = ha_pillar.get(ha, ("galera", "databases"))
    if isinstance(databases, dict):
        for user, names in accounts().items():
            spec = databases.get(user)
            have = spec.get("databases", [user]) if isinstance(spec, dict) else []
            if not isinstance(have, list):
                continue  # reported by the galera checks as not a list of database names
            if [n for n in names if n not in have]:
                errors.append(f"{key('galera', 'databases', user)}: the OpenStack services need the account "
                              f"{user} with the databases {', '.join(names)}")
