"""The report generator of make bench (bench/report.py) on a recorded results sample and variations of it."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bench import report

DATA = Path(__file__).parent / "data"
SAMPLE = json.loads((DATA / "bench-results.json").read_text())
REPO = Path(__file__).resolve().parents[2]
SVG = "{http://www.w3.org/2000/svg}"
FILES = {"report.json", "report.md", "deploy-steps.svg", "failover-gaps.svg"}


@pytest.fixture
def results() -> dict:
    """A copy of the sample that a test may change."""
    return copy.deepcopy(SAMPLE)


def _check(built: dict, name: str) -> dict:
    (found,) = [check for check in built["checks"] if check["name"] == name]
    return found


def _section(text: str, title: str) -> str:
    """The markdown of one ``## title`` section, up to the next one."""
    return text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def _bars(svg: str) -> list[ET.Element]:
    return ET.fromstring(svg).findall(f".//{SVG}rect[@class='bar']")


# summary


def test_summary_of_an_odd_count_takes_the_middle_value():
    assert report.summary([3.0, 1.0, 2.5]) == {"count": 3, "min": 1.0, "median": 2.5, "max": 3.0}


def test_summary_of_an_even_count_averages_the_two_middle_values():
    assert report.summary([10.0, 1.0, 3.0, 2.0]) == {"count": 4, "min": 1.0, "median": 2.5, "max": 10.0}


def test_summary_of_nothing_has_no_figures():
    assert report.summary([]) == {"count": 0, "min": None, "median": None, "max": None}


# build: derived figures


def test_failover_summaries_and_totals_of_the_sample():
    failover = report.build(SAMPLE)["derived"]["failover"]
    # token_back_s of the pacemaker rounds sorted: 2.1 2.3 2.5 2.9 3.4.
    assert failover["pacemaker"]["summary"]["token_back_s"] == {"count": 5, "min": 2.1, "median": 2.5, "max": 3.4}
    # longest_gap_s of the keepalived rounds sorted: 3.3 3.7 3.8 4.2 4.6.
    assert failover["keepalived"]["summary"]["longest_gap_s"] == {"count": 5, "min": 3.3, "median": 3.8, "max": 4.6}
    assert failover["pacemaker"]["summary"]["vip_back_s"]["median"] == 1.9
    assert failover["keepalived"]["summary"]["galera_back_s"]["median"] == 3.6
    assert failover["pacemaker"]["totals"] == {"failed_writes": 17, "failed_tokens": 12, "acked": 3994, "lost": 0}
    assert failover["keepalived"]["totals"] == {"failed_writes": 27, "failed_tokens": 18, "acked": 3936, "lost": 0}
    assert failover["pacemaker"]["rounds"] == failover["keepalived"]["rounds"] == 5


def test_ratios_of_the_sample():
    derived = report.build(SAMPLE)["derived"]
    assert derived["cold_floor_ratio"] == pytest.approx(226.0 / 150.0)
    assert derived["failover_ratio"]["token_back_s"] == pytest.approx(4.0 / 2.5)
    assert derived["failover_ratio"]["longest_gap_s"] == pytest.approx(3.8 / 2.4)
    assert derived["scale_ratio"] == pytest.approx(320.0 / 226.0)


def test_a_zero_median_gives_no_ratio(results):
    for entry in results["failover"]["pacemaker"]:
        entry["token_back_s"] = 0.0
    ratio = report.build(results)["derived"]["failover_ratio"]
    assert ratio["token_back_s"] is None
    assert ratio["longest_gap_s"] == pytest.approx(3.8 / 2.4)


def test_a_mechanism_not_measured_gives_no_ratio(results):
    del results["failover"]["keepalived"]
    derived = report.build(results)["derived"]
    assert derived["failover_ratio"] == {"token_back_s": None, "longest_gap_s": None}
    assert set(derived["failover"]) == {"pacemaker"}


def test_a_mechanism_without_rounds_has_empty_summaries_and_no_ratio(results):
    results["failover"]["keepalived"] = []
    derived = report.build(results)["derived"]
    assert derived["failover"]["keepalived"]["summary"]["token_back_s"]["median"] is None
    assert derived["failover_ratio"]["token_back_s"] is None


