"""The knapsack Lagrangian bound on journeys: never above any matching of the same people
(brute force on tiny registers, SCIP's optimum on small ones), never below the distance LP it
starts from, and above it where the LP shares a provider's last hours between people."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gapmap.matching.candidates import PersonOptions
from gapmap.matching.greedy import greedy_match
from gapmap.matching.journeys import distance_prices
from gapmap.matching.knapsack_bound import knapsack_bound
from gapmap.matching.patterns import ClassArrays, class_arrays
from gapmap.matching.result import Match
from gapmap.reach import room_units
from gapmap.settings import Settings

from .helpers import box_study, small_instance
from .test_journeys import _setup, every_feasible_km, reference_distance_lp


def _bound(study, options, matches, seconds=3.0, method="subgradient"):
    room = room_units(study.providers)
    classes = {p: class_arrays(options[p], study.settings, room) for p in matches}
    lp, converged, mu = distance_prices(matches, options, room, study.settings)
    assert converged
    # the master's rounds run until converged (a generous time so that a busy machine does
    # not stop it early); the subgradient's, 100
    out = knapsack_bound(matches, options, classes, room, study.settings, mu,
                         60.0 if method == "master" else seconds,
                         rounds=2000 if method == "master" else 100, method=method)  # fmt: skip
    return lp, out


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000))
def test_the_knapsack_bound_is_below_every_feasible_matching(seed):
    from gapmap.matching.candidates import build_candidates

    people, providers = small_instance(seed, n_people=7, n_providers=5)
    people["needs_cover"] = True
    study = box_study(people, providers, match_time_limit_s=10)
    options = build_candidates(study.people, study.providers, study.reach, in_area=study.in_area)
    greedy = greedy_match(study.people, study.providers, options, study.settings)
    if not greedy.matches:
        return
    feasible = every_feasible_km(study, sorted(greedy.matches))
    lp, out = _bound(study, options, greedy.matches)
    assert out["bound_km"] <= min(feasible) + 1e-6
    assert out["bound_km"] >= lp - 1e-6


@pytest.mark.parametrize("method", ["subgradient", "master"])
@pytest.mark.parametrize("seed", range(6))
def test_the_knapsack_bound_is_below_the_integer_optimum_of_an_independent_formulation(
    seed, method
):
    """Between the distance LP and SCIP's optimum over every way enumerated from the rules;
    the master, converged, is at least as high as the subgradient's best."""
    study, options = _setup(seed)
    greedy = greedy_match(study.people, study.providers, options, study.settings)
    if not greedy.matches:
        pytest.skip("nobody matched on this instance")
    best = reference_distance_lp(study, sorted(greedy.matches), integer=True)
    lp, out = _bound(study, options, greedy.matches, method=method)
    assert lp <= best + 1e-6
    assert out["bound_km"] <= best + 1e-6
    assert out["rounds"] >= 1
    assert out["bound_km"] >= lp - 1e-6  # from the LP's prices: never below the LP
    if method == "master":
        assert out["converged"]
        assert out["bound_km"] >= _bound(study, options, greedy.matches)[1]["bound_km"] - 1e-6


def _person(p: int, distance: dict[int, float]) -> PersonOptions:
    return PersonOptions(person=p, hours=1.0, priority=1, needs_cover=False, classes=[],
                         distance=distance)  # fmt: skip


def _class(providers: list[int], a: int, k: int = 0) -> ClassArrays:
    empty = np.zeros(0, np.int64)
    return ClassArrays(k=k, providers=np.array(providers, np.int64), partners=empty,
                       covers=empty, a=a, b=0, r=0, cover_optional=True, provider_hours=1.0,
                       partner_hours=0.0)  # fmt: skip


def test_whole_people_in_a_provider_s_room_beat_the_lp():
    """Two people of 1 h each, a near provider with 1.5 h of room and a far one with plenty:
    the LP puts one and a half people near (1.5 + 0.5 x 10 = 6.5 km), but one of them must go
    far (11 km); from the LP's prices the knapsack bound proves 11 km at once."""
    options = [_person(0, {0: 1.0, 1: 10.0}), _person(1, {0: 1.0, 1: 10.0})]
    classes = {p: [_class([0, 1], 100)] for p in (0, 1)}
    room = np.array([150, 1000], np.int64)
    chosen = {0: Match(0, -1, -1, 1.0, 0.0), 1: Match(1, -1, -1, 1.0, 0.0)}
    mu = np.array([9.0 / 100, 0.0])  # the LP's price of the near provider's room
    out = knapsack_bound(chosen, options, classes, room, Settings(), mu, 5.0)
    lp = 2 * (1.0 + 100 * mu[0]) - 150 * mu[0]  # the LP's Lagrangian at its own prices
    assert lp == pytest.approx(6.5)
    assert out["start_km"] == pytest.approx(11.0)
    assert out["bound_km"] == pytest.approx(11.0)


