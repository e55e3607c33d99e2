"""An independent checker of cover plans: SPEC.md's rules, read again, on every plan.

Written apart from :mod:`gapmap.cover.plan` on purpose: it reads the registers, the matches and
the absences itself, measures its own distances, tests services, travel limits, CQC,
self-direction and working days itself, lists the hours each absence takes away itself, and
adds up each provider's hours week by week in plain hours (no hundredths). ``gapmap cover``
runs it before writing anything, and the tests run it on every plan.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

__all__ = ["check_cover_plan"]

_TOL = 1e-6
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _text(v) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip()


def _week(day: dt.date) -> str:
    return "{}-W{:02d}".format(*day.isocalendar()[:2])


def check_cover_plan(
    people: pd.DataFrame,
    providers: pd.DataFrame,
    matches: pd.DataFrame,
    absences: pd.DataFrame,
    plan: pd.DataFrame,
    start: dt.date,
    end: dt.date,
    *,
    circuity: float = 1.0,
    objective: float | None = None,
) -> list[str]:
    """Every broken rule of a cover plan, in words (empty when the plan is valid).

    Checks: the plan lists exactly the days' hours the absences take away (each person, date
    and role once, with the right hours); each cover is eligible with the person (services,
    both travel limits, CQC for regulated care, self-directing), works that weekday, is not
    off that day, is not the absent provider, and takes on cover or already gives the person
    hours; ``named_cover`` exactly when the cover is the person's named one; no provider gives
    more in any ISO week than its capacity less its bookings and the hours it still gives its
    own people that week (not those of the days it is off); the
    objective (priority × hours covered), if given.

    Parameters
    ----------
    people, providers
        The registers.
    matches
        The ``matches.csv`` frame the plan was made from.
    absences
        The absences frame.
    plan
        ``cover_plan.csv`` as a frame (``person_id, day, absent_provider_id, role, hours,
        cover_provider_id, status, reason, distance_km, date``).
    start, end
        The dates planned.
    circuity
        The distance rule the plan was made under.
    objective
        The plan's reported level-1 objective, to recompute.

    Returns
    -------
    list of str
    """
    problems: list[str] = []
    P = people.set_index(people["person_id"].astype(str))
    V = providers.set_index(providers["provider_id"].astype(str))

    def days_of(mask) -> set[int]:
        return {i for i in range(7) if int(mask) >> i & 1}

    # who is off when, straight from the absences
    off: dict[dt.date, set[str]] = {}
    for rec in absences.to_dict("records"):
        d, last = pd.Timestamp(rec["from"]).date(), pd.Timestamp(rec["to"]).date()
        while d <= last:
            if start <= d <= end and int(rec["days"]) >> d.weekday() & 1:
                off.setdefault(d, set()).add(str(rec["provider_id"]))
            d += dt.timedelta(days=1)

    # each provider's own hours a week, and the hours each absence takes away
    own = {k: 0.0 for k in V.index}
    roles: list[tuple[str, set[int], float]] = []  # (provider, its weekdays, hours a day)
    expected: dict[tuple[str, str, str], tuple[float, str]] = {}
    named: dict[str, str] = {}
    givers: dict[str, set[str]] = {}
    for rec in matches.to_dict("records"):
        if _text(rec.get("status")).lower() != "matched":
            continue
        pid = _text(rec["person_id"])
        v, w, c = (_text(rec.get(k)) for k in ("provider_id", "partner_provider_id",
                                                "cover_provider_id"))  # fmt: skip
        hours = rec.get("hours")
        hours = float(P.at[pid, "hours"]) if _text(hours) in ("", "nan") else float(hours)
        pdays = days_of(P.at[pid, "day_mask"])
        vdays = days_of(V.at[v, "day_mask"]) & pdays
        own[v] += hours * len(vdays) / len(pdays)
        roles.append((v, vdays, hours / len(pdays)))
        if pdays - vdays:
            own[w] += hours * len(pdays - vdays) / len(pdays)
            roles.append((w, pdays - vdays, hours / len(pdays)))
        named[pid] = c
        givers[pid] = {v, w} - {""}
        for d, who in off.items():
            wd = d.weekday()
            if wd not in pdays:
                continue
            giver, role = (v, "provider") if wd in vdays else (w, "partner")
            if giver in who:
                expected[(pid, d.isoformat(), role)] = (hours / len(pdays), giver)

    seen: set[tuple[str, str, str]] = set()
    given: dict[tuple[str, str], float] = {}
    total = 0.0
    for rec in plan.to_dict("records"):
        pid, date, role = _text(rec["person_id"]), _text(rec["date"]), _text(rec["role"])
        key = (pid, date, role)
        where = f"{pid} on {date} ({role})"
        if key in seen:
            problems.append(f"{where}: listed twice")
        seen.add(key)
        if key not in expected:
            problems.append(f"{where}: in the plan but loses no hours")
            continue
        hours, giver = expected[key]
        day = dt.date.fromisoformat(date)
        if abs(float(rec["hours"]) - hours) > 0.006:
            problems.append(f"{where}: {rec['hours']} h listed, {hours:.2f} h lost")
        if _text(rec["absent_provider_id"]) != giver:
            problems.append(f"{where}: names {rec['absent_provider_id']} as absent, not {giver}")
        if _text(rec["day"]) != _DAY_NAMES[day.weekday()]:
            problems.append(f"{where}: day {rec['day']} is not the date's weekday")
        c = _text(rec["cover_provider_id"])
        status = _text(rec["status"])
        if not c:
            if status != "uncovered":
                problems.append(f"{where}: no cover but status {status}")
            continue
        if status != ("named_cover" if c == named.get(pid) else "other_cover"):
            problems.append(f"{where}: status {status} does not fit cover {c}")
        if c not in V.index:
            problems.append(f"{where}: cover {c} is not in the register")
            continue
        person, cover = P.loc[pid], V.loc[c]
        km = math.hypot(person["x"] - cover["x"], person["y"] - cover["y"]) * circuity / 1000
        if km > float(cover["max_travel_km"]) + _TOL:
            problems.append(f"{where}: {c} is {km:.2f} km away, beyond its own limit")
        limit = float(person["max_travel_km"])
        if not math.isnan(limit) and km > limit + _TOL:
            problems.append(f"{where}: {c} is beyond the person's own limit")
        needs = set(str(person["services"]).split(";"))
        if not needs <= set(str(cover["services"]).split(";")):
            problems.append(f"{where}: {c} does not offer {sorted(needs)}")
        if bool(person["regulated_care"]) and not bool(cover["cqc_registered"]):
            problems.append(f"{where}: regulated care from {c}, not CQC-registered")
        if not bool(person["self_directing"]):
            problems.append(f"{where}: not self-directing")
        if day.weekday() not in days_of(cover["day_mask"]):
            problems.append(f"{where}: {c} does not work {rec['day']}")
        if c in off.get(day, set()):
            problems.append(f"{where}: {c} is off that day")
        if c == giver:
            problems.append(f"{where}: the absent provider covers itself")
        if not bool(cover["cover"]) and c not in givers.get(pid, set()):
            problems.append(f"{where}: {c} does not take on cover")
        week = _week(day)
        given[(c, week)] = given.get((c, week), 0.0) + hours
        total += int(person["priority"]) * hours
    for key in sorted(set(expected) - seen):
        problems.append(f"{key[0]} on {key[1]} ({key[2]}): loses hours but is not in the plan")
    # a provider off some days of a week does not give its own people those days' hours:
    # they are room that week (its own people's hours on the days it works stay counted)
    off_week: dict[tuple[str, str], set[int]] = {}
    for d, who in off.items():
        for v in who:
            off_week.setdefault((v, _week(d)), set()).add(d.weekday())
    freed: dict[tuple[str, str], float] = {}
    for (v, week), wds in off_week.items():
        freed[(v, week)] = sum(len(days & wds) * a_day for u, days, a_day in roles if u == v)
    for (c, week), h in sorted(given.items()):
        room = float(V.at[c, "capacity_hours"]) - float(V.at[c, "committed_hours"]) - own[c]
        room += freed.get((c, week), 0.0)
        if h > room + _TOL:
            problems.append(f"{c} in {week}: gives {h:.2f} h on the plan, room {room:.2f} h")
    if objective is not None and abs(objective - total) > 0.05 * max(1, len(plan)):
        problems.append(f"objective reported {objective:g}, the plan gives {total:g}")
    return problems
