"""
The chrony part of the site's topology: ``ha:chrony``, its checks and one
node's time role (server or client, its sources). Pure Python on top of the
pillar and of what the core topology derived (every node, the first
controller); no Salt dunders.
"""

from __future__ import annotations

import re

from ha_pillar import INT, STR, int_in, key, list_of, section

DEFAULTS = {"servers": [], "upstream": [], "local_stratum": 10}
SITE_SOURCE_OPTIONS = "iburst minpoll 4 maxpoll 6"
NTP_SERVER_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.:-]{0,252})$")


def schema() -> dict:
    """The schema of ``ha:chrony`` (see ha_pillar)."""
    return {"servers": list_of(STR), "upstream": list_of(STR), "local_stratum": INT}


def check(ha: dict, nodes: dict[str, dict], errors: list[str]) -> None:
    """Report the problems of ``ha:chrony`` (a mapping or absent); ``nodes``: the checked nodes by name."""
    chrony = section(ha, "chrony", DEFAULTS)
    servers = chrony["servers"]
    if not isinstance(servers, list):
        errors.append(f"{key('chrony', 'servers')}: must be a list of node names")
    else:
        for name in servers:
            # Items of another kind are the schema's.
            if isinstance(name, str) and name not in nodes:
                errors.append(f"{key('chrony', 'servers')}: {name!r} is not a node of ha:nodes")
    upstream = chrony["upstream"]
    if not isinstance(upstream, list):
        errors.append(f"{key('chrony', 'upstream')}: must be a list of NTP server names or addresses")
    else:
        for server in upstream:
            if isinstance(server, str) and not NTP_SERVER_RE.fullmatch(server):
                errors.append(f"{key('chrony', 'upstream')}: {server!r} is not a host name or address")
    if not int_in(chrony["local_stratum"], 1, 15):
        errors.append(f"{key('chrony', 'local_stratum')}: {chrony['local_stratum']!r} must be from 1 to 15")


def node(ha: dict, minion_id: str, all_nodes: list[dict], first: str) -> dict:
    """Node ``minion_id``'s chrony role (see ha_topology.chrony_node); ``first``: the first controller."""
    chrony = section(ha, "chrony", DEFAULTS)
    servers = chrony["servers"] or [first]
    address = {n["id"]: n["address"] for n in all_nodes}
    # The site's own servers are polled often (every 16 to 64 s): a node
    # that booted, or a time server that came back, is followed within a
    # minute instead of after chrony's back-off of up to 17 minutes.
    site = [{"address": address[s], "options": SITE_SOURCE_OPTIONS} for s in servers if s != minion_id]
    if minion_id in servers:
        upstream = [{"address": name, "options": "iburst"} for name in chrony["upstream"]]
        return {
            "serve": True,
            "sources": upstream + site,
            "allow": [str(ha["management_network"])],
            "local_stratum": chrony["local_stratum"],
            # Several time servers follow each other and agree on one clock
            # (orphan mode) while no upstream answers; one serves its own.
            "orphan": len(servers) > 1,
        }
    return {"serve": False, "sources": site, "allow": [], "local_stratum": None, "orphan": False}
