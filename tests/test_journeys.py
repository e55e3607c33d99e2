"""The journeys stage: same people, never longer, never below its proven bound, and the bound
is the LP of an independent formulation (every pattern enumerated from the rules, GLOP)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ortools.linear_solver import pywraplp

from gapmap.matching import check_matching, match
from gapmap.matching.candidates import build_candidates
from gapmap.matching.greedy import greedy_match, journey_km
from gapmap.matching.journeys import distance_bound, journey_figures, shortest_journeys
from gapmap.matching.patterns import class_arrays
from gapmap.reach import room_units

from .helpers import box_study, small_instance


def _bits(mask: int) -> frozenset[int]:
    return frozenset(i for i in range(7) if mask >> i & 1)


def reference_ways(study, people_matched, absence_rate=0.15) -> dict[int, list]:
    """Every whole way (km, [(provider, load in hundredths)]) of each of these people,
    enumerated here from the rules and the eligible pairs; a way whose load on some provider
    is more than that provider's whole room is left out (no matching can use it)."""
    people, providers = study.people, study.providers
    near: dict[int, dict[int, float]] = {}
    r = study.reach
    for p, v, d in zip(r.person.tolist(), r.provider.tolist(), r.distance_km.tolist()):
        near.setdefault(p, {})[v] = d
    units = lambda h: math.ceil(h * 100 - 1e-9)  # noqa: E731
    room = reference_room(study)
    vdays = [_bits(int(m)) for m in providers["day_mask"]]
    out: dict[int, list] = {}
    for p in people_matched:
        P = _bits(int(people["day_mask"].iloc[p]))
        hours = float(people["hours"].iloc[p])
        E = near[p]
        ways = out[p] = []
        for v in E:
            T = P & vdays[v]
            if not T:
                continue
            give = hours * len(T) / len(P)
            S = P - T
            ws = [w for w in E if w != v and S <= vdays[w]] if S else [None]
            for w in ws:
                for c in E:
                    if c in (v, w) or not providers["cover"].iloc[c] or not T <= vdays[c]:
                        continue
                    loads = [(v, units(give)), (c, units(absence_rate * give))]
                    if w is not None:
                        loads.append((w, units(hours - give)))
                    if any(room[u] < x for u, x in loads):
                        continue
                    km = E[v] + E[c] + (E[w] if w is not None else 0.0)
                    ways.append((km, loads))
    return out


def reference_room(study) -> list[int]:
    providers = study.providers
    return [
        math.floor(max(0.0, c - u) * 100 + 1e-9)
        for c, u in zip(providers["capacity_hours"], providers["committed_hours"])
    ]


def reference_distance_lp(study, people_matched, absence_rate=0.15, integer=False) -> float:
    """min km over every whole way of each of these people, exactly one way each, within every
    provider's room: the LP by GLOP, or with ``integer`` the integer optimum by SCIP."""
    room = reference_room(study)
    solver = pywraplp.Solver.CreateSolver("SCIP" if integer else "GLOP")
    load: dict[int, list] = {}
    objective = []
    for ways in reference_ways(study, people_matched, absence_rate).values():
        xs = []
        for km, loads in ways:
            x = solver.BoolVar("") if integer else solver.NumVar(0.0, 1.0, "")
            xs.append(x)
            objective.append(km * x)
            for u, units_u in loads:
                load.setdefault(u, []).append((x, units_u))
        solver.Add(sum(xs) == 1)
    for u, terms in load.items():
        solver.Add(sum(x * k for x, k in terms) <= room[u])
    solver.Minimize(sum(objective))
    assert solver.Solve() == pywraplp.Solver.OPTIMAL
    return solver.Objective().Value()


def every_feasible_km(study, people_matched) -> list[float]:
    """The km of every feasible matching of these people (depth first, small cases only)."""
    ways = list(reference_ways(study, people_matched).values())
    left = reference_room(study)
    out: list[float] = []

    def go(i: int, km: float) -> None:
        if i == len(ways):
            out.append(km)
            return
        for k, loads in ways[i]:
            if all(left[u] >= x for u, x in loads):
                for u, x in loads:
                    left[u] -= x
                go(i + 1, km + k)
                for u, x in loads:
                    left[u] += x

    go(0, 0.0)
    return out


