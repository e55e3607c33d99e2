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

**Only β ≥ 0 is needed.** A subset of a roster is a roster (the :math:`K_u` are closed
downwards), so relaxing :math:`x \le y` instead of :math:`x = y` loses nothing: a negative
:math:`\beta_t` only lowers the person's part (the knapsack never takes an item of positive
cost), so :math:`L(\max(\beta, 0)) \ge L(\beta)` and the multipliers are kept non-negative.

**Solving for β** (``method="subgradient"``, the default): the projected subgradient method
with Polyak's step (Polyak 1969; Held, Wolfe & Crowder 1974, *Math. Programming* 6, 62-88).
At β, the people's best patterns x and the providers' rosters y give :math:`g = x - y \in
\partial L(\beta)`, and

.. math::

    \beta \leftarrow \max\Bigl(0,\; \beta + \lambda \frac{U - L(\beta)}{\lVert g \rVert^2}
    g\Bigr),

with U the km of the matching given (an upper bound) and λ starting at 1, halved after three
rounds without a better L. It starts at the LP's prices. Each L computed is a valid bound and
the largest is reported (``bound_km``) with the β that gave it (``multipliers``).

**A round's cost.** The people's part is three cheapest entries per list. The knapsacks are
the bulk: a provider's knapsack is solved again only when one of its multipliers changed
(late rounds change few of them); an item of a person is left out when another of the same
person at the same provider is no heavier and no cheaper (dominance, Sinha & Zoltners 1979,
*Oper. Res.* 27, 503-515; about a third of the items at Kent year-3 scale); the dynamic
programme runs over the room in units of the gcd of the loads, a numpy operation per item.
At Kent year-3 scale (848 people, 60,097 items, 413 providers) a round takes about 0.2 s on
a quiet core, at Somerset scale (2,421 people, 631,827 items, 1,167 providers) about 1.4 s.

