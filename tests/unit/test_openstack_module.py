"""Unit tests of _modules/ha_openstack.py over the real ha_topology, and of ha_topology's ha:openstack checks."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import urllib.parse

import pytest
from salt.exceptions import CommandExecutionError

from tests.helpers import example_pillar, load_module, valid_pillar

ha_topology = load_module("_modules/ha_topology.py", "ha_topology_for_openstack")
ha_openstack = load_module("_modules/ha_openstack.py", "ha_openstack_module")
ha_ini = load_module("_modules/ha_ini.py", "ha_ini_for_openstack_module")
CONTROLLERS = {f"openstack-controller0{i}": f"10.10.10.5{i}" for i in (1, 2, 3)}
MEMCACHED = [f"10.10.10.5{i}:11211" for i in (1, 2, 3)]


@pytest.fixture
def ha():
    return valid_pillar()


@pytest.fixture
def configure_loader_modules(ha, pillar_get, run_all, utils):
    pillar_get.data["ha"] = ha
    topology = {"__pillar__": {"ha": ha}, "__grains__": {"id": "openstack-controller02"}, "__salt__": {},
                "__context__": {}}
    wired = {f"ha_topology.{name}": getattr(ha_topology, name)
             for name in ("check", "nodes", "memcached_servers", "rabbitmq_servers", "rabbitmq_access")}
    return {
        ha_topology: topology,
        ha_openstack: {"__pillar__": {"ha": ha}, "__grains__": {"id": "openstack-controller02"},
                       "__salt__": {**wired, "pillar.get": pillar_get, "cmd.run_all": run_all,
                                    "ha_ini.set_options": ha_ini.set_options},
                       "__utils__": utils, "__context__": {}},
    }


def _secrets(example, filled) -> list[str]:
    """Every value of the filled pillar that pillar.example left as a CHANGEME placeholder."""
    if isinstance(example, dict):
        return [s for key in example for s in _secrets(example[key], filled[key])]
    if isinstance(example, str) and example.startswith("CHANGEME"):
        return [filled]
    return []


def _strings(value) -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return [str(value)]


def _db(user: str, database: str) -> str:
    return f"mysql+pymysql://{user}:{{{{pillar-url:ha:galera:databases:{user}:password}}}}@10.10.10.69:3306/{database}"


def _credentials(user: str) -> dict:
    return {
        "auth_url": "http://openstack-vip:5000", "auth_type": "password", "project_domain_name": "Default",
        "user_domain_name": "Default", "project_name": "service", "username": user,
        "password": f"{{{{pillar:ha:openstack:service_passwords:{user}}}}}", "region_name": "RegionOne",
    }


def _authtoken(user: str) -> dict:
    # The plain memcached client: the advanced pool deadlocked in uWSGI's threads.
    return {
        "www_authenticate_uri": "http://openstack-vip:5000", **_credentials(user), "memcached_servers": MEMCACHED,
        "memcache_use_advanced_pool": False, "http_connect_timeout": 3,
    }


CACHE = {"enabled": True, "backend": "oslo_cache.memcache_pool", "memcache_servers": MEMCACHED,
         "memcache_socket_timeout": 0.5, "memcache_dead_retry": 30}


def _uwsgi(port: int) -> dict:
    """A uWSGI API's ini settings on controller02 with 2 workers."""
    return {"uwsgi": {"ha_bind_ip": "10.10.10.52", "ha_bind_port": port, "processes": 2, "threads": 1,
                      "need-app": "true"}}


def test_keystone_settings():
    assert ha_openstack.service_settings("keystone") == {
        "config": {
            "database": {"connection": _db("keystone", "keystone")},
            "token": {"provider": "fernet"},
            "cache": CACHE,
        },
        "uwsgi": {"keystone": _uwsgi(5000)},
    }


def test_glance_settings_bind_the_backend_port(ha):
    ha["haproxy"]["listeners"]["glance_api"]["backend_port"] = 9293
    config = ha_openstack.service_settings("glance", "openstack-controller02")["config"]
    assert config["DEFAULT"] == {"bind_host": "10.10.10.52", "bind_port": 9293, "workers": 2}
    assert config["database"] == {"connection": _db("glance", "glance")}
    assert config["keystone_authtoken"] == _authtoken("glance")
    assert config["paste_deploy"] == {"flavor": "keystone"}
    assert ha_openstack.service_settings("glance", "openstack-controller03")["config"]["DEFAULT"]["bind_host"] \
        == "10.10.10.53"


def test_placement_settings():
    settings = ha_openstack.service_settings("placement")
    assert settings["config"] == {
        "placement_database": {"connection": _db("placement", "placement")},
        "api": {"auth_strategy": "keystone"},
        "keystone_authtoken": _authtoken("placement"),
    }
    assert settings["uwsgi"] == {"placement-api": _uwsgi(8778)}


def test_nova_settings():
    settings = ha_openstack.service_settings("nova")
    config = settings["config"]
    assert config["DEFAULT"] == {
        "my_ip": "10.10.10.52",
        "transport_url": "rabbit://" + ",".join(
            f"openstack:{{{{pillar-url:ha:rabbitmq:openstack_password}}}}@{address}:5672"
            for address in CONTROLLERS.values()) + "/",
        "enabled_apis": ["osapi_compute", "metadata"],
        "osapi_compute_workers": 2,
        "metadata_workers": 2,
    }
    assert config["api_database"] == {"connection": _db("nova", "nova_api")}
    assert config["database"] == {"connection": _db("nova", "nova")}
    assert config["keystone_authtoken"] == _authtoken("nova")
    assert config["placement"] == {**_credentials("placement"), "auth_url": "http://openstack-vip:5000/v3"}
    assert config["glance"] == {"api_servers": "http://openstack-vip:9292"}
    assert config["vnc"]["server_listen"] == config["vnc"]["novncproxy_host"] == "10.10.10.52"
    assert config["vnc"]["novncproxy_port"] == 6080
    assert config["vnc"]["novncproxy_base_url"] == "http://openstack-vip:6080/vnc_auto.html"
    assert config["oslo_messaging_rabbit"] == {"rabbit_quorum_queue": False}
    assert config["cache"] == CACHE
    assert settings["uwsgi"] == {"nova-api": _uwsgi(8774), "nova-api-metadata": _uwsgi(8775)}