def test_a_zero_three_controller_deploy_gives_no_scale_ratio(results):
    results["scale"]["3"] = 0.0
    assert report.build(results)["derived"]["scale_ratio"] is None


# build: checks


def test_every_check_of_the_sample_passes():
    checks = report.build(SAMPLE)["checks"]
    assert [check["name"] for check in checks] == [
        "no-op re-deploy: no changes",
        "failover pacemaker: no acknowledged write lost",
        "failover pacemaker: at least 5 rounds",
        "failover keepalived: no acknowledged write lost",
        "failover keepalived: at least 5 rounds",
        "power loss: no acknowledged write lost",
        "partition: no acknowledged write lost, at most one VIP holder",
    ]
    assert all(check["ok"] for check in checks)


def test_a_lost_write_in_a_failover_round_fails_its_mechanism(results):
    results["failover"]["keepalived"][2]["lost"] = 1
    built = report.build(results)
    failing = _check(built, "failover keepalived: no acknowledged write lost")
    assert failing == {"name": "failover keepalived: no acknowledged write lost", "ok": False,
                       "detail": "1 of 3936 acknowledged writes lost (rounds 3)"}
    assert _check(built, "failover pacemaker: no acknowledged write lost")["ok"]
    assert built["derived"]["failover"]["keepalived"]["totals"]["lost"] == 1


def test_a_lost_write_at_power_loss_fails(results):
    results["power_loss"]["lost"] = 2
    assert not _check(report.build(results), "power loss: no acknowledged write lost")["ok"]


@pytest.mark.parametrize(("change", "value"), [("lost", 1), ("max_vip_holders", 2)])
def test_a_lost_write_or_two_vip_holders_fail_the_partition(results, change, value):
    results["partition"][change] = value
    assert not _check(report.build(results), "partition: no acknowledged write lost, at most one VIP holder")["ok"]


def test_changes_of_the_noop_deploy_fail(results):
    results["noop_deploy"]["changes"] = 3
    assert _check(report.build(results), "no-op re-deploy: no changes") == {
        "name": "no-op re-deploy: no changes", "ok": False, "detail": "3 changes"}


def test_four_rounds_are_too_few(results):
    del results["failover"]["pacemaker"][-1]
    check = _check(report.build(results), "failover pacemaker: at least 5 rounds")
    assert (check["ok"], check["detail"]) == (False, "4 rounds")


MISSING = [
    ("cold_deploy", "cold deploy", "Cold deploy"),
    ("noop_deploy", "no-op re-deploy", "No-op re-deploy"),
    ("power_loss", "power loss", "Total power loss"),
    ("partition", "partition", "Partition"),
    ("scale", "scale", "Scale"),
    ("failover", "failover pacemaker", "Failover"),
]


@pytest.mark.parametrize(("key", "check", "title"), MISSING)
def test_a_section_not_measured_fails_a_check_and_says_so(results, key, check, title):
    del results[key]
    built = report.build(results)
    assert _check(built, f"{check}: measured") == {"name": f"{check}: measured", "ok": False,
                                                   "detail": "not measured"}
    assert "not measured" in _section(report.markdown(built, report.PLOTS), title)


def test_a_section_not_measured_leaves_out_its_derived_figures(results):
    del results["scale"], results["failover"]
    derived = report.build(results)["derived"]
    assert set(derived) == {"cold_floor_ratio"}


def test_a_mechanism_not_measured_says_so(results):
    del results["failover"]["keepalived"]
    built = report.build(results)
    assert not _check(built, "failover keepalived: measured")["ok"]
    assert "### keepalived\n\nnot measured\n" in report.markdown(built, report.PLOTS)


def test_nothing_measured_still_makes_a_report():
    built = report.build({})
    assert built["derived"] == {}
    assert not any(check["ok"] for check in built["checks"])
    text = report.markdown(built, report.PLOTS)
    sections = text.split("## Checks")[0]
    assert sections.count("not measured") == 7  # the bench duration and six sections
    assert "![" not in text
    assert "7 of 7 checks FAILED\n" in text


# markdown


