"""
State of the HA formula's pillar: ``ha_topology.valid`` fails with every
problem of the ``ha`` pillar, each naming its key, and changes nothing.

It is the first step of ``ha.deploy``, so that a bad pillar stops the
orchestration before any node is touched.
"""

from __future__ import annotations

__virtualname__ = "ha_topology"


def __virtual__():
    if "ha_topology.validate" not in __salt__:  # noqa: F821 - Salt loader dunder
        return (False, "the ha_topology execution module is not synced: run saltutil.sync_all")
    return __virtualname__


def valid(name: str, ha: dict | None = None) -> dict:
    """
    Ensure the ``ha`` pillar (or ``ha``, when given) is valid.

    .. code-block:: yaml

        ha-pillar-valid:
          ha_topology.valid: []
    """
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    errors = __salt__["ha_topology.validate"](ha)  # noqa: F821
    if errors:
        ret["result"] = False
        ret["comment"] = "Invalid ha pillar:\n" + "\n".join(errors)
        return ret
    plan = __salt__["ha_topology.plan"](ha)  # noqa: F821
    ret["comment"] = (
        f"The ha pillar is valid: {len(plan['controllers'])} controller(s), "
        f"{len(plan['computes'])} compute node(s)."
    )
    return ret
