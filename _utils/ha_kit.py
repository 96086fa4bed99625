"""
The toolkit of the formula's custom modules, reached as ``__utils__["ha_kit.NAME"]``
once ``saltutil.sync_all`` (or ``sync_utils``) brought it to the minion:

- a state's return: :py:func:`ret`, :py:func:`change`, :py:func:`would`,
  :py:func:`fail`, :py:func:`is_test`;
- :py:func:`secret`, the one way to read a secret from the pillar;
- :py:func:`run`, the one way to run a command (Salt's ``cmd.run_all``, an
  argument list, secrets on standard input or in the environment), and
  :py:func:`tail`, what to quote of a failed command;
- :py:func:`wait`, the one poll loop with a deadline;
- :py:func:`remove_data`, a departed member's data deleted, never a running one's;
- :py:func:`call`, the runners' one way to call a function on one minion;
- :py:func:`seal` and :py:func:`unseal`, for data that must pass through
  Salt (the mine) without being readable there.

Salt's utils loader gives these functions ``__opts__`` and ``__context__``
but not ``__salt__``: the caller passes its own ``__salt__`` (``salt``) and
``__opts__`` (``opts``) where one is needed.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from salt.exceptions import CommandExecutionError

# What cmd.run_all answers for a command it killed at its timeout: retcode 1,
# no standard error and this on standard output (salt.utils.timed_subprocess).
TIMED_OUT_RE = re.compile(r" : Timed out after [0-9.]+ seconds$")
# How cmd.run_all reports a command it could not start because it does not
# exist (the OSError of subprocess.Popen, in its CommandExecutionError).
NOT_FOUND = "[Errno 2]"


# --- a state's return ---------------------------------------------------------------


def ret(name: str) -> dict:
    """A state's return for ``name``: no change, a success, no comment yet."""
    return {"name": name, "changes": {}, "result": True, "comment": ""}


def change(state_ret: dict, key: str, old: Any, new: Any) -> dict:
    """Record in ``state_ret`` that ``key`` went (or, with test=True, would go) from ``old`` to ``new``."""
    state_ret["changes"][key] = {"old": old, "new": new}
    return state_ret


def would(state_ret: dict, comment: str, changes: dict | None = None) -> dict:
    """``state_ret`` of a test run (test=True) that would change something: result None, with ``comment``."""
    if changes is not None:
        state_ret["changes"] = changes
    state_ret["result"] = None
    state_ret["comment"] = comment
    return state_ret


def fail(state_ret: dict, comment: str, changes: dict | None = None) -> dict:
    """
    ``state_ret`` as a failure with ``comment``. The changes made before the
    failure stay unless ``changes`` replaces them (``{}``: none was made).
    """
    if changes is not None:
        state_ret["changes"] = changes
    state_ret["result"] = False
    state_ret["comment"] = comment
    return state_ret


def is_test(opts: Mapping) -> bool:
    """Whether the state run is a test run (test=True), from the calling state's ``__opts__``."""
    return bool(opts.get("test"))


# --- secrets -------------------------------------------------------------------------


def secret(salt: Mapping, key: str) -> str:
    """
    The secret at the pillar key ``key``, through the caller's ``salt``
    (``__salt__``). States read secrets from the pillar themselves rather
    than take them as arguments, so that no secret appears in rendered SLS
    data (state.show_sls). Raises CommandExecutionError, naming the key only,
    when the value is missing, empty or not a string.
    """
    # unmask: Salt 3008's pillar.get returns masked values by default.
    value = salt["pillar.get"](key, None, unmask=True)
    if not isinstance(value, str) or not value:
        raise CommandExecutionError(f"pillar key {key} is empty or not a string")
    return value


# --- commands ------------------------------------------------------------------------


def run(salt: Mapping, argv: list[str], *, what: str, stdin: str | None = None, timeout: float | None = 120,
        env: dict[str, str] | None = None, clean_env: bool = False, hint: str | None = None) -> dict:
    """
    Run the argument list ``argv`` through the caller's ``salt["cmd.run_all"]``
    without a shell; return its ``{"retcode", "stdout", "stderr", "pid"}``, the
    output as the command printed it. A nonzero exit is the caller's to judge
    (see :py:func:`tail`).

    Secrets go on ``stdin`` or in ``env``, never in ``argv``; nothing of the
    command, its input or its output is logged. ``env`` is added to the
    minion's environment, or with ``clean_env`` is the whole environment.
    The command runs in ``/``, the minion daemon's own working directory
    (cmd.run_all would pick root's home); ``timeout`` is in seconds (None:
    no limit). Raises CommandExecutionError naming the command as ``what``
    ("rabbitmqctl add_user") when it ran out of time or could not start; for
    a program that does not exist, ``hint`` says what may be missing.
    """
    try:
        result = salt["cmd.run_all"](
            list(argv), cwd="/", stdin=stdin, python_shell=False, env=env, clean_env=clean_env, timeout=timeout,
            # The command's own environment and output: no LC_* reset, no
            # stripped output, no translation of "\n" in stdin (a password
            # may hold one), no job retcode, and nothing in the minion's log.
            reset_system_locale=False, rstrip=False, stdin_raw_newlines=True, ignore_retcode=True,
            output_loglevel="quiet",
        )
    except CommandExecutionError as exc:
        # cmd.run_all's message leaves out the environment and stdin.
        if NOT_FOUND in str(exc):
            raise CommandExecutionError(f"{argv[0]} not found" + (f": {hint}" if hint else "")) from None
        raise CommandExecutionError(f"{what} could not start: {exc}") from None
    if result["retcode"] == 1 and not result["stderr"] and TIMED_OUT_RE.search(result["stdout"]):
        raise CommandExecutionError(f"{what} did not finish within {timeout:g} s")
    return result


