"""Unit tests of _modules/ha_haproxy.py: show stat as the lab's VIP holder printed it, over a real UNIX socket."""

from __future__ import annotations

import csv
import io
import shutil
import socket
import socketserver
import tempfile
import threading
from pathlib import Path

import pytest
from salt.exceptions import CommandExecutionError

from tests.helpers import load_module

ha_haproxy = load_module("_modules/ha_haproxy.py", "ha_haproxy_module")
SHOW_STAT = (Path(__file__).parent / "data" / "show-stat.csv").read_text()
C01, C02, C03 = CONTROLLERS = [f"openstack-controller0{i}" for i in (1, 2, 3)]
LISTENERS = ["cinder_api", "galera", "glance_api", "horizon", "keystone_public", "neutron_api", "nova_api",
             "nova_metadata", "nova_vncproxy", "placement_api", "rabbitmq"]
DOWN = ("cinder_api", "horizon", "neutron_api")


def with_sessions(sessions: dict[tuple[str, str], int]) -> str:
    """The lab's show stat with ``scur`` set for some (listener, server) rows."""
    lines = SHOW_STAT.strip().split("\n")
    rows = list(csv.reader(lines[1:]))
    header = lines[0][2:].split(",")
    scur = header.index("scur")
    for row in rows:
        if (row[0], row[1]) in sessions:
            row[scur] = str(sessions[row[0], row[1]])
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return lines[0] + "\n" + out.getvalue() + "\n"


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        line = self.rfile.readline().decode()
        self.server.lines.append(line)
        self.wfile.write(self.server.answer(line.rstrip("\n")).encode())


class FakeHAProxy(socketserver.UnixStreamServer):
    """HAProxy's admin socket in non-interactive mode: one command line per connection, the answer, then EOF."""

    def __init__(self, path: str):
        super().__init__(path, Handler)
        self.lines: list[str] = []
        self.stat = SHOW_STAT
        self.replies: dict[str, str] = {}  # what other commands than show stat answer (default: nothing)

    def answer(self, line: str) -> str:
        return self.stat if line == "show stat" else self.replies.get(line, "")


@pytest.fixture
def socket_dir():
    # Short: a UNIX socket path has at most 107 bytes, which pytest's tmp_path may pass.
    path = tempfile.mkdtemp(prefix="hap-")
    yield Path(path)
    shutil.rmtree(path)


@pytest.fixture
def socket_path(socket_dir):
    return str(socket_dir / "admin.sock")


@pytest.fixture
def configure_loader_modules(socket_path):
    return {ha_haproxy: {"__salt__": {"ha_topology.formula_map": lambda: {"haproxy": {"stats_socket": socket_path}}}}}


@pytest.fixture
def haproxy(socket_path):
    server = FakeHAProxy(socket_path)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_virtual():
    assert ha_haproxy.__virtual__() == "ha_haproxy"


def test_parse_the_lab_show_stat():
    listeners = ha_haproxy.parse_stat(SHOW_STAT)
    # Servers only: no FRONTEND or BACKEND row, no stats page.
    assert sorted(listeners) == LISTENERS
    assert all(sorted(servers) == CONTROLLERS for servers in listeners.values())
    # Galera is active-passive: the second and third controllers are backups.
    assert listeners["galera"] == {C01: {"status": "UP", "sessions": 0, "backup": False},
                                   C02: {"status": "UP", "sessions": 0, "backup": True},
                                   C03: {"status": "UP", "sessions": 0, "backup": True}}
    assert listeners["horizon"] == {node: {"status": "DOWN", "sessions": 0, "backup": False} for node in CONTROLLERS}
    assert {name: {found["status"] for found in servers.values()} for name, servers in listeners.items()} == {
        name: {"DOWN"} if name in DOWN else {"UP"} for name in LISTENERS}


def test_parse_sessions_and_an_empty_count():
    text = with_sessions({("keystone_public", C02): 7, ("nova_api", C02): 3})
    listeners = ha_haproxy.parse_stat(text)
    assert listeners["keystone_public"][C02]["sessions"] == 7
    assert listeners["nova_api"][C02]["sessions"] == 3
    header = text.split("\n", 1)[0]
    short = header + "\ngalera,openstack-controller01" + "," * (header.count(",") - 1) + "\n"
    assert ha_haproxy.parse_stat(short) == {"galera": {C01: {"status": "", "sessions": 0, "backup": False}}}


