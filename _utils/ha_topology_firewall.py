"""
The firewall part of the site's topology: the policy keys of ``ha:base``
(``firewall``, ``ssh_port``, ``firewall_allow``), their checks, and the rules
a node lets in with the firewall managed, as data, as nftables rule lines and
as firewalld rich rules. Pure Python on top of the pillar and of what the core
topology derived (the node, every node, this node's chrony role, the ports the
controllers' services use at their own address); no Salt dunders.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from ha_pillar import INT, NONE, STR, int_in, key, list_of, section

# disabled: the distribution's firewall off (the reference's choice);
# managed: the formula's own rules (firewall_rules).
FIREWALL_MODES = ("disabled", "managed")
FIREWALL_PROTOCOLS = ("tcp", "udp")
PORT_RANGE_RE = re.compile(r"^([0-9]{1,5})-([0-9]{1,5})$")
NTP_PORT = 123
# The firewall's keys of ha:base and their defaults.
DEFAULTS = {"firewall": "disabled", "ssh_port": 22, "firewall_allow": []}


def schema() -> dict:
    """The schema of the firewall's keys of ``ha:base`` (see ha_pillar)."""
    return {"firewall": STR, "ssh_port": INT,
            "firewall_allow": list_of({"port": (INT, STR), "proto": STR, "source": (STR, NONE)})}


def port_spec(value: Any) -> bool:
    """A port (1-65535) or a range of ports "LOW-HIGH"."""
    if isinstance(value, str):
        match = PORT_RANGE_RE.fullmatch(value)
        return bool(match) and 1 <= int(match.group(1)) < int(match.group(2)) <= 65535
    return int_in(value, 1, 65535)


def check(base: dict, errors: list[str]) -> None:
    """Report the problems of the firewall's keys of ``ha:base`` (``base``: the section over its defaults)."""
    if base["firewall"] not in FIREWALL_MODES:
        errors.append(f"{key('base', 'firewall')}: {base['firewall']!r} must be one of {', '.join(FIREWALL_MODES)}")
    if not int_in(base["ssh_port"], 1, 65535):
        errors.append(f"{key('base', 'ssh_port')}: {base['ssh_port']!r} must be a TCP port from 1 to 65535")
    _check_allow(base["firewall_allow"], errors)


def _check_allow(allow: Any, errors: list[str]) -> None:
    if not isinstance(allow, list):
        errors.append(f"{key('base', 'firewall_allow')}: must be a list of {{port, proto, source}} entries")
        return
    for index, rule in enumerate(allow):
        path = ("base", "firewall_allow", index)
        if not isinstance(rule, dict) or "port" not in rule:
            errors.append(f"{key(*path)}: must be a mapping with port, and optionally proto and source")
            continue
        if not port_spec(rule["port"]):
            errors.append(f"{key(*path, 'port')}: {rule['port']!r} must be a port from 1 to 65535 or a range "
                          "such as 8000-8010")
        if rule.get("proto", "tcp") not in FIREWALL_PROTOCOLS:
            errors.append(f"{key(*path, 'proto')}: {rule.get('proto')!r} must be tcp or udp")
        source = rule.get("source")
        if source is not None:
            try:
                ipaddress.IPv4Network(str(source), strict=False)
            except ValueError:
                errors.append(f"{key(*path, 'source')}: {source!r} is not an IPv4 address or network")


def port_key(port: int | str) -> tuple[int, str]:
    """The sort key of a port or range: by the low end; a port before a range that starts with it
    (a total order: the rendered file must be the same at every run)."""
    low = port if isinstance(port, int) else int(str(port).split("-", 1)[0])
    return low, str(port)


def nft_rule(rule: dict) -> str:
    """One rule as an nftables rule line."""
    parts = []
    if rule["sources"]:
        parts.append(f"ip saddr {{ {', '.join(rule['sources'])} }}")
    if rule["destination"]:
        parts.append(f"ip daddr {rule['destination']}")
    parts.append(f"{rule['proto']} dport {{ {', '.join(str(p) for p in rule['ports'])} }}")
    parts.append(f'accept comment "{rule["comment"]}"')
    return " ".join(parts)


def rich_rules(rule: dict) -> list[str]:
    """firewalld's rich rules for one rule: one per source and port."""
    destination = f' destination address="{rule["destination"]}"' if rule["destination"] else ""
    sources = [f' source address="{source}"' for source in rule["sources"]] or [""]
    return [
        f'rule family="ipv4"{source}{destination} port port="{port}" protocol="{rule["proto"]}" accept'
        for source in sources
        for port in rule["ports"]
    ]


def rules(ha: dict, me: dict, all_nodes: list[dict], chrony: dict, tcp: set, udp: set) -> dict:
    """
    What node ``me`` lets in (see ha_topology.firewall_rules): ``all_nodes`` as
    ha_topology.nodes gives them, ``chrony`` this node's chrony role, ``tcp``
    and ``udp`` the ports every controller's services use at its own address
    (the listeners' backend ports are added here).
    """
    base = section(ha, "base", DEFAULTS)
    found = [{"comment": "SSH", "proto": "tcp", "ports": [base["ssh_port"]], "sources": [], "destination": None}]
    if chrony["serve"]:
        found.append({"comment": "NTP (chrony)", "proto": "udp", "ports": [NTP_PORT], "sources": chrony["allow"],
                      "destination": None})
    if "controller" in me["roles"]:
        vip = str(ha["vip"]["address"])
        stats = ha["haproxy"]["stats"]
        frontends: dict[str, set] = {}
        frontends.setdefault(str(stats.get("bind", vip)), set()).add(stats["port"])
        listeners = ha["haproxy"]["listeners"]
        for spec in listeners.values():
            frontends.setdefault(str(spec.get("bind", vip)), set()).add(spec["port"])
        for address, ports in sorted(frontends.items()):
            found.append({"comment": "HAProxy listeners", "proto": "tcp", "ports": sorted(ports), "sources": [],
                          "destination": address})
        tcp = {*tcp, *(spec.get("backend_port", spec["port"]) for spec in listeners.values())}
        # The VIP: HAProxy's checks and connections may leave from it.
        sources = sorted({n["address"] for n in all_nodes} | {vip}, key=ipaddress.IPv4Address)
        found.append({"comment": "cluster services", "proto": "tcp", "ports": sorted(tcp, key=port_key),
                      "sources": sources, "destination": None})
        found.append({"comment": "cluster services", "proto": "udp", "ports": sorted(udp),
                      "sources": sources, "destination": None})
    for rule in base["firewall_allow"]:
        found.append({"comment": "ha:base:firewall_allow", "proto": rule.get("proto", "tcp"), "ports": [rule["port"]],
                      "sources": [str(rule["source"])] if rule.get("source") else [], "destination": None})
    return {
        "rules": found,
        "nftables": [nft_rule(rule) for rule in found],
        "rich_rules": [line for rule in found for line in rich_rules(rule)],
    }
