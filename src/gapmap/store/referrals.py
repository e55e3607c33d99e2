"""Referrals once made: moved on from state to state (pending, confirmed, ended, released),
read as they stood at any moment, and the arrangements they make (what the cover plan
takes).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import numpy as np
import pandas as pd
from sqlalchemy import insert, select, update

from gapmap.store import schema as S
from gapmap.store.base import ACTIVE, STATES, SYSTEM, StoreBase, _instant, _utcnow
from gapmap.store.engine import StoreError
from gapmap.vocab import days_text, services_text

#: The changes of state staff may make.
NEXT_STATES = {"pending": ("confirmed", "released"), "confirmed": ("ended", "released")}


class ReferralsMixin(StoreBase):
    """Referrals' states and history (part of :class:`~gapmap.store.Store`)."""

    def set_state(
        self, referral_id: int, state: str, *, author: str, now: datetime | None = None
    ) -> None:
        """Move a referral on: pending → confirmed or released; confirmed → ended or released.

        Parameters
        ----------
        referral_id
            The referral's number.
        state
            ``confirmed``, ``ended`` or ``released``.
        author
            A member of staff (not revoked).
        now
            The time recorded (default now).

        Raises
        ------
        StoreError
            An unknown referral, or a change that its state does not allow (e.g. confirming a
            referral that released itself after ``hold_days``).
        """
        if state not in STATES[1:]:
            raise StoreError(f"a referral can be confirmed, ended or released, not {state!r}")
        now = now or _utcnow()
        c = S.referrals.c
        self.release_expired(now)
        with self._write() as conn:
            author = self._check_staff(conn, author)
            row = conn.execute(
                select(c.state, c.updated_at).where(c.referral_id == int(referral_id))
            ).first()  # fmt: skip
            if row is None:
                raise StoreError(f"there is no referral number {referral_id}", column="ID")
            if state not in NEXT_STATES.get(row.state, ()):
                extra = ""
                if row.state == "released":
                    who, at = self._released(conn, referral_id)
                    extra = f" (released {at:%Y-%m-%d %H:%M} UTC"
                    extra += (
                        f": not confirmed within {self.settings.hold_days} days)"
                        if who == SYSTEM
                        else f" by {who})"
                    )
                raise StoreError(f"referral {referral_id} is {row.state}{extra}: it cannot be "
                                 f"{state} now", column="ID")  # fmt: skip
            conn.execute(
                update(S.referrals).where(c.referral_id == int(referral_id))
                .values(state=state, updated_at=now)
            )  # fmt: skip
            conn.execute(
                insert(S.referral_events).values(
                    referral_id=int(referral_id), state=state, at=now, recorded_at=now,
                    author=author,
                )
            )  # fmt: skip

    def _released(self, conn, referral_id) -> tuple[str, datetime]:
        e = S.referral_events.c
        row = conn.execute(
            select(e.author, e.at).where(e.referral_id == int(referral_id), e.state == "released")
        ).one()  # fmt: skip
        return row.author, row.at

    def referrals(
        self, as_of: date | datetime | None = None, states: Iterable[str] | None = None
    ) -> pd.DataFrame:
        """Referrals as they stood at the end of ``as_of`` (default now), one row each.

        Columns: ``referral_id, person_id, postcode, hours, days, services, provider_id,
        provider_hours, provider_days, partner_id, partner_hours, partner_days, cover_id,
        state, created_at, created_by, changed_at, changed_by`` and the person's needs
        (``x, y, day_mask, service_mask, max_travel_km, priority, needs_cover, self_directing,
        regulated_care``).

        Parameters
        ----------
        as_of
            A day (its end) or a moment; default now.
        states
            Only referrals in these states (default all).
        """
        t = _instant(as_of)
        r, e = S.referrals.c, S.referral_events.c
        with self._read() as conn:
            q = select(S.referrals)
            if t is not None:
                q = q.where(r.created_at < t)
            refs = pd.DataFrame(conn.execute(q.order_by(r.referral_id)).mappings().all())
            if t is None:
                ev_q = select(e.referral_id, e.state, e.at, e.author).order_by(e.event_id)
            else:
                ev_q = select(e.referral_id, e.state, e.at, e.author).where(e.at < t)
                ev_q = ev_q.order_by(e.event_id)
            events = pd.DataFrame(conn.execute(ev_q).all(),
                                  columns=["referral_id", "state", "at", "author"])  # fmt: skip
        cols = [c.name for c in S.referrals.columns]
        if refs.empty:
            refs = pd.DataFrame(columns=cols)
        if len(refs):
            last = events.sort_values(["referral_id", "at"], kind="stable").groupby(
                "referral_id"
            ).last()  # fmt: skip
            refs["state"] = refs["referral_id"].map(last["state"]).fillna("pending")
            refs["changed_at"] = refs["referral_id"].map(last["at"])
            refs["changed_by"] = refs["referral_id"].map(last["author"])
        else:
            refs["changed_at"] = pd.Series(dtype=object)
            refs["changed_by"] = pd.Series(dtype=object)
        if states is not None:
            refs = refs[refs["state"].isin(list(states))]
        refs = refs.reset_index(drop=True)
        refs["days"] = [days_text(int(m)) for m in refs["day_mask"]]
        refs["services"] = [services_text(int(m)) for m in refs["service_mask"]]
        refs = refs.drop(columns=["updated_at"])
        return refs

    def referral(self, referral_id: int) -> dict | None:
        """One referral as :meth:`referrals` shows it (a dict; None if there is none), read
        without building frames: what the API answers after a change."""
        r, e = S.referrals.c, S.referral_events.c
        with self._read() as conn:
            row = conn.execute(select(S.referrals).where(r.referral_id == int(referral_id)))
            found = row.mappings().first()
            if found is None:
                return None
            last = conn.execute(
                select(e.state, e.at, e.author).where(e.referral_id == int(referral_id))
                .order_by(e.at.desc(), e.event_id.desc()).limit(1)
            ).first()  # fmt: skip
        out = dict(found)
        out.pop("updated_at", None)
        if last is not None:
            out.update(state=last.state, changed_at=last.at, changed_by=last.author)
        out["days"] = days_text(int(out["day_mask"]))
        out["services"] = services_text(int(out["service_mask"]))
        return out

    def assignments(
        self, as_of: date | datetime | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The people with pending or confirmed referrals (people-register columns) and their
        arrangements in ``matches.csv`` shape: what the cover plan takes."""
        self.release_expired()
        act = self.referrals(as_of=as_of, states=ACTIVE)
        people = pd.DataFrame(
            {
                "person_id": act["person_id"].astype(str),
                "postcode": act["postcode"].astype(str),
                "x": act["x"].astype(float),
                "y": act["y"].astype(float),
                "hours": act["hours"].astype(float),
                "days": act["days"],
                "day_mask": act["day_mask"].astype(np.int64),
                "services": act["services"],
                "service_mask": act["service_mask"].astype(np.int64),
                "max_travel_km": pd.to_numeric(act["max_travel_km"]).astype(float),
                "priority": act["priority"].astype(np.int64),
                "needs_cover": act["needs_cover"].astype(bool),
                "self_directing": act["self_directing"].astype(bool),
                "regulated_care": act["regulated_care"].astype(bool),
                "row": np.arange(2, len(act) + 2),
            }
        )
        matches = pd.DataFrame(
            {
                "person_id": act["person_id"].astype(str),
                "status": "matched",
                "provider_id": act["provider_id"].astype(str),
                "partner_provider_id": act["partner_id"].fillna("").astype(str),
                "cover_provider_id": act["cover_id"].fillna("").astype(str),
                "hours": act["hours"].astype(float),
                "provider_hours": act["provider_hours"].astype(float),
                "partner_hours": act["partner_hours"].astype(float),
                "referral_id": act["referral_id"].astype(np.int64),
                "state": act["state"],
            }
        )
        return people, matches
