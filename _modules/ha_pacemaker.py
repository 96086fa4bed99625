"""
Pacemaker/Corosync on a controller, through ``pcs`` 0.10/0.11 and the
Pacemaker tools: the cluster's configuration (corosync.conf), pcsd's known
hosts, the live status (``crm_mon``) and the CIB (``cibadmin``) as structured
data; host authentication, cluster setup, and changes of the CIB applied as
one push.

Named ``ha_pacemaker`` so that it cannot shadow a ``pcs`` module of Salt or
of an extension. The hacluster password reaches ``pcs`` and ``chpasswd`` on
their standard input, never on a command line. Paths and names come from the
formula's map (``pacemaker``).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import tempfile
import warnings
import xml.etree.ElementTree as ET
from typing import Any

from salt.exceptions import CommandExecutionError

__virtualname__ = "ha_pacemaker"

# pcs releases whose command syntax this module speaks (host auth, cluster
# setup NAME NODE addr=..., cluster config update, -f + cib-push diff-against).
SUPPORTED_PCS = ((0, 10), (0, 11))
# Attributes that identify a constraint of each type, as the CIB writes them.
CONSTRAINT_ATTRIBUTES = {
    "order": ("first", "first-action", "then", "then-action", "kind", "symmetrical"),
    "colocation": ("rsc", "with-rsc", "score"),
    # A location rule of one expression: its score and "ATTRIBUTE OP VALUE".
    "location": ("rsc", "score", "rule"),
}
# Defaults Pacemaker applies when an attribute is left out of the CIB.
CONSTRAINT_DEFAULTS = {"first-action": "start", "then-action": "start", "kind": "Mandatory", "symmetrical": "true"}
CIB_TAGS = {"order": "rsc_order", "colocation": "rsc_colocation", "location": "rsc_location"}
# Probes in a row (2 s apart), under one DC, that must see a removed node gone.
STABLE_PROBES = 3
# A property value in milliseconds ("150ms"), which pcs cannot check.
MILLISECONDS_RE = re.compile(r"^[0-9]+(ms|msec)$")


def __virtual__():
    if "ha_kit.run" not in __utils__:  # noqa: F821 - Salt loader dunder
        return (False, "the formula's ha_kit utils module is not synced: run saltutil.sync_all")
    return __virtualname__


def _map() -> dict:
    return __salt__["ha_topology.formula_map"]()["pacemaker"]  # noqa: F821 - Salt loader dunder


def _run(cmd: list[str], *, what: str, stdin: str | None = None, timeout: float = 120, check: bool = True) -> dict:
    """``cmd`` as ha_kit.run returns it (``what`` names it); raises on failure with ``check``."""
    result = __utils__["ha_kit.run"](  # noqa: F821 - Salt loader dunder
        __salt__, cmd, stdin=stdin, timeout=timeout, what=what,  # noqa: F821
        hint="are the formula's pacemaker packages installed (ha.pacemaker.install)?",
    )
    if check and result["retcode"] != 0:
        raise CommandExecutionError(
            f"{what} failed (exit {result['retcode']}): {__utils__['ha_kit.tail'](result, 4, 'Error:')}"  # noqa: F821
        )
    return result


def _pcs(*args: str, stdin: str | None = None, timeout: float = 120, check: bool = True) -> dict:
    _require_supported_pcs()
    return _run([_map()["pcs"], *args], stdin=stdin, timeout=timeout, check=check, what=f"pcs {' '.join(args[:2])}")


def version() -> str:
    """
    The version of pcs, e.g. ``0.11.5``.

    CLI Example:

    .. code-block:: bash

        salt 'openstack-controller*' ha_pacemaker.version
    """
    return _run([_map()["pcs"], "--version"], what="pcs --version")["stdout"].strip()


def _require_supported_pcs() -> None:
    if "ha_pacemaker.version_ok" in __context__:  # noqa: F821 - Salt loader dunder
        return
    text = version()
    match = re.match(r"^(\d+)\.(\d+)", text)
    if not match or (int(match[1]), int(match[2])) not in SUPPORTED_PCS:
        known = ", ".join(f"{major}.{minor}" for major, minor in SUPPORTED_PCS)
        raise CommandExecutionError(
            f"pcs {text!r} is not supported by ha_pacemaker (known: {known}); its command syntax may differ. "
            "Install a supported pcs or extend _modules/ha_pacemaker.py."
        )
    __context__["ha_pacemaker.version_ok"] = True  # noqa: F821


def parse_corosync_conf(text: str) -> dict:
    """
    corosync.conf as nested dicts; a section that appears more than once
    (``node``) is a list of dicts.
    """
    root: dict = {}
    stack = [root]
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        # corosync reads only whole lines starting with # as comments.
        if not line or line.startswith("#"):
            continue
        if line.endswith("{"):
            name = line[:-1].strip()
            section: dict = {}
            parent = stack[-1]
            if name in parent:
                if not isinstance(parent[name], list):
                    parent[name] = [parent[name]]
                parent[name].append(section)
            else:
                parent[name] = section
            stack.append(section)
        elif line == "}":
            if len(stack) == 1:
                raise CommandExecutionError(f"corosync.conf line {number}: '}}' without an open section")
            stack.pop()
        elif ":" in line:
            key, value = line.split(":", 1)
            stack[-1][key.strip()] = value.strip()
        else:
            raise CommandExecutionError(f"corosync.conf line {number}: cannot read {line!r}")
    if len(stack) != 1:
        raise CommandExecutionError("corosync.conf: a section is not closed")
    return root


def cluster_config(path: str | None = None) -> dict | None:
    """
    The cluster this node belongs to, from corosync.conf: ``name``,
    ``nodes`` (name to its first address, ``ring0_addr``) and ``totem``
    (every totem option); None when the node has no corosync.conf.

    CLI Example:

    .. code-block:: bash

        salt 'openstack-controller*' ha_pacemaker.cluster_config
    """
    path = path or _map()["corosync_conf"]
    try:
        with open(path, encoding="utf-8") as handle:
            conf = parse_corosync_conf(handle.read())
    except FileNotFoundError:
        return None
    totem = conf.get("totem", {})
    nodes = (conf.get("nodelist") or {}).get("node", [])
    nodes = nodes if isinstance(nodes, list) else [nodes]
    return {
        "name": totem.get("cluster_name"),
        "nodes": {node.get("name"): node.get("ring0_addr") for node in nodes},
        "totem": {key: value for key, value in totem.items() if not isinstance(value, (dict, list))},
    }


def is_package_cluster(config: dict | None) -> bool:
    """True when ``config`` is the one-node cluster that the distribution's package ships (map: package_cluster)."""
    package = _map().get("package_cluster")
    return bool(package) and config is not None and config["name"] == package["name"] \
        and config["nodes"] == package["nodes"]


