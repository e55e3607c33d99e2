"""The needs of a cover plan and who may give them: the arrangements read from a
``matches.csv`` frame, the days each provider is off, and each provider's room.

**Who loses hours.** A matched person p (``matches.csv``) has a provider v, perhaps a partner
w for the days v does not work, and a named cover c. On a date d of the plan whose weekday p
needs, the hours of that day, ``hours_on_days(hours, p's days, {d})``, come from v if v works
that weekday and from w otherwise. If that provider is absent on d (an absence covering d and
d's weekday), p loses that day's hours: one **need** (p, d, role, hours).

**Who may give them.** A provider k ≠ the absent one, eligible with p (the study's
:class:`~gapmap.reach.Reach`: services, both travel limits, CQC for regulated care,
self-direction, exactly as matching), not itself absent on d, working d's weekday, and either
willing to cover (``cover``) or already giving p hours (p's provider or partner). A need is given
whole by one provider or not at all.

**Room.** Capacity is a week's (SPEC ``capacity_hours``), so each ISO week of the plan is its
own budget: in each week, the hundredths of an hour a provider gives on the plan are at most
``room_units(capacity − committed)`` minus the load units of the hours it gives its own people
as provider or partner (:func:`~gapmap.reach.load_units` of each role, as matching counts
them). Its cover reserve (``absence_rate × hours covered``) is *not* subtracted: that reserve
exists to be spent now. Its own people come first, but only for the hours it still gives them:
a provider off some days of a week (Monday, say) does not give its own people Monday's hours
(they are needs of the plan, given by others), so those hours are room that week on the days
it works (capacity is a week's hours, as matching counts it). Without this, a provider off one
day would look as full as in a week it works every day, and turn away cover it has time for.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gapmap.errors import InputError, Problem
from gapmap.reach import hours_on_days, load_units, room_units
from gapmap.study import Study

__all__ = ["Arrangements", "absent_days", "arrangements", "cover_room_units"]


# --- the arrangements ------------------------------------------------------------------------
@dataclass(frozen=True)
class Arrangements:
    """Matched people and who gives their hours, as positions in the study's registers.

    ``provider_days`` are the person's days the provider gives (the partner gives the rest).
    ``own_units`` is, per provider, the load units of the hours it gives its own people.
    """

    person: np.ndarray
    provider: np.ndarray
    partner: np.ndarray  # -1: none
    cover: np.ndarray  # -1: none
    hours: np.ndarray
    days: np.ndarray
    provider_days: np.ndarray
    own_units: np.ndarray

    def __len__(self) -> int:
        return len(self.person)

    def giver(self, a: int, weekday: int) -> int:
        """The provider giving arrangement ``a``'s hours on ``weekday`` (-1: not needed).

        Parameters
        ----------
        a
            The arrangement's position.
        weekday
            0 for Monday to 6 for Sunday.
        """
        if not self.days[a] >> weekday & 1:
            return -1
        return int(self.provider[a] if self.provider_days[a] >> weekday & 1 else self.partner[a])


def arrangements(study: Study, matches: pd.DataFrame, *, file: str = "matches") -> Arrangements:
    """The matched rows of a ``matches.csv`` frame, checked against the study's registers.

    Parameters
    ----------
    study
        The registers (people and providers).
    matches
        ``person_id, status, provider_id, partner_provider_id, cover_provider_id`` and,
        optionally, ``hours`` (default: the person's hours) and ``row`` (for messages).
    file
        The name of the matches file, for messages.

    Returns
    -------
    Arrangements

    Raises
    ------
    InputError
        A person or provider not in the registers; a partner missing where the provider does
        not work all the person's days.
    """
    people, providers = study.people, study.providers
    p_of = {str(k): i for i, k in enumerate(people["person_id"].astype(str))}
    v_of = {str(k): i for i, k in enumerate(providers["provider_id"].astype(str))}
    m = matches[matches["status"].astype(str).str.lower() == "matched"]
    rows = m["row"].tolist() if "row" in m else [None] * len(m)
    problems: list[Problem] = []
    out: dict[str, list] = {k: [] for k in ("person", "provider", "partner", "cover", "hours")}
    p_days = people["day_mask"].to_numpy(np.int64)
    v_days = providers["day_mask"].to_numpy(np.int64)

    def cell(rec, col) -> str:
        v = rec.get(col, "")
        return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip()

    for row, rec in zip(rows, m.to_dict("records")):
        pid = cell(rec, "person_id")
        bad = False
        if pid not in p_of:
            problems.append(Problem(file, "no person with this id in the people register",
                                    row=row, column="person_id", value=pid))  # fmt: skip
            bad = True
        roles = []
        for col in ("provider_id", "partner_provider_id", "cover_provider_id"):
            vid = cell(rec, col)
            if vid and vid not in v_of:
                problems.append(Problem(file, "no provider with this id in the providers "
                                        "register", row=row, column=col, value=vid))  # fmt: skip
                bad = True
            roles.append(v_of.get(vid, -1))
        if bad:
            continue
        p = p_of[pid]
        if roles[0] < 0:
            problems.append(Problem(file, "a matched person needs a provider", row=row,
                                    column="provider_id"))  # fmt: skip
            continue
        if (p_days[p] & ~v_days[roles[0]]) and roles[1] < 0:
            problems.append(Problem(file, "the provider does not work all the person's days and "
                                    "no partner is named", row=row,
                                    column="partner_provider_id"))  # fmt: skip
            continue
        h = rec.get("hours", math.nan)
        h = float(h) if h is not None and str(h).strip() not in ("", "nan") else math.nan
        out["person"].append(p)
        out["provider"].append(roles[0])
        out["partner"].append(roles[1])
        out["cover"].append(roles[2])
        out["hours"].append(h if math.isfinite(h) else float(people["hours"].iloc[p]))
    if problems:
        raise InputError(problems)
    person = np.asarray(out["person"], np.int64)
    provider = np.asarray(out["provider"], np.int64)
    partner = np.asarray(out["partner"], np.int64)
    hours = np.asarray(out["hours"], float)
    days = p_days[person] if len(person) else np.zeros(0, np.int64)
    given = days & v_days[provider] if len(person) else np.zeros(0, np.int64)
    own = np.zeros(len(providers), np.int64)
    for a in range(len(person)):
        share = hours_on_days(float(hours[a]), int(days[a]), int(given[a]))
        own[provider[a]] += load_units(share)
        if partner[a] >= 0:
            own[partner[a]] += load_units(float(hours[a]) - share)
    return Arrangements(person, provider, partner, np.asarray(out["cover"], np.int64), hours,
                        days, given, own)  # fmt: skip


def cover_room_units(
    study: Study, arr: Arrangements, *, committed_includes_matches: bool = False
) -> np.ndarray:
    """Each provider's room for cover in one week: free hours less its own people's load.

    Parameters
    ----------
    study, arr
        The registers and the arrangements.
    committed_includes_matches
        The providers' ``committed_hours`` already hold the arrangements' hours (a register
        whose bookings include them), so they are not taken away twice.
    """
    room = room_units(study.providers)
    return room if committed_includes_matches else room - arr.own_units


def _day(value) -> dt.date:
    """A date from a date, a datetime or a pandas Timestamp (the store's and the readers')."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return pd.Timestamp(value).date()


def absent_days(
    absences: pd.DataFrame, providers: pd.DataFrame, start: dt.date, end: dt.date
) -> dict[dt.date, set[int]]:
    """For each date from ``start`` to ``end``, the positions of the providers off that day.

    Parameters
    ----------
    absences
        The absences, checked: ``provider_id``, ``from``, ``to`` and ``days`` (a weekday mask).
    providers
        The providers register; positions are its row order.
    start, end
        The first and last dates of the plan (inclusive).
    """
    v_of = {str(k): i for i, k in enumerate(providers["provider_id"].astype(str))}
    out: dict[dt.date, set[int]] = {}
    day = start
    while day <= end:
        out[day] = set()
        day += dt.timedelta(days=1)
    for rec in absences.itertuples(index=False):
        v = v_of.get(str(rec[0]))
        if v is None:
            raise InputError(
                Problem(
                    "absences",
                    "no provider with this id in the providers register",
                    column="provider_id",
                    value=str(rec[0]),
                )
            )
        lo, hi, days = max(_day(rec[1]), start), min(_day(rec[2]), end), int(rec[3])
        day = lo
        while day <= hi:
            if days >> day.weekday() & 1:
                out[day].add(v)
            day += dt.timedelta(days=1)
    return out


# --- the needs and their candidates -------------------------------------------------------------
@dataclass
class _Needs:
    """Needs as parallel arrays, and their candidates as a flat list with bounds."""

    arrangement: list[int] = field(default_factory=list)
    person: list[int] = field(default_factory=list)
    date: list[dt.date] = field(default_factory=list)
    week: list[int] = field(default_factory=list)  # index of the ISO week in the plan
    giver: list[int] = field(default_factory=list)
    role: list[str] = field(default_factory=list)
    hours: list[float] = field(default_factory=list)
    units: list[int] = field(default_factory=list)
    priority: list[int] = field(default_factory=list)
    # candidates of need i: cand_*[bounds[i]:bounds[i+1]]
    cand: list[np.ndarray] = field(default_factory=list)
    cand_km: list[np.ndarray] = field(default_factory=list)
    # room a provider gains in a week from its own people's hours it does not give (it is off)
    freed: dict[tuple[int, int], int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.person)


class _Context:
    """What every cover question about one study and one set of arrangements shares."""

    def __init__(self, study: Study, arr: Arrangements, committed_includes_matches: bool = False):
        self.study = study
        self.arr = arr
        providers = study.providers
        self.v_days = providers["day_mask"].to_numpy(np.int64)
        self.v_cover = providers["cover"].to_numpy(bool)
        self.priority = study.people["priority"].to_numpy(np.int64)
        self.room = cover_room_units(
            study, arr, committed_includes_matches=committed_includes_matches
        )
        reach = study.reach
        self.bounds = reach.bounds()
        self.reach = reach
        # arrangements in which each provider gives hours (as provider or partner)
        gives: dict[int, list[int]] = {}
        for a in range(len(arr)):
            gives.setdefault(int(arr.provider[a]), []).append(a)
            if arr.partner[a] >= 0:
                gives.setdefault(int(arr.partner[a]), []).append(a)
        self.gives = gives

    def eligible(self, p: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.bounds[p], self.bounds[p + 1]
        return self.reach.provider[lo:hi], self.reach.distance_km[lo:hi]

    def freed(
        self, off: dict[dt.date, set[int]], week_of: dict[dt.date, int] | None = None
    ) -> dict[tuple[int, int], int]:
        """The room each provider gains in each week from its own people's hours it does not
        give because it is off (those hours are needs of the plan, given by others).

        Per role, the load units of the role's hours in the week less those of the hours the
        provider still gives (on its days not off), so a provider off every day it gives a
        role frees exactly what :func:`arrangements` counted for that role.
        """
        arr = self.arr
        off_days: dict[tuple[int, int], int] = {}  # (provider, week) -> weekdays off
        for date, absent in off.items():
            w = week_of[date] if week_of else 0
            for v in absent:
                off_days[(v, w)] = off_days.get((v, w), 0) | 1 << date.weekday()
        out: dict[tuple[int, int], int] = {}
        for (v, w), mask in off_days.items():
            gained = 0
            for a in self.gives.get(v, ()):
                h, days, given = float(arr.hours[a]), int(arr.days[a]), int(arr.provider_days[a])
                if v == arr.provider[a]:
                    role = days & given
                    full = load_units(hours_on_days(h, days, role))
                else:
                    role = days & ~given
                    full = load_units(h - hours_on_days(h, days, given))
                if role & mask:
                    gained += full - load_units(hours_on_days(h, days, role & ~mask))
            if gained:
                out[(v, w)] = gained
        return out

    def needs(
        self, off: dict[dt.date, set[int]], week_of: dict[dt.date, int] | None = None
    ) -> _Needs:
        """Every need of the dates in ``off``, with its candidates (room, days, absence)."""
        arr, out = self.arr, _Needs()
        out.freed = self.freed(off, week_of)
        for date, absent in off.items():
            if not absent:
                continue
            wd = date.weekday()
            week = week_of[date] if week_of else 0
            for v in sorted(absent):
                for a in self.gives.get(v, ()):
                    if arr.giver(a, wd) != v:
                        continue
                    p = int(arr.person[a])
                    h = hours_on_days(float(arr.hours[a]), int(arr.days[a]), 1 << wd)
                    units = load_units(h)
                    cand, km = self.eligible(p)
                    ok = (self.v_days[cand] >> wd & 1).astype(bool) & (cand != v)
                    ok &= self.v_cover[cand] | (cand == arr.provider[a]) | (cand == arr.partner[a])
                    room = self.room[cand]
                    if out.freed:
                        room = room + np.asarray(
                            [out.freed.get((int(c), week), 0) for c in cand.tolist()], np.int64
                        )
                    ok &= room >= units
                    ok &= ~np.isin(cand, list(absent))
                    out.arrangement.append(a)
                    out.person.append(p)
                    out.date.append(date)
                    out.week.append(week)
                    out.giver.append(v)
                    out.role.append("provider" if v == arr.provider[a] else "partner")
                    out.hours.append(h)
                    out.units.append(units)
                    out.priority.append(int(self.priority[p]))
                    out.cand.append(cand[ok])
                    out.cand_km.append(km[ok])
        return out


def _room(ctx: _Context, needs: _Needs, provider: int, week: int) -> int:
    """A provider's room for cover in one week of the plan, in hundredths of an hour."""
    return int(ctx.room[provider]) + needs.freed.get((provider, week), 0)