def test_quorum_queues_and_workers_follow_the_pillar(ha):
    ha["rabbitmq"]["queue_type"] = "quorum"
    ha["openstack"]["workers"] = 5
    config = ha_openstack.service_settings("nova")["config"]
    assert config["oslo_messaging_rabbit"] == {"rabbit_quorum_queue": True}
    assert config["DEFAULT"]["osapi_compute_workers"] == config["DEFAULT"]["metadata_workers"] == 5
    assert config["conductor"] == config["scheduler"] == {"workers": 5}
    assert ha_openstack.service_settings("glance")["config"]["DEFAULT"]["workers"] == 5
    assert ha_openstack.service_settings("keystone")["uwsgi"]["keystone"]["uwsgi"]["processes"] == 5


def test_a_service_can_have_its_own_workers(ha):
    """ha:openstack:service_workers overrides ha:openstack:workers for the services it names only."""
    ha["openstack"]["workers"] = 1
    ha["openstack"]["service_workers"] = {"keystone": 3, "nova": 2}
    assert ha_openstack.service_settings("keystone")["uwsgi"]["keystone"]["uwsgi"]["processes"] == 3
    nova = ha_openstack.service_settings("nova")
    assert nova["config"]["conductor"] == {"workers": 2}
    assert nova["uwsgi"]["nova-api"]["uwsgi"]["processes"] == 2
    assert ha_openstack.service_settings("glance")["config"]["DEFAULT"]["workers"] == 1
    assert ha_openstack.service_settings("placement")["uwsgi"]["placement-api"]["uwsgi"]["processes"] == 1


# What the settings said before the WSGI server was a parameter: Debian's (uWSGI) must stay exactly these.
DEBIAN_UWSGI = {
    "keystone": {"keystone": _uwsgi(5000)},
    "glance": {},
    "placement": {"placement-api": _uwsgi(8778)},
    "nova": {"nova-api": _uwsgi(8774), "nova-api-metadata": _uwsgi(8775)},
}
NOVA_LISTEN = ("osapi_compute_listen", "osapi_compute_listen_port", "metadata_listen", "metadata_listen_port")


@pytest.mark.parametrize("service", ["keystone", "glance", "placement", "nova"])
def test_debian_settings_are_those_of_uwsgi_the_default_server(service):
    """Debian's map names no server: its settings are uWSGI's, as they were, with no listen option or httpd site."""
    settings = ha_openstack.service_settings(service)
    assert settings == ha_openstack.service_settings(service, server="uwsgi")
    assert list(settings) == ["config", "uwsgi"] and settings["uwsgi"] == DEBIAN_UWSGI[service]
    assert not [option for section in settings["config"].values() for option in section if option in NOVA_LISTEN]


def test_nova_under_eventlet_binds_its_apis_to_the_node_in_nova_conf(ha):
    """RDO's openstack-nova-api runs nova-api itself: nova.conf binds both APIs (0.0.0.0 by default)."""
    ha["haproxy"]["listeners"]["nova_api"]["backend_port"] = 18774
    ha["haproxy"]["listeners"]["nova_metadata"]["backend_port"] = 18775
    debian = ha_openstack.service_settings("nova", "openstack-controller03")
    redhat = ha_openstack.service_settings("nova", "openstack-controller03", server="eventlet")
    listen = {"osapi_compute_listen": "10.10.10.53", "osapi_compute_listen_port": 18774,
              "metadata_listen": "10.10.10.53", "metadata_listen_port": 18775}
    assert redhat["config"]["DEFAULT"] == {**debian["config"]["DEFAULT"], **listen}
    assert redhat["config"]["DEFAULT"]["osapi_compute_workers"] == redhat["config"]["DEFAULT"]["metadata_workers"] == 2
    # Everything else as on Debian; no uWSGI unit, no httpd site.
    assert {k: v for k, v in redhat["config"].items() if k != "DEFAULT"} == \
        {k: v for k, v in debian["config"].items() if k != "DEFAULT"}
    assert redhat["config"]["vnc"]["novncproxy_host"] == "10.10.10.53"
    assert redhat["uwsgi"] == {} and "httpd" not in redhat
    assert debian["uwsgi"]["nova-api"]["uwsgi"]["ha_bind_port"] == 18774
    assert not set(NOVA_LISTEN) & set(debian["config"]["DEFAULT"])


@pytest.mark.parametrize(("service", "api"), [("keystone", "keystone"), ("placement", "placement")])
def test_services_under_httpd_size_their_sites_by_the_workers(ha, service, api):
    """RDO's keystone and placement: WSGIDaemonProcess processes=workers threads=1; their config as on Debian."""
    ha["openstack"]["workers"] = 5
    redhat = ha_openstack.service_settings(service, server="httpd")
    assert redhat["httpd"] == {api: {"processes": 5, "threads": 1}} and redhat["uwsgi"] == {}
    assert redhat["config"] == ha_openstack.service_settings(service)["config"]
    assert ha_openstack.httpd_daemon(api) == {"processes": 5, "threads": 1}


def test_glance_binds_itself_under_any_server():
    settings = ha_openstack.service_settings("glance")
    assert settings["config"]["DEFAULT"] == {"bind_host": "10.10.10.52", "bind_port": 9292, "workers": 2}
    for server in ("httpd", "eventlet"):
        assert ha_openstack.service_settings("glance", server=server) == settings


def test_an_unknown_server_or_httpd_api_is_named():
    with pytest.raises(CommandExecutionError, match="^unknown WSGI server 'gunicorn'; known: uwsgi, httpd, eventlet$"):
        ha_openstack.service_settings("nova", server="gunicorn")
    # nova's APIs could run under httpd too; its console proxy is no WSGI application.
    assert ha_openstack.httpd_daemon("nova_metadata") == {"processes": 2, "threads": 1}
    for api in ("nova_vncproxy", "glance", "cinder"):
        with pytest.raises(CommandExecutionError, match=f"^no httpd site serves '{api}': only the services' WSGI "
                                                        "APIs run under httpd$"):
            ha_openstack.httpd_daemon(api)


