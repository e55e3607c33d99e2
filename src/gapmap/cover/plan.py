"""The cover plan: when providers are off, who gives their people's hours instead.

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

**Objective, lexicographic** (SPEC):
1. maximise Σ priority × hundredths of an hour covered;
2. then the most needs given by the person's named cover;
3. then the most needs given with continuity (the person's own partner or provider);
4. then the least distance (tens of metres) from cover to person, summed over needs.

The levels are solved one after another, each held at its best (a constraint) while the next
is optimised, so no lower level can ever outweigh a higher one. Each is an integer linear model
(:class:`~gapmap.cover.mip.IntModel`) solved by CP-SAT when small and HiGHS when large (or
either alone, on request): the same model, so the same optimum; HiGHS's LP bound and cuts
prove a snow week's hardest groups several times faster (CP-SAT took up to a minute on some).
(One weighted
objective was tried first, weights ``W_named = W_cont·n + Dmax + 1`` and ``W_cont = Dmax + 1``
over n needs and ``Dmax`` the largest total distance, which provably orders plans the same way;
with coefficients near 10^9 CP-SAT took 14 s to prove a snow-week group that the level-by-level
solve proves in about 3 s.) Levels 2 and 3 alone are one solve: ``(n + 1) × named + continuity``
orders plans exactly as they do (continuity counts at most n) with small coefficients; once
proven, that level is held as two counts (named covers at their most, continuity at least its
value: the same plans, and a far tighter LP for the distance level than one row with weights).

* Level 1 is exact. A need with a candidate whose room takes every need that might use it is
  covered in some optimal plan whatever the others do, so level 1 is their sum plus the
  optimum of the other needs alone (a much smaller model). There, the needs of one week with
  the same hours, priority and candidate providers are interchangeable whoever they belong to:
  they are *pooled*, one integer per pool and provider (no symmetry between people to prove).
  A pool's covers are shared out among its people as levels 2-4 would prefer: each provider
  first to those it is the named cover of, then to those it already gives hours, then the
  nearest.
* Levels 2-4 are optimised among the plans that cover as many of each class of
  interchangeable needs (:func:`_solve_group`) as level 1's plan: one equality per class keeps
  level 1 exactly. (Holding level 1's *sum* instead, a knapsack, lets levels 2-4 swap which
  person-days are covered among equally urgent ones, but made a snow week take over a minute
  to prove instead of seconds; holding each pool's count, tried too, also made them slower.)

The status and best bound reported are level 1's, as ``gapmap match`` reports its own;
``tie_break_status`` is OPTIMAL when levels 2-4 were proven too.

**Groups.** Needs compete only through a provider's room in a week that cannot take every need
that might use it; needs joined by no such provider-week are independent, so each group of
competing needs is its own small model, and a need alone takes its best candidate directly
(:func:`_components`). The objective is a sum over groups at every level, so the plan is
lexicographically optimal exactly when each group's is.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gapmap.cover.mip import SOLVERS, IntModel
from gapmap.errors import InputError, Problem
from gapmap.reach import hours_on_days, load_units, room_units
from gapmap.study import Study
from gapmap.vocab import DAYS

__all__ = [
    "Arrangements",
    "CoverPlan",
    "PLAN_COLUMNS",
    "absent_days",
    "arrangements",
    "cover_plan",
    "cover_room_units",
]

#: ``cover_plan.csv`` (SPEC), then the date (plans may span several weeks).
PLAN_COLUMNS = [
    "person_id", "day", "absent_provider_id", "role", "hours", "cover_provider_id", "status",
    "reason", "distance_km", "date",
]  # fmt: skip
#: Reasons a need is left uncovered, most fundamental first.
REASONS = {
    "no_provider_in_reach": "no provider that can support them is within reach",
    "no_one_works_that_day": "no one within reach works that day",
    "all_off": "everyone within reach who works that day is off too",
    "none_cover": "no one within reach who works that day takes on cover",
    "all_full": "every eligible provider working that day is full",
}


# --- inputs -------------------------------------------------------------------------------------
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


# --- the model ----------------------------------------------------------------------------------
def _room(ctx: _Context, needs: _Needs, provider: int, week: int) -> int:
    """A provider's room for cover in one week of the plan, in hundredths of an hour."""
    return int(ctx.room[provider]) + needs.freed.get((provider, week), 0)


