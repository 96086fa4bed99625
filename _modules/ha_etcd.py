"""
Health of the etcd cluster through the v3 API (``etcdctl`` with
``ETCDCTL_API=3`` and JSON output): the member list, the health and status of
every endpoint, the leader, and whether a quorum of the expected members is
healthy; a member's removal.

The path of ``etcdctl`` comes from the formula's map (``etcd:etcdctl``).
"""

from __future__ import annotations

import json
from typing import Any

from salt.exceptions import CommandExecutionError

__virtualname__ = "ha_etcd"


def __virtual__():
    if "ha_kit.run" not in __utils__:  # noqa: F821 - Salt loader dunder
        return (False, "the formula's ha_kit utils module is not synced: run saltutil.sync_all")
    return __virtualname__


def _etcdctl(endpoints: list[str], *args: str, timeout: float = 15) -> Any:
    """Run etcdctl against ``endpoints`` and return its JSON output."""
    argv = [
        __salt__["ha_topology.formula_map"]()["etcd"]["etcdctl"],  # noqa: F821 - Salt loader dunder
        "--endpoints=" + ",".join(endpoints), "--dial-timeout=3s", "--command-timeout=5s", "-w", "json", *args,
    ]
    # The v3 API whatever the release's default (etcdctl before 3.4 speaks
    # v2), on top of the minion's environment.
    result = __utils__["ha_kit.run"](  # noqa: F821
        __salt__, argv, env={"ETCDCTL_API": "3"}, timeout=timeout, what=f"etcdctl {' '.join(args)}",  # noqa: F821
        hint="is the etcd client package installed?",
    )
    if result["retcode"] != 0:
        raise CommandExecutionError(
            f"etcdctl {' '.join(args)} at {','.join(endpoints)} failed: {__utils__['ha_kit.tail'](result, 2)}"  # noqa: F821
        )
    try:
        return json.loads(result["stdout"])
    except ValueError:
        raise CommandExecutionError(f"etcdctl {' '.join(args)} printed no JSON: {result['stdout'][:200]!r}") from None


def members(endpoints: list[str]) -> list[dict]:
    """
    The member list, as ``{"id", "name", "peer_urls", "client_urls"}`` with
    the id in hex as etcdctl's table prints it. A member that was added but
    never started has an empty name.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_etcd.members '[http://10.10.10.51:2379]'
    """
    return _members(_etcdctl(endpoints, "member", "list"))


def cluster_id(endpoints: list[str]) -> str:
    """
    The running cluster's id, in hex (as ``ha_topology_etcd.created_id``
    derives it from the ids of the members it was created with).

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_etcd.cluster_id '[http://10.10.10.51:2379]'
    """
    return format(_etcdctl(endpoints, "member", "list")["header"]["cluster_id"], "x")


def _members(raw: dict) -> list[dict]:
    return sorted(
        (
            {
                "id": format(member["ID"], "x"),
                "name": member.get("name", ""),
                "peer_urls": sorted(member.get("peerURLs", [])),
                "client_urls": sorted(member.get("clientURLs", [])),
            }
            for member in raw.get("members", [])
        ),
        key=lambda member: member["name"],
    )


def member_add(endpoints: list[str], name: str, peer_url: str) -> list[dict]:
    """
    Add the member ``name`` at ``peer_url`` to the running cluster of
    ``endpoints`` (``etcdctl member add``); returns the member list with it
    (see :py:func:`members`), from which the new member's initial cluster is
    made. The new member then starts with initial cluster state ``existing``.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller04 ha_etcd.member_add '[http://10.10.10.51:2379]' \\
            openstack-controller04 http://10.10.10.54:2380
    """
    raw = _etcdctl(endpoints, "member", "add", name, f"--peer-urls={peer_url}", timeout=30)
    return _members(raw)


