"""Suggestions for one person: who could take them on, with cover, and why.

For a person (a location, weekly hours, days, services and the optional fields of the people
register) the :class:`Suggester` lists the eligible providers (:func:`gapmap.reach.pair_rules`,
the same rules as everywhere) that work at least one of the person's days and have enough free
hours (capacity − committed) for the hours they would give, **nearest first**. Each comes with

* a **partner** where the provider does not work all the person's days: the nearest eligible
  provider working every remaining day, with free hours for the rest;
* a **cover** provider: the nearest eligible provider willing to cover, working every day the
  provider gives, not the provider or partner, with free hours for the cover reserve
  (``absence_rate`` × the provider's hours).

A suggestion whose person needs cover and has none is left out unless ``allow_without_cover``.
People who are not self-directing, or who need regulated personal care that no CQC-registered
provider in reach offers, get advice pointing to regulated services instead of a list.

Every rule is the study's (:mod:`gapmap.reach`): the providers' index and distance × circuity,
eligibility, the hours given on the days a provider works, free room in hundredths of an hour
and the cover reserve, so a suggestion and ``gapmap match`` always agree on who can reach whom
and on what fits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from ..reach import cover_reserve, fits, free_hours, hours_on_days, pair_rules, room_units
from ..study import Study
from ..vocab import days_text, parse_days, parse_services

__all__ = ["Suggester", "Suggestion", "SuggestionList", "person_request", "request_from_fields"]

REGULATED_ADVICE = (
    "This person needs regulated personal care. Micro-providers that are not registered with "
    "the Care Quality Commission (CQC) may not give it. Refer to a CQC-registered home care "
    "provider through Kent County Council adult social care."
)
SELF_DIRECTING_ADVICE = (
    "Micro-providers suit only people who can direct their own care, or who have a "
    "representative who can. Refer to commissioned (regulated) home care through Kent County "
    "Council adult social care."
)


def person_request(
    *,
    x: float,
    y: float,
    hours: float,
    days: str | int,
    services: str | int,
    max_travel_km: float | None = None,
    needs_cover: bool = True,
    self_directing: bool = True,
    regulated_care: bool = False,
    priority: int = 3,
) -> pd.DataFrame:
    """One person as a one-row register frame (British National Grid metres).

    Parameters
    ----------
    x, y
        Where support is given (metres).
    hours, days, services
        Hours a week, days and services (text as in the register, or bit masks).
    max_travel_km, needs_cover, self_directing, regulated_care, priority
        As in the people register (SPEC.md).

    Returns
    -------
    DataFrame

    Examples
    --------
    >>> person_request(x=615000, y=157000, hours=6, days="Mon;Wed", services="social").shape
    (1, 10)
    """
    return pd.DataFrame(
        {
            "x": [float(x)],
            "y": [float(y)],
            "hours": [float(hours)],
            "day_mask": [days if isinstance(days, int) else parse_days(days)],
            "service_mask": [services if isinstance(services, int) else parse_services(services)],
            "max_travel_km": [np.nan if max_travel_km is None else float(max_travel_km)],
            "needs_cover": [bool(needs_cover)],
            "self_directing": [bool(self_directing)],
            "regulated_care": [bool(regulated_care)],
            "priority": [int(priority)],
        }
    )


def request_from_fields(
    study: Study,
    *,
    postcode: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    hours: float | None,
    days: str,
    services: str,
    max_travel_km: float | None = None,
    needs_cover: bool = True,
    self_directing: bool = True,
    regulated_care: bool = False,
    directory=None,
    source: str = "request",
) -> tuple[pd.DataFrame, str]:
    """Check what a member of staff typed about one person and turn it into a request.

    The one place where a suggestion request is validated: the command line (``gapmap
    suggest``) and the web page (``gapmap serve``) both call it.

    Parameters
    ----------
    study
        The study served: its areas (a person outside all of them, beyond its snap distance,
        is refused, since a wrong postcode is far likelier than a provider for someone
        elsewhere).
    postcode, lat, lon
        Where the person lives: a postcode (its centroid is used), or WGS84 degrees.
    hours, days, services, max_travel_km, needs_cover, self_directing, regulated_care
        As in the people register (SPEC.md).
    directory
        The :class:`~gapmap.postcodes.PostcodeDirectory` (default: the built-in one).
    source
        What the messages call the input (``"command line"``, ``"request"``).

    Returns
    -------
    (DataFrame, str)
        The person as :func:`person_request` makes it, with ``area_code``, and the postcode
        sector (``"CT1 2"``) or
        ``""`` for coordinates: the most a published page may say about where the person is.

    Raises
    ------
    InputError
        every problem at once, each naming the field (as ``column``).
    """
    from ..areas import place_points
    from ..errors import ProblemList
    from ..postcodes import default_directory, describe_missing, normalise_postcode
    from ..registers import parse_travel_km, parse_weekly_hours, point_from_latlon

    problems = ProblemList(source)
    masks: dict[str, int] = {}
    for name, parse, value in (("days", parse_days, days), ("services", parse_services, services)):
        try:
            masks[name] = parse(value or "")
        except ValueError as exc:
            problems.add(str(exc), column=name, value=value)
    numbers: dict[str, float] = {}  # the register's rules for the same columns
    number_fields: tuple[tuple[str, Callable[[str], float], float | None], ...] = (
        ("hours", parse_weekly_hours, hours),
        ("max_travel_km", parse_travel_km, max_travel_km),
    )
    for name, parse_number, number in number_fields:
        if number is None:
            if name == "hours":
                problems.add("the hours a week are required", column=name)
            continue
        try:
            numbers[name] = parse_number(str(number))
        except ValueError as exc:
            problems.add(str(exc), column=name, value=number)
    x = y = None
    sector = ""
    if postcode is not None and str(postcode).strip():
        pc = normalise_postcode(postcode)
        if pc is None:
            problems.add("not a valid UK postcode", column="postcode", value=postcode)
        else:
            directory = directory or study.directory or default_directory()
            found = directory.lookup([pc]).iloc[0]
            if not np.isfinite(found["x"]):
                problems.add(
                    describe_missing(directory, bool(found["known"])), column="postcode", value=pc
                )
            else:
                x, y = float(found["x"]), float(found["y"])
                sector = pc[:-2]
    elif lat is not None and lon is not None:
        try:
            x, y = point_from_latlon(lat, lon)
        except ValueError as exc:
            problems.add(str(exc), column="lat", value=f"{lat}, {lon}")
    else:
        problems.add("give a postcode, or lat and lon", column="postcode")
    area_code = None
    if x is not None:
        area_code = place_points(
            study.areas, np.array([x]), np.array([y]), snap_m=study.settings.snap_m
        ).area_code[0]
        if not area_code:
            problems.add(
                "the place is outside every area served; is the postcode right?",
                column="postcode" if sector else "lat",
                value=postcode if sector else f"{lat}, {lon}",
            )
    problems.raise_if_any()
    assert x is not None and y is not None
    person = person_request(
        x=x,
        y=y,
        hours=numbers["hours"],
        days=masks["days"],
        services=masks["services"],
        max_travel_km=numbers.get("max_travel_km"),
        needs_cover=needs_cover,
        self_directing=self_directing,
        regulated_care=regulated_care,
    )
    person["area_code"] = area_code
    return person, sector


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


@dataclass
class SuggestionList:
    """The answer for one person: a status, suggestions or advice, and who was left out."""

    status: str  # "ok", "none", "not_self_directing", "regulated_care_unavailable"
    suggestions: list[Suggestion] = field(default_factory=list)
    advice: str = ""
    left_out: list[dict] = field(default_factory=list)  # with --explain

    def as_dict(self) -> dict:
        """The answer as plain data (for ``--json`` and the API)."""
        return {
            "status": self.status,
            "advice": self.advice,
            "suggestions": [asdict(s) for s in self.suggestions],
            "left_out": self.left_out,
        }


class Suggester:
    """Suggestions against a study's providers, indexed once for fast repeated requests.

    Parameters
    ----------
    study
        The study: its providers, their index, and the settings ``circuity``,
        ``absence_rate`` and ``allow_without_cover``.

    Examples
    --------
    >>> suggester = Suggester(gapmap.Study.read(providers="providers.csv"))  # doctest: +SKIP
    >>> person = person_request(x=615000, y=157000, hours=6, days="Mon;Wed",
    ...                         services="social")                     # doctest: +SKIP
    >>> suggester.suggest(person).suggestions[0].provider_id           # doctest: +SKIP
    'MP0042'
    """

    def __init__(self, study: Study):
        self.study = study
        self.providers = study.providers
        settings = study.settings
        self.absence_rate = settings.absence_rate
        self.allow_without_cover = settings.allow_without_cover
        self._free = free_hours(self.providers)
        self._room = room_units(self.providers)
        self._days = self.providers["day_mask"].to_numpy(np.int64)
        self._cover = self.providers["cover"].to_numpy(bool)
        self._ids = self.providers["provider_id"].astype(str).to_numpy()
        self._names = self.providers["name"].astype(str).to_numpy()

    def suggest(
        self, person: pd.DataFrame, *, top: int = 5, explain: bool = False
    ) -> SuggestionList:
        """Ranked suggestions for one person.

        Parameters
        ----------
        person
            A one-row frame (:func:`person_request` or :func:`request_from_fields`).
        top
            How many suggestions at most.
        explain
            Also list nearer providers left out, each with the reason.

        Returns
        -------
        SuggestionList
        """
        row = person.iloc[0]
        if not bool(row["self_directing"]):
            return SuggestionList("not_self_directing", advice=SELF_DIRECTING_ADVICE)
        idx, d = self.study.index.nearby(float(row["x"]), float(row["y"]))
        keep, _ = pair_rules(person, self.providers, np.zeros(len(idx), np.int64), idx, d)
        elig, dist = idx[keep], d[keep]
        if bool(row["regulated_care"]) and len(elig) == 0:
            return SuggestionList("regulated_care_unavailable", advice=REGULATED_ADVICE)
        P = int(row["day_mask"])
        hours = float(row["hours"])
        needs_cover = bool(row["needs_cover"])
        dmap = dict(zip(elig.tolist(), dist.tolist()))
        room = self._room
        out: list[Suggestion] = []
        left_out: list[dict] = []
        for v, dv in zip(elig.tolist(), dist.tolist()):
            T = P & int(self._days[v])
            why_not = None
            if T == 0:
                why_not = "works none of the days needed"
            give = hours_on_days(hours, P, T) if T else 0.0
            if why_not is None and not fits(room[v], give):
                why_not = f"has {max(self._free[v], 0):g} free hours a week, {give:g} needed"
            w = -1
            S = P & ~T
            if why_not is None and S:
                w = next(
                    (
                        w
                        for w in elig.tolist()
                        if w != v and (int(self._days[w]) & S) == S and fits(room[w], hours - give)
                    ),
                    -1,
                )
                if w < 0:
                    why_not = f"no partner in reach with room for {days_text(S)}"
            c = -1
            if why_not is None:
                reserve = cover_reserve(give, self.absence_rate)
                c = next(
                    (
                        c
                        for c in elig.tolist()
                        if c not in (v, w)
                        and self._cover[c]
                        and (int(self._days[c]) & T) == T
                        and fits(room[c], reserve)
                    ),
                    -1,
                )
                if c < 0 and needs_cover and not self.allow_without_cover:
                    why_not = f"no cover provider in reach for {days_text(T)}"
            if why_not is not None:
                if explain and len(out) < top:
                    left_out.append(
                        {
                            "provider_id": self._ids[v],
                            "name": self._names[v],
                            "distance_km": round(dv, 2),
                            "why": why_not,
                        }
                    )
                continue
            why = [
                f"{dv:.1f} km away",
                f"{self._free[v]:g} free hours a week",
                f"gives {give:g} h on {days_text(T)}",
                "offers every service needed",
            ]
            if w >= 0:
                why.append(f"partner {self._ids[w]} gives {hours - give:g} h on {days_text(S)}")
            if c >= 0:
                why.append(f"cover {self._ids[c]} ({dmap[c]:.1f} km) works {days_text(T)}")
            elif needs_cover:
                why.append("no cover provider available (allowed by option)")
            out.append(
                Suggestion(
                    self._ids[v],
                    self._names[v],
                    round(dv, 2),
                    float(self._free[v]),
                    days_text(T),
                    round(give, 2),
                    self._ids[w] if w >= 0 else None,
                    self._names[w] if w >= 0 else None,
                    round(dmap[w], 2) if w >= 0 else None,
                    days_text(S) if w >= 0 else None,
                    round(hours - give, 2) if w >= 0 else None,
                    self._ids[c] if c >= 0 else None,
                    self._names[c] if c >= 0 else None,
                    round(dmap[c], 2) if c >= 0 else None,
                    "; ".join(why),
                )
            )
            if len(out) >= top:
                break
        if explain:
            # providers nearby that are not eligible at all, nearest first
            for v, dv, ok in zip(idx.tolist(), d.tolist(), keep.tolist()):
                if ok or len(left_out) >= 3 * top:
                    continue
                left_out.append(
                    {
                        "provider_id": self._ids[v],
                        "name": self._names[v],
                        "distance_km": round(dv, 2),
                        "why": self._ineligible_reason(person, v, dv),
                    }
                )
            left_out.sort(key=lambda r: r["distance_km"])
            if out:  # "better-looking": nearer than the last provider suggested
                left_out = [r for r in left_out if r["distance_km"] <= out[-1].distance_km]
        if not out:
            advice = "No micro-provider in reach can take this person on now. " + (
                REGULATED_ADVICE
                if bool(row["regulated_care"])
                else "Consider commissioned home care, or ask again as providers' hours free up."
            )
            return SuggestionList("none", [], advice, left_out)
        return SuggestionList("ok", out, "", left_out)

    def _ineligible_reason(self, person: pd.DataFrame, v: int, d: float) -> str:
        row = person.iloc[0]
        need, offer = int(row["service_mask"]), int(self.providers.at[v, "service_mask"])
        if need & offer != need:
            from ..vocab import services_text

            return f"does not offer {services_text(need & ~offer)}"
        if bool(row["regulated_care"]) and not bool(self.providers.at[v, "cqc_registered"]):
            return "not CQC-registered (regulated personal care needed)"
        limit = float(self.providers.at[v, "max_travel_km"])
        if d > limit:
            return f"{d:.1f} km is beyond its {limit:g} km travel limit"
        own = row["max_travel_km"]
        if not np.isnan(own) and d > own:
            return f"{d:.1f} km is beyond the person's own {own:g} km limit"
        return "not eligible"
