"""
Pacemaker/Corosync, the VIP and HAProxy deployed by ha.deploy on the lab's
controllers: cluster status, constraints, services through the VIP, the VIP
holder's power loss and a controller cut off the network.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
import yaml

from lab import config
from tests.lab.conftest import (
    ADDRESSES,
    CLIENT_NODE,
    CONTROLLERS,
    LAB,
    REJOIN_MAX,
    Lab,
    cluster_events,
    connect,
    crm_mon,
    settled,
    status,
    vip_holder,
    wait_recovered,
    wait_until,
)

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

# Measures an outage from a lab node: polls a check every 0.1 s, prints
# "armed" after its first success, then runs until it has seen failures
# followed by 5 s of successes, or until its deadline (150 s), and prints
# as JSON the longest time without a success, the wall-clock time when that
# gap ended, and the counts. Checks: "http URL" (connected within 0.2 s, an
# HTTP answer within 0.5 s that is not a server error: 401 counts, HAProxy's
# 503 does not), "mysql HOST:PORT" (connected within 0.2 s, MariaDB's
# greeting within 0.5 s, then the connection is dropped: the probe of the
# lock-out that issue 13 describes) and "token URL" (a client: connected
# within 0.2 s, keystone issues the admin a token within 1.5 s; the
# password on standard input).
GAP_PROBE = """
import json, socket, sys, time, urllib.parse
from http.client import HTTPConnection, HTTPException
kind, url = sys.argv[1:3]
secret = sys.stdin.readline().rstrip("\\n")
# Why the last check failed, for the report: the exception, or the answer.
why = ""
def failed_by(reason):
    global why
    why = reason if isinstance(reason, str) else f"{type(reason).__name__}: {reason}"[:80]
    return False
def connect(host, port):
    # A listener probe waits 0.2 s for the connection: a SYN sent while no
    # node held the VIP is lost, and waiting longer for it would add the
    # probe's own timeout to the gap it measures. Then 0.5 s for the answer.
    s = socket.create_connection((host, port), timeout=0.2)
    s.settimeout(0.5)
    return s
def http():
    parts = urllib.parse.urlsplit(url)
    connection = HTTPConnection(parts.hostname, parts.port or 80)
    try:
        connection.sock = connect(parts.hostname, parts.port or 80)
        connection.request("GET", parts.path or "/")
        status = connection.getresponse().status
        return status < 500 or failed_by(f"answer {status}")
    except OSError as error:
        return failed_by(error)
    finally:
        connection.close()
def mysql():
    host, port = url.rsplit(":", 1)
    try:
        with connect(host, int(port)) as s:
            greeting = s.recv(64)
            return greeting[4:5] == b"\\x0a" or failed_by(f"no greeting: {greeting[:16]!r}")
    except OSError as error:
        return failed_by(error)