def test_markdown_of_the_sample():
    text = report.markdown(report.build(SAMPLE), report.PLOTS)
    assert text.startswith("# Bench report\n")
    assert "- Machine: 2 cores, 23.4 GiB memory, kernel 6.1.0\n" in text
    assert "- Commit: abc1234\n" in text
    assert "- Total bench duration: 2100.0 s (35.0 min)\n" in text
    assert "| salt | 3008.0 |\n" in text
    assert "| keepalived | 2.2.7 |\n" in text
    cold = _section(text, "Cold deploy")
    assert "- Total: 226.0 s, 412 changes\n" in cold
    assert "- Floor: 150.0 s (packages 90.0 s, service_starts 45.0 s, sst 15.0 s)\n" in cold
    assert "- Cold deploy / floor: 1.51\n" in cold
    assert "| Step | Start (s) | Duration (s) |\n" in cold
    assert "| ha-base | 6.0 | 58.4 |\n" in cold
    assert "| ha-galera-cluster-openstack-controller02 | 100.6 | 16.9 |\n" in cold
    assert cold.count("\n| ha-") == len(SAMPLE["cold_deploy"]["steps"])
    assert "![Cold deploy steps](deploy-steps.svg)" in cold
    assert _section(text, "No-op re-deploy").strip() == "54.0 s, 0 changes"
    failover = _section(text, "Failover")
    assert "| 1 | openstack-controller02 | 1.8 | 2.0 | 2.3 | 2.2 | 3 | 2 | 800 | 0 |\n" in failover
    assert "| Total |  |  |  |  |  | 27 | 18 | 3936 | 0 |\n" in failover
    assert "| Token back (s) | 2.1 | 2.5 | 3.4 | 3.5 | 4.0 | 4.8 |\n" in failover
    assert "keepalived / pacemaker median: token back 1.60, longest gap 1.58\n" in failover
    assert "![Longest gap per failover round](failover-gaps.svg)" in failover
    assert "| Galera synced (s) | 60.0 |\n" in _section(text, "Total power loss")
    assert "| Most VIP holders at once | 1 |\n" in _section(text, "Partition")
    scale = _section(text, "Scale")
    assert "| 5 | 320.0 |\n" in scale
    assert "5 / 3 controllers: 1.42\n" in scale
    checks = _section(text, "Checks")
    assert "all 7 checks pass\n" in checks
    assert "- ok: power loss: no acknowledged write lost (0 of 800 acknowledged writes lost)\n" in checks


def test_markdown_marks_a_failed_check(results):
    results["partition"]["max_vip_holders"] = 2
    checks = _section(report.markdown(report.build(results), report.PLOTS), "Checks")
    assert "1 of 7 checks FAILED\n" in checks
    assert "- FAILED: partition: no acknowledged write lost, at most one VIP holder (" in checks


def test_markdown_embeds_the_plots_it_is_given():
    text = report.markdown(report.build(SAMPLE), {"deploy_steps": "steps.svg"})
    assert "![Cold deploy steps](steps.svg)" in text
    assert "failover-gaps.svg" not in text


def test_a_pipe_in_a_step_id_does_not_break_the_table(results):
    results["cold_deploy"]["steps"][0]["id"] = "a|b"
    assert "| a\\|b | 0.0 | 1.2 |\n" in report.markdown(report.build(results), report.PLOTS)


# SVG


def test_steps_plot_has_one_bar_per_step_and_a_seconds_axis():
    steps = SAMPLE["cold_deploy"]["steps"]
    root = ET.fromstring(report.svg_steps(steps, "Cold deploy"))
    bars = root.findall(f".//{SVG}rect[@class='bar']")
    assert len(bars) == len(steps) == 22
    texts = [element.text for element in root.iter(f"{SVG}text")]
    assert "ha-openstack-services" in texts
    # The last step ends at 225.8 s: the axis runs to 250 s in steps of 50.
    assert [text for text in texts if text.isdigit()] == ["0", "50", "100", "150", "200", "250"]
    # ha-base: 6.0 s from the start for 58.4 s, on 640 px for 250 s.
    base = bars[3]
    first = float(bars[0].get("x"))
    assert float(base.get("x")) - first == pytest.approx(6.0 * 640 / 250, abs=0.1)
    assert float(base.get("width")) == pytest.approx(58.4 * 640 / 250, abs=0.1)


