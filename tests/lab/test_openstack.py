"""
The OpenStack controller services deployed by ha.deploy on the lab's
controllers, used from a lab node through the VIP: keystone's tokens and
catalog, the APIs behind HAProxy, their binds, configs and keys. (keystone
through the VIP while its holder loses power: test_pacemaker.py.)
"""

from __future__ import annotations

import json

import pytest

from tests.lab.conftest import ADDRESSES, CLIENT_NODE, CONTROLLERS, lab_secrets, wait_until
from tests.lab.test_pacemaker import APIS, VIP, backends_not_up, ha_pillar, http

pytestmark = pytest.mark.lab

AUTH_URL = f"http://{VIP}:5000/v3"


def openstack(lab, *args: str, check: bool = True):
    """The openstack CLI on the client node as the admin; the password in its environment only."""
    admin_password = ha_pillar()["openstack"]["admin_password"]
    script = ('read -r OS_PASSWORD; export OS_PASSWORD; exec openstack --os-auth-url "$1" '
              '--os-username admin --os-project-name admin --os-user-domain-name Default '
              '--os-project-domain-name Default --os-identity-api-version 3 "${@:2}"')
    return lab.exec(CLIENT_NODE, "bash", "-c", script, "openstack", AUTH_URL, *args, "-f", "json",
                    input=admin_password + "\n", check=check)


@pytest.fixture(scope="module")
def services(deployed):
    return deployed


def test_token_and_catalog_through_the_vip(services):
    token = json.loads(openstack(services, "token", "issue").stdout)
    assert token["id"] and token["project_id"] and token["user_id"]
    catalog = {entry["Name"]: entry for entry in json.loads(openstack(services, "catalog", "list").stdout)}
    assert {name: catalog[name]["Type"] for name in ("keystone", "glance", "placement", "nova")} == {
        "keystone": "identity", "glance": "image", "placement": "placement", "nova": "compute"}
    endpoints = json.loads(openstack(services, "endpoint", "list").stdout)
    urls = {(e["Service Name"], e["Interface"]): e["URL"] for e in endpoints}
    host = ha_pillar()["vip"]["hostname"]
    assert urls[("keystone", "public")] == f"http://{host}:5000/v3"
    assert urls[("nova", "internal")] == f"http://{host}:8774/v2.1"
    assert {interface for (_, interface) in urls} == {"public", "internal", "admin"}
    # The catalog's APIs answer through the VIP with the admin's token.
    images = json.loads(openstack(services, "image", "list").stdout)
    assert images == []
    assert json.loads(openstack(services, "compute", "service", "list").stdout)
    # placement's version document through the VIP (the client has no placement commands without osc-placement).
    code, *body = http(services, f"http://{VIP}:8778/", body=True)
    assert code == "200" and json.loads("\n".join(body))["versions"][0]["id"] == "v1.0"


def test_every_api_backend_is_up_in_haproxy(services):
    assert not backends_not_up(services), f"backends not UP: {backends_not_up(services)}"


def test_apis_bind_the_nodes_own_address_and_haproxy_the_vip(services):
    for node in CONTROLLERS:
        listening = services.exec(node, "ss", "-Htln").stdout.split()
        for port in APIS.values():
            assert f"{ADDRESSES[node]}:{port}" in listening, f"{node}: nothing on its own address at {port}"
            assert f"0.0.0.0:{port}" not in listening and f"*:{port}" not in listening, (node, port)


def test_keystone_keys_are_identical_and_private_on_every_controller(services):
    script = "cd /etc/keystone && find fernet-keys credential-keys -type f -printf '%p %m %u\\n' | sort"
    listings = {node: services.exec(node, "bash", "-c", script).stdout for node in CONTROLLERS}
    first = listings[CONTROLLERS[0]]
    assert "fernet-keys/0 600 keystone" in first and "credential-keys/0 600 keystone" in first, first
    assert all(listing == first for listing in listings.values()), listings
    sums = {node: services.exec(node, "bash", "-c", "cd /etc/keystone && cat fernet-keys/* credential-keys/* "
                                "| sha256sum").stdout for node in CONTROLLERS}
    assert len(set(sums.values())) == 1, sums


def test_configs_keep_the_packaged_file_and_no_secret_is_world_readable(services):
    node = CONTROLLERS[1]
    secrets = lab_secrets()
    for path, group in (("/etc/keystone/keystone.conf", "keystone"), ("/etc/glance/glance-api.conf", "glance"),
                        ("/etc/placement/placement.conf", "placement"), ("/etc/nova/nova.conf", "nova")):
        assert services.exec(node, "stat", "-c", "%a %U %G", path).stdout.split() == ["640", "root", group]
        assert services.exec(node, "test", "-s", f"{path}.dist", check=False).returncode == 0, f"{path}.dist"
    # No file readable by others holds a secret of the pillar (the secrets go
    # to grep through a root-only file, never on a command line).
    script = ('umask 077; list=$(mktemp); cat > "$list"; '
              'find /etc /var/lib /var/log -xdev -type f -perm -o+r -print0 | xargs -0 grep -l -a -F -f "$list"; '
              'rm -f "$list"')
    leaking = services.exec(node, "bash", "-c", script, input="\n".join(secrets) + "\n", check=False).stdout
    assert leaking == "", f"world-readable files holding a secret: {leaking}"
    nova = services.exec(node, "cat", "/etc/nova/nova.conf").stdout
    assert f"@{VIP}:3306/nova_api" in nova and "openstack-controller" not in nova
    assert all(f"@{address}:5672" in nova for address in ADDRESSES.values())


def gate(lab, node: str, url: str, timeout: int) -> dict:
    """The deploy's API health gate (the state ha_openstack.answering) run on ``node`` for ``url``: its return."""
    result = lab.run("salt", "--out=json", "--static", "-t", str(timeout + 60), node, "state.single",
                     "ha_openstack.answering", f"name={url}", f"timeout={timeout}", check=False)
    (ret,) = json.loads(result.stdout)[node].values()
    return ret


def test_the_deploys_gate_fails_on_an_api_that_answers_an_error(services):
    """
    nova-api whose paste config lost the route of its version document
    answers 404 to its GET: the gate fails and names the status. With the
    packaged file back, the gate passes.
    """
    node = CONTROLLERS[2]
    url = f"http://{ADDRESSES[node]}:{APIS['nova_api']}/"
    paste = "/etc/nova/api-paste.ini"
    services.exec(node, "cp", "-p", paste, f"{paste}.hatest")
    try:
        services.exec(node, "sed", "-i", "/^\\/: oscomputeversions$/d", paste)
        services.exec(node, "systemctl", "restart", "nova-api")
        ret = gate(services, node, url, 30)
        assert ret["result"] is False, ret
        assert ret["comment"] == f"{url} is not up after 30 s (it answers HTTP 404, not 2xx or 3xx): see the " \
                                 "service's log", ret
    finally:
        services.exec(node, "mv", f"{paste}.hatest", paste, check=False)
        services.exec(node, "systemctl", "restart", "nova-api", check=False)
    ret = gate(services, node, url, 90)
    assert ret["result"] is True and ret["comment"] == f"{url} answers", ret
    wait_until("HAProxy to see nova-api UP again", lambda: not backends_not_up(services), 60, 2,
               describe=lambda: backends_not_up(services))
