"""
The report of ``make bench``: derived figures, checks, a markdown page and two
SVG plots made from the results JSON that the bench run writes.

Usage: ``python -m bench.report RESULTS.json [OUTDIR]`` (OUTDIR defaults to
this package's folder) writes report.json, report.md, deploy-steps.svg and
failover-gaps.svg.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

MECHANISMS = ("pacemaker", "keepalived")
# What every failover round measures, in seconds, and what it counts.
FIGURES = ("vip_back_s", "galera_back_s", "token_back_s", "longest_gap_s")
COUNTS = ("failed_writes", "failed_tokens", "acked", "lost")
# The figures whose keepalived / pacemaker ratio the report states.
COMPARED = ("token_back_s", "longest_gap_s")
MIN_ROUNDS = 5
PLOTS = {"deploy_steps": "deploy-steps.svg", "failover_gaps": "failover-gaps.svg"}
DEFAULT_OUTDIR = Path(__file__).resolve().parent

FIGURE_LABELS = {
    "vip_back_s": "VIP back (s)",
    "galera_back_s": "Galera back (s)",
    "token_back_s": "Token back (s)",
    "longest_gap_s": "Longest gap (s)",
}
COUNT_LABELS = {
    "failed_writes": "Failed writes",
    "failed_tokens": "Failed tokens",
    "acked": "Acked",
    "lost": "Lost",
}
NOT_MEASURED = "not measured"

# SVG geometry, in pixels. The label column is sized from a character count
# because nothing here can measure rendered text.
FONT_SIZE = 12
CHAR_WIDTH = 7
PLOT_WIDTH = 640
PLOT_HEIGHT = 260
BAR_HEIGHT = 16
BAR_GAP = 6
TITLE_SPACE = 36
AXIS_SPACE = 44
MARGIN = 12
# One colour per mechanism, in the order the plot receives them.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")


def summary(values: list[float]) -> dict:
    """Count, min, median and max of ``values``; None for the figures of an empty list."""
    if not values:
        return {"count": 0, "min": None, "median": None, "max": None}
    return {"count": len(values), "min": min(values), "median": statistics.median(values), "max": max(values)}


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, or None when either is missing or zero (no meaningful comparison)."""
    if not numerator or not denominator:
        return None
    return numerator / denominator


def _missing(section: str) -> dict:
    return {"name": f"{section}: measured", "ok": False, "detail": NOT_MEASURED}


def _failover_checks(mechanism: str, rounds: list[dict]) -> list[dict]:
    losing = [entry["round"] for entry in rounds if entry["lost"] != 0]
    lost = sum(entry["lost"] for entry in rounds)
    acked = sum(entry["acked"] for entry in rounds)
    detail = f"{lost} of {acked} acknowledged writes lost"
    if losing:
        detail += " (rounds " + ", ".join(str(number) for number in losing) + ")"
    return [
        {"name": f"failover {mechanism}: no acknowledged write lost", "ok": not losing, "detail": detail},
        {"name": f"failover {mechanism}: at least {MIN_ROUNDS} rounds", "ok": len(rounds) >= MIN_ROUNDS,
         "detail": f"{len(rounds)} rounds"},
    ]


def _checked(results: dict, key: str, label: str, check: Callable[[dict], dict] | None = None) -> list[dict]:
    """The check of the section ``key`` (``check`` of it; none without), or a failing "not measured" one."""
    section = results.get(key)
    if section is None:
        return [_missing(label)]
    return [check(section)] if check else []


def _checks(results: dict) -> list[dict]:
    checks = _checked(results, "cold_deploy", "cold deploy")
    checks += _checked(results, "noop_deploy", "no-op re-deploy", lambda noop: {
        "name": "no-op re-deploy: no changes", "ok": noop["changes"] == 0, "detail": f"{noop['changes']} changes"})
    failover = results.get("failover") or {}
    for mechanism in MECHANISMS:
        rounds = failover.get(mechanism)
        if rounds is None:
            checks.append(_missing(f"failover {mechanism}"))
        else:
            checks.extend(_failover_checks(mechanism, rounds))
    checks += _checked(results, "power_loss", "power loss", lambda power_loss: {
        "name": "power loss: no acknowledged write lost", "ok": power_loss["lost"] == 0,
        "detail": f"{power_loss['lost']} of {power_loss['acked']} acknowledged writes lost"})
    checks += _checked(results, "partition", "partition", lambda partition: {
        "name": "partition: no acknowledged write lost, at most one VIP holder",
        "ok": partition["lost"] == 0 and partition["max_vip_holders"] <= 1,
        "detail": f"{partition['lost']} of {partition['acked']} acknowledged writes lost, "
                  f"at most {partition['max_vip_holders']} VIP holders at once"})
    return checks + _checked(results, "scale", "scale")


