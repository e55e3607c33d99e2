from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gapmap.matching import check_matching, match
from gapmap.matching.candidates import build_candidates
from gapmap.matching.greedy import greedy_match
from gapmap.reach import eligible_pairs
from gapmap.vocab import parse_days, parse_services

from .helpers import box_study, small_instance
from .reference_matching import reference_optimum


@pytest.mark.parametrize("seed", range(12))
def test_optimum_equals_an_independent_mip_on_small_instances(seed):
    people, providers = small_instance(seed)
    matching = match(box_study(people, providers, match_time_limit_s=10))
    best, greedy = matching.best, matching.greedy
    assert best.status == "OPTIMAL"
    assert best.objective == pytest.approx(reference_optimum(people, providers))
    assert greedy.objective <= best.objective + 1e-9
    # match() ran the checker already; run it once more here, on both
    assert check_matching(people, providers, best) == []
    assert check_matching(people, providers, greedy) == []


@pytest.mark.parametrize("seed", range(4))
def test_allowing_matches_without_cover(seed):
    people, providers = small_instance(100 + seed)
    best = match(box_study(people, providers, match_time_limit_s=10, allow_without_cover=True)).best
    assert check_matching(people, providers, best, allow_without_cover=True) == []
    assert best.objective == pytest.approx(
        reference_optimum(people, providers, allow_without_cover=True)
    )
    strict = match(box_study(people, providers, match_time_limit_s=10)).best
    assert best.objective >= strict.objective - 1e-9


def test_checker_catches_broken_rules():
    people, providers = small_instance(3)
    best = match(box_study(people, providers, match_time_limit_s=10)).best
    assert best.matches
    p, m = next(iter(best.matches.items()))
    from dataclasses import replace

    broken = replace(best, matches={**best.matches, p: replace(m, cover=m.provider)})
    assert any("cover" in s for s in check_matching(people, providers, broken))
    over = providers.copy()
    over["capacity_hours"] = over["committed_hours"]  # no free hours at all
    assert any("over its free" in s for s in check_matching(people, over, best))
    # a matched person left out with a reason that is not one of the rules' is caught
    rest = {q: mq for q, mq in best.matches.items() if q != p}
    lost = replace(best, matches=rest, reasons={**best.reasons, p: "lunch"})
    assert any("valid reason (lunch)" in s for s in check_matching(people, providers, lost))
    silent = replace(best, matches=rest)  # and one left out with no reason at all
    assert any("valid reason (None)" in s for s in check_matching(people, providers, silent))


def _one(person: dict, providers: list[dict]):
    base_p = {
        "person_id": "P",
        "x": 600_000.0,
        "y": 150_000.0,
        "hours": 4.0,
        "day_mask": parse_days("Mon;Wed"),
        "services": "domestic",
        "service_mask": parse_services("domestic"),
        "max_travel_km": np.nan,
        "priority": 3,
        "needs_cover": True,
        "self_directing": True,
        "regulated_care": False,
    }
    base_v = {
        "name": "n",
        "y": 150_000.0,
        "services": "domestic",
        "service_mask": parse_services("domestic"),
        "day_mask": parse_days("Mon-Fri"),
        "capacity_hours": 20.0,
        "committed_hours": 0.0,
        "max_travel_km": 10.0,
        "cover": True,
        "cqc_registered": False,
    }
    people = pd.DataFrame([{**base_p, **person}])
    provs = pd.DataFrame(
        [
            {**base_v, "provider_id": f"V{i}", "x": 601_000.0 + 100 * i, **v}
            for i, v in enumerate(providers)
        ]
    )
    best = match(box_study(people, provs, match_time_limit_s=5)).best
    return best