def destroy_package_cluster() -> bool:
    """
    Remove the distribution's default one-node cluster (Debian's pacemaker
    package starts one named ``debian`` with node ``node1``): while it
    exists, ``pcs host auth`` stores no tokens and ``pcs cluster setup``
    fails. Any other cluster is left alone. Returns True when one was removed.

    CLI Example:

    .. code-block:: bash

        salt 'openstack-controller*' ha_pacemaker.destroy_package_cluster
    """
    if not is_package_cluster(cluster_config()):
        return False
    _pcs("cluster", "destroy", "--force", timeout=180)
    return True


def known_hosts() -> dict[str, list[str]]:
    """
    The hosts pcsd on this node holds a token for, with their addresses
    (the tokens themselves are never returned).

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_pacemaker.known_hosts
    """
    try:
        with open(_map()["known_hosts"], encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise CommandExecutionError(f"{_map()['known_hosts']} is not valid JSON: {exc}") from None
    return {
        name: [dest.get("addr") for dest in host.get("dest_list", [])]
        for name, host in (data.get("known_hosts") or {}).items()
    }


def auth(nodes: dict[str, str], password: str, user: str | None = None) -> None:
    """
    Authenticate pcs on this node against pcsd on every node (``pcs host
    auth NAME addr=ADDRESS ... -u hacluster``), the password on standard input.

    CLI Example:

    .. code-block:: bash

        salt-call ha_pacemaker.auth '{openstack-controller01: 10.10.10.51}' "$(cat secret)"
    """
    user = user or _map()["user"]
    args = [word for name, address in nodes.items() for word in (name, f"addr={address}")]
    _pcs("host", "auth", *args, "-u", user, stdin=password + "\n", timeout=180)
    missing = sorted(set(nodes) - set(known_hosts()))
    if missing:
        raise CommandExecutionError(
            f"pcs host auth stored no token for {', '.join(missing)}: is another cluster still configured "
            "on this node (pcs cluster destroy), and does pcsd run on every node?"
        )


def setup(name: str, nodes: dict[str, str], totem: dict | None = None) -> None:
    """
    Create the cluster on every node, start it and enable it at boot
    (``pcs cluster setup NAME NODE addr=ADDRESS ... [totem ...] --start
    --enable``). The nodes must be authenticated first. It returns once the
    nodes were told to start; :py:func:`online` waits for them.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_pacemaker.setup openstack-cluster-01 \\
            '{openstack-controller01: 10.10.10.51, openstack-controller02: 10.10.10.52}'
    """
    args = [word for node, address in nodes.items() for word in (node, f"addr={address}")]
    if totem:
        args += ["totem", *(f"{key}={value}" for key, value in totem.items())]
    _pcs("cluster", "setup", name, *args, "--start", "--enable", timeout=300)


def node_add(node: str, address: str, timeout: float = 180) -> None:
    """
    Add ``node`` at its management ``address`` to the running cluster, start
    it and enable it at boot (``pcs cluster node add NODE addr=ADDRESS
    --start --enable --wait``): corosync's node list is updated and reloaded
    on every node, no running node restarts. ``node`` must be authenticated
    and have no cluster of its own. Returns once it is online.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_pacemaker.node_add openstack-controller04 10.10.10.54
    """
    _pcs("cluster", "node", "add", node, f"addr={address}", "--start", "--enable", f"--wait={int(timeout)}",
         timeout=timeout + 60)
    online([node], timeout)


def node_remove(node: str, timeout: float = 180) -> bool:
    """
    Remove ``node`` from the running cluster (``pcs cluster node remove
    NODE``): pcs stops the cluster on it and destroys its configuration
    there, removes it from corosync's node list on every other node and
    reloads it (no running node restarts), and Pacemaker forgets it. Run it
    on a node that stays; put ``node`` in standby first, so that its
    resources move in order.

    Returns once the cluster's nodes are exactly the rest of corosync's node
    list, all online, quorate under a designated controller that is not
    ``node``, for STABLE_PROBES probes in a row under one DC: a controller
    taking over from a DC that left can write a removed node back into the
    CIB from its peer cache (seen on a 5-to-3 removal: the first removed node
    listed again, offline, after the second removal). An offline node that
    is in no node list, this one or one removed before, is purged again
    (``crm_node --force --remove``). False when ``node`` was not in
    corosync's node list and the CIB has no such offline node (nothing to
    do). Raises on a node without corosync.conf.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_pacemaker.node_remove openstack-controller04
    """
    config = cluster_config()
    if config is None:
        raise CommandExecutionError("this node has no corosync.conf: run the removal on a node of the cluster")
    rest = [name for name in config["nodes"] if name != node]
    if node in config["nodes"]:
        _pcs("cluster", "node", "remove", node, timeout=timeout)
    elif not _stale(status()["nodes"], rest):
        return False
    gone_under: list[str] = []  # the DC of each probe in a row that saw the node gone

    def probe() -> dict:
        # Through __salt__: the probe runs in the toolkit's loader (ha_kit.wait).
        current = __salt__["ha_pacemaker.status"]()  # noqa: F821 - Salt loader dunder
        state = f"quorate: {current['quorate']}, DC: {current['dc']}, nodes online: {current['nodes']}"
        # A stale node is never in ``rest``: a probe that sees one counts anew, then purges it.
        if set(current["nodes"]) != set(rest) or not all(current["nodes"].values()) or not current["quorate"] \
                or current["dc"] in (None, node):
            gone_under.clear()
            for name in _stale(current["nodes"], rest):
                __salt__["ha_pacemaker.forget_node"](name)  # noqa: F821
            raise CommandExecutionError(state)
        gone_under.append(current["dc"])
        if len(gone_under) < STABLE_PROBES or len(set(gone_under[-STABLE_PROBES:])) > 1:
            raise CommandExecutionError(f"gone for {len(gone_under)} probe(s) in a row; {state}")
        return current

    __utils__["ha_kit.wait"](f"{node} gone from a quorate cluster", probe, timeout, 2)  # noqa: F821
    return True


def _stale(nodes: dict[str, bool], listed: list[str]) -> list[str]:
    """The offline ``nodes`` (name to online) that corosync's node list (``listed``) no longer has: a node
    removed, or one whose entry a DC wrote back."""
    return sorted(name for name, up in nodes.items() if not up and name not in listed)


def forget_node(node: str) -> None:
    """
    Purge the offline ``node`` from Pacemaker: its CIB entries and every
    daemon's peer cache (``crm_node --force --remove``). For a node that is
    no longer in corosync's node list; see :py:func:`node_remove`.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_pacemaker.forget_node openstack-controller04
    """
    _run([_map()["crm_node"], "--force", "--remove", node], what=f"crm_node --force --remove {node}")


def stale_nodes() -> list[str]:
    """
    The offline nodes that Pacemaker lists and corosync's node list no
    longer has: a removed controller that a designated controller wrote
    back into the CIB from its peer cache (see :py:func:`node_remove`).
    Raises on a node without corosync.conf or where the cluster does not run.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_pacemaker.stale_nodes
    """
    config = cluster_config()
    if config is None:
        raise CommandExecutionError("this node has no corosync.conf: ask a node of the cluster")
    return _stale(status()["nodes"], list(config["nodes"]))


def forget_stale() -> list[str]:
    """
    Purge every node of :py:func:`stale_nodes` (:py:func:`forget_node`);
    returns them. A node that corosync still lists is never touched.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_pacemaker.forget_stale
    """
    stale = stale_nodes()
    for node in stale:
        forget_node(node)
    return stale


def update_totem(totem: dict) -> None:
    """
    Change corosync totem options on every node and reload corosync
    (``pcs cluster config update totem ...``, pcs 0.10.8 and later).

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_pacemaker.update_totem '{token: 1000}'
    """
    _pcs("cluster", "config", "update", "totem", *(f"{key}={value}" for key, value in totem.items()))
    _pcs("cluster", "reload", "corosync")


def status() -> dict:
    """
    The live cluster from ``crm_mon``: ``quorate``, ``dc`` (the designated
    controller), ``nodes`` (name to ``online``), ``resources`` (id to the
    nodes where it is started; a clone's instances under the clone's id) and
    ``failed_actions``, one line each.
    Raises when the cluster does not run on this node.

    CLI Example:

    .. code-block:: bash

        salt 'openstack-controller*' ha_pacemaker.status
    """
    result = _run([_map()["crm_mon"], "--one-shot", "--inactive", "--output-as=xml"],
                  what="crm_mon --one-shot --inactive", timeout=60, check=False)
    try:
        root = ET.fromstring(result["stdout"])
    except ET.ParseError:
        raise CommandExecutionError(f"crm_mon failed: {__utils__['ha_kit.tail'](result, 3)}") from None  # noqa: F821
    summary = root.find("summary")
    if summary is None:
        error = root.find("status")
        message = error.get("message") if error is not None else "crm_mon printed no summary"
        raise CommandExecutionError(f"the cluster does not run here: {message}")
    dc = summary.find("current_dc")
    resources: dict[str, list[str]] = {}

    def started(element) -> list[str]:
        if element.get("role") != "Started" or element.get("active") != "true" or element.get("failed") == "true":
            return []
        return [node.get("name") for node in element.findall("node")]

    resources_element, nodes_element = root.find("resources"), root.find("nodes")
    for element in list(resources_element) if resources_element is not None else []:
        if element.tag == "clone":
            resources[element.get("id")] = sorted(n for child in element.findall("resource") for n in started(child))
        elif element.tag == "resource":
            resources[element.get("id")] = sorted(started(element))
    failures = root.find("failures")
    return {
        "quorate": dc is not None and dc.get("with_quorum") == "true",
        "dc": dc.get("name") if dc is not None and dc.get("present") == "true" else None,
        "nodes": {node.get("name"): node.get("online") == "true"
                  for node in (list(nodes_element) if nodes_element is not None else [])},
        "resources": resources,
        # As crm_mon lists them: kept until their fail count is cleaned up.
        "failed_actions": sorted(
            f"{failure.get('op_key')} on {failure.get('node')}: {failure.get('status')} "
            f"(exit {failure.get('exitstatus')}{': ' + failure.get('exitreason') if failure.get('exitreason') else ''})"
            for failure in (list(failures) if failures is not None else [])
        ),
    }


def _nvpairs(element) -> dict[str, str]:
    return {nv.get("name"): nv.get("value") for nv in element.findall("nvpair")} if element is not None else {}


def _location(element) -> dict:
    """A location constraint as CONSTRAINT_ATTRIBUTES lists it: a node's score has no rule; a rule of
    several expressions reads as their words joined by its boolean operator."""
    rule = element.find("rule")
    if rule is None:
        return {"rsc": element.get("rsc"), "score": element.get("score"), "rule": None}
    words = [" ".join((e.get("attribute", ""), e.get("operation", ""), e.get("value", ""))).strip()
             for e in rule.findall("expression")]
    return {"rsc": element.get("rsc"), "score": rule.get("score"),
            "rule": f" {rule.get('boolean-op', 'and')} ".join(words)}


def parse_cib(xml: str) -> dict:
    """
    What the formula compares in a CIB: ``properties`` (cib-bootstrap-options),
    ``resources`` (primitives by id: ``agent``, ``options``,
    ``monitor_interval``, ``meta``, ``clone``: the id of the clone holding
    it) and ``constraints`` (order, colocation and location, each with its ``id`` and
    the attributes of CONSTRAINT_ATTRIBUTES, Pacemaker's defaults filled in).
    """
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise CommandExecutionError(f"cannot read the CIB: {exc}") from None
    config = root.find("configuration")
    if config is None:
        raise CommandExecutionError("the CIB has no configuration section")
    properties = _nvpairs(config.find("crm_config/cluster_property_set[@id='cib-bootstrap-options']"))
    resources = {}
    for parent, primitive in [(None, p) for p in config.findall("resources/primitive")] + [
        (clone.get("id"), p) for clone in config.findall("resources/clone") for p in clone.findall("primitive")
    ]:
        agent = ":".join(part for part in (primitive.get("class"), primitive.get("provider"), primitive.get("type"))
                         if part)
        monitor = primitive.find("operations/op[@name='monitor']")
        resources[primitive.get("id")] = {
            "agent": agent,
            "options": _nvpairs(primitive.find("instance_attributes")),
            "monitor_interval": monitor.get("interval") if monitor is not None else None,
            "meta": _nvpairs(primitive.find("meta_attributes")),
            "clone": parent,
        }
    constraints = []
    for kind, tag in CIB_TAGS.items():
        for element in config.findall(f"constraints/{tag}"):
            entry = {"type": kind, "id": element.get("id")}
            if kind == "location":
                entry.update(_location(element))
            else:
                for attribute in CONSTRAINT_ATTRIBUTES[kind]:
                    entry[attribute] = element.get(attribute, CONSTRAINT_DEFAULTS.get(attribute))
            constraints.append(entry)
    return {"properties": properties, "resources": resources, "constraints": constraints}


def cib() -> dict:
    """
    The live CIB as :py:func:`parse_cib` reads it.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_pacemaker.cib
    """
    return parse_cib(_run([_map()["cibadmin"], "--query"], what="cibadmin --query")["stdout"])


def _same_pair(constraint: dict, wanted: dict) -> bool:
    """Both constrain the same two resources (in either direction) with the same type."""
    if constraint["type"] != wanted["type"]:
        return False
    if wanted["type"] == "location":
        # The same resource and a rule on the same node attribute; a
        # location of the operator's (pcs resource move or ban) is another.
        return constraint["rsc"] == wanted["rsc"] and (constraint["rule"] or "").split(" ")[0] == (
            wanted["rule"].split(" ")[0])
    keys = ("first", "then") if wanted["type"] == "order" else ("rsc", "with-rsc")
    return {constraint[k] for k in keys} == {wanted[k] for k in keys}


def _create_resource(spec: dict) -> list[str]:
    words = ["resource", "create", spec["id"], spec["agent"],
             *(f"{k}={v}" for k, v in spec["options"].items()),
             "op", "monitor", f"interval={spec['monitor_interval']}"]
    if spec["meta"]:
        words += ["meta", *(f"{k}={v}" for k, v in spec["meta"].items())]
    if spec["clone"]:
        words.append("clone")
    return words


def _constraint_words(spec: dict) -> list[str]:
    if spec["type"] == "order":
        return ["constraint", "order", spec["first-action"], spec["first"], "then", spec["then-action"],
                spec["then"], f"kind={spec['kind']}", f"symmetrical={spec['symmetrical']}"]
    if spec["type"] == "location":
        return ["constraint", "location", spec["rsc"], "rule", f"score={spec['score']}", *spec["rule"].split(" ")]
    return ["constraint", "colocation", "add", spec["rsc"], "with", spec["with-rsc"], spec["score"]]


def diff(current: dict, properties: dict, resources: list[dict], constraints: list[dict]) -> dict:
    """
    Compare a CIB read by :py:func:`parse_cib` with what is wanted; return
    ``changes`` (for a state's return) and ``commands``: the ``pcs -f``
    argument lists that make the CIB what is wanted. Empty when nothing
    differs. Constraints on the same pair of resources as a wanted one but
    with other attributes (or in the other direction) are removed;
    constraints on other resources are left alone.
    """
    changes: dict[str, Any] = {}
    commands: list[list[str]] = []
    changed_properties = {
        name: {"old": current["properties"].get(name), "new": value}
        for name, value in properties.items() if current["properties"].get(name) != value
    }
    if changed_properties:
        changes["properties"] = changed_properties
        plain = [f"{k}={v['new']}" for k, v in changed_properties.items() if not MILLISECONDS_RE.fullmatch(v["new"])]
        if plain:
            commands.append(["property", "set", *plain])
        # pcs 0.11 knows times in s, m and h only and refuses "150ms", which
        # Pacemaker takes; --force on these alone keeps pcs's checks of the rest.
        commands.extend(["property", "set", "--force", f"{k}={v['new']}"]
                        for k, v in changed_properties.items() if MILLISECONDS_RE.fullmatch(v["new"]))
    for spec in resources:
        have = current["resources"].get(spec["id"])
        if have is None:
            changes.setdefault("resources", {})[spec["id"]] = {"old": None, "new": "created"}
            commands.append(_create_resource(spec))
            continue
        if have["agent"] != spec["agent"] or have["clone"] != spec["clone"]:
            raise CommandExecutionError(
                f"resource {spec['id']} exists as {have['agent']}{' in ' + have['clone'] if have['clone'] else ''}, "
                f"not {spec['agent']}{' in ' + spec['clone'] if spec['clone'] else ''}: remove it "
                f"(pcs resource delete {spec['id']}) and deploy again"
            )
        differs = {}
        options = {k: v for k, v in spec["options"].items() if have["options"].get(k) != v}
        if options:
            differs["options"] = {k: {"old": have["options"].get(k), "new": v} for k, v in options.items()}
            commands.append(["resource", "update", spec["id"], *(f"{k}={v}" for k, v in options.items())])
        if have["monitor_interval"] != spec["monitor_interval"]:
            differs["monitor_interval"] = {"old": have["monitor_interval"], "new": spec["monitor_interval"]}
            commands.append(["resource", "update", spec["id"], "op", "monitor",
                             f"interval={spec['monitor_interval']}"])
        meta = {k: v for k, v in spec["meta"].items() if have["meta"].get(k) != v}
        if meta:
            differs["meta"] = {k: {"old": have["meta"].get(k), "new": v} for k, v in meta.items()}
            commands.append(["resource", "meta", spec["id"], *(f"{k}={v}" for k, v in meta.items())])
        if differs:
            changes.setdefault("resources", {})[spec["id"]] = differs
    for spec in constraints:
        related = [c for c in current["constraints"] if _same_pair(c, spec)]
        attributes = CONSTRAINT_ATTRIBUTES[spec["type"]]
        if related and all(all(c[a] == spec[a] for a in attributes) for c in related):
            continue
        removed = [c for c in related if not all(c[a] == spec[a] for a in attributes)]
        if removed:
            # "remove" and "delete" are one command in every pcs since 0.10.1
            # (both routed to the same function, neither deprecated up to 0.12).
            commands.append(["constraint", "remove", *(c["id"] for c in removed)])
        if len(removed) == len(related):
            commands.append(_constraint_words(spec))
        described = " ".join(_constraint_words(spec)[1:])
        changes.setdefault("constraints", {})[described] = {
            "old": [c["id"] for c in removed] or None, "new": "present",
        }
    return {"changes": changes, "commands": commands}


def push(commands: list[list[str]]) -> None:
    """
    Apply ``pcs -f`` commands to a copy of the live CIB and push the result
    at once (``pcs cluster cib-push FILE diff-against=ORIGINAL``), so the
    cluster sees one change, not one per command.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_pacemaker.push '[["property", "set", "stonith-enabled=false"]]'
    """
    with tempfile.TemporaryDirectory(prefix="ha-pacemaker-") as tmp:
        original, edited = os.path.join(tmp, "original.xml"), os.path.join(tmp, "edited.xml")
        _pcs("cluster", "cib", original)
        with open(original, encoding="utf-8") as src, open(edited, "w", encoding="utf-8") as dst:
            dst.write(src.read())
        for words in commands:
            _pcs("-f", edited, *words)
        _pcs("cluster", "cib-push", edited, f"diff-against={original}")


# pcs status pcsd: one "  NODE: Online" line per node ("Offline", "Unable to authenticate").
PCSD_STATUS_RE = re.compile(r"^\s+(\S+): (.+?)\s*$", re.MULTILINE)


def pcsd_status(nodes: list[str]) -> dict[str, str]:
    """
    What pcs on this node finds of pcsd on each of ``nodes`` (``pcs status
    pcsd NODE ...``): ``{node: "Online"}``, or ``"Offline"``, ``"Unable to
    authenticate"``; a node pcs printed nothing for is left out.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_pacemaker.pcsd_status '[openstack-controller02, openstack-controller03]'
    """
    result = _pcs("status", "pcsd", *nodes, check=False)
    found = dict(PCSD_STATUS_RE.findall(result["stdout"] + result["stderr"]))
    return {node: found[node] for node in nodes if node in found}


def pcsd_online(nodes: list[str], timeout: float = 180) -> None:
    """
    Wait until pcs on this node reaches an authenticated pcsd on every node
    of ``nodes``: the gate before ``pcs cluster node add``, which sends the
    new corosync.conf to every node and stops half done (the nodes that got
    it and the one that did not disagree) when one pcsd does not answer.
    Raises naming each node that is not online and what pcs found.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_pacemaker.pcsd_online '[openstack-controller02, openstack-controller03]'
    """
    def probe() -> bool:
        # Through __salt__: the probe runs in the toolkit's loader (ha_kit.wait).
        found = __salt__["ha_pacemaker.pcsd_status"](nodes)  # noqa: F821 - Salt loader dunder
        missing = {node: found.get(node, "no answer") for node in nodes if found.get(node) != "Online"}
        if missing:
            raise CommandExecutionError(", ".join(f"{node}: {said}" for node, said in missing.items()))
        return True

    __utils__["ha_kit.wait"](f"pcsd online on {', '.join(nodes)}", probe, timeout, 2)  # noqa: F821


def online(nodes: list[str], timeout: float = 180) -> dict:
    """
    Wait until the cluster is quorate and every node of ``nodes`` is online;
    return the status.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_pacemaker.online '[openstack-controller01, openstack-controller02]'
    """
    def probe() -> dict:
        # Through __salt__: the probe runs in the toolkit's loader (ha_kit.wait).
        current = __salt__["ha_pacemaker.status"]()  # noqa: F821 - Salt loader dunder
        if not (current["quorate"] and all(current["nodes"].get(n) for n in nodes)):
            raise CommandExecutionError(f"quorate: {current['quorate']}, nodes online: {current['nodes']}")
        return current

    return __utils__["ha_kit.wait"](  # noqa: F821 - Salt loader dunder
        f"nodes {', '.join(nodes)} online in a quorate cluster", probe, timeout, 2)


def standby(node: str, on: bool = True, timeout: int = 120) -> None:
    """
    Put ``node`` in standby (``on``: it runs no resource, they move away) or
    take it out again, and wait until the cluster has settled (at most
    ``timeout`` seconds).

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_pacemaker.standby openstack-controller01 on=False
    """
    _pcs("node", "standby" if on else "unstandby", node, f"--wait={int(timeout)}", timeout=timeout + 30)


def password_matches(user: str, password: str) -> bool:
    """True when ``password`` is the current password of the local ``user`` (its shadow hash)."""
    hashed = __salt__["shadow.info"](user).get("passwd") or ""  # noqa: F821 - Salt loader dunder
    if not hashed.startswith("$"):
        return False  # locked or no password
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import crypt  # noqa: PLC0415 - deprecated module, only needed here
        except ImportError:
            raise CommandExecutionError("cannot check the password: Python's crypt module is missing") from None
    return crypt.crypt(password, hashed) == hashed


def set_password(user: str, password: str) -> None:
    """
    Set the local password of ``user`` through ``chpasswd`` (on its standard input).

    CLI Example:

    .. code-block:: bash

        salt-call ha_pacemaker.set_password hacluster "$(cat secret)"
    """
    if "\n" in password:
        raise CommandExecutionError("a password for chpasswd cannot contain a newline")
    _run(["chpasswd"], stdin=f"{user}:{password}\n", what=f"chpasswd for {shlex.quote(user)}")
