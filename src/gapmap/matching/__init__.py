"""Matching people to providers: batch (CP-SAT), greedy baseline, checker, suggestions.

:func:`match` runs the whole batch: eligible pairs (reach), candidate roles, the greedy
baseline, the CP-SAT model started from it, and the independent checker.
"""

from __future__ import annotations

from collections.abc import Callable

from gapmap.errors import GapmapError
from gapmap.matching.candidates import REASONS, build_candidates
from gapmap.matching.check import check_matching
from gapmap.matching.greedy import greedy_match
from gapmap.matching.journeys import journey_figures
from gapmap.matching.model import solve_matching
from gapmap.matching.result import Match, MatchResult
from gapmap.study import Study

__all__ = [
    "match",
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
    say: Callable[[str], None] | None = None,
    deadline: float | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> tuple[MatchResult, MatchResult]:
    """Match a study's waiting list to its providers; returns ``(optimised, greedy)``.

    Parameters
    ----------
    study
        Areas, registers and settings; matching uses the study's one :class:`Reach`, every
        eligible provider of it, and ``absence_rate``, ``allow_without_cover``,
        ``match_time_limit_s`` and ``workers`` of its settings.
    say
        Called with progress messages.
    deadline
        ``time.perf_counter()`` by which to be done (default: now + the time limit).
    stop
        Returns True once the user asked to stop (Ctrl-C): the best matching so far is kept.

    Returns
    -------
    (MatchResult, MatchResult)
        The optimised matching and the greedy baseline, both checked by the independent
        checker (:func:`check_matching`). The optimised one is never worse than greedy.

    Raises
    ------
    MatchingError
        if the checker finds any broken rule in either result (nothing should then be written).

    Examples
    --------
    >>> inputs = gapmap.StudyInputs(providers="p.csv", people="q.csv")  # doctest: +SKIP
    >>> study = gapmap.Study.read(inputs)                               # doctest: +SKIP
    >>> best, greedy = gapmap.match(study)                              # doctest: +SKIP
    >>> best.objective >= greedy.objective                              # doctest: +SKIP
    True
    """
    import time

    settings = study.settings
    deadline = (
        deadline if deadline is not None else time.perf_counter() + (settings.match_time_limit_s)
    )
    people, providers = study.people, study.providers
    if say is not None:
        say(f"  who can reach whom: {len(study.reach):,} eligible person-provider pairs")
    options = build_candidates(
        people,
        providers,
        study.reach,
        max_candidates=None,
        allow_without_cover=settings.allow_without_cover,
        in_area=study.in_area,
    )
    greedy = greedy_match(people, providers, options, settings)
    if say is not None:
        say(
            f"  by hand (most urgent first, nearest with room): {len(greedy.matches):,} "
            f"matched, {greedy.objective:,.0f} urgency-weighted hours"
        )
    best = solve_matching(
        people, providers, options, settings, hint=greedy, say=say, deadline=deadline, stop=stop
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
    if say is not None:
        j = best.details["journeys"]
        say(
            f"  journeys: {j['km_total']:,.0f} km over every role"
            + (
                f" (no matching of the same people needs less than {bound:,.0f} km)"
                if bound
                else ""
            )
        )
    return best, greedy
