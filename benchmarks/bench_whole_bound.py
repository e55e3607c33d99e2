r"""Experiment: is objective (1)'s LP bound loose by the room no matching can fill?

gapmap's matchings fill about 97% of the providers' free room; the LP bound of the full model
(:mod:`gapmap.matching.bound`) fills all of it with *fractions* of people. This script measures
how much lower a bound that keeps people whole in each provider's room goes, at the benchmark
scales of ``bench_match.py``.

**The bound (Lagrangian decomposition).** An *item* t is a role (provider, partner or cover)
of a person's day class at a provider u that may take it, with its load :math:`\ell_t` in
hundredths of an hour (:class:`gapmap.matching.knapsack_bound.Items`). A matching is a
pattern per person (its items :math:`x`) and, for each provider, a *roster* :math:`y^{(u)}
\in K_u`: items of u within its room, at most one per person. Since any subset of a roster is
a roster, :math:`x \le y` loses nothing; relaxing it with multipliers :math:`\beta \ge 0`
(Held, Wolfe & Crowder 1974; Fisher 1981; the decomposition of Guignard & Kim 1987):

.. math::

    L(\beta) = \sum_p \max\Bigl(0,\; W_p - \min_j \sum_{t \in j} \beta_t\Bigr)
             + \sum_u \max_{y \in K_u} \sum_t \beta_t y_t
    \;\ge\; \text{the best matching}, \qquad W_p = \text{priority}(p) \times \text{hours}(p).

The person's part is the pattern pricing (three cheapest of each role list); each
provider's a multiple-choice knapsack solved exactly by a dynamic programme over its room
(:meth:`Items.knapsack <gapmap.matching.knapsack_bound.Items.knapsack>`). At
:math:`\beta_t = \ell_t \pi_u`, π the LP's capacity prices, each knapsack is at most
:math:`\pi_u \mathrm{room}_u`, so L starts at or below the LP bound. Rosters tied at those
prices (many whole sets of people fill a room exactly) go to the items people use
(:math:`\beta + \varepsilon x`, whose best is at least β's: still a bound).

**Solving for β.** A projected subgradient with Polyak's step towards a feasible value
(Polyak 1969; ``--objectives``, gapmap's 60 s objectives in docs/benchmarks.md), its share
halved after three rounds (``--patience``) without a lower L than since the last halving;
each side's answer is kept until the β of one of its items moves. (The plain Dantzig-Wolfe
master, as in ``knapsack_bound``, was tried: its LPs took a minute each by round 8 at Kent
year-3 scale and its bound never left the start.)

Run:  .venv/bin/python benchmarks/bench_whole_bound.py [--seconds 120] [--patience 3]
      [--scales kent-y3,somerset]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from gapmap.matching.bound import Master
from gapmap.matching.knapsack_bound import Items
from gapmap.matching.patterns import Classes, PatternPool, pool_loads, price_patterns, seed_pool

#: the subgradient's first share of Polyak's step, and the rounds without a lower L before it
#: is halved
STEP = 1.0
PATIENCE = 3


def lp_prices(
    people: list[int], weight: dict[int, float], classes: Classes, room: np.ndarray, seconds: float
) -> tuple[float, np.ndarray, bool]:
    """The LP bound of the full model and the capacity prices π that give it (column
    generation as :func:`gapmap.matching.bound.relaxation`, one thread, keeping π).

    Parameters
    ----------
    people, weight, classes
        The eligible people, their W_p and day classes (with room).
    room
        Each provider's free room in hundredths.
    seconds
        Time allowed.

    Returns
    -------
    (bound, pi, converged)
    """
    deadline = time.perf_counter() + seconds
    pool = PatternPool()
    seed_pool(pool, people, classes, len(room))
    providers = np.array(sorted({int(u) for p in people for cls in classes[p]
                                 for u in np.concatenate([cls.providers, cls.partners,
                                                          cls.covers])}),
                         dtype=np.int64)  # fmt: skip
    master = Master(people, providers, room)
    master.h.setOptionValue("threads", 1)

    def column(j: int) -> tuple[float, list[tuple[int, float]]]:
        rows = [(master.row_of_person[pool.person[j]], 1.0)]
        rows += [(master.row_of_provider[u], float(ld)) for u, ld in pool_loads(pool, j, classes)]
        return (weight[pool.person[j]], rows)

    master.add([column(j) for j in range(len(pool))])
    bound, best_pi, converged = sum(weight.values()), np.zeros(len(room)), False
    while time.perf_counter() < deadline:
        if not master.solve(deadline - time.perf_counter()):
            break
        alpha, pi, _ = master.duals(len(room))
        lagrange = float(pi[providers] @ room[providers])
        new = []
        for i, p in enumerate(people):
            best_gain, best = 0.0, None
            for cls in classes[p]:
                cost, v, w, c = price_patterns(cls, pi)
                if v >= 0 and weight[p] - cost > best_gain:
                    best_gain, best = weight[p] - cost, (cls.k, v, w, c)
            lagrange += best_gain
            if best is not None and best_gain - alpha[i] > 1e-7 * max(1.0, weight[p]):
                before = len(pool)
                if pool.add(p, *best) == before:
                    new.append(before)
        if lagrange < bound:
            bound, best_pi = lagrange, pi
        if not new:
            converged = True
            break
        master.add([column(j) for j in new])
    return bound, best_pi, converged


def _cheapest(ids: np.ndarray, price: np.ndarray, n: int = 3) -> list[tuple[float, int]]:
    """The n cheapest (price, id)."""
    if len(ids) <= n:
        order = np.argsort(price, kind="stable")
    else:
        part = np.argpartition(price, n)[:n]
        order = part[np.argsort(price[part], kind="stable")]
    return [(float(price[i]), int(ids[i])) for i in order]


class WholeItems(Items):
    """The items of :class:`gapmap.matching.knapsack_bound.Items`, priced for objective (1)
    (Σ β only, no km)."""

    def cheapest_pattern(self, p: int, beta: np.ndarray) -> tuple[float, list[int]]:
        """A person's least ``Σ β`` pattern: (Σ β, its items); (inf, []) when none."""
        best, way = math.inf, None
        for k in range(len(self.classes[p])):
            row = self.table.get((p, k))
            if row is None:
                continue
            cls, nv, nw, nc = row[:4]
            vs = _cheapest(cls.providers, beta[nv])
            ws = _cheapest(cls.partners, beta[nw]) if len(cls.partners) else [(0.0, -1)]
            cs = _cheapest(cls.covers, beta[nc]) if len(cls.covers) else []
            if cls.cover_optional:
                cs = cs + [(0.0, -1)]
            for pv, v in vs:
                for pw, w in ws:
                    for pc, c in cs:
                        if w != v and (c < 0 or c not in (v, w)) and pv + pw + pc < best - 1e-12:
                            best, way = pv + pw + pc, (k, v, w, c)
        if way is None:
            return math.inf, []
        return best, self.pattern_items(p, *way)[1]