@pytest.mark.parametrize("text", ["", "\n", "Unknown command. Please enter one of the following commands only :\n"])
def test_parse_what_is_not_show_stat(text):
    with pytest.raises(CommandExecutionError, match="^HAProxy's show stat printed no CSV header: "):
        ha_haproxy.parse_stat(text)


def test_command_over_the_socket(haproxy):
    haproxy.replies["show info"] = "Name: HAProxy\nVersion: 2.6.12\n\n"
    assert ha_haproxy.command("show info") == "Name: HAProxy\nVersion: 2.6.12\n\n"
    assert haproxy.lines == ["show info\n"]


def test_command_reads_a_long_answer_to_its_end(haproxy):
    haproxy.replies["show sess"] = "x" * 200000
    assert len(ha_haproxy.command("show sess")) == 200000


def test_command_without_haproxy(socket_path):
    with pytest.raises(CommandExecutionError) as err:
        ha_haproxy.command("show info")
    assert str(err.value) == (f"HAProxy's admin socket {socket_path} does not answer: [Errno 2] No such file or "
                              "directory (does HAProxy run on this node?)")


def test_command_that_gets_no_answer(socket_path):
    # Listening, never answering: the timeout ends the wait.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as silent:
        silent.bind(socket_path)
        silent.listen(1)
        with pytest.raises(CommandExecutionError, match=f"^HAProxy's admin socket {socket_path} does not answer: "
                                                        "timed out "):
            ha_haproxy.command("show stat", timeout=0.01)


def test_servers(haproxy):
    assert ha_haproxy.servers() == ha_haproxy.parse_stat(SHOW_STAT)
    assert haproxy.lines == ["show stat\n"]


def test_set_state_in_every_listener_of_the_server_in_one_command(haproxy):
    assert ha_haproxy.set_state(C01, "drain") == LISTENERS
    assert haproxy.lines == ["show stat\n",
                             "; ".join(f"set server {name}/{C01} state drain" for name in LISTENERS) + "\n"]


def test_set_state_answered_with_empty_lines_is_done(haproxy):
    line = "; ".join(f"set server {name}/{C02} state ready" for name in LISTENERS)
    haproxy.replies[line] = "\n\n"
    assert ha_haproxy.set_state(C02, "ready") == LISTENERS


def test_set_state_only_in_the_listeners_of_the_server(haproxy):
    lines = SHOW_STAT.strip().split("\n")
    haproxy.stat = "\n".join(line for line in lines if not line.startswith(("horizon,", "galera,"))
                             or not line.split(",")[1] == C03) + "\n"
    assert ha_haproxy.set_state(C03, "maint") == [name for name in LISTENERS if name not in ("galera", "horizon")]


def test_set_state_refuses_an_unknown_state_before_asking(haproxy):
    with pytest.raises(CommandExecutionError, match="^state must be one of ready, drain, maint, not 'stopped'$"):
        ha_haproxy.set_state(C01, "stopped")
    assert haproxy.lines == []


def test_set_state_of_a_server_no_listener_has(haproxy):
    with pytest.raises(CommandExecutionError, match="^no HAProxy listener here has a server openstack-compute01$"):
        ha_haproxy.set_state("openstack-compute01", "drain")
    assert haproxy.lines == ["show stat\n"]


def test_set_state_refused_by_haproxy(haproxy):
    line = "; ".join(f"set server {name}/{C01} state maint" for name in LISTENERS)
    haproxy.replies[line] = "No such server.\n\n"
    with pytest.raises(CommandExecutionError, match=f"^HAProxy refused to set {C01} maint: No such server.$"):
        ha_haproxy.set_state(C01, "maint")


def test_sessions_over_every_listener(haproxy):
    haproxy.stat = with_sessions({("keystone_public", C02): 7, ("nova_api", C02): 3, ("nova_api", C01): 100})
    assert ha_haproxy.sessions(C02) == 10
    assert ha_haproxy.sessions(C03) == 0
    assert ha_haproxy.sessions("openstack-compute01") == 0


def test_shutdown_sessions(haproxy):
    assert ha_haproxy.shutdown_sessions(C02) == LISTENERS
    assert haproxy.lines == ["show stat\n",
                             "; ".join(f"shutdown sessions server {name}/{C02}" for name in LISTENERS) + "\n"]


def test_shutdown_sessions_of_an_unknown_server_sends_nothing(haproxy):
    assert ha_haproxy.shutdown_sessions("openstack-compute01") == []
    assert haproxy.lines == ["show stat\n"]


def test_servers_without_haproxy_raise(socket_path):
    with pytest.raises(CommandExecutionError, match="does HAProxy run on this node"):
        ha_haproxy.servers()