def _median(failover: dict, mechanism: str, figure: str) -> float | None:
    """The median of ``figure`` in the derived ``failover`` figures, None for a mechanism not measured."""
    return failover[mechanism]["summary"][figure]["median"] if mechanism in failover else None


def build(results: dict) -> dict:
    """
    The report's data: ``results`` as given, the ``derived`` figures and the
    ``checks``. A derived figure of a section that was not measured is left
    out; a ratio whose terms are missing or zero is None.
    """
    derived: dict = {}
    cold = results.get("cold_deploy")
    if cold is not None:
        floor = cold.get("floor") or {}
        derived["cold_floor_ratio"] = _ratio(cold["seconds"], floor.get("seconds"))
    failover = results.get("failover")
    if failover is not None:
        derived["failover"] = {
            mechanism: {
                "rounds": len(rounds),
                "summary": {figure: summary([entry[figure] for entry in rounds]) for figure in FIGURES},
                "totals": {count: sum(entry[count] for entry in rounds) for count in COUNTS},
            }
            for mechanism in MECHANISMS if (rounds := failover.get(mechanism)) is not None
        }
        derived["failover_ratio"] = {
            figure: _ratio(_median(derived["failover"], "keepalived", figure),
                           _median(derived["failover"], "pacemaker", figure))
            for figure in COMPARED
        }
    scale = results.get("scale")
    if scale is not None:
        derived["scale_ratio"] = _ratio(scale.get("5"), scale.get("3"))
    return {"results": results, "derived": derived, "checks": _checks(results)}


def _s(value: float | None) -> str:
    """Seconds with one decimal."""
    return "n/a" if value is None else f"{value:.1f}"


def _r(value: float | None) -> str:
    """A ratio with two decimals."""
    return "n/a" if value is None else f"{value:.2f}"


def _cell(value: object) -> str:
    """A markdown table cell: a ``|`` in the text would end the cell."""
    return str(value).replace("|", "\\|")


def _row(*cells: object) -> str:
    return "| " + " | ".join(_cell(cell) for cell in cells) + " |"


def _table(header: list[str], rows: list[list[object]], numeric_from: int = 1) -> list[str]:
    """A markdown table whose columns from ``numeric_from`` on are right-aligned."""
    rule = ["---" if index < numeric_from else "---:" for index in range(len(header))]
    return [_row(*header), _row(*rule)] + [_row(*row) for row in rows]


def _image(plots: dict[str, str], name: str, alt: str) -> list[str]:
    return [f"![{alt}]({plots[name]})", ""] if name in plots else []


def _header(results: dict) -> list[str]:
    meta = results.get("meta") or {}
    machine = meta.get("machine") or {}
    described = f"{machine.get('cores', '?')} cores, {machine.get('memory_gib', '?')} GiB memory"
    if "kernel" in machine:
        described += f", kernel {machine['kernel']}"
    bench_seconds = meta.get("bench_seconds")
    duration = NOT_MEASURED if bench_seconds is None else f"{_s(bench_seconds)} s ({_s(bench_seconds / 60)} min)"
    lines = [
        "# Bench report",
        "",
        f"- Machine: {described}",
        f"- Commit: {meta.get('commit', 'unknown')}",
        f"- Date: {meta.get('date', 'unknown')}",
        f"- Total bench duration: {duration}",
        "",
    ]
    versions = meta.get("versions") or {}
    if versions:
        lines += _table(["Component", "Version"], [[name, version] for name, version in versions.items()], 2)
        lines.append("")
    return lines


def _cold_deploy(report: dict, plots: dict[str, str]) -> list[str]:
    lines = ["## Cold deploy", ""]
    cold = report["results"].get("cold_deploy")
    if cold is None:
        return lines + [NOT_MEASURED, ""]
    # The floor is an estimate of its own, so a cold deploy may come without it.
    floor = cold.get("floor")
    if floor is None:
        floor_text = NOT_MEASURED
    else:
        parts = ", ".join(f"{name} {_s(seconds)} s" for name, seconds in floor["parts"].items())
        floor_text = f"{_s(floor['seconds'])} s" + (f" ({parts})" if parts else "")
    lines += [
        f"- Total: {_s(cold['seconds'])} s, {cold['changes']} changes",
        f"- Floor: {floor_text}",
        f"- Cold deploy / floor: {_r(report['derived']['cold_floor_ratio'])}",
        "",
    ]
    lines += _image(plots, "deploy_steps", "Cold deploy steps")
    rows = [[step["id"], _s(step["start"]), _s(step["seconds"])] for step in cold["steps"]]
    return lines + _table(["Step", "Start (s)", "Duration (s)"], rows) + [""]


