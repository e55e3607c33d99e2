"""The cover plan and N−1 resilience from the register database (``--db``).

What the plan takes from the store (:mod:`gapmap.store`, read through its API only):

* the providers register as it stands, with the register's **own** committed hours
  (:meth:`~gapmap.store.Store.registers`), not :meth:`~gapmap.store.Store.study`'s free hours:
  the plan counts the referrals' loads itself (:func:`gapmap.cover.plan.cover_room_units`) and
  lets the cover reserve be spent, so counting them in committed too would take them twice;
* the people with pending or confirmed referrals and their arrangements
  (:meth:`~gapmap.store.Store.assignments`);
* the absences recorded that meet the plan's dates (:meth:`~gapmap.store.Store.absences`);
* the temporary cover of *other* absences already accepted for those dates
  (:meth:`~gapmap.store.Store.cover_assignments`): their hours are added to their cover's
  committed hours (cautiously: the whole assignment's weekly hours). Those of the absences
  planned are left out: the new plan replaces them when accepted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gapmap.io.absences import ABSENCE_COLUMNS
from gapmap.settings import Settings

__all__ = ["CoverInputs", "cover_inputs", "plan_from_store", "resilience_from_store"]


@dataclass
class CoverInputs:
    """What a cover plan from the database is made of (module docstring)."""

    study: Any
    matches: pd.DataFrame
    absences: pd.DataFrame
    notes: list[str]


def _meets(frame: pd.DataFrame, start: dt.date, end: dt.date) -> pd.Series:
    return (frame["from"] <= end) & (frame["to"] >= start)


def cover_inputs(
    store,
    start: dt.date | None = None,
    end: dt.date | None = None,
    *,
    settings: Settings | None = None,
    **study_kwargs: Any,
) -> CoverInputs:
    """The study, arrangements and absences a cover plan (or N−1) from the database takes.

    Parameters
    ----------
    store
        An open :class:`gapmap.store.Store`.
    start, end
        The plan's dates (None: N−1, which takes no absences and no temporary cover).
    settings
        The options (default: the store's).
    **study_kwargs
        Passed to :meth:`gapmap.Study.read` (``areas``, ``council``...).

    Returns
    -------
    CoverInputs
    """
    from gapmap.study import Study, StudyInputs

    settings = (settings or store.settings).validated()
    prov, _ = store.registers()
    people, matches = store.assignments()
    notes: list[str] = []
    known = set(prov["provider_id"].astype(str))
    # an arrangement whose provider or partner has left the register cannot be planned for
    gone = ~matches["provider_id"].isin(known) | (
        (matches["partner_provider_id"] != "") & ~matches["partner_provider_id"].isin(known)
    )
    if gone.any():
        notes.append(f"{int(gone.sum())} referral(s) name a provider no longer in the register: "
                     "left out of the plan")  # fmt: skip
        matches = matches[~gone]
        people = people[people["person_id"].isin(set(matches["person_id"]))]
    matches = matches.copy()
    matches.loc[~matches["cover_provider_id"].isin(known), "cover_provider_id"] = ""
    absences = store.absences()
    absences = absences[absences["provider_id"].isin(known)]
    if start is not None and end is not None:
        absences = absences[_meets(absences, start, end)]
        temp = store.cover_assignments()
        temp = temp[_meets(temp, start, end) & ~temp["absence_id"].isin(absences["absence_id"])]
        if len(temp):
            extra = temp.groupby("cover_provider_id")["hours"].sum()
            add = prov["provider_id"].map(extra).fillna(0.0).to_numpy(float)
            prov = prov.copy()
            prov["committed_hours"] = np.minimum(
                prov["capacity_hours"].to_numpy(float),
                prov["committed_hours"].to_numpy(float) + add,
            )
            notes.append(f"{len(temp)} temporary cover arrangement(s) of other absences hold "
                         "hours on these dates")  # fmt: skip
    else:
        absences = absences.iloc[0:0]
    absences = absences[list(ABSENCE_COLUMNS)].reset_index(drop=True)
    people = people.reset_index(drop=True)
    people["row"] = np.arange(2, len(people) + 2)
    label = "register database"
    prov.attrs["source"] = label + " providers"
    people.attrs["source"] = label + " referrals"
    inputs = StudyInputs(providers=prov, people=people, **study_kwargs)
    study = Study.read(inputs, settings=settings)
    return CoverInputs(study, matches.reset_index(drop=True), absences, notes)


def plan_from_store(
    store,
    start: dt.date,
    end: dt.date,
    *,
    settings: Settings | None = None,
    deadline: float | None = None,
    **study_kwargs: Any,
):
    """The cover plan for the absences recorded between two dates, checked independently.

    Parameters
    ----------
    store
        An open :class:`gapmap.store.Store`.
    start, end
        The dates to plan, inclusive.
    settings
        The options (default: the store's).
    deadline
        ``time.perf_counter()`` by which to be done.
    **study_kwargs
        Passed to :meth:`gapmap.Study.read`.

    Returns
    -------
    tuple
        ``(plan, inputs)``: the :class:`~gapmap.cover.CoverPlan` and its :class:`CoverInputs`.

    Raises
    ------
    RuntimeError
        The plan broke a rule (a bug: the independent checker disagrees).
    """
    from gapmap.cover import check_cover_plan, cover_plan

    inputs = cover_inputs(store, start, end, settings=settings, **study_kwargs)
    study = inputs.study
    plan = cover_plan(study, inputs.matches, inputs.absences, start, end, deadline=deadline)
    problems = check_cover_plan(
        study.people, study.providers, inputs.matches, inputs.absences, plan.table(),
        plan.start, plan.end, circuity=study.settings.circuity, objective=plan.objective,
    )  # fmt: skip
    if problems:
        raise RuntimeError(f"the cover plan broke {len(problems)} rule(s) (a bug): "
                           + "; ".join(problems[:5]))  # fmt: skip
    return plan, inputs


def resilience_from_store(
    store,
    *,
    settings: Settings | None = None,
    deadline: float | None = None,
    say=None,
    **study_kwargs: Any,
):
    """N−1 resilience of the arrangements recorded (pending and confirmed referrals).

    Parameters
    ----------
    store
        An open :class:`gapmap.store.Store`.
    settings, deadline, say
        As for :func:`gapmap.cover.n_minus_one`.
    **study_kwargs
        Passed to :meth:`gapmap.Study.read`.

    Returns
    -------
    tuple
        ``(resilience, inputs)``.
    """
    from gapmap.cover import n_minus_one

    inputs = cover_inputs(store, settings=settings, **study_kwargs)
    res = n_minus_one(inputs.study, inputs.matches, deadline=deadline, say=say)
    return res, inputs