def test_reasons_for_the_unmatched():
    two = [{}, {}]
    assert _one({"self_directing": False}, two).reasons[0] == "not_self_directing"
    assert (
        _one({}, [{"max_travel_km": 0.5}, {"max_travel_km": 0.5}]).reasons[0]
        == "no_provider_in_reach"
    )
    assert _one({"day_mask": parse_days("Sun")}, two).reasons[0] == "no_provider_on_days"
    assert _one({}, [{}]).reasons[0] == "no_cover"  # the only provider cannot cover itself
    assert _one({}, [{"capacity_hours": 1.0}, {}]).matches  # the second has room
    full = [{"committed_hours": 20.0}, {"committed_hours": 20.0}]
    assert _one({}, full).reasons[0] == "no_capacity"
    assert _one({"needs_cover": False}, [{}]).matches


def test_partner_and_cover_roles():
    # person needs Mon and Sat; V0 works weekdays, V1 weekends, V2 weekdays (cover for V0)
    best = _one({"day_mask": parse_days("Mon;Sat")}, [{}, {"day_mask": parse_days("weekends")}, {}])
    m = best.matches[0]
    # V1 alone works Saturday, so it must be the partner (as provider it would need a Saturday
    # cover); the provider and cover are the two weekday providers
    assert m.partner == 1 and {m.provider, m.cover} == {0, 2}
    assert m.provider_hours + m.partner_hours == pytest.approx(4.0)


def test_demo_scale_matching_beats_greedy_and_passes_the_checker(tmp_path):
    from gapmap.demo import write_demo_registers
    from gapmap.io.registers import read_people, read_providers

    p, q = write_demo_registers(tmp_path, providers=60, people=360)
    providers, people = read_providers(p), read_people(q)
    study = box_study(people, providers, match_time_limit_s=8)
    matching = match(study)
    best, greedy = matching.best, matching.greedy
    assert best.objective >= greedy.objective
    assert best.best_bound >= best.objective
    reach = eligible_pairs(study.people, study.providers)
    options = build_candidates(study.people, study.providers, reach)
    again = greedy_match(study.people, study.providers, options)
    assert again.objective == greedy.objective  # deterministic


@pytest.mark.slow  # a wall-clock check: out of the default run
def test_a_stop_is_heard_during_the_solve_of_a_small_list(tmp_path, caplog):
    """A list small enough for CP-SAT to take every way of being matched at once (no column
    generation, no search threads): asking to stop (Ctrl+C) must end that solve at once and
    keep its best matching, not wait for the time limit."""
    import time

    from gapmap.demo import write_demo_registers
    from gapmap.io.registers import read_people, read_providers

    p, q = write_demo_registers(tmp_path, providers=60, people=400)
    providers, people = read_providers(p), read_people(q)
    study = box_study(people, providers, match_time_limit_s=60)
    t = time.perf_counter()
    with caplog.at_level("INFO", logger="gapmap"):
        matching = match(study, stop=lambda: time.perf_counter() > t + 3)
    said = [r.getMessage() for r in caplog.records]  # progress goes through logging
    best, greedy = matching.best, matching.greedy
    assert time.perf_counter() - t < 15, said
    assert any("best matching among" in line for line in said)  # the whole-model solve ran
    assert best.objective >= greedy.objective
    assert check_matching(study.people, study.providers, best) == []


def test_people_left_outside_every_area_are_unmatched_with_their_reason():
    people, providers = small_instance(7)
    study = box_study(people, providers, match_time_limit_s=5, drop_outside=True)
    far = study.people.index[:3]
    moved = study.people.copy()
    moved.loc[far, "area_code"] = ""  # as placing leaves them with drop_outside
    from dataclasses import replace

    matching = match(replace(study, people=moved))
    best, greedy = matching.best, matching.greedy
    for result in (best, greedy):
        assert all(result.reasons.get(p) == "outside_areas" for p in far)


