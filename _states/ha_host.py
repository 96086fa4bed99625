"""
The node's name, time zone, kernel and time service: ``ha_host.hostname``
sets the kernel's host name now (/etc/hostname is a file the SLS manages);
``ha_host.timezone`` the time zone's files; ``ha_host.nft_loaded`` loads
the formula's nftables rule set;
``ha_host.kernel_module`` loads a module now (its loading at boot is a file
in modules-load.d, managed by the SLS); ``ha_host.chrony_answering`` is the
health gate after chronyd's start.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
from pathlib import Path

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


def hostname(name: str) -> dict:
    """
    The kernel's host name is ``name`` (hostname(1), not hostnamectl, whose
    D-Bus round trip can time out on a busy node). Read in Python: a no-op
    run starts no process.

    .. code-block:: yaml

        ha-base-hostname:
          ha_host.hostname:
            - name: openstack-controller01
    """
    ret = _kit("ret")(name)
    current = socket.gethostname()
    if current == name:
        ret["comment"] = f"the host name is {name}"
        return ret
    if _kit("is_test")(__opts__):  # noqa: F821 - Salt loader dunder
        return _kit("would")(ret, f"the host name would be set to {name}", {"old": current, "new": name})
    try:
        done = _kit("run")(__salt__, ["hostname", name], what=f"hostname {name}")  # noqa: F821
    except CommandExecutionError as exc:
        return _kit("fail")(ret, str(exc))
    if done["retcode"]:
        return _kit("fail")(ret, f"hostname {name} failed: {_kit('tail')(done)}")
    ret["changes"] = {"old": current, "new": name}
    ret["comment"] = f"the host name set to {name}"
    return ret


def timezone(name: str, zoneinfo_dir: str, localtime: str, timezone_file: str | None = None) -> dict:
    """
    The node's time zone is ``name``: ``localtime`` a symbolic link to its
    file in ``zoneinfo_dir``, and where the family names it in a file
    (Debian's /etc/timezone), ``timezone_file`` says ``name``. Files only:
    timedatectl's D-Bus activation can time out on a busy node.

    .. code-block:: yaml

        ha-base-timezone:
          ha_host.timezone:
            - name: Europe/Berlin
            - zoneinfo_dir: /usr/share/zoneinfo
            - localtime: /etc/localtime
            - timezone_file: /etc/timezone
    """
    ret = _kit("ret")(name)
    zone = Path(zoneinfo_dir, name)
    # A name is a path below zoneinfo_dir: no "..", not absolute.
    if Path(name).is_absolute() or ".." in Path(name).parts or not zone.is_file():
        return _kit("fail")(ret, f"ha:timezone: {name!r} is no time zone of {zoneinfo_dir} (is tzdata installed?)")
    link = Path(localtime)
    changes = {}
    if not link.is_symlink() or os.path.realpath(link) != os.path.realpath(zone):
        changes[localtime] = {"old": os.readlink(link) if link.is_symlink() else None, "new": str(zone)}
    if timezone_file and _read(timezone_file) != name:
        changes[timezone_file] = {"old": _read(timezone_file), "new": name}
    if not changes:
        ret["comment"] = f"the time zone is {name}"
        return ret
    if _kit("is_test")(__opts__):  # noqa: F821 - Salt loader dunder
        return _kit("would")(ret, f"the time zone would be set to {name}", changes)
    done = {}
    try:
        if localtime in changes:
            # A new link renamed over the old one: there is always a localtime.
            staged = link.with_name(f".{link.name}.ha-new")
            staged.unlink(missing_ok=True)
            staged.symlink_to(zone)
            os.replace(staged, link)
            done[localtime] = changes[localtime]
        if timezone_file in changes:
            Path(timezone_file).write_text(name + "\n")
            done[timezone_file] = changes[timezone_file]
    except OSError as exc:
        # What was changed before the failure is reported as changed.
        return _kit("fail")(ret, f"setting the time zone {name} failed: {exc}", done)
    ret["changes"] = changes
    ret["comment"] = f"the time zone set to {name}"
    return ret


def _read(path: str) -> str | None:
    """The file's text, or None when it cannot be read (missing, a directory, not text): to be written."""
    try:
        return Path(path).read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


# A failed load is tried again after a pause (twice): a full-suite lab run
# saw the service's reload fail once on one node after its fault tests, with
# no message kept.
NFT_TRIES = 3
NFT_PAUSE = 2


def nft_loaded(name: str, service: str, record: str) -> dict:
    """
    The rule set of the file ``name`` is loaded (``nft -f``; the file replaces
    the formula's own table only) and ``service`` (which loads it at boot)
    is active. ``record`` keeps the digest of the file as last loaded: a file
    that changed, or a load that failed, is loaded at the next run. A
    failed load is tried again; its failure says what nft said.

    .. code-block:: yaml

        ha-base-firewall-loaded:
          ha_host.nft_loaded:
            - name: /etc/nftables.conf
            - service: nftables
            - record: /var/lib/ha-formula/nftables-loaded
    """
    ret = _kit("ret")(name)
    try:
        digest = hashlib.sha256(Path(name).read_bytes()).hexdigest()
    except OSError as exc:
        return _kit("fail")(ret, f"the rule set {name} cannot be read: {exc}")
    run = _kit("run")
    try:
        active = run(__salt__, ["systemctl", "is-active", "--quiet", service],  # noqa: F821
                     what=f"systemctl is-active {service}")["retcode"] == 0
        if active and _read(record) == digest:
            ret["comment"] = f"{name} is loaded and {service} is active"
            return ret
        changes = {"loaded": name, **({} if active else {"started": service})}
        if _kit("is_test")(__opts__):  # noqa: F821 - Salt loader dunder
            return _kit("would")(ret, f"{name} would be loaded", changes)
        # An inactive service loads the file as it starts; an active one gets it from nft.
        argv = ["nft", "-f", name] if active else ["systemctl", "start", service]
        for attempt in range(1, NFT_TRIES + 1):
            done = run(__salt__, argv, what=" ".join(argv))  # noqa: F821
            if done["retcode"] == 0:
                break
            if attempt < NFT_TRIES:
                time.sleep(NFT_PAUSE)
        else:
            detail = _kit("tail")(done)
            if not active:
                detail = f"{detail} {_journal(service)}".strip()
            return _kit("fail")(ret, f"{' '.join(argv)} failed {NFT_TRIES} times: {detail}", {})
    except CommandExecutionError as exc:
        return _kit("fail")(ret, str(exc), {})
    try:
        Path(record).parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        Path(record).write_text(digest + "\n")
    except OSError as exc:
        ret["warnings"] = [f"the load of {name} not recorded (it is loaded again next time): {exc}"]
    if attempt > 1:
        changes["attempts"] = attempt
    ret["changes"] = changes
    ret["comment"] = f"{name} loaded" + (f" after {attempt} attempts" if attempt > 1 else "")
    return ret


def _journal(service: str) -> str:
    """The last lines of ``service``'s journal, or why they cannot be read (a failure's detail, never its cause)."""
    try:
        journal = _kit("run")(__salt__, ["journalctl", "-u", service, "-n", "5", "--no-pager", "-o", "cat"],  # noqa: F821
                              what=f"journalctl -u {service}")
    except CommandExecutionError as exc:
        return f"(its journal: {exc})"
    return _kit("tail")(journal)


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
