r"""Shortest journeys for the people already matched, with a proven lower bound.

Objective (2) of SPEC.md: with the set M of people matched by objective (1) fixed, make the
sum of the distances of every named role (provider, partner and cover) as small as the
capacities allow.

**The distance LP.** Over the patterns of :mod:`gapmap.matching.patterns` (a provider, a partner
when needed, a cover when needed, every eligible provider considered) with ``km_j`` the
pattern's distances added up:

.. math::

    \min \sum_{p \in M, j \in J_p} \mathrm{km}_j \lambda_{pj} \quad\text{s.t.}\quad
    \sum_{j \in J_p} \lambda_{pj} = 1 \;(\alpha_p), \qquad
    \sum_{p, j} \mathrm{load}_u(j)\, \lambda_{pj} \le \mathrm{room}_u \;(-\mu_u), \qquad
    \lambda \ge 0.

It is solved by column generation (HiGHS, warm-started): at capacity prices μ ≥ 0, a person's
best pattern in a day class minimises ``(d_v + a μ_v) + (d_w + b μ_w) + (d_c + r μ_c)`` over
v, w, c of the class with v ≠ w and c ∉ {v, w}, and the three cheapest of each list suffice.
Whatever μ is, ``Σ_p min_j (km_j + μ·load_j) − Σ_u μ_u room_u`` is a lower bound on the km
of *any* matching of the same people (Lagrangian bound); gapmap reports the largest one found,
which at convergence is the LP optimum.

**The integer step.** Small cases (at most ``WHOLE_LIMIT`` choices of provider, partner and
cover in all) go whole to CP-SAT (:class:`_Whole`, formulation there), which proves the
shortest matching. Larger ones are shortened from the first stage's matching while the bound
(subgradient steps on the capacity prices, :mod:`gapmap.matching.distance_pricing`; the LP up
to 1,500 people; then the knapsack bound of :mod:`gapmap.matching.knapsack_bound`) is worked
out beside them in a child process (:mod:`gapmap.matching.journeys_bound`), so that the two do
not take turns at Python's lock. First *single moves* until none is left
(:meth:`_Search.polish`: relocate, reinsert, swap, push), then a large-neighbourhood search.
Each step frees up to ten people around a few providers (those
that a person far from their shortest way would rather use, such people drawn with odds rising
with how far they are from it) and lets CP-SAT choose again, within the room everyone else
leaves, each freed person's provider and partner (their nearest few, their own, and either
role moved to a provider of the group, so that people can swap places or pass room along a
chain) and, apart from them, their cover (likewise; never the provider or partner chosen).
(The LP's patterns were offered to the steps until 2026-12-07: on the Kent year-3 demo, after
8 s of a core, 9,376 km with them, 9,370 without, 9,364 with the LP's km as each person's
target; the offer went with the LP's move to its own process.) A step is kept only when it
is shorter, so the result is never longer than the first stage's; the people matched, and so
objective (1), do not change.

How near the bound it gets depends on how full the providers are: with the room packed by
objective (1) (95-97% of it at Kent year-3 and Somerset scale), the LP can share a provider's
last hours between people, which no matching can, so the bound is weak there.
Measured figures and what the gap is made of: ``docs/benchmarks.md``, "Journeys". A stronger
bound (whole rosters per provider) is :mod:`gapmap.matching.knapsack_bound`.

Why one file of some 900 lines: the stage is one algorithm whose three parts share their
pattern pool and their time: the LP gives the bound, the search runs while it is solved, and
the whole-model CP-SAT path replaces both on small cases. Apart, each would need the others'
private state.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from gapmap.matching.bound import new_highs
from gapmap.matching.candidates import PersonOptions
from gapmap.matching.patterns import ClassArrays as _Class
from gapmap.matching.patterns import PatternPool
from gapmap.matching.patterns import class_of as _class_of
from gapmap.matching.patterns import pool_loads as _loads
from gapmap.matching.result import Match
from gapmap.settings import Settings

log = logging.getLogger(__name__)

__all__ = ["shortest_journeys", "journey_figures", "distance_bound", "distance_prices"]

#: a person's nearest providers, partners and covers per day class also offered to CP-SAT
#: (8, with ``SWAP_NEAR`` 32: 1.5% fewer km at Kent year 3 and 1.6% at Somerset scale in
#: the stage's 9 s than 3 and 8, on the same first stages' matchings; docs/benchmarks.md)
NEAR = 8
#: small cases: the LP's share of the distance stage's time (the rest: CP-SAT on the whole,
#: or the search when fewer than ``CHILD_PEOPLE`` people)
LP_SHARE = 0.5
#: the search: at most this many people freed in a step, and a step's CP-SAT time (seconds)
#: (10 people: about 2,000 steps in 10 s at Kent year-3 scale; 40 people did worse)
GROUP_PEOPLE = 10
#: a swap or push looks at the people of a person's this many nearest providers of a role
#: (the single moves run once, before the steps: tried again every 100 or 400 steps they
#: gained nothing measurable at Kent year-3 scale and cost steps at Somerset's)
SWAP_NEAR = 32
#: the single moves have at most this share of the search's time (on a busy machine they
#: could take all of it at Somerset scale); 0.2, 0.4 and all of it did alike at both scales
POLISH_SHARE = 0.4
STEP_SECONDS = 0.2
#: more people than this: the LP's first solve by the interior point method
IPM_PEOPLE = 1000
#: km counted for a person not yet placed (the search from the LP's rounding)
UNPLACED = 1000.0
#: the search with at least this many people: the bound is worked out in a child process
#: beside it (:mod:`gapmap.matching.journeys_bound`); fewer: the LP first, in this one
CHILD_PEOPLE = 200
#: the whole problem goes to CP-SAT at once (which can then prove its optimum) when it has at
#: most this many role choices (each person's providers, partners and covers of every class)
WHOLE_LIMIT = 5_000


class _Priced:
    """A day class with each list's distances as arrays (for pricing)."""

    __slots__ = ("cls", "dv", "dw", "dc", "penalty")

    def __init__(self, cls: _Class, d: dict[int, float], penalty: float):
        self.cls = cls
        self.dv = np.array([d[v] for v in cls.providers.tolist()], float)
        self.dw = np.array([d[w] for w in cls.partners.tolist()], float)
        self.dc = np.array([d[c] for c in cls.covers.tolist()], float)
        self.penalty = penalty  # km counted for no cover (cover optional but needed)