@pytest.mark.parametrize("seed", [0, 1, 3])
def test_column_generation_bound_is_the_lp_of_an_independent_formulation(seed, monkeypatch):
    """With enumeration switched off, column generation must reach the optimum of the linear
    relaxation of the reference formulation (written apart, solved by GLOP), and the integer
    matching lies between greedy and the true optimum (SCIP)."""
    import gapmap.matching.batch as batch

    monkeypatch.setattr(batch, "ENUMERATE_LIMIT", 0)
    people, providers = small_instance(500 + seed, n_people=30, n_providers=9)
    matching = match(box_study(people, providers, match_time_limit_s=20))
    best, greedy = matching.best, matching.greedy
    lp = reference_optimum(people, providers, relaxed=True)
    optimum = reference_optimum(people, providers)
    assert best.details["lp_converged"]
    assert best.best_bound == pytest.approx(lp, rel=1e-6)
    assert greedy.objective - 1e-9 <= best.objective <= optimum + 1e-9 <= lp + 1e-6


@pytest.mark.parametrize("seed", [0, 3])
def test_a_large_lists_bound_stops_close_to_the_lp_and_never_below_it(seed, monkeypatch):
    """On large lists the column generation stops once its bound is within ``CLOSE_ENOUGH`` of
    the LP's value over its patterns (the master by the interior point method, no crossover):
    the bound it reports must lie between the LP optimum of the independent formulation and
    that share above it. Here "large" is every list, and close enough is 5%."""
    import gapmap.matching.batch as batch
    import gapmap.matching.bound as bound

    monkeypatch.setattr(batch, "ENUMERATE_LIMIT", 0)
    monkeypatch.setattr(batch, "LARGE_PEOPLE", 0)
    monkeypatch.setattr(batch, "CLOSE_ENOUGH", 0.05)
    monkeypatch.setattr(bound, "LARGE_PEOPLE", 0)
    people, providers = small_instance(500 + seed, n_people=30, n_providers=9)
    best = match(box_study(people, providers, match_time_limit_s=20)).best
    lp = reference_optimum(people, providers, relaxed=True)
    assert best.details["lp_converged"]
    assert lp - 1e-6 <= best.best_bound <= lp * 1.05 + 1e-6
    assert best.objective <= reference_optimum(people, providers) + 1e-9


def _stuck_search(workers: int = 1):
    """X holds all of A's room; Q, a little less urgent, can only use A; X could use B, which
    no group of nearby providers shares with A; Z uses four providers of its own."""
    from gapmap.matching.candidates import DayClass, PersonOptions
    from gapmap.matching.patterns import class_arrays
    from gapmap.matching.result import Match
    from gapmap.matching.search import LocalSearch
    from gapmap.settings import Settings

    def person(i, priority, providers):
        cls = DayClass(days=1, missing=0, provider_hours=4.0, partner_hours=0.0,
                       providers=providers)  # fmt: skip
        return PersonOptions(i, 4.0, priority, False, [cls], dict.fromkeys(providers, 1.0))

    # A=0 and B=1 lie 100 km apart, each beside two others (2, 3 and 4, 5) used by Z
    options = [person(0, 5, [0, 1]), person(1, 4, [0]), person(2, 2, [2, 3, 4, 5])]
    xy = np.array([[0, 0], [1e5, 0], [10, 0], [20, 0], [1e5 + 10, 0], [1e5 + 20, 0]], float)
    room = np.full(6, 400, dtype=np.int64)  # four hours each
    settings = Settings(workers=workers)
    classes = {p: class_arrays(options[p], settings, room) for p in range(3)}
    weight = {p: o.priority * o.hours for p, o in enumerate(options)}
    start = {0: Match(0, -1, -1, 4.0, 0.0)}  # X at A: Q is stuck
    return LocalSearch([0, 1, 2], weight, classes, room, settings, start, options, xy,
                       stop=lambda: False)  # fmt: skip


def test_a_search_step_moves_someone_out_of_the_group_to_make_room():
    """Dropping X for Q would lose, so only a step that frees A and lets X's provider role
    move out of the group (to B, the nearest with room) matches both."""
    import time

    search = _stuck_search()
    search.run(1, time.perf_counter() + 2.0)
    result = search.result()
    assert result[1].provider == 0 and result[0].provider == 1
    assert 2 in result


