"""ha_topology.validate never raises: a seeded property test over mutated copies of pillar.example,
and the crash classes it found, case by case.

A failure names its seed and case; ``HA_FUZZ_SEED=SEED`` replays the run (every case draws from a
generator of its own, seeded with the run's seed and its number), ``HA_FUZZ_CASES`` runs more cases.
"""

from __future__ import annotations

import copy
import os
import random
import re
from typing import Any

import pytest

from tests.helpers import load_module, valid_pillar

ha_topology = load_module("_modules/ha_topology.py", "ha_topology_for_fuzz")
ha_pillar = ha_topology.ha_pillar

SEED = int(os.environ.get("HA_FUZZ_SEED", "14"))
CASES = int(os.environ.get("HA_FUZZ_CASES", "3000"))
MIN_CASES = 500
# What a value may be replaced with: every shape YAML can give, and strings that no check
# expects. The mixed list holds unhashable items too (a mapping, a list), which a check that
# looks a name up in a mapping must not meet unchecked.
REPLACEMENTS: tuple[Any, ...] = (
    None, {}, {"x": 1}, [], [None, {"x": 1}, ["x"], 1, "x"], 7, 0, -1, True, False, 2.5,
    "@@ junk #: ,'\"\\", "y" * 5000, "line one\nline two", "",
)
# A message: "ha:", the key it names (a path of one or more names below ha, no white space),
# ": " and the problem. One line: check() lists the messages one per line.
MESSAGE_RE = re.compile(r"ha(?::[^\s:]+)+: \S[^\n]*")

Path = tuple[Any, ...]


def _paths(data: Any, prefix: Path = ()) -> list[Path]:
    """Every key and list item below data, at any depth."""
    if isinstance(data, dict):
        items = list(data.items())
    elif isinstance(data, list):
        items = list(enumerate(data))
    else:
        return []
    return [path for key, value in items for path in ((*prefix, key), *_paths(value, (*prefix, key)))]


def _pick(ha: dict, rng: random.Random) -> Path:
    """A random key or list item at any depth. Half of the time one of all paths: the big
    sections (the listeners, the nodes) and deep keys get their share; half of the time a
    random child at every level, descending three times in four: every section, small ones
    too, as likely as any other."""
    if rng.random() < 0.5:
        return rng.choice(_paths(ha))
    path: Path = ()
    data: Any = ha
    while isinstance(data, (dict, list)) and data and (not path or rng.random() < 0.75):
        key = rng.choice(list(data) if isinstance(data, dict) else range(len(data)))
        path, data = (*path, key), data[key]
    return path


def _swapped(value: Any) -> Any:
    """value in another type, as a pillar written by hand gets it wrong."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, dict):
        # The entries of a mapping written as the items of a list ("- key: value").
        return [{key: item} for key, item in value.items()]
    return str(value)


def _mutate(ha: dict, rng: random.Random) -> str:
    """Change ha in place at one random key or list item; returns what was done."""
    path = _pick(ha, rng)
    parent = ha
    for key in path[:-1]:
        parent = parent[key]
    operation = rng.choice(("delete", "replace", "swap"))
    if operation == "delete":
        del parent[path[-1]]
        return f"delete {path}"
    value = copy.deepcopy(rng.choice(REPLACEMENTS)) if operation == "replace" else _swapped(parent[path[-1]])
    parent[path[-1]] = value
    return f"{operation} {path} with {value!r:.60}"


def _problems(ha: dict, sections: set[str]) -> list[str]:
    """What is wrong with validate's answer on ha, if anything."""
    before = copy.deepcopy(ha)
    try:
        errors = ha_topology.validate(ha)
    except Exception as error:  # the property under test: nothing may escape
        return [f"raised {type(error).__name__}: {error}"]
    if not isinstance(errors, list):
        return [f"returned {type(errors).__name__}, not a list"]
    problems = [f"message {message!r:.200} does not name a key of ha" for message in errors
                if not isinstance(message, str) or not MESSAGE_RE.fullmatch(message)
                or message.split(":")[1] not in sections]
    if ha != before:
        problems.append("changed the pillar it was given")
    return problems


def test_validate_never_raises_and_names_a_key():
    assert CASES >= MIN_CASES, f"{CASES} cases, fewer than {MIN_CASES} (HA_FUZZ_CASES)"
    valid = valid_pillar()
    assert ha_topology.validate(valid) == []
    sections = set(valid)
    failures = []
    for case in range(CASES):
        # One generator per case: a failing case is replayed from the seed and its number alone.
        rng = random.Random(f"{SEED}:{case}")
        ha = copy.deepcopy(valid)
        mutations = [_mutate(ha, rng) for _ in range(rng.randint(1, 3))]
        failures += [f"case {case}: {'; '.join(mutations)}: {problem}" for problem in _problems(ha, sections)]
    assert not failures, (f"HA_FUZZ_SEED={SEED}: {len(failures)} failure(s) in {CASES} cases, first ones:\n"
                          + "\n".join(failures[:10]))