@pytest.mark.parametrize("seed", [1, 2])
def test_the_converged_master_closes_the_lp_s_gap_where_hours_are_shared(seed):
    """Instances where the LP is below the integer optimum (it shares providers' last hours):
    the converged knapsack bound is above the LP and here reaches the optimum."""
    study, options = _setup(seed)
    greedy = greedy_match(study.people, study.providers, options, study.settings)
    best = reference_distance_lp(study, sorted(greedy.matches), integer=True)
    lp, out = _bound(study, options, greedy.matches, seconds=20.0, method="master")
    assert lp < best - 0.1
    assert out["converged"]
    assert out["bound_km"] == pytest.approx(best, abs=1e-4 * best)


@settings(max_examples=40, deadline=None)
@given(
    loads=st.lists(st.lists(st.integers(1, 60), min_size=1, max_size=3), min_size=1, max_size=6),
    room=st.integers(0, 150),
    data=st.data(),
)
def test_a_provider_s_knapsack_is_the_best_roster_by_brute_force(loads, room, data):
    """Each person (one to six) has one to three day classes at one provider, each with its own
    load; with random multipliers the knapsack (after leaving out the items another of the same
    person's beats) is the least ``-Σ β`` over every roster within the room taking at most one
    item of each person, found by trying them all."""
    from itertools import product

    from gapmap.matching.knapsack_bound import Items

    options = [_person(p, {0: 1.0}) for p in range(len(loads))]
    classes = {p: [_class([0], a, k) for k, a in enumerate(ls)] for p, ls in enumerate(loads)}
    items = Items(list(range(len(loads))), options, classes, np.array([room]), Settings())
    beta = np.array(data.draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.5, 7.0]),
                                       min_size=items.n, max_size=items.n)))  # fmt: skip
    value, taken = items.knapsack(0, beta)
    assert items.load[taken].sum() <= room
    assert len(set(items.person[taken].tolist())) == len(taken)
    assert value == pytest.approx(-beta[taken].sum())
    per_person = [[-1, *np.flatnonzero(items.person == p).tolist()] for p in range(len(loads))]
    best = min(
        -sum(beta[t] for t in pick if t >= 0)
        for pick in product(*per_person)
        if sum(items.load[t] for t in pick if t >= 0) <= room
    )
    assert value == pytest.approx(best)


def test_a_deadline_already_passed_still_gives_one_whole_round():
    """The distance stage's use: a deadline that has passed still gives the first round's
    bound (from the LP's prices), never a partial one."""
    import time

    options = [_person(0, {0: 1.0, 1: 10.0}), _person(1, {0: 1.0, 1: 10.0})]
    classes = {p: [_class([0, 1], 100)] for p in (0, 1)}
    room = np.array([150, 1000], np.int64)
    chosen = {0: Match(0, -1, -1, 1.0, 0.0), 1: Match(1, -1, -1, 1.0, 0.0)}
    mu = np.array([9.0 / 100, 0.0])
    out = knapsack_bound(chosen, options, classes, room, Settings(), mu, 5.0,
                         deadline=time.perf_counter() - 1.0)  # fmt: skip
    assert out["rounds"] == 1
    assert out["bound_km"] == pytest.approx(11.0)


@pytest.mark.parametrize("seed", [1, 2, 7])
def test_each_rise_of_the_bound_is_said_as_it_comes(seed):
    """The distance stage's child writes each rise at once (its parent may stop it at any
    moment): ``each`` hears every rise, in order, and the last is the bound returned."""
    study, options = _setup(seed)
    greedy = greedy_match(study.people, study.providers, options, study.settings)
    room = room_units(study.providers)
    classes = {p: class_arrays(options[p], study.settings, room) for p in greedy.matches}
    lp, converged, mu = distance_prices(greedy.matches, options, room, study.settings)
    said: list[float] = []
    out = knapsack_bound(greedy.matches, options, classes, room, study.settings, mu, 3.0,
                         rounds=100, each=said.append)  # fmt: skip
    assert len(said) >= 2  # these instances rise above the LP's prices in several rounds
    assert said == sorted(said) and said[0] >= lp - 1e-6
    assert said == pytest.approx([b for _, b in out["trace"]])
    assert said[-1] == pytest.approx(out["bound_km"])
