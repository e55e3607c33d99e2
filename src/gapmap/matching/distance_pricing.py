r"""Every matched person's cheapest pattern at capacity prices, all at once (numpy).

For capacity prices μ ≥ 0 (km per hundredth of an hour of each provider's room), the cheapest
pattern of a person p in a day class k minimises

.. math::

    (d_v + a_k \mu_v) + (d_w + b_k \mu_w) + (d_c + r_k \mu_c)

over v, w, c of the class with v ≠ w and c ∉ {v, w} (the partner only when one is needed; no
cover at ``no_cover_penalty_km`` where a cover may be left out), and the three cheapest of each
list suffice. :mod:`gapmap.matching.journeys` does this one class at a time (``_price``); here
every class of every person is priced in a few array operations, so that the Lagrangian

.. math::

    L(\mu) = \sum_p \min_{k, v, w, c} (\ldots) - \sum_u \mu_u\, \mathrm{room}_u

(a lower bound on the km of any matching of the same people, whatever μ ≥ 0 is: weak duality)
can be evaluated some hundreds of times in the seconds the distance stage has, and maximised by
a subgradient method (:func:`lagrangian_bound`; Held, Wolfe & Crowder, *Validation of
subgradient optimization*, Math. Programming 6, 1974, with Polyak's step). Its maximum is the
distance LP's optimum; every value on the way is already a valid bound.

With no km (``distance=None``) it is the pricing of objective (1)'s column generation, the
capacity prices alone (:func:`gapmap.matching.bound.relaxation`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from gapmap.matching.patterns import ClassArrays

__all__ = ["DistancePricer", "lagrangian_bound"]


class DistancePricer:
    """The matched people's day classes flattened into arrays, priced together.

    Parameters
    ----------
    people
        The matched people.
    classes
        Each person's day classes (with room), :func:`gapmap.matching.patterns.class_arrays`.
    distance
        Each person's km to each provider (``PersonOptions.distance``); None: no km, the
        capacity prices alone (the column generation of objective (1),
        :func:`gapmap.matching.bound.relaxation`).
    penalty
        Each person's km counted for no cover (``no_cover_penalty_km`` if they need one);
        None: none.
    """

    def __init__(
        self,
        people: list[int],
        classes: dict[int, list[ClassArrays]],
        distance: dict[int, dict[int, float]] | None,
        penalty: dict[int, float] | None,
    ) -> None:
        rows: list[tuple[int, ClassArrays]] = [
            (i, cls) for i, p in enumerate(people) for cls in classes[p] if len(cls.providers)
        ]
        self.people = people
        self.owner = np.array([i for i, _ in rows], np.int64)  # class -> person position
        self.k = np.array([cls.k for _, cls in rows], np.int64)
        n = len(rows)
        self.n_classes = n
        self.needs_partner = np.array([len(cls.partners) > 0 for _, cls in rows], bool)
        self.cover_optional = np.array([cls.cover_optional for _, cls in rows], bool)
        self.penalty = np.array([penalty[people[i]] if penalty else 0.0 for i, _ in rows], float)
        self.load = {
            "v": np.array([cls.a for _, cls in rows], np.int64),
            "w": np.array([cls.b for _, cls in rows], np.int64),
            "c": np.array([cls.r for _, cls in rows], np.int64),
        }
        self.lists: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}  # class, id, km
        self.segments: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.seg_of: dict[str, np.ndarray] = {}
        for role, attr in (("v", "providers"), ("w", "partners"), ("c", "covers")):
            lists = [getattr(cls, attr) for _, cls in rows]
            sizes = np.array([len(us) for us in lists], np.int64)
            ids = np.concatenate(lists).astype(np.int64) if n else np.zeros(0, np.int64)
            ci = np.repeat(np.arange(n, dtype=np.int64), sizes)
            if distance is None:
                dist = np.zeros(len(ids))
            else:
                dist = np.array([distance[people[i]][u] for (i, _), us in zip(rows, lists)
                                 for u in us.tolist()], float)  # fmt: skip
            self.lists[role] = (ci, ids, dist)
            starts = np.flatnonzero(np.r_[True, np.diff(ci) != 0]) if len(ci) else ci
            self.segments[role] = (starts, ci[starts])
            # each entry's segment
            self.seg_of[role] = np.cumsum(np.r_[True, np.diff(ci) != 0]) - 1 if len(ci) else ci

    def _three(self, role: str, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each class's three cheapest of a list: (price, provider), shape (classes, 3); inf and
        -1 where the list is shorter. Ties go to the nearest (the lists are nearest first).

        A list's entries lie together, class after class, so each of the three is a minimum
        over segments (``reduceat``), the first entry reaching it taken and then put aside."""
        ci, ids, dist = self.lists[role]
        price_out = np.full((self.n_classes, 3), np.inf)
        id_out = np.full((self.n_classes, 3), -1, np.int64)
        if not len(ci):
            return price_out, id_out
        starts, seg_class = self.segments[role]
        price = dist + self.load[role][ci] * mu[ids]
        at = np.arange(len(ci))
        for rank in range(3):
            least = np.minimum.reduceat(price, starts)
            first = np.minimum.reduceat(np.where(price <= least[self.seg_of[role]], at, len(ci)),
                                        starts)  # fmt: skip
            found = np.isfinite(least)
            price_out[seg_class[found], rank] = least[found]
            id_out[seg_class[found], rank] = ids[first[found]]
            if rank < 2:
                price[first[found]] = np.inf
        return price_out, id_out

    def price(self, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every class's cheapest pattern at prices ``mu``.

        Parameters
        ----------
        mu
            Capacity prices, one per provider, at least 0.

        Returns
        -------
        (numpy.ndarray, numpy.ndarray)
            Its priced km per class, and its (v, w, c) per class (shape (classes, 3); -1 for
            no partner or no cover; v = -1 and an infinite price where none fits).
        """
        pv, iv = self._three("v", mu)
        pw, iw = self._three("w", mu)
        pc, ic = self._three("c", mu)
        n = self.n_classes
        # no partner needed: one choice, -1 at no cost
        pw = np.where(self.needs_partner[:, None], pw, np.array([0.0, np.inf, np.inf]))
        iw = np.where(self.needs_partner[:, None], iw, -1)
        # no cover: a fourth choice where a cover may be left out
        pc = np.concatenate([pc, np.where(self.cover_optional, self.penalty, np.inf)[:, None]],
                            axis=1)  # fmt: skip
        ic = np.concatenate([ic, np.full((n, 1), -1, np.int64)], axis=1)
        cost = pv[:, :, None, None] + pw[:, None, :, None] + pc[:, None, None, :]
        V, W, C = iv[:, :, None, None], iw[:, None, :, None], ic[:, None, None, :]
        bad = (W >= 0) & (W == V)
        bad = bad | ((C >= 0) & ((C == V) | (C == W)))
        cost = np.where(bad, np.inf, cost).reshape(n, -1)
        best = np.argmin(cost, axis=1)
        a, rest = np.divmod(best, 3 * 4)
        b, c = np.divmod(rest, 4)
        rows = np.arange(n)
        ways = np.stack([iv[rows, a], iw[rows, b], ic[rows, c]], axis=1)
        return cost[rows, best], ways

    def lagrangian(self, mu: np.ndarray, room: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """L(μ), each person's cheapest class (index into the classes), and its ways.

        Parameters
        ----------
        mu
            Capacity prices (km per hundredth of an hour), one per provider, at least 0.
        room
            Each provider's free room in hundredths.

        Returns
        -------
        (float, numpy.ndarray, numpy.ndarray)
            The bound, the chosen class of each person (positions into this pricer's
            classes), and every class's cheapest (v, w, c).
        """
        best, chosen, ways = self.cheapest(mu)
        value = float(best.sum()) - float(mu @ room)
        return value, chosen, ways

    def cheapest(self, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each person's least priced km over their classes, the first class reaching it, and
        every class's cheapest (v, w, c).

        Parameters
        ----------
        mu
            Capacity prices, one per provider, at least 0.

        Returns
        -------
        (numpy.ndarray, numpy.ndarray, numpy.ndarray)
            Per person the least (inf where no class has a way) and its class (a position into
            this pricer's classes, -1 where none); and :meth:`price`'s ways.
        """
        cost, ways = self.price(mu)
        n_people = len(self.people)
        best = np.full(n_people, np.inf)
        np.minimum.at(best, self.owner, cost)
        # the first class reaching each person's least
        hit = np.flatnonzero(cost <= best[self.owner])
        chosen = np.full(n_people, -1, np.int64)
        chosen[self.owner[hit[::-1]]] = hit[::-1]
        return best, chosen, ways

    def loads(self, chosen: np.ndarray, ways: np.ndarray, n_providers: int) -> np.ndarray:
        """Each provider's load (hundredths) when every person takes their chosen pattern.

        Parameters
        ----------
        chosen
            Each person's class (a position into this pricer's classes), from
            :meth:`lagrangian`.
        ways
            Every class's (v, w, c), from :meth:`lagrangian` or :meth:`price`.
        n_providers
            How many providers there are.

        Returns
        -------
        numpy.ndarray
            The load on each provider.
        """
        out = np.zeros(n_providers)
        for role, col in (("v", 0), ("w", 1), ("c", 2)):
            u = ways[chosen, col]
            has = u >= 0
            np.add.at(out, u[has], self.load[role][chosen][has])
        return out


def lagrangian_bound(
    pricer: DistancePricer,
    room: np.ndarray,
    upper: float,
    seconds: float,
    mu: np.ndarray | None = None,
    stop: Callable[[], bool] = lambda: False,
    each: Callable[[float, np.ndarray], None] | None = None,
) -> tuple[float, np.ndarray, int]:
    """The best L(μ) found by subgradient steps, from ``mu`` (zeros if None).

    Parameters
    ----------
    pricer
        The people's classes (:class:`DistancePricer`).
    room
        Each provider's free room in hundredths.
    upper
        The km of a matching of the same people (Polyak's step aims between it and L).
    seconds
        Time allowed.
    mu
        Prices to start from.
    stop
        Returns True to stop early.
    each
        Called with (best bound, its μ) each time the bound improves.

    Returns
    -------
    (float, numpy.ndarray, int)
        The best bound, its μ, and the rounds done.
    """
    deadline = time.perf_counter() + seconds
    room = room.astype(float)
    mu = np.zeros(len(room)) if mu is None else mu.astype(float).copy()
    best, best_mu = -np.inf, mu.copy()
    step, since, rounds = 1.0, 0, 0
    while rounds == 0 or (time.perf_counter() < deadline and not stop()):
        value, chosen, ways = pricer.lagrangian(mu, room)
        rounds += 1
        if value > best + 1e-9:
            best, best_mu, since = value, mu.copy(), 0
            if each is not None:
                each(best, best_mu)
        else:
            since += 1
            if since >= 5:
                step, since = step / 2, 0
                mu = best_mu.copy()  # go on from the best point
                continue
        g = pricer.loads(chosen, ways, len(room)) - room
        g[(mu <= 0) & (g < 0)] = 0.0  # a price at zero cannot fall
        norm = float(g @ g)
        if norm == 0.0 or step < 1e-4:
            break
        target = max(upper, best + 1e-6 * max(1.0, abs(best)))
        mu = np.maximum(0.0, mu + step * (target - value) / norm * g)
    return float(best), best_mu, rounds