def test_a_search_with_no_provider_anyone_could_use_keeps_its_start():
    """No one can use any provider: the search has no k-d tree of providers, starts no
    thread, and a step (were one drawn) has no group and nothing to choose."""
    import random
    import time

    from gapmap.matching.candidates import DayClass, PersonOptions
    from gapmap.matching.patterns import class_arrays
    from gapmap.matching.search import LocalSearch
    from gapmap.settings import Settings

    cls = DayClass(days=1, missing=0, provider_hours=4.0, partner_hours=0.0, providers=[])
    options = [PersonOptions(0, 4.0, 3, False, [cls], {})]
    room = np.full(2, 400, dtype=np.int64)
    settings = Settings(workers=1)
    classes = {0: class_arrays(options[0], settings, room)}
    search = LocalSearch([0], {0: 12.0}, classes, room, settings, {}, options, np.zeros((2, 2)),
                         stop=lambda: False)  # fmt: skip
    assert search.tree is None
    search.run(1, time.perf_counter() + 1.0)
    assert search.threads == [] and search.result() == {}
    for n in (0, 1):  # a step for someone waiting, and one around a provider
        assert search._group(random.Random(0), n) == (set(), None)
        _, decode, freed = search._model(random.Random(0), n)
        assert decode is None and freed == {}


@pytest.mark.slow  # a wall-clock check: out of the default run
def test_an_error_in_a_search_thread_stops_the_search_and_is_raised():
    """A bug in one searching thread must not leave the search quietly going on with fewer
    threads: every thread stops and the error reaches the caller."""
    import time

    search = _stuck_search(workers=2)
    build = search._model

    def failing(rng, n):
        if n == 5:
            raise RuntimeError("a bug in a step")
        return build(rng, n)

    search._model = failing
    search.run(2, time.perf_counter() + 30.0)
    t = time.perf_counter()
    with pytest.raises(RuntimeError, match="a bug in a step"):
        search.result()
    assert time.perf_counter() - t < 10  # the other thread stopped too, long before 30 s
    assert not any(thread.is_alive() for thread in search.threads)


def _search_the_lp_could_guide():
    """Q (most urgent) can only use A, with their cover at D, 200 km away; X holds all of D's
    room as a provider and could move to E, 400 km away. Each of A, D and E has two providers
    beside it, so no group of nearby providers holds two of them, and the providers Q could use
    alone are A's: only a step that frees X at D while offering Q both A and D matches Q. The
    LP's patterns: Q at A with their cover at D, X at E."""
    from gapmap.matching.candidates import DayClass, PersonOptions
    from gapmap.matching.patterns import PatternPool, class_arrays
    from gapmap.matching.result import Match
    from gapmap.matching.search import LocalSearch
    from gapmap.settings import Settings

    def person(i, priority, providers, covers, needs_cover):
        cls = DayClass(days=1, missing=0, provider_hours=4.0, partner_hours=0.0,
                       providers=providers, covers=covers)  # fmt: skip
        return PersonOptions(i, 4.0, priority, needs_cover, [cls], {})

    a, d, e = 0, 3, 6  # each beside two more (1, 2; 4, 5; 7, 8)
    # Q, X, Y (who could use E but has no cover: the steps' tie-break keeps X off E), and Z,
    # who could use the six providers beside A, D and E (so that each is in a group)
    options = [person(0, 5, [a], [d], True), person(1, 3, [d, e], [], False),
               person(2, 1, [e], [], True),
               person(3, 2, [1, 2, 4, 5, 7, 8], [], False)]  # fmt: skip
    xy = np.array([[x + dx, 0] for x in (0, 2e5, 4e5) for dx in (0, 10, 20)], float)
    room = np.full(9, 400, dtype=np.int64)
    settings = Settings(workers=1)
    classes = {p: class_arrays(options[p], settings, room) for p in range(4)}
    weight = {p: o.priority * o.hours for p, o in enumerate(options)}
    start = {1: Match(d, -1, -1, 4.0, 0.0)}  # X at D: Q's cover has no room
    search = LocalSearch([0, 1, 2, 3], weight, classes, room, settings, start, options, xy,
                         stop=lambda: False)  # fmt: skip
    pool = PatternPool()
    pool.add(0, 0, a, -1, d)
    pool.add(1, 0, e, -1, -1)
    return search, pool, (a, d, e)


