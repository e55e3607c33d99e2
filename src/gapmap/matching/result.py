"""The shape of a batch matching: who gets whom, and why the rest do not.

:class:`MatchResult` is one matcher's outcome (the optimiser's, or the greedy baseline's);
:class:`Matching` is what :func:`gapmap.match` returns: both, with the study, the matches table
and the figures a notebook asks for.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import folium

    from gapmap.study import Study

__all__ = ["Match", "MatchResult", "Matching"]


@dataclass(frozen=True)
class Match:
    """One matched person: positions of the providers in the register, and the hours."""

    provider: int
    partner: int  # -1: none needed
    cover: int  # -1: none (not needed, or allowed without)
    provider_hours: float
    partner_hours: float


@dataclass
class MatchResult:
    """The outcome of a matcher, with an honest account of how good it is."""

    matches: dict[int, Match]
    reasons: dict[int, str]  # unmatched person -> reason
    method: str
    status: str = "FEASIBLE"
    objective: float = 0.0  # sum of priority x hours over matched people
    best_bound: float | None = None
    seconds: float = 0.0
    distance_km: float = 0.0
    details: dict = field(default_factory=dict)

    @property
    def gap(self) -> float | None:
        """Relative gap to the best bound (None without a bound)."""
        if self.best_bound is None or self.best_bound <= 0:
            return None
        return max(0.0, (self.best_bound - self.objective) / self.best_bound)

    def table(self, people: pd.DataFrame, providers: pd.DataFrame, distance) -> pd.DataFrame:
        """``matches.csv``: one row per person (SPEC.md).

        Parameters
        ----------
        people, providers
            The registers matched.
        distance
            ``distance(p, v)`` gives the km between person p and provider v.

        Returns
        -------
        DataFrame
        """
        ids = providers["provider_id"].to_numpy()
        rows = []
        for p in range(len(people)):
            pid = people["person_id"].iloc[p]
            m = self.matches.get(p)
            if m is None:
                rows.append(
                    {
                        "person_id": pid,
                        "status": "unmatched",
                        "reason": self.reasons.get(p, "no_capacity"),
                    }
                )
                continue
            rows.append(
                {
                    "person_id": pid,
                    "status": "matched",
                    "provider_id": ids[m.provider],
                    "partner_provider_id": ids[m.partner] if m.partner >= 0 else "",
                    "cover_provider_id": ids[m.cover] if m.cover >= 0 else "",
                    "hours": float(people["hours"].iloc[p]),
                    "provider_hours": round(m.provider_hours, 2),
                    "partner_hours": round(m.partner_hours, 2),
                    "distance_km": round(distance(p, m.provider), 2),
                    "partner_distance_km": round(distance(p, m.partner), 2)
                    if m.partner >= 0
                    else np.nan,
                    "cover_distance_km": round(distance(p, m.cover), 2) if m.cover >= 0 else np.nan,
                    "reason": ""
                    if m.cover >= 0 or not bool(people["needs_cover"].iloc[p])
                    else "matched_without_cover",
                }
            )
        cols = [
            "person_id",
            "status",
            "provider_id",
            "partner_provider_id",
            "cover_provider_id",
            "hours",
            "provider_hours",
            "partner_hours",
            "distance_km",
            "partner_distance_km",
            "cover_distance_km",
            "reason",
        ]
        return pd.DataFrame(rows).reindex(columns=cols)


@dataclass(eq=False, repr=False)
class Matching:
    """What :func:`gapmap.match` found: the optimised matching checked against every rule, the
    greedy baseline it was started from, and the study matched.

    Attributes
    ----------
    best
        The optimised :class:`MatchResult` (never worse than ``greedy``).
    greedy
        The baseline: most urgent first, each given the nearest provider with room.
    study
        The study matched.

    Examples
    --------
    >>> import gapmap
    >>> m = gapmap.match(gapmap.datasets.demo_study(match_time_limit_s=3))
    >>> m.status in ("OPTIMAL", "FEASIBLE"), m.objective >= m.greedy.objective
    (True, True)
    >>> len(m.table), int((m.table["status"] == "matched").sum()) == m.matched
    (2500, True)
    >>> m  # doctest: +ELLIPSIS
    Matching(status='...', matched=... of 2,500 people, objective=..., share of the bound=...)
    """

    best: MatchResult
    greedy: MatchResult
    study: Study

    def __repr__(self) -> str:
        share = "unknown" if self.share is None else f"{self.share:.3f}"
        return (
            f"Matching(status={self.status!r}, matched={self.matched:,} of "
            f"{len(self.study.people):,} people, objective={self.objective:,.1f}, "
            f"share of the bound={share})"
        )

    @property
    def status(self) -> str:
        """The solver's status: ``"OPTIMAL"`` (proven best) or ``"FEASIBLE"``."""
        return self.best.status

    @property
    def objective(self) -> float:
        """Urgency-weighted hours matched: Σ priority × hours over the matched people."""
        return self.best.objective

    @property
    def bound(self) -> float | None:
        """An upper bound on the objective of any matching under the same rules (or None)."""
        return self.best.best_bound

    @property
    def share(self) -> float | None:
        """The objective as a share of the bound (1 means proven best; None without a bound)."""
        gap = self.best.gap
        return None if gap is None else 1.0 - gap

    @property
    def matched(self) -> int:
        """How many people are matched."""
        return len(self.best.matches)

    @property
    def journeys(self) -> dict[str, Any]:
        """Journey figures of the matching: ``km_total`` over every role, the lower bound
        ``bound_km`` (None when not found) and the share of people given their nearest
        provider (:func:`gapmap.matching.journeys.journey_figures`)."""
        return dict(self.best.details.get("journeys", {}))

    def distance_km(self, person: int, provider: int) -> float:
        """Km between a person and a provider (rows of the study's registers) as matching
        measured it (NaN for a pair that was not eligible).

        Parameters
        ----------
        person, provider
            Positions in ``study.people`` and ``study.providers``.

        Returns
        -------
        float
        """
        return self.best.details.get("distance_of", {}).get(person, {}).get(provider, math.nan)

    @cached_property
    def table(self) -> pd.DataFrame:
        """``matches.csv``: one row per person (SPEC.md). **Internal**: it holds person ids."""
        return self.best.table(self.study.people, self.study.providers, self.distance_km)

    def figures(self) -> dict[str, Any]:
        """The exact figures (internal; ``summary.json`` publishes them suppressed).

        Returns
        -------
        dict
            ``status``, ``people``, ``matched``, ``matched_hours``, ``objective``, ``bound``,
            ``share``, ``greedy_matched``, ``greedy_objective``, ``unmatched_by_reason`` and
            ``journeys``.
        """
        hours = self.study.people["hours"].to_numpy(float)
        return {
            "status": self.status,
            "people": len(self.study.people),
            "matched": self.matched,
            "matched_hours": float(sum(hours[p] for p in self.best.matches)),
            "objective": self.objective,
            "bound": self.bound,
            "share": self.share,
            "greedy_matched": len(self.greedy.matches),
            "greedy_objective": self.greedy.objective,
            "unmatched_by_reason": dict(sorted(Counter(self.best.reasons.values()).items())),
            "journeys": self.journeys,
        }

    def explore(self, *, title: str = "gapmap: who the matching leaves waiting") -> folium.Map:
        """An interactive map of the matching by area, for a notebook (published figures only:
        people counts suppressed, hours rounded, no person's place or id).

        Parameters
        ----------
        title
            The heading above the map.

        Returns
        -------
        folium.Map
            Shown by a notebook as it is; :func:`gapmap.publish.maps.save_map` writes it.
        """
        from gapmap.publish.explore import matching_map

        return matching_map(self, title=title)
