r"""Batch matching by column generation: the LP bound of the full model, then integer matchings.

**Patterns.** For a person p, a *pattern* j is one whole way of matching them: a provider v, a
partner w when v does not work all of p's days, and a cover c when p needs one (SPEC.md,
"Matching"), drawn from *every* eligible provider (not only the nearest few). Pattern j puts
a load on each provider it names, in hundredths of an hour (:mod:`gapmap.reach`): ``a_j`` on
v (the hours of the days v works), ``b_j`` on w (the rest) and ``r_j`` on c (the cover
reserve, absence rate × v's hours). A pattern whose load on some provider is more than that
provider's whole free room is left out: no matching can use it, and keeping it would let
the relaxation serve a person by spreading them over providers none of whom could take them
(on the Kent year-3 demo that alone made the bound 0.3% looser).

**The master problem** over a pool J of patterns, with W_p = priority(p) × hours(p):

.. math::

    \max \sum_{p, j \in J_p} W_p \lambda_{pj} \quad\text{s.t.}\quad
    \sum_{j \in J_p} \lambda_{pj} \le 1 \;(\alpha_p), \qquad
    \sum_{p, j} \mathrm{load}_u(j)\, \lambda_{pj} \le \mathrm{room}_u \;(\pi_u), \qquad
    \lambda \ge 0 \;(\text{or } \in \{0,1\}).

**Pricing.** Given the capacity duals π, the best pattern of a person in a day class k is
``min a_k π_v + b_k π_w + r_k π_c`` over v, w, c of the class with v ≠ w and c ∉ {v, w}:
the three cheapest of each list suffice, ties going to the nearest. A pattern whose reduced
cost ``W_p − α_p − (a π_v + b π_w + r π_c)`` is positive joins the pool and the LP (HiGHS,
warm-started) is solved again, until no pattern prices out or the LP's share of the time is
spent. Whatever π is, ``Σ_u π_u room_u + Σ_p max(0, max_j (W_p − cost_j(π)))`` bounds the
best matching of the *full* model from above (Lagrangian bound); at convergence it equals the
LP optimum. gapmap reports the smallest such bound.

**Integer matching.** On small instances every pattern is enumerated up front, so the
integer model is the full model and CP-SAT solves it (started from the better of the greedy
baseline and a rounding of the LP) and can prove the optimum.

On larger ones a *local search* (large-neighbourhood search) starts from the greedy matching
as soon as the candidates are known and runs beside the column generation, in background
threads (CP-SAT solves without Python's lock, so both cores are used). Each step takes a
small group G of providers (every other step, the providers an unmatched person could use,
that person drawn with odds rising with the cube of their urgency; otherwise a provider and
its nearest neighbours), frees everyone whose match touches G, offers G to the most urgent
people waiting who could use it, and lets CP-SAT choose, within the room everyone else
leaves, the best of each person's ways of being matched in G (provider or partner in G;
partner and cover in G or, nearest first, anywhere with room; and for someone freed, their
provider role moved to one of the two nearest providers outside G with room, which is what
lets a step clear room in G for someone waiting; the cover is chosen apart from the
provider and partner, so covers do not multiply the choices): first the most urgency-weighted hours,
then, among equal answers, the one that leaves free the room the most urgent people still
waiting could use. A step's answer is kept when it is at least as good and nothing it relied
on changed meanwhile. After each round of the column generation, the LP's rounding (each
person's pattern of value at least one half, most certain first, then everyone else by
urgency, each placed where it fits most tightly) replaces the search's matching if it is
better, and the search goes on from it until 80% of the time limit. Small steps, many of
them, did best: three providers, six people waiting, 0.1 s.

A last step then takes the whole matching at once (until 85% of the time limit, with CP-SAT's
own neighbourhood search on two workers): everyone matched keeps their provider and partner,
but their cover may move to any of their twelve nearest covers; the people still waiting,
most urgent first, may be matched with their three nearest providers and partners and six
nearest covers where the room left by the providers and partners alone could take them. Cover
reserves are small, so one person's cover moving elsewhere can leave exactly the room someone
waiting needs, at a provider far from any group a step would draw: at Kent year-3 scale, after
45 s of steps, it adds 0.2-0.3 points of the bound in 3 s, where the steps add under 0.1.

**Distances.** Keeping the people matched in the first stage matched, the last 15% of the
time limit makes the journeys (provider, partner and cover) short within the same
capacities, and proves how short they could be at best: :mod:`gapmap.matching.journeys`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from gapmap.matching.candidates import PersonOptions
from gapmap.matching.result import Match
from gapmap.reach import cover_reserve, load_units
from gapmap.settings import Settings

__all__ = ["PatternPool", "price_patterns", "solve_by_columns"]

#: the last step over the whole matching (:meth:`_LocalSearch.repack`): its share of the time
#: limit, each matched person's nearest covers it may move to, and at most this many choices
REPACK_SHARE = 0.05
REPACK_COVERS = 12
REPACK_MOST = 60_000
#: the share of the time limit left for the shortest journeys (:mod:`gapmap.matching.journeys`)
JOURNEYS_SHARE = 0.15
#: enumerate every pattern (exact integer model) when there are at most this many
ENUMERATE_LIMIT = 60_000
#: the local search: providers re-solved at a time, waiting people offered them, a step's
#: CP-SAT time (seconds); small steps, many of them, did best at Kent and Somerset scale
GROUP = 3
WAITING = 6
STEP_SECONDS = 0.1
#: a freed person may also move their provider role to this many providers outside the group
#: (nearest first, with room): what lets a step clear room for someone waiting
OUT = 2
#: pairs of provider and partner offered per person and day class in a step, each cover
#: chosen apart (14 ways, cover included, gave 95.9% of the bound at Kent year-3 scale over six
#: seeds; 8 pairs with the cover apart, 96.3%; Somerset's did not change)
WAYS = 8


@dataclass
class _Class:
    """One day class of one person, as arrays (nearest first)."""

    k: int
    providers: np.ndarray
    partners: np.ndarray  # empty: no partner needed
    covers: np.ndarray  # empty: no cover (not needed)
    a: int  # provider load, hundredths
    b: int  # partner load
    r: int  # cover reserve
    cover_optional: bool
    provider_hours: float
    partner_hours: float


@dataclass
class PatternPool:
    """Patterns found so far, as parallel lists; ``index`` finds a pattern already there."""

    person: list[int] = field(default_factory=list)
    k: list[int] = field(default_factory=list)
    v: list[int] = field(default_factory=list)
    w: list[int] = field(default_factory=list)
    c: list[int] = field(default_factory=list)
    index: dict = field(default_factory=dict)

    def add(self, p: int, k: int, v: int, w: int, c: int) -> int:
        """Add a pattern (if new).

        Parameters
        ----------
        p, k
            The person and their day class.
        v, w, c
            Provider, partner (-1: none) and cover (-1: none).

        Returns
        -------
        int
            The pattern's position in the pool.
        """
        key = (p, k, v, w, c)
        at = self.index.get(key)
        if at is None:
            at = self.index[key] = len(self.person)
            self.person.append(p)
            self.k.append(k)
            self.v.append(v)
            self.w.append(w)
            self.c.append(c)
        return at

    def __len__(self) -> int:
        return len(self.person)


def _classes(o: PersonOptions, settings: Settings, room: np.ndarray | None = None) -> list[_Class]:
    """A person's day classes as arrays; with ``room``, each list keeps only the providers
    whose room could take that role's load on its own (no integer matching can use the rest)."""
    out = []
    for k, cls in enumerate(o.classes):
        use_cover = o.needs_cover or settings.allow_without_cover
        a = load_units(cls.provider_hours)
        b = load_units(cls.partner_hours)
        r = load_units(cover_reserve(cls.provider_hours, settings.absence_rate))
        vs = np.asarray(cls.providers, dtype=np.int64)
        ws = np.asarray(cls.partners if cls.missing else [], dtype=np.int64)
        cs = np.asarray(cls.covers if use_cover else [], dtype=np.int64)
        if room is not None:
            vs = vs[room[vs] >= a]
            cs = cs[room[cs] >= r]
            if len(ws):
                ws = ws[room[ws] >= b]
                if not len(ws):  # a partner is needed and none could take the rest
                    vs = vs[:0]
        out.append(
            _Class(
                k, vs, ws, cs, a, b, r,
                settings.allow_without_cover or not o.needs_cover,
                cls.provider_hours,
                cls.partner_hours,
            )
        )  # fmt: skip
    return out


