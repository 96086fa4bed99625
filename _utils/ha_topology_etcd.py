"""
The etcd part of the site's topology: ``ha:etcd``, its checks, the members
and one controller's configuration. Pure Python on top of the pillar and of
what the core topology derived (this controller, every controller); no Salt
dunders.
"""

from __future__ import annotations

from typing import Any

from ha_pillar import INT, STR, check_ports, section

CLUSTER_TOKEN = ("etcd", "cluster_token")
DEFAULTS = {"client_port": 2379, "peer_port": 2380}


def schema() -> dict:
    """The schema of ``ha:etcd`` (see ha_pillar)."""
    return {"cluster_token": STR, "client_port": INT, "peer_port": INT}


def node_ports(ha: dict) -> list[tuple[tuple[str, ...], Any]]:
    """The ports that the pillar sets for every controller's etcd at its own address, by pillar path."""
    etcd = section(ha, "etcd", DEFAULTS)
    return [(("etcd", "client_port"), etcd["client_port"]), (("etcd", "peer_port"), etcd["peer_port"])]


def check(ha: dict, errors: list[str]) -> None:
    """Report the problems of ``ha:etcd`` (a mapping or absent; its token is checked with the cluster names)."""
    check_ports("etcd", section(ha, "etcd", DEFAULTS), ("client_port", "peer_port"), errors)


def members(ha: dict, controllers: list[dict]) -> dict[str, dict]:
    """The etcd members (see ha_topology.etcd_members)."""
    etcd = section(ha, "etcd", DEFAULTS)
    return {
        n["id"]: {
            "peer_url": f"http://{n['address']}:{etcd['peer_port']}",
            "client_url": f"http://{n['address']}:{etcd['client_port']}",
        }
        for n in controllers
    }


def node(ha: dict, me: dict, controllers: list[dict], data_dir: str) -> dict:
    """etcd on controller ``me`` (see ha_topology.etcd_node)."""
    etcd = section(ha, "etcd", DEFAULTS)
    every = members(ha, controllers)
    mine = every[me["id"]]
    return {
        "environment": {
            "ETCD_NAME": me["id"],
            "ETCD_DATA_DIR": data_dir,
            "ETCD_LISTEN_PEER_URLS": mine["peer_url"],
            "ETCD_LISTEN_CLIENT_URLS": f"{mine['client_url']},http://127.0.0.1:{etcd['client_port']}",
            "ETCD_INITIAL_ADVERTISE_PEER_URLS": mine["peer_url"],
            "ETCD_ADVERTISE_CLIENT_URLS": mine["client_url"],
            "ETCD_INITIAL_CLUSTER": ",".join(f"{name}={spec['peer_url']}" for name, spec in every.items()),
            "ETCD_INITIAL_CLUSTER_TOKEN": etcd["cluster_token"],
            "ETCD_INITIAL_CLUSTER_STATE": "new",
        },
        "members": every,
    }
