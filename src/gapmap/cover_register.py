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

__all__ = [
    "Accepted",
    "CoverInputs",
    "accept_from_store",
    "cover_inputs",
    "plan_changes",
    "plan_fingerprint",
    "plan_from_store",
    "resilience_from_store",
]


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


#: What identifies a plan's decisions: who loses which day's hours, and who gives them.
_KEY = ["person_id", "date", "role", "absent_provider_id", "hours", "cover_provider_id"]


def _decisions(table: pd.DataFrame) -> set[tuple]:
    t = table.reindex(columns=_KEY).fillna("").astype(str)
    t["hours"] = [f"{float(h):.2f}" if h not in ("", "nan") else "" for h in t["hours"]]
    return set(t.itertuples(index=False, name=None))


def plan_fingerprint(table: pd.DataFrame) -> str:
    """A short fingerprint of a plan's decisions (the page sends it back when accepting).

    Parameters
    ----------
    table
        The plan's table (:meth:`gapmap.cover.CoverPlan.table`, or ``cover_plan.csv``).

    Returns
    -------
    str
        16 hexadecimal digits; equal for two plans exactly when they list the same needs
        with the same covers.
    """
    import hashlib

    text = "\n".join("|".join(row) for row in sorted(_decisions(table)))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def plan_changes(shown: pd.DataFrame, table: pd.DataFrame) -> int:
    """How many of the needs of either plan are planned differently in the other (a need
    new or gone, or given by another cover).

    Parameters
    ----------
    shown, table
        Two plans' tables (``cover_plan.csv`` columns).
    """
    a, b = _decisions(shown), _decisions(table)
    return len({r[:4] for r in a ^ b})


@dataclass
class Accepted:
    """A plan accepted from the database (:func:`accept_from_store`).

    Attributes
    ----------
    plan, inputs
        The plan made at the moment of accepting, and what it was made of.
    ids
        The temporary cover assignments recorded.
    fingerprint
        The plan's :func:`plan_fingerprint`.
    changed
        Whether it differs from the plan shown (None: no plan shown to compare with).
    """

    plan: Any
    inputs: CoverInputs
    ids: list[int]
    fingerprint: str
    changed: bool | None


#: Longest the plan made inside an accepting transaction may take (seconds): other writers wait
#: for it, and SQLite's writers in other processes give up after ``BUSY_TIMEOUT_S`` (30 s).
ACCEPT_TIME_LIMIT_S = 20.0


def accept_from_store(
    store,
    start: dt.date,
    end: dt.date,
    *,
    author: str,
    shown: str | None = None,
    settings: Settings | None = None,
    deadline: float | None = None,
    **study_kwargs: Any,
) -> Accepted:
    """Make the plan again on the register as it is now and record it, in one transaction.

    Another member of staff may have made a referral, accepted matches or accepted a plan for
    the same absences since this plan was shown: the plan recorded is the one made inside the
    writing transaction (:meth:`gapmap.store.Store.accept_cover_planned`), on the register
    exactly as it is recorded into, and ``changed`` says whether it differs from the one
    shown. An earlier accepted plan for the same absences is replaced, never added to.

    Parameters
    ----------
    store
        An open :class:`gapmap.store.Store`.
    start, end
        The dates, inclusive.
    author
        The member of staff accepting.
    shown
        The :func:`plan_fingerprint` of the plan shown (None: not known).
    settings, deadline, **study_kwargs
        As for :func:`plan_from_store`; the plan takes at most :data:`ACCEPT_TIME_LIMIT_S`
        from the moment the transaction begins (a plan not proven in that time is recorded as
        found, its status saying so).

    Returns
    -------
    Accepted

    Raises
    ------
    StoreError
        An absence the plan covers was withdrawn meanwhile: nothing is recorded.
    """

    import time

    def make():
        limit = time.perf_counter() + ACCEPT_TIME_LIMIT_S
        until = limit if deadline is None else min(deadline, limit)
        plan, inputs = plan_from_store(store, start, end, settings=settings, deadline=until,
                                       **study_kwargs)  # fmt: skip
        return (plan, inputs), plan.table()

    (plan, inputs), ids = store.accept_cover_planned(make, author=author)
    now = plan_fingerprint(plan.table())
    return Accepted(plan, inputs, ids, now, None if shown is None else now != shown)


def resilience_from_store(
    store,
    *,
    settings: Settings | None = None,
    deadline: float | None = None,
    **study_kwargs: Any,
):
    """N−1 resilience of the arrangements recorded (pending and confirmed referrals).

    Parameters
    ----------
    store
        An open :class:`gapmap.store.Store`.
    settings, deadline
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
    res = n_minus_one(inputs.study, inputs.matches, deadline=deadline)
    return res, inputs