def _cheapest(ids: np.ndarray, price: np.ndarray, n: int = 3) -> np.ndarray:
    """The n cheapest ids by price (stable: ties keep the nearest-first order)."""
    if len(ids) <= n:
        return ids[np.argsort(price[ids], kind="stable")]
    part = np.argpartition(price[ids], n)[: n + 1]
    part = np.sort(part)  # keep nearest-first among equals
    return ids[part[np.argsort(price[ids[part]], kind="stable")]][:n]


def price_patterns(cls: _Class, pi: np.ndarray) -> tuple[float, int, int, int]:
    """The cheapest pattern of a day class at provider prices ``pi`` (per hundredth).

    Parameters
    ----------
    cls
        The class.
    pi
        Capacity duals per provider.

    Returns
    -------
    (cost, v, w, c)
        ``w`` / ``c`` are -1 when not needed; ``cost`` is inf when no whole pattern exists.
    """
    best = (math.inf, -1, -1, -1)
    # v, w and c must differ, so the cheapest whole pattern uses one of the three cheapest of
    # each list: trying every combination of those is exact
    vs = _cheapest(cls.providers, pi).tolist()
    ws = _cheapest(cls.partners, pi).tolist() if len(cls.partners) else [-1]
    # without a cover where none is needed or one may be left out (it costs nothing then)
    cs = [-1] if cls.cover_optional else _cheapest(cls.covers, pi).tolist()
    for v in vs:
        for w in ws:
            if w == v:
                continue
            base = cls.a * pi[v] + (cls.b * pi[w] if w >= 0 else 0.0)
            for c in cs:
                if c >= 0 and (c == v or c == w):
                    continue
                cost = base + (cls.r * pi[c] if c >= 0 else 0.0)
                if cost < best[0] - 1e-12:
                    best = (cost, v, w, c)
    return best


def _seed_pool(pool: PatternPool, people_idx, classes, n_providers: int) -> None:
    """The first patterns: each person's cheapest of each day class at zero prices (the
    nearest providers that fit)."""
    zero = np.zeros(n_providers)
    for p in people_idx:
        for cls in classes[p]:
            _, v, w, c = price_patterns(cls, zero)
            if v >= 0:
                pool.add(p, cls.k, v, w, c)


def _enumerate(classes: list[_Class]) -> list[tuple[int, int, int, int]]:
    """Every pattern of a person (small instances only)."""
    out = []
    for cls in classes:
        ws = cls.partners.tolist() if len(cls.partners) else [-1]
        cs = cls.covers.tolist()
        for v in cls.providers.tolist():
            for w in ws:
                if w == v:
                    continue
                out += [(cls.k, v, w, c) for c in cs if c != v and c != w]
                if cls.cover_optional:
                    out.append((cls.k, v, w, -1))
    return out


def new_highs():
    """A HiGHS instance that prints nothing (its banner goes to the process's standard output
    at construction, which is gapmap's to use; so that one moment is silenced at the file
    descriptor)."""
    import os
    import sys

    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    h.setOptionValue("output_flag", False)
    return h


def _pattern_loads(cls: _Class, v: int, w: int, c: int) -> list[tuple[int, int]]:
    """A pattern's load on each provider it names, in hundredths of an hour."""
    out = [(v, cls.a)]
    if w >= 0:
        out.append((w, cls.b))
    if c >= 0:
        out.append((c, cls.r))
    return out