def member_remove(endpoints: list[str], name: str, timeout: float = 120) -> bool:
    """
    Remove the member ``name`` from the cluster of ``endpoints`` (members
    that stay; ``etcdctl member remove ID``). Stop it first: the others keep
    their quorum, since the cluster then counts one member less. Returns
    once the member list no longer has it and every member left answers
    healthy (up to ``timeout`` seconds); False when no member has that name
    (nothing to remove; the wait is the same).

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_etcd.member_remove '[http://10.10.10.51:2379]' openstack-controller04
    """
    ids = [member["id"] for member in members(endpoints) if member["name"] == name]
    for member_id in ids:
        _etcdctl(endpoints, "member", "remove", member_id, timeout=30)

    # Also when there was nothing to do: a removal run again after this wait
    # failed must not go on before the cluster agrees.
    def probe() -> list[dict]:
        # Through __salt__: the probe runs in the toolkit's loader (ha_kit.wait).
        listed = __salt__["ha_etcd.members"](endpoints)  # noqa: F821 - Salt loader dunder
        unhealthy = [member["name"] or member["id"] for member in listed if member["name"] == name or not all(
            __salt__["ha_etcd.endpoint_health"](url)["healthy"] for url in member["client_urls"])]  # noqa: F821
        if unhealthy:
            raise CommandExecutionError(f"listed and not healthy, or still listed: {', '.join(unhealthy)}")
        return listed

    __utils__["ha_kit.wait"](f"etcd without {name}", probe, timeout, 2)  # noqa: F821
    return bool(ids)


def remove_data() -> bool:
    """
    Delete this node's etcd data (the map's ``etcd:data_dir``) once it is no
    member any more, so that it joins as a new member if it is added again;
    refused while etcd runs here. Returns False when there was none.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller04 ha_etcd.remove_data
    """
    etcd = __salt__["ha_topology.formula_map"]()["etcd"]  # noqa: F821 - Salt loader dunder
    return __utils__["ha_kit.remove_data"](__salt__, etcd["service"], etcd["data_dir"])  # noqa: F821


def endpoint_status(endpoint: str) -> dict:
    """
    One endpoint's ``member_id``, ``leader`` (ids in hex), ``raft_term``,
    ``raft_index``, ``version`` and ``db_size``; raises when it does not answer.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_etcd.endpoint_status http://10.10.10.51:2379
    """
    (entry,) = _etcdctl([endpoint], "endpoint", "status")
    status = entry["Status"]
    return {
        "member_id": format(status["header"]["member_id"], "x"),
        "leader": format(status["leader"], "x"),
        "raft_term": status["raftTerm"],
        "raft_index": status.get("raftIndex", 0),
        "version": status["version"],
        "db_size": status["dbSize"],
    }


def endpoint_health(endpoint: str) -> dict:
    """
    ``{"healthy": bool, "error": str}`` of one endpoint (etcdctl endpoint
    health: a quorum read through that member).

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_etcd.endpoint_health http://10.10.10.51:2379
    """
    try:
        (entry,) = _etcdctl([endpoint], "endpoint", "health")
    except CommandExecutionError as exc:
        return {"healthy": False, "error": str(exc)}
    return {"healthy": bool(entry.get("health")), "error": entry.get("error", "")}