def test_a_step_guided_by_the_lp_brings_together_providers_no_other_step_does():
    """Without the LP, no step can match Q: the steps drawn for Q take only A, those around a
    provider never hold both A and D (and keep X at D, away from Y's E). Told the LP's
    patterns, the guided step takes Q's LP providers and where the LP has X, moves X to E and
    matches Q at A with the cover at D."""
    import random
    import time

    from gapmap.matching.search import GUIDED

    search, pool, (a, d, e) = _search_the_lp_could_guide()
    rng = random.Random(0)
    for n in range(1, 4 * GUIDED):  # every kind of step but the guided one, as yet no LP
        search._step(rng, n, time.perf_counter() + 5.0)
    assert 0 not in search.sol and search.sol[1][1] == d
    search.guide(pool, np.array([1.0, 1.0]))
    assert search._group(random.Random(0), GUIDED) == ({a, d, e}, 0)
    gained = search._step(rng, GUIDED, time.perf_counter() + 5.0)
    assert gained == pytest.approx(search.weight[0])
    assert search.sol[0][1:] == (a, -1, d) and search.sol[1][1] == e


def test_the_lp_guides_no_step_for_someone_it_serves_less_than_half_or_already_matched():
    """The guided step draws only people the LP serves at least half and the search has not
    matched; with none, the step is drawn as any other."""
    import random

    from gapmap.matching.search import GUIDED

    search, pool, _ = _search_the_lp_could_guide()
    search.guide(pool, np.array([0.4, 1.0]))
    assert search.lp_home[0] == (pytest.approx(0.4), (0, 3))
    assert search._guided(random.Random(0)) is None  # Q: 0.4; X: matched
    group, who = search._group(random.Random(0), GUIDED)  # a step drawn for Q instead
    assert who == 0 and group == {0}


def test_beside_busy_processes_the_last_step_is_given_as_much_cpu_as_on_a_quiet_machine():
    """With at least 0.9 of its cores the last step has 5% of the time limit; with less, as
    much more as keeps its CPU time the same (half the cores: twice the seconds), never more
    than twice."""
    from gapmap.matching.batch import QUIET_SHARE, REPACK_SHARE, last_step_seconds

    assert last_step_seconds(1.0, 60.0) == pytest.approx(REPACK_SHARE * 60)
    assert last_step_seconds(QUIET_SHARE, 60.0) == pytest.approx(REPACK_SHARE * 60)
    assert last_step_seconds(QUIET_SHARE / 1.5, 60.0) == pytest.approx(1.5 * REPACK_SHARE * 60)
    assert last_step_seconds(QUIET_SHARE / 2, 120.0) == pytest.approx(2 * REPACK_SHARE * 120)
    assert last_step_seconds(0.05, 60.0) == pytest.approx(2 * REPACK_SHARE * 60)
    assert last_step_seconds(0.0, 60.0) == pytest.approx(2 * REPACK_SHARE * 60)


