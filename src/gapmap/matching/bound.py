r"""The LP bound of the batch matching: the master problem and its column generation (HiGHS).

**The master problem** over a pool J of patterns (:mod:`gapmap.matching.patterns`), with
W_p = priority(p) × hours(p):

.. math::

    \max \sum_{p, j \in J_p} W_p \lambda_{pj} \quad\text{s.t.}\quad
    \sum_{j \in J_p} \lambda_{pj} \le 1 \;(\alpha_p), \qquad
    \sum_{p, j} \mathrm{load}_u(j)\, \lambda_{pj} \le \mathrm{room}_u \;(\pi_u), \qquad
    \lambda \ge 0 \;(\text{or } \in \{0,1\}).

**Column generation.** The LP over the pool is solved (HiGHS, warm-started; :class:`Master`);
with its capacity duals π each person's cheapest pattern is priced
(:func:`gapmap.matching.patterns.price_patterns`; every person at once, below); a pattern
whose reduced cost ``W_p − α_p − (a π_v + b π_w + r π_c)`` is positive joins the pool and the
LP is solved again, until no pattern prices out or the LP's share of the time is spent
(:func:`relaxation`).

**The bound.** Whatever π is,

.. math::

    \sum_u \pi_u\, \mathrm{room}_u
    + \sum_p \max\Big(0, \max_j \big(W_p - \mathrm{cost}_j(\pi)\big)\Big)

bounds the best matching of the *full* model (every pattern of every eligible provider) from
above (Lagrangian bound); at convergence it equals the LP optimum. gapmap reports the smallest
such bound.

**Close enough.** The LP's value over the pool never exceeds the LP optimum, and the bound
never falls below it, so once the two are within a share ``close`` of each other the bound is
within that share of the LP optimum. On large lists (over ``LARGE_PEOPLE`` people) the batch
matching stops there, at ``CLOSE_ENOUGH`` (0.1%), and gives the core to the search: at
Somerset scale the last rounds took half the LP's time to move the bound by 0.05% (standalone,
round 7 came within 0.1% after 17 s, 0.05% above the LP optimum; rounds 8-11 took another
18 s to close that), and the search, short of time there, gains about 20 urgency-weighted
hours a second with both cores. Large masters are solved by the interior point method
without crossover: the bound needs only some prices π ≥ 0 (any give a valid bound), and the
crossover took 15% of the time.

**Pricing everyone at once.** Each round prices every person's day classes together
(:class:`gapmap.matching.distance_pricing.DistancePricer` with no km: the same three cheapest
of each list): at Somerset scale 0.06-0.09 s a round against 0.7-0.9 s one class at a time,
and the rounds no longer hold the interpreter that the search's threads need to build their
steps.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from gapmap.matching.candidates import PersonOptions
from gapmap.matching.distance_pricing import DistancePricer
from gapmap.matching.patterns import (
    Classes,
    PatternPool,
    class_arrays,
    pool_loads,
    seed_pool,
)
from gapmap.settings import Settings

log = logging.getLogger(__name__)

__all__ = ["Master", "new_highs", "relaxation", "relaxation_bound"]

#: masters with more people than this are large: solved by the interior point method (no
#: crossover), and the batch matching stops their column generation once close enough
LARGE_PEOPLE = 4000
#: large lists: the column generation stops once its bound is within this share of the LP's
#: value over the pool (and so of the LP optimum)
CLOSE_ENOUGH = 1e-3


def new_highs() -> Any:
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


class Master:
    """The LP master problem in HiGHS, grown a column at a time (warm-started).

    Parameters
    ----------
    people
        The people (one row each: at most one pattern).
    providers
        The providers any pattern may name (one capacity row each).
    room
        Every provider's free room in hundredths (indexed by provider).
    """

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
        self.exact = True  # solved to a vertex: its value is the LP optimum over the pool
        if len(people) > LARGE_PEOPLE:
            # large masters: the interior point method solves each round three to four times
            # faster than a warm-started simplex (Somerset scale); without its crossover to a
            # vertex 15% faster still, and its prices serve the bound as well as any
            h.setOptionValue("solver", "ipm")
            h.setOptionValue("run_crossover", "off")
            self.exact = False
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
        """Solve within ``seconds``; whether the LP was solved to its optimum."""
        # HiGHS's time limit counts from the instance's first run: add what it has used
        self.h.setOptionValue("time_limit", self.h.getRunTime() + max(0.05, float(seconds)))
        self.h.run()
        import highspy

        return bool(self.h.getModelStatus() == highspy.HighsModelStatus.kOptimal)

    def duals(self, n_providers_total: int) -> tuple[np.ndarray, np.ndarray, float]:
        """The duals α (per person) and π (per provider, 0 for those not in the master) and
        the LP's value."""
        s = self.h.getSolution()
        row_dual = np.abs(np.asarray(s.row_dual, float))
        alpha = row_dual[: len(self.people)]
        pi = np.zeros(n_providers_total)
        pi[self.providers] = row_dual[len(self.people) :]
        return alpha, pi, float(self.h.getInfo().objective_function_value)

    def values(self) -> np.ndarray:
        """Each column's value in the last solution."""
        return np.asarray(self.h.getSolution().col_value, float)