def test_set_options_of_nova_under_eventlet(tmp_path):
    conf = tmp_path / "nova.conf"
    conf.write_text("[DEFAULT]\n#osapi_compute_listen=0.0.0.0\n#metadata_listen=0.0.0.0\n")
    changed = ha_openstack.set_options(str(conf), "nova", members=False, server="eventlet")
    assert {k: v for k, v in changed.items() if k.split(".")[1] in NOVA_LISTEN} == {
        "DEFAULT.osapi_compute_listen": "10.10.10.52", "DEFAULT.osapi_compute_listen_port": 8774,
        "DEFAULT.metadata_listen": "10.10.10.52", "DEFAULT.metadata_listen_port": 8775}
    written = conf.read_text()
    assert "osapi_compute_listen = 10.10.10.52\n" in written and "metadata_listen_port = 8775\n" in written
    assert ha_openstack.set_options(str(conf), "nova", members=False, server="eventlet") == {}
    # Debian's settings (no server) have no listen option to set: the file stays as it is.
    assert ha_openstack.set_options(str(conf), "nova", members=False) == {}
    with pytest.raises(CommandExecutionError, match="^nova has no uWSGI unit 'nova-api'; known: none$"):
        ha_openstack.set_options(str(conf), "nova", unit="nova-api", server="eventlet")


def test_no_returned_value_holds_a_secret(ha):
    secrets = _secrets(example_pillar(), ha)
    # ha_topology.SECRETS and the four database accounts' passwords.
    assert len(secrets) == len(ha_topology.SECRETS) + 4 and all(len(s) >= 16 for s in secrets)
    returned = [ha_openstack.service_settings(service, minion)
                for service in ("keystone", "glance", "placement", "nova") for minion in CONTROLLERS]
    returned += [ha_openstack.catalog(), *(ha_openstack.node_url(api) for api in ha_openstack.apis())]
    strings = _strings(returned)
    assert any("{{pillar" in s for s in strings)
    leaks = [s for s in strings for secret in secrets if secret in s]
    assert leaks == []


def test_references_resolve_to_the_pillar_secrets(ha):
    ha["rabbitmq"]["openstack_password"] = "rabbit@pass/word:with$signs"
    transport = ha_openstack.service_settings("nova")["config"]["DEFAULT"]["transport_url"]
    resolved = ha_openstack._resolve(transport)
    assert resolved.count("openstack:rabbit%40pass%2Fword%3Awith%24signs@") == 3
    password = ha_openstack.service_settings("glance")["config"]["keystone_authtoken"]["password"]
    assert ha_openstack._resolve(password) == ha["openstack"]["service_passwords"]["glance"]


@pytest.mark.parametrize(("service", "minion", "message"), [
    ("nova", "openstack-compute01", "^openstack-compute01 is not a controller in ha:nodes$"),
    ("keystone", "salt-master", "^salt-master is not a controller in ha:nodes$"),
    ("cinder", "openstack-controller01",
     r"^unknown OpenStack service 'cinder'; known: keystone, glance, placement, nova$"),
])
def test_service_settings_refuse_what_they_do_not_know(service, minion, message):
    with pytest.raises(CommandExecutionError, match=message):
        ha_openstack.service_settings(service, minion)


def test_service_settings_check_the_pillar(ha):
    ha["openstack"]["workers"] = 0
    with pytest.raises(CommandExecutionError, match="ha:openstack:workers: 0 must be a number of processes"):
        ha_openstack.service_settings("keystone")


def test_node_url():
    assert ha_openstack.node_url("keystone") == "http://10.10.10.52:5000/v3"
    assert ha_openstack.node_url("nova_vncproxy", "openstack-controller03") == "http://10.10.10.53:6080/"
    assert ha_openstack.node_url("placement", "openstack-controller01") == "http://10.10.10.51:8778/"
    with pytest.raises(CommandExecutionError, match=r"no 'cinder' API on openstack-controller02: the APIs \(keystone, "
                                                    "glance, placement, nova, nova_metadata"):
        ha_openstack.node_url("cinder")
    with pytest.raises(CommandExecutionError, match="no 'keystone' API on nobody"):
        ha_openstack.node_url("keystone", "nobody")
    with pytest.raises(CommandExecutionError, match="no 'keystone' API on openstack-compute01: .* on the controllers"):
        ha_openstack.node_url("keystone", "openstack-compute01")


def test_node_bind():
    assert ha_openstack.node_bind("placement", "openstack-controller03") == {"address": "10.10.10.53", "port": 8778}
    assert ha_openstack.node_bind() == {"address": "10.10.10.52", "port": None}
    with pytest.raises(CommandExecutionError, match="no None API on openstack-compute01"):
        ha_openstack.node_bind(None, "openstack-compute01")


def test_catalog_on_the_vip_hostname():
    catalog = ha_openstack.catalog()
    assert catalog["region"] == "RegionOne" and catalog["service_project"] == "service"
    assert catalog["admin"] == {"user": "admin", "project": "admin", "role": "admin",
                                "password_pillar": "ha:openstack:admin_password"}
    assert catalog["users"] == [{"name": u, "password_pillar": f"ha:openstack:service_passwords:{u}"}
                                for u in ("glance", "placement", "nova")]
    assert catalog["auth_url"] == "http://openstack-vip:5000/v3"
    assert {s["name"]: (s["type"], s["url"]) for s in catalog["services"]} == {
        "keystone": ("identity", "http://openstack-vip:5000/v3"),
        "glance": ("image", "http://openstack-vip:9292"),
        "placement": ("placement", "http://openstack-vip:8778"),
        "nova": ("compute", "http://openstack-vip:8774/v2.1"),
    }


