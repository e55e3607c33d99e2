"""The cover plan: when providers are off, who gives their people's hours instead.

:func:`cover_plan` reads the arrangements and the days each provider is off, lists every need
(a person's day of hours an absent provider would have given) with the providers who may give
it and their room (:mod:`gapmap.cover.needs`, where the rules are written out), gives the needs
out level by level (:mod:`gapmap.cover.levels`: priority × hours covered, then the named cover,
then continuity, then distance), and returns a :class:`CoverPlan`: one row per need, and for
each need left uncovered the first reason that applies and the nearest change that would cover
it.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gapmap.cover.levels import _Solution, _solve
from gapmap.cover.mip import SOLVERS
from gapmap.cover.needs import (
    Arrangements,
    _Context,
    _Needs,
    _room,
    absent_days,
    arrangements,
    cover_room_units,
)
from gapmap.errors import InputError, Problem
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
    """The best cover plan for the absences between two dates (the rules in
    :mod:`gapmap.cover.needs`, the levels in :mod:`gapmap.cover.levels`).

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