def _setup(seed):
    people, providers = small_instance(seed, n_people=16, n_providers=7)
    people["needs_cover"] = True  # every way names a cover: the reference enumerates them
    study = box_study(people, providers, match_time_limit_s=10)
    options = build_candidates(study.people, study.providers, study.reach, in_area=study.in_area)
    return study, options


@pytest.mark.parametrize("seed", range(8))
def test_the_bound_is_the_lp_of_an_independent_formulation(seed):
    study, options = _setup(seed)
    greedy = greedy_match(study.people, study.providers, options, study.settings)
    if not greedy.matches:
        pytest.skip("nobody matched on this instance")
    room = room_units(study.providers)
    bound, converged = distance_bound(greedy.matches, options, room, study.settings)
    assert converged
    assert bound == pytest.approx(reference_distance_lp(study, sorted(greedy.matches)), abs=1e-6)
    assert journey_km(greedy.matches, options) >= bound - 1e-6


@pytest.mark.parametrize("whole_limit", [0, 5_000], ids=["search", "whole"])
@pytest.mark.parametrize("seed", range(8))
def test_shorter_journeys_keep_the_same_people_and_never_go_below_the_bound(seed, whole_limit):
    import time

    study, options = _setup(seed)
    greedy = greedy_match(study.people, study.providers, options, study.settings)
    room = room_units(study.providers)
    classes = {p: class_arrays(options[p], study.settings, room) for p in greedy.matches}
    out, info = shortest_journeys(
        greedy.matches, options, classes, room, study.settings, time.perf_counter() + 2.0,
        whole_limit=whole_limit,
    )  # fmt: skip
    assert set(out) == set(greedy.matches)  # objective (1) unchanged
    km = journey_km(out, options)
    assert km <= journey_km(greedy.matches, options) + 1e-9
    if greedy.matches:
        assert info["bound_converged"]
        assert km >= info["bound_km"] - 1e-6
    greedy.matches = out
    assert check_matching(study.people, study.providers, greedy) == []


@pytest.mark.parametrize("seed", range(4))
def test_the_batch_reports_its_journeys_and_bound(seed):
    study, _ = _setup(100 + seed)
    matching = match(study)
    best, greedy = matching.best, matching.greedy
    j = best.details["journeys"]
    assert j["km_total"] == pytest.approx(best.distance_km)
    assert j["km_total"] == pytest.approx(j["km_provider"] + j["km_partner"] + j["km_cover"])
    if best.matches:
        assert j["bound_km"] is not None and j["km_total"] >= j["bound_km"] - 1e-6
        assert 0.0 <= j["share_nearest_provider"] <= 1.0
        assert j["mean_km_to_provider"] >= j["mean_km_to_nearest_provider"] - 1e-9
    assert greedy.details["journeys"]["km_total"] == pytest.approx(greedy.distance_km)
    assert check_matching(study.people, study.providers, best) == []


def test_journey_figures_count_each_role():
    study, options = _setup(3)
    greedy = greedy_match(study.people, study.providers, options, study.settings)
    f = journey_figures(greedy.matches, options)
    n = len(greedy.matches)
    assert n > 0
    by_hand = sum(options[p].distance[m.provider] for p, m in greedy.matches.items())
    assert f["km_provider"] == pytest.approx(by_hand)
    assert f["mean_km_to_provider"] == pytest.approx(by_hand / n)
    nearest = np.mean(
        [
            options[p].distance[m.provider]
            <= min(options[p].distance[c.providers[0]] for c in options[p].classes) + 1e-9
            for p, m in greedy.matches.items()
        ]
    )
    assert f["share_nearest_provider"] == pytest.approx(nearest)


def _stage(study, options, matches, seconds=20.0):
    import time

    room = room_units(study.providers)
    classes = {p: class_arrays(options[p], study.settings, room) for p in matches}
    return shortest_journeys(
        matches, options, classes, room, study.settings, time.perf_counter() + seconds
    )


