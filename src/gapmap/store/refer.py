"""Making referrals: one transaction locks the providers named, reads the facts a referral
checks in one statement, applies the rules of :mod:`gapmap.reach` (pair rules, room) and
inserts a ``pending`` referral that holds the hours at once; a matching's rows accepted
all or none.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, case, func, insert, select

from gapmap.io.registers import PERSON_DEFAULTS
from gapmap.reach import cover_reserve, distance_km, fits, hours_on_days, pair_rules, room_units
from gapmap.store import schema as S
from gapmap.store.base import _BUMP, _BUMPED, ACTIVE, StoreBase, _none_nan, _slot, _utcnow
from gapmap.store.engine import StoreError
from gapmap.store.person import read_person
from gapmap.vocab import days_text, days_words, hours_words, services_text

_INSERT_REFERRAL = insert(S.referrals)
_INSERT_EVENT = insert(S.referral_events)
_PROVIDER_RULE_COLUMNS = (
    "provider_id", "x", "y", "service_mask", "day_mask", "capacity_hours", "committed_hours",
    "max_travel_km", "cover", "cqc_registered",
)  # fmt: skip


def _facts_statement():
    """What a referral checks, read in one statement after the providers' rows are locked
    (one round trip on PostgreSQL): the current version of each provider named, the hours
    referrals hold on it as provider, as partner and as cover (summed; the reserve is taken
    in Python with :func:`gapmap.reach.cover_reserve`), the temporary cover on ``day``, and, on
    every row, the author's standing (NULL: not staff, 1: active, 2: revoked), a pending or
    confirmed referral of the person (NULL: none) and a pending referral whose hold ran out
    (NULL: none; else they are released first and this is read again)."""
    v, r, c, a = S.provider_versions.c, S.referrals.c, S.cover_assignments.c, S.absences.c
    me = v.provider_id

    def held(col, who):
        return (
            select(func.coalesce(func.sum(col), 0.0))
            .where(r.state.in_(ACTIVE), who == me)
            .scalar_subquery()
        )

    temporary = (
        select(func.coalesce(func.sum(c.hours), 0.0))
        .select_from(S.cover_assignments.join(S.absences, a.absence_id == c.absence_id))
        .where(
            c.cover_provider_id == me,
            c.state == "active",
            a.withdrawn_at.is_(None),
            c.start <= bindparam("day"),
            c.end >= bindparam("day"),
        )  # fmt: skip
        .scalar_subquery()
    )
    st = S.staff.c
    standing = (
        select(case((st.revoked_at.is_(None), 1), else_=2))
        .where(st.name == bindparam("author"))
        .scalar_subquery()
    )
    busy = (
        select(func.min(r.referral_id))
        .where(r.person_id == bindparam("person_id"), r.state.in_(ACTIVE))
        .scalar_subquery()
    )
    expired = (
        select(func.min(r.referral_id))
        .where(r.state == "pending", r.created_at <= bindparam("hold_limit"))
        .scalar_subquery()
    )
    return select(
        *(v[k] for k in _PROVIDER_RULE_COLUMNS),
        held(r.provider_hours, r.provider_id).label("as_provider"),
        held(r.partner_hours, r.partner_id).label("as_partner"),
        held(r.provider_hours, r.cover_id).label("covering"),
        temporary.label("temporary"),
        standing.label("standing"),
        busy.label("busy"),
        expired.label("expired"),
    ).where(
        v.provider_id.in_(bindparam("ids", expanding=True)), v.valid_to.is_(None),
        v.withdrawn.is_(False),
    )  # fmt: skip


_FACTS = _facts_statement()


def _insert_referral_pg():
    """PostgreSQL: a referral, its ``pending`` event and the raised version in one statement
    (data-modifying CTEs; the event's foreign key is checked at the statement's end)."""
    cols = [c.name for c in S.referrals.c if c.name != "referral_id"]
    made = (
        insert(S.referrals)
        .values({k: bindparam(k, type_=S.referrals.c[k].type) for k in cols})
        .returning(S.referrals.c.referral_id)
        .cte("made")
    )
    event = (
        insert(S.referral_events)
        .from_select(
            ["referral_id", "state", "at", "recorded_at", "author"],
            select(
                made.c.referral_id,
                bindparam("state", type_=S.referral_events.c.state.type),
                bindparam("event_at", type_=S.referral_events.c.at.type),
                bindparam("event_at", type_=S.referral_events.c.recorded_at.type),
                bindparam("created_by", type_=S.referral_events.c.author.type),
            ),
        )
        .cte("event")
    )
    raised = _BUMP.cte("raised")
    return select(made.c.referral_id).add_cte(event).add_cte(raised)


_INSERT_REFERRAL_PG = _insert_referral_pg()


class NoRoom(StoreError):
    """The hours asked for no longer fit (another referral took them first).

    Attributes
    ----------
    message
        What does not fit, in words.
    next_suggestion
        The next suggestion for the person, when the caller found one (the web page and the
        command line look for it with :class:`~gapmap.matching.suggest.Suggester`).
    """

    def __init__(self, message: str, next_suggestion: Any = None):
        super().__init__(message)
        self.message = message
        self.next_suggestion = next_suggestion


def _text_or_none(v) -> str | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    s = str(v).strip()
    return s or None


class ReferMixin(StoreBase):
    """Referrals made, one or a matching's at once (part of :class:`~gapmap.store.Store`)."""

    def refer(
        self,
        *,
        author: str,
        person: dict,
        provider_id: str,
        partner_id: str | None = None,
        cover_id: str | None = None,
        hours: float | str | None = None,
        days: int | str | None = None,
        now: datetime | None = None,
    ) -> int:
        """Refer a person to a provider (with partner and cover): the hours are held at once.

        One transaction: the providers' rows are locked (SQLite: the write lock), their free
        hours recomputed from the database, the pair rules (:func:`gapmap.reach.pair_rules`)
        and room (:func:`gapmap.reach.fits`) checked, and a ``pending`` referral inserted.

        Parameters
        ----------
        author
            A member of staff (not revoked).
        person
            ``person_id`` and the person's needs as in the people register (``postcode`` or
            ``x``/``y`` or ``lat``/``lon``, ``services``, ``max_travel_km``, ``needs_cover``,
            ``self_directing``, ``regulated_care``, ``priority``); what is left out is taken from
            the people register when the person is in it.
        provider_id, partner_id, cover_id
            The arrangement: the provider gives the hours on the days it works; a partner
            gives the rest (needed exactly when the provider does not work every day needed);
            a cover stands ready on the provider's days.
        hours, days
            Hours a week and days needed (default: the person's, from ``person`` or the
            register).
        now
            The time recorded (default now).

        Returns
        -------
        int
            The referral's id.

        Raises
        ------
        NoRoom
            The hours no longer fit (in words: who has how many free hours).
        StoreError
            Anything else wrong (unknown provider, not eligible, not staff...).
        """
        record = self.refer_record(
            author=author, person=person, provider_id=provider_id, partner_id=partner_id,
            cover_id=cover_id, hours=hours, days=days, now=now,
        )  # fmt: skip
        return int(record["referral_id"])

    def refer_record(
        self,
        *,
        author: str,
        person: dict,
        provider_id: str,
        partner_id: str | None = None,
        cover_id: str | None = None,
        hours: float | str | None = None,
        days: int | str | None = None,
        now: datetime | None = None,
    ) -> dict:
        """:meth:`refer`, returning the referral as :meth:`referral` shows it just after it is
        made (what the API answers), without reading it back.

        Parameters
        ----------
        author, person, provider_id, partner_id, cover_id, hours, days, now
            As :meth:`refer`.

        Returns
        -------
        dict
        """
        now = now or _utcnow()
        req = dict(person)
        if hours is not None:
            req["hours"] = hours
        if days is not None:
            req["days"] = days
        person = self.person(req)  # checked before the lock is taken
        # holds that ran out are released in the transaction, when the facts read shows any
        with self._write() as conn:
            ids = [i for i in (provider_id, partner_id, cover_id) if i]
            self._lock(conn, ids)
            values = self._refer(conn, author, person, provider_id, partner_id, cover_id, now)
        out = {k: v for k, v in values.items() if k != "updated_at"}
        out.update(changed_at=now, changed_by=values["created_by"])
        out["days"] = days_text(int(out["day_mask"]))
        out["services"] = services_text(int(out["service_mask"]))
        return out

    def person(self, req: dict) -> dict:
        """A person's needs as a referral reads them (:meth:`refer`'s ``person``, checked, with
        what was left out taken from the people register): ``person_id, postcode, x, y, hours,
        day_mask, service_mask, max_travel_km, priority, needs_cover, self_directing,
        regulated_care``."""
        with self._peek() as conn:  # one query: no snapshot needed
            return read_person(conn, req)

    def _refer(self, conn, author, person, provider_id, partner_id, cover_id, now) -> dict:
        """Check and insert one referral of a person already checked
        (:func:`~gapmap.store.person.read_person`), in the caller's transaction, after the
        providers' rows are locked; returns the row inserted (with its ``referral_id``). The
        author (a member of staff, not revoked), the person's other referrals, the providers
        and the hours they hold are read in one statement (``_FACTS``)."""
        roles = {"provider": provider_id, "partner": partner_id, "cover": cover_id}
        given = [v for v in roles.values() if v]
        facts = {"ids": given, "author": (author or "").strip(),
                 "person_id": person["person_id"], "day": _utcnow().date(),
                 "hold_limit": now - timedelta(days=self.settings.hold_days)}  # fmt: skip
        rows = conn.execute(_FACTS, facts).all()
        if not rows or rows[0].expired is not None:  # rare: release the holds that ran out
            if self._release_expired(conn, now):
                rows = conn.execute(_FACTS, facts).all()
        if not rows or rows[0].standing != 1:  # not staff or revoked: say which
            author = self._check_staff(conn, author)
        author = (author or "").strip()
        if not rows or rows[0].busy is not None:
            c = S.referrals.c
            busy = conn.execute(
                select(c.referral_id, c.state, c.provider_id).where(
                    c.person_id == person["person_id"], c.state.in_(ACTIVE)
                ).order_by(c.referral_id)
            ).first()  # fmt: skip
            if busy is not None:
                raise StoreError(
                    f"{person['person_id']} already has a {busy.state} referral (number "
                    f"{busy.referral_id}, to {busy.provider_id}): end or release it first",
                    column="person_id",
                )
        if not person["self_directing"]:
            from gapmap.matching.suggest import SELF_DIRECTING_ADVICE

            raise StoreError(SELF_DIRECTING_ADVICE, column="self_directing")
        if len(set(given)) != len(given):
            raise StoreError("the provider, partner and cover must be three different providers")
        cols = list(zip(*rows)) if rows else [()] * (len(_PROVIDER_RULE_COLUMNS) + 6)
        prov = pd.DataFrame(
            {k: list(cols[i]) for i, k in enumerate(_PROVIDER_RULE_COLUMNS)},
            columns=list(_PROVIDER_RULE_COLUMNS),
        )
        missing = [i for i in given if i not in set(prov["provider_id"])]
        if missing:
            raise StoreError(
                "not in the providers register (or withdrawn): " + ", ".join(missing),
                column="provider_id",
            )
        rate = self.settings.absence_rate
        held = np.array(
            [float(r.as_provider) + float(r.as_partner)
             + float(cover_reserve(float(r.covering), rate)) + float(r.temporary)
             for r in rows], dtype=float,
        )  # fmt: skip
        committed = prov["committed_hours"].to_numpy(float) + held
        prov["committed_hours"] = np.minimum(prov["capacity_hours"].to_numpy(float), committed)
        pos = {pid: i for i, pid in enumerate(prov["provider_id"])}
        pframe = pd.DataFrame(
            {
                "x": [person["x"]], "y": [person["y"]],
                "max_travel_km": [np.nan if person["max_travel_km"] is None
                                  else person["max_travel_km"]],
                "service_mask": [person["service_mask"]],
                "regulated_care": [person["regulated_care"]],
            }
        )  # fmt: skip
        vi = np.arange(len(prov))
        pi = np.zeros(len(prov), dtype=np.int64)
        d = np.atleast_1d(
            distance_km(prov[["x", "y"]].to_numpy(float), [person["x"], person["y"]],
                        self.settings.circuity)
        )  # fmt: skip
        keep, _ = pair_rules(pframe, prov, pi, vi, d)
        near, limit = pair_rules(pframe, prov, pi, vi, d, check_services=False)
        for role, pid in roles.items():
            if pid and not keep[pos[pid]]:
                i = pos[pid]
                why = (
                    f"{d[i]:.1f} km away, beyond the travel limit of {limit[i]:g} km"
                    if not near[i]
                    else "does not offer every service needed"
                    + (" or is not CQC-registered" if person["regulated_care"] else "")
                )
                raise StoreError(f"{pid} cannot be this person's {role}: {why}", column=role)
        room = room_units(prov)
        need_days, hours = int(person["day_mask"]), float(person["hours"])
        v = pos[provider_id]
        given_days = need_days & int(prov["day_mask"].iloc[v])
        if not given_days:
            raise StoreError(f"{provider_id} works none of the days needed "
                             f"({days_words(need_days)})", column="provider")  # fmt: skip
        give = float(hours_on_days(hours, need_days, given_days))
        rest_days = need_days & ~given_days
        partner_hours = 0.0
        if rest_days and not partner_id:
            raise StoreError(
                f"{provider_id} does not work {days_words(rest_days)}: name a partner who does",
                column="partner",
            )
        if partner_id:
            if not rest_days:
                raise StoreError(f"{provider_id} works every day needed: no partner is needed",
                                 column="partner")  # fmt: skip
            w = pos[partner_id]
            if (int(prov["day_mask"].iloc[w]) & rest_days) != rest_days:
                raise StoreError(f"partner {partner_id} does not work every day left "
                                 f"({days_words(rest_days)})", column="partner")  # fmt: skip
            partner_hours = hours - give
        reserve = 0.0
        if cover_id:
            k = pos[cover_id]
            if not bool(prov["cover"].iloc[k]):
                raise StoreError(f"{cover_id} does not act as cover", column="cover")
            if (int(prov["day_mask"].iloc[k]) & given_days) != given_days:
                raise StoreError(f"cover {cover_id} does not work every day {provider_id} "
                                 f"gives ({days_words(given_days)})", column="cover")  # fmt: skip
            reserve = float(cover_reserve(give, self.settings.absence_rate))
        elif person["needs_cover"] and not self.settings.allow_without_cover:
            raise StoreError("this person needs a cover provider: name one", column="cover")
        short = []
        for pid, load, what in ((provider_id, give, "to give"), (partner_id, partner_hours,
                                "to give as partner"), (cover_id, reserve, "to keep free as "
                                "cover")):  # fmt: skip
            if pid and not fits(room[pos[pid]], load):
                free = room[pos[pid]] / 100.0
                short.append(f"{pid} has {hours_words(free) if free > 0 else 'no hours'} free "
                             f"a week now, {hours_words(load)} needed {what}")  # fmt: skip
        if short:
            raise NoRoom("No room: " + "; ".join(short) + ". Another referral may have taken "
                         "the hours.")  # fmt: skip
        values = {
            **{k: person[k] for k in ("person_id", "postcode", "x", "y", "hours", "day_mask",
                                      "service_mask", "max_travel_km", "priority", "needs_cover",
                                      "self_directing", "regulated_care")},
            "provider_id": provider_id, "provider_hours": give, "provider_days": given_days,
            "partner_id": partner_id or None, "partner_hours": partner_hours,
            "partner_days": rest_days if partner_id else 0, "cover_id": cover_id or None,
            "state": "pending", "created_at": now, "created_by": author, "updated_at": now,
            "forgotten": False,
        }  # fmt: skip
        # statements with parameters (not .values(...)): compiled once, cached
        if not self.is_sqlite:  # one round trip: the referral, its event, the version raised
            made = {**values, "event_at": now, "slot": _slot()}
            rid = int(conn.execute(_INSERT_REFERRAL_PG, made).scalar_one())
            conn.info[_BUMPED] = True
            return {"referral_id": rid, **values}
        rid = int(conn.execute(_INSERT_REFERRAL, values).inserted_primary_key[0])
        conn.execute(
            _INSERT_EVENT,
            {"referral_id": rid, "state": "pending", "at": now, "recorded_at": now,
             "author": author},
        )  # fmt: skip
        return {"referral_id": rid, **values}

    def accept_matches(
        self, matches: pd.DataFrame, people: pd.DataFrame, *, author: str,
        now: datetime | None = None,
    ) -> list[int]:  # fmt: skip
        """Record the matched rows of a matching (``matches.csv`` shape) as pending referrals,
        all or none (one transaction: the first that does not fit stops them all).

        Parameters
        ----------
        matches
            ``person_id, status, provider_id, partner_provider_id, cover_provider_id`` (rows
            whose status is not ``matched`` are skipped).
        people
            The people matched (their needs, as in the people register).
        author
            A member of staff.

        Returns
        -------
        list of int
            The referrals' ids, in the order of ``matches``.
        """
        now = now or _utcnow()
        rows = matches[matches["status"] == "matched"]
        by_id = {str(r["person_id"]): r for r in people.to_dict("records")}
        ids: list[int] = []
        self.release_expired(now)
        with self._write() as conn:
            author = self._check_staff(conn, author)
            involved: set[str] = set()
            for col in ("provider_id", "partner_provider_id", "cover_provider_id"):
                if col in rows:
                    involved |= {str(v) for v in rows[col] if isinstance(v, str) and v}
            self._lock(conn, involved)
            for m in rows.to_dict("records"):
                pid = str(m["person_id"])
                p = by_id.get(pid)
                if p is None:
                    raise StoreError(f"{pid} is not among the people given", column="person_id")
                req = {
                    "person_id": pid, "x": p["x"], "y": p["y"], "postcode": p.get("postcode", ""),
                    "hours": p["hours"], "days": int(p["day_mask"]),
                    "services": int(p["service_mask"]),
                    "max_travel_km": _none_nan(p.get("max_travel_km")),
                    "priority": int(p.get("priority", PERSON_DEFAULTS.priority)),
                    "needs_cover": bool(p.get("needs_cover", PERSON_DEFAULTS.needs_cover)),
                    "self_directing": bool(
                        p.get("self_directing", PERSON_DEFAULTS.self_directing)
                    ),
                    "regulated_care": bool(
                        p.get("regulated_care", PERSON_DEFAULTS.regulated_care)
                    ),
                }  # fmt: skip
                made = self._refer(
                    conn, author, read_person(conn, req), str(m["provider_id"]),
                    _text_or_none(m.get("partner_provider_id")),
                    _text_or_none(m.get("cover_provider_id")), now,
                )  # fmt: skip
                ids.append(int(made["referral_id"]))
            self._log(conn, author, "accept matches", {"referrals": len(ids)}, now)
        return ids