**Within a deadline.** ``deadline=`` (a :func:`time.perf_counter` time) or ``seconds``: the
first round always finishes (it gives at least the LP bound, from the LP's prices); any later
round not finished by then is dropped, so the call overruns by at most one first round.

**Also available, not the default.** ``method="master"``: the Dantzig-Wolfe master of the
formulation (HiGHS, warm-started; a column per pattern and per roster; rows: each person one
pattern, each provider one roster at most, each item :math:`x_t - y_t \le 0`) gives the next
β as its duals, and the patterns and rosters that price out are added. It is exact
(``converged``: L reached the master's value, the best of the formulation) and is what the
tests use on small registers; at Kent year-3 scale a master solve takes seconds and the
master did not move off the matching given in minutes, as it did not with Wentges' smoothing
(1997) of its duals towards the best β. The volume algorithm (Barahona & Anbil 2000, *Math.
Programming* 87, 385-399) was measured too and was slower than the step above
(``docs/benchmarks.md``, "Journeys").
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
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
        self._rosters: dict[int, tuple[np.ndarray, tuple[float, np.ndarray]]] = {}
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
        return self.best_pattern_items(p, beta)[:5]

    def best_pattern_items(self, p: int, beta: np.ndarray) -> tuple:
        """As :meth:`best_pattern`, with the pattern's item numbers last.

        Parameters
        ----------
        p
            The person.
        beta
            The multipliers, by item.

        Returns
        -------
        tuple
            (value, class, provider, partner, cover, list of item numbers); -1 for none.
        """
        best: tuple = (math.inf, -1, -1, -1, -1, [])
        for k in range(len(self.classes[p])):
            row = self.table.get((p, k))
            if row is None:
                continue
            cls, nv, nw, nc, dv, dw, dc, none = row
            vs = _cheapest(cls.providers, dv + beta[nv], nv)
            ws = (_cheapest(cls.partners, dw + beta[nw], nw) if len(cls.partners)
                  else [(0.0, -1, -1)])  # fmt: skip
            cs = _cheapest(cls.covers, dc + beta[nc], nc) if len(cls.covers) else []
            if cls.cover_optional:
                cs = cs + [(none, -1, -1)]
            for pv, v, iv in vs:
                for pw, w, iw in ws:
                    if w == v:
                        continue
                    for pc, c, ic in cs:
                        if c >= 0 and c in (v, w):
                            continue
                        if pv + pw + pc < best[0] - 1e-12:
                            its = [i for i in (iv, iw, ic) if i >= 0]
                            best = (pv + pw + pc, k, v, w, c, its)
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
        # within a person, an item heavier than another and no cheaper is never needed
        fit = ld <= cap
        order = np.lexsort((cost, ld, pp))
        order = order[fit[order]]
        pp_o = pp[order]
        first = np.ones(len(order), bool)
        first[1:] = pp_o[1:] != pp_o[:-1]
        spread = float(cost.max() - cost.min()) * 2 + 1.0
        shifted = cost[order] - np.cumsum(first) * spread  # each person below the last
        low = np.minimum.accumulate(shifted)
        keep = first.copy()
        keep[1:] |= shifted[1:] < low[:-1] - 1e-9
        order, first = order[keep], first[keep]
        g = max(1, int(np.gcd.reduce(ld)))
        w_all = ld // g
        cap //= g
        groups = np.split(order, np.flatnonzero(first)[1:])
        dp = np.zeros(cap + 1)  # least value within each capacity
        seen = [dp]
        tmp = np.empty(cap + 1)
        ws, cs = w_all.tolist(), cost.tolist()
        for grp_j in groups:
            new = dp.copy()
            for j in grp_j.tolist():
                w = ws[j]
                top = cap + 1 - w
                np.add(dp[:top], cs[j], out=tmp[:top])
                np.minimum(new[w:], tmp[:top], out=new[w:])
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

    def roster(self, u: int, beta: np.ndarray) -> tuple[float, np.ndarray]:
        """:meth:`knapsack`, remembered: solved again only when u's multipliers changed.

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
        b = beta[self.at[u]]
        got = self._rosters.get(u)
        if got is not None and np.array_equal(got[0], b):
            return got[1]
        out = self.knapsack(u, beta)
        self._rosters[u] = (b, out)
        return out

    def value(
        self, beta: np.ndarray, deadline: float = math.inf
    ) -> tuple[float, dict, dict] | None:
        """L(β) (module docstring), with each person's best pattern and each provider's
        knapsack.

        Parameters
        ----------
        beta
            The multipliers, by item.
        deadline
            A :func:`time.perf_counter` time; the round is given up after it.

        Returns
        -------
        (float, dict, dict) or None
            L(β); each person's (value, class, provider, partner, cover, items); each
            provider's (value, items). None if the deadline passed before the round was done
            (no bound then).
        """
        total = 0.0
        patterns = {}
        for p in self.people:
            patterns[p] = self.best_pattern_items(p, beta)
            total += patterns[p][0]
        rosters = {}
        for i, u in enumerate(self.at):
            if i % 16 == 0 and time.perf_counter() > deadline:
                return None
            rosters[u] = self.roster(u, beta)
            total += rosters[u][0]
        return total, patterns, rosters

    def subgradient(self, patterns: dict, rosters: dict) -> np.ndarray:
        """x − y at a round's answer: +1 on the items the people's patterns use, −1 on those
        the providers' rosters take.

        Parameters
        ----------
        patterns
            Each person's best pattern, as :meth:`value` gives it.
        rosters
            Each provider's knapsack, as :meth:`value` gives it.

        Returns
        -------
        numpy.ndarray
            A subgradient of L at the round's β, by item.
        """
        g = np.zeros(self.n)
        for pat in patterns.values():
            g[pat[5]] += 1.0
        for _, its in rosters.values():
            g[its] -= 1.0
        return g


def _cheapest(
    ids: np.ndarray, price: np.ndarray, nums: np.ndarray, n: int = 3
) -> list[tuple[float, int, int]]:
    """The n cheapest (price, id, item number), ties to the nearest (the lists are nearest
    first)."""
    if len(ids) == 0:
        return []
    order = np.argsort(price, kind="stable")[:n]
    return [(float(price[i]), int(ids[i]), int(nums[i])) for i in order]


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
        lower = np.concatenate([np.full(n_i, -inf), np.ones(n_p), np.full(n_u, -inf)])
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
    deadline: float | None = None,
    each: Callable[[float], None] | None = None,
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
        Time allowed (the first round always finishes; a later round not finished in time
        is dropped).
    rounds
        At most this many rounds (every person priced and every provider's knapsack solved).
    method
        ``"master"`` (the next β: the master's duals) or ``"subgradient"`` (Polyak's step
        towards the km of the matching given, halved after three rounds without a better L).
    deadline
        A :func:`time.perf_counter` time to stop by, as ``seconds`` (the earlier of the two);
        for the distance stage, which has a deadline.
    each
        Called with the bound each time it rises (so that a caller stopped at its deadline
        keeps the best so far).

    Returns
    -------
    dict
        ``bound_km`` (the largest L found: a lower bound on the km of any matching of these
        people), ``start_km`` (L at the LP's prices), ``rounds``, ``seconds``, ``converged``
        (no column priced out: the bound is the best of the formulation), ``master_km`` (the
        last master's value, above the bound until converged), ``trace`` (seconds and bound
        each time the bound rose) and ``multipliers`` (the β of the bound).
    """
    t0 = time.perf_counter()
    deadline = t0 + seconds if deadline is None else min(deadline, t0 + seconds)
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
    beta = np.maximum(items.start(mu), 0.0)
    best = first = -math.inf
    done, converged, z = 0, False, math.inf
    sigma = np.zeros(len(people) + len(items.at))
    lam, since = STEP, 0
    trace: list[tuple[float, float]] = []
    best_beta = beta
    while done < rounds and (done == 0 or time.perf_counter() < deadline):
        got = items.value(beta, math.inf if done == 0 else deadline)
        if got is None:
            break
        val, patterns, rosters = got
        done += 1
        if done == 1:
            first = val
        if val > best + 1e-6:
            best, since, best_beta = val, 0, beta
            trace.append((round(time.perf_counter() - t0, 3), best))
            if each is not None:
                each(float(max(best, 0.0)))
        else:
            since += 1
            if since >= PATIENCE:
                lam, since = lam / 2, 0
        if method == "subgradient":
            g = items.subgradient(patterns, rosters)
            norm = float(g @ g)
            if norm == 0.0:
                converged = True
                break
            beta = np.maximum(beta + lam * max(upper - val, 1e-3) / norm * g, 0.0)
            continue
        assert master is not None
        if val >= z - 1e-7 * max(1.0, abs(z)):
            converged = True  # L(β) reached the master's value: the best of the formulation
            break
        added = 0
        for i, p in enumerate(people):
            cost, k, v, w, c, _ = patterns[p]
            if done == 1 or cost - sigma[i] < -1e-7:
                added += v >= 0 and master.add_pattern(p, k, v, w, c)
        for u, (cost, its) in rosters.items():
            rho = sigma[master.provider_row[u] - items.n]
            if done == 1 or cost - rho < -1e-7:
                added += master.add_roster(u, its)
        if time.perf_counter() > deadline or (not added and not math.isinf(z)):
            break  # (nothing new at the master's duals: the master solved inexactly)
        z, beta, sigma = master.solve()
        beta = np.maximum(beta, 0.0)
    return {
        "bound_km": float(max(best, 0.0)),
        "start_km": float(max(first, 0.0)),
        "rounds": done,
        "seconds": round(time.perf_counter() - t0, 2),
        "converged": converged,
        "master_km": None if math.isinf(z) else z,
        "trace": trace,
        "multipliers": best_beta,
    }