def test_units_are_the_services_units_in_deploy_order_each_once(configure_loader_modules):
    units = {"keystone": ["httpd"], "glance": ["openstack-glance-api"], "placement": ["httpd"],
             "nova": ["openstack-nova-api", "openstack-nova-conductor"]}
    ha_openstack.__salt__["ha_topology.formula_map"] = lambda: {
        "openstack": {service: {"services": names} for service, names in units.items()}}
    assert ha_openstack.units() == ["httpd", "openstack-glance-api", "openstack-nova-api", "openstack-nova-conductor"]
    assert ha_openstack.units("services") == ["openstack-glance-api", "httpd", "openstack-nova-api",
                                              "openstack-nova-conductor"]


def test_the_services_table_gives_each_view_of_the_services():
    assert ha_openstack.services() == ["keystone", "glance", "placement", "nova"]
    assert ha_openstack.services("identity") == ["keystone"]
    assert ha_openstack.services("services") == ["glance", "placement", "nova"]
    assert ha_openstack.apis() == ["keystone", "glance", "placement", "nova", "nova_metadata", "nova_vncproxy"]
    # The deploy's health gates: the console proxy is HAProxy's to check.
    assert ha_openstack.apis("services", gate=True) == ["glance", "placement", "nova", "nova_metadata"]
    table = ha_openstack.topology
    assert table.listeners() == ["galera", "keystone_public", "glance_api", "placement_api", "nova_api",
                                 "nova_metadata", "nova_vncproxy"]
    # Each account's databases are those of the service's schema syncs, in the order they run.
    assert table.accounts() == {"keystone": ["keystone"], "glance": ["glance"], "placement": ["placement"],
                                "nova": ["nova_api", "nova", "nova_cell0"]}
    # ha.openstack.databases runs nova's API schema sync, then its cells, then the sync of the cells' schema.
    assert table.schemas() == ["keystone", "glance", "placement", "nova_api", "nova"]
    assert table.service_users() == ["glance", "placement", "nova"]
    assert ha_openstack.catalog()["interfaces"] == ["public", "internal", "admin"]


@pytest.mark.parametrize(("schema", "databases"), [
    ("keystone", ["keystone"]), ("glance", ["glance"]), ("placement", ["placement"]),
    ("nova_api", ["nova_api"]), ("nova", ["nova", "nova_cell0"]),
])
def test_schema_databases_names_what_each_schema_sync_migrates(schema, databases):
    table = ha_openstack.topology
    assert table.schema_databases(schema) == databases
    # A copy: the caller cannot alter the table.
    table.schema_databases(schema).append("other")
    assert table.schema_databases(schema) == databases


def test_every_database_of_the_accounts_belongs_to_one_schema_sync():
    table = ha_openstack.topology
    synced = [database for schema in table.schemas() for database in table.schema_databases(schema)]
    assert sorted(synced) == sorted(d for databases in table.accounts().values() for d in databases)
    assert len(synced) == len(set(synced))
    # nova's cell mappings are read from its API database (ha_openstack.nova_cells), the one of its API schema sync.
    assert table.NOVA_API_DATABASE == "nova_api" and table.schema_databases("nova_api") == [table.NOVA_API_DATABASE]
    assert table.NOVA_API_DATABASE in table.accounts()["nova"]


@pytest.mark.parametrize("schema", ["nova_cell0", "cinder", "", "nova_API"])
def test_an_unknown_schema_is_named(schema):
    with pytest.raises(KeyError, match=f"{schema} is no schema of the OpenStack services "
                                       r"\(keystone, glance, placement, nova_api, nova\)"):
        ha_openstack.topology.schema_databases(schema)


@pytest.mark.parametrize("call", [lambda: ha_openstack.services("compute"), lambda: ha_openstack.apis("nova"),
                                  lambda: ha_openstack.service_settings("neutron"),
                                  lambda: ha_openstack.node_url("cinder")])
def test_an_unknown_stage_service_or_api_is_named(call):
    with pytest.raises(CommandExecutionError, match="unknown stage|unknown OpenStack service|no 'cinder' API"):
        call()


def test_a_new_service_is_one_entry_of_the_table(ha, monkeypatch):
    """A service added to the table is validated, has secrets, settings, a catalog entry and a health gate."""
    table = ha_openstack.topology
    entry = {"stage": "services", "apis": {"cinder": {"listener": "cinder_api", "path": "/", "gate": True}},
             "schemas": {"cinder": ["cinder"]}, "service_user": True,
             "catalog": {"type": "volumev3", "description": "OpenStack Block Storage", "api": "cinder",
                         "path": "/v3"},
             "settings": lambda ha, node, server: {"config": {"DEFAULT": {"my_ip": node["address"]}}, "uwsgi": {}}}
    monkeypatch.setitem(table.SERVICES, "cinder", entry)
    assert ("openstack", "service_passwords", "cinder") in table.secret_paths()
    errors = []
    table.check(ha, errors)
    assert errors == ["ha:galera:databases:cinder: the OpenStack services need the account cinder with the "
                      "databases cinder"]
    ha["galera"]["databases"]["cinder"] = {"password": "x" * 20}
    errors.clear()
    table.check(ha, errors)
    assert errors == []
    assert table.schemas()[-1] == "cinder" and table.schema_databases("cinder") == ["cinder"]
    assert ha_openstack.service_settings("cinder")["config"] == {"DEFAULT": {"my_ip": "10.10.10.52"}}
    assert ha_openstack.apis("services", gate=True)[-1] == "cinder"
    assert ha_openstack.node_url("cinder") == "http://10.10.10.52:8776/"
    assert {s["name"]: s["url"] for s in ha_openstack.catalog()["services"]}["cinder"] == \
        "http://openstack-vip:8776/v3"


def test_catalog_endpoint_host_and_region(ha):
    ha["openstack"].update(endpoint_host="api.example.org", region="RegionTwo")
    catalog = ha_openstack.catalog()
    assert catalog["region"] == "RegionTwo" and catalog["auth_url"] == "http://api.example.org:5000/v3"
    assert all(s["url"].startswith("http://api.example.org:") for s in catalog["services"])
    assert ha_openstack.service_settings("nova")["config"]["glance"] == {"api_servers": "http://api.example.org:9292"}
    ha["openstack"]["endpoint_host"] = ""
    del ha["vip"]["hostname"]
    assert ha_openstack.catalog()["auth_url"] == "http://10.10.10.69:5000/v3"