body = json.dumps({"auth": {"identity": {"methods": ["password"], "password": {"user": {
    "name": "admin", "domain": {"name": "Default"}, "password": secret}}},
    "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}).encode()
def token():
    parts = urllib.parse.urlsplit(url)
    connection = HTTPConnection(parts.hostname, parts.port or 80)
    try:
        # Connected as the listener probes are (a SYN lost while no node held
        # the VIP is not waited for), then 1.5 s for keystone's answer.
        connection.sock = connect(parts.hostname, parts.port or 80)
        connection.sock.settimeout(1.5)
        connection.request("POST", parts.path + "/auth/tokens", body, {"Content-Type": "application/json"})
        answer = connection.getresponse()
        return (answer.status == 201 and bool(answer.getheader("X-Subject-Token"))) or failed_by(
            f"answer {answer.status}")
    except (OSError, HTTPException) as error:
        return failed_by(error)
    finally:
        connection.close()
check = {"http": http, "mysql": mysql, "token": token}[kind]
deadline = time.monotonic() + 150
while not check():
    if time.monotonic() > deadline:
        sys.exit("never succeeded")
    time.sleep(0.1)
print("armed", flush=True)
last_ok, longest, ended, tries, failed, back_since = time.monotonic(), 0.0, time.time(), 0, 0, None
failures = []
while time.monotonic() < deadline:
    tries += 1
    if check():
        now = time.monotonic()
        if now - last_ok > longest:
            longest, ended = now - last_ok, time.time()
        last_ok = now
        if failed and back_since is None:
            back_since = now
        if back_since is not None and now - back_since > 5:
            break
    else:
        failed += 1
        failures.append([round(time.time(), 2), why])
        back_since = None
    time.sleep(0.1)
print(json.dumps({"longest_gap": round(longest, 2), "ended": ended, "tries": tries, "failed": failed,
                  "failures": failures[:20]}), flush=True)
"""

# Aborts COUNT handshakes on HOST:PORT in every way a client can: closed
# before MariaDB's greeting or after it, reset (RST) before or after it, a
# malformed reply to the greeting, and held silent until the server's
# connect_timeout ends it. Prints how many of each as JSON.
ABORTER = """
import json, socket, struct, sys, time
host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
modes = ["close_before_greeting", "close_after_greeting", "reset_before_greeting", "reset_after_greeting",
         "bad_reply", "server_timeout"]
done = dict.fromkeys(modes, 0)
held = []
def reset(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
for i in range(count):
    mode = modes[i % len(modes)]
    s = socket.create_connection((host, port), timeout=5)
    if mode == "close_before_greeting":
        s.close()
    elif mode == "reset_before_greeting":
        reset(s)
    else:
        greeting = s.recv(4096)
        if greeting[4:5] == b"\\xff":
            # An error packet instead of the greeting: the server refused us.
            done["refused"] = done.get("refused", 0) + 1
            s.close()
            continue
        assert greeting[4:5] == b"\\x0a", greeting
        if mode == "close_after_greeting":
            s.close()
        elif mode == "reset_after_greeting":
            reset(s)
        elif mode == "bad_reply":
            s.sendall(b"\\x05\\x00\\x00\\x01abcde")
            s.close()
        else:
            held.append(s)
    done[mode] += 1
# The server ends the silent ones after its connect_timeout (10 s).
deadline = time.monotonic() + 60
for s in held:
    s.settimeout(max(0.1, deadline - time.monotonic()))
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
    s.close()
print(json.dumps(done), flush=True)
"""
# Whether MariaDB at HOST:PORT greets a new connection ("greeting") or
# refuses it with an error packet ("error CODE").
GREETED = """
import socket, struct, sys
with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5) as s:
    packet = s.recv(4096)
print("greeting" if packet[4:5] == b"\\x0a" else f"error {struct.unpack('<H', packet[5:7])[0]}")
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


def stop(process: subprocess.Popen | None) -> None:
    """End a script started by in_node: its standard input closes (the writer stops on that) and bin/lab exec
    is killed."""
    if process is None:
        return
    if not process.stdin.closed:
        process.stdin.close()
    process.kill()
    process.wait()


def last_line(process: subprocess.Popen, timeout: float) -> str:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    assert process.returncode == 0, err
    return out.strip().splitlines()[-1]


# The OpenStack APIs' HAProxy listeners and backend ports.
APIS = {"keystone_public": 5000, "glance_api": 9292, "placement_api": 8778, "nova_api": 8774,
        "nova_metadata": 8775}


def backends_not_up(lab) -> list[str]:
    """Every API backend that HAProxy on the VIP holder does not see UP, from its stats page."""
    stats = ha_pillar()["haproxy"]["stats"]
    code, *csv = http(lab, STATS_URL + ";csv", stats["user"], stats["password"], body=True)
    if code != "200":
        return [f"stats page: {code}"]
    header = csv[0].lstrip("# ").split(",")
    rows = [dict(zip(header, line.split(","), strict=False)) for line in csv[1:] if line]
    status = {(row["pxname"], row["svname"]): row["status"] for row in rows}
    return [f"{listener}/{node}: {status.get((listener, node))}" for listener in APIS for node in CONTROLLERS
            if status.get((listener, node)) != "UP"]


@pytest.fixture(scope="module")
def cluster(deployed):
    vip_holder(deployed)
    return deployed


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
        # The formula's totem timing, and corosync at realtime priority.
        assert cluster.exec(node, "corosync-cmapctl", "-g", "totem.token").stdout.split()[-1] == "500"
        assert cluster.exec(node, "corosync-cmapctl", "-g", "totem.token_coefficient").stdout.split()[-1] == "0"
        policy = cluster.exec(node, "sh", "-c", "chrt -p $(pidof corosync)").stdout
        assert "SCHED_RR" in policy, policy
        nice = cluster.exec(node, "ps", "-o", "ni=", "-C", "pacemaker-controld").stdout.split()
        assert nice == ["-10"], nice
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
        "ip": VIP, "cidr_netmask": "24", "run_arping": "false"}
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
    # The VIP avoids the DC, less than it sticks where it is.
    locations = [(c.get("rsc"), rule.get("score"), *(e.get(k) for e in rule for k in ("attribute", "operation",
                                                                                       "value")))
                 for c in constraints.findall("rsc_location") for rule in c.findall("rule")]
    assert locations == [("vip", "50", "#is_dc", "ne", "true")]


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


def galera_pinned(lab) -> str | None:
    """The server that the Galera listener's stick table pins every client to, in the VIP holder's HAProxy."""
    holder = vip_holder(lab)
    table = json.loads(lab.run("salt", "--out=json", "--static", holder, "ha_haproxy.command",
                               "show table galera").stdout)[holder]
    return next((word.split("=", 1)[1] for word in table.split() if word.startswith("server_key=")), None)


def test_galera_through_the_vip_reaches_one_server(sql_client):
    """
    Every client through the VIP reaches one Galera node: the first
    controller on a new cluster (the others are backups), and after a
    failover or a rolling restart the one that took the writers over (the
    stick table keeps them there: writers never split across two nodes).
    """
    password = ha_pillar()["galera"]["databases"]["keystone"]["password"]
    reached = {sql_client.exec(CLIENT_NODE, "python3", "-c", SQL_CLIENT, VIP, "keystone", "SELECT @@wsrep_node_name",
                               input=password + "\n").stdout.strip() for _ in range(3)}
    assert len(reached) == 1 and reached == {galera_pinned(sql_client)}, reached
    if not any(verb in ("crash", "isolate", "rolling_restart") for _, verb, _ in sql_client.faults):
        assert reached == {"openstack-controller01"}


def aborted_connects(lab) -> int:
    """MariaDB's count of aborted handshakes, summed over the controllers."""
    total = 0
    for node in CONTROLLERS:
        rows = lab.exec(node, "mysql", "-N", "-B", input="SHOW GLOBAL STATUS LIKE 'Aborted_connects';").stdout
        total += int(rows.split()[1])
    return total


# A MariaDB with its packaged defaults (a host cache, names resolved,
# max_connect_errors 100) beside the cluster on a spare port of
# controller03: the control that shows the aborter's handshakes block an
# address where the formula's settings are missing.
CONTROL_NODE, CONTROL_PORT = "openstack-controller03", "3307"
CONTROL_SERVER = ["systemd-run", "--unit=ha-lockout-control", "--quiet", "--collect", "--property=User=mysql",
                  "mariadbd", "--no-defaults", "--datadir=/tmp/ha-lockout/data", f"--port={CONTROL_PORT}",
                  f"--bind-address={ADDRESSES[CONTROL_NODE]}", "--socket=/tmp/ha-lockout/socket",
                  "--skip-log-bin", "--innodb-buffer-pool-size=16M"]


def test_aborted_handshakes_never_lock_the_services_out(sql_client, measure):
    """
    1,000 handshakes aborted on the VIP's port 3306 in every way a client
    can: MariaDB counts them, yet every service still reaches its database
    through the VIP and keystone still issues tokens. The same client
    blocks the address of a MariaDB with the packaged settings.
    """
    lab = sql_client
    pillar = ha_pillar()
    before = aborted_connects(lab)
    done = json.loads(lab.exec(CLIENT_NODE, "python3", "-c", ABORTER, VIP, "3306", "1000").stdout.splitlines()[-1])
    counted = aborted_connects(lab) - before
    measure(f"1000 handshakes aborted on the VIP's port 3306 ({done}): MariaDB counted {counted} aborted connects")
    assert sum(done.values()) == 1000 and all(done.values()) and "refused" not in done, done
    assert counted >= 500, f"MariaDB counted only {counted} of the aborted handshakes: the test did not test"
    for user, spec in pillar["galera"]["databases"].items():
        out = lab.exec(CLIENT_NODE, "python3", "-c", SQL_CLIENT, VIP, user, "SELECT CURRENT_USER()",
                       input=spec["password"] + "\n").stdout.strip()
        assert out.startswith(f"{user}@"), (user, out)
    token = lab.exec(CLIENT_NODE, "python3", "-c", GAP_PROBE.split("check = ")[0] + "print(token())",
                     "token", f"http://{VIP}:5000/v3", input=pillar["openstack"]["admin_password"] + "\n")
    assert token.stdout.strip() == "True", token.stdout + token.stderr

    # The control: the packaged settings block the aborter's address.
    control = ADDRESSES[CONTROL_NODE]
    try:
        lab.exec(CONTROL_NODE, "sh", "-c", "mkdir -p /tmp/ha-lockout && chown mysql: /tmp/ha-lockout && "
                 "mariadb-install-db --no-defaults --user=mysql --datadir=/tmp/ha-lockout/data >/dev/null")
        lab.exec(CONTROL_NODE, *CONTROL_SERVER)
        wait_until("the control MariaDB to greet", lambda: lab.exec(
            CONTROL_NODE, "python3", "-c", GREETED, control, CONTROL_PORT, check=False).stdout.strip() == "greeting",
            60, 0.5)
        lab.exec(CONTROL_NODE, "python3", "-c", ABORTER, control, CONTROL_PORT, "120")
        refused = lab.exec(CONTROL_NODE, "python3", "-c", GREETED, control, CONTROL_PORT).stdout.strip()
        measure(f"the same client against a MariaDB with the packaged settings: after 120 aborted handshakes "
                f"a new connection gets {refused!r}")
        # ER_HOST_IS_BLOCKED
        assert refused == "error 1129"
    finally:
        lab.exec(CONTROL_NODE, "systemctl", "stop", "ha-lockout-control", check=False)
        lab.exec(CONTROL_NODE, "rm", "-rf", "/tmp/ha-lockout", check=False)


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


# The resources' failure-timeout (ha:pacemaker:failure_timeout, the formula's default in the lab).
FAILURE_TIMEOUT = 60


def failed_actions(lab, node: str) -> list[str]:
    """The failed actions crm_mon lists on ``node``."""
    status = crm_mon(lab, node)
    assert status is not None, f"{node}: crm_mon gave no cluster status"
    return status["failed"]


def test_a_failure_is_forgotten_after_the_failure_timeout(cluster, measure):
    """A failed monitor of HAProxy (injected, as a node too busy to answer in time fails it): Pacemaker
    starts HAProxy there again at once and forgets the failure by itself failure_timeout later, so ha.status
    is healthy again with no pcs resource cleanup; the VIP stays where it is."""
    holder = vip_holder(cluster)
    node = next(n for n in CONTROLLERS if n != holder)
    cluster.exec(node, "crm_resource", "--fail", "--resource", "lb-haproxy", "--node", node)
    failed_at = time.monotonic()
    try:
        listed = wait_until("the failure listed", lambda: failed_actions(cluster, node), 30, 1)
        assert all(line.endswith(f"on {node}") for line in listed), listed
        wait_until(f"HAProxy started again on {node}", lambda: node in (crm_mon(cluster, node) or {}).get(
            "resources", {}).get("lb-haproxy", []), 60, 1)
        code, report, _ = status(cluster)
        assert code != 0 and any("failed action" in line for line in report["components"]["pacemaker"]["problems"])
        wait_until("the failure forgotten", lambda: not failed_actions(cluster, node), FAILURE_TIMEOUT + 45, 2,
                   describe=lambda: failed_actions(cluster, node))
        forgotten = time.monotonic() - failed_at
    finally:
        cluster.exec(node, "pcs", "resource", "cleanup", "lb-haproxy", check=False)
    measure(f"an injected HAProxy failure on {node} forgotten after {forgotten:.0f} s (failure-timeout "
            f"{FAILURE_TIMEOUT} s)")
    # Forgotten for its age, not by anything before it.
    assert forgotten >= FAILURE_TIMEOUT - 5
    assert vip_holder(cluster) == holder
    code, report, _ = status(cluster)
    assert code == 0, report


def test_invalid_haproxy_config_is_never_installed(cluster):
    node = "openstack-controller03"
    before = cluster.exec(node, "sha256sum", "/etc/haproxy/haproxy.cfg").stdout
    result = cluster.run("salt", "--out=json", "--static", node, "state.apply", "ha.haproxy.config",
                         'pillar={"ha": {"lookup": {"haproxy": {"user": "no-such-user"}}}}', check=False)
    states = json.loads(result.stdout)[node]
    config_state = next(body for body in states.values() if body["__id__"] == "ha-haproxy-config")
    assert config_state["result"] is False and "no-such-user" in config_state["comment"], config_state
    assert cluster.exec(node, "sha256sum", "/etc/haproxy/haproxy.cfg").stdout == before


# From the crash of the VIP holder until the VIP's Galera and keystone
# listeners answer again, and until a client gets a keystone token: issue
# 13's 2.5 s and 4 s. The listeners measured 1.5 to 1.7 s since the DC waits
# 150 ms (transition-delay) before its scheduler; 2.4 to 2.8 s before, when
# Pacemaker 2.1.5 first slept its 1 s (README, "Failover"). A token: 1.9 to
# 2.1 s (2.0 to 3.7 s before).
LISTENER_GAP_MAX = 2.5
TOKEN_GAP_MAX = 4.0


@pytest.mark.parametrize("round_", [1, 2, 3])
def test_vip_holder_power_loss(cluster, measure, round_):
    """
    Power loss of the VIP holder while a client on the compute node probes
    the VIP's Galera listener (greeting, then drop: the probe of the
    lock-out), keystone's listener and keystone's tokens; then the node
    boots and every cluster is whole again without an operator.
    """
    lab = cluster
    holder = vip_holder(lab)
    survivors = [node for node in CONTROLLERS if node != holder]
    probes: dict[str, subprocess.Popen] = {}
    try:
        probes["galera"] = in_node(CLIENT_NODE, GAP_PROBE, "mysql", f"{VIP}:3306")
        probes["keystone"] = in_node(CLIENT_NODE, GAP_PROBE, "http", f"http://{VIP}:5000/v3")
        probes["token"] = in_node(CLIENT_NODE, GAP_PROBE, "token", f"http://{VIP}:5000/v3",
                                  secret=ha_pillar()["openstack"]["admin_password"])
        marker = f"/root/survives-power-loss-{os.getpid()}"
        lab.exec(holder, "sh", "-c", f"echo kept > {marker} && sync")
        crashed = time.time()
        lab.run("crash", holder)
        # bin/lab crash: the node is off at once.
        assert lab.status()[holder]["state"] == "down" and not lab.answering(holder)
        gaps = {name: json.loads(last_line(process, 170)) for name, process in probes.items()}
        for gap in gaps.values():
            # Each failed probe as (seconds after the crash, why), for a gap over its bound.
            gap["failures"] = [(round(moment - crashed, 2), why) for moment, why in gap["failures"]]
        new_holder = vip_holder(lab, survivors[0], survivors)
        assert new_holder in survivors and has_vip(lab, new_holder)
        events = cluster_events(lab)
        membership = next((t for t, _ in events["left"] if t >= crashed - 1), None)
        started = next((t for t, node in events["vip"] if t >= crashed - 1 and node == new_holder), None)
        def after(moment: float | None) -> str:
            return "(not in the journals)" if moment is None else f"{moment - crashed:.2f} s"

        measure(f"power loss of the VIP holder {holder} (round {round_}): membership without it after "
                f"{after(membership)}, VIP started on {new_holder} after {after(started)}; "
                + ", ".join(f"{name} back after {after(gap['ended'])} (longest gap {gap['longest_gap']:.2f} s, "
                            f"{gap['failed']} of {gap['tries']} probes failed)" for name, gap in gaps.items()))
        for name, gap in gaps.items():
            assert gap["failed"] > 0, f"the crash did not interrupt {name}: the probe did not measure it"
        assert gaps["galera"]["longest_gap"] <= LISTENER_GAP_MAX, gaps
        assert gaps["keystone"]["longest_gap"] <= LISTENER_GAP_MAX, gaps
        assert gaps["token"]["longest_gap"] <= TOKEN_GAP_MAX, gaps

        lab.run("boot", holder)
        booted = time.monotonic()
        assert lab.status()[holder] == {"role": "controller", "address": ADDRESSES[holder], "state": "up",
                                        "minion": "answering"}
        assert lab.exec(holder, "hostname").stdout.strip() == holder
        assert lab.exec(holder, "cat", marker).stdout.strip() == "kept"
        wait_until(f"{holder} online again in the cluster", lambda: settled(lab, survivors[0], CONTROLLERS),
                   REJOIN_MAX, 1, describe=lambda: crm_mon(lab, survivors[0]))
        slowest = wait_recovered(lab, REJOIN_MAX - (time.monotonic() - booted))
        # The services survived: every API of every controller answers HAProxy's checks again.
        wait_until("every API backend UP", lambda: not backends_not_up(lab),
                   max(10.0, REJOIN_MAX - (time.monotonic() - booted)), 2, describe=lambda: backends_not_up(lab))
        measure(f"{holder} booted (round {round_}): every cluster whole and every API backend UP after "
                f"{time.monotonic() - booted:.1f} s (not whole: {slowest or 'none'})")
        # Stickiness: the VIP does not move back, which would cut clients again.
        assert vip_holder(lab) == new_holder
    finally:
        for process in probes.values():
            stop(process)
        lab.run("boot", holder, check=False)
        wait_recovered(lab)


def test_first_controller_power_loss_heals_without_a_deploy(cluster, measure):
    """The first controller (Galera's and RabbitMQ's first node) loses power and boots: every cluster is whole
    again within 120 s of the boot, with no deploy run."""
    lab, first = cluster, CONTROLLERS[0]
    try:
        lab.run("crash", first)
        wait_until("the survivors to lose the first controller",
                   lambda: settled(lab, CONTROLLERS[1], CONTROLLERS[1:]), 60, 0.5)
        lab.run("boot", first)
        booted = time.monotonic()
        slowest = wait_recovered(lab, REJOIN_MAX)
        measure(f"power loss of the first controller {first}: every cluster whole "
                f"{time.monotonic() - booted:.1f} s after its boot (not whole: {slowest or 'none'})")
    finally:
        lab.run("boot", first, check=False)
        wait_recovered(lab)


# Writes through the VIP as the test account (password on the first line
# of standard input) until its standard input closes or SECONDS pass,
# reconnecting whenever a write fails; prints "armed" after 20 acknowledged
# inserts, then, as JSON, every acknowledged id and the longest time
# between two acknowledgements.
WRITER = """
import json, sys, threading, time, pymysql
host, seconds = sys.argv[1], float(sys.argv[2])
password = sys.stdin.readline().strip()
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
deadline = time.monotonic() + seconds
acked, last, longest, connection = [], time.monotonic(), 0.0, None
while time.monotonic() < deadline and not stop.is_set():
    try:
        if connection is None:
            connection = pymysql.connect(host=host, user="hatest", password=password, database="hatest",
                                         autocommit=True, connect_timeout=1, read_timeout=2, write_timeout=2)
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO acked (note) VALUES ('isolation')")
            acked.append(cursor.lastrowid)
        now = time.monotonic()
        longest, last = max(longest, now - last), now
        if len(acked) == 20:
            print("armed", flush=True)
    except Exception:
        try:
            connection.close()
        except Exception:
            pass
        connection = None
        time.sleep(0.05)
print(json.dumps({"acked": acked, "longest_stall": round(longest, 2)}), flush=True)
"""
# How long a controller is cut off, and the bound on the clusters being
# whole again after the heal (issue 13).
ISOLATION_SECONDS = 60
HEALED_MAX = 120


@contextlib.contextmanager
def writer_and_samplers(password: str, writer_seconds: float) -> Iterator[tuple[subprocess.Popen, dict]]:
    """WRITER on the client node through the VIP for at most ``writer_seconds``, and every controller sampling
    the VIP on its own interface for the cut and 2 s: yields (writer, {node: sampler}); all stopped in the
    end."""
    writer, samplers = None, {}
    try:
        writer = in_node(CLIENT_NODE, WRITER, VIP, str(writer_seconds), secret=password)
        for node in CONTROLLERS:
            samplers[node] = in_node(node, VIP_SAMPLER, VIP, str(ISOLATION_SECONDS + 2))
        yield writer, samplers
    finally:
        for process in [writer, *samplers.values()]:
            stop(process)


@contextlib.contextmanager
def cut_off(lab: Lab, node: str) -> Iterator[float]:
    """``node`` cut off (bin/lab isolate) until the block ends, healed even when it fails; yields the
    monotonic time of the cut."""
    try:
        lab.run("isolate", node)
        yield time.monotonic()
    finally:
        lab.run("heal", node, check=False)


@pytest.mark.parametrize("which", ["vip_holder", "first_controller"])
def test_controller_cut_off_for_a_minute(cluster, writer_account, measure, which):
    """
    The VIP holder, and in a second run the first controller while it does
    not hold the VIP, cut off for 60 s while a client on the compute node
    writes through the VIP: the majority keeps or takes the VIP, the cut-off
    node drops it, the VIP is never on two nodes, no acknowledged write is
    lost, and every cluster is whole within 120 s of the heal.
    """
    lab = cluster
    holder = vip_holder(lab)
    isolated = holder if which == "vip_holder" else CONTROLLERS[0]
    if which == "first_controller" and holder == isolated:
        # Move the VIP away first (a move the audit must know of).
        target = CONTROLLERS[1]
        lab.faults.append((time.time(), "move", target))
        lab.exec(target, "pcs", "resource", "move", "vip", target)
        lab.exec(target, "pcs", "resource", "clear", "vip")
        holder = wait_until("the VIP on its new node", lambda: vip_holder(lab) == target and target, 60)
    others = [node for node in CONTROLLERS if node != isolated]
    with writer_and_samplers(writer_account, ISOLATION_SECONDS + HEALED_MAX + 30) as (writer, samplers):
        with cut_off(lab, isolated) as cut:
            # bin/lab isolate: nothing reaches the node.
            assert lab.status()[isolated]["state"] == "isolated"
            assert connect(lab, others[0], ADDRESSES[isolated]) == "unreachable"
            timelines = {node: json.loads(last_line(process, ISOLATION_SECONDS + 30))
                         for node, process in samplers.items()}
            # The cut-off side lost quorum and stopped the VIP and HAProxy.
            assert not has_vip(lab, isolated)
            isolated_status = crm_mon(lab, isolated)
            assert isolated_status["quorate"] is False and isolated_status["resources"].get("vip") is None
            assert lab.exec(isolated, "systemctl", "is-active", "haproxy", check=False).stdout.strip() == "inactive"
            # The majority: the VIP on exactly one of them.
            holders = [node for node in others if has_vip(lab, node)]
            assert len(holders) == 1, holders
            wait_until("the end of the cut", lambda: time.monotonic() - cut >= ISOLATION_SECONDS, 30, 0.5)
        healed = time.monotonic()
        slowest = wait_recovered(lab, HEALED_MAX)
        whole_after = time.monotonic() - healed
        # Closing its standard input ends the writer.
        result = json.loads(last_line(writer, 60))
    # wsrep_sync_wait: the read sees every write the cluster committed.
    stored = {int(line) for line in lab.exec(others[0], "mysql", "-N", "-B", input=(
        "SET SESSION wsrep_sync_wait = 1; SELECT id FROM hatest.acked;")).stdout.split()}
    lost = sorted(set(result["acked"]) - stored)

    start = timelines[isolated][0][0]
    dropped = next((t - start for t, present in timelines[isolated] if not present), None)
    taken = next((t - start for t, present in timelines[holders[0]] if present), None)
    overlap = max(0.0, dropped - taken) if which == "vip_holder" else 0.0
    measure(f"{isolated} ({which.replace('_', ' ')}) cut off for {ISOLATION_SECONDS} s: "
            + (f"it dropped the VIP after {dropped:.1f} s, {holders[0]} took it after {taken:.1f} s; "
               if which == "vip_holder" else f"the VIP stayed on {holders[0]}; ")
            + f"{len(result['acked'])} writes acknowledged, {len(lost)} lost, longest write stall "
            f"{result['longest_stall']:.2f} s; every cluster whole {whole_after:.1f} s after the heal "
            f"(not whole: {slowest or 'none'})")
    assert lost == [], f"acknowledged writes lost: {lost[:20]}"
    # Both sides sampled the VIP on their own interface, on the one clock the lab's nodes share.
    assert overlap == 0, f"the VIP was on {isolated} and {holders[0]} at once: {timelines}"
    for node in others:
        if node != holders[0]:
            assert all(not present for _, present in timelines[node]), (node, timelines[node])
    if which == "first_controller":
        assert holders == [holder] and all(present for _, present in timelines[holder]), timelines
        assert not any(present for _, present in timelines[isolated]), timelines

    # The minion: TCP retransmits the master's unacknowledged publications
    # at most 120 s apart, so it answers by then.
    started = time.monotonic()
    wait_until(f"{isolated}'s minion to answer after heal", lambda: lab.answering(isolated), 150)
    measure(f"minion of {isolated} answering again after heal: {time.monotonic() - started:.1f} s")
    assert lab.status()[isolated]["state"] == "up"
    assert [node for node in CONTROLLERS if has_vip(lab, node)] == [vip_holder(lab)]
