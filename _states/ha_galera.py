"""
States of a MariaDB Galera node, on top of the ``ha_galera`` execution module.

- ``ha_galera.bootstrapped``: the cluster runs, started here if it never existed;
- ``ha_galera.joined``: this node is a Synced member of the running cluster;
- ``ha_galera.secured``, ``ha_galera.database``, ``ha_galera.user``: the SQL side.

Neither state ever starts a second cluster, restarts a Synced node, or
bootstraps a cluster that existed before and is now fully down: that is the
recovery orchestration's job (``salt-run state.orchestrate ha.galera_recover``),
which picks the node with the most advanced position.
"""

from __future__ import annotations

from salt.exceptions import CommandExecutionError

__virtualname__ = "ha_galera"


def __virtual__():
    if "ha_kit.ret" not in __utils__:  # noqa: F821 - Salt loader dunder
        return (False, "the formula's ha_kit utils module is not synced: run saltutil.sync_all")
    if "ha_galera.status" not in __salt__:  # noqa: F821
        return (False, "the ha_galera execution module is not synced: run saltutil.sync_all")
    return __virtualname__


def _kit(function: str):
    """A function of the formula's toolkit (_utils/ha_kit.py)."""
    return __utils__[f"ha_kit.{function}"]  # noqa: F821 - Salt loader dunder


def _converge(name: str, bootstrap_node: bool, peers: list[str], check_port: int, timeout: float) -> dict:
    ret = _kit("ret")(name)
    test = _kit("is_test")(__opts__)  # noqa: F821 - Salt loader dunder
    mod = __salt__  # noqa: F821
    local = mod["ha_galera.status"]()
    peer = mod["ha_galera.peer_synced"](peers, check_port)
    action = mod["ha_galera.decide"](local, bootstrap_node, peer)
    if action == "restart":
        # The package's standalone server, started by the package install.
        if test:
            then = "joined" if peer else "bootstrapped or joined"
            return _kit("would")(ret, f"MariaDB runs outside the cluster and would be stopped, then {then}",
                                 {"stopped": "standalone server"})
        mod["ha_galera.stop"]()
        ret["changes"]["stopped"] = "standalone server"
        local = mod["ha_galera.status"]()
        action = mod["ha_galera.decide"](local, bootstrap_node, peer)
    fail = _kit("fail")
    if action == "unknown":
        return fail(ret, f"MariaDB runs but cannot be queried, so it is left alone: {local.get('error')}")
    if action == "none":
        ret["comment"] = (f"Synced in a Primary component of {local['wsrep']['cluster_size']} node(s)")
        return ret
    if action == "recover":
        return fail(ret, "Every Galera node is down and this one holds cluster state "
                         f"(uuid {local['grastate']['uuid']}): refusing to bootstrap blindly. "
                         "Run: salt-run state.orchestrate ha.galera_recover")
    if action == "blocked":
        return fail(ret, "No peer is Synced, so there is no cluster to join: bootstrap the first controller "
                         "with salt-run state.orchestrate ha.deploy, or recover a fully stopped cluster with "
                         "salt-run state.orchestrate ha.galera_recover")
    if action not in ("bootstrap", "join", "wait"):
        return fail(ret, f"MariaDB is in an unexpected state ({action}) after stopping the standalone server: {local}")
    verb = {"bootstrap": "bootstrapped a new cluster", "join": f"joined via {peer}",
            "wait": "waited for the join to finish"}[action]
    if test:
        ret["changes"][action] = True
        return _kit("would")(ret, f"Would have {verb}")
    if action == "bootstrap":
        wsrep = mod["ha_galera.bootstrap"](timeout)
    elif action == "join":
        wsrep = mod["ha_galera.join"](timeout)
    else:
        wsrep = mod["ha_galera.wait_synced"](timeout)
    ret["changes"][action] = {"cluster_size": wsrep["cluster_size"], "state": wsrep["local_state_comment"]}
    ret["comment"] = f"{verb[0].upper()}{verb[1:]}: Synced, cluster size {wsrep['cluster_size']}"
    return ret


def bootstrapped(name: str, peers: list[str], check_port: int, timeout: float = 600) -> dict:
    """
    On the bootstrap node: the cluster runs and this node is Synced in it.
    A new cluster is started here only if no peer is Synced and this node
    never belonged to a cluster.

    .. code-block:: yaml

        ha-galera-cluster:
          ha_galera.bootstrapped:
            - peers: [10.10.10.52, 10.10.10.53]
            - check_port: 9200
    """
    return _converge(name, True, peers, check_port, timeout)


def joined(name: str, peers: list[str], check_port: int, timeout: float = 600) -> dict:
    """
    On every other node: this node is a Synced member of the running cluster,
    joined through a Synced peer.

    .. code-block:: yaml

        ha-galera-cluster:
          ha_galera.joined:
            - peers: [10.10.10.51, 10.10.10.53]
            - check_port: 9200
    """
    return _converge(name, False, peers, check_port, timeout)


def _sql_state(state_name: str, function: str, secrets: dict[str, str], **kwargs) -> dict:
    """The state of the SQL function ``function``; ``secrets`` names its arguments read from the pillar (key)."""
    ret = _kit("ret")(state_name)
    test = _kit("is_test")(__opts__)  # noqa: F821 - Salt loader dunder
    try:
        kwargs.update({argument: _kit("secret")(__salt__, key) for argument, key in secrets.items()})  # noqa: F821
    except CommandExecutionError as exc:
        return _kit("fail")(ret, str(exc))
    changes = __salt__[function](test=test, **kwargs)  # noqa: F821
    if not changes:
        ret["comment"] = "Already as wanted"
    elif test:
        _kit("would")(ret, "Would change: " + "; ".join(changes), {"sql": changes})
    else:
        ret["changes"] = {"sql": changes}
        ret["comment"] = "Changed: " + "; ".join(changes)
    return ret


def secured(name: str, password_pillar: str = "ha:galera:root_password") -> dict:
    """
    mysql_secure_installation, idempotently (see ``ha_galera.secure``), with
    the root password read from the pillar key ``password_pillar``.
    """
    return _sql_state(name, "ha_galera.secure", {"root_password": password_pillar})


def database(name: str) -> dict:
    """The database ``name`` exists."""
    return _sql_state(name, "ha_galera.ensure_database", {}, name=name)


def user(name: str, hosts: list[str], password_pillar: str, grants: dict) -> dict:
    """
    The account ``name`` exists at every host, with the password of the pillar
    key ``password_pillar`` and exactly these grants.
    """
    return _sql_state(name, "ha_galera.ensure_user", {"password": password_pillar}, user=name, hosts=hosts,
                      grants=grants)