@dataclass
class _Solution:
    choice: np.ndarray  # per need: the position in its candidates, -1 uncovered
    status: str
    objective: int  # level 1, priority × hundredths
    bound: int
    tie_status: str = ""


def _components(ctx: _Context, needs: _Needs) -> list[list[int]]:
    """Needs that compete for some provider's room in some week, grouped (union-find).

    A provider-week whose room takes every need that could use it binds nothing; needs joined
    only through such provider-weeks are independent, so each group is its own small model and
    a need in a group of its own simply takes its best candidate.
    """
    n = len(needs)
    demand: dict[tuple[int, int], list[int]] = {}
    for i in range(n):
        for c in needs.cand[i].tolist():
            demand.setdefault((c, needs.week[i]), []).append(i)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for (c, w), members in demand.items():
        if len(members) > 1 and sum(needs.units[i] for i in members) > _room(ctx, needs, c, w):
            root = find(members[0])
            for i in members[1:]:
                parent[find(i)] = root
    groups: dict[int, list[int]] = {}
    for i in range(n):
        if len(needs.cand[i]):
            groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def _preference(ctx: _Context, needs: _Needs, i: int) -> np.ndarray:
    """Need i's candidates ranked as levels 2-4 rank them: named cover, continuity, nearest."""
    a, cand = needs.arrangement[i], needs.cand[i]
    arr = ctx.arr
    named = cand == arr.cover[a]
    cont = (cand == arr.provider[a]) | (cand == arr.partner[a])
    return np.lexsort((needs.cand_km[i], ~cont, ~named))


def _solve(
    ctx: _Context,
    needs: _Needs,
    *,
    seconds: float,
    workers: int,
    seed: int = 0,
    tie_break: bool = True,
    solver: str = "auto",
) -> _Solution:
    """The lexicographic plan: each group of competing needs solved apart (:func:`_components`).

    The objective is a sum over groups at every level, so the plan is lexicographically optimal
    exactly when every group's is; the status is OPTIMAL when every group's is, and the bound
    is the sum of the groups' bounds.
    """
    t_end = time.perf_counter() + seconds
    choice = np.full(len(needs), -1, np.int64)
    status, best, bound, tie = "OPTIMAL", 0, 0, "OPTIMAL"
    groups = sorted(_components(ctx, needs), key=len)
    big = [g for g in groups if len(g) > 1]
    for g in groups:
        if len(g) == 1:  # alone: its best candidate fits (its room takes it)
            i = g[0]
            choice[i] = int(_preference(ctx, needs, i)[0])
            value = needs.priority[i] * needs.units[i]
            best += value
            bound += value
    for j, g in enumerate(big):  # time in proportion to the needs each group holds
        share = max(0.05, (t_end - time.perf_counter()) * len(g) / sum(map(len, big[j:])))
        sol = _solve_group(ctx, needs, g, seconds=share, workers=workers, seed=seed,
                           tie_break=tie_break, solver=solver)  # fmt: skip
        choice[g] = sol.choice
        best += sol.objective
        bound += sol.bound
        if sol.status != "OPTIMAL":
            status = sol.status
        if sol.tie_status != "OPTIMAL":
            tie = sol.tie_status
    return _Solution(choice, status, best, max(bound, best), tie if tie_break else "not run")