@pytest.mark.parametrize("seed", range(6))
def test_small_cases_reach_the_integer_optimum_of_an_independent_formulation(seed):
    """Small enough for the whole model: CP-SAT proves its optimum, which is SCIP's over every
    way enumerated from the rules (to the metre each role is rounded down to)."""
    study, options = _setup(seed)
    greedy = greedy_match(study.people, study.providers, options, study.settings)
    if not greedy.matches:
        pytest.skip("nobody matched on this instance")
    out, info = _stage(study, options, greedy.matches)
    assert info["proven"]
    best = reference_distance_lp(study, sorted(greedy.matches), integer=True)
    km = journey_km(out, options)
    assert km == pytest.approx(best, abs=0.003 * len(out))
    assert info["bound_km"] <= best + 1e-6  # still a lower bound
    assert km >= info["bound_km"] - 1e-6
    greedy.matches = out
    assert check_matching(study.people, study.providers, greedy) == []


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000))
def test_the_bound_is_below_every_feasible_matching_and_the_stage_finds_the_least(seed):
    """Tiny registers: every feasible matching of the same people enumerated by brute force;
    the reported bound is at most the least of them and the stage's answer is that least."""
    people, providers = small_instance(seed, n_people=7, n_providers=5)
    people["needs_cover"] = True
    study = box_study(people, providers, match_time_limit_s=10)
    options = build_candidates(study.people, study.providers, study.reach, in_area=study.in_area)
    greedy = greedy_match(study.people, study.providers, options, study.settings)
    if not greedy.matches:
        return
    feasible = every_feasible_km(study, sorted(greedy.matches))
    assert feasible, "the greedy matching itself is feasible"
    room = room_units(study.providers)
    bound, converged = distance_bound(greedy.matches, options, room, study.settings)
    assert converged
    assert bound <= min(feasible) + 1e-6
    out, info = _stage(study, options, greedy.matches)
    assert info["proven"]
    assert journey_km(out, options) == pytest.approx(min(feasible), abs=0.003 * len(out))
    assert info["bound_km"] <= min(feasible) + 1e-6


@pytest.mark.parametrize("seed", range(6))
def test_single_moves_leave_no_shorter_relocation_swap_or_push(seed):
    """After the single moves no one role can move to another provider with room, nor two
    people exchange a role each, nor one take another's place while that one moves on to a
    provider with room, so that the km fall: checked here by trying every such move over
    every person, role and provider, under the rules of a way enumerated apart (the role's
    list of its day class, three different providers, room)."""
    people, providers = small_instance(seed, n_people=40, n_providers=8)
    _no_single_move_left(box_study(people, providers, match_time_limit_s=10), far=seed % 2 == 1)


def test_single_moves_on_the_demo_registers(tmp_path):
    """As above on 60 providers and 400 people at real Kent postcodes (the installed
    directory), full enough that pushes are needed."""
    from gapmap.demo import write_demo_registers
    from gapmap.study import Study, StudyInputs

    p, q = write_demo_registers(tmp_path / "in", providers=60, people=400)
    _no_single_move_left(Study.read(StudyInputs(providers=p, people=q)), far=True)


