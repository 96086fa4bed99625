"""
States of the etcd cluster:

- ``ha_etcd.initial_settings``: the initial settings of a member without
  data, for a new cluster or, added first, for joining the running one;
- ``ha_etcd.healthy`` waits, up to a deadline, for a healthy quorum of the
  expected members (the health gate of ``ha.deploy`` after the members
  started). It checks and changes nothing.
"""

from __future__ import annotations

import os

from salt.exceptions import CommandExecutionError

__virtualname__ = "ha_etcd"


def __virtual__():
    if "ha_kit.ret" not in __utils__:  # noqa: F821 - Salt loader dunder
        return (False, "the formula's ha_kit utils module is not synced: run saltutil.sync_all")
    if "ha_etcd.health" not in __salt__:  # noqa: F821
        return (False, "the ha_etcd execution module is not synced: run saltutil.sync_all")
    return __virtualname__


def _kit(function: str):
    """A function of the formula's toolkit (_utils/ha_kit.py)."""
    return __utils__[f"ha_kit.{function}"]  # noqa: F821 - Salt loader dunder


def _describe(result: dict) -> str:
    text = f"leader {result['leader']}, healthy: {', '.join(result['healthy']) or 'none'}"
    if result["unhealthy"]:
        text += "; unhealthy: " + "; ".join(f"{name} ({error})" for name, error in result["unhealthy"].items())
    return text


def healthy(name: str, members: dict[str, dict] | None = None, timeout: float = 120,
            all_members: bool = False) -> dict:
    """
    Wait until a majority of ``members`` (``{name: {"peer_url",
    "client_url"}}``; default: ``ha_topology.etcd_members``) is healthy with
    one leader and the expected member list (with ``all_members``: every
    member healthy). Fails with what is wrong once ``timeout`` seconds have
    passed. With ``test=True`` it checks once and does not wait.

    .. code-block:: yaml

        ha-etcd-healthy:
          ha_etcd.healthy:
            - timeout: 120
    """
    ret = _kit("ret")(name)
    if _kit("is_test")(__opts__):  # noqa: F821 - Salt loader dunder
        result = __salt__["ha_etcd.health"](members)  # noqa: F821
        wrong = __salt__["ha_etcd.problems"](result, all_members)  # noqa: F821
        if not wrong:
            ret["comment"] = "etcd has a healthy quorum: " + _describe(result)
            return ret
        return _kit("would")(ret, "etcd is not healthy yet; would wait: " + "; ".join(wrong))
    result = __salt__["ha_etcd.wait_healthy"](members, timeout, all_members)  # noqa: F821
    wrong = __salt__["ha_etcd.problems"](result, all_members)  # noqa: F821
    if not wrong:
        ret["comment"] = "etcd has a healthy quorum: " + _describe(result)
        return ret
    return _kit("fail")(ret, f"etcd is not healthy after {timeout:.0f} s: " + "; ".join(wrong))


def _render(settings: dict[str, str]) -> str:
    lines = [f'{key}="{value}"' for key, value in settings.items()]
    return "# Managed by Salt (ha formula): read by etcd only while its data directory is empty.\n" + \
        "\n".join(lines) + "\n"


def _parse(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))
    return {key: value.strip('"') for key, value in pairs}


def _added_in_turn(me: str, members: dict[str, dict], others: list[str], timeout: float) -> list[dict]:
    """
    Wait until every controller before ``me`` in the pillar's order is a
    started member (members are added one at a time, each one started
    before the next is added: a quorum of started members at every step),
    then add ``me``; the member list with it. An addition that etcd refuses
    for now ("not healthy for reconfigure": a member started a moment ago)
    is tried again until ``timeout``.
    """
    before = list(members)[:list(members).index(me)]
    mine = members[me]["peer_url"]

    def added() -> list[dict]:
        # Through __salt__: the probe runs in the toolkit's loader (ha_kit.wait).
        listed = __salt__["ha_etcd.members"](others)  # noqa: F821 - Salt loader dunder
        if any(mine in member["peer_urls"] for member in listed):
            return listed  # an earlier try was applied although its answer was lost
        named = {member["name"] for member in listed}
        waiting = [name for name in before if name not in named]
        if waiting:
            raise CommandExecutionError(f"not started members yet: {', '.join(waiting)}")
        return __salt__["ha_etcd.member_add"](others, me, mine)  # noqa: F821

    return _kit("wait")(f"{me} added to the running etcd cluster, the controllers before it started", added,
                        timeout, 2)