def test_resolve(pillar_get):
    pillar_get.flat.update({"a:url": "p@ss/w:rd$x", "a:empty": ""})
    assert ha_openstack._resolve("mysql://u:{{pillar-url:a:url}}@h/db") == "mysql://u:p%40ss%2Fw%3Ard%24x@h/db"
    assert ha_openstack._resolve("{{pillar:a:url}}") == "p@ss/w:rd$$x"
    assert ha_openstack._resolve(["x", "{{pillar:a:url}}", 3]) == ["x", "p@ss/w:rd$$x", 3]
    assert ha_openstack._resolve(True) is True and ha_openstack._resolve("plain $value") == "plain $value"
    for key in ("a:missing", "a:empty"):
        with pytest.raises(CommandExecutionError, match=f"^pillar key {key} is empty or not a string$"):
            ha_openstack._resolve(f"{{{{pillar:{key}}}}}")


def test_no_public_function_returns_a_secret():
    # Resolving references and keystone's tokens stay inside the module (see its docstring).
    assert not hasattr(ha_openstack, "resolve") and not hasattr(ha_openstack, "token")


KEYSTONE_CONF = "[DEFAULT]\n#debug = false\n\n[database]\nconnection = sqlite:////var/lib/keystone/keystone.db\n"


def test_set_options_writes_the_secrets_and_shows_none(ha, tmp_path):
    conf = tmp_path / "keystone.conf"
    conf.write_text(KEYSTONE_CONF)
    shown = ha_openstack.set_options(str(conf), "keystone", test=True)
    assert shown["database.connection"] == "(secret)" and shown["token.provider"] == "fernet"
    assert shown["cache.memcache_servers"] == MEMCACHED and conf.read_text() == KEYSTONE_CONF
    assert ha_openstack.set_options(str(conf), "keystone") == shown
    written = conf.read_text()
    password = ha["galera"]["databases"]["keystone"]["password"]
    assert f"connection = mysql+pymysql://keystone:{urllib.parse.quote(password, safe='')}@10.10.10.69:3306/" \
           "keystone\n" in written
    assert password not in repr(shown)
    assert ha_openstack.set_options(str(conf), "keystone") == {}


def test_set_options_of_a_uwsgi_unit_with_extra_settings(tmp_path):
    ini = tmp_path / "keystone-uwsgi.ini"
    ini.write_text("[uwsgi]\nprocesses = 4\n")
    assert ha_openstack.set_options(str(ini), "keystone", unit="keystone", extra={"uwsgi": {"plugins": "python3"}}) \
        == {"uwsgi.ha_bind_ip": "10.10.10.52", "uwsgi.ha_bind_port": 5000, "uwsgi.processes": 2,
            "uwsgi.threads": 1, "uwsgi.need-app": "true", "uwsgi.plugins": "python3"}
    assert "need-app = true\n" in ini.read_text()
    with pytest.raises(CommandExecutionError, match="^keystone has no uWSGI unit 'nova-api'; known: keystone$"):
        ha_openstack.set_options(str(ini), "keystone", unit="nova-api")


SERVICES = ("keystone", "glance", "placement", "nova")


def test_member_options_are_the_options_that_list_every_controller():
    # An option naming every controller changes when one is added or removed: it must be one of MEMBER_OPTIONS
    # (written without restarting the services), and each of those lists them wherever a service has it.
    listing, member = set(), set()
    for service in SERVICES:
        for section, values in ha_openstack.service_settings(service)["config"].items():
            for option, value in values.items():
                if all(address in str(value) for address in CONTROLLERS.values()):
                    listing.add((section, option))
                if (section, option) in ha_openstack.topology.MEMBER_OPTIONS:
                    member.add((section, option))
    assert listing == member == ha_openstack.topology.MEMBER_OPTIONS


def test_member_options_split_the_settings():
    member_options = ha_openstack.topology.member_options
    config = ha_openstack.service_settings("nova")["config"]
    before = json.dumps(config, sort_keys=True)
    assert member_options(config, None) == config
    members = member_options(config, True)
    assert members == {"DEFAULT": {"transport_url": config["DEFAULT"]["transport_url"]},
                       "keystone_authtoken": {"memcached_servers": MEMCACHED},
                       "cache": {"memcache_servers": MEMCACHED}}
    others = member_options(config, False)
    assert "transport_url" not in others["DEFAULT"] and others["DEFAULT"]["my_ip"] == "10.10.10.52"
    assert "memcached_servers" not in others["keystone_authtoken"] and others["vnc"] == config["vnc"]
    # Together the whole, each option once; the given settings are left as they were.
    for section, values in config.items():
        assert {**others.get(section, {}), **members.get(section, {})} == values
        assert not set(others.get(section, {})) & set(members.get(section, {}))
    assert json.dumps(config, sort_keys=True) == before
    # A section left empty is not kept (ha_ini would add it as an empty section).
    sections = {"DEFAULT": {"transport_url": "rabbit://x/"}, "api": {"auth_strategy": "keystone"}}
    assert member_options(sections, False) == {"api": {"auth_strategy": "keystone"}}
    assert member_options(sections, True) == {"DEFAULT": {"transport_url": "rabbit://x/"}}
    assert member_options({"uwsgi": {"processes": 2}}, True) == {}


def test_set_options_of_the_members_apart(tmp_path):
    conf = tmp_path / "keystone.conf"
    conf.write_text(KEYSTONE_CONF)
    extra = {"DEFAULT": {"debug": False}}
    assert ha_openstack.set_options(str(conf), "keystone", extra=extra, members=True, test=True) == {
        "cache.memcache_servers": MEMCACHED}
    assert conf.read_text() == KEYSTONE_CONF
    others = ha_openstack.set_options(str(conf), "keystone", extra=extra, members=False)
    assert "cache.memcache_servers" not in others and others["DEFAULT.debug"] is False
    assert others["database.connection"] == "(secret)" and others["cache.enabled"] is True
    assert "memcache_servers" not in conf.read_text()
    # The members' options alone, the map's extra settings not among them.
    assert ha_openstack.set_options(str(conf), "keystone", extra=extra, members=True) == {
        "cache.memcache_servers": MEMCACHED}
    assert "memcache_servers = 10.10.10.51:11211,10.10.10.52:11211,10.10.10.53:11211\n" in conf.read_text()
    assert ha_openstack.set_options(str(conf), "keystone", extra=extra) == {}
    # A uWSGI unit lists no controller.
    ini = tmp_path / "keystone-uwsgi.ini"
    ini.write_text("[uwsgi]\nprocesses = 4\n")
    assert ha_openstack.set_options(str(ini), "keystone", unit="keystone", members=True) == {}
    assert ini.read_text() == "[uwsgi]\nprocesses = 4\n"


