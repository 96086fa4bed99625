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
    if "ha_host.kernel_module" not in __salt__:  # noqa: F821 - Salt loader dunder
        return (False, "the ha_host execution module is not synced: run saltutil.sync_all")
    return __virtualname__


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
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    state = __salt__["ha_host.kernel_module"](name)  # noqa: F821
    if state == "loaded":
        ret["comment"] = f"kernel module {name} is loaded"
        return ret
    if state == "no-module-support":
        ret["comment"] = f"the kernel has no loadable modules: {name} can only be built in"
        return ret
    if __opts__.get("test"):  # noqa: F821
        ret["result"] = None
        ret["comment"] = f"kernel module {name} would be loaded"
        ret["changes"] = {"loaded": name}
        return ret
    # Salt's kmod.load runs modprobe; it returns the loaded modules, or a
    # message string when modprobe failed.
    loaded = __salt__["kmod.load"](name)  # noqa: F821
    if isinstance(loaded, str):
        hint = ""
        if "sys_module" not in __salt__["ha_host.capabilities"]():  # noqa: F821
            hint = " This node lacks CAP_SYS_MODULE (a container?): load the module on its host."
        ret["result"] = False
        ret["comment"] = f"modprobe {name} failed: {loaded}.{hint}"
        return ret
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
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    try:
        tracking = __salt__["ha_host.tracking"]()  # noqa: F821
    except CommandExecutionError as exc:
        ret["result"] = None if __opts__.get("test") else False  # noqa: F821
        ret["comment"] = f"chronyd does not answer: {exc}"
        return ret
    # 7F7F0101 (127.127.1.1) is chrony's local reference: it serves its own clock.
    following = tracking["reference_name"] or (
        "its own clock" if tracking["reference_id"] == LOCAL_REFERENCE_ID else "nothing yet")
    ret["comment"] = (
        f"chronyd answers: stratum {tracking['stratum']}, following {following} ({tracking['leap_status']})"
    )
    return ret
