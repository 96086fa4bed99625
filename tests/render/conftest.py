"""
The fast tier: a real salt-master and three salt-minions started by
pytest-salt-factories on this host, serving the formula from the working tree.
The minions' os_family is set through their configured grains, so every state
is rendered as on Debian and as on RedHat. Nothing is applied to the host.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
import salt.client
import yaml

from tests.helpers import REPO, valid_pillar

MINIONS = {
    "openstack-controller01": {"os_family": "Debian", "os": "Debian"},
    "openstack-controller02": {"os_family": "RedHat", "os": "Rocky"},
    "openstack-compute01": {"os_family": "RedHat", "os": "Rocky"},
}
PILLAR = valid_pillar()
# The probe is no SLS of the formula (its tpldir is not under ha/): it names
# the formula's root folder for the map, as a site's own SLS would.
PROBE_SLS = """\
{%- set tplroot = "ha" %}
{%- from tplroot ~ "/map.jinja" import ha_map with context %}
map-probe:
  test.nop:
    - map: {{ ha_map | json }}
"""


@pytest.fixture(scope="package")
def state_tree(tmp_path_factory):
    """Extra file root with a probe that renders the formula's map, and the formula's extensions."""
    root = tmp_path_factory.mktemp("probe-states")
    (root / "map_probe.sls").write_text(PROBE_SLS)
    # The formula's extension folders for saltutil.sync_all, linked: serving
    # the checkout itself makes the fileserver walk its virtualenv on every
    # file list, which timed the sync out.
    for name in ("_modules", "_states", "_runners", "_utils"):
        (root / name).symlink_to(REPO / name)
    return root


@pytest.fixture(scope="package")
def pillar_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("pillar")
    (root / "ha.sls").write_text(yaml.safe_dump({"ha": PILLAR}))
    root.chmod(0o700)
    return root


@pytest.fixture(scope="package")
def salt_master(salt_factories, state_tree, pillar_tree):
    overrides = {
        "file_roots": {"base": [str(REPO / "salt"), str(state_tree)]},
        "pillar_roots": {"base": [str(REPO / "pillar"), str(pillar_tree)]},
    }
    factory = salt_factories.salt_master_daemon("ha-render-master", overrides=overrides)
    with factory.started():
        yield factory


@pytest.fixture(scope="package")
def salt_minions(salt_master):
    factories = [
        salt_master.salt_minion_daemon(minion_id, overrides={"grains": grains})
        for minion_id, grains in MINIONS.items()
    ]
    started = []
    try:
        for factory in factories:
            factory.start()
            started.append(factory)
        yield {f.id: f for f in factories}
    finally:
        for factory in started:
            factory.terminate()


@dataclass
class Result:
    returncode: int
    data: Any
    stdout: str


class LocalCli:
    """
    ``run(fun, *args, minion_tgt=..., **kwargs)`` like salt-factories' salt
    CLI, through Salt's LocalClient in this process: the same master and
    minions, without a new Python interpreter importing Salt for every call
    (which made this tier take four minutes).
    """

    def __init__(self, master_config: dict, timeout: int):
        self.client = salt.client.LocalClient(mopts=master_config)
        self.timeout = timeout

    def run(self, fun: str, *args: Any, minion_tgt: str, **kwargs: Any) -> Result:
        returns = self.client.cmd(minion_tgt, fun, list(args), timeout=self.timeout, kwarg=kwargs, full_return=True)
        assert minion_tgt in returns, f"{minion_tgt} did not answer {fun} within {self.timeout} s"
        ret = returns[minion_tgt]
        return Result(ret.get("retcode", 0), ret["ret"], json.dumps(ret["ret"], default=str))


@pytest.fixture(scope="package")
def salt_cli(salt_master, salt_minions):
    synced = salt_master.salt_cli(timeout=120).run("saltutil.sync_all", minion_tgt="*")
    assert synced.returncode == 0, synced
    client = LocalCli(salt_master.config.copy(), timeout=120)
    yield client
    client.client.destroy()


@pytest.fixture(scope="package")
def salt_run_cli(salt_master, salt_minions):
    cli = salt_master.salt_run_cli(timeout=120)
    synced = cli.run("saltutil.sync_all")
    assert synced.returncode == 0, synced
    return cli
