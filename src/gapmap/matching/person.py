"""The person a suggestion is for: what staff say about them, checked, as a one-row people table.

:func:`person_request` makes the row from a place and the needs (the people register's columns,
with the register's defaults for what is not said); :func:`request_from_fields` checks what was
typed (a postcode or coordinates, hours, days, services and the two safety questions, which
have no default) exactly as the command line, the web page and :func:`gapmap.suggest` do, and
gathers every problem at once.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from gapmap.io.registers import PERSON_DEFAULTS
from gapmap.study import Study
from gapmap.vocab import (
    SERVICE_WORDS,
    parse_days,
    parse_services,
)

__all__ = ["REGULATED_QUESTION", "SELF_DIRECTING_QUESTION", "person_request", "request_from_fields"]


#: The GOV.UK error message when the self-direction question is not answered.
SELF_DIRECTING_QUESTION = "Select whether the person can direct their own care"
#: The GOV.UK error message when the regulated-care question is not answered.
REGULATED_QUESTION = "Select whether the care must come from a CQC-registered provider"


def person_request(
    *,
    x: float,
    y: float,
    hours: float,
    days: str | int,
    services: str | int,
    max_travel_km: float | None = None,
    needs_cover: bool = PERSON_DEFAULTS.needs_cover,
    self_directing: bool = PERSON_DEFAULTS.self_directing,
    regulated_care: bool = PERSON_DEFAULTS.regulated_care,
    priority: int = PERSON_DEFAULTS.priority,
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
    hours: float | str | None,
    days: str,
    services: str,
    max_travel_km: float | str | None = None,
    needs_cover: bool = PERSON_DEFAULTS.needs_cover,
    self_directing: bool | None = None,
    regulated_care: bool | None = None,
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
    hours, days, services, max_travel_km, needs_cover
        As in the people register (SPEC.md); hours may be typed as people do ("6 hours",
        "6,5", "6½").
    self_directing
        Whether the person can direct their own care (or has a representative who can).
        A required answer: ``None`` ("not said") is refused, never read as yes, since a
        person who cannot must not be signposted to a micro-provider.
    regulated_care
        Whether the care must come from a CQC-registered provider. A required answer, for any
        kind of support: ``None`` ("not said") is refused.
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
        every problem at once, each naming the field (as ``column``), in plain words
        (the GOV.UK error-message pattern: "Enter ...", "Select ...").
    """
    from gapmap.councils import council_name
    from gapmap.errors import ProblemList
    from gapmap.io.areas import place_points
    from gapmap.io.cells import parse_travel_km, parse_weekly_hours, point_from_latlon
    from gapmap.postcodes import default_directory, describe_missing, normalise_postcode

    problems = ProblemList(source)
    x = y = None
    sector = area_code = outside_council = ""
    pc: str | None = None
    if postcode is not None and str(postcode).strip():
        pc = normalise_postcode(postcode)
        if pc is None:
            problems.add(
                "Enter a full UK postcode, like CT1 2AA", column="postcode", value=postcode
            )
        else:
            directory = directory or study.directory or default_directory()
            found = directory.lookup([pc]).iloc[0]
            if not np.isfinite(found["x"]):
                problems.add(
                    f"{pc}: " + describe_missing(directory, bool(found["known"])),
                    column="postcode",
                )
            else:
                x, y = float(found["x"]), float(found["y"])
                sector = pc[:-2]
                outside_council = council_name(found.get("district_code"))
    elif lat is not None and lon is not None:
        try:
            x, y = point_from_latlon(lat, lon)
        except ValueError as exc:
            problems.add(str(exc), column="lat", value=f"{lat}, {lon}")
    else:
        problems.add("Enter the person's postcode", column="postcode")
    if x is not None:
        area_code = place_points(
            study.areas, np.array([x]), np.array([y]), snap_m=study.settings.snap_m
        ).area_code[0]
        if not area_code:
            if sector:
                served = f" ({study.council.name})" if study.council is not None else ""
                problems.add(
                    f"{pc} is in {outside_council}, outside the area this register serves" + served,
                    column="postcode",
                )
            else:
                problems.add(
                    "That place is outside the area this register serves",
                    column="lat",
                    value=f"{lat}, {lon}",
                )
    masks: dict[str, int] = {}
    for name, parse, value in (("days", parse_days, days), ("services", parse_services, services)):
        if not str(value or "").strip():
            problems.add(
                "Select the days support is needed"
                if name == "days"
                else "Select the kind of support needed",
                column=name,
            )
            continue
        try:
            masks[name] = parse(value or "")
        except ValueError:
            problems.add(
                "Enter days like Mon, Wed or Mon-Fri"
                if name == "days"
                else "Choose from: " + ", ".join(SERVICE_WORDS[s] for s in SERVICE_WORDS),
                column=name,
                value=value,
            )
    if self_directing is None:
        problems.add(SELF_DIRECTING_QUESTION, column="self_directing")
    if regulated_care is None:
        problems.add(REGULATED_QUESTION, column="regulated_care")
    numbers: dict[str, float] = {}  # the register's rules for the same columns
    number_fields: tuple[tuple[str, Callable[[str], float], float | str | None], ...] = (
        ("hours", parse_weekly_hours, hours),
        ("max_travel_km", parse_travel_km, max_travel_km),
    )
    for name, parse_number, number in number_fields:
        if number is None or not str(number).strip():
            if name == "hours":
                problems.add("Enter the hours a week, like 6 or 6.5", column=name)
            continue
        try:
            numbers[name] = parse_number(str(number))
        except ValueError as exc:
            problems.add(str(exc), column=name, value=number)
    # in the order of the form, as the GOV.UK error summary lists them
    order = ["postcode", "lat", "hours", "days", "services", "self_directing", "regulated_care",
             "max_travel_km"]  # fmt: skip
    problems.problems.sort(key=lambda p: order.index(p.column) if p.column in order else 99)
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
        self_directing=bool(self_directing),
        regulated_care=bool(regulated_care),
    )
    person["area_code"] = area_code
    return person, sector
