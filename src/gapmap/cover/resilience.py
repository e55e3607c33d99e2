"""Resilience (N−1): what one provider's week off would leave uncovered, provider by provider.

For each provider v that gives anyone hours, ``uncovered_if_absent_hours`` is the weekly hours
that the best cover plan (:mod:`gapmap.cover.plan`, level 1: priority × hours covered) leaves
uncovered if v alone is off a whole week. Per area a (the areas of the people who would lose
hours, SPEC.md "Resilience (N−1)"):

* ``expected_uncovered_hours[a] = Σ_v absence_rate × uncovered_v,a``;
* ``worst_single_absence_hours[a] = max_v uncovered_v,a``.

**Why it is fast.** v's absence touches only the people v gives hours to and the providers
eligible with them, so each provider's question is its own small model (a few dozen needs),
built from structures made once for the study (the eligible pairs, each provider's room, who
gives hours to whom). Most are settled without a solver: if a simple assignment (fewest
candidates first, into the candidate with most room left) covers every need that has any
candidate, no plan can cover more, so it is optimal; only the rest go to the solver (level 1 only:
the uncovered hours do not depend on the tie-breaks).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gapmap.cover.levels import _solve
from gapmap.cover.needs import _Context, _Needs, _room, arrangements
from gapmap.study import Study

log = logging.getLogger(__name__)

__all__ = ["Resilience", "n_minus_one"]

#: A Monday: the week every provider is imagined off (only the weekdays matter).
_WEEK = [dt.date(2001, 1, 1) + dt.timedelta(days=i) for i in range(7)]


@dataclass
class Resilience:
    """N−1 figures, exact (publish them through :mod:`gapmap.publish.cover`).

    Attributes
    ----------
    providers
        One row per provider: ``provider_id, name, area_code, people_affected,
        hours_affected, uncovered_if_absent_hours, people_left_uncovered, method, status``
        (internal: exact figures).
    areas
        One row per area: ``area_code, area_name, district_code, district_name,
        people_supported, expected_uncovered_hours, worst_single_absence_hours,
        worst_single_absence_people`` (exact; suppress before publishing).
    seconds
        Wall time.
    solved
        How many providers' plans needed the solver (the rest were proven by the simple
        assignment).
    absence_rate
        The rate the expected hours were weighted by.
    """

    providers: pd.DataFrame
    areas: pd.DataFrame
    seconds: float
    solved: int
    absence_rate: float = 0.15


def _greedy_covers_all(ctx: _Context, needs: _Needs) -> np.ndarray | None:
    """An assignment covering every need that has a candidate, or None if this one fails."""
    left: dict[int, int] = {}
    choice = np.full(len(needs), -1, np.int64)
    order = sorted(range(len(needs)), key=lambda i: (len(needs.cand[i]), -needs.units[i]))
    for i in order:
        cand = needs.cand[i]
        if len(cand) == 0:
            continue
        best, best_room = -1, -1
        for k, c in enumerate(cand.tolist()):
            room = left.get(c, _room(ctx, needs, c, 0))
            if room >= needs.units[i] and room > best_room:
                best, best_room = k, room
        if best < 0:
            return None
        c = int(cand[best])
        left[c] = best_room - needs.units[i]
        choice[i] = best
    return choice


def n_minus_one(
    study: Study,
    matches: pd.DataFrame,
    *,
    deadline: float | None = None,
    committed_includes_matches: bool = False,
) -> Resilience:
    """N−1 resilience of the arrangements in ``matches`` (module docstring).

    Parameters
    ----------
    study
        The registers, areas and settings (``absence_rate``, ``workers``,
        ``match_time_limit_s`` for the whole run).
    matches
        A ``matches.csv`` frame.
    deadline
        ``time.perf_counter()`` by which to be done (default: now + the time limit). A provider
        whose model runs out of time keeps its best plan (status ``FEASIBLE``).
    committed_includes_matches
        As for :func:`~gapmap.cover.cover_plan`.

    Returns
    -------
    Resilience
    """
    t0 = time.perf_counter()
    settings = study.settings
    deadline = deadline if deadline is not None else t0 + settings.match_time_limit_s
    arr = arrangements(study, matches)
    ctx = _Context(study, arr, committed_includes_matches)
    providers, people = study.providers, study.people
    p_area = people["area_code"].astype(str).to_numpy()
    rows = []
    by_area: dict[tuple[int, str], tuple[list[float], set[int]]] = {}  # (v, area): hours, people
    solved = 0
    givers = sorted(ctx.gives)
    for j, v in enumerate(givers):
        off = {d: {v} for d in _WEEK}
        needs = ctx.needs(off)
        choice = _greedy_covers_all(ctx, needs)
        method, status = "every need with a candidate covered", "OPTIMAL"
        if choice is None:
            solved += 1
            remaining = max(0.05, (deadline - time.perf_counter()) / max(1, len(givers) - j))
            sol = _solve(ctx, needs, seconds=min(remaining * 4, deadline - time.perf_counter()),
                         workers=1, seed=settings.seed)  # fmt: skip
            choice, method, status = sol.choice, "solver", sol.status
        hours = np.asarray(needs.hours, float)
        person = np.asarray(needs.person, np.int64)
        lost = choice < 0
        for p, h in zip(person[lost].tolist(), hours[lost].tolist()):
            hours_of, who = by_area.setdefault((v, p_area[p]), ([0.0], set()))
            hours_of[0] += h
            who.add(p)
        rows.append(
            {
                "provider_id": providers["provider_id"].iloc[v],
                "name": providers["name"].iloc[v],
                "area_code": providers["area_code"].iloc[v],
                "people_affected": len(set(person.tolist())),
                "hours_affected": round(float(hours.sum()), 2),
                "uncovered_if_absent_hours": round(float(hours[lost].sum()), 2),
                "people_left_uncovered": len(set(person[lost].tolist())),
                "method": method,
                "status": status,
            }
        )
    log.info(f"  N-1: {len(givers)} providers, {solved} needed the solver, "
        f"{time.perf_counter() - t0:.1f} s")  # fmt: skip
    prov = pd.DataFrame(rows, columns=[
        "provider_id", "name", "area_code", "people_affected", "hours_affected",
        "uncovered_if_absent_hours", "people_left_uncovered", "method", "status",
    ])  # fmt: skip
    prov = prov.sort_values(["uncovered_if_absent_hours", "people_left_uncovered"],
                            ascending=False, kind="stable").reset_index(drop=True)  # fmt: skip
    areas = study.areas[["area_code", "area_name", "district_code", "district_name"]].copy()
    supported = pd.Series(p_area[arr.person]).value_counts() if len(arr) else pd.Series(
        dtype=int)  # fmt: skip
    areas["people_supported"] = areas["area_code"].map(supported).fillna(0).astype(int)
    expected: dict[str, float] = {}
    worst: dict[str, tuple[float, int]] = {}
    for (_, a), (hours_of, who) in by_area.items():
        h = hours_of[0]
        # SPEC "Resilience (N-1)": the chance a provider is off × what its absence leaves
        # uncovered here (an expectation, not the cover reserve of reach.cover_reserve)
        expected[a] = expected.get(a, 0.0) + settings.absence_rate * h
        if h > worst.get(a, (0.0, 0))[0]:
            worst[a] = (h, len(who))
    areas["expected_uncovered_hours"] = areas["area_code"].map(expected).fillna(0.0)
    areas["worst_single_absence_hours"] = areas["area_code"].map(
        {a: w[0] for a, w in worst.items()}).fillna(0.0)  # fmt: skip
    areas["worst_single_absence_people"] = areas["area_code"].map(
        {a: w[1] for a, w in worst.items()}).fillna(0).astype(int)  # fmt: skip
    areas = pd.DataFrame(areas.drop(columns=[c for c in ("geometry",) if c in areas]))
    return Resilience(prov, areas.reset_index(drop=True), time.perf_counter() - t0, solved,
                      settings.absence_rate)  # fmt: skip
