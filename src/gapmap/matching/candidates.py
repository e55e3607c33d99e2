"""Who may take which role for whom: the candidate lists every matcher works from.

For a person p with days P and an eligible provider v (from :mod:`gapmap.reach`):

* v may be p's **provider** if it works at least one of p's days. It gives the days
  ``T = P & days(v)`` and ``hours(p) × |T| / |P|`` hours.
* If ``S = P − T`` is not empty, p needs a **partner** w ≠ v, eligible, working every day of S;
  w gives the rest of the hours.
* If p needs cover, a **cover** provider c ∉ {v, w}, eligible, willing to cover, working every
  day of T.

Partner and cover depend on v only through T (the days v gives), so candidates are grouped in
**day classes**: one class per distinct T among p's possible providers. Batch matching keeps
every eligible candidate (the full model); ``max_candidates`` can keep only the nearest few per
role and class (covers two more, since a cover may not be the person's own provider or
partner). The reasons for people who cannot be matched at
all are decided here, before any solver runs.
"""

from __future__ import annotations

import contextlib
import gc
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gapmap.reach import Reach, hours_on_days

__all__ = ["DayClass", "PersonOptions", "build_candidates", "REASONS"]

#: Unmatched reasons, in the order they are tried (SPEC.md, plus ``outside_areas`` for people
#: left out with ``drop_outside`` and ``no_provider_on_days``).
REASONS = (
    "outside_areas",
    "not_self_directing",
    "no_provider_in_reach",
    "no_provider_on_days",
    "no_cover",
    "no_capacity",
)


@dataclass
class DayClass:
    """Providers that would give the same days T, with their partner and cover candidates."""

    days: int  # T, the days the provider gives
    missing: int  # S, the days a partner must give (0: no partner needed)
    provider_hours: float
    partner_hours: float
    providers: list[int] = field(default_factory=list)
    partners: list[int] = field(default_factory=list)
    covers: list[int] = field(default_factory=list)


@dataclass
class PersonOptions:
    """Everything a matcher may choose for one person; ``reason`` set if nothing can be chosen."""

    person: int
    hours: float
    priority: int
    needs_cover: bool
    classes: list[DayClass]
    distance: dict[int, float]  # provider position -> km
    reason: str | None = None


def build_candidates(
    people: pd.DataFrame,
    providers: pd.DataFrame,
    reach: Reach,
    *,
    max_candidates: int | None = None,
    allow_without_cover: bool = False,
    in_area: np.ndarray | None = None,
) -> list[PersonOptions]:
    """Candidate roles for every person (see the module docstring).

    Parameters
    ----------
    people, providers
        The registers; ``reach`` their eligible pairs.
    max_candidates
        Nearest candidates kept per role and day class (None: every eligible one, the full
        model that batch matching uses).
    allow_without_cover
        Let people who need cover be matched without one.
    in_area
        People inside an area (default all); the others get reason ``outside_areas``.

    Returns
    -------
    list of PersonOptions
        One per person, in register order.
    """
    p_days = people["day_mask"].to_numpy(np.int64)
    v_days = providers["day_mask"].to_numpy(np.int64)
    v_cover = providers["cover"].to_numpy(bool)
    hours = people["hours"].to_numpy(float)
    priority = (
        people["priority"].to_numpy(np.int64)
        if "priority" in people
        else np.full(len(people), 3, dtype=np.int64)
    )
    needs_cover = (
        people["needs_cover"].to_numpy(bool)
        if "needs_cover" in people
        else np.ones(len(people), bool)
    )
    self_dir = (
        people["self_directing"].to_numpy(bool)
        if "self_directing" in people
        else np.ones(len(people), bool)
    )
    cap = max_candidates if max_candidates is not None else 1 << 30
    bounds = reach.bounds()
    out: list[PersonOptions] = []
    v_days_list = v_days.tolist()
    cover_l = v_cover.tolist()
    # the pairs as plain lists once: each person's slice is then cheap
    prov_all = reach.provider.tolist()
    dist_all = reach.distance_km.tolist()
    bounds_l = np.asarray(bounds).tolist()

    with _no_cycle_collection():
        _fill_candidates(
            out, len(people), bounds_l, prov_all, dist_all, v_days_list, cover_l,
            p_days.tolist(), hours.tolist(), priority.tolist(), needs_cover.tolist(),
            self_dir.tolist(), None if in_area is None else np.asarray(in_area).tolist(), cap,
            allow_without_cover,
        )  # fmt: skip
    return out


def _fill_candidates(
    out,
    n,
    bounds_l,
    prov_all,
    dist_all,
    v_days_list,
    cover_l,
    p_days,
    hours,
    priority,
    needs_cover,
    self_dir,
    in_area,
    cap,
    allow_without_cover,
) -> None:
    """The per-person loop of :func:`build_candidates`."""  # fmt: skip
    for p in range(n):
        lo, hi = bounds_l[p], bounds_l[p + 1]
        elig_l = prov_all[lo:hi]  # nearest first
        dist = dict(zip(elig_l, dist_all[lo:hi]))
        opts = PersonOptions(p, hours[p], priority[p], needs_cover[p], [], dist)
        out.append(opts)
        if in_area is not None and not in_area[p]:
            opts.reason = "outside_areas"
            continue
        if not self_dir[p]:
            opts.reason = "not_self_directing"
            continue
        if not elig_l:
            opts.reason = "no_provider_in_reach"
            continue
        P = p_days[p]
        # a few dozen providers per person: plain lists are faster here than small arrays
        days_l = [v_days_list[v] for v in elig_l]
        given_l = [P & d for d in days_l]  # the days each eligible provider would give
        want_cover = bool(needs_cover[p] or allow_without_cover)
        classes: dict[int, DayClass] = {}
        for T in dict.fromkeys(g for g in given_l if g):  # in order of the nearest
            own = hours_on_days(hours[p], P, T)
            cls = classes[T] = DayClass(T, P & ~T, own, hours[p] - own)
            cls.providers = [v for v, g in zip(elig_l, given_l) if g == T][:cap]
            if cls.missing:
                m = cls.missing
                cls.partners = [v for v, d in zip(elig_l, days_l) if d & m == m][:cap]
            if want_cover:
                cls.covers = [v for v, d in zip(elig_l, days_l) if cover_l[v] and d & T == T][
                    : cap + 2
                ]
        # keep only classes where a whole match can be formed (ignoring capacity)
        usable, no_cover = [], False
        for cls in classes.values():
            if cls.missing and not cls.partners:
                continue
            if needs_cover[p] and not allow_without_cover and not _cover_possible(cls):
                no_cover = True
                continue
            usable.append(cls)
        opts.classes = usable
        if not usable:
            opts.reason = "no_cover" if no_cover else "no_provider_on_days"


@contextlib.contextmanager
def _no_cycle_collection():
    """Millions of small acyclic objects: pause the cycle collector while they are made (it
    would only rescan them, and its pauses grew the 100,000-person build by half)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _cover_possible(cls: DayClass) -> bool:
    """Is there a provider v, partner w (if needed) and cover c ∉ {v, w} in this class?"""
    partners = cls.partners if cls.missing else [-1]
    for v in cls.providers:
        for w in partners:
            if any(c != v and c != w for c in cls.covers):
                return True
    return False
