"""The journeys' bound worked out in a child process: the same bound as in this one, never
above a feasible matching, stopped on demand, in a session of its own (Ctrl+C reaches only
gapmap), and gone when its parent is."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from gapmap.matching import check_matching, journeys_bound
from gapmap.matching.greedy import greedy_match, journey_km
from gapmap.matching.journeys import distance_bound, shortest_journeys
from gapmap.matching.patterns import class_arrays
from gapmap.reach import room_units

from .test_journeys import _setup, every_feasible_km


def _greedy(seed):
    study, options = _setup(seed)
    greedy = greedy_match(study.people, study.providers, options, study.settings)
    if not greedy.matches:
        pytest.skip("nobody matched on this instance")
    return study, options, greedy


@pytest.mark.parametrize("seed", [1, 2])
def test_the_child_s_bound_is_the_lp_or_more_and_never_above_a_matching(seed):
    study, options, greedy = _greedy(seed)
    room = room_units(study.providers)
    lp, converged = distance_bound(greedy.matches, options, room, study.settings)
    assert converged
    child = journeys_bound.start(greedy.matches, options, room, study.settings,
                                 time.perf_counter() + 20.0)  # fmt: skip
    got = child.result()
    assert got["lp_error"] is None
    assert got["bound_converged"]
    assert got["bound_km"] >= lp - 1e-6  # the knapsack bound starts at the LP's prices
    assert got["bound_km"] <= journey_km(greedy.matches, options) + 1e-6
    if len(greedy.matches) <= 9:  # small enough to enumerate every feasible matching
        assert got["bound_km"] <= min(every_feasible_km(study, sorted(greedy.matches))) + 1e-6
    assert child.proc.returncode is not None  # not left running


def test_the_child_has_its_own_session_and_stops_when_asked():
    study, options, greedy = _greedy(1)
    room = room_units(study.providers)
    child = journeys_bound.start(greedy.matches, options, room, study.settings,
                                 time.perf_counter() + 60.0)  # fmt: skip
    # Ctrl+C in a terminal goes to gapmap's process group, not to the child's
    assert os.getpgid(child.proc.pid) != os.getpgid(0)
    got = child.result(stop=True)  # the user stopped: no waiting for the deadline
    assert child.proc.returncode is not None
    assert got["bound_km"] >= 0.0


def test_the_child_ends_when_its_parent_closes_its_input():
    study, options, greedy = _greedy(2)
    room = room_units(study.providers)
    child = journeys_bound.start(greedy.matches, options, room, study.settings,
                                 time.perf_counter() + 600.0)  # fmt: skip
    assert child.proc.stdin is not None
    child.proc.stdin.close()  # as when gapmap is killed
    try:
        child.proc.wait(timeout=120)  # its deadline is 10 minutes away
    except subprocess.TimeoutExpired:
        child.proc.kill()
        pytest.fail("the child went on after its parent had gone")


@pytest.mark.parametrize("seed", [3, 5])
def test_the_search_with_the_bound_in_a_child_keeps_everyone_and_stays_above_it(seed):
    study, options, greedy = _greedy(seed)
    room = room_units(study.providers)
    classes = {p: class_arrays(options[p], study.settings, room) for p in greedy.matches}
    out, info = shortest_journeys(
        greedy.matches, options, classes, room, study.settings, time.perf_counter() + 15.0,
        whole_limit=0, child_people=0,
    )  # fmt: skip
    assert set(out) == set(greedy.matches)
    km = journey_km(out, options)
    assert km <= journey_km(greedy.matches, options) + 1e-9
    assert info["bound_converged"] and info["lp_error"] is None
    assert info["bound_method"] in ("distance LP", "knapsack")
    assert km >= info["bound_km"] - 1e-6
    greedy.matches = out
    assert check_matching(study.people, study.providers, greedy) == []


def test_without_a_child_the_bound_is_worked_out_here(monkeypatch):
    """If no process can be started (a locked-down machine), the stage still gives a matching
    and a converged bound, as it does for fewer people."""
    study, options, greedy = _greedy(3)
    room = room_units(study.providers)
    classes = {p: class_arrays(options[p], study.settings, room) for p in greedy.matches}

    def refuse(*args, **kwargs):
        raise PermissionError("no new processes here")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    out, info = shortest_journeys(
        greedy.matches, options, classes, room, study.settings, time.perf_counter() + 5.0,
        whole_limit=0, child_people=0,
    )  # fmt: skip
    assert set(out) == set(greedy.matches)
    assert info["bound_converged"] and info["bound_method"] == "distance LP"
    assert journey_km(out, options) >= info["bound_km"] - 1e-6


def test_the_child_s_time_ends_at_the_parent_s_deadline_however_late_it_got_going():
    """The child counts its time to the parent's deadline, not from its own start (its
    imports take about half a second to a second): counted from its start, its last lines,
    the knapsack bound's, came after the parent had stopped reading."""
    now = time.time()
    late = journeys_bound.seconds_left({"seconds": 8.0, "until": now + 7.0})  # a second late
    assert 0.0 < late <= 7.0
    assert journeys_bound.seconds_left({"seconds": 8.0, "until": now - 1.0}) == 0.0
    # a clock set back meanwhile never gives it more than the parent did
    assert journeys_bound.seconds_left({"seconds": 8.0, "until": now + 100.0}) == 8.0