def _solve_group(
    ctx: _Context,
    needs: _Needs,
    group: list[int],
    *,
    seconds: float,
    workers: int,
    seed: int,
    tie_break: bool,
    solver: str = "auto",
) -> _Solution:
    """The lexicographic solve (module docstring) of one group of competing needs.

    Needs of one person in one week with the same hours and the same candidates (a person's
    Monday and Thursday, say) are interchangeable at every level, so they are one *class*:
    an integer per class and candidate says how many of them that candidate gives, which
    removes the symmetry that otherwise makes proving optimality slow. Every level is one
    integer linear model (:class:`~gapmap.cover.mip.IntModel`) solved by ``solver``.
    """
    t_end = time.perf_counter() + seconds
    classes: dict[tuple, list[int]] = {}
    for i in group:
        same = (needs.person[i], needs.week[i], needs.units[i], needs.cand[i].tobytes())
        classes.setdefault(same, []).append(i)
    members = list(classes.values())
    demand: dict[tuple[int, int], int] = {}
    for m in members:
        i = m[0]
        for c in needs.cand[i].tolist():
            key = (c, needs.week[i])
            demand[key] = demand.get(key, 0) + needs.units[i] * len(m)
    binding = {key for key, d in demand.items() if d > _room(ctx, needs, *key)}

    def value(i: int) -> int:
        return needs.priority[i] * needs.units[i]

    def fill(m: list[int], left: dict, only_free: bool) -> list[int]:
        """Each need of class m its most preferred candidate with room left (a start)."""
        out = []
        i = m[0]
        for _ in m:
            got = -1
            for k in _preference(ctx, needs, i).tolist():
                key = (int(needs.cand[i][k]), needs.week[i])
                if only_free and key in binding:
                    continue
                room = left.get(key, _room(ctx, needs, *key))
                if room >= needs.units[i]:
                    left[key] = room - needs.units[i]
                    got = k
                    break
            out.append(got)
        return out

    def model_of(ms: list[list[int]]) -> tuple[IntModel, list[list[int]]]:
        model = IntModel()
        ys: list[list[int]] = []
        load: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for m in ms:
            i = m[0]
            row = [model.var(0, len(m)) for _ in range(len(needs.cand[i]))]
            for k, c in enumerate(needs.cand[i].tolist()):
                load.setdefault((c, needs.week[i]), []).append((needs.units[i], row[k]))
            model.add([(1, y) for y in row], hi=len(m))
            ys.append(row)
        for key, terms in load.items():
            if key in binding:
                model.add(terms, hi=_room(ctx, needs, *key))
        return model, ys

    def start(model: IntModel, ys: list[list[int]], picks: list[list[int]]) -> np.ndarray:
        x = np.zeros(len(model.lb), np.int64)
        for row, got in zip(ys, picks):
            for k, y in enumerate(row):
                x[y] = sum(1 for g in got if g == k)
        return x

    # Level 1. A need with a candidate whose room takes every need that might use it is
    # covered in some optimal plan whatever the others do (it never needs the contested
    # room), so level 1 is the sum of those needs and the optimum of the rest alone.
    free = [m for m in members if any((c, needs.week[m[0]]) not in binding
                                      for c in needs.cand[m[0]].tolist())]  # fmt: skip
    hard = [m for m in members if m not in free]
    picks: dict[int, list[int]] = {}  # class (its first need) -> candidate of each need
    left: dict[tuple[int, int], int] = {}
    for m in free:
        picks[m[0]] = fill(m, left, only_free=True)
    best = bound = sum(value(i) * len(m) for m in free for i in m[:1])
    name = "OPTIMAL"
    # Level 1 sees only each need's value and units and which providers could give it: the
    # classes of one week with the same hours, priority and candidate providers are
    # interchangeable there whoever they belong to, so they are pooled (one integer per pool
    # and provider), which removes the symmetry between people that made proving slow.
    pools: dict[tuple, list[list[int]]] = {}
    for m in hard:
        i = m[0]
        pkey = (needs.week[i], needs.units[i], needs.priority[i],
               tuple(sorted(needs.cand[i].tolist())))  # fmt: skip
        pools.setdefault(pkey, []).append(m)
    if hard:
        m1 = IntModel()
        load1: dict[tuple[int, int], list[tuple[int, int]]] = {}
        rows1: list[tuple[tuple, list[int]]] = []
        for pkey, ms in pools.items():
            week, units, provs = pkey[0], pkey[1], pkey[3]
            size = sum(len(m) for m in ms)
            row = [m1.var(0, size) for _ in provs]
            for c, y in zip(provs, row):
                load1.setdefault((c, week), []).append((units, y))
            m1.add([(1, y) for y in row], hi=size)
            rows1.append((pkey, row))
        for key2, terms in load1.items():
            if key2 in binding:
                m1.add(terms, hi=_room(ctx, needs, *key2))
        x0 = np.zeros(len(m1.lb), np.int64)
        taken0: dict[tuple[int, int], int] = {}
        for (pkey, row), ms in zip(rows1, pools.values()):
            counts = dict.fromkeys(pkey[3], 0)
            for m in ms:
                cand = needs.cand[m[0]]
                for k in fill(m, taken0, only_free=False):
                    if k >= 0:
                        counts[int(cand[k])] += 1
            for c, y in zip(pkey[3], row):
                x0[y] = counts[c]
        objective = [(pk[2] * pk[1], y) for pk, row in rows1 for y in row]
        # level 1 may take most of the time, never all: the tie-breaks (named cover first)
        # must run on whatever plan it has found
        share = 0.6 if tie_break else 1.0
        res = m1.solve(objective, maximize=True, seconds=share * (t_end - time.perf_counter()),
                       hint=x0, solver=solver, workers=workers, seed=seed)  # fmt: skip
        upper = sum(value(m[0]) * len(m) for m in hard)
        if res.x is None:  # no plan in time
            picks.update({m[0]: [-1] * len(m) for m in hard})
            return _Solution(_spread(group, members, picks), res.status, best,
                             best + min(upper, res.bound))  # fmt: skip
        name = res.status
        best += res.value
        bound += min(upper, res.bound)
        arr = ctx.arr
        for (pkey, row), ms in zip(rows1, pools.values()):
            # the pool's covers shared out among its classes, each provider first to the
            # people it is the named cover of, then to those it already gives hours, then
            # the nearest (what levels 2-4 would prefer; they then hold each class's count)
            left_c = {c: int(res.x[y]) for c, y in zip(pkey[3], row)}
            slots = {m[0]: len(m) for m in ms}
            taken: dict[int, list[int]] = {m[0]: [] for m in ms}
            pairs = []
            for m in ms:
                i, a = m[0], needs.arrangement[m[0]]
                for k, c in enumerate(needs.cand[i].tolist()):
                    rank = 0 if c == arr.cover[a] else (
                        1 if c in (arr.provider[a], arr.partner[a]) else 2)  # fmt: skip
                    pairs.append((rank, float(needs.cand_km[i][k]), i, k, c))
            for _, _, i, k, c in sorted(pairs):
                n = min(slots[i], left_c[c])
                if n > 0:
                    taken[i] += [k] * n
                    slots[i] -= n
                    left_c[c] -= n
            for m in ms:
                picks[m[0]] = taken[m[0]] + [-1] * slots[m[0]]
    if not tie_break or time.perf_counter() >= t_end:
        return _Solution(_spread(group, members, picks), name, best, bound, "not run")

    # levels 2-4 one after another, each held at its best before the next, among the plans
    # that cover as many of each class as level 1's plan (so level 1 holds exactly)
    model, ys = model_of(members)
    arr = ctx.arr
    named_t: list[tuple[int, int]] = []
    cont_t: list[tuple[int, int]] = []
    dist_t: list[tuple[int, int]] = []
    for m, row in zip(members, ys):
        i = m[0]
        a = needs.arrangement[i]
        covered = sum(1 for g in picks[i] if g >= 0)
        model.add([(1, y) for y in row], lo=covered, hi=covered)
        for k, y in enumerate(row):
            c = int(needs.cand[i][k])
            if c == arr.cover[a]:
                named_t.append((1, y))
            elif c == arr.provider[a] or c == arr.partner[a]:
                cont_t.append((1, y))
            dist_t.append((int(round(float(needs.cand_km[i][k]) * 100)), y))
    tie = "OPTIMAL"
    # levels 2 and 3 as one objective, exactly lexicographic: continuity counts at most one per
    # need of the group, so one more named cover always outweighs any continuity (one solve
    # fewer, and small coefficients); distance (tens of metres) stays a level of its own
    weight = sum(len(m) for m in members) + 1
    first = [(weight * c, y) for c, y in named_t] + cont_t
    for level, (expr, maximize) in enumerate(((first, True), (dist_t, False))):
        now = time.perf_counter()
        if now >= t_end:
            tie = "FEASIBLE"
            break
        # each level at most its share of the time left (the last one all of it)
        res2 = model.solve(expr, maximize=maximize, seconds=(t_end - now) / (2 - level),
                           hint=start(model, ys, [picks[m[0]] for m in members]),
                           solver=solver, workers=workers, seed=seed)  # fmt: skip
        if res2.x is None:
            tie = "FEASIBLE"
            break
        for m, row in zip(members, ys):
            picks[m[0]] = _counts_to_picks(res2.x, row, len(m))
        got = res2.value
        if res2.status != "OPTIMAL":
            tie = "FEASIBLE"
        if level == 0:
            if res2.status == "OPTIMAL":
                # weight × named + continuity ≥ its optimum holds exactly when the named
                # covers are at their most (got // weight: continuity < weight) and the
                # continuity at least got % weight; two counts, which an LP bound handles
                # far better than one row with large coefficients
                model.add(named_t, lo=got // weight)
                model.add(cont_t, lo=got % weight)
            else:
                model.add(first, lo=got)
    return _Solution(_spread(group, members, picks), name, best, bound, tie)


def _counts_to_picks(x: np.ndarray, row: list[int], size: int) -> list[int]:
    """How many of a class each candidate gives, as one candidate (or -1) per need."""
    out: list[int] = []
    for k, y in enumerate(row):
        out += [k] * int(x[y])
    return out + [-1] * (size - len(out))


def _spread(group: list[int], members: list[list[int]], picks: dict[int, list[int]]):
    """Per need of the group (in the group's order), the position of its candidate or -1."""
    at = {i: j for j, i in enumerate(group)}
    choice = np.full(len(group), -1, np.int64)
    for m in members:
        for i, k in zip(m, picks.get(m[0], [])):
            choice[at[i]] = k
    return choice


# --- the plan -----------------------------------------------------------------------------------
@dataclass
class CoverPlan:
    """A cover plan and an honest account of how good it is.

    Attributes
    ----------
    rows
        One row per need: :data:`PLAN_COLUMNS` and, for the words, ``priority``,
        ``person`` / ``cover`` / ``absent`` (register positions, -1 none), ``week`` (ISO
        ``YYYY-Www``) and ``change`` (for the uncovered: the nearest change that would cover
        them, as ``(provider position, what, hours)``).
    start, end
        The dates planned.
    absences
        The absences planned for (the absences frame).
    status, objective, best_bound
        Level 1 (priority × hours covered): the solver's status, the value and its bound.
    tie_break_status
        The status of the second stage (named cover, continuity, distance).
    seconds
        Wall time of the whole plan.
    """

    rows: pd.DataFrame
    start: dt.date
    end: dt.date
    absences: pd.DataFrame
    status: str
    objective: float
    best_bound: float
    tie_break_status: str
    seconds: float

    @property
    def gap(self) -> float | None:
        """Relative gap of level 1 to its bound."""
        if self.best_bound <= 0:
            return None
        return max(0.0, (self.best_bound - self.objective) / self.best_bound)

    def table(self) -> pd.DataFrame:
        """``cover_plan.csv``: :data:`PLAN_COLUMNS`, most urgent first."""
        return self.rows[PLAN_COLUMNS].round({"hours": 2}).reset_index(drop=True)

    def summary(self) -> dict:
        """``cover_summary.json`` (SPEC): counts, hours, objective, bound and status."""
        r = self.rows
        hours = r["hours"].to_numpy(float)
        status = r["status"].to_numpy(object)

        def h(mask) -> float:
            return round(float(hours[mask].sum()), 2)

        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "absences": len(self.absences),
            "providers_absent": int(self.absences["provider_id"].nunique()),
            "people_affected": int(r["person_id"].nunique()),
            "needs": len(r),
            "hours_affected": h(np.ones(len(r), bool)),
            "hours_named_cover": h(status == "named_cover"),
            "hours_other_cover": h(status == "other_cover"),
            "hours_uncovered": h(status == "uncovered"),
            "people_with_uncovered_hours": int(r.loc[status == "uncovered", "person_id"].nunique()),
            "uncovered_by_reason": {
                k: int(v) for k, v in r.loc[status == "uncovered", "reason"].value_counts().items()
            },
            "objective": round(self.objective, 2),
            "best_bound": round(self.best_bound, 2),
            "optimality_gap": None if self.gap is None else round(self.gap, 6),
            "solver_status": self.status,
            "tie_break_status": self.tie_break_status,
            "seconds": round(self.seconds, 3),
        }


