"""The pure parts of make bench's run (bench/run.py): figures from a hand-made orchestration result and from
recorded client output."""

from __future__ import annotations

import pytest

from bench import run


def _state(function: str, state_id: str, seconds: float, changed: bool = True) -> tuple[str, dict]:
    module, name = function.split(".")
    return f"{module}_|-{state_id}_|-{state_id}_|-{name}", {
        "__id__": state_id, "duration": seconds * 1000, "changes": {"x": 1} if changed else {}, "result": True}


def _step(run_num: int, start_time: str, seconds: float, minions: dict[str, list[tuple[str, dict]]] | None = None,
          changes: dict | None = None) -> dict:
    """A step of an orchestration's result; ``minions``: a salt.state step's changed minions and their states."""
    if minions is not None:
        changes = {"out": "highstate", "ret": {minion: dict(states) for minion, states in minions.items()}}
    return {"__run_num__": run_num, "start_time": start_time, "duration": seconds * 1000, "changes": changes or {},
            "result": True}


ORCHESTRATION = {
    "ha-pillar-valid": _step(0, "23:59:58.500000", 1.0, changes={"valid": True}),
    "ha-base": _step(1, "23:59:59.500000", 20.0, {
        "c1": [_state("pkg.installed", "base-pkgs", 8.0), _state("pkg.latest", "base-latest", 2.0),
               _state("service.running", "chrony", 1.5), _state("file.managed", "conf", 3.0)],
        "c2": [_state("pkg.installed", "base-pkgs", 9.0), _state("service.running", "chrony", 0.5, changed=False)],
    }),
    "ha-galera-cluster-c1": _step(2, "00:00:19.500000", 10.0, {
        "c1": [_state("ha_galera.bootstrapped", "ha-galera-cluster", 6.0),
               _state("service.running", "mariadb-check", 2.0)]}),
    "ha-galera-cluster-c2": _step(3, "00:00:29.750000", 12.0, {
        "c2": [_state("ha_galera.joined", "ha-galera-cluster", 11.0)]}),
    # A minion that failed returns text, not states.
    "ha-etcd": _step(4, "00:00:19.600000", 5.0, {"c1": [_state("service.running", "etcd", 4.0)]}),
}
ORCHESTRATION["ha-etcd"]["changes"]["ret"]["c3"] = "Minion did not respond"


def test_steps_in_start_order_from_the_first_step_past_midnight():
    assert run.steps(ORCHESTRATION) == [
        {"id": "ha-pillar-valid", "start": 0.0, "seconds": 1.0},
        {"id": "ha-base", "start": 1.0, "seconds": 20.0},
        {"id": "ha-galera-cluster-c1", "start": 21.0, "seconds": 10.0},
        {"id": "ha-etcd", "start": 21.1, "seconds": 5.0},
        {"id": "ha-galera-cluster-c2", "start": 31.25, "seconds": 12.0},
    ]


def test_changes_count_every_changed_minion_state_and_a_master_step():
    # ha-pillar-valid 1, ha-base 4 + 1 (c2's chrony did not change), galera 2 + 1, etcd 1.
    assert run.count_changes(ORCHESTRATION) == 10


def test_a_deploy_that_changed_nothing_counts_none():
    quiet = {step_id: {**body, "changes": {}} for step_id, body in ORCHESTRATION.items()}
    assert run.count_changes(quiet) == 0


def test_floor_adds_each_steps_slowest_minion_and_the_joins():
    floor = run.floor(ORCHESTRATION)
    # Packages: ha-base's c1 has 10 s, c2 9 s. Service starts that changed: c1's chrony in ha-base,
    # mariadb-check, etcd. SST: the join of c2 only, not the bootstrap of c1.
    assert floor == {"seconds": 28.5, "parts": {"packages": 10.0, "service_starts": 7.5, "sst": 11.0}}


def test_a_step_without_minion_states_adds_nothing_to_the_floor():
    assert run.floor({"ha-pillar-valid": ORCHESTRATION["ha-pillar-valid"]})["seconds"] == 0.0


# A writer's acknowledged inserts around a crash at 100.0: a gap from 100.2 to 103.0, a shorter one before.
WRITES = {"acked": [[99.0, 1], [99.5, 2], [100.2, 3], [103.0, 4], [103.1, 5]], "failed": [101.2, 102.3, 102.9]}
TOKEN = {"longest_gap": 3.4, "ended": 103.6, "tries": 90, "failed": 6}
TIMELINES = {"n2": [[98.0, False], [101.8, True], [120.0, True]], "n3": [[98.1, False], [118.1, False]]}


def test_round_figures_from_the_clients_output():
    figures = run.round_figures(WRITES, TOKEN, TIMELINES, 100.0, {1, 2, 3, 5})
    assert figures == {"vip_back_s": 1.8, "galera_back_s": 3.0, "token_back_s": 3.6, "longest_gap_s": 2.8,
                       "failed_writes": 3, "failed_tokens": 6, "acked": 5, "lost": 1}


def test_writes_back_after_the_longest_gap_that_ends_after_the_crash():
    # A longer gap that ended before the crash is not the crash's.
    assert run.back_after([90.0, 99.0, 99.5, 101.0], 99.2) == pytest.approx(1.8)
    with pytest.raises(ValueError):
        run.back_after([98.0, 99.0], 100.0)


def test_vip_back_needs_a_move_to_a_survivor():
    # A survivor that held the VIP from the start (the end marker repeats it) did not take it over.
    with pytest.raises(ValueError):
        run.vip_back({"n2": [[98.0, True], [120.0, True]]}, 100.0)


def test_most_vip_holders_at_once():
    # n1 drops the VIP at 105, n2 takes it at 104.5: both held it for half a second.
    timelines = {"n1": [[100.0, True], [105.0, False], [162.0, False]],
                 "n2": [[100.0, False], [104.5, True], [162.0, True]],
                 "n3": [[100.1, False], [162.0, False]]}
    assert run.max_vip_holders(timelines) == 2
    timelines["n2"] = [[100.0, False], [105.0, True], [162.0, True]]
    assert run.max_vip_holders(timelines) == 1


def test_lost_counts_acknowledged_ids_not_stored():
    assert run.lost([1, 2, 3, 3], {1, 3, 9}) == 1
