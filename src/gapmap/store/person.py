"""The person a referral records: their needs as given (a postcode, easting and northing, or
latitude and longitude; hours, days, services, and the safety answers), checked, with what was
left out taken from the people register.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.engine import Connection

from gapmap.errors import Problem
from gapmap.io.registers import PERSON_DEFAULTS
from gapmap.store import schema as S
from gapmap.store.engine import StoreError
from gapmap.vocab import parse_days, parse_services


def _yes_no(v) -> bool:
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    s = str(v).strip().lower()
    if s in ("yes", "y", "true", "t", "1"):
        return True
    if s in ("no", "n", "false", "f", "0"):
        return False
    raise ValueError("expected yes or no")


def read_person(conn: Connection, req: dict) -> dict:
    """The person of a referral, checked, with what was left out taken from the register.

    Parameters
    ----------
    conn
        A connection (one statement is read: the person's current version, if any).
    req
        ``person_id`` and any of the person's needs (:meth:`gapmap.store.Store.refer`'s
        ``person``).

    Returns
    -------
    dict
        ``person_id, postcode, x, y, hours, day_mask, service_mask, max_travel_km, priority,
        needs_cover, self_directing, regulated_care``.

    Raises
    ------
    StoreError
        Every problem of the person at once.
    """
    pid = str(req.get("person_id") or "").strip()
    problems: list[Problem] = []
    if not pid:
        raise StoreError("give the person's pseudonymous id", column="person_id")
    c = S.person_versions.c
    reg = conn.execute(
        select(S.person_versions).where(
            c.person_id == pid, c.valid_to.is_(None), c.withdrawn.is_(False)
        )
    ).first()
    known = dict(reg._mapping) if reg is not None else {}
    out: dict[str, Any] = {"person_id": pid}

    def given(name: str) -> bool:
        v = req.get(name)
        return v is not None and not (isinstance(v, str) and not v.strip())

    from gapmap.io.cells import parse_travel_km, parse_weekly_hours, point_from_latlon

    # where
    if given("x") and given("y"):
        out["x"], out["y"] = float(req["x"]), float(req["y"])
        out["postcode"] = str(req.get("postcode") or "")
    elif given("postcode"):
        from gapmap.postcodes import default_directory, describe_missing, normalise_postcode

        pc = normalise_postcode(str(req["postcode"]))
        if pc is None:
            problems.append(Problem("referral", "Enter a full UK postcode, like CT1 2AA",
                                    column="postcode", value=str(req["postcode"])))  # fmt: skip
        else:
            directory = default_directory()
            found = directory.lookup([pc]).iloc[0]
            if not np.isfinite(found["x"]):
                problems.append(Problem("referral", f"{pc}: " + describe_missing(
                    directory, bool(found["known"])), column="postcode"))  # fmt: skip
            out.update(postcode=pc, x=float(found["x"]), y=float(found["y"]))
    elif given("lat") and given("lon"):
        try:
            out["x"], out["y"] = point_from_latlon(float(req["lat"]), float(req["lon"]))
            out["postcode"] = ""
        except ValueError as exc:
            problems.append(Problem("referral", str(exc), column="lat"))
    elif known:
        out.update(postcode=known["postcode"], x=known["x"], y=known["y"])
    else:
        problems.append(Problem("referral", "Enter the person's postcode", column="postcode"))

    def field(name, parse, reg_name=None, default=None):
        if given(name):
            v = req[name]
            try:
                return parse(v)
            except (ValueError, TypeError) as exc:
                problems.append(Problem("referral", str(exc), column=name, value=str(v)))
                return None
        if known and reg_name:
            return known[reg_name]
        if default is None:
            problems.append(Problem("referral", f"give the {name.replace('_', ' ')}",
                                    column=name))  # fmt: skip
        return default

    out["hours"] = field("hours", lambda v: parse_weekly_hours(str(v)), "hours")
    out["day_mask"] = field("days", lambda v: v if isinstance(v, int) else parse_days(v),
                            "day_mask")  # fmt: skip
    out["service_mask"] = field(
        "services", lambda v: v if isinstance(v, int) else parse_services(v), "service_mask"
    )
    travel = field("max_travel_km", lambda v: parse_travel_km(str(v)), "max_travel_km", "")
    out["max_travel_km"] = None if travel in ("", None) else float(travel)
    out["priority"] = int(field("priority", int, "priority", PERSON_DEFAULTS.priority))
    for name in ("needs_cover", "self_directing", "regulated_care"):
        out[name] = bool(field(name, _yes_no, name, getattr(PERSON_DEFAULTS, name)))
    if problems:
        raise StoreError(problems)
    return out
