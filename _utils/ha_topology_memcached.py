"""
The memcached part of the site's topology: ``ha:memcached``, its checks, one
controller's memcached and every controller's server address. Pure Python on
top of the pillar and of what the core topology derived; no Salt dunders.
"""

from __future__ import annotations

from typing import Any

from ha_pillar import INT, check_ports, int_in, key, section

DEFAULTS = {"port": 11211, "memory_mb": 64, "max_connections": 1024}


def schema() -> dict:
    """The schema of ``ha:memcached`` (see ha_pillar)."""
    return {"port": INT, "memory_mb": INT, "max_connections": INT}


def node_ports(ha: dict) -> list[tuple[tuple[str, ...], Any]]:
    """The ports that the pillar sets for every controller's memcached at its own address, by pillar path."""
    return [(("memcached", "port"), section(ha, "memcached", DEFAULTS)["port"])]


def check(ha: dict, errors: list[str]) -> None:
    """Report the problems of ``ha:memcached`` (a mapping or absent)."""
    memcached = section(ha, "memcached", DEFAULTS)
    check_ports("memcached", memcached, ("port",), errors)
    if not int_in(memcached["memory_mb"], 16, 1048576):
        errors.append(f"{key('memcached', 'memory_mb')}: {memcached['memory_mb']!r} must be a size in MiB "
                      "from 16 to 1048576")
    if not int_in(memcached["max_connections"], 16, 1048576):
        errors.append(f"{key('memcached', 'max_connections')}: {memcached['max_connections']!r} must be a "
                      "number from 16 to 1048576")


def node(ha: dict, me: dict) -> dict:
    """memcached on controller ``me`` (see ha_topology.memcached_node)."""
    return {"address": me["address"], **section(ha, "memcached", DEFAULTS)}


def servers(ha: dict, controllers: list[dict]) -> list[str]:
    """Every controller's memcached as ``ADDRESS:PORT``."""
    port = section(ha, "memcached", DEFAULTS)["port"]
    return [f"{n['address']}:{port}" for n in controllers]