def _noop_deploy(results: dict) -> list[str]:
    noop = results.get("noop_deploy")
    text = NOT_MEASURED if noop is None else f"{_s(noop['seconds'])} s, {noop['changes']} changes"
    return ["## No-op re-deploy", "", text, ""]


def _failover(report: dict, plots: dict[str, str]) -> list[str]:
    lines = ["## Failover", ""]
    failover = report["results"].get("failover")
    if failover is None:
        return lines + [NOT_MEASURED, ""]
    derived = report["derived"]["failover"]
    header = ["Round", "Victim"] + [FIGURE_LABELS[figure] for figure in FIGURES] + [COUNT_LABELS[c] for c in COUNTS]
    for mechanism in MECHANISMS:
        lines += [f"### {mechanism}", ""]
        if mechanism not in derived:
            lines += [NOT_MEASURED, ""]
            continue
        rows: list[list[object]] = [
            [entry["round"], entry["victim"]] + [_s(entry[figure]) for figure in FIGURES]
            + [entry[count] for count in COUNTS]
            for entry in failover[mechanism]
        ]
        rows.append(["Total", ""] + [""] * len(FIGURES) + [derived[mechanism]["totals"][c] for c in COUNTS])
        lines += _table(header, rows, 2) + [""]
    # The summaries of both mechanisms side by side, one row per figure.
    measured = [mechanism for mechanism in MECHANISMS if mechanism in derived]
    if measured:
        header = ["Figure"] + [f"{mechanism} {stat}" for mechanism in measured for stat in ("min", "median", "max")]
        rows = [[FIGURE_LABELS[figure]] + [_s(derived[mechanism]["summary"][figure][stat])
                                           for mechanism in measured for stat in ("min", "median", "max")]
                for figure in FIGURES]
        lines += ["### Summary", ""] + _table(header, rows) + [""]
    ratio = report["derived"]["failover_ratio"]
    lines += [
        "keepalived / pacemaker median: "
        + ", ".join(f"{FIGURE_LABELS[figure].removesuffix(' (s)').lower()} {_r(ratio[figure])}" for figure in COMPARED),
        "",
    ]
    return lines + _image(plots, "failover_gaps", "Longest gap per failover round")


def _figures(title: str, section: dict | None, rows: Callable[[dict], list[list[object]]]) -> list[str]:
    """A section of one figure per row (``rows`` of the measured ``section``), or "not measured"."""
    lines = [f"## {title}", ""]
    if section is None:
        return lines + [NOT_MEASURED, ""]
    return lines + _table(["Figure", "Value"], rows(section)) + [""]


def _power_loss(results: dict) -> list[str]:
    return _figures("Total power loss", results.get("power_loss"), lambda power_loss: [
        ["Cluster recovered (s)", _s(power_loss["recover_s"])],
        ["Galera synced (s)", _s(power_loss["synced_s"])],
        ["Token issued (s)", _s(power_loss["token_s"])],
        ["Acked writes", power_loss["acked"]],
        ["Lost writes", power_loss["lost"]],
    ])


def _partition(results: dict) -> list[str]:
    return _figures("Partition", results.get("partition"), lambda partition: [
        ["Cut (s)", _s(partition["cut_s"])],
        ["Acked writes", partition["acked"]],
        ["Lost writes", partition["lost"]],
        ["Most VIP holders at once", partition["max_vip_holders"]],
        ["Healthy after heal (s)", _s(partition["healthy_after_heal_s"])],
    ])


def _scale(report: dict) -> list[str]:
    lines = ["## Scale", ""]
    scale = report["results"].get("scale")
    if scale is None:
        return lines + [NOT_MEASURED, ""]
    rows = [[controllers, _s(scale.get(controllers))] for controllers in ("3", "5")]
    return lines + _table(["Controllers", "Cold deploy (s)"], rows) + [
        "", f"5 / 3 controllers: {_r(report['derived']['scale_ratio'])}", ""]


