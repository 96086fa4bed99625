"""Shared test helpers: the repository's paths and its custom Salt modules loaded by path."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import yaml

from lab.master import fill_placeholders

REPO = Path(__file__).resolve().parent.parent
# What Salt does while it loads a custom module: the synced _utils folder is
# on the import path, so that the modules can import the formula's pure
# Python helpers (ha_pillar, ha_topology_openstack).
if str(REPO / "_utils") not in sys.path:
    sys.path.insert(0, str(REPO / "_utils"))


def load_module(relative: str, name: str) -> ModuleType:
    """Import a custom module file (``_modules/x.py`` and ``_states/x.py`` share names)."""
    spec = importlib.util.spec_from_file_location(name, REPO / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def example_pillar() -> dict:
    """pillar.example's ha mapping as written (placeholders included)."""
    return yaml.safe_load((REPO / "pillar.example").read_text())["ha"]


def valid_pillar() -> dict:
    """pillar.example's ha mapping with every CHANGEME placeholder replaced by a random secret, as the lab does."""
    return fill_placeholders(example_pillar())


def pillar_secrets(ha: dict) -> list[str]:
    """The value of every secret of an ha pillar, by the keys ha_topology.secret_keys names."""
    topology = load_module("_modules/ha_topology.py", "ha_topology_for_secrets")
    found = []
    for key in topology.secret_keys(ha):
        value = {"ha": ha}
        for name in key.split(":"):
            value = value.get(name) if isinstance(value, dict) else None
        if isinstance(value, str) and value:
            found.append(value)
    return found