def _three(ids: np.ndarray, price: np.ndarray, n: int = 3) -> list[tuple[float, int]]:
    """The n cheapest (price, id), ties to the nearest (the lists are nearest first)."""
    if len(ids) == 0:
        return []
    order = np.argsort(price, kind="stable")[:n]
    return [(float(price[i]), int(ids[i])) for i in order]


def _price(pc: _Priced, mu: np.ndarray) -> tuple[float, int, int, int]:
    """The cheapest pattern of a class at prices ``mu``: (km + priced load, v, w, c)."""
    cls = pc.cls
    vs = _three(cls.providers, pc.dv + cls.a * mu[cls.providers])
    ws = _three(cls.partners, pc.dw + cls.b * mu[cls.partners]) if len(cls.partners) else []
    if not len(cls.partners):
        ws = [(0.0, -1)]
    cs = _three(cls.covers, pc.dc + cls.r * mu[cls.covers]) if len(cls.covers) else []
    if cls.cover_optional:
        cs = cs + [(pc.penalty, -1)]
    best = (np.inf, -1, -1, -1)
    for pv, v in vs:
        for pw, w in ws:
            if w == v:
                continue
            for pcv, c in cs:
                if c >= 0 and (c == v or c == w):
                    continue
                cost = pv + pw + pcv
                if cost < best[0] - 1e-12:
                    best = (cost, v, w, c)
    return best


def _km(pool: PatternPool, j: int, options: list[PersonOptions], settings: Settings) -> float:
    p = pool.person[j]
    d = options[p].distance
    km = d[pool.v[j]]
    if pool.w[j] >= 0:
        km += d[pool.w[j]]
    if pool.c[j] >= 0:
        km += d[pool.c[j]]
    elif options[p].needs_cover:
        km += settings.no_cover_penalty_km
    return km


def _penalty(o: PersonOptions, settings: Settings) -> float:
    return settings.no_cover_penalty_km if o.needs_cover else 0.0


class _DistanceLP:
    """The distance LP in HiGHS, grown a column at a time (warm-started); then, with every
    column made integer, the integer step."""

    def __init__(self, pool, people, priced, options, settings, room):
        import highspy

        self.pool, self.people, self.priced = pool, people, priced
        self.options, self.settings, self.room = options, settings, room
        self.h = h = new_highs()
        h.setOptionValue("output_flag", False)
        self.row_of = {p: i for i, p in enumerate(people)}
        used = sorted({int(u) for p in people for pc in priced[p]
                       for u in np.concatenate([pc.cls.providers, pc.cls.partners,
                                                pc.cls.covers])})  # fmt: skip
        self.used = np.array(used, np.int64)
        self.row_u = {u: len(people) + i for i, u in enumerate(used)}
        n = len(people) + len(used)
        inf = highspy.kHighsInf
        lower = np.concatenate([np.ones(len(people)), np.full(len(used), -inf)])
        upper = np.concatenate([np.ones(len(people)), room[self.used].astype(float)])
        h.addRows(n, lower, upper, 0, np.zeros(n, np.int32), np.zeros(0, np.int32), np.zeros(0))
        h.changeObjectiveSense(highspy.ObjSense.kMinimize)
        self.classes = {p: [pc.cls for pc in priced[p]] for p in people}
        if len(people) > IPM_PEOPLE:
            # the first solve by the interior point method (2.4 times faster at Somerset scale),
            # then the simplex, warm-started from its basis
            h.setOptionValue("solver", "ipm")
        self.in_lp = 0
        self.cost: list[float] = []

    def add_columns(self) -> None:
        """Add the pool's patterns not yet in the LP."""
        import highspy

        pool, upto = self.pool, len(self.pool)
        starts: list[int] = []
        index: list[int] = []
        value: list[float] = []
        cost: list[float] = []
        for j in range(self.in_lp, upto):
            starts.append(len(index))
            index.append(self.row_of[pool.person[j]])
            value.append(1.0)
            for u, load in _loads(pool, j, self.classes):
                index.append(self.row_u[u])
                value.append(float(load))
            cost.append(_km(pool, j, self.options, self.settings))
        k = upto - self.in_lp
        if k:
            self.h.addCols(k, np.array(cost, float), np.zeros(k), np.full(k, highspy.kHighsInf),
                           len(index), np.array(starts, np.int32), np.array(index, np.int32),
                           np.array(value, float))  # fmt: skip
        self.cost += cost
        self.in_lp = upto

    def run(self, deadline: float, stop) -> bool:
        """Solve (LP or MIP) until ``deadline`` in a helper thread, so that a stop is heard."""
        import highspy

        h = self.h
        h.setOptionValue("time_limit", h.getRunTime() + max(0.05, deadline - time.perf_counter()))
        t = threading.Thread(target=h.run, daemon=True)
        t.start()
        while t.is_alive():
            t.join(timeout=0.1)
            if stop():
                h.cancelSolve()
                t.join()
        return h.getModelStatus() == highspy.HighsModelStatus.kOptimal

    def columns(self, deadline: float, stop, each=None) -> tuple[float, bool, int]:
        """Column generation until no pattern prices out: (bound, converged, rounds);
        ``each(bound, rounds)`` is called after each round not the last."""
        self.add_columns()
        pool, people, room, used = self.pool, self.people, self.room, self.used
        # at zero prices: every person on their shortest pattern, room or not (a bound too)
        zero = np.zeros(len(room))
        bound = sum(min(_price(pc, zero)[0] for pc in self.priced[p]) for p in people)
        converged, rounds = False, 0
        while time.perf_counter() < deadline and not stop():
            if not self.run(deadline, stop):
                break
            if rounds == 0:
                self.h.setOptionValue("solver", "simplex")
            rounds += 1
            dual = np.asarray(self.h.getSolution().row_dual, float)
            alpha = dual[: len(people)]
            mu = np.zeros(len(room))
            mu[used] = np.maximum(0.0, -dual[len(people) :])
            lagrange = -float(mu[used] @ room[used])
            before = len(pool)
            for i, p in enumerate(people):
                best = (np.inf, -1, -1, -1, -1)
                for pc in self.priced[p]:
                    cost, v, w, c = _price(pc, mu)
                    if cost < best[0]:
                        best = (cost, pc.cls.k, v, w, c)
                lagrange += best[0]
                if best[0] - alpha[i] < -1e-7 and best[2] >= 0:
                    pool.add(p, *best[1:])
            bound = max(bound, lagrange)
            if each is not None and len(pool) > before:
                each(bound, rounds)
            if len(pool) == before:
                converged = True
                bound = max(bound, float(self.h.getInfo().objective_function_value))
                break
            self.add_columns()
        return bound, converged, rounds

    def values(self) -> np.ndarray:
        """The last LP's pattern values (zeros for patterns added since)."""
        x = np.asarray(self.h.getSolution().col_value, float)
        return np.concatenate([x, np.zeros(max(0, len(self.pool) - len(x)))])


