"""The Galera health endpoint (salt/ha/galera/files/clustercheck.py): what it answers, and a check that HAProxy
resets before reading the answer leaves no traceback."""

from __future__ import annotations

import socket
import struct
import threading
import time
from http.server import ThreadingHTTPServer

import pytest

from tests.helpers import load_module

clustercheck = load_module("salt/ha/galera/files/clustercheck.py", "ha_clustercheck")


@pytest.fixture
def endpoint(monkeypatch):
    """The endpoint on a local port, its check 0.2 s long; server_close() waits for every handler."""
    def slow_check(config):
        time.sleep(0.2)
        return True, "Galera node is synced"
    monkeypatch.setattr(clustercheck, "check", slow_check)
    monkeypatch.setattr(clustercheck.Handler, "config", None, raising=False)
    server = ThreadingHTTPServer(("127.0.0.1", 0), clustercheck.Handler)
    server.daemon_threads, server.block_on_close = False, True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_a_synced_node_answers_200(endpoint):
    with socket.create_connection(endpoint.server_address, timeout=5) as client:
        client.sendall(b"GET / HTTP/1.0\r\n\r\n")
        answer = b""
        while chunk := client.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.0 200") and answer.endswith(b"Galera node is synced\r\n")


def test_a_check_reset_before_the_answer_leaves_no_traceback(endpoint, capsys):
    for _ in range(3):
        client = socket.create_connection(endpoint.server_address, timeout=5)
        client.sendall(b"GET / HTTP/1.0\r\n\r\n")
        # Closing with SO_LINGER 0 sends a reset, as HAProxy does after a check.
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()
    # Stopping the server waits until every handler has answered (or failed to).
    endpoint.shutdown()
    endpoint.server_close()
    assert "Traceback" not in capsys.readouterr().err