@pytest.fixture
def ha():
    return valid_pillar()


# A name looked up in a mapping (ha:nodes) was hashed first: a mapping or a list raised TypeError.
@pytest.mark.parametrize("servers, error", [
    ([{"x": 1}], "ha:chrony:servers:0: must be a string, not a mapping"),
    ([["openstack-controller01"]], "ha:chrony:servers:0: must be a string, not a list"),
    (["openstack-controller01", {}], "ha:chrony:servers:1: must be a string, not a mapping"),
])
def test_unhashable_time_server_is_named(ha, servers, error):
    ha["chrony"]["servers"] = servers
    assert ha_topology.validate(ha) == [error]


# A database list that is no list (None, a number) raised TypeError in the OpenStack check; any
# non-list (a string too, once also compared as a substring there) is reported once, by the schema.
@pytest.mark.parametrize("user, databases, error", [
    ("nova", None, "is empty; give a list"),
    ("keystone", 7, "7 must be a list, not an integer"),
    ("glance", True, "True must be a list, not true/false"),
    ("placement", "placement", "'placement' must be a list, not a string"),
])
def test_database_list_of_wrong_type_is_named_once(ha, user, databases, error):
    ha["galera"]["databases"][user]["databases"] = databases
    assert ha_topology.validate(ha) == [f"ha:galera:databases:{user}:databases: {error}"]


# A name holding a newline or a tab, as a key or as a role, was shown raw: its message ran over two
# lines (check() lists one per line) or hid the character.
@pytest.mark.parametrize("mutate, error", [
    (lambda h: h["nodes"]["openstack-compute01"].__setitem__("roles", ["compute\nnetwork"]),
     "ha:nodes:openstack-compute01:roles: unknown role(s) 'compute\\nnetwork'"),
    (lambda h: h["nodes"].__setitem__("compute\n02", {"address": "10.10.10.55", "roles": ["compute"]}),
     "ha:nodes:'compute\\n02': the node name must be a lower-case host name"),
    (lambda h: h["pacemaker"]["totem"].__setitem__("token\n", 1000),
     "ha:pacemaker:totem:'token\\n': unknown key; did you mean token?"),
    (lambda h: h["pacemaker"]["properties"].__setitem__("no-quorum\tpolicy", "stop"),
     "ha:pacemaker:properties:'no-quorum\\tpolicy': not a cluster property of Pacemaker; did you mean "
     "no-quorum-policy?"),
], ids=["role", "node name", "totem option", "property name"])
def test_unprintable_name_stays_on_one_line(ha, mutate, error):
    mutate(ha)
    assert ha_topology.validate(ha) == [error]


def _fixed_keys(path: Path) -> bool:
    """Whether the mapping at path (below ha) has keys the formula names (not the operator's names)."""
    spec: Any = ha_topology.SCHEMA
    for key in path:
        if isinstance(spec, list):
            spec = spec[0]
        elif isinstance(spec, dict):
            spec = spec.get(ha_pillar.ANY_NAME, spec.get(key))
    return isinstance(spec, dict) and ha_pillar.ANY_NAME not in spec


def _typo(name: str, rng: random.Random) -> str:
    """name as a hand gets it wrong: a letter dropped, doubled or two swapped, a plural."""
    index = rng.randrange(len(name))
    return rng.choice((
        name[:index] + name[index + 1:],
        name[:index] + name[index] + name[index:],
        name[:index] + name[index + 1:index + 2] + name[index:index + 1] + name[index + 2:],
        name + "s",
    ))


def test_a_misspelt_key_is_named_as_unknown():
    """Every key of a mapping whose keys the formula names, misspelt, is reported by its new name as
    unknown (before the schema such a typo silently gave defaults)."""
    keys = [path for path in _paths(valid_pillar()) if isinstance(path[-1], str) and _fixed_keys(path[:-1])]
    assert len(keys) > 50
    failures = []
    for case in range(MIN_CASES):
        rng = random.Random(f"{SEED}:typo:{case}")
        ha = valid_pillar()
        path = rng.choice(keys)
        parent = ha
        for key in path[:-1]:
            parent = parent[key]
        wrong = _typo(path[-1], rng)
        if wrong in parent or wrong == path[-1]:
            continue
        parent[wrong] = parent.pop(path[-1])
        wanted = f"ha:{':'.join(map(str, (*path[:-1], wrong)))}: unknown key; "
        errors = ha_topology.validate(ha)
        if not any(message.startswith(wanted) for message in errors):
            failures.append(f"case {case}: {path} as {wrong!r} gave {errors}")
    assert not failures, f"HA_FUZZ_SEED={SEED}: {len(failures)} typo(s) not named:\n" + "\n".join(failures[:10])