def _loads(pool: PatternPool, j: int, classes: dict) -> list[tuple[int, int]]:
    cls = classes[pool.person[j]][pool.k[j]]
    return _pattern_loads(cls, pool.v[j], pool.w[j], pool.c[j])


class _Master:
    """The LP master problem in HiGHS, grown a column at a time (warm-started)."""

    def __init__(self, people: list[int], providers: np.ndarray, room: np.ndarray):
        import highspy

        self.h = h = new_highs()
        h.setOptionValue("output_flag", False)
        self.row_of_person = {p: i for i, p in enumerate(people)}
        self.row_of_provider = {int(u): len(people) + i for i, u in enumerate(providers)}
        n = len(people) + len(providers)
        inf = highspy.kHighsInf
        upper = np.concatenate([np.ones(len(people)), room[providers].astype(float)])
        h.addRows(n, np.full(n, -inf), upper, 0, np.zeros(n, np.int32), np.zeros(0, np.int32),
                  np.zeros(0))  # fmt: skip
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        if len(people) > 4000:
            # large masters: the interior point method (with crossover, for the duals) solves
            # each round three to four times faster than a warm-started simplex (Somerset scale)
            h.setOptionValue("solver", "ipm")
        self.n_cols = 0
        self.people = people
        self.providers = providers

    def add(self, cols: list[tuple[float, list[tuple[int, float]]]]) -> None:
        """Add columns ``(value, [(row, coefficient), ...])``."""
        if not cols:
            return
        import highspy

        starts: list[int] = []
        index: list[int] = []
        value: list[float] = []
        for _, entries in cols:
            starts.append(len(index))
            for row, coef in entries:
                index.append(row)
                value.append(coef)
        n = len(cols)
        self.h.addCols(
            n, np.array([c[0] for c in cols], float), np.zeros(n), np.full(n, highspy.kHighsInf),
            len(index), np.array(starts, np.int32), np.array(index, np.int32),
            np.array(value, float),
        )  # fmt: skip
        self.n_cols += n

    def solve(self, seconds: float) -> bool:
        # HiGHS's time limit counts from the instance's first run: add what it has used
        self.h.setOptionValue("time_limit", self.h.getRunTime() + max(0.05, float(seconds)))
        self.h.run()
        import highspy

        return self.h.getModelStatus() == highspy.HighsModelStatus.kOptimal

    def duals(self, n_providers_total: int) -> tuple[np.ndarray, np.ndarray, float]:
        s = self.h.getSolution()
        row_dual = np.abs(np.asarray(s.row_dual, float))
        alpha = row_dual[: len(self.people)]
        pi = np.zeros(n_providers_total)
        pi[self.providers] = row_dual[len(self.people) :]
        return alpha, pi, float(self.h.getInfo().objective_function_value)

    def values(self) -> np.ndarray:
        return np.asarray(self.h.getSolution().col_value, float)


