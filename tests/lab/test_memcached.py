"""memcached deployed by ha.deploy on the lab's controllers."""

from __future__ import annotations

import pytest

from tests.lab.conftest import ADDRESSES, CLIENT_NODE, CONTROLLERS

pytestmark = pytest.mark.lab

STATS = """
import socket, sys
with socket.create_connection((sys.argv[1], 11211), timeout=5) as connection:
    connection.sendall(b"stats\\r\\n")
    data = b""
    while not data.endswith(b"END\\r\\n"):
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
print(data.decode())
"""


def stats(lab, client: str, address: str) -> dict[str, str]:
    lines = lab.exec(client, "python3", "-c", STATS, address).stdout.splitlines()
    assert "END" in lines, (client, address, lines)
    return {parts[1]: parts[2] for parts in (line.split() for line in lines) if len(parts) == 3 and parts[0] == "STAT"}


def test_stats_from_every_peer_and_the_compute_node(deployed):
    for client in [*CONTROLLERS, CLIENT_NODE]:
        for address in ADDRESSES.values():
            answer = stats(deployed, client, address)
            assert int(answer["pid"]) > 0, (client, address)
            # Size and connection limit from the pillar (1024 MiB, 4096).
            assert answer["limit_maxbytes"] == str(1024 * 1024 * 1024)
            assert answer["max_connections"] == "4096"


def test_listens_on_the_node_address_only(deployed):
    for node, address in ADDRESSES.items():
        listening = [line.split()[3] for line in deployed.exec(node, "ss", "-Htln").stdout.splitlines()
                     if line.split()[3].endswith(":11211")]
        assert listening == [f"{address}:11211"], (node, listening)