def test_is_secret():
    assert ha_openstack.is_secret("x:{{pillar-url:ha:rabbitmq:openstack_password}}@h")
    assert ha_openstack.is_secret(["a", "{{pillar:ha:openstack:admin_password}}"])
    assert not ha_openstack.is_secret("{{ pillar:ha:x }}") and not ha_openstack.is_secret(["a", 1])
    assert not ha_openstack.is_secret(None) and not ha_openstack.is_secret(5000)


def test_key_repositories_are_sealed_with_the_pillar_secret(tmp_path, ha, kit):
    fernet, credential = tmp_path / "fernet-keys", tmp_path / "credential-keys"
    fernet.mkdir()
    credential.mkdir()
    (fernet / "0").write_text("key-zero")
    (fernet / "1").write_text("key-one")
    (fernet / "subdir").mkdir()
    (credential / "0").write_text("cred-zero")
    published = ha_openstack.key_repositories(str(fernet), str(credential))
    assert list(published) == ["sealed"]
    assert not any(k in published["sealed"] for k in ("key-zero", "key-one", "cred-zero"))
    secret = ha["galera"]["databases"]["keystone"]["password"]
    assert kit.unseal(published["sealed"], secret, "keystone key repositories") == {
        "fernet": {"0": "key-zero", "1": "key-one"}, "credential": {"0": "cred-zero"}}
    with pytest.raises(CommandExecutionError, match="do not open with this node's pillar secret"):
        kit.unseal(published["sealed"], secret + "x", "keystone key repositories")
    (credential / "0").unlink()
    with pytest.raises(CommandExecutionError, match="credential-keys holds no keys$"):
        ha_openstack.key_repositories(str(fernet), str(credential))
    with pytest.raises(CommandExecutionError, match="absent does not exist: keystone's fernet keys are not set up"):
        ha_openstack.key_repositories(str(tmp_path / "absent"), str(credential))


def test_run_manage_passes_secrets_through_the_environment_only(pillar_get, run_all):
    pillar_get.flat["ha:some:secret"] = "expected-secret-value"
    run_all.handler = lambda argv, **kwargs: (0, "ok\n", "")
    command = ["keystone-manage", "bootstrap", "--bootstrap-username", "admin"]
    done = ha_openstack.run_manage(command, "root", {"OS_BOOTSTRAP_PASSWORD": "ha:some:secret"})
    assert done == {"retcode": 0, "output": "ok\n", "stdout": "ok\n"}
    (call,) = run_all.calls
    assert call["argv"] == command and call["clean_env"] is True and call["cwd"] == "/" and call["timeout"] == 900
    # The whole environment: nothing of the minion's.
    assert call["env"] == {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
                           "OS_BOOTSTRAP_PASSWORD": "expected-secret-value"}
    assert not any("expected-secret-value" in arg for arg in call["argv"]) and call["stdin"] is None
    with pytest.raises(CommandExecutionError, match="^pillar key ha:none is empty or not a string$"):
        ha_openstack.run_manage(command, "root", {"OS_BOOTSTRAP_PASSWORD": "ha:none"})
    assert len(run_all.calls) == 1


def test_run_manage_as_a_service_user_goes_through_runuser(run_all):
    run_all.handler = lambda argv, **kwargs: (3, "o\n", "e\n")
    assert ha_openstack.run_manage(["keystone-manage", "db_sync"], "keystone") == {"retcode": 3, "output": "o\ne\n",
                                                                                        "stdout": "o\n"}
    assert [call["argv"] for call in run_all.calls] == [["runuser", "-u", "keystone", "--", "keystone-manage",
                                                         "db_sync"]]


def test_run_manage_keeps_the_last_2000_characters(run_all):
    run_all.handler = lambda argv, **kwargs: (0, "x" * 1500 + "\n", "w" * 1000)
    done = ha_openstack.run_manage(["nova-manage", "db", "sync"], "nova")
    assert done["output"] == "x" * 999 + "\n" + "w" * 1000 and done["stdout"] == "x" * 1500 + "\n"


@pytest.mark.parametrize("command", [["env"], ["sh", "-c", "echo $OS_BOOTSTRAP_PASSWORD"], []])
def test_run_manage_runs_the_services_tools_only(run_all, pillar_get, command):
    """With secrets in its environment, another command would hand them back in its output."""
    pillar_get.flat["ha:some:secret"] = "expected-secret-value"
    with pytest.raises(CommandExecutionError, match="is not a management tool of the OpenStack services "
                                                    r"\(keystone-manage, glance-manage, placement-manage, "
                                                    r"nova-manage\)$"):
        ha_openstack.run_manage(command, "root", {"OS_BOOTSTRAP_PASSWORD": "ha:some:secret"})
    assert run_all.calls == []


def test_run_manage_of_a_missing_or_hanging_command_raises(run_all):
    run_all.handler = lambda argv, **kwargs: run_all.missing(argv)
    with pytest.raises(CommandExecutionError, match="^glance-manage not found: is the service's package "
                                                    r"installed\?$"):
        ha_openstack.run_manage(["glance-manage", "--flag"], "root")
    run_all.handler = lambda argv, timeout, **kwargs: run_all.timed_out(argv, timeout)
    with pytest.raises(CommandExecutionError, match="^nova-manage db sync did not finish within 900 s$"):
        ha_openstack.run_manage(["nova-manage", "db", "sync"], "nova")


