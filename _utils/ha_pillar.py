"""
The pillar toolkit of the formula's topology: how a key is named in a message,
how a value is read, the schema engine and the checks that every component's
validation shares (secrets, ports). Pure Python, no Salt dunders.

The formula's modules import it (``import ha_pillar``): while Salt loads a
custom module it puts the synced ``_utils`` folder on the import path.

A schema is plain data: a mapping of known keys to the shape of their value; a
shape is a kind (``STR``, ``INT``, ...), a tuple of kinds (any of them), a
nested schema, ``{ANY_NAME: shape}`` (a mapping whose keys the operator names:
nodes, users, listeners, options) or ``[shape]`` (a list whose items all have
that shape). Plain data rather than classes: a schema built by one module is
checked by another, also after either was reloaded.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Iterator
from typing import Any

STR, INT, BOOL, SCALAR, ANY = "string", "integer", "boolean", "scalar", "any"
# NONE: the key may be left empty (YAML's null), which means "not set".
NONE = "none"
LIST = "list"
# The key of a schema mapping whose keys the operator names.
ANY_NAME = "*"
KIND_NAMES = {STR: "a string", INT: "an integer", BOOL: "true or false", SCALAR: "a single value",
              ANY: "anything", NONE: "nothing", LIST: "a list"}

HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
# Pacemaker/HAProxy time values: a number with an optional unit.
INTERVAL_RE = re.compile(r"^[0-9]{1,6}(ms|s|m|min|h)?$")
MIN_SECRET_LENGTH = 16
# Values seen in how-tos (the reference used admin/admin and 123456) and the
# placeholder of pillar.example; compared case-insensitively.
WEAK_SECRETS = frozenset(
    {"admin", "123456", "password", "secret", "openstack", "hacluster", "guest", "changeme"}
)
PLACEHOLDER_PREFIX = "changeme"


def named(shape: Any) -> dict:
    """The shape of a mapping whose keys the operator names, each value of ``shape``."""
    return {ANY_NAME: shape}


def list_of(shape: Any) -> list:
    """The shape of a list whose items all have ``shape``."""
    return [shape]


def get(data: Any, path: tuple[str, ...]) -> Any:
    """The value at ``path`` below ``data``; None where a key is missing or a level is no mapping."""
    for name in path:
        if not isinstance(data, dict) or name not in data:
            return None
        data = data[name]
    return data


def shown(name: Any) -> str:
    """A name from the pillar as a message shows it: as it is, or quoted and escaped when
    it holds a newline or another unprintable character, so that every message stays one
    line (ha_topology.check lists them one per line)."""
    text = str(name)
    return text if text.isprintable() else repr(text)


def key(*path: Any) -> str:
    """The pillar key of ``path`` below ``ha`` as an operator writes it (ha:rabbitmq:port)."""
    return ":".join(("ha",) + tuple(shown(p) for p in path))


def int_in(value: Any, low: int, high: int) -> bool:
    """An integer from low to high (YAML's true/false are ints in Python, not here)."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def section(ha: dict, name: str, defaults: dict) -> dict:
    """``ha:NAME`` over its defaults (one level deep; a missing section is all defaults)."""
    found = ha.get(name)
    return {**defaults, **found} if isinstance(found, dict) else dict(defaults)


def _is_named(shape: Any) -> bool:
    return isinstance(shape, dict) and list(shape) == [ANY_NAME]


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    for kind, name in ((dict, "a mapping"), (list, "a list"), (str, "a string"), (int, "an integer"),
                       (float, "a number")):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def is_kind(value: Any, shape: Any) -> bool:
    """Whether value has ``shape`` (before any check of the value itself)."""
    if isinstance(shape, tuple):
        return any(is_kind(value, kind) for kind in shape)
    if isinstance(shape, dict):
        return isinstance(value, dict)
    if isinstance(shape, list) or shape == LIST:
        return isinstance(value, list)
    if shape == INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if shape == SCALAR:
        return isinstance(value, (str, int, float))
    return {STR: isinstance(value, str), BOOL: isinstance(value, bool), NONE: value is None, ANY: True}[shape]


def _expected(shape: Any) -> str:
    if isinstance(shape, tuple):
        return " or ".join(_expected(kind) for kind in shape if kind != NONE)
    if isinstance(shape, dict):
        return "a mapping"
    if isinstance(shape, list):
        return "a list"
    return KIND_NAMES[shape]


def hint(name: Any, known: Any) -> str:
    """The closest known key to a misspelt ``name``, or the list of the known ones."""
    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1, cutoff=0.6)
    return f"did you mean {close[0]}?" if close else f"known keys here: {', '.join(sorted(known))}"


