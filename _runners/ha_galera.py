"""
Recovery of a MariaDB Galera cluster whose nodes all went down, e.g. after a
power loss of every controller (``salt-run state.orchestrate ha.galera_recover``).

Instead of the usual advice (delete grastate.dat or set safe_to_bootstrap on
any node), which can lose committed transactions, it reads every node's last
committed position, bootstraps from the most advanced node and rejoins the
others one at a time. It refuses to guess when a node cannot be read, unless
the operator names the bootstrap node.
"""

from __future__ import annotations

import importlib
import logging

import salt.client
from salt.exceptions import CommandExecutionError

# The formula's _utils, on the path while Salt loads this runner once
# salt-run saltutil.sync_all brought them to the master; reloaded so that a
# synced change is used at once (as in _runners/ha.py).
try:
    import ha_kit

    ha_kit = importlib.reload(ha_kit)
except ImportError:
    ha_kit = None

log = logging.getLogger(__name__)

__virtualname__ = "ha_galera"
# A minion that does not answer a status query within this time counts as
# unreadable: recovery then refuses to guess rather than wait.
STATUS_TIMEOUT = 20


def __virtual__():
    if ha_kit is None:
        return (False, "the formula's _utils are not on the master: run salt-run saltutil.sync_all")
    return __virtualname__


def _call(client, minion: str, fun: str, *args, timeout: int = 60, **kwargs):
    """
    The toolkit's one call of a minion from the master (``ha_kit.call``),
    imported, not through ``__utils__``: called from a probe of the
    toolkit's ``wait``, it runs in the toolkit's loader, where this
    runner's dunders do not resolve.
    """
    return ha_kit.call(client, minion, fun, *args, timeout=timeout, **kwargs)


def _status(client, minion: str, timeout: int = 60, **kwargs) -> dict:
    """``ha_galera.status`` of one minion, which judges whether it is Synced and reads its position."""
    status = _call(client, minion, "ha_galera.status", timeout=timeout, **kwargs)
    if "synced" not in status:
        raise CommandExecutionError(f"{minion}'s ha_galera module is older than this runner: run saltutil.sync_all "
                                    "on it")
    return status


def choose(positions: dict[str, dict | str], order: list[str], bootstrap_node: str | None = None) -> str:
    """
    The node to bootstrap from (pure logic): the one with the highest seqno of
    the cluster's uuid, the first in ``order`` on a tie. ``positions`` maps
    each node to its ``{"uuid", "seqno"}`` as ``ha_galera.status`` reports it
    (the uuid empty for a node without cluster state), or to the reason it
    could not be read.
    """
    unreadable = {node: why for node, why in positions.items() if not isinstance(why, dict)}
    if bootstrap_node:
        if bootstrap_node not in positions:
            raise CommandExecutionError(f"bootstrap_node {bootstrap_node} is not a controller: {', '.join(order)}")
        if bootstrap_node in unreadable:
            raise CommandExecutionError(f"bootstrap_node {bootstrap_node} cannot be read: {unreadable[bootstrap_node]}")
        return bootstrap_node
    if unreadable:
        details = "; ".join(f"{node}: {why}" for node, why in unreadable.items())
        raise CommandExecutionError(
            f"refusing to guess the most advanced node, these cannot be read: {details}. Bring them back, or "
            "name the node to bootstrap from: pillar='{\"galera_recover\": {\"bootstrap_node\": \"NODE\"}}'"
        )
    # A node without cluster state belongs to no other cluster.
    uuids = {p["uuid"] for p in positions.values() if p["uuid"]}
    if len(uuids) > 1:
        raise CommandExecutionError(f"the nodes belong to different clusters ({', '.join(sorted(uuids))}); "
                                    "name the node to bootstrap from with galera_recover:bootstrap_node")
    best = max(positions[n]["seqno"] for n in order)
    return next(n for n in order if positions[n]["seqno"] == best)


def recover(controllers: list[str], bootstrap_node: str | None = None, timeout: int = 600) -> dict:
    """
    Bring a fully stopped Galera cluster back without losing a committed
    transaction. Nodes that are still Synced in a Primary component are left
    alone; if one exists, the others simply rejoin it. Whether a node is
    Synced, and its position, are the minions' own judgement (``ha_galera.status``).

    CLI Example:

    .. code-block:: bash

        salt-run ha_galera.recover '[openstack-controller01, openstack-controller02, openstack-controller03]'
    """
    client = salt.client.get_local_client(__opts__["conf_file"])  # noqa: F821 - Salt loader dunder
    report: dict = {"positions": {}, "bootstrapped": None, "rejoined": [], "already_synced": []}
    statuses = {}
    for node in controllers:
        try:
            statuses[node] = _status(client, node, timeout=STATUS_TIMEOUT)
        except CommandExecutionError as exc:
            statuses[node] = str(exc)
    report["already_synced"] = [n for n in controllers if isinstance(statuses[n], dict) and statuses[n]["synced"]]
    if not report["already_synced"]:
        # Every node is stopped first, including one whose start hangs waiting
        # for a primary component (not "active" yet), so that each position is
        # read from a stopped server.
        positions: dict[str, dict | str] = {}
        for node in controllers:
            if not isinstance(statuses[node], dict):
                positions[node] = statuses[node]
                continue
            try:
                _call(client, node, "ha_galera.stop", timeout=timeout)
                positions[node] = _status(client, node, recover=True, timeout=timeout)["position"]
            except CommandExecutionError as exc:
                positions[node] = str(exc)
        report["positions"] = positions
        chosen = choose(positions, controllers, bootstrap_node)
        log.warning("ha_galera.recover: bootstrapping from %s (%s)", chosen, positions[chosen])
        _call(client, chosen, "ha_galera.set_safe_to_bootstrap")
        _call(client, chosen, "ha_galera.bootstrap", timeout=timeout)
        report["bootstrapped"] = chosen
    for node in controllers:
        if node in report["already_synced"] or node == report["bootstrapped"]:
            continue
        status = _status(client, node)
        if status["running"] and not status["synced"]:
            _call(client, node, "ha_galera.stop", timeout=timeout)
        if not status["synced"]:
            _call(client, node, "ha_galera.join", timeout=timeout + 60)
            report["rejoined"].append(node)
    return report
