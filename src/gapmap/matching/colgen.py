r"""Batch matching by column generation: the LP bound of the full model, then integer matchings.

**Patterns.** For a person p, a *pattern* j is one whole way of matching them: a provider v, a
partner w when v does not work all of p's days, and a cover c when p needs one (SPEC.md,
"Matching"), drawn from *every* eligible provider (not only the nearest few). Pattern j puts
a load on each provider it names, in hundredths of an hour (:mod:`gapmap.reach`): ``a_j`` on
v (the hours of the days v works), ``b_j`` on w (the rest) and ``r_j`` on c (the cover
reserve, absence rate × v's hours).

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

**Integer matching.** CP-SAT then chooses at most one pattern per person from the pool
(binary λ, the same capacities), started from the better of the greedy baseline and a
rounding of the LP (people in order of their LP value, each given their largest pattern
while room lasts). On small instances every pattern is enumerated up front, so the integer
model is the full model and CP-SAT can prove the optimum.

**Distances.** Keeping the people matched in the first stage matched, a second CP-SAT model
chooses among each person's stage-1 pattern and their nearest patterns the ones that make
every journey (provider, partner and cover) as short as it can, within the same capacities.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from ..reach import cover_reserve, load_units
from ..settings import Settings
from .candidates import PersonOptions
from .result import Match

__all__ = ["PatternPool", "price_patterns", "solve_by_columns"]

#: enumerate every pattern (exact integer model) when there are at most this many
ENUMERATE_LIMIT = 60_000


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


def _classes(o: PersonOptions, settings: Settings) -> list[_Class]:
    out = []
    for k, cls in enumerate(o.classes):
        use_cover = o.needs_cover or settings.allow_without_cover
        out.append(
            _Class(
                k,
                np.asarray(cls.providers, dtype=np.int64),
                np.asarray(cls.partners if cls.missing else [], dtype=np.int64),
                np.asarray(cls.covers if use_cover else [], dtype=np.int64),
                load_units(cls.provider_hours),
                load_units(cls.partner_hours),
                load_units(cover_reserve(cls.provider_hours, settings.absence_rate)),
                settings.allow_without_cover or not o.needs_cover,
                cls.provider_hours,
                cls.partner_hours,
            )
        )
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


def _loads(pool: PatternPool, j: int, classes: dict) -> list[tuple[int, int]]:
    cls = classes[pool.person[j]][pool.k[j]]
    out = [(pool.v[j], cls.a)]
    if pool.w[j] >= 0:
        out.append((pool.w[j], cls.b))
    if pool.c[j] >= 0:
        out.append((pool.c[j], cls.r))
    return out


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

    classes = {p: _classes(options[p], settings) for p in people_idx}
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
    zero = np.zeros(len(room))
    for p in people_idx:
        for cls in classes[p]:
            cost, v, w, c = price_patterns(cls, zero)
            if v >= 0:
                pool.add(p, cls.k, v, w, c)
        g = start.get(p)
        if g is not None:
            k = next(i for i, cls in enumerate(classes[p]) if g.provider in cls.providers.tolist())
            pool.add(p, k, g.provider, g.partner, g.cover)
    if time.perf_counter() > lp_deadline or stop():
        return out_of_time()
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
    while time.perf_counter() < lp_deadline and not stop():
        if not master.solve(lp_deadline - time.perf_counter()):
            break
        iterations += 1
        alpha, pi, lp_value = master.duals(len(room))
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
        if not new:
            converged = True
            bound = min(bound, lp_value)
            break
        master.add([column(j) for j in new])
    if say is not None:
        say(
            f"  no matching can do better than {bound:,.0f} urgency-weighted hours"
            + ("" if converged else " (a loose bound: too little time to tighten it)")
            + f" [linear relaxation, {iterations} rounds, {len(pool):,} patterns]"
        )
    lp_x = master.values() if iterations else np.zeros(len(pool))
    # --- integer matching over the pool ----------------------------------------------------
    if complete:  # every pattern is in the pool: CP-SAT solves the full model itself
        hint = max((start, _round(pool, lp_x, people_idx, weight, classes, room)),
                   key=lambda s: sum(weight[p] for p in s))  # fmt: skip
        chosen, proven = _integer(
            pool, people_idx, weight, classes, room, settings, hint,
            deadline=t0 + 0.85 * (deadline - t0), say=say, complete=complete,
        )  # fmt: skip
    elif time.perf_counter() >= t0 + 0.8 * (deadline - t0) or stop():
        # no time left for the integer phase (a very large list): keep the greedy matching
        hint = chosen = dict(start)
        proven = False
    else:
        int_deadline = t0 + 0.88 * (deadline - t0)
        for p in people_idx:
            _near_patterns(pool, p, classes[p])
            if time.perf_counter() > int_deadline:
                break
        hint = _start(pool, lp_x, people_idx, weight, classes, room, options, start)
        chosen = _lns(
            pool, people_idx, weight, classes, room, settings, hint, options, provider_xy,
            deadline=int_deadline, say=say, stop=stop,
        )  # fmt: skip
        proven = False
    value = sum(weight[p] for p in chosen)
    if value < sum(weight[p] for p in hint):
        chosen, value, proven = hint, sum(weight[p] for p in hint), False
    if proven:  # CP-SAT's optimum over every pattern: the full model's optimum
        bound = value
    proven = proven or value >= bound - 1e-6
    # --- shortest journeys for the same people ----------------------------------------------
    if not stop():
        chosen = _shorten(pool, chosen, options, classes, room, settings, deadline)
    return {
        "matches": chosen,
        "objective": value,
        "bound": max(bound, value),
        "lp_converged": converged or complete,
        "proven": proven,
        "columns": len(pool),
        "iterations": iterations,
    }


def _round(pool, lp_x, people_idx, weight, classes, room) -> dict[int, Match]:
    """People in order of their LP value, each given their largest pattern while room lasts."""
    left = room.copy()
    by_person: dict[int, list[int]] = {}
    for j in np.flatnonzero(lp_x > 1e-6).tolist():
        by_person.setdefault(pool.person[j], []).append(j)
    order = sorted(by_person, key=lambda p: (-sum(lp_x[j] for j in by_person[p]) * weight[p], p))
    out: dict[int, Match] = {}
    for p in order:
        for j in sorted(by_person[p], key=lambda j: -lp_x[j]):
            if _take(pool, j, classes, left):
                out[p] = _match(pool, j, classes)
                break
    return out


def _take(pool: PatternPool, j: int, classes, left: np.ndarray) -> bool:
    """Give pattern j its room if all of it is left (``left`` is reduced in place)."""
    loads = _loads(pool, j, classes)
    if not all(left[u] >= load for u, load in loads):
        return False
    for u, load in loads:
        left[u] -= load
    return True


def _near_patterns(pool: PatternPool, p: int, classes: list[_Class]) -> None:
    """Add a person's nearest patterns (up to 4 providers × 3 partners × 2 covers a class):
    room for the local search to move people between nearby providers."""
    for cls in classes:
        ws = cls.partners[:3].tolist() if len(cls.partners) else [-1]
        cs = [] if cls.cover_optional else cls.covers[:5].tolist()
        for v in cls.providers[:4].tolist():
            for w in ws:
                if w == v:
                    continue
                if cls.cover_optional:
                    pool.add(p, cls.k, v, w, -1)
                    continue
                for c in [c for c in cs if c != v and c != w][:2]:
                    pool.add(p, cls.k, v, w, c)


def _start(pool, lp_x, people_idx, weight, classes, room, options, start) -> dict[int, Match]:
    """The better of the greedy matching and the LP's choices (each person's largest pattern
    above one half, most certain first) completed greedily from the pool."""
    left = room.astype(np.int64).copy()
    chosen: dict[int, Match] = {}
    by_person: dict[int, list[int]] = {}
    for j in np.flatnonzero(lp_x > 0.5).tolist():
        by_person.setdefault(pool.person[j], []).append(j)
    picks = sorted(((max(js, key=lambda j: lp_x[j])) for js in by_person.values()),
                   key=lambda j: -lp_x[j])  # fmt: skip
    for j in picks:
        if _take(pool, j, classes, left):
            chosen[pool.person[j]] = _match(pool, j, classes)
    per_person: dict[int, list[int]] = {}
    for j in range(len(pool)):
        per_person.setdefault(pool.person[j], []).append(j)
    for p in sorted(people_idx, key=lambda p: (-options[p].priority, options[p].hours, p)):
        if p in chosen:
            continue
        dist = options[p].distance
        for j in sorted(
            per_person.get(p, []), key=lambda j: sum(dist[u] for u, _ in _loads(pool, j, classes))
        ):
            if _take(pool, j, classes, left):
                chosen[p] = _match(pool, j, classes)
                break
    return max((start, chosen), key=lambda s: sum(weight[p] for p in s))


def _lns(pool, people_idx, weight, classes, room, settings, start, options, provider_xy, *,
         deadline, say, stop) -> dict[int, Match]:  # fmt: skip
    """Large-neighbourhood search: free the people of a few nearby providers (and the most
    urgent unmatched people who could use them), re-solve them with CP-SAT in the room the
    others leave, keep any improvement; repeat until the deadline."""
    import random

    from scipy.spatial import cKDTree

    per_person: dict[int, list[int]] = {}
    touch: dict[int, set[int]] = {}
    loads = [_loads(pool, j, classes) for j in range(len(pool))]
    for j in range(len(pool)):
        p = pool.person[j]
        per_person.setdefault(p, []).append(j)
        for u, _ in loads[j]:
            touch.setdefault(u, set()).add(p)
    index_of = {}
    for p, m in start.items():
        found = next(
            (j for j in per_person.get(p, ())
             if (pool.v[j], pool.w[j], pool.c[j]) == (m.provider, m.partner, m.cover)),
            None,
        )  # fmt: skip
        if found is not None:
            j = found
        else:
            k = next(k for k, c in enumerate(classes[p]) if m.provider in c.providers.tolist())
            j = pool.add(p, k, m.provider, m.partner, m.cover)
            per_person.setdefault(p, []).append(j)
            loads.append(_loads(pool, j, classes))
            for u, _ in loads[j]:
                touch.setdefault(u, set()).add(p)
        index_of[p] = j
    sol = dict(index_of)
    providers = sorted(touch)
    coords = provider_xy[providers]
    tree = cKDTree(coords)
    rng = random.Random(settings.seed)
    value = sum(weight[p] for p in sol)
    steps = gains = 0
    last_gain = 0
    # a local optimum: no gain in as many tries as there are providers to start from (and 50)
    patience = max(50, 2 * len(providers))
    last_say = time.perf_counter()
    while time.perf_counter() < deadline - 0.3 and not stop() and steps - last_gain < patience:
        seed = rng.randrange(len(providers))
        _, near = tree.query(coords[seed], k=min(6, len(providers)))
        group = {providers[i] for i in np.atleast_1d(near).tolist()}
        around: set[int] = set()
        for u in group:
            around |= touch.get(u, set())
        matched = {p for p in around if p in sol and any(u in group for u, _ in loads[sol[p]])}
        waiting = sorted((p for p in around if p not in sol), key=lambda p: -weight[p])[:40]
        freed = matched | set(waiting)
        if not freed:
            continue
        left = room.astype(np.int64).copy()
        for p, j in sol.items():
            if p not in freed:
                for u, load in loads[j]:
                    left[u] -= load
        model, lam = _pattern_model(
            pool, [j for p in freed for j in per_person.get(p, [])], classes, left
        )
        model.maximize(sum(var * round(100 * weight[pool.person[j]]) for j, var in lam.items()))
        for j, var in lam.items():
            model.add_hint(var, sol.get(pool.person[j]) == j)
        solver = _solver(settings, min(0.3, max(0.05, deadline - time.perf_counter() - 0.2)))
        status = solver.solve(model)
        steps += 1
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            continue
        new = sum(weight[pool.person[j]] for j, var in lam.items() if solver.value(var))
        old = sum(weight[p] for p in freed if p in sol)
        if new > old + 1e-9:
            for p in freed:
                sol.pop(p, None)
            for j, var in lam.items():
                if solver.value(var):
                    sol[pool.person[j]] = j
            value += new - old
            gains += 1
            last_gain = steps
        if say is not None and time.perf_counter() - last_say > 5:
            last_say = time.perf_counter()
            say(f"  improving: {value:,.0f} urgency-weighted hours so far ({steps} tries)")
    if say is not None:
        say(f"  improved {gains} times in {steps} tries: {value:,.0f} urgency-weighted hours")
    return {p: _match(pool, j, classes) for p, j in sol.items()}


def _match(pool: PatternPool, j: int, classes) -> Match:
    cls = classes[pool.person[j]][pool.k[j]]
    return Match(pool.v[j], pool.w[j], pool.c[j], cls.provider_hours, cls.partner_hours)


def _solver(settings: Settings, seconds: float) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    prm = solver.parameters
    prm.max_time_in_seconds = max(0.2, seconds)
    prm.num_workers = settings.workers
    prm.random_seed = settings.seed
    prm.catch_sigint_signal = False  # Ctrl+C is gapmap's to handle (stop and keep the best)
    return solver


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
             complete) -> tuple[dict[int, Match], bool]:  # fmt: skip
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
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return hint, False
    out = {}
    for j in range(len(pool)):
        if solver.value(lam[j]):
            out[pool.person[j]] = _match(pool, j, classes)
    if say is not None:
        say(f"  best matching among {len(pool):,} ways: {solver.status_name(status).lower()}")
    return out, status == cp_model.OPTIMAL and complete


def _shorten(pool, chosen, options, classes, room, settings, deadline) -> dict[int, Match]:
    """The same people matched, each journey as short as the capacities allow."""
    if time.perf_counter() > deadline - 0.3 or not chosen:
        return chosen
    near = PatternPool()
    own = {}
    for p, m in chosen.items():
        k_own = next(k for k, cls in enumerate(classes[p]) if m.provider in cls.providers.tolist())
        own[p] = near.add(p, k_own, m.provider, m.partner, m.cover)
        for cls in classes[p]:
            vs = cls.providers[:3].tolist()
            ws = cls.partners[:3].tolist() if len(cls.partners) else [-1]
            cs = cls.covers[:4].tolist()
            for v in vs:
                for w in ws:
                    if w == v:
                        continue
                    c = next((c for c in cs if c not in (v, w)), -1)
                    if c < 0 and not cls.cover_optional:
                        continue
                    near.add(p, cls.k, v, w, c)
    model, lam = _pattern_model(near, range(len(near)), classes, room, exactly_one=True)
    cost = []
    for j in range(len(near)):
        p = near.person[j]
        d = options[p].distance
        km = (
            d[near.v[j]]
            + (d[near.w[j]] if near.w[j] >= 0 else 0)
            + (d[near.c[j]] if near.c[j] >= 0 else 0)
        )
        if near.c[j] < 0 and options[p].needs_cover:
            km += settings.no_cover_penalty_km
        cost.append(lam[j] * round(km * 1000))
    model.minimize(sum(cost))
    for j in range(len(near)):
        model.add_hint(lam[j], own.get(near.person[j]) == j)
    solver = _solver(settings, deadline - time.perf_counter())
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return chosen
    return {
        near.person[j]: _match(near, j, classes) for j in range(len(near)) if solver.value(lam[j])
    }
