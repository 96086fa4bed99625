"""
State of the etcd cluster: ``ha_etcd.healthy`` waits, up to a deadline, for
a healthy quorum of the expected members (the health gate of ``ha.deploy``
after the members started). It checks and changes nothing.
"""

from __future__ import annotations

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