def solve_by_columns(
    people_idx: list[int],
    options: list[PersonOptions],
    room: np.ndarray,
    settings: Settings,
    *,
    deadline: float,
    start: dict[int, Match] | None = None,
    provider_xy: np.ndarray | None = None,
    say: Callable[[str], None] | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> dict:
    """Match ``people_idx`` by column generation and CP-SAT (module docstring).

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
    say
        Progress messages.
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
        if say is not None:
            say("  no time left to improve on matching by hand within the time limit")
        return {"matches": dict(start), "objective": sum(weight[p] for p in start),
                "bound": sum(weight.values()), "lp_converged": False, "proven": False,
                "columns": 0, "iterations": 0}  # fmt: skip

    classes = {}
    for i, p in enumerate(people_idx):
        classes[p] = _classes(options[p], settings, room)
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
            for k, v, w, c in _enumerate(classes[p]):
                pool.add(p, k, v, w, c)
    _seed_pool(pool, people_idx, classes, len(room))
    for p in people_idx:
        g = start.get(p)
        if g is not None:
            k = _class_of(classes[p], g)
            pool.add(p, k, g.provider, g.partner, g.cover)
    if time.perf_counter() > lp_deadline or stop():
        return out_of_time()
    int_deadline = t0 + (1.0 - JOURNEYS_SHARE) * (deadline - t0)
    search = None
    if not complete:  # the local search starts now, beside the column generation
        search = _LocalSearch(
            people_idx, weight, classes, room, settings, start, options, provider_xy,
            say=say, stop=stop,
        )  # fmt: skip
        # the threads stop in time for the last step over the whole matching
        repack = REPACK_SHARE * (deadline - t0) if settings.workers > 1 else 0.0
        search.run(max(1, settings.workers - 1), int_deadline - repack)
    try:
        return _columns_then_integer(
            t0, deadline, lp_deadline, int_deadline, people_idx, options, room, settings, start,
            weight, classes, pool, complete, search, say, stop,
        )  # fmt: skip
    except BaseException:
        if search is not None:
            search.halt()
        raise


def _columns_then_integer(t0, deadline, lp_deadline, int_deadline, people_idx, options, room,
                          settings, start, weight, classes, pool, complete, search, say,
                          stop) -> dict:  # fmt: skip
    """The column generation, then the integer matching (:func:`solve_by_columns`)."""
    rounded: dict = {}

    def each_round(lp_x: np.ndarray, lp_value: float) -> None:
        """The search goes on from each round's rounding that could beat its best so far (at
        Somerset scale the LP takes half the time: the search need not wait for its end)."""
        rounded["rounds"] = rounded.get("rounds", 0) + 1
        if search is None or lp_value <= search.value or time.perf_counter() > lp_deadline:
            return
        rounded["at"] = rounded["rounds"]
        rounded["hint"] = _start(pool, lp_x, people_idx, weight, classes, room, options, start)
        search.offer(rounded["hint"])

    bound, iterations, converged, lp_x = _relaxation(
        people_idx, weight, classes, room, pool, lp_deadline, stop, say, each_round
    )
    if say is not None:
        say(
            f"  no matching can do better than {bound:,.0f} urgency-weighted hours"
            + ("" if converged else " (a loose bound: too little time to tighten it)")
            + f" [linear relaxation, {iterations} rounds, {len(pool):,} patterns]"
        )
    # --- integer matching over the pool ----------------------------------------------------
    if complete:  # every pattern is in the pool: CP-SAT solves the full model itself
        hint = _start(pool, lp_x, people_idx, weight, classes, room, options, start)
        chosen, proven = _integer(
            pool, people_idx, weight, classes, room, settings, hint,
            deadline=int_deadline, say=say, complete=complete, stop=stop,
        )  # fmt: skip
    else:
        # the LP's rounding, if better than the search's best so far, is searched on from
        if rounded.get("at") == iterations:
            hint = rounded["hint"]  # the last LP's, already offered
        else:
            hint = _start(pool, lp_x, people_idx, weight, classes, room, options, start)
            search.offer(hint)
        if settings.workers > 1:
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
            chosen, options, classes, room, settings, deadline, stop, say
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


def _relaxation(
    people_idx, weight, classes, room, pool, lp_deadline, stop, say=None, each_round=None
):
    """Column generation from the patterns in ``pool`` (grown in place) until no pattern
    prices out or ``lp_deadline``: (bound, rounds, converged, the LP's pattern values)."""
    said = time.perf_counter()
    used = sorted({u for j in range(len(pool)) for u, _ in _loads(pool, j, classes)})
    providers = np.array(sorted(set(used) | {int(u) for p in people_idx for cls in classes[p]
                                             for u in np.concatenate([cls.providers, cls.partners,
                                                                      cls.covers])}),
                         dtype=np.int64)  # fmt: skip
    master = _Master(people_idx, providers, room)

    def column(j: int):
        entries = [(master.row_of_person[pool.person[j]], 1.0)]
        entries += [
            (master.row_of_provider[u], float(load)) for u, load in _loads(pool, j, classes)
        ]
        return (weight[pool.person[j]], entries)

    if time.perf_counter() < lp_deadline:
        master.add([column(j) for j in range(len(pool))])
    # --- column generation -------------------------------------------------------------------
    bound = sum(weight.values())
    iterations, converged, lp_value = 0, False, 0.0
    lp_x = np.zeros(0)
    while time.perf_counter() < lp_deadline and not stop():
        if not master.solve(lp_deadline - time.perf_counter()):
            break  # out of time mid-solve: its values are not an LP solution, keep the last
        iterations += 1
        lp_x = master.values()
        alpha, pi, lp_value = master.duals(len(room))
        if each_round is not None:
            each_round(np.concatenate([lp_x, np.zeros(len(pool) - len(lp_x))]), lp_value)
        lagrange = float(pi[providers] @ room[providers])
        new = []
        for i, p in enumerate(people_idx):
            best_gain, best = 0.0, None
            for cls in classes[p]:
                cost, v, w, c = price_patterns(cls, pi)
                if v < 0:
                    continue
                gain = weight[p] - cost
                if gain > best_gain:
                    best_gain, best = gain, (cls.k, v, w, c)
            lagrange += best_gain
            if best is not None and best_gain - alpha[i] > 1e-7 * max(1.0, weight[p]):
                before = len(pool)
                j = pool.add(p, *best)
                if j == before:
                    new.append(j)
        bound = min(bound, lagrange)
        if say is not None and time.perf_counter() - said > 5:
            said = time.perf_counter()
            say(f"  working out the best possible: at most {bound:,.0f} urgency-weighted hours "
                f"so far ({iterations} rounds)")  # fmt: skip
        if not new:
            converged = True
            bound = min(bound, lp_value)
            break
        master.add([column(j) for j in new])
    # the last LP solved to its optimum (its patterns come first in the pool)
    lp_x = np.concatenate([lp_x, np.zeros(len(pool) - len(lp_x))])
    return bound, iterations, converged, lp_x


def relaxation_bound(
    options: list[PersonOptions],
    room: np.ndarray,
    settings: Settings,
    *,
    fit: bool = True,
    seconds: float = 3600.0,
) -> tuple[float, bool]:
    """The bound of the linear relaxation of the full model, by column generation alone (no
    integer matching): for benchmarks, which measure a matching against it.

    Parameters
    ----------
    options
        Every person's candidates, every eligible provider kept.
    room
        Each provider's free room in hundredths.
    settings
        ``absence_rate`` and ``allow_without_cover``.
    fit
        Leave out the patterns that could not fit in a provider's whole room (gapmap's model,
        module docstring); False keeps them (a weaker relaxation, for comparison).
    seconds
        Time allowed.

    Returns
    -------
    (float, bool)
        The bound (urgency-weighted hours) and whether the column generation converged (then
        it is the LP optimum; otherwise still a valid bound).
    """
    people_idx = [o.person for o in options if not o.reason]
    weight = {p: options[p].priority * options[p].hours for p in people_idx}
    classes = {p: _classes(options[p], settings, room if fit else None) for p in people_idx}
    pool = PatternPool()
    _seed_pool(pool, people_idx, classes, len(room))
    bound, _, converged, _ = _relaxation(
        people_idx, weight, classes, room, pool, time.perf_counter() + seconds, lambda: False
    )
    return bound, converged


def _take(pool: PatternPool, j: int, classes, left: np.ndarray) -> bool:
    """Give pattern j its room if all of it is left (``left`` is reduced in place)."""
    loads = _loads(pool, j, classes)
    if not all(left[u] >= load for u, load in loads):
        return False
    for u, load in loads:
        left[u] -= load
    return True


def _start(pool, lp_x, people_idx, weight, classes, room, options, start) -> dict[int, Match]:
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
            chosen[pool.person[j]] = _match(pool, j, classes)
    rest = sorted(
        (p for p in people_idx if p not in chosen),
        key=lambda p: (-options[p].priority, -in_lp.get(p, 0.0), -options[p].hours, p),
    )
    for p in rest:
        way = _best_fit(classes[p], left)
        if way is not None:
            k, v, w, c = way
            for u, load in _pattern_loads(classes[p][k], v, w, c):
                left[u] -= load
            cls = classes[p][k]
            chosen[p] = Match(v, w, c, cls.provider_hours, cls.partner_hours)
    return max((start, chosen), key=lambda s: sum(weight[p] for p in s))


def _best_fit(classes: list[_Class], left: np.ndarray):
    """The way of matching a person that leaves least room unused at the provider and partner
    it fills (covers: the tightest that fits), or None when nothing fits."""
    best, best_slack = None, None
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


def _class_of(classes: list[_Class], m: Match) -> int:
    """The day class a match belongs to (its provider and partner are eligible in it)."""
    for k, cls in enumerate(classes):
        if m.provider in cls.providers.tolist() and (
            m.partner < 0 or m.partner in cls.partners.tolist()
        ):
            return k
    raise ValueError("a match outside the person's classes")  # a bug, never the user's


class _LocalSearch:
    """Large-neighbourhood search over the integer matching (module docstring, "Local search").

    Each step takes a small group G of providers: every other step the providers an unmatched
    person could use (that person drawn with odds rising steeply with urgency), otherwise a
    provider and its nearest neighbours. It frees everyone whose match touches G and adds the
    most urgent waiting people who could use G; builds each freed or waiting person's ways of
    being matched in G (provider and partner in G, or the partner and cover anywhere with room
    left; a freed person's provider role may also move to a provider nearby with room); and
    lets CP-SAT choose the best of them within the room the others leave. An equal or better
    answer is kept (equal ones let the search move sideways).

    Steps run in background threads (CP-SAT solves without Python's lock, so the threads and
    the column generation share the cores); a step's answer is kept only if nothing it relied
    on changed meanwhile. :meth:`offer` swaps in a better matching found elsewhere (the LP's
    rounding of each round of the column generation).
    """

    def __init__(self, people_idx, weight, classes, room, settings, start, options,
                 provider_xy, *, say, stop):  # fmt: skip
        import threading

        from scipy.spatial import cKDTree

        self.weight, self.classes, self.room, self.settings = weight, classes, room, settings
        self.say, self.stop = say, stop
        self.urgency = {p: options[p].priority for p in people_idx}
        self.users: dict[int, list[int]] = {}
        for p in people_idx:
            for u in {u for c in classes[p] for u in c.providers.tolist() + c.partners.tolist()}:
                self.users.setdefault(u, []).append(p)
        self.hopeful = [p for p in people_idx
                        if any(len(c.providers) and (c.cover_optional or len(c.covers))
                               for c in classes[p])]  # fmt: skip
        self.providers = sorted(self.users)
        self.xy = provider_xy
        self.tree = cKDTree(provider_xy[self.providers]) if self.providers else None
        self.lock = threading.Lock()
        self.threads: list = []
        self.solvers: set = set()  # the solves under way (to halt them)
        self.halted = False
        self.failure: BaseException | None = None  # a thread's error, raised by _wait
        self.steps = self.gains = 0
        self.repacked = 0.0  # what the last step over the whole matching gained
        self.until = 0.0  # when the threads stop
        self.said = time.perf_counter()
        self._reset(start)

    # --- state (callers hold the lock) ----------------------------------------------------
    def _reset(self, matching: dict[int, Match]) -> None:
        self.left = self.room.astype(np.int64).copy()
        self.holders: dict[int, set[int]] = {}
        self.sol: dict[int, tuple[int, int, int, int]] = {}
        for p, m in matching.items():
            self._put(p, (_class_of(self.classes[p], m), m.provider, m.partner, m.cover))
        self.value = sum(self.weight[p] for p in self.sol)

    def _loads(self, p, way):
        return _pattern_loads(self.classes[p][way[0]], *way[1:])

    def _put(self, p, way):
        self.sol[p] = way
        for u, load in self._loads(p, way):
            self.left[u] -= load
            self.holders.setdefault(u, set()).add(p)

    def _free(self, p):
        for u, load in self._loads(p, self.sol.pop(p)):
            self.left[u] += load
            self.holders[u].discard(p)

    # --- the public side --------------------------------------------------------------------
    def run(self, threads: int, deadline: float) -> None:
        """Start ``threads`` more searching threads, each until ``deadline``."""
        import threading

        if not self.providers:
            return
        self.until = max(self.until, deadline)
        for _ in range(threads):
            t = threading.Thread(target=self._worker, args=(len(self.threads), deadline),
                                 daemon=True)  # fmt: skip
            self.threads.append(t)
            t.start()

    def offer(self, matching: dict[int, Match]) -> bool:
        """Search on from ``matching`` if it is better than the best so far."""
        with self.lock:
            if sum(self.weight[p] for p in matching) <= self.value + 1e-9:
                return False
            self._reset(matching)
            return True

    def halt(self) -> None:
        """Stop every thread now (their solves too) and wait for them: the process is
        leaving (a second Ctrl+C, an error), and must not leave a solver running."""
        with self.lock:
            self._halt_solves()
        for t in self.threads:
            t.join()

    def _halt_solves(self) -> None:
        """No more steps, and the solves under way stop now (callers hold the lock)."""
        self.halted = True
        for solver in self.solvers:
            solver.stop_search()

    def _wait(self) -> None:
        """Wait for the threads, saying how the search goes."""
        try:  # progress is said here, never from the threads (they may outlive a crash)
            for t in self.threads:
                while t.is_alive():
                    t.join(timeout=0.25)
                    if self.say is not None and time.perf_counter() - self.said > 5:
                        self.said = time.perf_counter()
                        self.say(f"  improving: {self.value:,.0f} urgency-weighted hours so "
                                 f"far ({self.steps} tries)")  # fmt: skip
        except BaseException:  # e.g. a second Ctrl+C while waiting
            self.halt()
            raise
        if self.failure is not None:
            raise self.failure

    def result(self) -> dict[int, Match]:
        """Wait for the threads; the best matching found."""
        self._wait()
        if self.say is not None:
            self.say(f"  improved {self.gains} times in {self.steps} tries: "
                     f"{self.value:,.0f} urgency-weighted hours")  # fmt: skip
        out = {}
        for p, (k, v, w, c) in self.sol.items():
            cls = self.classes[p][k]
            out[p] = Match(v, w, c, cls.provider_hours, cls.partner_hours)
        return out

    def repack(self, deadline: float) -> None:
        """One last step over the whole matching, once the threads have finished: everyone
        matched keeps their provider and partner, and their cover may move to any of their
        ``REPACK_COVERS`` nearest covers; in the room that frees (and any left), the people
        waiting may be matched with one of their nearest providers, partners and covers
        (module docstring). Needs two CP-SAT workers (its own large-neighbourhood search):
        with one it finds nothing in seconds, so it is skipped."""
        self._wait()
        if self.settings.workers < 2 or self.halted or self.stop() or not self.sol:
            return
        if time.perf_counter() > deadline - 0.5:
            return
        with self.lock:
            fixed = self.room.astype(np.int64).copy()  # the room covers alone may use
            for p, (k, v, w, _) in self.sol.items():
                for u, load in _pattern_loads(self.classes[p][k], v, w, -1):
                    fixed[u] -= load
            ways: dict[int, dict] = {}
            budget = REPACK_MOST
            for p, (k, v, w, c) in self.sol.items():
                cls = self.classes[p][k]
                cs = [c]
                if c >= 0 and budget > 0:
                    cs += [u for u in cls.covers[:REPACK_COVERS].tolist()
                           if u not in (v, w, c) and fixed[u] >= cls.r]  # fmt: skip
                budget -= len(cs)
                ways[p] = {k: ([(v, w)], cs)}
            waiting = sorted((p for p in self.hopeful if p not in self.sol),
                             key=lambda p: -self.urgency[p])  # fmt: skip
            for i, p in enumerate(waiting):
                if budget <= 0 or (i % 500 == 499 and time.perf_counter() > deadline - 0.5):
                    break
                mine = {}
                for cls in self.classes[p]:
                    vs = [u for u in cls.providers[:3].tolist() if fixed[u] >= cls.a]
                    ws = ([u for u in cls.partners[:3].tolist() if fixed[u] >= cls.b]
                          if len(cls.partners) else [-1])  # fmt: skip
                    cs = ([-1] if cls.cover_optional else
                          [u for u in cls.covers[:6].tolist() if fixed[u] >= cls.r])  # fmt: skip
                    pairs = [(v, w) for v in vs for w in ws if v != w]
                    if pairs and cs:
                        mine[cls.k] = (pairs, cs)
                        budget -= len(pairs) + len(cs)
                if mine:
                    ways[p] = mine
            freed = dict(self.sol)
            model, decode = self._choice_model(ways, self.room, frozenset(freed), tie_break=False)
        seconds = deadline - time.perf_counter()
        if decode is None or seconds < 0.3:
            return
        solver = _solver(self.settings, seconds, workers=max(2, self.settings.workers))
        status = _solve_stoppably(solver, model, self.stop)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return
        self.repacked = self._keep(decode(solver), freed)
        if self.say is not None and self.repacked > 0:
            self.say(f"  moving covers made room for more people: {self.repacked:+,.0f} "
                     "urgency-weighted hours")  # fmt: skip

    # --- one step ---------------------------------------------------------------------------
    def _group(self, rng, n: int):
        """A group of providers to re-solve, and the waiting person it was drawn for."""
        if n % 2 == 0:
            waiting = [p for p in self.hopeful if p not in self.sol]
            if waiting:
                who = rng.choices(waiting, weights=[self.urgency[p] ** 3 for p in waiting])[0]
                usable: set[int] = set()
                for cls in self.classes[who]:
                    usable |= set(cls.providers[:3].tolist()) | set(cls.partners[:2].tolist())
                return set(rng.sample(sorted(usable), min(len(usable), GROUP))), who
        at = self.xy[self.providers[rng.randrange(len(self.providers))]]
        _, near = self.tree.query(at, k=min(GROUP, len(self.providers)))
        return {self.providers[i] for i in np.atleast_1d(near).tolist()}, None

    def _model(self, rng, n: int):
        """One neighbourhood's CP-SAT model: (model, decode, freed), where ``decode(solver)``
        gives the ways of being matched the solver picked, or is None when there is no choice.
        """
        group, who = self._group(rng, n)
        sol = self.sol
        freed = {p: sol[p] for p in set().union(*(self.holders.get(u, set()) for u in group))}
        waiting = list({p for u in group for p in self.users.get(u, ()) if p not in sol} - {who})
        rng.shuffle(waiting)
        waiting.sort(key=lambda p: -self.urgency[p])
        people = sorted(freed) + ([who] if who is not None else []) + waiting[:WAITING]
        room_now = self.left.copy()
        for p, way in freed.items():
            for u, load in self._loads(p, way):
                room_now[u] += load
        ways = {p: _ways_in(self.classes[p], group, room_now, sol.get(p)) for p in people}
        model, decode = self._choice_model(ways, room_now)
        return model, decode, freed

    def _choice_model(self, ways: dict, room_now: np.ndarray, keep: frozenset = frozenset(),
                      *, tie_break: bool = True):  # fmt: skip
        """The CP-SAT model choosing among people's ways of being matched ``ways[p][k] =
        (pairs, covers)`` within ``room_now``; the people in ``keep`` stay matched. Returns
        (model, decode), ``decode`` None when there is nothing to choose. ``tie_break`` False
        leaves out the tie-break (for the last step, where it could overflow CP-SAT's
        integers on very long lists and there are no later steps to make easier).

        For each person and day class, a boolean per pair of provider and partner (at most one
        per person) and, apart from them, a boolean per cover (exactly one when a pair is
        picked, never the provider or partner picked): the covers do not multiply the choices,
        so a step offers more of them for fewer variables."""
        sol, weight = self.sol, self.weight
        model = cp_model.CpModel()
        pairs: list[tuple[int, int, int, int, Any]] = []  # person, class, provider, partner
        covers: list[tuple[int, int, int, Any]] = []  # person, class, cover
        per_person: dict[int, list] = {}
        per_provider: dict[int, list] = {}
        for p, by_class in ways.items():
            own = sol.get(p)
            for k, (vws, cs) in by_class.items():
                cls = self.classes[p][k]
                xs = []
                for v, w in vws:
                    x = model.new_bool_var("")
                    pairs.append((p, k, v, w, x))
                    xs.append((v, w, x))
                    per_person.setdefault(p, []).append(x)
                    for u, load in _pattern_loads(cls, v, w, -1):
                        per_provider.setdefault(u, []).append((x, load))
                    model.add_hint(x, own is not None and own[:3] == (k, v, w))
                if cs == [-1]:
                    continue
                zs = []
                for c in cs:
                    z = model.new_bool_var("")
                    covers.append((p, k, c, z))
                    zs.append(z)
                    model.add_hint(z, own is not None and own[0] == k and own[3] == c)
                    if c < 0:
                        continue
                    per_provider.setdefault(c, []).append((z, cls.r))
                    for v, w, x in xs:
                        if c in (v, w):
                            model.add_bool_or([x.Not(), z.Not()])
                model.add(sum(zs) == sum(x for _, _, x in xs))
        for p, ones in per_person.items():
            if p in keep:
                model.add_exactly_one(ones)
            else:
                model.add_at_most_one(ones)
        for u, loads in per_provider.items():
            if sum(load for _, load in loads) > room_now[u]:
                model.add(sum(x * load for x, load in loads) <= int(room_now[u]))
        # first the urgency-weighted hours; among equal answers, the one that leaves free the
        # room the most urgent people still waiting could use (each hour placed at a provider
        # costs the summed urgency of the unmatched people who could use that provider):
        # sideways moves that make later steps easier (counting those people instead of adding
        # their urgency: 0.2 points lower at Kent year-3 and 0.1 at Somerset scale; no
        # tie-break at all: 0.4 lower at Kent)
        pressure = {
            u: sum(self.urgency[q] for q in self.users.get(u, ()) if q not in sol)
            if tie_break
            else 0
            for u in per_provider
        }
        terms: list[tuple[Any, int, int]] = []  # (variable, value, tie-break cost)
        dearest: dict[tuple[int, int], int] = {}
        for p, k, v, w, x in pairs:
            pair_loads = _pattern_loads(self.classes[p][k], v, w, -1)
            cost = sum(load * pressure[u] for u, load in pair_loads) // 100
            terms.append((x, round(100 * weight[p]), cost))
            dearest[p, 0] = max(dearest.get((p, 0), 0), cost)
        for p, k, c, z in covers:
            cost = self.classes[p][k].r * pressure[c] // 100 if c >= 0 else 0
            terms.append((z, 0, cost))
            dearest[p, 1] = max(dearest.get((p, 1), 0), cost)
        # the tie-break can never outweigh a hundredth of an urgency-weighted hour: each person
        # takes at most one pair and one cover, so it is at most the sum of the dearest of each
        scale = 1 + sum(dearest.values())
        model.maximize(sum(x * (scale * value - cost) for x, value, cost in terms))

        def decode(solver) -> list[tuple[int, tuple[int, int, int, int]]]:
            picked = {p: [k, v, w, -1] for p, k, v, w, x in pairs if solver.value(x)}
            for p, _, c, z in covers:
                if solver.value(z):
                    picked[p][3] = c
            return [(p, (k, v, w, c)) for p, (k, v, w, c) in picked.items()]

        return model, (decode if pairs else None)

    def _keep(self, picked, freed) -> float:
        """Keep a step's answer ``picked`` for the ``freed`` people if it is at least as good
        and still fits (:meth:`_commit`); what it gained (0 when not kept)."""
        new = sum(self.weight[p] for p, _ in picked)
        old = sum(self.weight[p] for p in freed)
        with self.lock:
            if new >= old - 1e-9 and self._commit(picked, freed):
                self.gains += new > old + 1e-9
                self.value += new - old
                return new - old
        return 0.0

    def _commit(self, picked, freed) -> bool:
        """Replace the freed people's matches by ``picked`` if nothing they rely on changed
        meanwhile (another thread's step) and every provider's room still holds them."""
        sol = self.sol
        if any(sol.get(p) != way for p, way in freed.items()):
            return False
        if any(p in sol and p not in freed for p, _ in picked):
            return False
        need: dict[int, int] = {}
        for p, way in picked:
            for u, load in self._loads(p, way):
                need[u] = need.get(u, 0) + load
        for p, way in freed.items():
            for u, load in self._loads(p, way):
                need[u] = need.get(u, 0) - load
        if any(self.left[u] < extra for u, extra in need.items()):
            return False
        for p in freed:
            self._free(p)
        for p, way in picked:
            self._put(p, way)
        return True

    def _worker(self, index: int, deadline: float) -> None:
        """One searching thread. An error in it (a bug, never the user's) stops every thread
        and is raised again by :meth:`_wait`, so that it never silently leaves the search
        with fewer threads."""
        try:
            self._steps(index, deadline)
        except BaseException as error:
            with self.lock:
                self.failure = self.failure or error
                self._halt_solves()

    def _steps(self, index: int, deadline: float) -> None:
        import random

        rng = random.Random(self.settings.seed + 7919 * index)
        while time.perf_counter() < deadline - 0.15 and not self.stop() and not self.halted:
            with self.lock:
                n = self.steps
                self.steps += 1
                model, decode, freed = self._model(rng, n)
            if decode is None:
                continue
            seconds = min(STEP_SECONDS, deadline - time.perf_counter() - 0.1)
            solver = _solver(self.settings, seconds, workers=1)
            solver.parameters.random_seed = n
            with self.lock:
                if self.halted:
                    return
                self.solvers.add(solver)
            status = solver.solve(model)  # without the lock: threads solve side by side
            with self.lock:
                self.solvers.discard(solver)
            if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                continue
            self._keep(decode(solver), freed)


def _ways_in(classes: list[_Class], group: set[int], room: np.ndarray, own, *, most: int = WAYS):
    """A person's ways of being matched in a group of providers, by day class: the pairs of
    provider and partner (partner -1: none needed) and, chosen apart from them, the covers
    (``[-1]``: none needed). The provider (or, failing that, the partner) is in the group;
    partners and covers in the group or, nearest first, a few with room enough anywhere; for
    someone matched, the provider role also at the ``OUT`` nearest providers outside the group
    with room; plus their present match ``own``. Each provider gets a share of the ``most``
    pairs of a day class."""
    out: dict[int, tuple[list[tuple[int, int]], list[int]]] = {}
    for cls in classes:
        vs = [u for u in cls.providers.tolist() if u in group and room[u] >= cls.a]
        if len(cls.partners):
            ws = [u for u in cls.partners.tolist() if u in group and room[u] >= cls.b]
            if not vs:  # the partner in the group, the provider anywhere
                vs = [u for u in cls.providers.tolist() if room[u] >= cls.a][:2]
            else:
                ws += [u for u in cls.partners.tolist() if u not in group and room[u] >= cls.b][:2]
        else:
            ws = [-1]
        if vs and own is not None:  # a matched person may also move out of the group
            vs += [u for u in cls.providers.tolist() if u not in group and room[u] >= cls.a][:OUT]
        pairs: set[tuple[int, int]] = set()
        if vs and ws:
            per_v = max(2, most // len(vs))
            for v in vs:
                pairs.update((v, w) for w in [w for w in ws if w != v][:per_v])
        if cls.cover_optional:
            cs = [-1]
        else:
            cs = [u for u in cls.covers.tolist() if u in group and room[u] >= cls.r]
            cs += [u for u in cls.covers.tolist() if u not in group and room[u] >= cls.r][:3]
        if own is not None and own[0] == cls.k:
            pairs.add((own[1], own[2]))
            if own[3] not in cs:
                cs.append(own[3])
        if pairs and cs:
            out[cls.k] = (sorted(pairs), cs)
    return out


def _match(pool: PatternPool, j: int, classes) -> Match:
    cls = classes[pool.person[j]][pool.k[j]]
    return Match(pool.v[j], pool.w[j], pool.c[j], cls.provider_hours, cls.partner_hours)


def _solver(settings: Settings, seconds: float, workers: int | None = None) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    prm = solver.parameters
    prm.max_time_in_seconds = max(0.05 if workers == 1 else 0.2, seconds)
    prm.num_workers = workers or settings.workers
    prm.random_seed = settings.seed
    prm.catch_sigint_signal = False  # Ctrl+C is gapmap's to handle (stop and keep the best)
    return solver


def _solve_stoppably(solver: cp_model.CpSolver, model: cp_model.CpModel, stop) -> Any:
    """``solver.solve(model)`` in a helper thread, so that Ctrl+C (``stop()``) is heard at
    once and stops the solve (its best so far is kept): every solve in the calling thread
    goes through it (the search's threads stop theirs through :meth:`_LocalSearch.halt`)."""
    import threading

    out: list = []
    t = threading.Thread(target=lambda: out.append(solver.solve(model)), daemon=True)
    t.start()
    try:
        while t.is_alive():
            t.join(timeout=0.1)
            if stop():
                solver.stop_search()
    except BaseException:  # a second Ctrl+C: stop the solver before leaving
        solver.stop_search()
        t.join()
        raise
    return out[0] if out else cp_model.UNKNOWN


def _pattern_model(pool, patterns, classes, left, *, exactly_one: bool = False):
    """A CP-SAT model choosing at most (or exactly) one of each person's ``patterns`` within
    the room ``left`` of every provider: the shape of every integer step here.

    Returns
    -------
    (CpModel, dict)
        The model and each pattern's Boolean variable.
    """
    model = cp_model.CpModel()
    lam = {j: model.new_bool_var("") for j in patterns}
    per_person: dict[int, list] = {}
    per_provider: dict[int, list] = {}
    for j, var in lam.items():
        per_person.setdefault(pool.person[j], []).append(var)
        for u, load in _loads(pool, j, classes):
            per_provider.setdefault(u, []).append((var, load))
    for vs in per_person.values():
        (model.add_exactly_one if exactly_one else model.add_at_most_one)(vs)
    for u, terms in per_provider.items():
        model.add(sum(var * load for var, load in terms) <= int(left[u]))
    return model, lam


def _integer(pool, people_idx, weight, classes, room, settings, hint, *, deadline, say,
             complete, stop) -> tuple[dict[int, Match], bool]:  # fmt: skip
    model, lam = _pattern_model(pool, range(len(pool)), classes, room)
    model.maximize(sum(lam[j] * round(100 * weight[pool.person[j]]) for j in range(len(pool))))
    hinted = {}
    for p, m in hint.items():
        for k in range(len(classes[p])):
            j = pool.index.get((p, k, m.provider, m.partner, m.cover))
            if j is not None:
                hinted[j] = True
                break
    for j in range(len(pool)):
        model.add_hint(lam[j], j in hinted)
    solver = _solver(settings, deadline - time.perf_counter())
    status = _solve_stoppably(solver, model, stop)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return hint, False
    out = {}
    for j in range(len(pool)):
        if solver.value(lam[j]):
            out[pool.person[j]] = _match(pool, j, classes)
    if say is not None:
        say(f"  best matching among {len(pool):,} ways: {solver.status_name(status).lower()}")
    return out, status == cp_model.OPTIMAL and complete
