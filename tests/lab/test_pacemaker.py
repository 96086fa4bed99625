"""
Pacemaker/Corosync, the VIP and HAProxy deployed by ha.deploy on the lab's
controllers: cluster status, constraints, services through the VIP, the VIP
holder's power loss and a controller cut off the network.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest
import yaml

from lab import config
from tests.lab.conftest import ADDRESSES, CLIENT_NODE, CONTROLLERS, LAB, connect, wait_recovered, wait_until

pytestmark = pytest.mark.lab

VIP = "10.10.10.69"
STATS_URL = f"http://{VIP}:1080/"

# HTTP GET with optional basic auth (user in argv, password on stdin);
# prints the status code, and the body with "body".
HTTP_CLIENT = """
import base64, sys, urllib.error, urllib.request
url, user = sys.argv[1], sys.argv[2]
request = urllib.request.Request(url)
if user:
    secret = sys.stdin.readline().rstrip("\\n")
    request.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode())
try:
    with urllib.request.urlopen(request, timeout=5) as answer:
        print(answer.status)
        if sys.argv[3:] == ["body"]:
            print(answer.read().decode())
except urllib.error.HTTPError as exc:
    print(exc.code)
"""

# One query through a MySQL endpoint as a service account; password on stdin.
SQL_CLIENT = """
import sys, pymysql
host, user, query = sys.argv[1:4]
connection = pymysql.connect(host=host, user=user, password=sys.stdin.readline().rstrip("\\n"), connect_timeout=5)
with connection.cursor() as cursor:
    cursor.execute(query)
    print(cursor.fetchone()[0])
connection.close()
"""

# Measures an outage from a lab node: polls a check every INTERVAL seconds,
# prints "armed" after its first success, then runs until it has seen
# failures followed by 5 s of successes, or until its deadline, and prints
# the longest time without a success as JSON. Checks: "http URL" (any HTTP
# answer counts, 401 included; every 0.1 s, for at most 120 s) and "token
# URL" (keystone issues the admin a token, the password on standard input;
# every 0.2 s, for at most 150 s).
GAP_PROBE = """
import json, sys, time, urllib.error, urllib.request
kind, url = sys.argv[1:3]
secret = sys.stdin.readline().rstrip("\\n")
def http():
    try:
        urllib.request.urlopen(url, timeout=0.5).close()
    except urllib.error.HTTPError:
        pass
    except OSError:
        return False
    return True