def _iso_week(day: dt.date) -> str:
    y, w, _ = day.isocalendar()
    return f"{y}-W{w:02d}"


def cover_plan(
    study: Study,
    matches: pd.DataFrame,
    absences: pd.DataFrame,
    start: dt.date,
    end: dt.date,
    *,
    deadline: float | None = None,
    committed_includes_matches: bool = False,
    solver: str = "auto",
) -> CoverPlan:
    """The best cover plan for the absences between two dates (module docstring).

    Parameters
    ----------
    study
        The registers (``study.people`` must hold every matched person) and the settings:
        ``match_time_limit_s`` bounds the solve, ``workers`` and ``seed`` are the solver's.
    matches
        A ``matches.csv`` frame (:func:`gapmap.io.absences.read_matches`, or the store's
        ``assignments``).
    absences
        The absences frame (:func:`gapmap.io.absences.read_absences`, or the store's).
    start, end
        The dates to plan, inclusive.
    deadline
        ``time.perf_counter()`` by which to be done (default: now + the time limit).
    committed_includes_matches
        The providers' ``committed_hours`` already hold the hours of ``matches`` (e.g. a
        register whose bookings include them): they are then not taken from the room again.
    solver
        ``auto`` (the default: CP-SAT for small models, HiGHS branch and cut for large ones),
        ``highs`` or ``cp-sat``: the same integer models either way (:mod:`gapmap.cover.mip`);
        HiGHS proves a snow week's largest groups many times faster (docs/benchmarks.md).

    Returns
    -------
    CoverPlan

    Raises
    ------
    InputError
        ``end`` before ``start``, a plan longer than a year, or a matches row that names
        someone not in the registers.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import gapmap
    >>> from gapmap.io.absences import read_absences, read_matches
    >>> study = gapmap.datasets.demo_study(match_time_limit_s=2)
    >>> folder = Path(tempfile.mkdtemp())
    >>> gapmap.match(study).table.to_csv(folder / "matches.csv", index=False)
    >>> off = "provider_id,from,to\\nMP0001,2026-12-07,2026-12-13\\n"   # MP0001 off a week
    >>> _ = (folder / "absences.csv").write_text(off)
    >>> plan = cover_plan(study, read_matches(folder / "matches.csv"),
    ...                   read_absences(folder / "absences.csv", study.providers),
    ...                   dt.date(2026, 12, 7), dt.date(2026, 12, 13))
    >>> s = plan.summary()
    >>> s["providers_absent"], s["solver_status"], s["hours_uncovered"] <= s["hours_affected"]
    (1, 'OPTIMAL', True)
    """
    t0 = time.perf_counter()
    if end < start:
        raise InputError(Problem("command line", "the plan ends before it starts", column="--to",
                                 value=end.isoformat()))  # fmt: skip
    if (end - start).days > 366:
        raise InputError(Problem("command line", "plan at most a year at a time", column="--to",
                                 value=end.isoformat()))  # fmt: skip
    settings = study.settings
    deadline = deadline if deadline is not None else t0 + settings.match_time_limit_s
    arr = arrangements(study, matches)
    ctx = _Context(study, arr, committed_includes_matches)
    off = absent_days(absences, study.providers, start, end)
    weeks = sorted({_iso_week(d) for d in off})
    week_of = {d: weeks.index(_iso_week(d)) for d in off}
    needs = ctx.needs(off, week_of)
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}: one of {', '.join(SOLVERS)}")
    sol = _solve(ctx, needs, seconds=deadline - time.perf_counter(), workers=settings.workers,
                 seed=settings.seed, solver=solver)  # fmt: skip
    rows = _rows(ctx, needs, sol, off, weeks)
    return CoverPlan(
        rows=rows, start=start, end=end, absences=absences.reset_index(drop=True),
        status=sol.status, objective=sol.objective / 100.0, best_bound=sol.bound / 100.0,
        tie_break_status=sol.tie_status, seconds=time.perf_counter() - t0,
    )  # fmt: skip


