"""Matching people to providers: batch (CP-SAT), greedy baseline, checker, suggestions.

:func:`match` runs the whole batch: eligible pairs (reach), candidate roles, the greedy
baseline, the CP-SAT model started from it, and the independent checker; it returns one
:class:`Matching`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from gapmap.errors import GapmapError
from gapmap.matching.candidates import REASONS, build_candidates
from gapmap.matching.check import check_matching
from gapmap.matching.greedy import greedy_match
from gapmap.matching.journeys import journey_figures
from gapmap.matching.model import solve_matching
from gapmap.matching.result import Match, Matching, MatchResult
from gapmap.study import Study

log = logging.getLogger(__name__)

__all__ = [
    "match",
    "Matching",
    "MatchResult",
    "Match",
    "REASONS",
    "greedy_match",
    "solve_matching",
    "check_matching",
    "build_candidates",
    "MatchingError",
]


class MatchingError(GapmapError, RuntimeError):
    """A matcher produced a result that breaks a rule: a bug, never the user's fault."""


def match(
    study: Study,
    *,
    deadline: float | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> Matching:
    """Match a study's waiting list to its providers.

    Parameters
    ----------
    study
        Areas, registers and settings; matching uses the study's one :class:`Reach`, every
        eligible provider of it, and ``absence_rate``, ``allow_without_cover``,
        ``match_time_limit_s`` and ``workers`` of its settings.
    deadline
        ``time.perf_counter()`` by which to be done (default: now + the time limit).
    stop
        Returns True once the user asked to stop (Ctrl-C): the best matching so far is kept.

    Returns
    -------
    Matching
        The optimised matching (``.best``) and the greedy baseline (``.greedy``), both
        checked by the independent checker (:func:`check_matching`), with the matches table,
        the figures (objective, bound, share of the bound, journeys) and the status. The
        optimised one is never worse than greedy.

    Raises
    ------
    MatchingError
        if the checker finds any broken rule in either result (nothing should then be written).

    Examples
    --------
    >>> import gapmap
    >>> study = gapmap.datasets.demo_study(match_time_limit_s=3)
    >>> matching = gapmap.match(study)
    >>> matching.objective >= matching.greedy.objective, matching.matched > 0
    (True, True)
    >>> matching.table.columns[:3].tolist()
    ['person_id', 'status', 'provider_id']
    """
    import time

    settings = study.settings
    deadline = (
        deadline if deadline is not None else time.perf_counter() + (settings.match_time_limit_s)
    )
    people, providers = study.people, study.providers
    log.info(f"  who can reach whom: {len(study.reach):,} eligible person-provider pairs")
    options = build_candidates(
        people,
        providers,
        study.reach,
        max_candidates=None,
        allow_without_cover=settings.allow_without_cover,
        in_area=study.in_area,
    )
    greedy = greedy_match(people, providers, options, settings)
    log.info(
        f"  by hand (most urgent first, nearest with room): {len(greedy.matches):,} "
        f"matched, {greedy.objective:,.0f} urgency-weighted hours"
    )
    best = solve_matching(
        people, providers, options, settings, hint=greedy, deadline=deadline, stop=stop
    )
    for result in (best, greedy):
        problems = check_matching(
            people,
            providers,
            result,
            absence_rate=settings.absence_rate,
            allow_without_cover=settings.allow_without_cover,
            circuity=settings.circuity,
        )
        if problems:
            raise MatchingError(
                f"the {result.method} matching broke {len(problems)} rule(s): "
                + "; ".join(problems[:5])
            )
    best.details["distance_of"] = {p: options[p].distance for p in range(len(options))}
    for result in (best, greedy):
        result.details["journeys"] = journey_figures(result.matches, options)
    bound = best.details.get("journeys_search", {}).get("bound_km")
    best.details["journeys"]["bound_km"] = bound
    best.details["journeys"]["bound_converged"] = bool(
        best.details.get("journeys_search", {}).get("bound_converged", False)
    )
    j = best.details["journeys"]
    log.info(
        f"  journeys: {j['km_total']:,.0f} km over every role"
        + (f" (no matching of the same people needs less than {bound:,.0f} km)" if bound else "")
    )
    return Matching(best, greedy, study)