def shortest_journeys(
    chosen: dict[int, Match],
    options: list[PersonOptions],
    classes: dict[int, list[_Class]],
    room: np.ndarray,
    settings: Settings,
    deadline: float,
    stop: Callable[[], bool] = lambda: False,
    *,
    whole_limit: int = WHOLE_LIMIT,
    child_people: int = CHILD_PEOPLE,
) -> tuple[dict[int, Match], dict]:
    """The same people matched, journeys as short as the capacities allow (module docstring).

    Parameters
    ----------
    chosen
        The matching of objective (1); the same people stay matched.
    options
        Every person's candidates (their distances).
    classes
        Each matched person's day classes
        (:func:`gapmap.matching.patterns.class_arrays`, with room).
    room
        Each provider's free room in hundredths.
    settings
        ``no_cover_penalty_km``, ``workers``, ``seed``.
    deadline
        ``time.perf_counter()`` by which to be done.
    stop
        Returns True when the user asked to stop.
    whole_limit
        At most this many role choices in all: CP-SAT on the whole problem; more: the search.
    child_people
        The search with at least this many people: the bound in a child process beside it.

    Returns
    -------
    (dict, dict)
        The matching, and ``bound_km`` (a lower bound on the km of any matching of the same
        people; at worst each person's shortest way, room or not), ``bound_converged``,
        ``lp_rounds``, ``patterns``, ``status`` of the search, ``start_km`` (the first
        stage's km), ``seconds`` (the stage's), ``proven`` (small cases: optimal).
    """
    t0 = time.perf_counter()
    info: dict = {"bound_km": None, "bound_converged": False, "lp_rounds": 0, "patterns": 0,
                  "status": "not run"}  # fmt: skip
    info["start_km"] = journey_figures(chosen, options)["km_total"]
    if t0 > deadline - 0.3 or not chosen or stop():
        return chosen, info
    people = sorted(chosen)
    pool = PatternPool()
    own = {}
    priced = {}
    for p in people:
        m = chosen[p]
        own[p] = pool.add(p, _class_of(classes[p], m), m.provider, m.partner, m.cover)
        priced[p] = [_Priced(cls, options[p].distance, _penalty(options[p], settings))
                     for cls in classes[p]]  # fmt: skip
    # each person's nearest patterns (distance alone), then the LP's
    zero = np.zeros(len(room))
    for p in people:
        for pc in priced[p]:
            _, v, w, c = _price(pc, zero)
            if v >= 0:
                pool.add(p, pc.cls.k, v, w, c)
    start = {p: (pool.k[j], pool.v[j], pool.w[j], pool.c[j]) for p, j in own.items()}
    whole = _Whole(people, options, classes, room, settings)
    if whole.size <= whole_limit:  # small: the LP, then CP-SAT over every choice
        lp = _DistanceLP(pool, people, priced, options, settings, room)
        bound, converged, rounds = lp.columns(t0 + LP_SHARE * (deadline - t0), stop)
        _said(info, bound, converged, rounds, len(pool))
        if time.perf_counter() > deadline - 0.2 or stop():
            return chosen, info
        ways, proven, low = whole.solve(start, deadline, stop)
        if proven or low > bound:
            bound = max(bound, low)
            info.update(bound_km=float(bound), bound_converged=converged or proven)
        info.update(status="optimal" if proven else "the best CP-SAT found", proven=proven,
                    seconds=round(time.perf_counter() - t0, 2))  # fmt: skip
        return _as_matches(chosen, ways, lp.classes, room), info
    # larger: the search, from the first stage's matching. Beside it, in a process of its own
    # (so that neither waits for the other at Python's lock), the bound: the LP, then the
    # knapsack bound (:mod:`gapmap.matching.journeys_bound`); for fewer people than
    # ``child_people`` the LP first, here (a child's start, about a second, would cost more)
    search = _Search(people, options, classes, room, start, settings)
    child = None
    if len(people) >= child_people:
        from gapmap.matching import journeys_bound

        try:
            child = journeys_bound.start(chosen, options, room, settings, deadline)
        except OSError as e:  # no process could be started: the LP here, as for fewer people
            log.info(f"  journeys: the bound is worked out here ({e})")
    if child is not None:
        search.run(deadline, stop)
        got = child.result(stop=stop())
    else:
        lp = _DistanceLP(pool, people, priced, options, settings, room)
        t = time.perf_counter()
        bound, converged, rounds = lp.columns(t0 + LP_SHARE * (deadline - t0), stop)
        got = {"bound_km": bound, "bound_converged": converged, "lp_rounds": rounds,
               "patterns": len(pool), "lp_seconds": round(time.perf_counter() - t, 2),
               "bound_method": "distance LP"}  # fmt: skip
        search.run(deadline, stop)
    bound = max(float(got["bound_km"]), search.floor())
    _said(info, bound, bool(got["bound_converged"]), int(got["lp_rounds"]), int(got["patterns"]))
    info.update(status=f"{search.moves} single moves, {search.steps} steps, {search.kept} kept",
                steps=search.steps, moves=search.moves,
                lp_seconds=got.get("lp_seconds"), seconds=round(time.perf_counter() - t0, 2),
                proven=False, lp_error=got.get("lp_error"),
                bound_method=got.get("bound_method") or "shortest ways")  # fmt: skip
    return _as_matches(chosen, search.cur, classes, room), info


