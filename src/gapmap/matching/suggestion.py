"""A suggestion as answered: each provider suggested (:class:`Suggestion`) and the whole answer.

The answer for one person (:meth:`gapmap.matching.suggest.Suggester.suggest`): a status, the
suggestions or the advice, who was left out and why, and the nearest changes that would help;
:meth:`SuggestionList.as_dict` is what ``--json`` and the web API return.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

__all__ = ["Suggestion", "SuggestionList"]


@dataclass
class Suggestion:
    """One suggested provider, with partner and cover where needed, and why it fits."""

    provider_id: str
    name: str
    distance_km: float
    free_hours: float
    days_given: str
    hours_given: float
    partner_id: str | None
    partner_name: str | None
    partner_distance_km: float | None
    partner_days: str | None
    partner_hours: float | None
    cover_id: str | None
    cover_name: str | None
    cover_distance_km: float | None
    why: str
    phone: str = ""
    email: str = ""
    website: str = ""
    partner_phone: str = ""
    cover_phone: str = ""
    #: whether the provider, partner and cover are registered with the CQC
    cqc_registered: bool = False
    partner_cqc_registered: bool | None = None
    cover_cqc_registered: bool | None = None
    #: the safety words for staff and the person (:func:`gapmap.safety.suggestion_safety`)
    safety: str = ""
    #: what families ask (README "What families ask"); None/"" when not recorded
    price_per_hour: float | None = None
    languages: str = ""
    dbs_checked_on: str = ""
    insurance_until: str = ""
    verified_on: str = ""
    last_updated: str = ""
    cover_email: str = ""


@dataclass(frozen=True)
class _Option:
    """A provider that can take the person on, before it is put in words."""

    rank: float  # the distance it is ranked by (a split arrangement's is raised by the margin)
    distance: float
    v: int  # provider (study row)
    T: int  # days it gives
    give: float  # hours it gives
    S: int  # days the partner gives
    w: int  # partner (-1: none)
    c: int  # cover (-1: none)


@dataclass
class SuggestionList:
    """The answer for one person: a status, suggestions or advice, and who was left out."""

    status: str  # "ok", "none", "not_self_directing", "regulated_care_unavailable"
    suggestions: list[Suggestion] = field(default_factory=list)
    advice: str = ""
    left_out: list[dict] = field(default_factory=list)  # with --explain
    reasons: list[str] = field(default_factory=list)  # why nothing fits, in words
    changes: list[str] = field(default_factory=list)  # the nearest changes that would fit
    #: providers in reach left out because their insurance or DBS check lapsed, in words
    notices: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """The answer as plain data (for ``--json`` and the API)."""
        return {
            "status": self.status,
            "advice": self.advice,
            "reasons": self.reasons,
            "changes": self.changes,
            "suggestions": [asdict(s) for s in self.suggestions],
            "left_out": self.left_out,
            "notices": self.notices,
        }


def _notices(left_out: list[dict]) -> list[str]:
    """The providers left out because their checks lapsed, in words for staff."""
    return [
        f"{r['name']} ({r['provider_id']}), {r['distance_km']:.1f} km: {r['why']}"
        for r in left_out
        if str(r["why"]).startswith("not suggested:")
    ]