def _rows(ctx: _Context, needs: _Needs, sol: _Solution, off, weeks: list[str]) -> pd.DataFrame:
    """The plan's table, with the reason and the nearest change for every uncovered need."""
    study, arr = ctx.study, ctx.arr
    p_ids = study.people["person_id"].astype(str).to_numpy()
    v_ids = study.providers["provider_id"].astype(str).to_numpy()
    # room left after the plan, per provider and week
    used: dict[tuple[int, int], int] = {}
    for i in range(len(needs)):
        k = sol.choice[i]
        if k >= 0:
            key = (int(needs.cand[i][k]), needs.week[i])
            used[key] = used.get(key, 0) + needs.units[i]
    records = []
    for i in range(len(needs)):
        a, p, k = needs.arrangement[i], needs.person[i], int(sol.choice[i])
        rec = {
            "person_id": p_ids[p],
            "day": DAYS[needs.date[i].weekday()],
            "absent_provider_id": v_ids[needs.giver[i]],
            "role": needs.role[i],
            "hours": needs.hours[i],
            "date": needs.date[i].isoformat(),
            "priority": needs.priority[i],
            "person": p,
            "absent": needs.giver[i],
            "week": weeks[needs.week[i]],
            "change": None,
        }
        if k >= 0:
            c = int(needs.cand[i][k])
            rec.update(cover_provider_id=v_ids[c], cover=c,
                       status="named_cover" if c == arr.cover[a] else "other_cover",
                       reason="", distance_km=round(float(needs.cand_km[i][k]), 2))  # fmt: skip
        else:
            reason, change = _why_uncovered(ctx, needs, i, off[needs.date[i]], used)
            rec.update(cover_provider_id="", cover=-1, status="uncovered", reason=reason,
                       distance_km=np.nan, change=change)  # fmt: skip
        records.append(rec)
    cols = PLAN_COLUMNS + ["priority", "person", "cover", "absent", "week", "change"]
    frame = pd.DataFrame(records, columns=cols)
    if len(frame):
        frame = frame.sort_values(["priority", "date", "person_id", "role"],
                                  ascending=[False, True, True, True], kind="stable")  # fmt: skip
    return frame.reset_index(drop=True)


