"""Temporary cover: an accepted cover plan's arrangements, which hold their cover's hours on
their dates until the absence ends or is withdrawn.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import insert, or_, select, update
from sqlalchemy.engine import Connection

from gapmap.errors import Problem
from gapmap.store import schema as S
from gapmap.store.base import StoreBase, _instant, _utcnow
from gapmap.store.engine import StoreError


class CoverMixin(StoreBase):
    """Accepted cover plans (part of :class:`~gapmap.store.Store`)."""

    def accept_cover(
        self, plan: pd.DataFrame, *, author: str, now: datetime | None = None
    ) -> list[int]:
        """Record a cover plan's arrangements as temporary assignments, all or none.

        Each covered row of the plan (``cover_plan.csv``: ``person_id``, ``date``,
        ``absent_provider_id``, ``role``, ``hours``, ``cover_provider_id``) is tied to the
        absence it covers; the rows of one person, absence, role and cover become one
        assignment from its first to its last date, on the weekdays of those dates, of the
        hours a week they come to. Active assignments of an earlier plan for the same person,
        absence and role whose dates meet are marked ``replaced``. An assignment holds its
        cover's hours (free hours, :meth:`study`) on the dates from its start to its end, and
        ends with the absence.

        Parameters
        ----------
        plan
            The plan's table (:meth:`gapmap.cover.CoverPlan.table`); uncovered rows are skipped.
        author
            A member of staff (not revoked).
        now
            The time recorded (default now).

        Returns
        -------
        list of int
            The new assignments' numbers.

        Raises
        ------
        StoreError
            A row whose date no recorded absence of its provider covers (the absence was
            withdrawn since the plan was made): nothing is recorded.
        """
        now = now or _utcnow()
        with self._write() as conn:
            author = self._check_staff(conn, author)
            return self._record_cover(conn, plan, author, now)

    def accept_cover_planned(
        self, make_plan: Callable[[], tuple[Any, pd.DataFrame]], *, author: str,
        now: datetime | None = None,
    ) -> tuple[Any, list[int]]:  # fmt: skip
        """Make a cover plan on the register as it stands and record it, in one transaction.

        The writing transaction begins (SQLite: the write lock; PostgreSQL: every provider's
        row locked, as referrals and accepted matches lock the providers they touch) before
        ``make_plan`` reads the register, so no referral, accepted match or other accepted
        plan can come between the plan and its recording: it is made on the register exactly
        as it is recorded into. ``make_plan`` reads through the store's ordinary reading
        methods (their own connections, which see everything committed before the lock).

        Parameters
        ----------
        make_plan
            Called once, inside the transaction: returns ``(anything, plan table)``.
        author
            A member of staff (not revoked).
        now
            The time recorded (default now).

        Returns
        -------
        tuple
            ``(anything, ids)``: what ``make_plan`` returned first, and the new assignments'
            numbers (as :meth:`accept_cover`).
        """
        now = now or _utcnow()
        with self._write() as conn:
            author = self._check_staff(conn, author)
            self._lock_all(conn)
            made, table = make_plan()
            ids = self._record_cover(conn, table, author, now)
        return made, ids

    def _record_cover(
        self, conn: Connection, plan: pd.DataFrame, author: str, now: datetime
    ) -> list[int]:
        """:meth:`accept_cover`'s rows, written in the transaction ``conn``."""
        rows = plan[plan["cover_provider_id"].fillna("").astype(str) != ""]
        a, t = S.absences.c, S.cover_assignments.c
        absent = sorted(set(rows["absent_provider_id"].astype(str)))
        known = conn.execute(
            select(a.absence_id, a.provider_id, a.start, a.end, a.day_mask).where(
                a.provider_id.in_(absent), a.withdrawn_at.is_(None)
            )
        ).all()  # fmt: skip
        groups: dict[tuple, dict] = {}
        problems = []
        for rec in rows.to_dict("records"):
            day = date.fromisoformat(str(rec["date"]))
            vid = str(rec["absent_provider_id"])
            hit = next((k for k in known if k.provider_id == vid and k.start <= day <= k.end
                        and int(k.day_mask) >> day.weekday() & 1), None)  # fmt: skip
            if hit is None:
                problems.append(Problem("cover plan", f"{vid} has no absence recorded on "
                                        f"{day}: make the plan again", column="date",
                                        value=str(day)))  # fmt: skip
                continue
            key = (str(rec["person_id"]), int(hit.absence_id), vid,
                   str(rec["cover_provider_id"]), str(rec["role"]))  # fmt: skip
            g = groups.setdefault(key, {"start": day, "end": day, "days": {}})
            g["start"], g["end"] = min(g["start"], day), max(g["end"], day)
            g["days"][day.weekday()] = float(rec["hours"])
        if problems:
            raise StoreError(problems)
        ids = []
        # the earlier plans' arrangements replaced first, then this plan's recorded: one
        # person's days given by two covers are two arrangements of this plan, and the second
        # must not replace the first
        for (pid, absence_id, _vid, _cid, role), g in groups.items():
            conn.execute(
                update(S.cover_assignments).where(
                    t.person_id == pid, t.absence_id == absence_id, t.role == role,
                    t.state == "active", t.start <= g["end"], t.end >= g["start"],
                ).values(state="replaced", changed_at=now, changed_by=author)
            )  # fmt: skip
        for (pid, absence_id, vid, cid, role), g in groups.items():
            mask = sum(1 << d for d in g["days"])
            new = conn.execute(
                insert(S.cover_assignments).values(
                    person_id=pid, absence_id=absence_id, absent_provider_id=vid,
                    cover_provider_id=cid, role=role, start=g["start"], end=g["end"],
                    day_mask=mask, hours=round(sum(g["days"].values()), 2), author=author,
                    created_at=now, state="active",
                )
            ).inserted_primary_key  # fmt: skip
            ids.append(int(new[0]) if new else 0)
        self._log(conn, author, "accept cover", {"assignments": len(ids)}, now)
        return ids

    def cover_assignments(
        self, as_of: date | datetime | None = None, *, on: date | None = None
    ) -> pd.DataFrame:
        """The temporary cover assignments active at the end of ``as_of`` (default now).

        Parameters
        ----------
        as_of
            A day (its end) or a moment; default now.
        on
            Only those whose dates include this day.

        Returns
        -------
        DataFrame
            ``assignment_id, person_id, absence_id, absent_provider_id, cover_provider_id,
            role, from, to, days, hours, author, created_at``.
        """
        with self._read() as conn:
            rows = self._cover_rows(conn, _instant(as_of), on)
        cols = ["assignment_id", "person_id", "absence_id", "absent_provider_id",
                "cover_provider_id", "role", "from", "to", "days", "hours", "author",
                "created_at"]  # fmt: skip
        return pd.DataFrame([tuple(r) for r in rows], columns=cols)

    def _cover_rows(self, conn: Connection, t: datetime | None, on: date | None) -> list:
        c, a = S.cover_assignments.c, S.absences.c
        q = select(
            c.assignment_id, c.person_id, c.absence_id, c.absent_provider_id,
            c.cover_provider_id, c.role, c.start, c.end, c.day_mask, c.hours, c.author,
            c.created_at,
        ).join(S.absences, a.absence_id == c.absence_id)  # fmt: skip
        if t is None:
            q = q.where(c.state == "active", a.withdrawn_at.is_(None))
        else:
            q = q.where(c.created_at < t, or_(c.state == "active", c.changed_at >= t),
                        or_(a.withdrawn_at.is_(None), a.withdrawn_at >= t))  # fmt: skip
        if on is not None:
            q = q.where(c.start <= on, c.end >= on)
        return list(conn.execute(q.order_by(c.assignment_id)).all())

    def _temporary_held(self, conn: Connection, as_of) -> dict[str, float]:
        """Hours a week temporary cover holds on each cover provider on the day of ``as_of``
        (default today): the assignments whose dates include that day."""
        t = _instant(as_of)
        day = (t - timedelta(microseconds=1)).date() if t is not None else _utcnow().date()
        out: dict[str, float] = {}
        for r in self._cover_rows(conn, t, day):
            out[r.cover_provider_id] = out.get(r.cover_provider_id, 0.0) + float(r.hours)
        return out

    def _with_temporary(self, held: pd.DataFrame, as_of) -> pd.DataFrame:
        """``held`` with a ``temporary`` column (cover assignments on the day) added to it."""
        with self._read() as conn:
            temp = self._temporary_held(conn, as_of)
        out = held.copy()
        if "temporary" not in out:
            out["temporary"] = 0.0
        for pid, h in temp.items():
            if pid not in out.index:
                out.loc[pid] = 0.0
            out.loc[pid, "temporary"] += h
            out.loc[pid, "held"] += h
        return out