body = json.dumps({"auth": {"identity": {"methods": ["password"], "password": {"user": {
    "name": "admin", "domain": {"name": "Default"}, "password": secret}}},
    "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}).encode()
def token():
    request = urllib.request.Request(url + "/auth/tokens", data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=2) as answer:
            return answer.status == 201 and bool(answer.headers["X-Subject-Token"])
    except OSError:
        return False
check, interval, seconds = {"http": (http, 0.1, 120), "token": (token, 0.2, 150)}[kind]
deadline = time.monotonic() + seconds
while not check():
    if time.monotonic() > deadline:
        sys.exit("never succeeded")
    time.sleep(interval)
print("armed", flush=True)
last_ok, longest, tries, failed, back_since = time.monotonic(), 0.0, 0, 0, None
while time.monotonic() < deadline:
    tries += 1
    if check():
        now = time.monotonic()
        longest = max(longest, now - last_ok)
        last_ok = now
        if failed and back_since is None:
            back_since = now
        if back_since is not None and now - back_since > 5:
            break
    else:
        failed += 1
        back_since = None
    time.sleep(interval)
print(json.dumps({"longest_gap": round(longest, 2), "tries": tries, "failed": failed}), flush=True)
"""

# Samples whether the VIP is on this node's host0 every 0.1 s for the given
# number of seconds; prints "armed", then the transitions as JSON
# [[wall clock time, present], ...] (the nodes share the host's clock).
VIP_SAMPLER = """
import json, subprocess, sys, time
vip, seconds = sys.argv[1], float(sys.argv[2])
def present():
    out = subprocess.run(["ip", "-o", "-4", "addr", "show", "dev", "host0"], capture_output=True, text=True).stdout
    return f" {vip}/" in out
state = present()
changes = [[time.time(), state]]
print("armed", flush=True)
end = time.monotonic() + seconds
while time.monotonic() < end:
    now = present()
    if now != state:
        changes.append([time.time(), now])
        state = now
    time.sleep(0.1)
changes.append([time.time(), state])
print(json.dumps(changes), flush=True)
"""


def ha_pillar() -> dict:
    return yaml.safe_load((config.PILLAR_DIR / "ha.sls").read_text())["ha"]


def crm_mon(lab, node: str) -> dict | None:
    """crm_mon of one node as {"quorate", "online": [...], "resources": {id: [nodes started on]}}; None if down."""
    result = lab.exec(node, "crm_mon", "--one-shot", "--inactive", "--output-as=xml", check=False)
    try:
        root = ET.fromstring(result.stdout)
    except ET.ParseError:
        return None
    if root.find("summary") is None:
        return None
    placed: dict[str, list[str]] = {}
    for resource in root.iter("resource"):
        if resource.get("role") == "Started" and resource.get("failed") == "false":
            placed.setdefault(resource.get("id"), []).extend(n.get("name") for n in resource.findall("node"))
    return {
        "quorate": root.find("summary/current_dc").get("with_quorum") == "true",
        "online": sorted(n.get("name") for n in root.find("nodes") if n.get("online") == "true"),
        "resources": {rid: sorted(nodes) for rid, nodes in placed.items()},
    }


def settled(lab, via: str, online: list[str]) -> dict | None:
    """The status seen from ``via`` once ``online`` are the online nodes, the VIP runs on one of them and
    HAProxy on all of them."""
    status = crm_mon(lab, via)
    if status is None or not status["quorate"] or status["online"] != sorted(online):
        return None
    vip, haproxy = status["resources"].get("vip", []), status["resources"].get("lb-haproxy", [])
    if len(vip) != 1 or haproxy != sorted(online):
        return None
    return status


def vip_holder(lab, via: str = "openstack-controller02", online: list[str] = CONTROLLERS) -> str:
    status = wait_until("the VIP and HAProxy started on the online controllers",
                        lambda: settled(lab, via, online), 120, 1, describe=lambda: crm_mon(lab, via))
    return status["resources"]["vip"][0]


def has_vip(lab, node: str) -> bool:
    return f" {VIP}/" in lab.exec(node, "ip", "-o", "-4", "addr", "show", "dev", "host0").stdout


def http(lab, url: str, user: str = "", password: str = "", body: bool = False) -> list[str]:
    args = [url, user] + (["body"] if body else [])
    return lab.exec(CLIENT_NODE, "python3", "-c", HTTP_CLIENT, *args, input=password + "\n").stdout.splitlines()


def in_node(node: str, script: str, *args: str, secret: str | None = None) -> subprocess.Popen:
    """A Python script running in a lab node, in the background; its first line must be "armed"."""
    process = subprocess.Popen([str(LAB), "exec", node, "--", "python3", "-c", script, *args],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Standard input stays open: last_line's communicate() closes it.
    process.stdin.write((secret or "") + "\n")
    process.stdin.flush()
    first = process.stdout.readline().strip()
    if first != "armed":
        process.kill()
        raise AssertionError(f"{node}: the script did not start: {first} {process.stderr.read()}")
    return process


def last_line(process: subprocess.Popen, timeout: float) -> str:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    assert process.returncode == 0, err
    return out.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def cluster(deployed):
    vip_holder(deployed)
    return deployed


@pytest.fixture(scope="module")
def sql_client(cluster):
    cluster.exec(CLIENT_NODE, "apt-get", "install", "-y", "-q", "python3-pymysql")
    try:
        yield cluster
    finally:
        cluster.exec(CLIENT_NODE, "apt-get", "purge", "-y", "-q", "python3-pymysql", check=False)


def test_three_nodes_online_vip_where_haproxy_runs(cluster):
    text = cluster.exec("openstack-controller03", "pcs", "status").stdout
    assert "3 nodes configured" in text and "Online: [ " + " ".join(CONTROLLERS) + " ]" in text, text
    for node in CONTROLLERS:
        status = crm_mon(cluster, node)
        assert status["quorate"] and status["online"] == CONTROLLERS, (node, status)
        assert status["resources"]["lb-haproxy"] == CONTROLLERS, (node, status)
        assert cluster.exec(node, "systemctl", "is-active", "haproxy").stdout.strip() == "active"
        # Pacemaker, not systemd, starts HAProxy; corosync and pacemaker start at boot.
        assert cluster.exec(node, "systemctl", "is-enabled", "haproxy", check=False).stdout.strip() == "disabled"
        assert cluster.exec(node, "systemctl", "is-enabled", "corosync", "pacemaker", "pcsd").stdout.split() == [
            "enabled"] * 3
    holder = vip_holder(cluster)
    assert [node for node in CONTROLLERS if has_vip(cluster, node)] == [holder]


def test_cluster_on_the_management_addresses_with_the_pillar_settings(cluster):
    for node in CONTROLLERS:
        members = cluster.exec(node, "corosync-cmapctl", "nodelist.node").stdout
        for address in ADDRESSES.values():
            assert f"ring0_addr (str) = {address}\n" in members, members
        assert cluster.exec(node, "corosync-cmapctl", "-g", "totem.token").stdout.split()[-1] == "1000"
        assert cluster.exec(node, "corosync-cmapctl", "-g", "totem.cluster_name").stdout.split()[-1] == (
            "openstack-cluster-01")
    properties = ET.fromstring(cluster.exec("openstack-controller01", "cibadmin", "--query", "--scope",
                                            "crm_config").stdout)
    values = {nv.get("name"): nv.get("value") for nv in properties.iter("nvpair")}
    assert {k: values.get(k) for k in ("stonith-enabled", "no-quorum-policy", "pe-warn-series-max",
                                       "cluster-recheck-interval")} == {
        "stonith-enabled": "false", "no-quorum-policy": "stop", "pe-warn-series-max": "1000",
        "cluster-recheck-interval": "5min"}


def test_resources_and_constraints_as_specified(cluster):
    resources = ET.fromstring(cluster.exec("openstack-controller02", "cibadmin", "--query", "--scope",
                                           "resources").stdout)
    vip = resources.find("primitive[@id='vip']")
    assert (vip.get("class"), vip.get("provider"), vip.get("type")) == ("ocf", "heartbeat", "IPaddr2")
    assert {nv.get("name"): nv.get("value") for nv in vip.find("instance_attributes")} == {
        "ip": VIP, "cidr_netmask": "24", "run_arping": "true"}
    assert vip.find("operations/op[@name='monitor']").get("interval") == "10s"
    haproxy = resources.find("clone[@id='lb-haproxy-clone']/primitive[@id='lb-haproxy']")
    assert (haproxy.get("class"), haproxy.get("type")) == ("systemd", "haproxy")

    constraints = ET.fromstring(cluster.exec("openstack-controller02", "cibadmin", "--query", "--scope",
                                             "constraints").stdout)
    orders = [{k: c.get(k) for k in ("first", "first-action", "then", "then-action", "kind", "symmetrical")}
              for c in constraints.findall("rsc_order")]
    colocations = [{k: c.get(k) for k in ("rsc", "with-rsc", "score")} for c in constraints.findall("rsc_colocation")]
    assert orders == [{"first": "vip", "first-action": "start", "then": "lb-haproxy-clone", "then-action": "start",
                       "kind": "Optional", "symmetrical": "false"}]
    assert colocations == [{"rsc": "vip", "with-rsc": "lb-haproxy-clone", "score": "INFINITY"}]


def test_wrong_constraint_corrected_in_one_push_and_test_mode_reports_it(cluster):
    """A drifted CIB: test=True says what would change and changes nothing; a run corrects it."""
    lab = cluster

    def apply(*args: str) -> dict:
        result = lab.run("salt", "--out=json", "--static", "openstack-controller01", "state.apply",
                         "ha.pacemaker.resources", *args, check=False)
        states = json.loads(result.stdout)["openstack-controller01"]
        return next(body for body in states.values() if body["__id__"] == "ha-pacemaker-configured")

    order_id = ET.fromstring(lab.exec("openstack-controller01", "cibadmin", "--query", "--scope",
                                      "constraints").stdout).find("rsc_order").get("id")
    lab.exec("openstack-controller01", "pcs", "constraint", "remove", order_id)
    lab.exec("openstack-controller01", "pcs", "constraint", "order", "start", "vip", "then", "start",
             "lb-haproxy-clone", "kind=Mandatory")
    epoch = ET.fromstring(lab.exec("openstack-controller01", "cibadmin", "--query").stdout).get("epoch")
    try:
        dry = apply("test=True")
        assert dry["result"] is None and "constraint remove order-vip-lb-haproxy-clone-Mandatory" in dry["comment"]
        assert ET.fromstring(lab.exec("openstack-controller01", "cibadmin", "--query").stdout).get("epoch") == epoch
    finally:
        real = apply()
    assert real["result"] is True and list(real["changes"]) == ["constraints"], real
    # One push: the CIB's epoch moved by one.
    assert int(ET.fromstring(lab.exec("openstack-controller01", "cibadmin", "--query").stdout).get("epoch")) == (
        int(epoch) + 1)
    assert apply()["changes"] == {}


def test_galera_through_the_vip_reaches_the_active_server(sql_client):
    password = ha_pillar()["galera"]["databases"]["keystone"]["password"]
    node = sql_client.exec(CLIENT_NODE, "python3", "-c", SQL_CLIENT, VIP, "keystone", "SELECT @@wsrep_node_name",
                           input=password + "\n").stdout.strip()
    # The first controller is the active server, the others are backups.
    assert node == "openstack-controller01"


def test_stats_page_needs_the_credentials_and_shows_the_backends(cluster):
    stats = ha_pillar()["haproxy"]["stats"]
    assert http(cluster, STATS_URL) == ["401"]
    assert http(cluster, STATS_URL, stats["user"], "wrong-password-xyz") == ["401"]
    code, *csv = http(cluster, STATS_URL + ";csv", stats["user"], stats["password"], body=True)
    assert code == "200"
    header = csv[0].lstrip("# ").split(",")
    rows = [dict(zip(header, line.split(","), strict=False)) for line in csv[1:] if line]
    galera = {row["svname"]: (row["status"], row["bck"]) for row in rows if row["pxname"] == "galera"}
    assert galera == {"FRONTEND": ("OPEN", ""), "openstack-controller01": ("UP", "0"),
                      "openstack-controller02": ("UP", "1"), "openstack-controller03": ("UP", "1"),
                      "BACKEND": ("UP", "2")}  # bck: how many backup servers
    listeners = {row["pxname"] for row in rows}
    assert set(ha_pillar()["haproxy"]["listeners"]) | {"stats"} == listeners


def test_haproxy_config_is_private_and_logs_go_to_a_file(cluster):
    holder = vip_holder(cluster)
    for node in CONTROLLERS:
        assert cluster.exec(node, "stat", "-c", "%a %U %G", "/etc/haproxy/haproxy.cfg").stdout.split() == [
            "640", "root", "haproxy"]

    def logged() -> int:
        log = cluster.exec(holder, "cat", "/var/log/haproxy.log", check=False).stdout
        return log.count(f" to {VIP}:1080 (stats/HTTP)")

    before = logged()
    http(cluster, STATS_URL)
    wait_until("HAProxy's log line for the stats request", lambda: logged() > before, 20, 0.5)


def test_invalid_haproxy_config_is_never_installed(cluster):
    node = "openstack-controller03"
    before = cluster.exec(node, "sha256sum", "/etc/haproxy/haproxy.cfg").stdout
    result = cluster.run("salt", "--out=json", "--static", node, "state.apply", "ha.haproxy.config",
                         'pillar={"ha": {"lookup": {"haproxy": {"user": "no-such-user"}}}}', check=False)
    states = json.loads(result.stdout)[node]
    config_state = next(body for body in states.values() if body["__id__"] == "ha-haproxy-config")
    assert config_state["result"] is False and "no-such-user" in config_state["comment"], config_state
    assert cluster.exec(node, "sha256sum", "/etc/haproxy/haproxy.cfg").stdout == before


def test_vip_moves_when_its_holder_loses_power(cluster, measure):
    lab = cluster
    holder = vip_holder(lab)
    survivors = [node for node in CONTROLLERS if node != holder]
    probe, tokens = in_node(CLIENT_NODE, GAP_PROBE, "http", STATS_URL), None
    try:
        # keystone through the VIP, measured in the same power loss.
        tokens = in_node(CLIENT_NODE, GAP_PROBE, "token", f"http://{VIP}:5000/v3",
                         secret=ha_pillar()["openstack"]["admin_password"])
        marker = f"/root/survives-power-loss-{os.getpid()}"
        lab.exec(holder, "sh", "-c", f"echo kept > {marker} && sync")
        lab.run("crash", holder)
        # bin/lab crash: the node is off at once.
        assert lab.status()[holder]["state"] == "down" and not lab.answering(holder)
        result = json.loads(last_line(probe, 150))
        token_result = json.loads(last_line(tokens, 160))
        new_holder = vip_holder(lab, survivors[0], survivors)
        assert new_holder in survivors and has_vip(lab, new_holder)
        measure(f"VIP failover after power loss of its holder {holder}: longest gap without an answer "
                f"{result['longest_gap']:.2f} s ({result['failed']} of {result['tries']} probes failed)")
        measure(f"keystone tokens through the VIP in the same power loss: longest gap without a token "
                f"{token_result['longest_gap']:.2f} s ({token_result['failed']} of {token_result['tries']} "
                "requests failed), then tokens from the survivors")
        assert result["failed"] > 0, "the crash did not interrupt the service: the probe did not measure it"
        assert result["longest_gap"] < 10
        assert token_result["failed"] > 0, "the crash did not interrupt keystone: the probe did not measure it"
        assert token_result["longest_gap"] < 30

        started = time.monotonic()
        lab.run("boot", holder)
        measure(f"bin/lab boot {holder} until its minion answers: {time.monotonic() - started:.1f} s")
        assert lab.status()[holder] == {"role": "controller", "address": ADDRESSES[holder], "state": "up",
                                        "minion": "answering"}
        assert lab.exec(holder, "hostname").stdout.strip() == holder
        assert lab.exec(holder, "cat", marker).stdout.strip() == "kept"
        wait_until(f"{holder} online again in the cluster", lambda: settled(lab, survivors[0], CONTROLLERS), 180, 1,
                   describe=lambda: crm_mon(lab, survivors[0]))
        # Stickiness: the VIP does not move back, which would cut clients again.
        assert vip_holder(lab) == new_holder
    finally:
        for process in (probe, tokens):
            if process is not None:
                process.kill()
        lab.run("boot", holder, check=False)
        wait_recovered(lab)


def test_isolated_controller_stops_its_resources(cluster, measure):
    lab = cluster
    isolated = vip_holder(lab)
    others = [node for node in CONTROLLERS if node != isolated]
    seconds = "20"
    samplers = {node: in_node(node, VIP_SAMPLER, VIP, seconds) for node in CONTROLLERS}
    # The cut lasts only as long as the checks of the isolated state need:
    # what the master publishes meanwhile (bin/lab status pings the other
    # minions, and every minion gets every publication) is retransmitted to
    # the node with TCP's back-off, which doubles with every try, so a
    # longer cut means a longer wait for its minion after heal.
    try:
        lab.run("isolate", isolated)
        cut = time.monotonic()
        # bin/lab isolate: nothing reaches the node.
        assert lab.status()[isolated]["state"] == "isolated"
        assert connect(lab, others[0], ADDRESSES[isolated]) == "unreachable"
        timelines = {node: json.loads(last_line(process, 60)) for node, process in samplers.items()}
        # The isolated side: it lost quorum and stopped the VIP and HAProxy.
        assert not has_vip(lab, isolated)
        isolated_status = crm_mon(lab, isolated)
        assert isolated_status["quorate"] is False and isolated_status["resources"].get("vip") is None
        assert lab.exec(isolated, "systemctl", "is-active", "haproxy", check=False).stdout.strip() == "inactive"
        # The majority: the VIP on exactly one of them.
        holders = [node for node in others if has_vip(lab, node)]
        assert len(holders) == 1, holders
        assert vip_holder(lab, others[0], others) == holders[0]
    finally:
        for process in samplers.values():
            process.kill()
        lab.run("heal", isolated)
    measure(f"isolation of {isolated} lasted {time.monotonic() - cut:.1f} s")

    start = timelines[isolated][0][0]
    dropped = next(t for t, present in timelines[isolated] if not present) - start
    taken = next(t for t, present in timelines[holders[0]] if present) - start
    overlap = max(0.0, dropped - taken)
    measure(f"isolation of the VIP holder {isolated}: it dropped the VIP after {dropped:.1f} s, "
            f"{holders[0]} took it after {taken:.1f} s (VIP on two nodes for {overlap:.1f} s)")
    # Both sides sampled the VIP on their own interface, on the one clock the lab's nodes share.
    assert overlap == 0, f"the VIP was on {isolated} and {holders[0]} at once: {timelines}"
    for node in others:
        if node != holders[0]:
            assert all(not present for _, present in timelines[node]), (node, timelines[node])

    # Back on the network (its neighbours may first have to resolve it again).
    wait_until(f"{isolated} to answer on the network after heal",
               lambda: connect(lab, others[0], ADDRESSES[isolated]) == "refused", 30, 0.5)
    started = time.monotonic()
    # TCP retransmits the master's unacknowledged publications at most
    # 120 s apart: the minion answers by then.
    wait_until(f"{isolated}'s minion to answer after heal", lambda: lab.answering(isolated), 150)
    measure(f"minion of {isolated} answering again after heal: {time.monotonic() - started:.1f} s")
    assert lab.status()[isolated]["state"] == "up"
    wait_until("3 controllers online again", lambda: settled(lab, others[0], CONTROLLERS), 180, 1,
               describe=lambda: crm_mon(lab, others[0]))
    assert [node for node in CONTROLLERS if has_vip(lab, node)] == [vip_holder(lab)]
    wait_recovered(lab)