def _why_uncovered(ctx: _Context, needs: _Needs, i: int, absent: set[int], used) -> tuple:
    """The first reason that applies, and the nearest change that would cover the need.

    The change is ``(provider position, what, hours, km)``: ``what`` is ``"work_day"`` (the
    nearest eligible provider would need to work that weekday), ``"back"`` (the nearest who
    works that day is off too), ``"cover"`` (it does not take on cover), ``"room"`` (it would
    need ``hours`` more free that week), or ``(-1, "recruit", 0, nan)`` when no provider can
    support the person at all.
    """
    a, p, wd, units = needs.arrangement[i], needs.person[i], needs.date[i].weekday(), needs.units[i]
    arr = ctx.arr
    cand, km = ctx.eligible(p)
    keep = cand != needs.giver[i]
    cand, km = cand[keep], km[keep]
    if len(cand) == 0:
        return "no_provider_in_reach", (-1, "recruit", 0.0, math.nan)
    works = (ctx.v_days[cand] >> wd & 1).astype(bool)
    if not works.any():
        return "no_one_works_that_day", (int(cand[0]), "work_day", 0.0, float(km[0]))
    cand, km = cand[works], km[works]
    present = ~np.isin(cand, list(absent))
    if not present.any():
        return "all_off", (int(cand[0]), "back", 0.0, float(km[0]))
    cand, km = cand[present], km[present]
    willing = ctx.v_cover[cand] | (cand == arr.provider[a]) | (cand == arr.partner[a])
    if not willing.any():
        return "none_cover", (int(cand[0]), "cover", 0.0, float(km[0]))
    c, d = int(cand[willing][0]), float(km[willing][0])
    left = _room(ctx, needs, c, needs.week[i]) - used.get((c, needs.week[i]), 0)
    return "all_full", (c, "room", max(0, units - left) / 100.0, d)