def test_answers_false_on_a_closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert ha_openstack.answers(f"http://127.0.0.1:{port}/v3") is False


@pytest.fixture
def status_http():
    """A local API answering every GET with the status ``server.status``."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            self.send_response(server.status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    server.url = f"http://127.0.0.1:{server.server_address[1]}/"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(("status", "up"), [(200, True), (300, True), (399, True), (401, False), (403, False),
                                            (404, False), (500, False), (503, False)])
def test_answers_only_as_a_working_api_does(status_http, status, up):
    # glance's version document is a 300; placement's vhost denying / a 403; uWSGI without its app a 500.
    status_http.status = status
    assert ha_openstack.answer(status_http.url) == status
    assert ha_openstack.answers(status_http.url) is up


@pytest.fixture
def keystone_http(pillar_get):
    """A local keystone answering /v3/auth/tokens and GET /v3/projects; ``header`` names the token's header,
    ``token`` is the one it issues and accepts, ``logins`` counts the token requests."""
    pillar_get.flat["ha:test:password"] = "right-password"

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self, status, body, headers=()):
            data = json.dumps(body).encode()
            self.send_response(status)
            for name, value in (*headers, ("Content-Length", str(len(data)))):
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):  # noqa: N802 - http.server's naming
            server.logins += 1
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            password = body["auth"]["identity"]["password"]["user"]["password"]
            if self.path != "/v3/auth/tokens" or password != "right-password":
                return self._answer(401, {"error": {"code": 401}})
            self._answer(201, {"token": {}}, [(server.header, server.token)])

        def do_GET(self):  # noqa: N802
            if self.headers.get("X-Auth-Token") != server.token:
                return self._answer(401, {"error": {"code": 401}})
            self._answer(200, {"projects": [{"name": "admin"}]} if self.path == "/v3/projects" else {})

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    server.header, server.url = "X-Subject-Token", f"http://127.0.0.1:{server.server_address[1]}/v3"
    server.logins, server.token = 0, "token-1"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


LOGIN = ("admin", "ha:test:password", "admin")


def test_token_against_a_local_keystone(keystone_http, pillar_get):
    url = keystone_http.url
    assert ha_openstack._token(url, *LOGIN) == "token-1"
    pillar_get.flat["ha:test:password"] = "wrong-password"
    assert ha_openstack._token(url, *LOGIN) is None
    with pytest.raises(CommandExecutionError, match="^pillar key ha:none is empty or not a string$"):
        ha_openstack._token(url, "admin", "ha:none", "admin")
    # Asking for a token is not what a working API answers to its version document's GET.
    assert ha_openstack.answer(url) == 401 and ha_openstack.answers(url) is False


def test_authenticates_and_api_log_in_once_per_job(keystone_http, pillar_get):
    url = keystone_http.url
    assert ha_openstack.authenticates(url, *LOGIN) is True
    assert ha_openstack.api("GET", url, *LOGIN, "/projects") == {"projects": [{"name": "admin"}]}
    assert ha_openstack.api("GET", url, *LOGIN, "/projects") == {"projects": [{"name": "admin"}]}
    assert keystone_http.logins == 1
    # A token keystone no longer takes: the answer, never the token, is in the error.
    keystone_http.token = "token-2"
    with pytest.raises(CommandExecutionError, match="^keystone answered 401 to GET /projects: ") as err:
        ha_openstack.api("GET", url, *LOGIN, "/projects")
    assert "token-1" not in str(err.value)


def test_api_logs_in_first_and_forgets_refused_credentials(keystone_http, pillar_get):
    url = keystone_http.url
    assert ha_openstack.api("GET", url, *LOGIN, "/projects") == {"projects": [{"name": "admin"}]}
    assert keystone_http.logins == 1
    pillar_get.flat["ha:test:password"] = "wrong-password"
    assert ha_openstack.authenticates(url, *LOGIN) is False
    with pytest.raises(CommandExecutionError, match=f"^keystone at {url} refuses admin's password$"):
        ha_openstack.api("GET", url, *LOGIN, "/projects")
    assert keystone_http.logins == 3


def test_token_header_is_case_insensitive(keystone_http):
    # HTTP header names are case-insensitive; HAProxy (HTX) forwards them in lower case.
    keystone_http.header = "x-subject-token"
    assert ha_openstack._token(keystone_http.url, *LOGIN) == "token-1"


@pytest.mark.parametrize(("mutate", "error"), [
    (lambda h: h["openstack"].__setitem__("region", "Region One"),
     "ha:openstack:region: 'Region One' must be letters, digits, '_', '.' or '-'"),
    (lambda h: h["openstack"].__setitem__("workers", 0),
     "ha:openstack:workers: 0 must be a number of processes from 1 to 64"),
    (lambda h: h["openstack"].__setitem__("workers", True),
     "ha:openstack:workers: True must be an integer, not true/false"),
    (lambda h: h["openstack"].__setitem__("service_workers", {"keystone": 65}),
     "ha:openstack:service_workers:keystone: 65 must be a number of processes from 1 to 64"),
    (lambda h: h["openstack"].__setitem__("service_workers", {"keystne": 2}),
     "ha:openstack:service_workers:keystne: unknown key; did you mean keystone?"),
    (lambda h: h["openstack"].__setitem__("service_workers", {"glance": "4"}),
     "ha:openstack:service_workers:glance: '4' must be an integer, not a string"),
    (lambda h: h["openstack"].__setitem__("endpoint_host", "Bad Host"),
     "ha:openstack:endpoint_host: 'Bad Host' is not a host name or address"),
    (lambda h: h["haproxy"]["listeners"].pop("keystone_public"),
     "ha:haproxy:listeners:keystone_public: is required: the OpenStack services sit behind it"),
    (lambda h: h["haproxy"]["listeners"].pop("nova_vncproxy"),
     "ha:haproxy:listeners:nova_vncproxy: is required: the OpenStack services sit behind it"),
    (lambda h: h["galera"]["databases"]["nova"].__setitem__("databases", ["nova", "nova_cell0"]),
     "ha:galera:databases:nova: the OpenStack services need the account nova with the databases nova_api, nova, "
     "nova_cell0"),
    (lambda h: h["galera"]["databases"].pop("glance"),
     "ha:galera:databases:glance: the OpenStack services need the account glance with the databases glance"),
    (lambda h: h["openstack"].__setitem__("admin_password", "admin"),
     "ha:openstack:admin_password: is a reference or placeholder value; set a random secret"),
    (lambda h: h["openstack"]["service_passwords"].__setitem__("nova", "short-pass"),
     "ha:openstack:service_passwords:nova: is shorter than 16 characters"),
    # A newline would write "debug = true" into nova.conf as an option line of its own.
    (lambda h: h["openstack"]["service_passwords"].__setitem__("nova", "Kq3v9TzLw2xRp8Nm\ndebug = true"),
     "ha:openstack:service_passwords:nova: holds a control character (a newline, tab, ...); "
     "use printable characters only"),
    (lambda h: h["openstack"].__setitem__("admin_password", "Kq3v9TzLw2xRp8Nm\tYb"),
     "ha:openstack:admin_password: holds a control character (a newline, tab, ...); use printable characters only"),
    (lambda h: h["galera"].__setitem__("root_password", " Kq3v9TzLw2xRp8NmYb"),
     "ha:galera:root_password: begins or ends with white space, which config readers drop"),
    (lambda h: h["galera"]["databases"]["glance"].__setitem__("password", "Kq3v9TzLw2xRp8NmYb\x7f"),
     "ha:galera:databases:glance:password: holds a control character (a newline, tab, ...); "
     "use printable characters only"),
])
def test_openstack_validation(ha, mutate, error):
    mutate(ha)
    assert ha_topology.validate(ha) == [error]


def test_openstack_section_is_optional_but_its_secrets_are_not(ha):
    assert ha_topology.validate(ha) == []
    ha["openstack"] = {k: v for k, v in ha["openstack"].items() if k in ("admin_password", "service_passwords")}
    assert ha_topology.validate(ha) == []
    assert ha_openstack.catalog()["region"] == "RegionOne"
    ha["openstack"] = ["RegionOne"]
    errors = ha_topology.validate(ha)
    # The section's kind only: its keys' values are not looked at.
    assert errors == ["ha:openstack: must be a mapping, not a list"]


def test_httpd_bound_pins_listen_and_virtual_hosts():
    text = "Listen 8778\n<VirtualHost *:8778>\n  # Listen 1 in a comment stays\n</VirtualHost>\n"
    assert ha_openstack.httpd_bound(text, "10.10.10.53", 8778) == (
        "Listen 10.10.10.53:8778\n<VirtualHost 10.10.10.53:8778>\n  # Listen 1 in a comment stays\n"
        "</VirtualHost>\n")
    assert ha_openstack.httpd_bound("Listen 80\n", "10.10.10.53") == "Listen 10.10.10.53:80\n"
    bound = ha_openstack.httpd_bound(text, "10.10.10.53", 8778)
    assert ha_openstack.httpd_bound(bound, "10.10.10.53", 8778) == bound


# The WSGIDaemonProcess lines of RDO's sites: keystone's (/usr/share/keystone/wsgi-keystone.conf) and placement's
# (/etc/httpd/conf.d/00-placement-api.conf).
RDO_KEYSTONE_DAEMON = ("    WSGIDaemonProcess keystone-public processes=5 threads=1 user=keystone group=keystone "
                       "display-name=%{GROUP}\n")
RDO_PLACEMENT_DAEMON = "  WSGIDaemonProcess placement-api processes=3 threads=1 user=placement group=placement\n"


def test_httpd_granted_adds_a_directory_block_inside_the_first_vhost_once():
    site = "Listen 8778\n<VirtualHost *:8778>\n  WSGIScriptAlias / /usr/bin/placement-api\n</VirtualHost>\n" \
           "Alias /placement-api /usr/bin/placement-api\n"
    granted = ha_openstack.httpd_granted(site, "/usr/bin")
    assert granted == ("Listen 8778\n<VirtualHost *:8778>\n  WSGIScriptAlias / /usr/bin/placement-api\n"
                       "  <Directory /usr/bin>\n    Require all granted\n  </Directory>\n</VirtualHost>\n"
                       "Alias /placement-api /usr/bin/placement-api\n")
    assert ha_openstack.httpd_granted(granted, "/usr/bin") == granted
    # A site that has a block of its own for the directory (RDO's keystone site) is left as it is.
    own = site.replace("</VirtualHost>", '  <Directory "/usr/bin/">\n    Require all granted\n  </Directory>\n'
                                         "</VirtualHost>")
    assert ha_openstack.httpd_granted(own, "/usr/bin") == own
    assert ha_openstack.httpd_granted(site, "/usr/local/bin").count("<Directory /usr/local/bin>") == 1


def test_httpd_sized_sets_the_daemons_processes_and_threads():
    options = {"processes": 4, "threads": 1}
    text = f"<VirtualHost *:5000>\n{RDO_KEYSTONE_DAEMON}    WSGIProcessGroup keystone-public\n</VirtualHost>\n"
    sized = ha_openstack.httpd_sized(text, options)
    assert sized == text.replace("processes=5", "processes=4")
    assert ha_openstack.httpd_sized(sized, options) == sized
    assert ha_openstack.httpd_sized(RDO_PLACEMENT_DAEMON, {"processes": 2, "threads": 1}) == \
        RDO_PLACEMENT_DAEMON.replace("processes=3", "processes=2")
    # Options the directive lacks are added after the group's name; a display-name or comment stays as it was.
    assert ha_openstack.httpd_sized("WSGIDaemonProcess ks threads=15 display-name=%{GROUP}\n# processes=9\n",
                                    options) == \
        "WSGIDaemonProcess ks processes=4 threads=1 display-name=%{GROUP}\n# processes=9\n"
    assert ha_openstack.httpd_sized("WSGIDaemonProcess ks\n", options) == "WSGIDaemonProcess ks processes=4 threads=1\n"
    assert ha_openstack.httpd_sized("Listen 80\n", options) == "Listen 80\n"
