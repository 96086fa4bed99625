"""
The etcd part of the site's topology: ``ha:etcd``, its checks, the members
and one controller's configuration. Pure Python on top of the pillar and of
what the core topology derived (this controller, every controller); no Salt
dunders.
"""

from __future__ import annotations

import hashlib
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


def cluster_token(ha: dict) -> str:
    """The cluster token of ``ha:etcd``: part of every member id of a new cluster."""
    return section(ha, "etcd", DEFAULTS)["cluster_token"]


def bootstrap_id(peer_urls: list[str], token: str) -> str:
    """
    The id etcd gives a member of a new cluster (initial state ``new``), in
    hex as ha_etcd.members prints it: the first 8 bytes of the SHA-1 of its
    sorted peer URLs joined, then the cluster token (etcd's computeMemberID
    without a time; a member added to a running cluster has the time in it).
    """
    digest = hashlib.sha1(("".join(sorted(peer_urls)) + token).encode()).digest()
    return format(int.from_bytes(digest[:8], "big"), "x")


def created_id(member_ids: list[str]) -> str:
    """
    The id etcd gives a new cluster of the members ``member_ids`` (hex), as
    ha_etcd.cluster_id prints it: the first 8 bytes of the SHA-1 of their
    ids, sorted, each as 8 big-endian bytes (etcd's RaftCluster.genID).
    """
    packed = b"".join(number.to_bytes(8, "big") for number in sorted(int(member_id, 16) for member_id in member_ids))
    return format(int.from_bytes(hashlib.sha1(packed).digest()[:8], "big"), "x")


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
        },
        "new_cluster": {
            "ETCD_INITIAL_CLUSTER": initial_cluster({name: spec["peer_url"] for name, spec in every.items()}),
            "ETCD_INITIAL_CLUSTER_TOKEN": cluster_token(ha),
            "ETCD_INITIAL_CLUSTER_STATE": "new",
        },
        "members": every,
    }


def initial_cluster(peers: dict[str, str] | list[tuple[str, str]]) -> str:
    """ETCD_INITIAL_CLUSTER of members ``{name: peer URL}`` or ``[(name, peer URL)]``, in their order."""
    pairs = peers.items() if isinstance(peers, dict) else peers
    return ",".join(f"{name}={url}" for name, url in pairs)


def joining(listed: list[dict], expected: dict[str, dict], me: str, token: str,
            cluster_id: str | None = None) -> dict[str, str]:
    """
    The initial settings of ``me`` starting with a running cluster whose
    member list (``ha_etcd.members``, ``me`` already in it) is ``listed``:

    - ``me`` added to it (``ha_etcd.member_add``): the cluster as it is,
      state ``existing``;
    - ``me`` one of the members the cluster was created with (its id is the
      one etcd derives from its peer URLs and ``token``) that never started
      (no client URL): the other members of a new cluster started first. It
      starts as one of them, state ``new``, with the members of the listing
      that the cluster was created with, provided that they give the
      running cluster's id ``cluster_id`` (none of them removed since); a
      member of a new cluster started as ``existing`` hangs at its first
      start.

    A member not started has no name yet: it is named after the expected
    member with its peer URL. Raises ValueError for a member that cannot be
    named, a name that two members have, or ``me`` missing.
    """
    by_url = {spec["peer_url"]: name for name, spec in expected.items()}
    named: list[tuple[str, dict]] = []
    owners: dict[str, str] = {}
    problems = []
    for member in listed:
        name = member["name"] or next((by_url[url] for url in member["peer_urls"] if url in by_url), "")
        if not name:
            problems.append(f"no controller has the peer URL of member {member['id']} {member['peer_urls']}")
            continue
        if owners.setdefault(name, member["id"]) != member["id"]:
            problems.append(f"members {owners[name]} and {member['id']} are both {name}: remove the stale one "
                            "(etcdctl member remove)")
        named.append((name, member))
    if me not in owners:
        problems.append(f"{me} is not a member")
    if problems:
        raise ValueError("; ".join(problems))

    def created_with(member: dict) -> bool:
        return member["id"] == bootstrap_id(member["peer_urls"], token)

    mine = next(member for name, member in named if name == me)
    created = [(name, member) for name, member in named if created_with(member)]
    if not mine["client_urls"] and created_with(mine) and cluster_id is not None \
            and created_id([member["id"] for _, member in created]) == cluster_id:
        pairs = [(name, url) for name, member in created for url in member["peer_urls"]]
        return {"ETCD_INITIAL_CLUSTER": initial_cluster(pairs), "ETCD_INITIAL_CLUSTER_STATE": "new"}
    pairs = [(name, url) for name, member in named for url in member["peer_urls"]]
    return {"ETCD_INITIAL_CLUSTER": initial_cluster(pairs), "ETCD_INITIAL_CLUSTER_STATE": "existing"}
