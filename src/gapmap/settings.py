"""Every option of gapmap in one place: defaults, meanings and rules, checked once.

A :class:`Settings` is made once (by the command line from its flags, by the web page at start,
or by a Python user) and handed to the :class:`~gapmap.study.Study`; every analysis reads its
options from there. Field names are the library's words; the command line maps them to its
flags (``snap_km`` → ``--snap-km``) when it reports a problem (see :data:`FLAGS`).

Groups of fields:

placing
    ``snap_km`` (2): a point this close outside every area goes to the nearest one;
    ``drop_outside``: leave records outside every area out instead of stopping.
reach
    ``circuity`` (1.0): straight-line distance × circuity is the distance every rule compares
    with a travel limit (people, providers and hypothetical recruits alike).
gaps
    thresholds and weights of the gap flags and score (README "How gaps are flagged"),
    ``enhanced`` for the Gaussian-decay 2SFCA.
matching and suggestions
    ``absence_rate`` (0.15): the cover reserve is absence_rate × the hours covered;
    ``allow_without_cover``; ``match_time_limit_s`` (60, the whole run), ``workers`` (2);
    ``single_provider_margin_km`` (2): a suggestion of one provider working all the person's
    days ranks above a split arrangement (provider and partner) unless the split is more than
    this much nearer; partners and covers already named in another suggestion are swapped for
    others at most this much further, so the suggestions differ; ``dbs_valid_years`` (3): an
    older DBS check keeps a provider out of suggestions.
recruitment
    what recruits are like (hours, radius, days, services), the demand used, the siting time
    limit and the unit costs of :data:`UNIT_COSTS`.
publishing
    ``suppression``: the small-number rule (NHS England: 1-7 hidden, rounding to 5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import Any

from gapmap.errors import InputError, Problem
from gapmap.publish.disclosure import Suppression
from gapmap.vocab import ALL_DAYS_MASK, WEEKDAY_MASK, parse_services

__all__ = ["COVER_TIME_LIMITS", "DEMO_TIME_LIMITS", "FLAGS", "UNIT_COSTS", "Settings"]

#: Unit costs, £ an hour, with their sources (Kent County Council, "Micro-provider market
#: development" report, sections 4.9-4.10, citing Somerset Council's June 2020 evaluation).
UNIT_COSTS = {
    "home_care": (19.68, "commissioned home care, average (Kent report 4.10)"),
    "micro_provider": (15.68, "micro-enterprise, average cost an hour (Kent report 4.9)"),
    "direct_payment": (14.15, "direct payment to people using micro-providers (Kent report 4.10)"),
}

#: Command-line flag of each field whose flag is not simply ``--field-name``.
#: The demo's time limits (a tour of every command that should take about a minute and a half):
#: the defaults of ``gapmap demo``, which ``--time-limit`` and ``--recruit-time-limit`` change.
DEMO_TIME_LIMITS: dict[str, float] = {"match_time_limit_s": 20.0, "recruit_time_limit_s": 20.0}
#: The time limit of ``gapmap cover`` and ``gapmap resilience`` (a plan for the coming week,
#: asked for while staff wait), which ``--time-limit`` changes.
COVER_TIME_LIMITS: dict[str, float] = {"match_time_limit_s": 30.0}

FLAGS = {
    "match_time_limit_s": "--time-limit",
    "recruit_time_limit_s": "--recruit-time-limit",
    "rural_postcodes_per_km2": "--rural-density",
    "recruit_services": "--recruit-services",
}


def flag_of(name: str) -> str:
    """The command-line flag that sets field ``name`` of :class:`Settings`.

    Examples
    --------
    >>> flag_of("snap_km"), flag_of("match_time_limit_s")
    ('--snap-km', '--time-limit')
    """
    return FLAGS.get(name, "--" + name.replace("_", "-"))


@dataclass(frozen=True)
class Settings:
    """All options of an analysis, with their defaults (module docstring for their meaning).

    Make one, then call :meth:`validated` (the :class:`~gapmap.study.Study` does) to have every
    broken rule reported at once, each naming its field.

    Examples
    --------
    >>> s = Settings(circuity=1.3).validated()
    >>> s.snap_m
    2000.0
    >>> Settings(circuity=0.5, absence_rate=2).problems()[0].column
    'circuity'
    """

    # placing
    snap_km: float = 2.0
    drop_outside: bool = False
    # reach
    circuity: float = 1.0
    # gaps
    coverage_threshold: float = 0.5
    weekend_threshold: float = 0.5
    rural_distance_km: float = 10.0
    weekend_weight: float = 0.5
    rural_weight: float = 0.5
    rural_postcodes_per_km2: float = 20.0
    enhanced: bool = False
    # matching and suggestions
    absence_rate: float = 0.15
    allow_without_cover: bool = False
    match_time_limit_s: float = 60.0
    workers: int = 2
    seed: int = 0
    #: km added to the distance objective for a person matched without cover (when allowed)
    no_cover_penalty_km: float = 50.0
    #: km by which a split arrangement must be nearer to rank above one provider for every day
    single_provider_margin_km: float = 2.0
    #: a DBS check older than this many years keeps a provider out of suggestions
    dbs_valid_years: float = 3.0
    #: days a pending referral holds its hours before it releases itself (register database)
    hold_days: int = 7
    # recruitment
    radius_km: float = 10.0
    hours_per_provider: float = 27.0
    per_site: int = 3
    deprivation_weight: float = 0.0
    weekend_working: bool = False
    recruit_services: str = "domestic;social;community;respite"
    need: str = "auto"  # register | estimated | auto (estimated when given)
    recruit_time_limit_s: float = 30.0
    home_care_rate: float = UNIT_COSTS["home_care"][0]
    micro_rate: float = UNIT_COSTS["micro_provider"][0]
    direct_payment_rate: float = UNIT_COSTS["direct_payment"][0]
    weeks_per_year: float = 52.0
    # publishing
    suppression: Suppression = field(default_factory=Suppression)

    # --- derived values ---------------------------------------------------------------------
    @property
    def snap_m(self) -> float:
        """``snap_km`` in metres."""
        return self.snap_km * 1000.0

    @property
    def recruit_service_mask(self) -> int:
        """The services recruits offer, as a bit mask (:mod:`gapmap.vocab`)."""
        return parse_services(self.recruit_services)

    @property
    def recruit_day_mask(self) -> int:
        """The days recruits work: every day with ``weekend_working``, else weekdays."""
        return ALL_DAYS_MASK if self.weekend_working else WEEKDAY_MASK

    def with_(self, **changes: Any) -> Settings:
        """A copy with some fields changed (not yet validated)."""
        return replace(self, **changes)

    # --- the rules --------------------------------------------------------------------------
    def problems(self) -> list[Problem]:
        """Every broken rule, each a :class:`~gapmap.errors.Problem` whose ``column`` is the
        field name (``file`` is ``"settings"``)."""
        out: list[Problem] = []

        def bad(name: str, message: str) -> None:
            out.append(Problem("settings", message, column=name, value=str(getattr(self, name))))

        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, float) and not math.isfinite(v):
                bad(f.name, "must be a finite number")
        rules: list[tuple[str, bool, str]] = [
            ("snap_km", 0 <= self.snap_km <= 50, "must be from 0 to 50 km"),
            ("circuity", 1.0 <= self.circuity <= 5.0, "must be from 1 to 5"),
            ("coverage_threshold", 0 <= self.coverage_threshold <= 1, "must be from 0 to 1"),
            ("weekend_threshold", 0 <= self.weekend_threshold <= 1, "must be from 0 to 1"),
            ("rural_distance_km", self.rural_distance_km >= 0, "must not be negative"),
            ("weekend_weight", self.weekend_weight >= 0, "must not be negative"),
            ("rural_weight", self.rural_weight >= 0, "must not be negative"),
            ("rural_postcodes_per_km2", self.rural_postcodes_per_km2 >= 0, "must not be negative"),
            ("absence_rate", 0 <= self.absence_rate <= 1, "must be from 0 to 1"),
            (
                "single_provider_margin_km",
                0 <= self.single_provider_margin_km <= 50,
                "must be from 0 to 50 km",
            ),
            ("match_time_limit_s", self.match_time_limit_s > 0, "must be more than 0 seconds"),
            ("workers", self.workers >= 1, "must be at least 1"),
            (
                "dbs_valid_years",
                0 < self.dbs_valid_years <= 10,
                "must be more than 0 and at most 10",
            ),
            ("hold_days", 1 <= self.hold_days <= 365, "must be from 1 to 365 days"),
            ("radius_km", 0 < self.radius_km <= 200, "must be more than 0 and at most 200 km"),
            (
                "hours_per_provider",
                0 < self.hours_per_provider <= 168,
                "must be more than 0 and at most 168 hours a week",
            ),
            ("per_site", self.per_site >= 1, "must be at least 1"),
            ("deprivation_weight", self.deprivation_weight >= 0, "must not be negative"),
            (
                "need",
                self.need in ("register", "estimated", "auto"),
                "must be register, estimated or auto",
            ),
            ("recruit_time_limit_s", self.recruit_time_limit_s > 0, "must be more than 0 seconds"),
            ("weeks_per_year", 0 < self.weeks_per_year <= 53, "must be more than 0 and at most 53"),
        ]
        for name in ("home_care_rate", "micro_rate", "direct_payment_rate"):
            rules.append(
                (name, 0 <= getattr(self, name) < 1000, "must be from 0 to 1000 (£ an hour)")
            )
        for name, ok, message in rules:
            value = getattr(self, name)
            if isinstance(value, float) and not math.isfinite(value):
                continue  # already reported
            if not ok:
                bad(name, message)
        try:
            parse_services(self.recruit_services)
        except ValueError as exc:
            bad("recruit_services", str(exc))
        return out

    def validated(self) -> Settings:
        """This object, if every rule holds; else :class:`~gapmap.errors.InputError` listing
        every broken one."""
        found = self.problems()
        if found:
            raise InputError(found)
        return self
