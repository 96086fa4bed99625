"""The lab's package mirror serves every package of the formula's Debian map."""

from __future__ import annotations

import yaml

from lab import image
from tests.helpers import REPO


def _packages(tree) -> set[str]:
    found = set()
    if isinstance(tree, dict):
        for key, value in tree.items():
            if key.endswith("pkgs") and isinstance(value, list):
                found.update(value)
            else:
                found |= _packages(value)
    return found


def test_debian_map_packages_are_in_the_lab_mirror():
    defaults = yaml.safe_load((REPO / "salt/ha/defaults.yaml").read_text())
    debian = yaml.safe_load((REPO / "salt/ha/osfamilymap.yaml").read_text())["Debian"]
    wanted = _packages(defaults) | _packages(debian)
    assert wanted, "the map names no packages"
    assert wanted - set(image.node_packages()) == set()
