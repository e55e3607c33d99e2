r"""Patterns (columns) of the batch matching, and their pricing.

**Patterns.** For a person p, a *pattern* j is one whole way of matching them: a provider v, a
partner w when v does not work all of p's days, and a cover c when p needs one (SPEC.md,
"Matching"), drawn from *every* eligible provider (not only the nearest few). Pattern j puts
a load on each provider it names, in hundredths of an hour (:mod:`gapmap.reach`): ``a_j`` on
v (the hours of the days v works), ``b_j`` on w (the rest) and ``r_j`` on c (the cover
reserve, :func:`gapmap.reach.cover_units`). A pattern whose load on some provider is more than
that provider's whole free room is left out: no matching can use it, and keeping it would let
the relaxation serve a person by spreading them over providers none of whom could take them
(on the Kent year-3 demo that alone made the bound 0.3% looser).

A person's patterns are grouped by *day class* k (:class:`ClassArrays`): the providers,
partners and covers eligible for one split of their days, nearest first, with the loads
``a_k``, ``b_k``, ``r_k`` every pattern of the class puts on them.

**Pricing.** Given capacity prices π (the duals of the master problem,
:mod:`gapmap.matching.bound`), the best pattern of a person in a day class k is

.. math::

    \min_{v, w, c} \; a_k \pi_v + b_k \pi_w + r_k \pi_c
    \quad\text{over } v, w, c \text{ of the class with } v \ne w,\; c \notin \{v, w\}:

the three cheapest of each list suffice, ties going to the nearest
(:func:`price_patterns`). Its reduced cost is ``W_p − α_p − (a π_v + b π_w + r π_c)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from gapmap.matching.candidates import PersonOptions
from gapmap.matching.result import Match
from gapmap.reach import cover_units, load_units
from gapmap.settings import Settings

__all__ = [
    "ClassArrays",
    "Classes",
    "PatternPool",
    "Way",
    "class_arrays",
    "class_of",
    "enumerate_patterns",
    "match_of",
    "pattern_loads",
    "pool_loads",
    "price_patterns",
    "seed_pool",
]

#: a pattern as it is stored: (day class, provider, partner, cover); -1 for none
Way = tuple[int, int, int, int]


@dataclass
class ClassArrays:
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
    index: dict[tuple[int, int, int, int, int], int] = field(default_factory=dict)

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


#: each person's day classes, by person
Classes = dict[int, list[ClassArrays]]


def class_arrays(
    o: PersonOptions, settings: Settings, room: np.ndarray | None = None
) -> list[ClassArrays]:
    """A person's day classes as arrays.

    Parameters
    ----------
    o
        The person's candidates.
    settings
        ``absence_rate`` and ``allow_without_cover``.
    room
        Each provider's free room in hundredths: when given, each list keeps only the
        providers whose room could take that role's load on its own (no integer matching can
        use the rest).

    Returns
    -------
    list of ClassArrays
        One per day class, in the order of ``o.classes``.
    """
    out = []
    for k, cls in enumerate(o.classes):
        use_cover = o.needs_cover or settings.allow_without_cover
        a = load_units(cls.provider_hours)
        b = load_units(cls.partner_hours)
        r = cover_units(cls.provider_hours, settings.absence_rate)
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
            ClassArrays(
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


def price_patterns(cls: ClassArrays, pi: np.ndarray) -> tuple[float, int, int, int]:
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


def seed_pool(pool: PatternPool, people_idx: list[int], classes: Classes, n_providers: int) -> None:
    """The first patterns: each person's cheapest of each day class at zero prices (the
    nearest providers that fit).

    Parameters
    ----------
    pool
        The pool, grown in place.
    people_idx, classes
        The people and their day classes.
    n_providers
        How many providers there are.
    """
    zero = np.zeros(n_providers)
    for p in people_idx:
        for cls in classes[p]:
            _, v, w, c = price_patterns(cls, zero)
            if v >= 0:
                pool.add(p, cls.k, v, w, c)


def enumerate_patterns(classes: list[ClassArrays]) -> list[Way]:
    """Every pattern of a person, as ``(k, v, w, c)`` (small instances only)."""
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


def pattern_loads(cls: ClassArrays, v: int, w: int, c: int) -> list[tuple[int, int]]:
    """A pattern's load on each provider it names, in hundredths of an hour.

    Parameters
    ----------
    cls
        The pattern's day class.
    v, w, c
        Provider, partner (-1: none) and cover (-1: none).

    Returns
    -------
    list of (provider, load)
    """
    out = [(v, cls.a)]
    if w >= 0:
        out.append((w, cls.b))
    if c >= 0:
        out.append((c, cls.r))
    return out


def pool_loads(pool: PatternPool, j: int, classes: Classes) -> list[tuple[int, int]]:
    """The load of the pool's pattern ``j`` on each provider it names (:func:`pattern_loads`).

    Parameters
    ----------
    pool, j
        The pool and the pattern's position in it.
    classes
        Each person's day classes.

    Returns
    -------
    list of (provider, load)
    """
    cls = classes[pool.person[j]][pool.k[j]]
    return pattern_loads(cls, pool.v[j], pool.w[j], pool.c[j])


def match_of(pool: PatternPool, j: int, classes: Classes) -> Match:
    """The pool's pattern ``j`` as a :class:`~gapmap.matching.result.Match`.

    Parameters
    ----------
    pool, j
        The pool and the pattern's position in it.
    classes
        Each person's day classes (for the hours of each role).

    Returns
    -------
    Match
    """
    cls = classes[pool.person[j]][pool.k[j]]
    return Match(pool.v[j], pool.w[j], pool.c[j], cls.provider_hours, cls.partner_hours)


def class_of(classes: list[ClassArrays], m: Match) -> int:
    """The day class a match belongs to (its provider and partner are eligible in it).

    Parameters
    ----------
    classes
        The person's day classes.
    m
        Their match.

    Returns
    -------
    int
        The class's position in ``classes``.
    """
    for k, cls in enumerate(classes):
        if m.provider in cls.providers.tolist() and (
            m.partner < 0 or m.partner in cls.partners.tolist()
        ):
            return k
    raise ValueError("a match outside the person's classes")  # a bug, never the user's