def _said(info: dict, bound: float, converged: bool, rounds: int, patterns: int) -> None:
    info.update(bound_km=float(bound), bound_converged=converged, lp_rounds=rounds,
                patterns=patterns)  # fmt: skip
    log.info(f"  journeys: no matching of the same people can travel less than {bound:,.0f} km"
        + ("" if converged else " (a loose bound: too little time to tighten it)"))  # fmt: skip


def _as_matches(chosen: dict[int, Match], ways: dict, classes: dict, room: np.ndarray) -> dict:
    """The ways as matches; the first stage's matching if they broke a room (a bug)."""
    out = {}
    for p, (k, v, w, c) in ways.items():
        cls = classes[p][k]
        out[p] = Match(v, w, c, cls.provider_hours, cls.partner_hours)
    if not _fits_matches(out, classes, ways, room):
        return chosen
    return out


def _fits_matches(out, classes, ways, room: np.ndarray) -> bool:
    """Do the ways fit in every provider's room (checked here, not trusted)?"""
    load = np.zeros(len(room), np.int64)
    for p, (k, v, w, c) in ways.items():
        cls = classes[p][k]
        load[v] += cls.a
        if w >= 0:
            load[w] += cls.b
        if c >= 0:
            load[c] += cls.r
    return bool((load <= room).all()) and set(out) == set(ways)


_Sum = cp_model.LinearExpr.sum
_Weighted = cp_model.LinearExpr.weighted_sum


class _StepModel(cp_model.CpModel):
    """A CP-SAT model for one step of the search, without the camelCase aliases OR-Tools adds
    to every new model (about 2 ms each, a seventh of a step at Kent year-3 scale; gapmap does
    not use them)."""

    def _add_pre_pep8_methods(self) -> None:
        pass