class Evaluator:
    """L(β) (module docstring), each side's answer kept until the β of one of its items
    (for a roster, or the people's use of one) moves.

    Parameters
    ----------
    items
        The items.
    weight
        W_p by person.
    """

    def __init__(self, items: WholeItems, weight: dict[int, float]) -> None:
        self.items, self.weight = items, weight
        order = np.argsort(items.person, kind="stable")
        cuts = np.flatnonzero(np.diff(items.person[order])) + 1
        self.of_person = {int(items.person[g[0]]): g for g in np.split(order, cuts) if len(g)}
        self.gain: dict[int, float] = {}
        self.pick: dict[int, list[int]] = {}
        self.sack: dict[int, float] = {}
        self.roster: dict[int, np.ndarray] = {}
        self.last_beta = np.full(items.n, np.nan)
        self.last_x = np.full(items.n, np.nan)

    def __call__(self, beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """L(β), the items people use (x) and the items rosters hold (y)."""
        items, none = self.items, np.zeros(0, np.int64)
        moved = beta != self.last_beta
        x = np.zeros(items.n)
        for p in items.people:
            if p not in self.gain or moved[self.of_person.get(p, none)].any():
                cost, its = items.cheapest_pattern(p, beta)
                gain = self.weight[p] - cost
                self.gain[p], self.pick[p] = (gain, its) if its and gain > 0 else (0.0, [])
            x[self.pick[p]] = 1.0
        biased = beta + 1e-9 * x  # ties between full rosters go to the items people use
        moved |= x != self.last_x
        y = np.zeros(items.n)
        for u, grp in items.at.items():
            if u not in self.sack or moved[grp].any():
                val, its = items.knapsack(u, biased)
                self.sack[u], self.roster[u] = -val, its
            y[self.roster[u]] = 1.0
        self.last_beta, self.last_x = beta.copy(), x
        return sum(self.gain.values()) + sum(self.sack.values()), x, y


def whole_people_bound(
    items: WholeItems,
    weight: dict[int, float],
    pi: np.ndarray,
    target: float,
    seconds: float,
    marks: tuple[float, ...],
    patience: int = PATIENCE,
) -> tuple[float, float, int, dict[float, float]]:
    """The projected subgradient from the LP's prices (module docstring).

    Returns
    -------
    (bound, start, rounds, marks)
        The least L found, L at the LP's prices, the rounds, and the least L by each mark
        (seconds).
    """
    t0 = time.perf_counter()
    evaluate = Evaluator(items, weight)
    beta = items.start(pi)
    best = first = math.inf
    share, since, rounds, floor = STEP, 0, 0, math.inf
    at: dict[float, float] = {}
    while True:
        val, x, y = evaluate(beta)
        rounds += 1
        first = val if rounds == 1 else first
        best = min(best, val)
        # the share is halved after ``patience`` rounds without a lower L than since the last
        # halving (not than the best: the first steps may climb far above the LP's prices)
        if val < floor - 1e-6:
            floor, since = val, 0
        else:
            since += 1
            if since >= patience:
                share, since, floor = share / 2, 0, val
        spent = time.perf_counter() - t0
        for m in marks:
            if spent <= m:
                at[m] = best
        if spent > seconds:
            break
        g = y - x  # L's subgradient in β
        norm = float(g @ g)
        if norm == 0.0:
            break  # x = y: the people's patterns are a matching and L is its value
        beta = np.maximum(0.0, beta - share * max(val - target, 1e-3) / norm * g)
    return best, first, rounds, at


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scales", default="kent-y3,somerset")
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--patience", type=int, default=PATIENCE)
    # gapmap's objective at each scale: the 60 s runs of docs/benchmarks.md
    ap.add_argument("--objectives", default="kent-y3=15135,somerset=42720")
    args = ap.parse_args()

    from gapmap.demo import SCALES, write_demo_registers
    from gapmap.matching.candidates import build_candidates
    from gapmap.matching.patterns import class_arrays
    from gapmap.reach import room_units
    from gapmap.settings import Settings
    from gapmap.study import Study, StudyInputs

    objective = {k: float(v) for k, v in (kv.split("=") for kv in args.objectives.split(","))}
    marks = tuple(m for m in (10.0, 30.0, 120.0, 300.0, 600.0) if m <= args.seconds)
    with tempfile.TemporaryDirectory() as tmp:
        for scale in args.scales.split(","):
            size = SCALES[scale]
            p, q = write_demo_registers(Path(tmp) / scale, providers=size.providers,
                                        people=size.people)  # fmt: skip
            study = Study.read(StudyInputs(providers=p, people=q), settings=Settings())
            options = build_candidates(
                study.people, study.providers, study.reach,
                allow_without_cover=study.settings.allow_without_cover, in_area=study.in_area,
            )  # fmt: skip
            room = room_units(study.providers)
            people = [o.person for o in options if not o.reason]
            weight = {i: options[i].priority * options[i].hours for i in people}
            classes = {i: class_arrays(options[i], study.settings, room) for i in people}
            t = time.perf_counter()
            lp, pi, done = lp_prices(people, weight, classes, room, 1800.0)
            lp_s = time.perf_counter() - t
            items = WholeItems(people, options, classes, room, study.settings)
            load = os.getloadavg()[0]
            best, first, rounds, at = whole_people_bound(
                items, weight, pi, objective[scale], args.seconds, marks, args.patience
            )
            got = objective[scale]
            print(f"\n{scale}: {len(people):,} eligible people, {len(room):,} providers, "
                  f"{items.n:,} items; load {load:.1f} at the start")  # fmt: skip
            print(f"  LP bound {lp:,.1f}{'' if done else ' (not converged)'} [{lp_s:.0f} s]; "
                  f"gapmap {got:,.0f} = {got / lp:.2%} of it")  # fmt: skip
            print(f"  whole people, at the LP's prices: {first:,.1f}")
            for m, b in sorted(at.items()):
                print(f"  whole people after {m:>4.0f} s: {b:,.1f} = LP - {lp - b:,.1f} "
                      f"({(lp - b) / lp:.2%}); gapmap {got / b:.2%} of it")  # fmt: skip
            print(f"  least after {rounds} rounds: {best:,.1f} ({(lp - best) / lp:.2%} below "
                  f"the LP); load {os.getloadavg()[0]:.1f} at the end")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