def tail(result: Mapping, lines: int | None = None, keep: str | None = None) -> str:
    """
    What a failed command said, from a :py:func:`run` result: its standard
    error, or its standard output when it printed nothing there, stripped;
    with ``lines``, only the last ``lines`` lines, joined on one line, after
    the earlier lines that start with ``keep`` (pcs's "Error:" lines, which
    name the node that failed, come before its progress lines of the
    others).
    """
    text = result["stderr"].strip() or result["stdout"].strip()
    if lines is None:
        return text
    every = text.splitlines()
    kept = [line for line in every[:-lines] if keep and line.startswith(keep)]
    return " ".join(kept + every[-lines:])


# --- waiting -------------------------------------------------------------------------


def wait(what: str, probe: Callable[[], Any], timeout: float, interval: float = 1) -> Any:
    """
    Call ``probe`` every ``interval`` seconds until it returns a true value,
    and return that value. A probe says why the awaited state is not there
    yet by raising CommandExecutionError; a false value counts as not yet
    too. Once ``timeout`` seconds have passed (a monotonic clock; the probe
    runs at least once, and once more at the deadline), raises
    CommandExecutionError("did not see WHAT within TIMEOUT s: LAST REASON"),
    ``what`` naming the awaited state ("nodes c1, c2 online").

    The probe runs in this module's loader, where a custom module's own
    ``__utils__`` does not resolve (Salt's loader looks its dunders up in the
    loader that runs): a probe calls the module's functions through
    ``__salt__`` (``__salt__["ha_etcd.health"]``), not directly.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = probe()
            reason = f"the last check returned {found!r}"
        except CommandExecutionError as exc:
            found, reason = None, str(exc)
        if found:
            return found
        left = deadline - time.monotonic()
        if left <= 0:
            raise CommandExecutionError(f"did not see {what} within {timeout:g} s: {reason}")
        time.sleep(min(interval, left))


# --- a departed member's data ---------------------------------------------------------


def remove_data(salt: Mapping, service: str, path: str) -> bool:
    """
    Delete ``path``, the data of ``service`` on a node that left its
    cluster, so that the node would join as a new member if it were added
    again (etcd, RabbitMQ: a member keeps its cluster's identity in its
    data). Refused while the service runs here. Returns False when there
    was none.
    """
    if salt["service.status"](service):
        raise CommandExecutionError(f"{service} runs here: stop it before its data in {path} is removed")
    if not os.path.isdir(path):
        return False
    shutil.rmtree(path)
    return True


# --- the master's call of one minion --------------------------------------------------


def call(client, minion: str, fun: str, *args: Any, timeout: float = 60, **kwargs: Any) -> Any:
    """
    For a runner: ``fun(*args, **kwargs)`` on ``minion`` through the
    master's LocalClient ``client``, and its return. Raises
    CommandExecutionError with the minion's own message when the function
    failed there, or saying that the minion did not answer within
    ``timeout`` seconds.
    """
    answers = client.cmd(minion, fun, list(args), kwarg=kwargs, timeout=timeout, full_return=True)
    if minion not in answers:
        raise CommandExecutionError(f"{minion} did not answer {fun} within {timeout:g} s")
    answer = answers[minion]
    if answer.get("retcode", 0) != 0:
        raise CommandExecutionError(f"{minion}: {fun} failed: {answer.get('ret')}")
    return answer["ret"]


# --- sealing -------------------------------------------------------------------------


def _sealer(secret_value: str, purpose: str) -> Fernet:
    # One key per purpose, derived from a pillar secret that every node
    # concerned holds: no key of its own to distribute.
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=f"ha formula: {purpose}".encode()).derive(secret_value.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(data: Any, secret_value: str, purpose: str) -> str:
    """
    ``data`` (JSON-serialisable) encrypted and authenticated (Fernet) with a
    key derived from ``secret_value`` (a pillar secret) for ``purpose``: what
    may pass through Salt's mine, job returns and caches, which only the
    holders of the secret can read back with :py:func:`unseal`.
    """
    return _sealer(secret_value, purpose).encrypt(json.dumps(data).encode()).decode()


def unseal(token: str, secret_value: str, purpose: str) -> Any:
    """
    What :py:func:`seal` sealed for ``purpose``. Raises CommandExecutionError
    when the token was not sealed with this secret (another pillar, the
    secret changed since) or was altered.
    """
    try:
        return json.loads(_sealer(secret_value, purpose).decrypt(token.encode()))
    except (InvalidToken, TypeError, ValueError) as error:
        raise CommandExecutionError(f"the sealed {purpose} do not open with this node's pillar secret: "
                                    "sealed with another secret, or altered") from error
