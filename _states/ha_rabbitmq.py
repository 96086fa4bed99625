"""
States of a RabbitMQ cluster node, on top of the ``ha_rabbitmq`` execution module.

- ``ha_rabbitmq.clustered``: this node is a running member of the first
  controller's cluster, of the wanted node type; a member is never reset or
  joined again;
- ``ha_rabbitmq.user``, ``ha_rabbitmq.user_absent``: users, tags, permissions;
- ``ha_rabbitmq.policy``, ``ha_rabbitmq.policy_absent``: policies.

Passwords are read from the pillar by the state (``password_pillar``), never
passed as arguments, so they appear in no rendered data and no output.
"""

from __future__ import annotations

from salt.exceptions import CommandExecutionError

__virtualname__ = "ha_rabbitmq"


def __virtual__():
    if "ha_kit.ret" not in __utils__:  # noqa: F821 - Salt loader dunder
        return (False, "the formula's ha_kit utils module is not synced: run saltutil.sync_all")
    if "ha_rabbitmq.cluster_status" not in __salt__:  # noqa: F821
        return (False, "the ha_rabbitmq execution module is not synced: run saltutil.sync_all")
    return __virtualname__


def _kit(function: str):
    """A function of the formula's toolkit (_utils/ha_kit.py)."""
    return __utils__[f"ha_kit.{function}"]  # noqa: F821 - Salt loader dunder


def _mod(function: str):
    return __salt__[f"ha_rabbitmq.{function}"]  # noqa: F821 - Salt loader dunder


def clustered(name: str, first: str, node_type: str = "disc", timeout: float = 300) -> dict:
    """
    Ensure the local node ``name`` is a running member of the cluster of
    ``first`` (the first controller), as a ``disc`` or ``ram`` node.

    A node that is alone joins (``reset`` then ``join_cluster``, which only
    wipes its own empty state); a member of the cluster is left alone except
    for its node type; a node clustered with others but not with ``first``,
    or a cluster with partitions, fails with the nodes involved and is never
    reset.

    .. code-block:: yaml

        ha-rabbitmq-clustered:
          ha_rabbitmq.clustered:
            - name: rabbit@openstack-controller02
            - first: rabbit@openstack-controller01
            - node_type: ram
    """
    ret, fail = _kit("ret")(name), _kit("fail")
    try:
        status = _mod("cluster_status")()
    except CommandExecutionError as exc:
        return fail(ret, f"RabbitMQ on {name} does not answer: {exc}")
    if status["partitions"]:
        return fail(ret, f"The cluster is partitioned: {status['partitions']}. Resolve the partition first "
                         "(cluster_partition_handling decides which side pauses), then deploy again.")
    if name == first:
        current = _mod("node_type")(status, name)
        if current != "disc":
            return fail(ret, f"{name} is the first node and must be a disc node, it is {current}")
        ret["comment"] = f"{name} is the first node; running nodes: {', '.join(status['running_nodes'])}"
        return ret
    known = _mod("members")(status)
    current = _mod("node_type")(status, name)
    if first in known:
        if current == node_type:
            ret["comment"] = f"{name} is a {current} member; running nodes: {', '.join(status['running_nodes'])}"
            return ret
        _kit("change")(ret, "node_type", current, node_type)
        if _kit("is_test")(__opts__):  # noqa: F821 - Salt loader dunder
            return _kit("would")(ret, f"{name} would become a {node_type} node")
        try:
            _mod("change_node_type")(name, node_type, timeout)
        except CommandExecutionError as exc:
            return fail(ret, f"Changing {name} to a {node_type} node failed: {exc}", {})
        ret["comment"] = f"{name} is now a {node_type} node"
        return ret
    if known != [name]:
        return fail(ret, f"{name} is clustered with {', '.join(n for n in known if n != name)} but not with "
                         f"{first}; it is not reset automatically. Check the cluster, then remove the node "
                         "from it (rabbitmqctl forget_cluster_node) before deploying again.")
    try:
        target = _mod("cluster_status")(first, timeout=30)
    except CommandExecutionError as exc:
        return fail(ret, f"{first}, the node to join, does not answer: {exc}")
    if first not in target["running_nodes"]:
        return fail(ret, f"{first}, the node to join, is not running its RabbitMQ app")
    _kit("change")(ret, "joined", None, first)
    _kit("change")(ret, "node_type", None, node_type)
    if _kit("is_test")(__opts__):  # noqa: F821
        return _kit("would")(ret, f"{name} would be reset and join {first} as a {node_type} node")
    try:
        status = _mod("join")(first, name, node_type, timeout)
    except CommandExecutionError as exc:
        return fail(ret, f"{name} could not join {first}: {exc}", {})
    ret["comment"] = f"{name} joined {first}; running nodes: {', '.join(status['running_nodes'])}"
    return ret


