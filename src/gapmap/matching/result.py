"""The shape of a batch matching: who gets whom, and why the rest do not."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["Match", "MatchResult"]


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
