r"""A stronger lower bound on the journeys: each provider's room filled by whole people.

The distance LP of :mod:`gapmap.matching.journeys` lets a provider's last hours be shared
between people (a fraction of a pattern each), which no matching can do; where objective (1)
packs the room (95-97% of it at Kent year-3 and Somerset scale) that makes it weak. This bound
keeps both sides whole: each person takes one pattern, each provider takes a *roster* (a set
of roles of different people within its room), and the two must agree.

**Formulation (Lagrangian decomposition).** An *item* is a role (provider, partner or cover)
of a person's day class given to a provider u that may take it, at load :math:`\ell` in
hundredths of an hour. Pattern j of person p (:mod:`gapmap.matching.patterns`) names its
items; :math:`x_t = \sum_{j \ni t} \lambda_j` says whether item t is used by the people's
side, :math:`y_t` by the providers' side:

.. math::

    \min \sum_{p, j} \mathrm{km}_j \lambda_{pj} \quad\text{s.t.}\quad
    \sum_j \lambda_{pj} = 1,\quad
    y^{(u)} \in K_u \;\; \text{(the rosters of } u\text{)},\quad
    x_t = y_t \;(\beta_t),\quad \lambda, y \in \{0, 1\},

where :math:`K_u` is the set of 0/1 vectors of u's items within its room
(:math:`\sum \ell_t y_t \le \mathrm{room}_u`) and taking at most one item of each person.
Every matching of the same people is a solution. Relaxing :math:`x = y` with multipliers β:

.. math::

    L(\beta) = \sum_p \min_{j} \Bigl(\mathrm{km}_j + \sum_{t \in j} \beta_t\Bigr)
             + \sum_u \min_{y \in K_u} \Bigl(-\sum_t \beta_t y_t\Bigr)
             \;\le\; \text{the km of any matching of these people}

for every β (weak duality). The person's part is the pattern pricing of the distance LP (the
three cheapest of each list suffice); each provider's is a *multiple-choice knapsack*, solved
exactly by a dynamic programme over its room (in units of the greatest common divisor of its
loads). At :math:`\beta_t = \ell_t \mu_u`, μ the distance LP's capacity prices, the knapsack
part is at least :math:`-\sum_u \mu_u \mathrm{room}_u`, so :math:`L \ge` the LP bound; the
best β gives :math:`\min\{\mathrm{km} \cdot \lambda : \lambda \in
\mathrm{conv}(\text{patterns}),\ y \in \mathrm{conv}(K_u),\ x = y\}`, at least the LP and
above it where the LP splits a provider's last hours (knapsacks have no whole-number
corners).

**Solving for β.** The Dantzig-Wolfe master of the formulation (HiGHS, warm-started, a column
per pattern and per roster; rows: each person one pattern, each provider one roster at most,
each item :math:`x_t - y_t = 0`) gives the next β as its duals, the patterns and rosters that
price out at them are added, and so on; it starts from the matching given (feasible) and,
first, L at the LP's prices. Every L computed is a valid bound and the largest is reported;
when no column prices out, the master's value equals L and the bound is the best of this
formulation (``converged``).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from gapmap.matching.candidates import PersonOptions
from gapmap.matching.patterns import ClassArrays, class_of
from gapmap.matching.result import Match
from gapmap.settings import Settings

__all__ = ["knapsack_bound", "Items"]

#: the subgradient's first step size (a share of Polyak's), and how many rounds without a
#: better L before it is halved
STEP = 1.0
PATIENCE = 3


class Items:
    """The items of the formulation: for each person's day class, its role lists as item
    numbers (aligned with the class's provider, partner and cover arrays), and for each
    provider its items (number, person, load).

    Parameters
    ----------
    people
        The matched people.
    options
        Every person's candidates (distances).
    classes
        Each person's day classes (:func:`gapmap.matching.patterns.class_arrays`, with room).
    room
        Each provider's free room in hundredths.
    settings
        ``no_cover_penalty_km``.
    """

    def __init__(
        self,
        people: list[int],
        options: list[PersonOptions],
        classes: dict[int, list[ClassArrays]],
        room: np.ndarray,
        settings: Settings,
    ):
        self.people, self.options, self.classes = people, options, classes
        self.room = np.asarray(room, np.int64)
        self.settings = settings
        prov: list[np.ndarray] = []
        load: list[np.ndarray] = []
        person: list[np.ndarray] = []
        n = 0
        #: (person, class) -> (class, item numbers of its providers, partners, covers, km of
        #: its providers, partners, covers, km of no cover or inf)
        self.table: dict[tuple[int, int], tuple] = {}
        for p in people:
            d = options[p].distance
            penalty = settings.no_cover_penalty_km if options[p].needs_cover else 0.0
            for cls in classes[p]:
                if not len(cls.providers):
                    continue
                if not len(cls.covers) and not cls.cover_optional:
                    continue  # a cover needed and none eligible: no way in this class
                nums = []
                kms = []
                for us, ld in ((cls.providers, cls.a), (cls.partners, cls.b), (cls.covers, cls.r)):
                    nums.append(np.arange(n, n + len(us)))
                    kms.append(np.array([d[u] for u in us.tolist()], float))
                    prov.append(np.asarray(us, np.int64))
                    load.append(np.full(len(us), int(ld), np.int64))
                    person.append(np.full(len(us), p, np.int64))
                    n += len(us)
                none = penalty if cls.cover_optional else math.inf
                self.table[(p, cls.k)] = (cls, *nums, *kms, none)
        self.n = n
        self.prov = np.concatenate(prov) if prov else np.zeros(0, np.int64)
        self.load = np.concatenate(load) if load else np.zeros(0, np.int64)
        self.person = np.concatenate(person) if person else np.zeros(0, np.int64)
        order = np.argsort(self.prov, kind="stable")
        cuts = np.flatnonzero(np.diff(self.prov[order])) + 1
        self.at: dict[int, np.ndarray] = {}
        for grp in np.split(order, cuts):
            if len(grp):
                self.at[int(self.prov[grp[0]])] = grp

    def start(self, mu: np.ndarray) -> np.ndarray:
        """Multipliers from capacity prices μ: each item's load times its provider's price."""
        return self.load * np.asarray(mu, float)[self.prov]

    def pattern_items(self, p: int, k: int, v: int, w: int, c: int) -> tuple[float, list[int]]:
        """A pattern's km and items.

        Parameters
        ----------
        p, k
            The person and their day class.
        v, w, c
            Provider, partner (-1: none) and cover (-1: none).

        Returns
        -------
        (float, list of int)
            The km (the no-cover penalty included) and the item numbers.
        """
        cls, nv, nw, nc, dv, dw, dc, none = self.table[(p, k)]
        out, km = [], 0.0
        for u, nums, ds, ids in ((v, nv, dv, cls.providers), (w, nw, dw, cls.partners),
                                 (c, nc, dc, cls.covers)):  # fmt: skip
            if u >= 0:
                at = int(np.flatnonzero(ids == u)[0])
                out.append(int(nums[at]))
                km += float(ds[at])
        if c < 0:
            km += none  # no cover: the penalty if the person needs one (never inf here)
        return km, out

    def best_pattern(self, p: int, beta: np.ndarray) -> tuple[float, int, int, int, int]:
        """A person's least ``km + Σ β`` pattern.

        Parameters
        ----------
        p
            The person.
        beta
            The multipliers, by item.

        Returns
        -------
        tuple
            (value, class, provider, partner, cover); -1 for none.
        """
        best = (math.inf, -1, -1, -1, -1)
        for k in range(len(self.classes[p])):
            row = self.table.get((p, k))
            if row is None:
                continue
            cls, nv, nw, nc, dv, dw, dc, none = row
            vs = _cheapest(cls.providers, dv + beta[nv])
            ws = _cheapest(cls.partners, dw + beta[nw]) if len(cls.partners) else [(0.0, -1)]
            cs = _cheapest(cls.covers, dc + beta[nc]) if len(cls.covers) else []
            if cls.cover_optional:
                cs = cs + [(none, -1)]
            for pv, v in vs:
                for pw, w in ws:
                    if w == v:
                        continue
                    for pc, c in cs:
                        if c >= 0 and c in (v, w):
                            continue
                        if pv + pw + pc < best[0] - 1e-12:
                            best = (pv + pw + pc, k, v, w, c)
        return best

    def knapsack(self, u: int, beta: np.ndarray) -> tuple[float, np.ndarray]:
        """Provider u's multiple-choice knapsack: least ``-Σ β y`` within its room, one item
        of a person at most.

        Parameters
        ----------
        u
            The provider.
        beta
            The multipliers, by item.

        Returns
        -------
        (float, numpy.ndarray)
            Its least value and the items taken.
        """
        grp = self.at[u]
        cost = -beta[grp]
        neg = cost < -1e-12
        if not neg.any():
            return 0.0, grp[:0]
        it, pp, ld, cost = grp[neg], self.person[grp[neg]], self.load[grp[neg]], cost[neg]
        order = np.lexsort((cost, pp))
        first = np.ones(len(order), bool)
        first[1:] = pp[order][1:] != pp[order][:-1]
        best = order[first]
        cap = int(self.room[u])
        if ld[best].sum() <= cap:  # each person's best item fits: take them all
            return float(cost[best].sum()), it[best]
        g = max(1, int(np.gcd.reduce(ld)))
        w_all = ld // g
        cap //= g
        groups = np.split(order, np.flatnonzero(first)[1:])
        dp = np.zeros(cap + 1)  # least value within each capacity
        seen = [dp]
        for grp_j in groups:
            new = dp.copy()
            for j in grp_j.tolist():
                w = int(w_all[j])
                if w <= cap:
                    np.minimum(new[w:], dp[: cap + 1 - w] + cost[j], out=new[w:])
            seen.append(new)
            dp = new
        c = int(np.argmin(dp))
        val = float(dp[c])
        taken = []
        for gi in range(len(groups) - 1, -1, -1):  # back through the groups
            cur, prev = seen[gi + 1], seen[gi]
            if cur[c] == prev[c]:
                continue
            fits = [j for j in groups[gi].tolist() if int(w_all[j]) <= c]
            j = min(fits, key=lambda j: abs(prev[c - int(w_all[j])] + cost[j] - cur[c]))
            taken.append(j)
            c -= int(w_all[j])
        return val, it[np.array(taken, np.int64)] if taken else it[:0]

    def value(self, beta: np.ndarray) -> tuple[float, dict, dict]:
        """L(β) (module docstring), each person's best pattern and each provider's knapsack."""
        total = 0.0
        patterns = {}
        for p in self.people:
            patterns[p] = self.best_pattern(p, beta)
            total += patterns[p][0]
        rosters = {}
        for u in self.at:
            rosters[u] = self.knapsack(u, beta)
            total += rosters[u][0]
        return total, patterns, rosters


def _cheapest(ids: np.ndarray, price: np.ndarray, n: int = 3) -> list[tuple[float, int]]:
    """The n cheapest (price, id), ties to the nearest (the lists are nearest first)."""
    if len(ids) == 0:
        return []
    order = np.argsort(price, kind="stable")[:n]
    return [(float(price[i]), int(ids[i])) for i in order]


class _Master:
    """The Dantzig-Wolfe master (module docstring) in HiGHS, grown a column at a time."""

    def __init__(self, items: Items) -> None:
        import highspy

        from gapmap.matching.bound import new_highs

        self.items = items
        self.h = h = new_highs()
        h.setOptionValue("output_flag", False)
        n_i, n_p = items.n, len(items.people)
        self.person_row = {p: n_i + i for i, p in enumerate(items.people)}
        self.provider_row = {u: n_i + n_p + i for i, u in enumerate(sorted(items.at))}
        n = n_i + n_p + len(self.provider_row)
        inf = highspy.kHighsInf
        n_u = len(self.provider_row)
        lower = np.concatenate([np.zeros(n_i), np.ones(n_p), np.full(n_u, -inf)])
        upper = np.concatenate([np.zeros(n_i), np.ones(n_p), np.ones(n_u)])
        h.addRows(n, lower, upper, 0, np.zeros(n, np.int32), np.zeros(0, np.int32), np.zeros(0))
        h.changeObjectiveSense(highspy.ObjSense.kMinimize)
        self.seen: set[tuple] = set()

    def _add(self, cost: float, idx: list[int], val: list[float]) -> None:
        import highspy

        self.h.addCols(1, np.array([cost]), np.zeros(1), np.array([highspy.kHighsInf]),
                       len(idx), np.zeros(1, np.int32), np.array(idx, np.int32),
                       np.array(val, float))  # fmt: skip

    def add_pattern(self, p: int, k: int, v: int, w: int, c: int) -> bool:
        key = ("p", p, k, v, w, c)
        if key in self.seen:
            return False
        self.seen.add(key)
        km, its = self.items.pattern_items(p, k, v, w, c)
        self._add(km, [self.person_row[p], *its], [1.0] * (len(its) + 1))
        return True

    def add_roster(self, u: int, its) -> bool:
        nums = sorted(int(i) for i in its)
        key = ("r", u, *nums)
        if key in self.seen or not nums:
            return False
        self.seen.add(key)
        self._add(0.0, [self.provider_row[u], *nums], [1.0] + [-1.0] * len(nums))
        return True

    def solve(self) -> tuple[float, np.ndarray, np.ndarray]:
        """The master's value, β (minus the item rows' duals) and the other rows' duals."""
        self.h.run()
        dual = np.asarray(self.h.getSolution().row_dual, float)
        n_i = self.items.n
        return float(self.h.getInfo().objective_function_value), -dual[:n_i], dual[n_i:]


