"""Every option of gapmap in one place: defaults, meanings and rules, checked once.

A :class:`Settings` is made once (by the command line from its flags, by the web page at start,
or by a Python user) and handed to the :class:`~gapmap.study.Study`; every analysis reads its
options from there, or :meth:`Settings.from_toml` reads them from a settings file. Field names
are the library's words; each field's metadata holds its help text, its group (:data:`GROUPS`:
which commands take it) and, where it differs from ``--field-name``, its flag (:data:`FLAGS`):
the command line's options are made from them (:mod:`gapmap.cli.options`).

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

import difflib
import math
import os
import textwrap
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from gapmap._toml import KIND_WORDS, key_problem, suppression_from, toml_value, typed
from gapmap.errors import InputError, Problem
from gapmap.publish.disclosure import Suppression
from gapmap.vocab import ALL_DAYS_MASK, WEEKDAY_MASK, parse_services

__all__ = ["COVER_TIME_LIMITS", "DEMO_TIME_LIMITS", "FLAGS", "GROUPS", "UNIT_COSTS", "Settings"]

#: Unit costs, £ an hour, with their sources (Kent County Council, "Micro-provider market
#: development" report, sections 4.9-4.10, citing Somerset Council's June 2020 evaluation).
UNIT_COSTS = {
    "home_care": (19.68, "commissioned home care, average (Kent report 4.10)"),
    "micro_provider": (15.68, "micro-enterprise, average cost an hour (Kent report 4.9)"),
    "direct_payment": (14.15, "direct payment to people using micro-providers (Kent report 4.10)"),
}

#: The demo's time limits (a tour of every command that should take about a minute and a half):
#: the defaults of ``gapmap demo``, which ``--time-limit`` and ``--recruit-time-limit`` change.
DEMO_TIME_LIMITS: dict[str, float] = {"match_time_limit_s": 20.0, "recruit_time_limit_s": 20.0}
#: The time limit of ``gapmap cover`` and ``gapmap resilience`` (a plan for the coming week,
#: asked for while staff wait), which ``--time-limit`` changes.
COVER_TIME_LIMITS: dict[str, float] = {"match_time_limit_s": 30.0}


#: The groups of options and the commands that take them: the command line gives each of these
#: commands a flag for every field of the group (a field's metadata holds its group, help text
#: and, where it is not ``--field-name``, its flag). Fields of no group are set in Python or in
#: a settings file (:meth:`Settings.from_toml`) only.
GROUPS: dict[str, tuple[str, ...]] = {
    "placing": (
        "gaps", "report", "recruit", "match", "suggest", "serve", "check", "db import", "cover",
        "resilience",
    ),
    "reach": (
        "gaps", "report", "recruit", "match", "suggest", "serve", "refer", "cover", "resilience",
    ),
    # (resilience: the gap analysis of its gap map with the N-1 layers)
    "gaps": ("demo", "gaps", "report", "recruit", "resilience"),
    # every matching and suggestion
    "matching": ("demo", "match", "suggest", "serve", "refer", "cover", "resilience"),
    # a whole batch run (matching, cover plans)
    "batch": ("demo", "match", "cover", "resilience"),
    # one person's suggestions
    "suggestions": ("suggest", "serve", "refer"),
    "referrals": ("refer",),
    # DBS checks: what suggestions trust and what the directory's checks list as due
    "dbs": (
        "demo", "match", "suggest", "serve", "refer", "cover", "resilience", "directory checks",
    ),
    "recruitment": ("demo", "report", "recruit"),
    # what an hour and a year are worth: recruitment's savings and compare's value of a change
    "value": ("demo", "report", "recruit", "compare"),
}  # fmt: skip


def _option(
    default: Any,
    group: str | None,
    help: str,
    *,
    flag: str | None = None,
    choices: tuple[str, ...] | None = None,
) -> Any:
    """A field of :class:`Settings` with its group (:data:`GROUPS`), help text and flag."""
    metadata: dict[str, Any] = {"group": group, "help": help}
    if flag is not None:
        metadata["flag"] = flag
    if choices is not None:
        metadata["choices"] = choices
    return field(default=default, metadata=metadata)


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
    snap_km: float = _option(
        2.0, "placing", "points this far (km) outside every area go to the nearest"
    )
    drop_outside: bool = _option(
        False, "placing",
        "do not stop at records outside every area: leave such people out of every analysis "
        "(match reports them unmatched, reason outside_areas)",
    )  # fmt: skip
    # reach
    circuity: float = _option(1.0, "reach", "scale straight-line distance toward road distance")
    # gaps
    coverage_threshold: float = _option(0.5, "gaps", "rural gap below this share of need in reach")
    weekend_threshold: float = _option(
        0.5, "gaps", "weekend gap below this weekend share of need in reach"
    )
    rural_distance_km: float = _option(
        10.0, "gaps", "rural gap if the nearest provider is further (km)"
    )
    weekend_weight: float = _option(0.5, "gaps", "gap score weight of a weekend gap")
    rural_weight: float = _option(0.5, "gaps", "gap score weight of a rural gap")
    rural_postcodes_per_km2: float = _option(
        20.0, "gaps", "fallback: rural below this many postcodes per km²", flag="--rural-density"
    )
    enhanced: bool = _option(False, "gaps", "enhanced 2SFCA with Gaussian distance decay")
    # matching and suggestions
    absence_rate: float = _option(
        0.15, "matching", "share of a covered person's hours a cover provider keeps free"
    )
    allow_without_cover: bool = _option(
        False, "matching", "match people who need cover even when no cover provider is free"
    )
    match_time_limit_s: float = _option(
        60.0, "batch", "seconds for the whole matching run, reading included", flag="--time-limit"
    )
    workers: int = _option(2, "batch", "solver threads")
    seed: int = _option(0, None, "seed of the solvers' random choices")
    no_cover_penalty_km: float = _option(
        50.0, None, "km added to the distance objective for a person matched without cover "
        "(when allowed)",
    )  # fmt: skip
    single_provider_margin_km: float = _option(
        2.0, "suggestions",
        "a split arrangement (provider and partner) ranks above one provider for every day "
        "only if this much nearer (km)",
    )  # fmt: skip
    dbs_valid_years: float = _option(
        3.0, "dbs", "a DBS check older than this (years) is due: it is not suggested, and "
        "gapmap directory checks lists it",
    )  # fmt: skip
    hold_days: int = _option(7, "referrals", "days a pending referral holds its hours")
    # recruitment
    radius_km: float = _option(10.0, "recruitment", "how far a new provider travels (km)")
    hours_per_provider: float = _option(27.0, "recruitment", "hours a week each new provider gives")
    per_site: int = _option(3, "recruitment", "at most this many new providers in one area")
    deprivation_weight: float = _option(
        0.0, "recruitment",
        "raise an area's recruitment priority by up to this share in the most deprived IMD "
        "decile (with --imd)",
    )  # fmt: skip
    weekend_working: bool = _option(
        False, "recruitment", "new providers work every day (default: weekdays)"
    )
    recruit_services: str = _option(
        "domestic;social;community;respite", "recruitment", "services new providers offer"
    )
    need: str = _option(
        "auto", "recruitment",
        "demand: the register's unmet hours, or estimated need (auto: estimated when "
        "--census is given)",
        choices=("auto", "register", "estimated"),
    )  # fmt: skip
    recruit_time_limit_s: float = _option(
        30.0, "recruitment", "seconds for each siting solve", flag="--recruit-time-limit"
    )
    home_care_rate: float = _option(
        UNIT_COSTS["home_care"][0], "value", f"£ an hour: {UNIT_COSTS['home_care'][1]}"
    )
    micro_rate: float = _option(
        UNIT_COSTS["micro_provider"][0], "value", f"£ an hour: {UNIT_COSTS['micro_provider'][1]}"
    )
    direct_payment_rate: float = _option(
        UNIT_COSTS["direct_payment"][0], "recruitment",
        f"£ an hour: {UNIT_COSTS['direct_payment'][1]}",
    )  # fmt: skip
    weeks_per_year: float = _option(
        52.0, "value", "weeks a year, for the yearly savings and the yearly value of a change"
    )
    # publishing
    suppression: Suppression = field(
        default_factory=Suppression,
        metadata={
            "group": None,
            "help": "the small-number rule: counts from low to high are hidden, the rest "
            "rounded to base (a [suppression] table in a settings file)",
        },
    )

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

    # --- from a file ----------------------------------------------------------------------
    @classmethod
    def from_toml(cls, path: str | os.PathLike[str], *, base: Settings | None = None) -> Settings:
        r"""Settings from a TOML file whose keys are the field names (the rest from ``base``).

        The small-number rule is a ``[suppression]`` table (``low``, ``high``, ``base``). An
        unknown key, a value of the wrong type and a value breaking a rule are each reported,
        all at once, as an :class:`~gapmap.errors.InputError` naming the file and the key.

        Parameters
        ----------
        path
            The TOML file (``data/settings_example.toml`` shows every key).
        base
            The values of the keys the file leaves out (default: :class:`Settings`'
            defaults).

        Returns
        -------
        Settings
            Validated.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "kent.toml"
        >>> _ = f.write_text("circuity = 1.3\nworkers = 4\n[suppression]\nhigh = 10\n")
        >>> s = Settings.from_toml(f)
        >>> s.circuity, s.workers, s.suppression.high, s.suppression.base
        (1.3, 4, 10, 5)
        >>> _ = f.write_text("circuity = 'far'\nworker = 4\nabsence_rate = 2\n")
        >>> try:
        ...     Settings.from_toml(f)
        ... except InputError as e:
        ...     print(e.describe().replace(str(f), "kent.toml"))
        3 problems found:
          - kent.toml: key 'circuity' must be a number (found "'far'")
          - kent.toml: key 'worker' is not a setting (did you mean workers?)
          - kent.toml: key 'absence_rate' must be from 0 to 1 (found '2')
        """
        name = str(path)
        try:
            text = Path(path).read_bytes().decode("utf-8")
        except FileNotFoundError:
            raise InputError(Problem(name, "not found")) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(
                Problem(name, f"cannot be read as a UTF-8 text file ({exc})")
            ) from None
        try:
            table = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(Problem(name, f"is not a TOML file: {exc}")) from None
        base = base if base is not None else cls()
        known = {f.name: f for f in fields(cls)}
        problems: list[Problem] = []
        values: dict[str, Any] = {}
        for key, value in table.items():
            if key not in known:
                close = difflib.get_close_matches(key, list(known), n=1)
                hint = (
                    f" (did you mean {close[0]}?)"
                    if close
                    else " (the keys are the names of gapmap.Settings' fields)"
                )
                problems.append(key_problem(name, key, f"is not a setting{hint}"))
                continue
            if key == "suppression":
                rule, found = suppression_from(value, base.suppression, name)
                problems += found
                if rule is not None:
                    values[key] = rule
                continue
            kind = type(getattr(base, key))
            as_kind = typed(value, kind)
            if as_kind is None:
                problems.append(key_problem(name, key, f"must be {KIND_WORDS[kind]}", value))
            else:
                values[key] = as_kind
        settings = replace(base, **values)
        problems += [
            key_problem(
                name,
                p.column,
                p.message,
                table[p.column] if p.column != "suppression" else settings.suppression,
            )
            for p in settings.problems()
            if p.column in values
        ]
        if problems:
            raise InputError(problems)
        return settings

    def to_toml(self) -> str:
        """This object as a settings file: every key at its value, each with its help text.

        ``data/settings_example.toml`` is ``Settings().to_toml()``; keep a run's settings with
        it and read them back with :meth:`from_toml`.

        Returns
        -------
        str
            TOML text.

        Examples
        --------
        >>> text = Settings(circuity=1.3).to_toml()
        >>> "circuity = 1.3" in text
        True
        >>> import tempfile, pathlib
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "run.toml"
        >>> _ = f.write_text(text, encoding="utf-8")
        >>> Settings.from_toml(f) == Settings(circuity=1.3)
        True
        """
        lines = [
            "# gapmap settings: every key with its value (gapmap COMMAND --settings FILE.toml).",
            "# Keep only the lines you change; a flag on the command line overrides this file.",
            "# The keys are the names of gapmap.Settings' fields (docs: 'Settings').",
        ]
        for f in fields(self):
            if f.name == "suppression":
                continue
            flag = f"({flag_of(f.name)})" if f.metadata.get("group") else "(no flag)"
            lines.append("")
            lines += ["# " + t for t in textwrap.wrap(f"{f.metadata['help']} {flag}", 96)]
            lines.append(f"{f.name} = {toml_value(getattr(self, f.name))}")
        rule = self.suppression
        lines += [
            "",
            "# the small-number rule of everything published: counts from low to high are",
            "# hidden, the rest rounded to base (NHS England: 1-7 hidden, rounding to 5)",
            "[suppression]",
            f"low = {rule.low}",
            f"high = {rule.high}",
            f"base = {rule.base}",
        ]
        return "\n".join(lines) + "\n"

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
        rule = self.suppression
        if not 0 <= rule.low <= rule.high or rule.base < 1:
            bad("suppression", "must hide counts from low to high (0 <= low <= high) and round "
                "to a base of 1 or more")  # fmt: skip
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


#: Command-line flag of each field whose flag is not simply ``--field-name``.
FLAGS: dict[str, str] = {
    f.name: f.metadata["flag"] for f in fields(Settings) if "flag" in f.metadata
}