def _checks_section(checks: list[dict]) -> list[str]:
    failed = sum(not check["ok"] for check in checks)
    verdict = f"all {len(checks)} checks pass" if not failed else f"{failed} of {len(checks)} checks FAILED"
    lines = ["## Checks", "", verdict, ""]
    lines += [f"- {'ok' if check['ok'] else 'FAILED'}: {check['name']} ({check['detail']})" for check in checks]
    return lines + [""]


def markdown(report: dict, plots: dict[str, str]) -> str:
    """The text of report.md for ``report`` (from :py:func:`build`); ``plots`` maps a plot name to its file."""
    results = report["results"]
    lines = (_header(results) + _cold_deploy(report, plots) + _noop_deploy(results) + _failover(report, plots)
             + _power_loss(results) + _partition(results) + _scale(report) + _checks_section(report["checks"]))
    return "\n".join(lines).rstrip("\n") + "\n"


def _ticks(top: float) -> list[float]:
    """Axis ticks from 0 with a 1, 2 or 5 × 10^n step, the last one at or past ``top``."""
    top = top if top > 0 else 1.0
    raw = top / 6
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(multiple * magnitude for multiple in (1, 2, 5, 10) if multiple * magnitude >= raw)
    # The tolerance keeps a top that is a multiple of the step from getting one more tick through rounding.
    return [index * step for index in range(math.ceil(top / step - 1e-9) + 1)]


