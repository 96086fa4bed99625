"""
States of the Pacemaker/Corosync cluster, on top of the ``ha_pacemaker`` execution module.

- ``ha_pacemaker.password``: the local password of the user pcsd authenticates (hacluster);
- ``ha_pacemaker.no_package_cluster``: the distribution's default one-node cluster is gone;
- ``ha_pacemaker.cluster``: pcs is authenticated on every node, the cluster exists with the
  wanted name, nodes and totem options, and every node is online;
- ``ha_pacemaker.configured``: cluster properties, resources and constraints of the live CIB
  are as wanted, changed in one CIB push;
- ``ha_pacemaker.started``: a health gate, the resources run where they should.

The hacluster password is read from the pillar by the states (``password_pillar``), never
passed as an argument, so it appears in no rendered data and no output.
"""

from __future__ import annotations

from salt.exceptions import CommandExecutionError

__virtualname__ = "ha_pacemaker"


def __virtual__():
    if "ha_kit.ret" not in __utils__:  # noqa: F821 - Salt loader dunder
        return (False, "the formula's ha_kit utils module is not synced: run saltutil.sync_all")
    if "ha_pacemaker.status" not in __salt__:  # noqa: F821
        return (False, "the ha_pacemaker execution module is not synced: run saltutil.sync_all")
    return __virtualname__


def _kit(function: str):
    """A function of the formula's toolkit (_utils/ha_kit.py)."""
    return __utils__[f"ha_kit.{function}"]  # noqa: F821 - Salt loader dunder


def _mod(function: str):
    return __salt__[f"ha_pacemaker.{function}"]  # noqa: F821 - Salt loader dunder


def password(name: str, password_pillar: str) -> dict:
    """
    The local user ``name`` has the password stored in the pillar at ``password_pillar``.
    """
    ret = _kit("ret")(name)
    try:
        secret = _kit("secret")(__salt__, password_pillar)  # noqa: F821 - Salt loader dunder
        if _mod("password_matches")(name, secret):
            ret["comment"] = f"the password of {name} is the one of {password_pillar}"
            return ret
        # The change names the pillar key: the password itself is never shown.
        _kit("change")(ret, "password", "other", password_pillar)
        if _kit("is_test")(__opts__):  # noqa: F821
            return _kit("would")(ret, f"the password of {name} would be set from {password_pillar}")
        _mod("set_password")(name, secret)
    except CommandExecutionError as exc:
        return _kit("fail")(ret, str(exc), {})
    ret["comment"] = f"the password of {name} was set from {password_pillar}"
    return ret


def no_package_cluster(name: str) -> dict:
    """
    The one-node cluster that the distribution's package configures (map:
    ``pacemaker:package_cluster``) does not exist on this node. Any other
    cluster is left alone.
    """
    ret = _kit("ret")(name)
    try:
        config = _mod("cluster_config")()
        if not _mod("is_package_cluster")(config):
            ret["comment"] = "no package default cluster on this node"
            return ret
        _kit("change")(ret, "cluster", config["name"], None)
        if _kit("is_test")(__opts__):  # noqa: F821 - Salt loader dunder
            return _kit("would")(ret, f"the package's default cluster {config['name']!r} would be destroyed")
        _mod("destroy_package_cluster")()
    except CommandExecutionError as exc:
        return _kit("fail")(ret, str(exc), {})
    ret["comment"] = f"the package's default cluster {config['name']!r} was destroyed"
    return ret