def user(name: str, password_pillar: str, tags: list[str] | None = None,
         permissions: dict[str, list[str]] | None = None) -> dict:
    """
    Ensure the user ``name`` exists with the password found in the pillar at
    ``password_pillar``, exactly ``tags``, and the given ``permissions``
    (``{vhost: [configure, write, read]}``).

    .. code-block:: yaml

        ha-rabbitmq-openstack-user:
          ha_rabbitmq.user:
            - name: openstack
            - password_pillar: ha:rabbitmq:openstack_password
            - tags: [administrator]
            - permissions: {'/': ['.*', '.*', '.*']}
    """
    ret, fail = _kit("ret")(name), _kit("fail")
    try:
        password = _kit("secret")(__salt__, password_pillar)  # noqa: F821 - Salt loader dunder
    except CommandExecutionError as exc:
        return fail(ret, str(exc))
    tags = sorted(tags or [])
    permissions = permissions or {}
    try:
        existing = _mod("users")()
        todo: list[tuple[str, tuple]] = []
        if name not in existing:
            _kit("change")(ret, "user", None, name)
            ret["changes"]["password"] = "set"
            todo.append(("add_user", (name, password)))
        elif not _mod("password_matches")(name, password):
            ret["changes"]["password"] = "changed"
            todo.append(("change_password", (name, password)))
        if existing.get(name, []) != tags:
            _kit("change")(ret, "tags", existing.get(name, []), tags)
            todo.append(("set_tags", (name, tags)))
        for vhost, wanted in sorted(permissions.items()):
            current = _mod("permissions")(vhost).get(name)
            if current != list(wanted):
                _kit("change")(ret, f"permissions {vhost}", current, list(wanted))
                todo.append(("set_permissions", (name, *wanted, vhost)))
        if not todo:
            ret["comment"] = f"User {name} is as configured"
            return ret
        if _kit("is_test")(__opts__):  # noqa: F821
            return _kit("would")(ret, f"User {name} would be updated")
        for function, args in todo:
            _mod(function)(*args)
    except CommandExecutionError as exc:
        return fail(ret, f"Managing user {name} failed: {exc}", {})
    ret["comment"] = f"User {name} updated"
    return ret


def user_absent(name: str) -> dict:
    """
    Ensure the user ``name`` does not exist (e.g. ``guest``).

    .. code-block:: yaml

        ha-rabbitmq-no-guest:
          ha_rabbitmq.user_absent:
            - name: guest
    """
    ret = _kit("ret")(name)
    try:
        if name not in _mod("users")():
            ret["comment"] = f"User {name} is absent"
            return ret
        _kit("change")(ret, "user", name, None)
        if _kit("is_test")(__opts__):  # noqa: F821 - Salt loader dunder
            return _kit("would")(ret, f"User {name} would be deleted")
        _mod("delete_user")(name)
    except CommandExecutionError as exc:
        return _kit("fail")(ret, f"Deleting user {name} failed: {exc}", {})
    ret["comment"] = f"User {name} deleted"
    return ret


def policy(name: str, pattern: str, definition: dict, apply_to: str = "all", priority: int = 0,
           vhost: str = "/") -> dict:
    """
    Ensure the policy ``name`` exists on ``vhost`` exactly as given.

    .. code-block:: yaml

        ha-rabbitmq-policy:
          ha_rabbitmq.policy:
            - name: ha-all
            - pattern: '^'
            - definition: {ha-mode: all}
    """
    ret = _kit("ret")(name)
    wanted = {"pattern": pattern, "apply_to": apply_to, "definition": dict(definition), "priority": int(priority)}
    try:
        current = _mod("policies")(vhost).get(name)
        if current == wanted:
            ret["comment"] = f"Policy {name} on {vhost} is as configured"
            return ret
        _kit("change")(ret, "policy", current, wanted)
        if _kit("is_test")(__opts__):  # noqa: F821 - Salt loader dunder
            return _kit("would")(ret, f"Policy {name} on {vhost} would be set")
        _mod("set_policy")(name, pattern, dict(definition), apply_to, int(priority), vhost)
    except CommandExecutionError as exc:
        return _kit("fail")(ret, f"Setting policy {name} failed: {exc}", {})
    ret["comment"] = f"Policy {name} on {vhost} set"
    return ret


def policy_absent(name: str, vhost: str = "/") -> dict:
    """
    Ensure the policy ``name`` does not exist on ``vhost`` (e.g. ``ha-all``
    when the site uses quorum queues).

    .. code-block:: yaml

        ha-rabbitmq-no-mirroring:
          ha_rabbitmq.policy_absent:
            - name: ha-all
    """
    ret = _kit("ret")(name)
    try:
        current = _mod("policies")(vhost).get(name)
        if current is None:
            ret["comment"] = f"Policy {name} on {vhost} is absent"
            return ret
        _kit("change")(ret, "policy", current, None)
        if _kit("is_test")(__opts__):  # noqa: F821 - Salt loader dunder
            return _kit("would")(ret, f"Policy {name} on {vhost} would be removed")
        _mod("clear_policy")(name, vhost)
    except CommandExecutionError as exc:
        return _kit("fail")(ret, f"Removing policy {name} failed: {exc}", {})
    ret["comment"] = f"Policy {name} on {vhost} removed"
    return ret