class _Search:
    """Large-neighbourhood search on km. Each step frees the people around a few providers
    (those a person far from their shortest way would rather use) and lets CP-SAT choose
    again, within the room everyone else leaves, each freed person's provider and partner
    (their nearest few, their own, and either role moved to a provider of the group) and,
    apart from them, their cover (their nearest few, their own, those of the group; never the
    provider or partner chosen); the
    answer is kept when it is shorter. Choosing the cover apart keeps the choices few."""

    def __init__(self, people, options, classes, room, start, settings):
        self.options, self.classes, self.room = options, classes, room
        self.settings = settings
        self.people = people
        self.cur: dict[int, tuple[int, int, int, int]] = {}
        self.left = room.astype(np.int64).copy()
        self.at: dict[int, set[int]] = {}  # provider -> people whose way names it
        self.pairs: dict[int, dict[int, list[tuple[int, int]]]] = {}
        self.covers: dict[int, dict[int, list[int]]] = {}
        for p in people:
            d = options[p].distance
            self.pairs[p], self.covers[p] = {}, {}
            for cls in classes[p]:
                ws = cls.partners[:NEAR].tolist() if len(cls.partners) else [-1]
                prs = {(v, w) for v in cls.providers[: NEAR + 1].tolist() for w in ws if v != w}
                self.pairs[p][cls.k] = sorted(prs, key=lambda t: d[t[0]] + d.get(t[1], 0.0))
                self.covers[p][cls.k] = cls.covers[: NEAR * 2 + 2].tolist()
        for p, (k, v, w, c) in start.items():
            self._offer(p, k, v, w, c)
            self._put(p, (k, v, w, c))
        self.km = {p: self._km(p, self.cur[p]) if p in self.cur else UNPLACED for p in people}
        self.shortest = {p: min(self._km(p, (k, *vw, self._nearest_cover(p, k, *vw)))
                                for k, vws in self.pairs[p].items() for vw in vws)
                         for p in people}  # fmt: skip
        self.steps = self.kept = self.moves = 0
        self._sets: dict[tuple[int, int], tuple[set, set, set]] = {}

    def _offer(self, p, k, v, w, c) -> None:
        if (v, w) not in self.pairs[p].setdefault(k, []):
            self.pairs[p][k].append((v, w))
        cs = self.covers[p].setdefault(k, [])
        if c >= 0 and c not in cs:
            cs.append(c)

    def _nearest_cover(self, p, k, v, w) -> int:
        return next((c for c in self.covers[p][k] if c not in (v, w)), -1)

    def _km(self, p, way) -> float:
        d = self.options[p].distance
        k, v, w, c = way
        km = d[v] + (d[w] if w >= 0 else 0.0) + (d[c] if c >= 0 else 0.0)
        if c < 0 and self.options[p].needs_cover:
            km += self.settings.no_cover_penalty_km
        return km

    def _loads(self, p, way):
        k, v, w, c = way
        cls = self.classes[p][k]
        out = [(v, cls.a)]
        if w >= 0:
            out.append((w, cls.b))
        if c >= 0:
            out.append((c, cls.r))
        return out

    def _put(self, p: int, way) -> None:
        if way is None:
            self.cur.pop(p, None)
            return
        self.cur[p] = way
        for u, load in self._loads(p, way):
            self.left[u] -= load
            self.at.setdefault(u, set()).add(p)

    def _free(self, p: int) -> None:
        if p not in self.cur:
            return
        for u, load in self._loads(p, self.cur[p]):
            self.left[u] += load
            self.at[u].discard(p)

    def run(self, deadline: float, stop) -> None:
        rng = np.random.default_rng(self.settings.seed)
        people = self.people
        at = {p: i for i, p in enumerate(people)}
        now = time.perf_counter()
        self.moves += self.polish(now + POLISH_SHARE * (deadline - now), stop)
        # how far each person is from their shortest way, kept up to date step by step
        regret = np.maximum(0.0, np.array([self.km[p] - self.shortest[p] for p in people]))
        while time.perf_counter() < deadline - 0.05 and not stop():
            total = regret.sum()
            if total <= 1e-6:
                break
            seed = people[int(rng.choice(len(people), p=regret / total))]
            group = {u for u, _ in self._loads(seed, self.cur[seed])} if seed in self.cur else set()
            for k, vws in self.pairs[seed].items():
                for v, w in vws[:2]:
                    group |= {v, w} - {-1}
                group |= set(self.covers[seed][k][:2])
            freed: set[int] = set()
            for u in group:
                freed |= self.at.get(u, set())
            freed.discard(seed)
            freed_l = sorted(freed)
            if len(freed_l) >= GROUP_PEOPLE:  # the ones with most to gain, by lot
                odds = np.array([regret[at[p]] for p in freed_l]) + 1e-3
                keep = rng.choice(len(freed_l), GROUP_PEOPLE - 1, replace=False,
                                  p=odds / odds.sum())  # fmt: skip
                freed_l = [freed_l[i] for i in keep]
            freed_l = sorted(set(freed_l) | {seed})
            before = {p: self.cur.get(p) for p in freed_l}
            for p in freed_l:
                self._free(p)
            picked = self._step(cp_model, freed_l, before, deadline, group)
            self.steps += 1
            if (
                picked is not None
                and sum(self._cost(p, picked.get(p)) for p in freed_l)
                < sum(self.km[p] for p in freed_l) - 1e-6
            ):
                self.kept += 1
            else:
                picked = before
            for p in freed_l:
                self._put(p, picked.get(p))
                self.km[p] = self._cost(p, picked.get(p))
                regret[at[p]] = max(0.0, self.km[p] - self.shortest[p])

    # --- moves one at a time, before the steps ---------------------------------------------
    def _role_set(self, p: int, k: int, role: int) -> set[int]:
        """The providers that may take role ``role`` (1 provider, 2 partner, 3 cover) of
        person p's day class k."""
        key = (p, k)
        sets = self._sets.get(key)
        if sets is None:
            cls = self.classes[p][k]
            sets = self._sets[key] = (
                set(cls.providers.tolist()), set(cls.partners.tolist()), set(cls.covers.tolist())
            )  # fmt: skip
        return sets[role - 1]

    def _set(self, p: int, way) -> None:
        self._free(p)
        self._put(p, way)
        self.km[p] = self._cost(p, way)

    def polish(self, deadline: float, stop) -> int:
        """Single moves until none is left (or the time is up): a person's cover, partner or
        provider moved to a nearer one with room for it (*relocate*), their whole way chosen
        again in any day class within the room left (*reinsert*), or a role exchanged with the
        same or another role of someone at a nearer provider when both fit and the two
        journeys together shorten (*swap*), or moved there while that someone's role moves on
        to a provider with room (*push*). Each move keeps every rule of a way (the role's
        list of its day class, three different providers) and every room. On the first
        stage's matchings of the Kent year-3 and Somerset demos (10,403 and 25,380 km) they
        alone give 9,643 and 21,996 km in 0.4 and 3.4 s of a core; with the steps after them,
        for 8 s in all, about 9,200 and 21,800-22,000 km, where the steps alone gave
        9,226-9,387 and 23,269-23,445 (the steps then look for what needs several people to
        move at once). Measured 2026-12-07, load 3-4.

        Returns
        -------
        int
            The moves made.
        """
        moved, last = 0, -1
        while moved != last and time.perf_counter() < deadline and not stop():
            last = moved
            order = sorted(self.cur, key=lambda q: self.shortest[q] - self.km[q])
            for p in order:
                moved += self._relocate(p)
            for p in order:
                moved += self._reinsert(p)
            for p in order:
                if time.perf_counter() > deadline:
                    break
                moved += self._swap(p)
            for p in order:
                if time.perf_counter() > deadline:
                    break
                moved += self._push(p)
        return moved

    def _push(self, p: int) -> int:
        """p's role to a nearer provider u, and someone's role at u on to a provider with
        room for it, when the two journeys together shorten."""
        d = self.options[p].distance
        for role, ids, load in self._lists(p, self.cur[p]):
            way = self.cur[p]
            now = way[role]
            if now < 0:
                continue
            for u in ids[:SWAP_NEAR].tolist():
                if d[u] >= d[now] - 1e-9:
                    break
                if u in way[1:]:
                    continue
                gain0 = d[now] - d[u]
                for q in list(self.at.get(u, ())):
                    if q == p:
                        continue
                    wq = self.cur[q]
                    dq = self.options[q].distance
                    for rq, ids_q, lq in self._lists(q, wq):
                        if wq[rq] != u or self.left[u] + lq - load < 0:
                            continue
                        for u2 in ids_q.tolist():
                            if gain0 + dq[u] - dq[u2] <= 1e-9:
                                break  # nearest first: the rest are farther still
                            if u2 in wq[1:] or u2 == now or self.left[u2] < lq:
                                continue
                            new_q = list(wq)
                            new_q[rq] = u2
                            self._set(q, tuple(new_q))
                            new_p = list(self.cur[p])
                            new_p[role] = u
                            self._set(p, tuple(new_p))
                            return 1
        return 0

    def _lists(self, p: int, way) -> list[tuple[int, np.ndarray, int]]:
        cls = self.classes[p][way[0]]
        return [(3, cls.covers, cls.r), (2, cls.partners, cls.b), (1, cls.providers, cls.a)]

    def _reinsert(self, p: int) -> int:
        """p's whole way chosen again (any day class) within the room the others leave: the
        nearest that fit of each list, combined under the rules of a way."""
        was = self.cur[p]
        self._free(p)
        best, best_km = was, self.km[p] - 1e-9
        for k, cls in enumerate(self.classes[p]):
            if not len(cls.providers):
                continue
            vs = [u for u in cls.providers.tolist() if self.left[u] >= cls.a][:3]
            ws = ([u for u in cls.partners.tolist() if self.left[u] >= cls.b][:3]
                  if len(cls.partners) else [-1])  # fmt: skip
            need_c = len(cls.covers) > 0 and (self.options[p].needs_cover or not cls.cover_optional)
            cs = [u for u in cls.covers.tolist() if self.left[u] >= cls.r][:3] if need_c else []
            if cls.cover_optional or not need_c:
                cs.append(-1)
            for v in vs:
                for w in ws:
                    if w == v:
                        continue
                    for c in cs:
                        if c >= 0 and c in (v, w):
                            continue
                        km = self._km(p, (k, v, w, c))
                        if km < best_km:
                            best, best_km = (k, v, w, c), km
        self._put(p, best)
        self.km[p] = self._cost(p, best)
        return int(best != was)

    def _relocate(self, p: int) -> int:
        d = self.options[p].distance
        moved = 0
        for role, ids, load in self._lists(p, self.cur[p]):
            way = self.cur[p]
            now = way[role]
            if now < 0:
                continue
            for u in ids.tolist():
                if d[u] >= d[now] - 1e-9:
                    break  # nearest first: no nearer one left
                if u not in way[1:] and self.left[u] >= load:
                    new = list(way)
                    new[role] = u
                    self._set(p, tuple(new))
                    moved += 1
                    break
        return moved

    def _swap(self, p: int) -> int:
        d = self.options[p].distance
        for role, ids, load in self._lists(p, self.cur[p]):
            way = self.cur[p]
            now = way[role]
            if now < 0:
                continue
            for u in ids[:SWAP_NEAR].tolist():
                if d[u] >= d[now] - 1e-9:
                    break
                if u in way[1:]:
                    continue
                for q in list(self.at.get(u, ())):
                    if q != p and self._swap_with(p, role, load, now, u, q):
                        return 1
        return 0

    def _swap_with(self, p, role, load, now, u, q) -> bool:
        """p's role moves from ``now`` to u, and q's role at u to ``now``, if that is allowed,
        fits and is shorter."""
        dq = self.options[q].distance
        gain0 = self.options[p].distance[now] - self.options[p].distance[u]
        wq = self.cur[q]
        cls_q = self.classes[q][wq[0]]
        for rq, lq in ((1, cls_q.a), (2, cls_q.b), (3, cls_q.r)):
            if wq[rq] != u or now in wq[1:] or now not in self._role_set(q, wq[0], rq):
                continue
            if self.left[u] + lq - load < 0 or self.left[now] + load - lq < 0:
                continue
            if gain0 + dq[u] - dq[now] <= 1e-9:
                continue
            new_p = list(self.cur[p])
            new_p[role] = u
            new_q = list(wq)
            new_q[rq] = now
            self._set(p, tuple(new_p))  # u over-full for a moment: q leaves it next
            self._set(q, tuple(new_q))
            return True
        return False

    def _cost(self, p, way) -> float:
        return UNPLACED if way is None else self._km(p, way)

    def unplaced(self) -> int:
        """People without a way (only when started from the LP's rounding)."""
        return len(self.people) - len(self.cur)

    def total(self) -> float:
        return float(sum(self.km.values()))

    def floor(self) -> float:
        """Every person's shortest way, room or not: a lower bound (the weakest)."""
        return float(sum(self.shortest.values()))

    def _in_group(self, p: int, k: int, group: set[int], own) -> tuple[list, list]:
        """A freed person's extra ways in a step: their provider or partner role moved to a
        provider of the group (the others kept, or their nearest), their cover to one of the
        group; so people can swap places or pass room along a chain within the group."""
        key = (p, k)
        sets = self._sets.get(key)
        cls = self.classes[p][k]
        if sets is None:
            sets = self._sets[key] = (
                set(cls.providers.tolist()), set(cls.partners.tolist()), set(cls.covers.tolist())
            )  # fmt: skip
        vs_in = [u for u in group if u in sets[0]]
        ws_in = [u for u in group if u in sets[1]]
        cs_in = [u for u in group if u in sets[2]]
        mine = own is not None and own[0] == k
        near_w = cls.partners[:NEAR].tolist() if len(cls.partners) else [-1]
        ws = list(dict.fromkeys(([own[2]] if mine else []) + near_w))
        vs = list(dict.fromkeys(([own[1]] if mine else []) + cls.providers[:NEAR].tolist()))
        pairs = [(v, w) for v in vs_in for w in ws if v != w]
        pairs += [(v, w) for w in ws_in for v in vs if v != w]
        return pairs, cs_in

    def _step(self, cp_model, freed, before, deadline, group=frozenset()):
        """CP-SAT's shortest choice for the freed people (None if it found none)."""
        model = _StepModel()
        left = self.left
        per_u: dict[int, list] = {}
        pairs, covers = [], []
        cost: list[tuple[Any, int]] = []
        for p in freed:
            d = self.options[p].distance
            own = before[p]
            xs_p = []
            for k, vws in self.pairs[p].items():
                cls = self.classes[p][k]
                xs = []
                more_pairs, more_covers = self._in_group(p, k, group, own) if group else ([], [])
                for v, w in dict.fromkeys(vws + more_pairs):
                    if left[v] < cls.a or (w >= 0 and left[w] < cls.b):
                        continue
                    x = model.new_bool_var("")
                    xs.append((v, w, x))
                    pairs.append((p, k, v, w, x))
                    per_u.setdefault(v, []).append((x, cls.a))
                    if w >= 0:
                        per_u.setdefault(w, []).append((x, cls.b))
                    cost.append((x, round(1000 * (d[v] + (d[w] if w >= 0 else 0.0)))))
                    if own is not None and own[:3] == (k, v, w):
                        model.add_hint(x, True)
                if not xs:
                    continue
                xs_p += [x for _, _, x in xs]
                use_cover = len(cls.covers) > 0 and (
                    self.options[p].needs_cover or not cls.cover_optional
                )
                if not use_cover:
                    continue
                zs = []
                for c in dict.fromkeys(self.covers[p][k] + more_covers):
                    if left[c] < cls.r:
                        continue
                    z = model.new_bool_var("")
                    zs.append(z)
                    covers.append((p, k, c, z))
                    per_u.setdefault(c, []).append((z, cls.r))
                    cost.append((z, round(1000 * d[c])))
                    if own is not None and own[0] == k and own[3] == c:
                        model.add_hint(z, True)
                    for v, w, x in xs:
                        if c in (v, w):
                            model.add_bool_or([x.Not(), z.Not()])
                if cls.cover_optional:
                    z = model.new_bool_var("")
                    zs.append(z)
                    covers.append((p, k, -1, z))
                    cost.append((z, round(1000 * self.settings.no_cover_penalty_km)))
                    if own is not None and own[0] == k and own[3] < 0:
                        model.add_hint(z, True)
                model.add(_Sum(zs) == _Sum([x for _, _, x in xs]))
            if not xs_p:
                if own is not None:
                    return None
                continue
            if own is not None:
                model.add_exactly_one(xs_p)
            else:  # not placed yet: placing them saves UNPLACED km
                model.add_at_most_one(xs_p)
                cost += [(x, -round(1000 * UNPLACED)) for x in xs_p]  # at most one is 1
        for u, terms in per_u.items():
            if sum(load for _, load in terms) > left[u]:
                xs_u, loads_u = zip(*terms)
                model.add(_Weighted(xs_u, loads_u) <= int(left[u]))
        xs_c, cs_c = zip(*cost) if cost else ((), ())
        model.minimize(_Weighted(xs_c, cs_c))
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.max_time_in_seconds = min(
            STEP_SECONDS, max(0.01, deadline - time.perf_counter())
        )
        solver.parameters.random_seed = self.settings.seed
        status = solver.solve(model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        out = {p: [k, v, w, -1] for p, k, v, w, x in pairs if solver.value(x)}
        for p, _k, c, z in covers:
            if solver.value(z):
                out[p][3] = c
        return {p: tuple(way) for p, way in out.items()}


class _Whole:
    r"""The whole distance problem as one CP-SAT model (small instances), so that its optimum
    is proven. For person p and day class k, Booleans :math:`s_{pk}` (the class),
    :math:`x_{pkv}` (provider), :math:`y_{pkw}` (partner), :math:`z_{pkc}` (cover, or none):

    .. math::

        \min \sum \lfloor 1000\, d \rfloor (x + y + z) \quad\text{s.t.}\quad
        \sum_k s_{pk} = 1,\;
        \sum_v x_{pkv} = \sum_w y_{pkw} = \sum_c z_{pkc} = s_{pk},\;
        x_{pku} + z_{pku} \le 1,\; y_{pku} + z_{pku} \le 1,\;
        \sum a\,x + b\,y + r\,z \le \mathrm{room}_u

    (the partner sum only where a partner is needed; the no-cover choice only where a cover may
    be left out, at ``no_cover_penalty_km`` if the person needs one). Costs in whole metres,
    rounded down, so CP-SAT's bound / 1000 is a lower bound in km."""

    def __init__(self, people, options, classes, room, settings):
        self.people, self.options, self.classes = people, options, classes
        self.room, self.settings = room, settings
        self.size = sum(
            len(cls.providers) + len(cls.partners) + len(cls.covers) + 2
            for p in people
            for cls in classes[p]
            if len(cls.providers)
        )

    def solve(self, start, deadline: float, stop) -> tuple[dict, bool, float]:
        """The best ways found from ``start`` by ``deadline``, whether proven optimal, and
        CP-SAT's lower bound (km)."""
        model = cp_model.CpModel()
        per_u: dict[int, list] = {}
        cost = []
        pick: list[tuple[int, int, str, int, Any]] = []
        metres = lambda km: math.floor(1000 * km)  # noqa: E731
        for p in self.people:
            d = self.options[p].distance
            k0 = start[p][0]
            own = dict(zip("vwc", start[p][1:]))
            ss = []
            for cls in self.classes[p]:
                if not len(cls.providers):
                    continue
                s = model.new_bool_var("")
                ss.append(s)
                model.add_hint(s, cls.k == k0)
                lists = [("v", cls.providers, cls.a)]
                if len(cls.partners):
                    lists.append(("w", cls.partners, cls.b))
                if len(cls.covers) or not cls.cover_optional:
                    lists.append(("c", cls.covers, cls.r))
                at: dict[str, dict[int, Any]] = {}
                for role, ids, load in lists:
                    at[role] = {}
                    choices: list[Any] = []
                    for u in ids.tolist():
                        x = model.new_bool_var("")
                        at[role][u] = x
                        choices.append(x)
                        per_u.setdefault(u, []).append((x, load))
                        cost.append((x, metres(d[u])))
                        model.add_hint(x, cls.k == k0 and own[role] == u)
                        pick.append((p, cls.k, role, u, x))
                    if role == "c" and cls.cover_optional:
                        x = model.new_bool_var("")
                        choices.append(x)
                        cost.append((x, metres(_penalty(self.options[p], self.settings))))
                        model.add_hint(x, cls.k == k0 and own["c"] < 0)
                    model.add(sum(choices) == s)
                for u, z in at.get("c", {}).items():
                    for role in ("v", "w"):
                        if u in at.get(role, {}):
                            model.add_bool_or([at[role][u].Not(), z.Not()])
            model.add_exactly_one(ss)
        for u, terms in per_u.items():
            if sum(load for _, load in terms) > self.room[u]:
                model.add(sum(x * load for x, load in terms) <= int(self.room[u]))
        model.minimize(sum(x * c for x, c in cost))
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = max(1, self.settings.workers)
        solver.parameters.random_seed = self.settings.seed
        solver.parameters.max_time_in_seconds = max(0.05, deadline - time.perf_counter() - 0.05)
        result: list = []
        t = threading.Thread(target=lambda: result.append(solver.solve(model)), daemon=True)
        t.start()
        while t.is_alive():
            t.join(timeout=0.1)
            if stop():
                solver.stop_search()
                t.join()
        status = result[0] if result else cp_model.UNKNOWN
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return dict(start), False, 0.0
        ways = {p: [k, -1, -1, -1] for p, k in ((p, start[p][0]) for p in self.people)}
        for p, k, role, u, x in pick:
            if solver.value(x):
                ways[p][0] = k
                ways[p]["vwc".index(role) + 1] = u
        low = max(0.0, solver.best_objective_bound / 1000.0)
        return {p: tuple(w) for p, w in ways.items()}, status == cp_model.OPTIMAL, low


def distance_bound(
    chosen: dict[int, Match],
    options: list[PersonOptions],
    room: np.ndarray,
    settings: Settings,
    seconds: float = 3600.0,
) -> tuple[float, bool]:
    """The distance LP of a matching's people solved by column generation alone, for
    benchmarks and tests.

    Parameters
    ----------
    chosen
        The matching whose people are kept matched.
    options
        Every person's candidates.
    room
        Each provider's free room in hundredths.
    settings
        ``absence_rate``, ``allow_without_cover``, ``no_cover_penalty_km``.
    seconds
        Time allowed.

    Returns
    -------
    (float, bool)
        A lower bound on the km of any matching of the same people, and whether the column
        generation converged (then it is the LP optimum).
    """
    bound, converged, _ = distance_prices(chosen, options, room, settings, seconds)
    return bound, converged


def distance_prices(
    chosen: dict[int, Match],
    options: list[PersonOptions],
    room: np.ndarray,
    settings: Settings,
    seconds: float = 3600.0,
) -> tuple[float, bool, np.ndarray]:
    """As :func:`distance_bound`, with the LP's capacity prices.

    Parameters
    ----------
    chosen
        The matching whose people are kept matched.
    options
        Every person's candidates.
    room
        Each provider's free room in hundredths.
    settings
        ``absence_rate``, ``allow_without_cover``, ``no_cover_penalty_km``.
    seconds
        Time allowed.

    Returns
    -------
    (float, bool, numpy.ndarray)
        The bound, whether converged, and μ (km per hundredth of an hour of each provider's
        room; zeros where the LP did not solve), the multipliers the knapsack bound
        (:mod:`gapmap.matching.knapsack_bound`) starts from.
    """
    bound, converged, mu, _, _ = lp_prices(chosen, options, room, settings, seconds)
    return bound, converged, mu


def lp_prices(
    chosen: dict[int, Match],
    options,
    room: np.ndarray,
    settings: Settings,
    seconds: float,
    stop: Callable[[], bool] = lambda: False,
    each: Callable[[float, int], None] | None = None,
    seed: list[tuple[int, int, int, int, int]] = [],  # noqa: B006 (read only)
) -> tuple[float, bool, np.ndarray, int, int]:
    """As :func:`distance_prices`, stoppable, with the LP's rounds and patterns counted.

    Parameters
    ----------
    chosen, room, settings, seconds
        As :func:`distance_prices`.
    options
        Every person's candidates (a list, or a dict holding at least the matched people).
    stop
        Returns True to stop early.
    each
        Called with (bound, rounds) after each round of the column generation.
    seed
        Patterns (person, day class, provider, partner, cover) to start the LP with (found
        by the subgradient steps of :mod:`gapmap.matching.distance_pricing`).

    Returns
    -------
    (float, bool, numpy.ndarray, int, int)
        The bound, whether converged, μ, the LP's rounds and its patterns.
    """
    from gapmap.matching.patterns import class_arrays as _classes

    classes = {p: _classes(options[p], settings, room) for p in chosen}
    people = sorted(chosen)
    pool = PatternPool()
    priced = {
        p: [_Priced(c, options[p].distance, _penalty(options[p], settings)) for c in classes[p]]
        for p in people
    }
    for p in people:
        m = chosen[p]
        pool.add(p, _class_of(classes[p], m), m.provider, m.partner, m.cover)
    for j in seed:
        pool.add(*j)
    lp = _DistanceLP(pool, people, priced, options, settings, room)
    bound, converged, rounds = lp.columns(time.perf_counter() + seconds, stop, each)
    mu = np.zeros(len(room))
    if rounds:
        dual = np.asarray(lp.h.getSolution().row_dual, float)
        mu[lp.used] = np.maximum(0.0, -dual[len(people) :])
    return float(bound), converged, mu, rounds, len(pool)


def journey_figures(matches: dict[int, Match], options: list[PersonOptions]) -> dict:
    """Journeys of a matching, for the summary: km by role, per person, nearest share.

    Parameters
    ----------
    matches
        The matching.
    options
        Every person's candidates (distances, day classes).

    Returns
    -------
    dict
        ``km_provider``, ``km_partner``, ``km_cover``, ``km_total``; ``mean_km_per_person``
        (all roles) and ``mean_km_to_provider``; ``share_nearest_provider`` (matched people
        whose provider is as near as their nearest eligible provider working any of their
        days, room or not) and ``mean_km_to_nearest_provider``.
    """
    kv = kw = kc = near_km = 0.0
    nearest = 0
    for p, m in matches.items():
        o = options[p]
        d = o.distance
        kv += d[m.provider]
        kw += d[m.partner] if m.partner >= 0 else 0.0
        kc += d[m.cover] if m.cover >= 0 else 0.0
        best = min(d[cls.providers[0]] for cls in o.classes if cls.providers)
        near_km += best
        nearest += d[m.provider] <= best + 1e-9
    n = len(matches)
    return {
        "km_provider": kv,
        "km_partner": kw,
        "km_cover": kc,
        "km_total": kv + kw + kc,
        "mean_km_per_person": (kv + kw + kc) / n if n else None,
        "mean_km_to_provider": kv / n if n else None,
        "share_nearest_provider": nearest / n if n else None,
        "mean_km_to_nearest_provider": near_km / n if n else None,
    }
