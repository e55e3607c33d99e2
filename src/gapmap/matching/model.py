"""Batch matching of a waiting list: the optimiser behind ``gapmap match``.

The method (column generation for the LP bound of the full model, then CP-SAT over the
patterns found, then shortest journeys) and its formulation are in
:mod:`gapmap.matching.batch`. This module runs it within the time limit, started from the
greedy baseline, and turns the result into a :class:`~gapmap.matching.result.MatchResult`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pandas as pd

from gapmap.matching.batch import solve_by_columns
from gapmap.matching.candidates import PersonOptions
from gapmap.matching.greedy import journey_km
from gapmap.matching.result import MatchResult
from gapmap.reach import room_units
from gapmap.settings import Settings

__all__ = ["solve_matching"]


def solve_matching(
    people: pd.DataFrame,
    providers: pd.DataFrame,
    options: list[PersonOptions],
    settings: Settings = Settings(),
    *,
    hint: MatchResult | None = None,
    deadline: float | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> MatchResult:
    """Solve the batch matching (method in :mod:`gapmap.matching.batch`).

    Parameters
    ----------
    people, providers
        The registers.
    options
        Candidates from :func:`gapmap.matching.candidates.build_candidates`, with every
        eligible provider kept (the full model).
    settings
        ``match_time_limit_s``, ``absence_rate``, ``allow_without_cover``, ``workers``.
    hint
        A feasible solution to start from (the greedy one); the result is never worse.
    deadline
        ``time.perf_counter()`` by which to finish (default: now + the time limit).
    stop
        Returns True once the user asked to stop: the best matching so far is kept.

    Returns
    -------
    MatchResult
        ``best_bound`` is the bound of the full model (all eligible candidates).
    """
    t0 = time.perf_counter()
    deadline = deadline if deadline is not None else t0 + settings.match_time_limit_s
    room = room_units(providers)
    active = [o.person for o in options if not o.reason]
    start = hint.matches if hint is not None else {}
    if hint is not None and (time.perf_counter() > deadline - 1.0 or stop()):
        # no time left after the candidates and the greedy pass: the greedy matching it is
        return MatchResult(
            dict(hint.matches), dict(hint.reasons), "cp-sat", "FEASIBLE", hint.objective,
            sum(options[p].priority * options[p].hours for p in active),
            time.perf_counter() - t0, hint.distance_km, {"note": "no time left to optimise"},
        )  # fmt: skip
    out = solve_by_columns(
        active, options, room, settings, deadline=deadline, start=start, stop=stop,
        provider_xy=providers[["x", "y"]].to_numpy(float),
    )  # fmt: skip
    matches = out["matches"]
    reasons = {o.person: o.reason for o in options if o.reason}
    for o in options:
        if not o.reason and o.person not in matches:
            reasons[o.person] = "no_capacity"
    dist = journey_km(matches, options)
    return MatchResult(
        matches,
        reasons,
        "cp-sat",
        "OPTIMAL" if out["proven"] else "FEASIBLE",
        out["objective"],
        out["bound"],
        time.perf_counter() - t0,
        dist,
        {
            "patterns": out["columns"],
            "lp_rounds": out["iterations"],
            "lp_converged": out["lp_converged"],
            "journeys_search": out.get("journeys", {}),
        },
    )