def health(expected: dict[str, dict] | None = None) -> dict:
    """
    The cluster against the ``expected`` members (``{name: {"peer_url",
    "client_url"}}``; default: ``ha_topology.etcd_members`` of the pillar): ``members`` as listed,
    ``healthy`` and ``unhealthy`` (name to error) endpoints, the ``leader``'s
    name, ``quorum`` (a majority of the expected members is healthy, they
    agree on a leader and the member list is the expected one) and
    ``problems`` in words.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_etcd.health
    """
    if expected is None:
        expected = __salt__["ha_topology.etcd_members"]()  # noqa: F821 - Salt loader dunder
    endpoints = [spec["client_url"] for spec in expected.values()]
    problems: list[str] = []
    try:
        listed = members(endpoints)
    except CommandExecutionError as exc:
        listed = []
        problems.append(str(exc))
    names_by_id = {member["id"]: member["name"] for member in listed}
    # Compared as lists: a second member under an expected name (a node
    # re-added with another address) must show.
    wanted = sorted((name, [spec["peer_url"]]) for name, spec in expected.items())
    found = sorted((member["name"], member["peer_urls"]) for member in listed)
    if listed and found != wanted:
        problems.append(f"the member list is {dict(found) if len(found) == len(dict(found)) else found}, "
                        f"expected {dict(wanted)}")
    healthy, unhealthy, leaders = [], {}, set()
    for name, spec in sorted(expected.items()):
        check = endpoint_health(spec["client_url"])
        if not check["healthy"]:
            unhealthy[name] = check["error"] or "unhealthy"
            continue
        healthy.append(name)
        try:
            leaders.add(endpoint_status(spec["client_url"])["leader"])
        except CommandExecutionError as exc:
            unhealthy[name] = str(exc)
            healthy.remove(name)
    if len(leaders) > 1:
        problems.append(f"the healthy members disagree on the leader: {sorted(leaders)}")
    leader = names_by_id.get(next(iter(leaders))) if len(leaders) == 1 else None
    majority = len(expected) // 2 + 1
    if len(healthy) < majority:
        problems.append(f"{len(healthy)} of {len(expected)} members healthy, a quorum needs {majority}")
    if leader is None and not problems:
        problems.append("no leader")
    return {
        "members": listed,
        "healthy": healthy,
        "unhealthy": unhealthy,
        "leader": leader,
        "quorum": not problems,
        "problems": problems,
    }


def problems(result: dict, all_members: bool = False) -> list[str]:
    """
    What keeps a :py:func:`health` result from a healthy quorum (with
    ``all_members``: from every expected member healthy); empty when
    nothing does.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_etcd.problems "$(salt-call --out=json ha_etcd.health)"
    """
    if result["quorum"] and (not all_members or not result["unhealthy"]):
        return []
    return result["problems"] or [f"unhealthy: {result['unhealthy']}"]


def wait_healthy(expected: dict[str, dict] | None = None, timeout: float = 120, all_members: bool = False) -> dict:
    """
    Poll :py:func:`health` until the cluster has a healthy quorum (with
    ``all_members``: every expected member healthy), up to ``timeout``
    seconds; return the last result either way.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_etcd.wait_healthy timeout=60 all_members=True
    """
    if expected is None:
        # Once, before the loop: a pillar that names no members fails at once.
        expected = __salt__["ha_topology.etcd_members"]()  # noqa: F821 - Salt loader dunder
    seen: list[dict] = []

    def probe() -> bool:
        # Through __salt__: the probe runs in the toolkit's loader (ha_kit.wait).
        seen.append(__salt__["ha_etcd.health"](expected))  # noqa: F821 - Salt loader dunder
        return not problems(seen[-1], all_members)

    try:
        __utils__["ha_kit.wait"]("a healthy etcd", probe, timeout)  # noqa: F821
    except CommandExecutionError:
        pass  # the caller judges the last result (ha_etcd.healthy says what is wrong)
    return seen[-1]


def wait_whole(timeout: float = 120) -> dict:
    """
    Wait up to ``timeout`` seconds until every expected member is healthy
    (:py:func:`wait_healthy` with ``all_members``) and return the health;
    raise, saying what is still wrong, when they are not by then.

    CLI Example:

    .. code-block:: bash

        salt openstack-controller01 ha_etcd.wait_whole timeout=60
    """
    result = wait_healthy(timeout=timeout, all_members=True)
    wrong = problems(result, all_members=True)
    if wrong:
        raise CommandExecutionError(f"did not see every etcd member healthy within {timeout:g} s: "
                                    + "; ".join(wrong))
    return result