def _no_single_move_left(study, far=False):
    from gapmap.matching.journeys import _Search
    from gapmap.matching.patterns import class_of

    options = build_candidates(study.people, study.providers, study.reach, in_area=study.in_area)
    greedy = greedy_match(study.people, study.providers, options, study.settings)
    if len(greedy.matches) < 4:
        pytest.skip("too few matched on this instance")
    room = room_units(study.providers)
    classes = {p: class_arrays(options[p], study.settings, room) for p in greedy.matches}
    start = {p: (class_of(classes[p], m), m.provider, m.partner, m.cover)
             for p, m in greedy.matches.items()}  # fmt: skip
    if far:  # shaken: random relocations and swaps, short or long, that keep every rule
        rng = np.random.default_rng(0)
        left = room.astype(np.int64).copy()
        for p, (k, v, w, c) in start.items():
            cls = classes[p][k]
            for u, load in ((v, cls.a), (w, cls.b), (c, cls.r)):
                left[u] -= load if u >= 0 else 0
        ids = lambda p, r: {1: classes[p][start[p][0]].providers,  # noqa: E731
                            2: classes[p][start[p][0]].partners,
                            3: classes[p][start[p][0]].covers}[r].tolist()  # fmt: skip
        load = lambda p, r: (classes[p][start[p][0]].a, classes[p][start[p][0]].b,  # noqa: E731
                             classes[p][start[p][0]].r)[r - 1]  # fmt: skip
        matched = sorted(start)
        for _ in range(20 * len(matched)):
            p, q = rng.choice(matched, 2, replace=False).tolist()
            r = int(rng.integers(1, 4))
            now = start[p][r]
            if now < 0 or not ids(p, r):
                continue
            u = int(rng.choice(ids(p, r)))
            if u in start[p][1:]:
                continue
            if left[u] >= load(p, r):  # relocate
                start[p] = tuple(u if i == r else x for i, x in enumerate(start[p]))
                left[u] -= load(p, r)
                left[now] += load(p, r)
                continue
            for rq in (1, 2, 3):  # swap with q's role at u
                if (start[q][rq] == u and now not in start[q][1:] and now in ids(q, rq)
                        and left[u] + load(q, rq) >= load(p, r)
                        and left[now] + load(p, r) >= load(q, rq)):  # fmt: skip
                    start[p] = tuple(u if i == r else x for i, x in enumerate(start[p]))
                    start[q] = tuple(now if i == rq else x for i, x in enumerate(start[q]))
                    left[u] += load(q, rq) - load(p, r)
                    left[now] += load(p, r) - load(q, rq)
                    break
    search = _Search(sorted(start), options, classes, room, start, study.settings)
    before = search.total()
    search.polish(float("inf"), lambda: False)
    assert search.total() <= before + 1e-9
    ways = search.cur
    assert set(ways) == set(start)

    def lists(p, way):
        cls = classes[p][way[0]]
        return {1: (cls.providers.tolist(), cls.a), 2: (cls.partners.tolist(), cls.b),
                3: (cls.covers.tolist(), cls.r)}  # fmt: skip

    left = room.astype(np.int64).copy()
    for p, way in ways.items():
        for role, (ids, load) in lists(p, way).items():
            if way[role] >= 0:
                assert way[role] in ids
                left[way[role]] -= load
        named = [u for u in way[1:] if u >= 0]
        assert len(set(named)) == len(named)
    assert (left >= 0).all()
    d = {p: options[p].distance for p in ways}
    for p, way in ways.items():
        for role, (ids, load) in lists(p, way).items():
            now = way[role]
            if now < 0:
                continue
            for u in ids:
                if u in way[1:] or d[p][u] >= d[p][now] - 1e-9:
                    continue
                assert left[u] < load, f"person {p} could move role {role} to {u}"
                for q, wq in ways.items():
                    for rq, (ids_q, load_q) in lists(q, wq).items():
                        if q == p or wq[rq] != u or now in wq[1:] or now not in ids_q:
                            continue
                        fits = left[u] + load_q - load >= 0 and left[now] + load - load_q >= 0
                        shorter = d[p][u] + d[q][now] < d[p][now] + d[q][u] - 1e-9
                        assert not (fits and shorter), f"{p} and {q} could swap"
                for q, wq in ways.items():  # q's role at u pushed on to a provider with room
                    for rq, (ids_q, load_q) in lists(q, wq).items():
                        if q == p or wq[rq] != u or left[u] + load_q - load < 0:
                            continue
                        for u2 in ids_q:
                            if u2 in wq[1:] or u2 == now or left[u2] < load_q:
                                continue
                            shorter = d[p][u] + d[q][u2] < d[p][now] + d[q][u] - 1e-9
                            assert not shorter, f"{p} could push {q} on to {u2}"
    if len(study.providers) <= 10:  # no whole way of anyone, in any day class, is shorter
        for p, way in ways.items():
            for u, (_, load) in zip(way[1:], lists(p, way).values()):
                if u >= 0:
                    left[u] += load
            for k, cls in enumerate(classes[p]):
                for v in cls.providers.tolist():
                    for w in cls.partners.tolist() or [-1]:
                        for c in cls.covers.tolist() + ([-1] if cls.cover_optional else []):
                            if w == v or (c >= 0 and c in (v, w)):
                                continue
                            fits = all(left[u] >= x for u, x in
                                       ((v, cls.a), (w, cls.b), (c, cls.r)) if u >= 0)  # fmt: skip
                            km = d[p][v] + (d[p][w] if w >= 0 else 0) + (d[p][c] if c >= 0 else
                                 (study.settings.no_cover_penalty_km if options[p].needs_cover
                                  else 0))  # fmt: skip
                            current = search.km[p]
                            assert not (fits and km < current - 1e-9), (
                                f"{p} could take {k, v, w, c}"
                            )
            for u, (_, load) in zip(way[1:], lists(p, way).values()):
                if u >= 0:
                    left[u] -= load
    greedy.matches = {  # a reinsert may change the day class: its hours with it
        p: type(m)(*ways[p][1:], classes[p][ways[p][0]].provider_hours,
                   classes[p][ways[p][0]].partner_hours)
        for p, m in greedy.matches.items()
    }  # fmt: skip
    assert check_matching(study.people, study.providers, greedy) == []
