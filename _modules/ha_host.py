"""
What the node itself allows and how its time service is doing: the Linux
capabilities its init system holds (a container lacks some, e.g. the right
to set the clock), whether a kernel module is loaded, and chrony's sources
and tracking as ``chronyc -c`` prints them.
"""

from __future__ import annotations

from pathlib import Path

from salt.exceptions import CommandExecutionError

__virtualname__ = "ha_host"

# Bit numbers of linux/capability.h for the capabilities the formula asks about.
CAPABILITIES = {"net_admin": 12, "sys_module": 16, "sys_time": 25}
PROC = Path("/proc")
SYS_MODULE = Path("/sys/module")
# chronyc -c sources: mode and state characters, as in its table's first column.
SOURCE_MODES = {"^": "server", "=": "peer", "#": "refclock"}
SOURCE_STATES = {
    "*": "synced", "+": "combined", "-": "not combined", "?": "unreachable",
    "x": "falseticker", "~": "too variable",
}
TRACKING_FIELDS = (
    "reference_id", "reference_name", "stratum", "reference_time", "system_time", "last_offset",
    "rms_offset", "frequency", "residual_frequency", "skew", "root_delay", "root_dispersion",
    "update_interval", "leap_status",
)


def __virtual__():
    if not (PROC / "1" / "status").exists():
        return (False, "ha_host needs Linux /proc")
    if "ha_kit.run" not in __utils__:  # noqa: F821 - Salt loader dunder
        return (False, "the formula's ha_kit utils module is not synced: run saltutil.sync_all")
    return __virtualname__


def capabilities() -> list[str]:
    """
    The capabilities of the formula's interest (``CAPABILITIES``) in the
    bounding set of PID 1: what any service started by the init system can
    hold. A container's init lacks e.g. ``sys_time`` and ``sys_module``.

    CLI Example:

    .. code-block:: bash

        salt '*' ha_host.capabilities
    """
    for line in (PROC / "1" / "status").read_text().splitlines():
        if line.startswith("CapBnd:"):
            mask = int(line.split(":", 1)[1].strip(), 16)
            return sorted(name for name, bit in CAPABILITIES.items() if mask >> bit & 1)
    raise CommandExecutionError("/proc/1/status has no CapBnd line: cannot tell the node's capabilities")


def can_set_clock() -> bool:
    """
    Whether services may set the system clock (CAP_SYS_TIME). Without it (a
    container) chronyd must run with ``-x``: serve and track time without
    touching the clock.

    CLI Example:

    .. code-block:: bash

        salt '*' ha_host.can_set_clock
    """
    return "sys_time" in capabilities()


def kernel_module(name: str) -> str:
    """
    Whether the kernel module ``name`` is ``loaded`` (listed in /proc/modules
    or present in /sys/module, which also holds built-in modules that have
    parameters), ``absent``, or whether the kernel has ``no-module-support``
    at all (no /proc/modules: whatever it offers is built in).

    CLI Example:

    .. code-block:: bash

        salt '*' ha_host.kernel_module br_netfilter
    """
    modules = PROC / "modules"
    if (SYS_MODULE / name).exists():
        return "loaded"
    if not modules.exists():
        return "no-module-support"
    loaded = {line.split(" ", 1)[0] for line in modules.read_text().splitlines()}
    return "loaded" if name in loaded else "absent"


def _chronyc(*args: str) -> list[list[str]]:
    result = __utils__["ha_kit.run"](  # noqa: F821 - Salt loader dunder
        __salt__, ["chronyc", "-c", "-n", *args], timeout=10, what=f"chronyc {' '.join(args)}",  # noqa: F821
        hint="is chrony installed?",
    )
    if result["retcode"] != 0:
        raise CommandExecutionError(
            f"chronyc {' '.join(args)} failed: {__utils__['ha_kit.tail'](result)} (is chronyd running?)"  # noqa: F821
        )
    return [line.split(",") for line in result["stdout"].splitlines() if line.strip()]


def parse_sources(rows: list[list[str]]) -> list[dict]:
    """``chronyc -c sources`` rows as dicts (see ``sources``)."""
    parsed = []
    for row in rows:
        if len(row) < 10:
            raise CommandExecutionError(f"unexpected chronyc sources line: {','.join(row)!r}")
        parsed.append({
            "mode": SOURCE_MODES.get(row[0], row[0]),
            "state": SOURCE_STATES.get(row[1], row[1]),
            "address": row[2],
            "stratum": int(row[3]),
            "poll": int(row[4]),
            "reach": int(row[5], 8),
            "last_rx": int(row[6]),
        })
    return parsed


def sources() -> list[dict]:
    """
    chronyd's time sources: ``{"mode", "state", "address", "stratum",
    "poll", "reach", "last_rx"}`` each, state ``synced`` for the one it
    follows; reach is the register as a number (255: the last 8 polls
    answered).

    CLI Example:

    .. code-block:: bash

        salt '*' ha_host.sources
    """
    return parse_sources(_chronyc("sources"))


def parse_tracking(rows: list[list[str]]) -> dict:
    """``chronyc -c tracking`` as a dict (see ``tracking``)."""
    if len(rows) != 1 or len(rows[0]) != len(TRACKING_FIELDS):
        raise CommandExecutionError(f"unexpected chronyc tracking output: {rows!r}")
    data: dict = dict(zip(TRACKING_FIELDS, rows[0], strict=True))
    data["stratum"] = int(data["stratum"])
    for key in ("system_time", "last_offset", "rms_offset", "root_delay", "root_dispersion"):
        data[key] = float(data[key])
    return data


def tracking() -> dict:
    """
    What chronyd follows: ``reference_id``, ``reference_name`` (the address
    of the source it is synchronised to; ``127.127.1.1`` when it serves its
    local clock), ``stratum``, offsets in seconds and ``leap_status``
    (``Normal`` once synchronised, ``Not synchronised`` before).

    CLI Example:

    .. code-block:: bash

        salt '*' ha_host.tracking
    """
    return parse_tracking(_chronyc("tracking"))