def _text(x: float, y: float, text: str, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'


def _svg(width: float, height: float, title: str, body: list[str]) -> str:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="{FONT_SIZE}">')
    return "\n".join([head, f"<title>{escape(title)}</title>",
                      _text(width / 2, 22, title, "middle", ' font-weight="bold"'), *body, "</svg>"]) + "\n"


def _not_measured(title: str) -> str:
    return _svg(PLOT_WIDTH, TITLE_SPACE + 40, title, [_text(PLOT_WIDTH / 2, TITLE_SPACE + 20, NOT_MEASURED, "middle")])


def svg_steps(steps: list[dict], title: str) -> str:
    """A Gantt-like SVG: one bar per step from its start offset for its duration, on a seconds axis."""
    if not steps:
        return _not_measured(title)
    left = MARGIN + CHAR_WIDTH * max(len(step["id"]) for step in steps) + 8
    ticks = _ticks(max(step["start"] + step["seconds"] for step in steps))
    scale = PLOT_WIDTH / ticks[-1]
    bottom = TITLE_SPACE + len(steps) * (BAR_HEIGHT + BAR_GAP)
    body = []
    for tick in ticks:
        x = left + tick * scale
        body += [f'<line x1="{x:.1f}" y1="{TITLE_SPACE}" x2="{x:.1f}" y2="{bottom + 5}" stroke="#ddd"/>',
                 _text(x, bottom + 18, f"{tick:g}", "middle")]
    body += [f'<line x1="{left}" y1="{bottom}" x2="{left + PLOT_WIDTH}" y2="{bottom}" stroke="#000"/>',
             _text(left + PLOT_WIDTH / 2, bottom + 36, "seconds since the start of the deploy", "middle")]
    for index, step in enumerate(steps):
        y = TITLE_SPACE + index * (BAR_HEIGHT + BAR_GAP) + BAR_GAP / 2
        # A step that took (almost) no time still gets a visible sliver.
        width = max(step["seconds"] * scale, 1.0)
        tooltip = f"{step['id']}: from {_s(step['start'])} s for {_s(step['seconds'])} s"
        body += [_text(left - 8, y + BAR_HEIGHT - 4, step["id"], "end"),
                 f'<rect class="bar" x="{left + step["start"] * scale:.1f}" y="{y:.1f}" width="{width:.1f}" '
                 f'height="{BAR_HEIGHT}" fill="{PALETTE[0]}"><title>{escape(tooltip)}</title></rect>']
    return _svg(left + PLOT_WIDTH + MARGIN * 2, bottom + AXIS_SPACE, title, body)


def svg_gaps(rounds: dict[str, list[dict]], key: str, title: str) -> str:
    """
    An SVG bar plot of ``key`` per failover round: one group per round
    number, one bar (and colour) per mechanism in it, a seconds axis and a
    legend.
    """
    groups = max((len(entries) for entries in rounds.values()), default=0)
    if not groups:
        return _not_measured(title)
    left = MARGIN + 48
    ticks = _ticks(max(entry[key] for entries in rounds.values() for entry in entries))
    scale = PLOT_HEIGHT / ticks[-1]
    # The legend sits between the title and the plot, one line per mechanism.
    top = TITLE_SPACE + 18 * len(rounds) + 6
    bottom = top + PLOT_HEIGHT
    group_width = PLOT_WIDTH / groups
    # Bars take 80% of their group so that the rounds stay apart.
    bar_width = group_width * 0.8 / len(rounds)
    body = []
    for tick in ticks:
        y = bottom - tick * scale
        body += [f'<line x1="{left - 5}" y1="{y:.1f}" x2="{left + PLOT_WIDTH}" y2="{y:.1f}" stroke="#ddd"/>',
                 _text(left - 8, y + 4, f"{tick:g}", "end")]
    body += [f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="#000"/>',
             f'<line x1="{left}" y1="{bottom}" x2="{left + PLOT_WIDTH}" y2="{bottom}" stroke="#000"/>',
             _text(MARGIN + 4, top + PLOT_HEIGHT / 2, "seconds", "middle",
                   f' transform="rotate(-90 {MARGIN + 4} {top + PLOT_HEIGHT / 2:.1f})"'),
             _text(left + PLOT_WIDTH / 2, bottom + 36, "failover round", "middle")]
    for group in range(groups):
        body.append(_text(left + (group + 0.5) * group_width, bottom + 18, str(group + 1), "middle"))
    for index, (mechanism, entries) in enumerate(rounds.items()):
        colour = PALETTE[index % len(PALETTE)]
        for group, entry in enumerate(entries):
            x = left + group * group_width + group_width * 0.1 + index * bar_width
            height = entry[key] * scale
            tooltip = f"{mechanism} round {entry.get('round', group + 1)}: {_s(entry[key])} s"
            body.append(f'<rect class="bar" x="{x:.1f}" y="{bottom - height:.1f}" width="{bar_width:.1f}" '
                        f'height="{height:.1f}" fill="{colour}"><title>{escape(tooltip)}</title></rect>')
        legend_y = TITLE_SPACE + index * 18
        body += [f'<rect class="swatch" x="{left + PLOT_WIDTH - 120}" y="{legend_y - 10}" width="12" height="12" '
                 f'fill="{colour}"/>',
                 _text(left + PLOT_WIDTH - 102, legend_y, mechanism)]
    return _svg(left + PLOT_WIDTH + MARGIN, bottom + AXIS_SPACE, title, body)


def write(results: dict, directory: Path) -> dict:
    """
    Write report.json, report.md and the two plots of ``results`` into
    ``directory``; return the report. Everything is rendered before the
    first file is written, so that results that do not follow the schema
    leave no partial report behind.
    """
    report = build(results)
    cold = results.get("cold_deploy")
    failover = results.get("failover") or {}
    files = {
        "report.json": json.dumps(report, indent=1, sort_keys=True) + "\n",
        "report.md": markdown(report, PLOTS),
        PLOTS["deploy_steps"]: svg_steps(cold["steps"] if cold else [], "Cold deploy: orchestration steps"),
        PLOTS["failover_gaps"]: svg_gaps({mechanism: failover[mechanism] for mechanism in MECHANISMS
                                          if mechanism in failover}, "longest_gap_s",
                                         "Failover: longest gap in writes per round"),
    }
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    return report


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.report RESULTS.json [OUTDIR]``; 2 for results that cannot be read or used."""
    parser = argparse.ArgumentParser(prog="python -m bench.report", description="Write the report of a bench run.")
    parser.add_argument("results", type=Path, help="the results JSON of the bench run")
    parser.add_argument("outdir", type=Path, nargs="?", default=DEFAULT_OUTDIR,
                        help=f"where the report goes (default: {DEFAULT_OUTDIR})")
    arguments = parser.parse_args(argv)
    try:
        results = json.loads(arguments.results.read_text())
    except OSError as error:
        print(f"bench.report: cannot read {arguments.results}: {error.strerror or error}", file=sys.stderr)
        return 2
    except ValueError as error:  # invalid JSON or text that is not UTF-8
        print(f"bench.report: {arguments.results} is not valid JSON: {error}", file=sys.stderr)
        return 2
    if not isinstance(results, dict):
        print(f"bench.report: {arguments.results} holds no JSON object", file=sys.stderr)
        return 2
    try:
        write(results, arguments.outdir)
    # What a section of the wrong shape raises while the report is rendered
    # (a missing key, a string or null where a number belongs).
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        print(f"bench.report: {arguments.results} does not follow the results schema: {error!r}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"bench.report: cannot write the report into {arguments.outdir}: {error}", file=sys.stderr)
        return 1
    print(f"bench.report: wrote {arguments.outdir / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