def initial_settings(name: str, data_dir: str, timeout: float = 300) -> dict:
    """
    The environment file ``name`` holds this member's initial settings
    (ETCD_INITIAL_CLUSTER, its token and state), which etcd reads only while
    its data directory ``data_dir`` is empty:

    - a member with data: nothing to do, whatever the pillar lists now (a
      member added or removed elsewhere changes nothing here, so nothing
      restarts);
    - no other expected member answers: a new cluster of every controller
      (``ha_topology.etcd_node``'s ``new_cluster``), as on a first deploy,
      where the members start at once;
    - a cluster answers: this node joins it. Unless it is listed already,
      it waits until the controllers before it in the pillar are started
      members, then is added (``ha_etcd.member_add``); its settings are that
      cluster, state ``existing`` (``ha_topology.etcd_joining``). Listed and
      never started as one of the members the cluster was created with (on
      a first deploy the others may start first), its settings are those
      members, state ``new``.

    With ``test=True`` nothing is added or written.

    .. code-block:: yaml

        ha-etcd-initial-settings:
          ha_etcd.initial_settings:
            - name: /etc/default/etcd-initial
            - data_dir: /var/lib/etcd/ha-cluster
    """
    ret = _kit("ret")(name)
    if os.path.isdir(os.path.join(data_dir, "member")):
        ret["comment"] = f"a member with data in {data_dir}: etcd reads no initial settings"
        return ret
    node = __salt__["ha_topology.etcd_node"](data_dir)  # noqa: F821 - Salt loader dunder
    me, members = node["environment"]["ETCD_NAME"], node["members"]
    others = [spec["client_url"] for member, spec in members.items() if member != me]
    try:
        listed = __salt__["ha_etcd.members"](others)  # noqa: F821
    except CommandExecutionError:
        listed = None
    try:
        if listed is None:
            wanted, how = node["new_cluster"], "a new cluster of every controller"
        else:
            if not any(members[me]["peer_url"] in member["peer_urls"] for member in listed):
                if _kit("is_test")(__opts__):  # noqa: F821
                    return _kit("would")(ret, f"{me} would be added to the running etcd cluster once the "
                                              "controllers before it are started members",
                                         {"member": {"old": None, "new": me}})
                listed = _added_in_turn(me, members, others, timeout)
                _kit("change")(ret, "member", None, me)
            joining = __salt__["ha_topology.etcd_joining"](  # noqa: F821
                listed, cluster_id=__salt__["ha_etcd.cluster_id"](others))  # noqa: F821
            wanted = {**joining, "ETCD_INITIAL_CLUSTER_TOKEN": node["new_cluster"]["ETCD_INITIAL_CLUSTER_TOKEN"]}
            how = ("a member of the new cluster, started after the others"
                   if joining["ETCD_INITIAL_CLUSTER_STATE"] == "new" else "joining the running cluster")
    except CommandExecutionError as exc:
        return _kit("fail")(ret, f"{me}: {exc}")
    current = None
    if os.path.exists(name):
        with open(name, encoding="utf-8") as handle:
            current = _parse(handle.read())
    if current == wanted:
        ret["comment"] = f"initial settings in place: {how}"
        return ret
    if _kit("is_test")(__opts__):  # noqa: F821
        return _kit("would")(ret, f"initial settings would be written: {how}",
                             {"settings": {"old": current, "new": wanted}})
    os.makedirs(os.path.dirname(name), exist_ok=True)
    with open(name + ".new", "w", encoding="utf-8") as handle:
        handle.write(_render(wanted))
    os.chmod(name + ".new", 0o644)
    os.replace(name + ".new", name)
    _kit("change")(ret, "settings", current, wanted)
    ret["comment"] = f"initial settings written: {how}"
    return ret
