"""
Set options in INI files (oslo.config service configs, uWSGI ini files) in
place: every other line, comments included, stays as the package wrote it.

Salt's ``ini.options_present`` returns old and new values in its changes,
which would put database and service passwords into Salt's output; this
module reports the names of the options it changed, never their values.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from salt.exceptions import CommandExecutionError

__virtualname__ = "ha_ini"

SECTION_RE = re.compile(r"^\s*\[([^\]]+)\]\s*$")
OPTION_RE = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*=")
# The package's documented default of an option: '#option = value'.
COMMENTED_RE = re.compile(r"^\s*#\s*([A-Za-z0-9_.-]+)\s*=")


def __virtual__():
    return __virtualname__


def _format(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(_format(v) for v in value)
    return str(value)


def _sections(lines: list[str]) -> list[tuple[str, int, int]]:
    """(name, first line after the header, end) of every section; 'DEFAULT' before the first header."""
    found, name, start = [], "DEFAULT", 0
    for index, line in enumerate(lines):
        match = SECTION_RE.match(line)
        if match:
            found.append((name, start, index))
            name, start = match.group(1).strip(), index + 1
    found.append((name, start, len(lines)))
    # Lines before the first header belong to DEFAULT; no lines, no span.
    return [span for span in found if span[1] < span[2] or span[1] > 0]


def _set_option(lines: list[str], section: str, option: str, text: str) -> bool:
    """Set one option in ``lines``; True when that changed them."""
    wanted = f"{option} = {text}"
    spans = [(start, end) for name, start, end in _sections(lines) if name == section]
    if not spans:
        if lines and lines[-1].strip():
            lines.append("")
        lines.extend([f"[{section}]", wanted])
        return True
    active = [i for start, end in spans for i in range(start, end)
              if (m := OPTION_RE.match(lines[i])) and m.group(1) == option]
    if active:
        first, duplicates = active[0], active[1:]
        changed = lines[first].rstrip() != wanted or bool(duplicates)
        lines[first] = wanted
        # The last occurrence wins in oslo.config: keep one line only.
        for index in reversed(duplicates):
            del lines[index]
        return changed
    start, end = spans[0]
    commented = [i for i in range(start, end) if (m := COMMENTED_RE.match(lines[i])) and m.group(1) == option]
    if commented:
        lines.insert(commented[0] + 1, wanted)
        return True
    # At the end of the section's content, before its trailing blank lines.
    position = end
    while position > start and not lines[position - 1].strip():
        position -= 1
    lines.insert(position, wanted)
    return True


def update_text(text: str, sections: dict) -> tuple[str, list[str]]:
    """
    Return ``text`` with every option of ``sections`` ({section: {option:
    value}}) set, and the ``section.option`` names that changed. An active
    option is changed where it is; a missing one goes after the package's
    commented default, else at the end of its section; a missing section is
    appended. Lists become comma-separated, booleans true/false.

    CLI Example:

    .. code-block:: bash

        salt-call ha_ini.update_text '[DEFAULT]' '{DEFAULT: {debug: false}}'
    """
    lines = text.splitlines()
    changed = []
    for section, options in sections.items():
        for option, value in options.items():
            if _set_option(lines, section, option, _format(value)):
                changed.append(f"{section}.{option}")
    return "\n".join(lines) + "\n", changed


def get(path: str, section: str, option: str) -> str | None:
    """
    The value of one active option of an INI file, or None.

    CLI Example:

    .. code-block:: bash

        salt-call ha_ini.get /etc/keystone/keystone.conf token provider
    """
    lines = Path(path).read_text().splitlines()
    for name, start, end in _sections(lines):
        if name != section:
            continue
        for line in lines[start:end]:
            match = OPTION_RE.match(line)
            if match and match.group(1) == option:
                return line.split("=", 1)[1].strip()
    return None


def set_options(path: str, sections: dict, test: bool = False) -> list[str]:
    """
    Set the options of ``sections`` in the INI file ``path`` (see
    update_text) and return the names of those that changed. The file keeps
    its owner and mode; it is replaced atomically. With ``test`` nothing is
    written.

    CLI Example:

    .. code-block:: bash

        salt-call ha_ini.set_options /etc/glance/glance-api.conf '{paste_deploy: {flavor: keystone}}'
    """
    target = Path(path)
    if not target.is_file():
        raise CommandExecutionError(f"{path} does not exist: is the package that ships it installed?")
    text, changed = update_text(target.read_text(), sections)
    if changed and not test:
        status = target.stat()
        temporary = target.with_name(f".{target.name}.ha-tmp")
        # Created with the target's mode, so a secret is never readable by others.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, status.st_mode & 0o7777)
        try:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(text)
            os.chown(temporary, status.st_uid, status.st_gid)
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)
    return changed