def check_schema(value: Any, shape: Any, path: tuple, errors: list[str]) -> None:
    """Report, below path, every value of the wrong kind and every key the schema does not know."""
    if not is_kind(value, shape):
        if value is None:
            errors.append(f"{key(*path)}: is empty; give {_expected(shape)}")
        else:
            quoted = f"{value!r} " if isinstance(value, (str, int, float)) and len(repr(value)) <= 40 else ""
            errors.append(f"{key(*path)}: {quoted}must be {_expected(shape)}, not {_kind_of(value)}")
        return
    if isinstance(shape, list):
        for index, item in enumerate(value):
            check_schema(item, shape[0], (*path, index), errors)
    elif _is_named(shape):
        for name, item in value.items():
            check_schema(item, shape[ANY_NAME], (*path, name), errors)
    elif isinstance(shape, dict):
        for name, item in value.items():
            if isinstance(name, str) and name in shape:
                check_schema(item, shape[name], (*path, name), errors)
            else:
                errors.append(f"{key(*path, name)}: unknown key; {hint(name, shape)}")


def message_key(message: str) -> str:
    """The pillar key a validation message names (its text before the first ': ')."""
    return message.partition(": ")[0]


def under(name: str, keys: set[str]) -> bool:
    """Whether the key ``name`` is one of ``keys`` or below one of them."""
    return any(name == other or name.startswith(other + ":") for other in keys)


def check_secret(path: tuple[str, ...], value: Any, errors: list[str]) -> bool:
    """
    Report a secret that is missing, a placeholder, short or not one printable
    line. True when the value is a string worth checking further (its own form).
    """
    name = key(*path)
    if value is None:
        errors.append(f"{name}: is required")
        return False
    if not isinstance(value, str):
        errors.append(f"{name}: must be a string")
        return False
    if value.lower() in WEAK_SECRETS or value.lower().startswith(PLACEHOLDER_PREFIX):
        errors.append(f"{name}: is a reference or placeholder value; set a random secret")
        return False
    if len(value) < MIN_SECRET_LENGTH:
        errors.append(f"{name}: is shorter than {MIN_SECRET_LENGTH} characters")
    # A secret is written as one value on one line of the services' INI files,
    # pcs' and MariaDB's input: a newline there would start a line of its own
    # (an option the pillar never set), and INI readers drop the white space
    # around a value, so the service would use another secret than its peers.
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        errors.append(f"{name}: holds a control character (a newline, tab, ...); use printable characters only")
    elif value != value.strip():
        errors.append(f"{name}: begins or ends with white space, which config readers drop")
    return True


def entries(mapping: dict, path: tuple, name_re: re.Pattern, bad_name: str, bad_value: str,
            errors: list[str]) -> Iterator[tuple[str, dict]]:
    """
    The entries of ``mapping`` (at ``path``, its keys named by the operator)
    whose name has ``name_re``'s form and whose value is a mapping; each other
    one is reported, in the mapping's order, as ``bad_name`` or ``bad_value``.
    """
    for name, spec in mapping.items():
        if not isinstance(name, str) or not name_re.fullmatch(name):
            errors.append(f"{key(*path, name)}: {bad_name}")
        elif not isinstance(spec, dict):
            errors.append(f"{key(*path, name)}: {bad_value}")
        else:
            yield name, spec


def check_address(path: tuple, raw: Any, network: ipaddress.IPv4Network | None,
                  errors: list[str]) -> ipaddress.IPv4Address | None:
    """The IPv4 address at ``path``, a host address of ``network`` when one is given; None when it is none."""
    try:
        address = ipaddress.IPv4Address(str(raw))
    except ValueError:
        errors.append(f"{key(*path)}: {raw!r} is not an IPv4 address")
        return None
    if network is not None and (
        address not in network or address in (network.network_address, network.broadcast_address)
    ):
        errors.append(f"{key(*path)}: {address} is not a host address of management_network {network}")
    return address


def check_ports(name: str, values: dict, keys: tuple[str, ...], errors: list[str]) -> None:
    """The ``keys`` of the section ``ha:NAME`` (``values``) must be TCP ports, all different."""
    seen: dict[Any, str] = {}
    for port_key in keys:
        port = values.get(port_key)
        if not int_in(port, 1, 65535):
            errors.append(f"{key(name, port_key)}: {port!r} must be a TCP port from 1 to 65535")
        elif port in seen:
            errors.append(f"{key(name, port_key)}: {port} is also {key(name, seen[port])}")
        else:
            seen[port] = port_key