def test_gaps_plot_has_one_bar_per_round_one_colour_per_mechanism_and_a_legend():
    root = ET.fromstring(report.svg_gaps(SAMPLE["failover"], "longest_gap_s", "Gaps"))
    bars = root.findall(f".//{SVG}rect[@class='bar']")
    assert len(bars) == 10
    colours = [bar.get("fill") for bar in bars]
    assert len(set(colours[:5])) == len(set(colours[5:])) == 1
    assert colours[0] != colours[5]
    texts = [element.text for element in root.iter(f"{SVG}text")]
    assert {"pacemaker", "keepalived", "seconds"} <= set(texts)
    # The highest gap is 4.6 s: ticks of 1 s up to 5 s.
    assert [text for text in texts if text in {"0", "1", "2", "3", "4", "5"}][:6] == ["0", "1", "2", "3", "4", "5"]
    # keepalived's round 4 (4.6 s) is the tallest bar.
    assert max(bars, key=lambda bar: float(bar.get("height"))).find(f"{SVG}title").text == "keepalived round 4: 4.6 s"


def test_svg_text_is_escaped(results):
    results["cold_deploy"]["steps"][0]["id"] = "a<&>b"
    steps_root = ET.fromstring(report.svg_steps(results["cold_deploy"]["steps"], "steps <&>"))
    assert "a<&>b" in [element.text for element in steps_root.iter(f"{SVG}text")]
    assert steps_root.find(f"{SVG}title").text == "steps <&>"
    gaps_root = ET.fromstring(report.svg_gaps({"<keep&alived>": SAMPLE["failover"]["keepalived"]},
                                              "token_back_s", "gaps <&>"))
    assert "<keep&alived>" in [element.text for element in gaps_root.iter(f"{SVG}text")]


def test_plots_of_nothing_say_not_measured():
    for svg in (report.svg_steps([], "steps"), report.svg_gaps({}, "longest_gap_s", "gaps")):
        root = ET.fromstring(svg)
        assert not root.findall(f".//{SVG}rect")
        assert "not measured" in [element.text for element in root.iter(f"{SVG}text")]


# write and the command line


def test_write_creates_the_four_files(tmp_path):
    built = report.write(SAMPLE, tmp_path / "out")
    assert {path.name for path in (tmp_path / "out").iterdir()} == FILES
    text = (tmp_path / "out" / "report.json").read_text()
    assert text.startswith('{\n "checks": [\n')
    assert json.loads(text) == built == report.build(SAMPLE)
    assert (tmp_path / "out" / "report.md").read_text() == report.markdown(built, report.PLOTS)
    assert len(_bars((tmp_path / "out" / "deploy-steps.svg").read_text())) == 22
    assert len(_bars((tmp_path / "out" / "failover-gaps.svg").read_text())) == 10


def test_cli_writes_the_report(tmp_path, capsys):
    source = tmp_path / "results.json"
    source.write_text(json.dumps(SAMPLE))
    assert report.main([str(source), str(tmp_path / "out")]) == 0
    assert {path.name for path in (tmp_path / "out").iterdir()} == FILES
    assert capsys.readouterr().out == f"bench.report: wrote {tmp_path / 'out' / 'report.md'}\n"


@pytest.mark.parametrize(("content", "message"), [
    (None, "cannot read"),
    ("{not json", "is not valid JSON"),
    ("[1, 2]", "holds no JSON object"),
    (json.dumps({"partition": {"cut_s": 60}}), "does not follow the results schema"),
])
def test_cli_refuses_results_it_cannot_use(tmp_path, capsys, content, message):
    source = tmp_path / "results.json"
    if content is not None:
        source.write_text(content)
    assert report.main([str(source), str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"bench.report: {'cannot read ' if content is None else ''}{source}")
    assert message in error
    assert error.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_module_runs_as_a_script(tmp_path):
    finished = subprocess.run([sys.executable, "-m", "bench.report", str(tmp_path / "absent.json")],
                              cwd=REPO, capture_output=True, text=True, check=False)
    assert finished.returncode == 2
    assert finished.stderr.startswith("bench.report: cannot read ")
    assert "Traceback" not in finished.stderr