def knapsack_bound(
    chosen: dict[int, Match],
    options: list[PersonOptions],
    classes: dict[int, list[ClassArrays]],
    room: np.ndarray,
    settings: Settings,
    mu: np.ndarray,
    seconds: float,
    *,
    rounds: int = 10_000,
    method: str = "subgradient",
) -> dict[str, Any]:
    """The knapsack Lagrangian bound (module docstring) of a matching's people.

    Parameters
    ----------
    chosen
        The matching whose people are kept matched (the master starts from it).
    options
        Every person's candidates (distances).
    classes
        Each matched person's day classes (with room).
    room
        Each provider's free room in hundredths.
    settings
        ``no_cover_penalty_km``.
    mu
        Capacity prices to start from (the distance LP's: then the bound is at least the
        LP's; zeros will do).
    seconds
        Time allowed (a round started is finished).
    rounds
        At most this many rounds (every person priced and every provider's knapsack solved).
    method
        ``"master"`` (the next β: the master's duals) or ``"subgradient"`` (Polyak's step
        towards the km of the matching given, halved after three rounds without a better L).

    Returns
    -------
    dict
        ``bound_km`` (the largest L found: a lower bound on the km of any matching of these
        people), ``start_km`` (L at the LP's prices), ``rounds``, ``seconds``, ``converged``
        (no column priced out: the bound is the best of the formulation), ``master_km`` (the
        last master's value, above the bound until converged).
    """
    t0 = time.perf_counter()
    deadline = t0 + seconds
    people = sorted(chosen)
    items = Items(people, options, classes, room, settings)
    master = _Master(items) if method == "master" else None
    for p in people:  # the matching given: a solution of the master
        m = chosen[p]
        if master is not None:
            master.add_pattern(p, class_of(classes[p], m), m.provider, m.partner, m.cover)
    at: dict[int, list[int]] = {}
    upper = 0.0  # the matching's km, penalties included (the subgradient steps aim at it)
    for p in people:
        m = chosen[p]
        km, its = items.pattern_items(p, class_of(classes[p], m), m.provider, m.partner, m.cover)
        upper += km
        for t in its:
            at.setdefault(int(items.prov[t]), []).append(t)
    for u, its in at.items():
        if master is not None:
            master.add_roster(u, its)
    beta = items.start(mu)
    best = first = -math.inf
    done, converged, z = 0, False, math.inf
    sigma = np.zeros(len(people) + len(items.at))
    lam, since = STEP, 0
    while done < rounds and (done == 0 or time.perf_counter() < deadline):
        val, patterns, rosters = items.value(beta)
        done += 1
        if done == 1:
            first = val
        if val > best + 1e-6:
            best, since = val, 0
        else:
            since += 1
            if since >= PATIENCE:
                lam, since = lam / 2, 0
        if method == "subgradient":
            g = np.zeros(items.n)
            for p in people:
                _, k, v, w, c = patterns[p]
                g[items.pattern_items(p, k, v, w, c)[1]] += 1.0
            for _, its in rosters.values():
                g[its] -= 1.0
            norm = float(g @ g)
            if norm == 0.0:
                converged = True
                break
            beta = beta + lam * max(upper - val, 1e-3) / norm * g
            continue
        assert master is not None
        if val >= z - 1e-7 * max(1.0, abs(z)):
            converged = True  # L(β) reached the master's value: the best of the formulation
            break
        added = 0
        for i, p in enumerate(people):
            cost, k, v, w, c = patterns[p]
            if done == 1 or cost - sigma[i] < -1e-7:
                added += v >= 0 and master.add_pattern(p, k, v, w, c)
        for u, (cost, its) in rosters.items():
            rho = sigma[master.provider_row[u] - items.n]
            if done == 1 or cost - rho < -1e-7:
                added += master.add_roster(u, its)
        if time.perf_counter() > deadline or (not added and not math.isinf(z)):
            break  # (nothing new at the master's duals: the master solved inexactly)
        z, beta, sigma = master.solve()
    return {
        "bound_km": float(max(best, 0.0)),
        "start_km": float(max(first, 0.0)),
        "rounds": done,
        "seconds": round(time.perf_counter() - t0, 2),
        "converged": converged,
        "master_km": None if math.isinf(z) else z,
    }