def test_the_search_threads_stop_when_their_end_is_brought_forward():
    """Threads started to run for two minutes stop soon after :meth:`finish_by` brings their
    end forward to a second and a half from now (the margin is a minute: not a timing test)."""
    import time

    search, _, _ = _search_the_lp_could_guide()
    began = time.perf_counter()
    search.run(2, began + 120.0)
    search.finish_by(began + 1.5)
    assert search.until == pytest.approx(began + 1.5)
    search.result()
    assert not any(t.is_alive() for t in search.threads)
    assert time.perf_counter() < began + 60.0
    assert search.steps > 0
    search.finish_by(began + 300.0)  # never later than it was
    assert search.until == pytest.approx(began + 1.5)


def test_the_last_step_moves_a_cover_to_make_room_for_someone_waiting():
    """X is matched at A with their cover at B; Q, waiting, can only use B, and X's cover
    reserve leaves B too little room. Moving X's cover to C (room for two covers) lets Q in
    at B with their cover at C: the last step over the whole matching finds it alone (no
    search step runs)."""
    import time

    from gapmap.matching.candidates import DayClass, PersonOptions
    from gapmap.matching.patterns import class_arrays
    from gapmap.matching.result import Match
    from gapmap.matching.search import LocalSearch
    from gapmap.reach import cover_reserve, load_units
    from gapmap.settings import Settings

    def person(i, priority, providers, covers):
        cls = DayClass(days=1, missing=0, provider_hours=4.0, partner_hours=0.0,
                       providers=providers, covers=covers)  # fmt: skip
        return PersonOptions(i, 4.0, priority, True, [cls], dict.fromkeys([0, 1, 2], 1.0))

    settings = Settings(workers=2)
    reserve = load_units(cover_reserve(4.0, settings.absence_rate))
    options = [person(0, 3, [0], [1, 2]), person(1, 5, [1], [2])]  # X and Q
    room = np.array([400, 400, 2 * reserve], dtype=np.int64)  # A, B, C
    xy = np.array([[0, 0], [10, 0], [20, 0]], float)
    classes = {p: class_arrays(options[p], settings, room) for p in range(2)}
    weight = {p: o.priority * o.hours for p, o in enumerate(options)}
    start = {0: Match(0, -1, 1, 4.0, 0.0)}  # X at A, cover B: Q does not fit at B
    search = LocalSearch([0, 1], weight, classes, room, settings, start, options, xy,
                         stop=lambda: False)  # fmt: skip
    search.repack(time.perf_counter() + 5.0)
    result = search.result()
    assert (result[0].provider, result[0].cover) == (0, 2)
    assert (result[1].provider, result[1].cover) == (1, 2)
    assert search.repacked == pytest.approx(weight[1])


@pytest.mark.slow
def test_ctrl_c_keeps_the_best_matching_and_a_second_leaves_without_writing(tmp_path):
    import json
    import signal
    import subprocess
    import sys
    import time

    demo = Path(__file__).resolve().parents[1] / "data" / "demo"

    def run(out, interrupts):
        proc = subprocess.Popen(
            [sys.executable, "-m", "gapmap.cli.commands", "match", "--providers",
             str(demo / "providers.csv"), "--people", str(demo / "people.csv"), "--out", str(out),
             "--time-limit", "60"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.time() + 40
        for line in proc.stderr:  # wait until it is improving on the greedy matching
            if "no matching can do better" in line or time.time() > deadline:
                break
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        if interrupts > 1:  # the second as soon as the first is acknowledged
            for line in proc.stderr:
                if "stopping" in line:
                    break
            proc.send_signal(signal.SIGINT)
        out_text, err_text = proc.communicate(timeout=60)
        return proc.returncode, out_text, err_text

    t = time.perf_counter()
    rc, printed, _ = run(tmp_path / "once", 1)
    assert rc == 0 and "Stopped early at your request" in printed
    assert time.perf_counter() - t < 45
    summary = json.loads((tmp_path / "once" / "summary.json").read_text())
    assert summary["interrupted"] is True
    rc, _, err = run(tmp_path / "twice", 2)
    assert rc == 1 and "interrupted" in err
    assert not (tmp_path / "twice").exists() or not any((tmp_path / "twice").iterdir())
