"""
The node's kernel and time service: ``ha_host.kernel_module`` loads a module
now (its loading at boot is a file in modules-load.d, managed by the SLS);
``ha_host.chrony_answering`` is the health gate after chronyd's start.
"""

from __future__ import annotations

from salt.exceptions import CommandExecutionError

__virtualname__ = "ha_host"
LOCAL_REFERENCE_ID = "7F7F0101"


def __virtual__():
    if "ha_kit.ret" not in __utils__:  # noqa: F821 - Salt loader dunder
        return (False, "the formula's ha_kit utils module is not synced: run saltutil.sync_all")
    if "ha_host.kernel_module" not in __salt__:  # noqa: F821
        return (False, "the ha_host execution module is not synced: run saltutil.sync_all")
    return __virtualname__


def _kit(function: str):
    """A function of the formula's toolkit (_utils/ha_kit.py)."""
    return __utils__[f"ha_kit.{function}"]  # noqa: F821 - Salt loader dunder


def kernel_module(name: str) -> dict:
    """
    Load the kernel module ``name`` unless it is loaded. A kernel without
    loadable module support has whatever it offers built in: nothing to load
    (the states that need the module's functions fail if it is missing).

    .. code-block:: yaml

        ha-base-kernel-module-br_netfilter:
          ha_host.kernel_module:
            - name: br_netfilter
    """
    ret = _kit("ret")(name)
    state = __salt__["ha_host.kernel_module"](name)  # noqa: F821
    if state == "loaded":
        ret["comment"] = f"kernel module {name} is loaded"
        return ret
    if state == "no-module-support":
        ret["comment"] = f"the kernel has no loadable modules: {name} can only be built in"
        return ret
    if _kit("is_test")(__opts__):  # noqa: F821 - Salt loader dunder
        return _kit("would")(ret, f"kernel module {name} would be loaded", {"loaded": name})
    # Salt's kmod.load runs modprobe; it returns the loaded modules, or a
    # message string when modprobe failed.
    loaded = __salt__["kmod.load"](name)  # noqa: F821
    if isinstance(loaded, str):
        hint = ""
        if "sys_module" not in __salt__["ha_host.capabilities"]():  # noqa: F821
            hint = " This node lacks CAP_SYS_MODULE (a container?): load the module on its host."
        return _kit("fail")(ret, f"modprobe {name} failed: {loaded}.{hint}")
    ret["comment"] = f"kernel module {name} loaded"
    ret["changes"] = {"loaded": name}
    return ret


def chrony_answering(name: str) -> dict:
    """
    A health gate after chronyd's start: chronyc reaches the daemon (a unit
    that systemd skipped, e.g. for a condition, counts as started for the
    service state). Changes nothing; reports what chronyd follows.

    .. code-block:: yaml

        ha-chrony-answering:
          ha_host.chrony_answering: []
    """
    ret = _kit("ret")(name)
    try:
        tracking = __salt__["ha_host.tracking"]()  # noqa: F821
    except CommandExecutionError as exc:
        # A test run may come before the run that starts chronyd.
        outcome = _kit("would") if _kit("is_test")(__opts__) else _kit("fail")  # noqa: F821 - Salt loader dunder
        return outcome(ret, f"chronyd does not answer: {exc}")
    # 7F7F0101 (127.127.1.1) is chrony's local reference: it serves its own clock.
    following = tracking["reference_name"] or (
        "its own clock" if tracking["reference_id"] == LOCAL_REFERENCE_ID else "nothing yet")
    ret["comment"] = (
        f"chronyd answers: stratum {tracking['stratum']}, following {following} ({tracking['leap_status']})"
    )
    return ret