def relaxation(
    people_idx: list[int],
    weight: dict[int, float],
    classes: Classes,
    room: np.ndarray,
    pool: PatternPool,
    lp_deadline: float,
    stop: Callable[[], bool],
    each_round: Callable[[np.ndarray, float], None] | None = None,
    close: float = 0.0,
) -> tuple[float, int, bool, np.ndarray]:
    """Column generation from the patterns in ``pool`` (grown in place) until no pattern
    prices out, the bound is within ``close`` of the LP's value, or ``lp_deadline`` (module
    docstring).

    Parameters
    ----------
    people_idx, weight, classes
        The people, their weights W_p and day classes.
    room
        Every provider's free room in hundredths.
    pool
        The patterns to start from; the priced ones are added.
    lp_deadline
        ``time.perf_counter()`` by which to stop.
    stop
        Returns True when the user asked to stop.
    each_round
        Called after each LP with the pool's pattern values and the LP's value.
    close
        Stop once the bound is within this share of the LP's value over the pool (0: only
        when no pattern prices out).

    Returns
    -------
    (bound, rounds, converged, lp_x)
        The smallest Lagrangian bound, the LPs solved, whether no pattern priced out or the
        bound came within ``close`` of the LP optimum, and the last optimal LP's pattern
        values (one per pattern in the pool).
    """
    said = time.perf_counter()
    used = sorted({u for j in range(len(pool)) for u, _ in pool_loads(pool, j, classes)})
    providers = np.array(sorted(set(used) | {int(u) for p in people_idx for cls in classes[p]
                                             for u in np.concatenate([cls.providers, cls.partners,
                                                                      cls.covers])}),
                         dtype=np.int64)  # fmt: skip
    master = Master(people_idx, providers, room)
    # every person priced at once, each round: capacity prices alone, no km
    pricer = DistancePricer(people_idx, classes, None, None)
    w_row = np.array([weight[p] for p in people_idx], float)

    def column(j: int) -> tuple[float, list[tuple[int, float]]]:
        entries = [(master.row_of_person[pool.person[j]], 1.0)]
        entries += [
            (master.row_of_provider[u], float(load)) for u, load in pool_loads(pool, j, classes)
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
        gain, best = _best_patterns(pricer, w_row, pi)
        lagrange = float(pi[providers] @ room[providers]) + float(gain.sum())
        new = []
        for i in np.flatnonzero(gain - alpha > 1e-7 * np.maximum(1.0, w_row)).tolist():
            before = len(pool)
            j = pool.add(people_idx[i], *(int(x) for x in best[i]))
            if j == before:
                new.append(j)
        bound = min(bound, lagrange)
        if time.perf_counter() - said > 5:
            said = time.perf_counter()
            log.info(f"  working out the best possible: at most {bound:,.0f} urgency-weighted "
                     f"hours so far ({iterations} rounds)")  # fmt: skip
        if not new:
            converged = True
            if master.exact:
                bound = min(bound, lp_value)
            break
        if bound - lp_value <= close * abs(lp_value):
            converged = True
            log.info(
                f"  the bound is within {close:.1%} of the best possible over the "
                f"patterns found ({iterations} rounds): the search has its core"
            )
            break
        master.add([column(j) for j in new])
    # the last LP solved to its optimum (its patterns come first in the pool)
    lp_x = np.concatenate([lp_x, np.zeros(len(pool) - len(lp_x))])
    return bound, iterations, converged, lp_x


def _best_patterns(
    pricer: DistancePricer, weight: np.ndarray, pi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each person's best pattern at capacity prices ``pi`` and what it gains over its cost:
    ``max(0, W_p - least cost)`` per person, and the pattern ``(k, v, w, c)`` (the first day
    class reaching the least cost; no cover where one may be left out, which costs nothing)."""
    least, first, ways = pricer.cheapest(pi)
    gain = np.where(np.isfinite(least), weight - least, 0.0).clip(min=0.0)
    best = np.full((len(weight), 4), -1, np.int64)
    has = first >= 0
    best[has, 0] = pricer.k[first[has]]
    best[has, 1:] = ways[first[has]]
    optional = np.zeros(len(weight), bool)
    optional[has] = pricer.cover_optional[first[has]]
    best[optional, 3] = -1
    return gain, best


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
        :mod:`gapmap.matching.patterns`); False keeps them (a weaker relaxation, for
        comparison).
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
    classes = {p: class_arrays(options[p], settings, room if fit else None) for p in people_idx}
    pool = PatternPool()
    seed_pool(pool, people_idx, classes, len(room))
    bound, _, converged, _ = relaxation(
        people_idx, weight, classes, room, pool, time.perf_counter() + seconds, lambda: False
    )
    return bound, converged