def cluster(name: str, nodes: dict[str, str], password_pillar: str, totem: dict | None = None,
            timeout: float = 180) -> dict:
    """
    pcs on this node is authenticated against pcsd on every node of ``nodes``
    (name to management address); the cluster ``name`` exists with exactly
    these nodes and addresses and the ``totem`` options; every node is online
    in a quorate cluster (waits up to ``timeout`` seconds: the health gate).

    A controller of ``nodes`` that the cluster does not have is added to it
    (``ha_pacemaker.node_add``), one at a time, in the order of ``nodes``,
    once pcsd answers on every node (``ha_pacemaker.pcsd_online``). A
    node that belongs to another cluster, a cluster with a node that
    ``nodes`` does not list or at another address, is never destroyed or
    changed: the state fails and says what it found (a controller leaves
    with the ``ha.remove_controller`` orchestration). A controller removed
    before that Pacemaker lists again (offline, in corosync's node list no
    more; see ``ha_pacemaker.node_remove``) is purged (``forgotten``).
    """
    ret, fail = _kit("ret")(name), _kit("fail")
    totem = {key: str(value) for key, value in (totem or {}).items()}
    comments = []
    try:
        config = _mod("cluster_config")()
        if _mod("is_package_cluster")(config):
            return fail(ret, f"the package's default cluster {config['name']!r} is still configured here: "
                             "run ha.pacemaker.node on every controller first")
        # A controller added to the pillar joins the cluster; any other
        # difference is not the formula's to change here.
        added = {node: address for node, address in nodes.items() if config and node not in config["nodes"]}
        if config is not None and (config["name"] != name
                                   or {**config["nodes"], **added} != nodes):
            removal = config["name"] == name and set(config["nodes"]) - set(nodes)
            return fail(ret, (
                f"this node belongs to cluster {config['name']!r} with nodes {config['nodes']}, not {name!r} with "
                f"{nodes}: the formula adds controllers to a cluster but neither renames it nor changes a node's "
                "address. " + ("A controller leaves with salt-run state.orchestrate ha.remove_controller." if removal
                               else "If that cluster is not needed, run 'pcs cluster destroy' on its nodes and "
                                    "deploy again.")
            ))
        known = _mod("known_hosts")()
        unknown = sorted(node for node, address in nodes.items() if address not in known.get(node, []))
        stale = {key: value for key, value in totem.items() if config and config["totem"].get(key) != value}
        # What would change; each part goes into ret["changes"] only once it is done.
        planned: dict = {}
        if unknown:
            planned["authenticated"] = unknown
        if config is None:
            planned["cluster"] = {"old": None, "new": name}
        if added:
            planned["added"] = sorted(added)
        if stale:
            planned["totem"] = {key: {"old": config["totem"].get(key), "new": value} for key, value in stale.items()}
        if _kit("is_test")(__opts__):  # noqa: F821 - Salt loader dunder
            forgotten = _mod("stale_nodes")() if config else []
            if forgotten:
                planned["forgotten"] = forgotten
            if planned:
                return _kit("would")(ret, f"cluster {name} would change: {', '.join(planned)}", planned)
            ret["comment"] = f"cluster {name} is configured"
            return ret
        if unknown:
            _mod("auth")(nodes, _kit("secret")(__salt__, password_pillar))  # noqa: F821
            ret["changes"]["authenticated"] = planned["authenticated"]
            comments.append(f"pcs authenticated against {', '.join(unknown)}")
        if config is None:
            _mod("setup")(name, nodes, totem)
            ret["changes"]["cluster"] = planned["cluster"]
            comments.append(f"cluster {name} created, started and enabled on {', '.join(nodes)}")
        if added:
            # Every pcsd answers first: node add stops half done at one that does not.
            _mod("pcsd_online")(list(nodes), timeout)
        for node, address in added.items():
            # One at a time, each started and online before the next.
            _mod("node_add")(node, address, timeout)
            ret["changes"].setdefault("added", []).append(node)
            comments.append(f"{node} added to cluster {name}, started and enabled")
        if stale:
            _mod("update_totem")(stale)
            ret["changes"]["totem"] = planned["totem"]
            comments.append(f"totem options {', '.join(stale)} updated and corosync reloaded")
        _mod("online")(list(nodes), timeout)
        # A controller removed before (ha.remove_controller) that Pacemaker
        # wrote back into the CIB: offline, in no node list, and purged again.
        forgotten = _mod("forget_stale")()
        if forgotten:
            ret["changes"]["forgotten"] = forgotten
            comments.append(f"{', '.join(forgotten)} purged from Pacemaker: offline and in corosync's node list "
                            "no more")
    except CommandExecutionError as exc:
        # What was done before the failure stays in the changes.
        return fail(ret, "; ".join(comments + [str(exc)]))
    comments.append(f"every node of {name} is online")
    ret["comment"] = "; ".join(comments)
    return ret


def configured(name: str, properties: dict, resources: list[dict], constraints: list[dict]) -> dict:
    """
    The live CIB holds the cluster ``properties``, the ``resources`` and the
    ``constraints`` (see ``ha_pacemaker.diff``); what differs is changed on a
    copy of the CIB and pushed once.
    """
    ret = _kit("ret")(name)
    try:
        wanted = _mod("diff")(_mod("cib")(), properties, resources, constraints)
        if not wanted["commands"]:
            ret["comment"] = "the CIB holds the wanted properties, resources and constraints"
            return ret
        plan = "; ".join("pcs " + " ".join(words) for words in wanted["commands"])
        if _kit("is_test")(__opts__):  # noqa: F821 - Salt loader dunder
            return _kit("would")(ret, f"one CIB push would apply: {plan}", wanted["changes"])
        _mod("push")(wanted["commands"])
        left = _mod("diff")(_mod("cib")(), properties, resources, constraints)
    except CommandExecutionError as exc:
        return _kit("fail")(ret, str(exc))
    ret["changes"] = wanted["changes"]
    if left["commands"]:
        # The push happened: its changes stay.
        return _kit("fail")(ret, f"the CIB was pushed but still differs: {left['changes']}")
    ret["comment"] = f"applied in one CIB push: {plan}"
    return ret


def started(name: str, resources: list[str], clones: list[str], timeout: float = 120) -> dict:
    """
    The health gate after a change of the CIB: each of ``resources`` is
    started on exactly one node and each of ``clones`` on every online node.
    Never changes anything.
    """
    ret = _kit("ret")(name)

    def probe() -> dict:
        status = _mod("status")()
        online = sorted(node for node, up in status["nodes"].items() if up)
        placed = status["resources"]
        if not (all(len(placed.get(r, [])) == 1 for r in resources) and all(placed.get(c) == online for c in clones)):
            raise CommandExecutionError(f"online: {', '.join(online)}; started: {placed}")
        return status

    try:
        status = _kit("wait")(f"{', '.join(resources + clones)} started", probe, timeout, 2)
    except CommandExecutionError as exc:
        return _kit("fail")(ret, str(exc))
    ret["comment"] = "; ".join(f"{r} on {', '.join(status['resources'][r])}" for r in resources + clones)
    return ret
