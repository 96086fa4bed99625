"""
The outputter of ``salt-run ha.status``: the report of ``ha_verdict.judge``
as one table, each component with its verdict, its summary and each node's
state, then the problems. ``--out=json`` (or any other outputter) shows the
same report as data.
"""

from __future__ import annotations

__virtualname__ = "ha_status"


def __virtual__():
    return __virtualname__


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return ["  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1]]).rstrip()
            for row in rows]


def render(report: dict) -> str:
    """The report as text (pure: what :py:func:`output` prints)."""
    holder = report.get("vip_holder") or "no node"
    lines = [f"ha.status: {report['verdict'].upper()}"
             + (f"  (VIP {report['vip']} on {holder})" if report.get("vip") else "")]
    if "components" not in report:
        return "\n".join(lines + [f"  {error}" for error in report.get("errors", [])])
    rows = [("COMPONENT", "VERDICT", "NODE", "STATE")]
    for name, part in report["components"].items():
        rows.append((name, part["verdict"], "", part["summary"]))
        rows.extend(("", "", node, cell) for node, cell in part["cells"].items())
    lines += ["", *_table(rows)]
    problems = [f"  {name}: {problem}" for name, part in report["components"].items() for problem in part["problems"]]
    if problems:
        lines += ["", "PROBLEMS", *problems]
    return "\n".join(lines)


def output(data, **kwargs) -> str:  # noqa: ARG001 - Salt's outputter signature
    """Salt's entry point for an outputter."""
    if not isinstance(data, dict) or "verdict" not in data:
        return str(data)
    return render(data)
