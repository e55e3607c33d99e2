r"""Batch matching: the LP bound of the full model, then integer matchings, in one time limit.

The full model and its patterns are in :mod:`gapmap.matching.patterns`; this module runs the
stages within the time limit (:func:`solve_by_columns`), each in its own module:

1. **The bound** (:mod:`gapmap.matching.bound`): column generation over the master problem,
   in the first 45% of the time limit (on lists of over 4,000 people, only until the bound is
   within 0.1% of the LP optimum); the smallest Lagrangian bound is reported.
2. **Integer matching.** On small instances (at most ``ENUMERATE_LIMIT`` patterns) every
   pattern is enumerated up front, so the integer model is the full model and CP-SAT solves
   it (:func:`gapmap.matching.cpsat.best_integer`), started from the better of the greedy
   baseline and a rounding of the LP, and can prove the optimum. On larger ones a local search
   (:mod:`gapmap.matching.search`) starts from the greedy matching as soon as the candidates
   are known and runs beside the column generation, in background threads, until 80% of the
   time limit; after each round of the column generation the LP's rounding replaces its matching
   if it is better, and the LP's patterns guide the steps drawn for people waiting (to the
   people the LP serves and the search does not). A last step over the whole matching (moving
   covers to make room for people waiting) runs until 85%: its 5% of the time limit grows, up
   to 10%, when the run has had less of the machine than a quiet one gives (below).
3. **Distances** (:mod:`gapmap.matching.journeys`): keeping the people matched in the first
   stages matched, the last 15% of the time limit makes the journeys (provider, partner and
   cover) short within the same capacities, and proves how short they could be at best.

**The last step beside busy processes** (:func:`last_step_seconds`). Beside other busy
processes CP-SAT's two workers in the last step share the cores, and it finds little in its
5%: at Somerset scale, from one state beside one busy process per core, it gained nothing in
1.5 s, 110 urgency-weighted hours in 3 s and 172 in 6 s, while the steps it replaces gain about
10 a second there (on a quiet machine: 45, 75 and 90, against about 11 a second). So when the
column generation ends, the share of the cores the run has had so far (its CPU time over the
wall time since the search began, :func:`gapmap.wallclock.cpu_share`; about 1 on a quiet
machine, about one half beside one busy process per core) sets the last step's time:
as much more as keeps its CPU time what a quiet machine gives, at most twice as much.

**The LP's rounding** (:func:`_start`): each person's pattern of value at least one half, most
certain first, while room lasts; then everyone else by urgency (the LP's favourites, then the
longest hours, first among equals), each placed where it fits most tightly (best fit). The
better of it and the greedy matching is where the integer stage starts.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from gapmap.matching.bound import CLOSE_ENOUGH, LARGE_PEOPLE, relaxation
from gapmap.matching.candidates import PersonOptions
from gapmap.matching.cpsat import best_integer
from gapmap.matching.patterns import (
    ClassArrays,
    Classes,
    PatternPool,
    Way,
    class_arrays,
    class_of,
    enumerate_patterns,
    match_of,
    pattern_loads,
    pool_loads,
    seed_pool,
)
from gapmap.matching.result import Match
from gapmap.matching.search import LocalSearch
from gapmap.settings import Settings
from gapmap.wallclock import cpu_share

log = logging.getLogger(__name__)

__all__ = ["last_step_seconds", "solve_by_columns"]

#: the last step over the whole matching (:meth:`gapmap.matching.search.LocalSearch.repack`):
#: its share of the time limit on a quiet machine, and at most this many times it beside busy
#: processes (:func:`last_step_seconds`)
REPACK_SHARE = 0.05
REPACK_STRETCH = 2.0
#: the share of its cores a run has on a quiet machine, or more (the column generation and a
#: search thread each keep one busy; measured 0.9-1.0)
QUIET_SHARE = 0.9
#: the share of the time limit left for the shortest journeys (:mod:`gapmap.matching.journeys`)
JOURNEYS_SHARE = 0.15
#: enumerate every pattern (exact integer model) when there are at most this many
ENUMERATE_LIMIT = 60_000


def solve_by_columns(
    people_idx: list[int],
    options: list[PersonOptions],
    room: np.ndarray,
    settings: Settings,
    *,
    deadline: float,
    start: dict[int, Match] | None = None,
    provider_xy: np.ndarray | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> dict:
    """Match ``people_idx``: the LP bound, then integer matchings (module docstring).

    Parameters
    ----------
    people_idx
        The people to match (with candidates: no reason set).
    options
        Every person's candidates, built with every eligible provider kept.
    room
        Each provider's free room in hundredths (:func:`gapmap.reach.room_units`).
    settings
        ``absence_rate``, ``allow_without_cover``, ``workers``, ``seed``.
    deadline
        ``time.perf_counter()`` by which to be done.
    start
        A feasible matching to start from (the greedy one).
    provider_xy
        Providers' coordinates (metres), to group nearby providers in the local search.
    stop
        Returns True when the user asked to stop (Ctrl-C): the best found so far is kept.

    Returns
    -------
    dict
        ``matches``, ``objective``, ``bound`` (the full model's bound), ``lp_converged``,
        ``proven`` (optimal for the full model), ``columns``, ``iterations``.
    """
    t0 = time.perf_counter()
    start = start or {}
    if provider_xy is None:
        provider_xy = np.zeros((len(room), 2))
    weight = {p: options[p].priority * options[p].hours for p in people_idx}
    lp_deadline = t0 + 0.45 * (deadline - t0)

    def out_of_time() -> dict:
        """A very large list and a short limit: the greedy matching, the trivial bound."""
        log.info("  no time left to improve on matching by hand within the time limit")
        return {"matches": dict(start), "objective": sum(weight[p] for p in start),
                "bound": sum(weight.values()), "lp_converged": False, "proven": False,
                "columns": 0, "iterations": 0}  # fmt: skip

    classes: Classes = {}
    for i, p in enumerate(people_idx):
        classes[p] = class_arrays(options[p], settings, room)
        if i % 2000 == 1999 and (time.perf_counter() > lp_deadline or stop()):
            return out_of_time()  # a very long list: no time even to set it out
    if time.perf_counter() > lp_deadline or stop():
        return out_of_time()
    pool = PatternPool()
    # small instances: every pattern, so the integer model is the full model
    total = sum(
        len(c.providers) * max(1, len(c.partners)) * max(1, len(c.covers) + 1)
        for p in people_idx
        for c in classes[p]
    )
    complete = total <= ENUMERATE_LIMIT
    if complete:
        for p in people_idx:
            for k, v, w, c in enumerate_patterns(classes[p]):
                pool.add(p, k, v, w, c)
    seed_pool(pool, people_idx, classes, len(room))
    for p in people_idx:
        g = start.get(p)
        if g is not None:
            k = class_of(classes[p], g)
            pool.add(p, k, g.provider, g.partner, g.cover)
    if time.perf_counter() > lp_deadline or stop():
        return out_of_time()
    int_deadline = t0 + (1.0 - JOURNEYS_SHARE) * (deadline - t0)
    search: LocalSearch | None = None
    if not complete:  # the local search starts now, beside the column generation
        search = LocalSearch(
            people_idx, weight, classes, room, settings, start, options, provider_xy,
            stop=stop,
        )  # fmt: skip
        # the threads stop in time for the last step over the whole matching
        repack = REPACK_SHARE * (deadline - t0) if settings.workers > 1 else 0.0
        search.run(max(1, settings.workers - 1), int_deadline - repack)
    try:
        return _columns_then_integer(
            t0, deadline, lp_deadline, int_deadline, people_idx, options, room, settings, start,
            weight, classes, pool, complete, search, stop,
        )  # fmt: skip
    except BaseException:
        if search is not None:
            search.halt()
        raise


def _columns_then_integer(
    t0: float,
    deadline: float,
    lp_deadline: float,
    int_deadline: float,
    people_idx: list[int],
    options: list[PersonOptions],
    room: np.ndarray,
    settings: Settings,
    start: dict[int, Match],
    weight: dict[int, float],
    classes: Classes,
    pool: PatternPool,
    complete: bool,
    search: LocalSearch | None,
    stop: Callable[[], bool],
) -> dict[str, Any]:
    """The column generation, then the integer matching (:func:`solve_by_columns`)."""
    rounded: dict[str, Any] = {}

    def each_round(lp_x: np.ndarray, lp_value: float) -> None:
        """The search goes on from each round's rounding that could beat its best so far (at
        Somerset scale the LP takes half the time: the search need not wait for its end)."""
        rounded["rounds"] = rounded.get("rounds", 0) + 1
        if search is not None:  # the LP's patterns guide some of the search's steps
            search.guide(pool, lp_x)
        if search is None or lp_value <= search.value or time.perf_counter() > lp_deadline:
            return
        rounded["at"] = rounded["rounds"]
        rounded["hint"] = _start(pool, lp_x, people_idx, weight, classes, room, options, start)
        if search.offer(rounded["hint"]):
            log.debug(f"  round {rounded['rounds']}: the LP's rounding is better than the "
                      "search's matching, which goes on from it")  # fmt: skip

    # large lists: close enough is enough (the search has the core sooner; bound.py)
    close = CLOSE_ENOUGH if search is not None and len(people_idx) > LARGE_PEOPLE else 0.0
    bound, iterations, converged, lp_x = relaxation(
        people_idx, weight, classes, room, pool, lp_deadline, stop, each_round, close
    )
    log.info(
        f"  no matching can do better than {bound:,.0f} urgency-weighted hours"
        + ("" if converged else " (a loose bound: too little time to tighten it)")
        + f" [linear relaxation, {iterations} rounds, {len(pool):,} patterns]"
    )
    # --- integer matching over the pool ----------------------------------------------------
    if complete:  # every pattern is in the pool: CP-SAT solves the full model itself
        hint = _start(pool, lp_x, people_idx, weight, classes, room, options, start)
        chosen, proven = best_integer(
            pool, weight, classes, room, settings, hint,
            deadline=int_deadline, complete=complete, stop=stop,
        )  # fmt: skip
    else:
        assert search is not None  # every instance too large to enumerate has its search
        # the LP's rounding, if better than the search's best so far, is searched on from
        if rounded.get("at") == iterations:
            hint = rounded["hint"]  # the last LP's, already offered
        else:
            hint = _start(pool, lp_x, people_idx, weight, classes, room, options, start)
            search.offer(hint)
        if settings.workers > 1:
            # beside busy processes the last step is given more time, and the threads less
            cores = min(settings.workers, os.cpu_count() or 1)
            share = cpu_share(since=search.began, cores=cores)
            last = last_step_seconds(share, deadline - t0)
            log.debug(f"  the run has had {share:.0%} of {cores} cores: {last:.1f} s for the "
                      "last step")  # fmt: skip
            search.finish_by(int_deadline - last)
            search.run(1, search.until)  # the column generation's core is free now
        search.repack(int_deadline)
        chosen = search.result()
        proven = False
    value = sum(weight[p] for p in chosen)
    if value < sum(weight[p] for p in hint):
        chosen, value, proven = hint, sum(weight[p] for p in hint), False
    if proven:  # CP-SAT's optimum over every pattern: the full model's optimum
        bound = value
    proven = proven or value >= bound - 1e-6
    # --- shortest journeys for the same people ----------------------------------------------
    from gapmap.matching.journeys import shortest_journeys

    journeys: dict = {}
    if not stop():
        chosen, journeys = shortest_journeys(
            chosen, options, classes, room, settings, deadline, stop
        )
    return {
        "journeys": journeys,
        "matches": chosen,
        "objective": value,
        "bound": max(bound, value),
        "lp_converged": converged or complete,
        "proven": proven,
        "columns": len(pool),
        "iterations": iterations,
    }


def last_step_seconds(cpu_share: float, limit: float) -> float:
    """Seconds for the last step over the whole matching (module docstring).

    Parameters
    ----------
    cpu_share
        The share of its cores the run has had so far
        (:func:`gapmap.wallclock.cpu_share`).
    limit
        The time limit, in seconds.

    Returns
    -------
    float
        ``REPACK_SHARE`` of the limit when the run has had at least ``QUIET_SHARE`` of its
        cores; with less, as much more as keeps its CPU time the same, up to
        ``REPACK_STRETCH`` times.
    """
    stretch = min(REPACK_STRETCH, max(1.0, QUIET_SHARE / max(cpu_share, 1e-3)))
    return REPACK_SHARE * limit * stretch


def _take(pool: PatternPool, j: int, classes: Classes, left: np.ndarray) -> bool:
    """Give pattern j its room if all of it is left (``left`` is reduced in place)."""
    loads = pool_loads(pool, j, classes)
    if not all(left[u] >= load for u, load in loads):
        return False
    for u, load in loads:
        left[u] -= load
    return True


def _start(
    pool: PatternPool,
    lp_x: np.ndarray,
    people_idx: list[int],
    weight: dict[int, float],
    classes: Classes,
    room: np.ndarray,
    options: list[PersonOptions],
    start: dict[int, Match],
) -> dict[int, Match]:
    """The better of the greedy matching and a rounding of the LP: each person's largest
    pattern of value at least one half, most certain first, while room lasts; then everyone
    else, most urgent first (the LP's favourites, then the longest hours, first among equals),
    each given the way that fits most tightly in what is left (best fit)."""
    left = room.astype(np.int64).copy()
    chosen: dict[int, Match] = {}
    in_lp: dict[int, float] = {}
    by_person: dict[int, list[int]] = {}
    for j in np.flatnonzero(lp_x > 1e-6).tolist():
        by_person.setdefault(pool.person[j], []).append(j)
        in_lp[pool.person[j]] = in_lp.get(pool.person[j], 0.0) + float(lp_x[j])
    picks = sorted(((max(js, key=lambda j: lp_x[j])) for js in by_person.values()),
                   key=lambda j: -lp_x[j])  # fmt: skip
    for j in picks:
        if lp_x[j] >= 0.5 and _take(pool, j, classes, left):
            chosen[pool.person[j]] = match_of(pool, j, classes)
    rest = sorted(
        (p for p in people_idx if p not in chosen),
        key=lambda p: (-options[p].priority, -in_lp.get(p, 0.0), -options[p].hours, p),
    )
    for p in rest:
        way = _best_fit(classes[p], left)
        if way is not None:
            k, v, w, c = way
            for u, load in pattern_loads(classes[p][k], v, w, c):
                left[u] -= load
            cls = classes[p][k]
            chosen[p] = Match(v, w, c, cls.provider_hours, cls.partner_hours)
    return max((start, chosen), key=lambda s: sum(weight[p] for p in s))


def _best_fit(classes: list[ClassArrays], left: np.ndarray) -> Way | None:
    """The way of matching a person that leaves least room unused at the provider and partner
    it fills (covers: the tightest that fits), or None when nothing fits."""
    best: Way | None = None
    best_slack = None
    for cls in classes:
        vs = [u for u in cls.providers.tolist() if left[u] >= cls.a]
        ws = [u for u in cls.partners.tolist() if left[u] >= cls.b] if len(cls.partners) else [-1]
        cs = [-1] if cls.cover_optional else [u for u in cls.covers.tolist() if left[u] >= cls.r]
        if not (vs and ws and cs):
            continue
        vs = sorted(vs, key=lambda u: left[u])[:3]
        ws = sorted(ws, key=lambda u: left[u])[:3] if ws[0] >= 0 else ws
        cs = sorted(cs, key=lambda u: left[u])[:3] if cs[0] >= 0 else cs
        for v in vs:
            for w in ws:
                if w == v:
                    continue
                c = next((c for c in cs if c < 0 or c not in (v, w)), None)
                if c is None:
                    continue
                slack = left[v] - cls.a + (left[w] - cls.b if w >= 0 else 0)
                if best_slack is None or slack < best_slack:
                    best, best_slack = (cls.k, v, w, c), slack
    return best
