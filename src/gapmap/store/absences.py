"""Absences: when a provider is away (recorded by staff, checked by the one rule of
:func:`gapmap.io.absences.absence_problems`, withdrawn when recorded in error).
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
from sqlalchemy import insert, or_, select, update
from sqlalchemy.engine import Connection

from gapmap.errors import Problem
from gapmap.store import schema as S
from gapmap.store.base import StoreBase, _instant, _utcnow
from gapmap.store.engine import StoreError
from gapmap.vocab import parse_days


class AbsencesMixin(StoreBase):
    """Providers' absences (part of :class:`~gapmap.store.Store`)."""

    def add_absence(
        self,
        *,
        author: str,
        provider_id: str,
        start: date,
        end: date,
        days: int | str | None = None,
        reason: str = "",
        now: datetime | None = None,
    ) -> int:
        """Record that a provider is away from ``start`` to ``end`` (inclusive) on ``days``
        (default every day).

        Parameters
        ----------
        author
            A member of staff (not revoked).
        provider_id
            The provider away (in the register, not withdrawn).
        start, end
            The first and last day away.
        days
            The weekdays affected (a bit mask or text such as ``Mon-Fri``; default all).
        reason
            Why, in a few words (optional).
        now
            The time recorded (default now).

        Raises
        ------
        StoreError
            Dates that are not dates, unknown days, or any rule of
            :func:`gapmap.io.absences.absence_problems` broken (an unknown or withdrawn provider,
            dates reversed, a reason too long, an overlap with another absence of the provider).
        """
        from gapmap.io.absences import absence_problems

        problems = []
        if not isinstance(start, date) or not isinstance(end, date):
            problems.append(Problem("absence", "give the dates as YYYY-MM-DD", column="from"))
        mask = 127
        if days is not None and str(days).strip():
            try:
                mask = int(days) if isinstance(days, int) else parse_days(days)
            except ValueError as exc:
                problems.append(Problem("absence", str(exc), column="days", value=str(days)))
            if not 1 <= mask <= 127:
                problems.append(Problem("absence", "no days given", column="days"))
        if problems:
            raise StoreError(problems)
        now = now or _utcnow()
        a = S.absences.c
        with self._write() as conn:
            author = self._check_staff(conn, author)
            current = self._current_providers(conn, [provider_id])
            near = conn.execute(
                select(a.absence_id, a.start, a.end, a.day_mask, a.reason).where(
                    a.provider_id == provider_id, a.withdrawn_at.is_(None)
                ).order_by(a.absence_id)
            ).all()  # fmt: skip
            # the one rule of absences (gapmap.io.absences), the new one last so it is the one named
            frame = pd.DataFrame(
                [(provider_id, r.start, r.end, int(r.day_mask), r.reason) for r in near]
                + [(provider_id, start, end, mask, str(reason or ""))],
                columns=["provider_id", "from", "to", "days", "reason"],
            )
            found = absence_problems(
                frame, current, file="absence", rows=[None] * len(frame),
                names=[f"absence number {r.absence_id} ({r.start} to {r.end})" for r in near]
                + ["this one"],
            )  # fmt: skip
            if found:
                raise StoreError(found)
            key = conn.execute(
                insert(S.absences).values(
                    provider_id=provider_id, start=start, end=end, day_mask=mask,
                    reason=str(reason or ""), created_at=now, created_by=author,
                )
            ).inserted_primary_key  # fmt: skip
        return int(key[0]) if key else 0

    def withdraw_absence(self, absence_id: int, *, author: str) -> None:
        """Withdraw an absence recorded in error (kept in the history).

        Parameters
        ----------
        absence_id
            The absence's number.
        author
            A member of staff (not revoked).
        """
        a = S.absences.c
        with self._write() as conn:
            author = self._check_staff(conn, author)
            row = conn.execute(
                select(a.withdrawn_at).where(a.absence_id == int(absence_id))
            ).first()  # fmt: skip
            if row is None or row.withdrawn_at is not None:
                raise StoreError(f"there is no absence number {absence_id} to withdraw",
                                 column="ID")  # fmt: skip
            now = _utcnow()
            conn.execute(
                update(S.absences).where(a.absence_id == int(absence_id))
                .values(withdrawn_at=now, withdrawn_by=author)
            )  # fmt: skip
            c = S.cover_assignments.c
            conn.execute(
                update(S.cover_assignments)
                .where(c.absence_id == int(absence_id), c.state == "active")
                .values(state="withdrawn", changed_at=now, changed_by=author)
            )  # fmt: skip

    def absences(self, as_of: date | datetime | None = None) -> pd.DataFrame:
        """The absences recorded (and not withdrawn) at the end of ``as_of`` (default now):
        ``absence_id, provider_id, from, to, days, reason`` (``days`` a bit mask)."""
        t = _instant(as_of)
        a = S.absences.c
        q = select(a.absence_id, a.provider_id, a.start, a.end, a.day_mask, a.reason)
        if t is None:
            q = q.where(a.withdrawn_at.is_(None))
        else:
            q = q.where(a.created_at < t, or_(a.withdrawn_at.is_(None), a.withdrawn_at >= t))
        with self._read() as conn:
            rows = conn.execute(q.order_by(a.start, a.provider_id, a.absence_id)).all()
        out = pd.DataFrame(rows, columns=["absence_id", "provider_id", "from", "to", "days",
                                          "reason"])  # fmt: skip
        out["absence_id"] = out["absence_id"].astype(np.int64)
        out["days"] = out["days"].astype(np.int64)
        out["provider_id"] = out["provider_id"].astype(str)
        out["reason"] = out["reason"].astype(str)
        return out

    def _current_providers(self, conn: Connection, ids: list[str]) -> pd.DataFrame:
        """The current versions of some providers (the columns the rules of reach read)."""
        c = S.provider_versions.c
        cols = ["provider_id", "x", "y", "service_mask", "day_mask", "capacity_hours",
                "committed_hours", "max_travel_km", "cover", "cqc_registered"]  # fmt: skip
        rows = conn.execute(
            select(*(c[k] for k in cols)).where(
                c.provider_id.in_(ids), c.valid_to.is_(None), c.withdrawn.is_(False)
            )
        ).all()
        return pd.DataFrame.from_records(rows, columns=cols)
