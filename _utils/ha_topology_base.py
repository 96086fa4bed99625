"""
The base part of the site's topology: ``ha:base`` (kernel parameters, SELinux,
upgrades, the OpenStack release; its firewall keys are
ha_topology_firewall's) and ``ha:timezone``, their checks and what every
node's base states apply. Pure Python on top of the pillar; no Salt dunders.
"""

from __future__ import annotations

import difflib
import functools
import re
import zoneinfo
from typing import Any

import ha_topology_firewall
from ha_pillar import BOOL, SCALAR, STR, key, named, section

# Kernel parameters every node gets (the reference's): routing and bridged
# traffic through iptables for Neutron, and binding the VIP on any controller.
# The pillar's ha:base:sysctl adds others but cannot change these.
BASE_SYSCTL = {
    "net.ipv4.ip_forward": "1",
    "net.bridge.bridge-nf-call-iptables": "1",
    "net.bridge.bridge-nf-call-ip6tables": "1",
    "net.ipv4.ip_nonlocal_bind": "1",
}
SYSCTL_NAME_RE = re.compile(r"^[a-z0-9_]+(\.[A-Za-z0-9_-]+)+$")
SYSCTL_VALUE_RE = re.compile(r"^[A-Za-z0-9_./: -]{1,128}$")
SELINUX_MODES = ("enforcing", "permissive", "disabled")
TIMEZONE_RE = re.compile(r"^[A-Za-z0-9_+-]{1,64}(/[A-Za-z0-9_+-]{1,64}){0,3}$")
RELEASE_RE = re.compile(r"^[a-z]{3,20}$")
DEFAULTS = {"upgrade": False, "sysctl": {}, "selinux": "enforcing", **ha_topology_firewall.DEFAULTS,
            "openstack_release": "caracal"}


def schema() -> dict:
    """The schema of ``ha:base`` (see ha_pillar), the firewall's keys included."""
    return {"upgrade": BOOL, "openstack_release": STR, "sysctl": named(SCALAR), "selinux": STR,
            **ha_topology_firewall.schema()}


@functools.cache
def _time_zones() -> frozenset[str]:
    """The tz database's zone names where this host has one (empty where it has none)."""
    return frozenset(zoneinfo.available_timezones())


def check_timezone(ha: dict, errors: list[str]) -> None:
    """Report a missing ``ha:timezone`` or one that is no zone name (of the tz database, where this host has one)."""
    zone = ha.get("timezone")
    if not isinstance(zone, str) or not zone:
        errors.append(f"{key('timezone')}: is required, e.g. Etc/UTC")
    elif not TIMEZONE_RE.fullmatch(zone):
        errors.append(f"{key('timezone')}: {zone!r} is not a time zone name such as Europe/Berlin")
    elif _time_zones() and zone not in _time_zones():
        close = difflib.get_close_matches(zone, sorted(_time_zones()), n=1, cutoff=0.6)
        suggestion = f"; did you mean {close[0]}?" if close else ""
        errors.append(f"{key('timezone')}: {zone!r} is not a zone of the tz database{suggestion}")


def check(ha: dict, errors: list[str]) -> None:
    """Report the problems of ``ha:base`` (a mapping or absent)."""
    base = section(ha, "base", DEFAULTS)
    if not isinstance(base["upgrade"], bool):
        errors.append(f"{key('base', 'upgrade')}: {base['upgrade']!r} must be true or false")
    if base["selinux"] not in SELINUX_MODES:
        errors.append(f"{key('base', 'selinux')}: {base['selinux']!r} must be one of {', '.join(SELINUX_MODES)}")
    ha_topology_firewall.check(base, errors)
    release = base["openstack_release"]
    if not isinstance(release, str) or not RELEASE_RE.fullmatch(release):
        errors.append(f"{key('base', 'openstack_release')}: {release!r} must be a release name such as caracal")
    sysctl = base["sysctl"]
    if not isinstance(sysctl, dict):
        errors.append(f"{key('base', 'sysctl')}: must map kernel parameter names to values")
        return
    for name, value in sysctl.items():
        _check_sysctl(name, value, errors)


def _check_sysctl(name: Any, value: Any, errors: list[str]) -> None:
    if not isinstance(name, str) or not SYSCTL_NAME_RE.fullmatch(name):
        errors.append(f"{key('base', 'sysctl', name)}: is not a kernel parameter name such as vm.swappiness")
    elif isinstance(value, bool) or not SYSCTL_VALUE_RE.fullmatch(str(value)):
        errors.append(f"{key('base', 'sysctl', name)}: {value!r} is not a plain number or word")
    elif name in BASE_SYSCTL and str(value) != BASE_SYSCTL[name]:
        errors.append(
            f"{key('base', 'sysctl', name)}: the formula needs {BASE_SYSCTL[name]}; {value!r} would break it"
        )


def settings(ha: dict) -> dict:
    """What every node's base states apply (see ha_topology.base_settings)."""
    base = section(ha, "base", DEFAULTS)
    sysctl = {**BASE_SYSCTL, **{name: str(value) for name, value in base["sysctl"].items()}}
    return {
        "sysctl": dict(sorted(sysctl.items())),
        "upgrade": base["upgrade"],
        "selinux": base["selinux"],
        "firewall": base["firewall"],
        "openstack_release": base["openstack_release"],
    }
