"""The register in a database: providers and people with their history, staff, referrals that
hold hours, and absences (SPEC.md, "The register in a database").

A :class:`Store` is one more way to build a :class:`~gapmap.study.Study` (:meth:`Store.study`)
and the place where what staff decide is recorded. Every rule of reach, eligibility and room is
:mod:`gapmap.reach`'s; this module only counts the hours that referrals hold.

Free hours (SPEC.md) of a provider = capacity − committed − hours held by pending and confirmed
referrals where it is provider or partner − absence_rate × the hours it stands ready to cover
(:func:`gapmap.reach.cover_reserve`). :meth:`Store.study` gives each provider a
``committed_hours`` raised by what referrals hold (clamped to capacity), so suggestions and
matching see those free hours; the register's own figure stays in ``committed_register``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    BigInteger,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.engine import Connection, Engine

from gapmap.errors import InputError, Problem
from gapmap.io.registers import PERSON_DEFAULTS
from gapmap.reach import (
    cover_reserve,
    distance_km,
    fits,
    hours_on_days,
    pair_rules,
    room_units,
)
from gapmap.settings import Settings
from gapmap.store import schema as S
from gapmap.store.engine import (
    HEAD,
    StoreError,
    current_revision,
    make_engine,
    normalise_url,
    sqlite_path,
    upgrade,
)
from gapmap.vocab import (
    days_text,
    days_words,
    hours_words,
    parse_days,
    parse_services,
    services_text,
)

__all__ = ["NoRoom", "Store", "StoreError", "open_store"]

STATES = ("pending", "confirmed", "ended", "released")
ACTIVE = ("pending", "confirmed")
#: The changes of state staff may make.
NEXT_STATES = {"pending": ("confirmed", "released"), "confirmed": ("ended", "released")}
SYSTEM = "system"
_INSERT_REFERRAL = insert(S.referrals)
_INSERT_EVENT = insert(S.referral_events)
_V = S.register_version.c
#: The counter rows (migration 0004): a writer raises one at random, so that two writers on
#: PostgreSQL seldom wait for each other's commit on the same row; a reader sums them.
VERSION_SLOTS = 16
_BUMP = update(S.register_version).where(_V.id == bindparam("slot")).values(version=_V.version + 1)
_BUMP_ALL = (
    update(S.register_version)
    .where(_V.id == bindparam("slot"))
    .values(version=_V.version + 1, providers_version=_V.providers_version + 1)
)
_VERSIONS = select(
    cast(func.coalesce(func.sum(_V.providers_version), 0), BigInteger),
    cast(func.coalesce(func.sum(_V.version), 0), BigInteger),
)
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


def _slot() -> int:
    """The counter row a write raises (any: the version is their sum)."""
    return secrets.randbelow(VERSION_SLOTS) + 1


#: Set on a connection's ``info`` by a statement that raised the version itself.
_BUMPED = "gapmap_version_raised"


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


def _held_now_statement():
    """The hours held now, by role and provider: pending and confirmed referrals as provider,
    partner and cover (summed; the reserve is taken in Python), and temporary cover on
    ``day`` (accepted cover plans)."""
    r, c, a = S.referrals.c, S.cover_assignments.c, S.absences.c
    parts = [
        select(literal(role).label("role"), who.label("pid"), func.sum(hours).label("h"))
        .where(r.state.in_(ACTIVE), who.is_not(None))
        .group_by(who)
        for role, who, hours in (("provider", r.provider_id, r.provider_hours),
                                 ("partner", r.partner_id, r.partner_hours),
                                 ("cover", r.cover_id, r.provider_hours))
    ]  # fmt: skip
    parts.append(
        select(literal("temporary").label("role"), c.cover_provider_id.label("pid"),
               func.sum(c.hours).label("h"))
        .select_from(S.cover_assignments.join(S.absences, a.absence_id == c.absence_id))
        .where(c.state == "active", a.withdrawn_at.is_(None), c.start <= bindparam("day"),
               c.end >= bindparam("day"))
        .group_by(c.cover_provider_id)
    )  # fmt: skip
    return union_all(*parts)


_HELD_NOW = _held_now_statement()
_OLDEST_PENDING = select(func.min(S.referrals.c.created_at)).where(S.referrals.c.state == "pending")

_PROVIDER_FIELDS = (
    "name", "postcode", "x", "y", "service_mask", "day_mask", "capacity_hours",
    "committed_hours", "max_travel_km", "cover", "cqc_registered", "phone", "email", "website",
)  # fmt: skip
_PERSON_FIELDS = (
    "postcode", "x", "y", "hours", "day_mask", "service_mask", "max_travel_km", "priority",
    "needs_cover", "self_directing", "regulated_care",
)  # fmt: skip


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


class _FifoLock:
    """A lock taken in the order asked (first come, first served): no thread waits for ever
    while others, releasing and asking again at once, keep taking it."""

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._next = 0
        self._serving = 0

    def __enter__(self) -> None:
        with self._cv:
            ticket = self._next
            self._next += 1
            while ticket != self._serving:
                self._cv.wait()

    def __exit__(self, *exc) -> None:
        with self._cv:
            self._serving += 1
            self._cv.notify_all()


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def _instant(as_of: date | datetime | None) -> datetime | None:
    """The moment just after which the register is read: the end of a day (midnight after it,
    UTC), or just after a given moment; None is now."""
    if as_of is None:
        return None
    if isinstance(as_of, datetime):
        return as_of.replace(tzinfo=None) + timedelta(microseconds=1)
    return datetime.combine(as_of + timedelta(days=1), time())


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is None and b is None
        fa, fb = float(a), float(b)
        return (math.isnan(fa) and math.isnan(fb)) or fa == fb
    return a == b


def _none_nan(v):
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def hash_token(token: str) -> str:
    """The stored form of a sign-in token: SHA-256 (the token is 256 random bits, so no salt
    or slow hash is needed: nothing can be guessed from the hash)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Store:
    """The register database. Make one with :func:`open_store`.

    Parameters
    ----------
    engine
        The SQLAlchemy engine (:func:`gapmap.store.engine.make_engine`).
    settings
        The options; ``hold_days``, ``absence_rate``, ``circuity`` and ``allow_without_cover``
        are used here.
    """

    def __init__(self, engine: Engine, settings: Settings | None = None, *, url: str = ""):
        self.engine = engine
        self.settings = settings or Settings()
        self.url = url
        self.is_sqlite = engine.dialect.name == "sqlite"
        # SQLite has one writer at a time: the threads of one process (``serve``) queue here
        # rather than in SQLite's busy handler, which polls with growing sleeps (long tails)
        self._writer = _FifoLock() if self.is_sqlite else None
        self.last_forgotten: dict[str, int] = {}
        # SQLite: a connection of its own whose PRAGMA data_version changes when any other
        # connection (this process or another) commits; the last mark read under it
        self._watch: Any = None
        self._watch_lock = threading.Lock()
        self._last_mark: tuple[Any, tuple, Any] | None = None

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"

    def close(self) -> None:
        """Close every pooled connection."""
        with self._watch_lock:
            if self._watch is not None:
                self._watch.close()
                self._watch = None
        self.engine.dispose()

    # --- transactions ------------------------------------------------------------------------
    @contextmanager
    def _write(self, *, providers: bool = False) -> Iterator[Connection]:
        """One writing transaction (SQLite: ``BEGIN IMMEDIATE``) that raises the register's
        version counters (:data:`schema.register_version`; ``providers_version`` too when
        ``providers``: the providers register changed) just before it commits, so that the
        change and the new version are seen together or not at all."""
        if self._writer is None:
            with self.engine.begin() as conn:
                conn.info.pop(_BUMPED, None)
                yield conn
                self._bump(conn, providers)
            return
        with self._writer, self.engine.begin() as conn:
            conn.info.pop(_BUMPED, None)
            yield conn
            self._bump(conn, providers)

    @staticmethod
    def _bump(conn: Connection, providers: bool) -> None:
        # last in the transaction: on PostgreSQL the counter row's lock is held only while
        # the commit flushes, and no transaction waits for a lock while holding it (a
        # referral's own insert may have raised it already, in the same statement)
        if conn.info.pop(_BUMPED, False) and not providers:
            return
        conn.execute(_BUMP_ALL if providers else _BUMP, {"slot": _slot()})

    @contextmanager
    def _peek(self) -> Iterator[Connection]:
        """A connection for one or two reading statements, no snapshot: SQLite's plain
        ``BEGIN`` (a reader: a plain connection would begin ``IMMEDIATE`` and queue behind
        every writer), PostgreSQL in autocommit (no BEGIN and ROLLBACK round trips)."""
        conn = self.engine.connect()
        try:
            if self.is_sqlite:
                yield conn.execution_options(readonly=True)
            else:
                yield conn.execution_options(isolation_level="AUTOCOMMIT")
        finally:
            conn.close()

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """One reading transaction (a consistent snapshot)."""
        with self.engine.connect() as conn:
            if self.is_sqlite:
                conn = conn.execution_options(readonly=True)
            else:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    def _lock(self, conn: Connection, ids: Iterable[str]) -> None:
        """Lock providers' rows in id order (PostgreSQL; SQLite holds the write lock)."""
        if not self.is_sqlite:
            conn.execute(
                select(S.providers.c.provider_id)
                .where(S.providers.c.provider_id.in_(sorted(set(ids))))
                .order_by(S.providers.c.provider_id)
                .with_for_update()
            ).all()

    def _lock_all(self, conn: Connection) -> None:
        if not self.is_sqlite:
            conn.execute(
                select(S.providers.c.provider_id).order_by(S.providers.c.provider_id)
                .with_for_update()
            ).all()  # fmt: skip

    def _log(self, conn: Connection, author: str, action: str, detail: dict, now=None) -> None:
        conn.execute(
            insert(S.changes).values(
                at=now or _utcnow(), author=author, action=action,
                detail=json.dumps(detail, default=str),
            )
        )  # fmt: skip

    # --- staff -------------------------------------------------------------------------------
    def add_staff(self, name: str, *, author: str = "") -> str:
        """Add a member of staff; returns their sign-in token (shown once, stored hashed).

        Parameters
        ----------
        name
            The member of staff's name (unique).
        author
            Who adds them (default: the name itself).

        Raises
        ------
        StoreError
            An empty name, or a name already in use (revoked or not: names stay unique so the
            history says who acted).
        """
        name = _name(name)
        token = "gm_" + secrets.token_urlsafe(32)
        with self._write() as conn:
            known = conn.execute(select(S.staff.c.name).where(S.staff.c.name == name)).first()
            if known:
                raise StoreError(f"{name!r} is already a member of staff", column="NAME")
            now = _utcnow()
            conn.execute(
                insert(S.staff).values(
                    name=name, token_hash=hash_token(token), created_at=now,
                    created_by=author or name,
                )
            )  # fmt: skip
            self._log(conn, author or name, "staff add", {"name": name}, now)
        return token

    def revoke_staff(self, name: str, *, author: str = "") -> None:
        """Revoke a member of staff's token at once (they can no longer act).

        Parameters
        ----------
        name
            The member of staff.
        author
            Who revokes.
        """
        with self._write() as conn:
            row = conn.execute(select(S.staff).where(S.staff.c.name == name)).first()
            if row is None:
                raise StoreError(f"{name!r} is not a member of staff", column="NAME")
            if row.revoked_at is not None:
                return
            now = _utcnow()
            conn.execute(
                update(S.staff).where(S.staff.c.name == name)
                .values(revoked_at=now, revoked_by=author or name)
            )  # fmt: skip
            self._log(conn, author or name, "staff revoke", {"name": name}, now)

    def staff_for_token(self, token: str | None) -> str | None:
        """The name of the member of staff whose (unrevoked) token this is, else None."""
        if not token:
            return None
        digest = hash_token(token)
        with self._peek() as conn:
            row = conn.execute(
                select(S.staff.c.name, S.staff.c.token_hash, S.staff.c.revoked_at).where(
                    S.staff.c.token_hash == digest
                )
            ).first()
        if row is None or row.revoked_at is not None:
            return None
        return row.name if hmac.compare_digest(row.token_hash, digest) else None

    def staff_session_key(self, name: str) -> str | None:
        """The stored hash of an unrevoked member of staff's token (None when revoked or
        unknown): what a signed sign-in cookie is bound to, so that revoking the token or
        issuing a new one ends the sessions at once."""
        with self._peek() as conn:
            row = conn.execute(
                select(S.staff.c.token_hash, S.staff.c.revoked_at).where(S.staff.c.name == name)
            ).first()
        return None if row is None or row.revoked_at is not None else str(row.token_hash)

    def mark(self) -> tuple:
        """A cheap fingerprint of what free hours depend on: the register's version counters
        (:data:`schema.register_version`, a few tiny rows summed; every write raises one) and
        today's date,
        after releasing pending referrals whose hold ran out: when it is unchanged, a study
        built before still holds (``gapmap serve --db`` asks it before every suggestion). Its
        first item is the providers register's own version (a change there means reading the
        providers again). One query, as a rule; on SQLite, while nothing was committed since
        the last one (``PRAGMA data_version`` on a connection kept for it: microseconds), none;
        when the version moved, a second one for the oldest pending referral's time."""
        version = self._data_version()
        last = self._last_mark
        if version is not None and last is not None and last[0] == version:
            row, oldest = last[1], last[2]
        else:
            with self._peek() as conn:
                row = tuple(conn.execute(_VERSIONS).one())
                if last is not None and last[1] == row:
                    oldest = last[2]
                else:
                    oldest = conn.execute(_OLDEST_PENDING).scalar()
                    if isinstance(oldest, str):  # SQLite without the column's type
                        oldest = datetime.fromisoformat(oldest)
            self._last_mark = (version, row, oldest)
        if oldest is not None and oldest <= _utcnow() - timedelta(days=self.settings.hold_days):
            self.release_expired()
            self._last_mark = None
            return self.mark()
        return (*row, _utcnow().date())  # temporary cover ends with its absence's last day

    def _data_version(self) -> int | None:
        path = sqlite_path(self.url)
        if path is None:
            return None
        import sqlite3

        with self._watch_lock:
            if self._watch is None:
                self._watch = sqlite3.connect(str(path), check_same_thread=False)
            return int(self._watch.execute("PRAGMA data_version").fetchone()[0])

    def held_now(self) -> dict[str, float]:
        """Hours held now by pending and confirmed referrals, by provider (as provider or
        partner, and the cover reserve): :meth:`held_hours`'s ``held`` in one query, for the
        server's refresh after each referral."""
        with self._peek() as conn:
            return self._held_now(conn, None)

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

    def staff(self) -> pd.DataFrame:
        """Every member of staff: ``name, created_at, revoked_at`` (never the hashes)."""
        with self._read() as conn:
            rows = conn.execute(
                select(S.staff.c.name, S.staff.c.created_at, S.staff.c.revoked_at)
                .order_by(S.staff.c.name)
            ).all()  # fmt: skip
        return pd.DataFrame(rows, columns=["name", "created_at", "revoked_at"])

    def _check_staff(self, conn: Connection, author: str) -> str:
        author = (author or "").strip()
        row = conn.execute(
            select(S.staff.c.revoked_at).where(S.staff.c.name == author)
        ).first()  # fmt: skip
        if row is None:
            raise StoreError(
                f"{author!r} is not a member of staff ('gapmap staff add NAME' adds one)",
                column="--as",
            )
        if row.revoked_at is not None:
            raise StoreError(f"{author!r} no longer has access (revoked)", column="--as")
        return author

    # --- the registers -----------------------------------------------------------------------
    def import_registers(
        self,
        providers: str | Path | None = None,
        people: str | Path | None = None,
        *,
        author: str,
        now: datetime | None = None,
        **read_options: Any,
    ) -> dict[str, dict[str, int]]:
        """Import registers (every SPEC format) in one transaction: all or nothing.

        The files are read and checked as :meth:`gapmap.Study.read` reads them (every problem
        of both at once, records outside every area included). Only the changes are recorded:
        providers (people) added, edited, and withdrawn (in the database but not in the file),
        each as a new version by ``author``.

        Parameters
        ----------
        providers, people
            The register files (either may be left out; that register is left as it was).
        author
            Who imports (recorded with every version).
        now
            The time recorded (default: now).
        **read_options
            The other inputs of the study read (:class:`~gapmap.inputs.StudyInputs`:
            ``areas``, ``council``, ``postcode_file``, ``providers_sheet``, ``people_sheet``,
            ``providers_layer``...), and ``settings``.

        Returns
        -------
        dict
            For each register imported: counts of ``added``, ``edited``, ``withdrawn``,
            ``unchanged``; for providers also ``referrals_to_withdrawn``, the pending or
            confirmed referrals that name a provider now withdrawn (to be reviewed).

        Raises
        ------
        InputError
            Every problem of the files; the database is left exactly as it was.
        """
        from gapmap.study import Study, StudyInputs

        author = _name(author, column="--as")
        if providers is None and people is None:
            raise StoreError("give a providers register, a people register or both")
        problems = _identifying_columns(people, read_options.get("people_sheet"))
        try:
            settings = read_options.pop("settings", None)
            inputs = StudyInputs(providers=providers, people=people, **read_options)
            study = Study.read(inputs, settings=settings)
        except InputError as exc:
            raise InputError(problems + exc.problems) from None
        if problems:
            raise InputError(problems)
        now = now or _utcnow()
        out: dict[str, dict[str, int]] = {}
        self.release_expired(now)
        with self._write(providers=providers is not None) as conn:
            self._lock_all(conn)
            if providers is not None:
                out["providers"] = self._merge(
                    conn, study.providers, S.provider_versions, "provider_id", _PROVIDER_FIELDS,
                    author, now,
                )  # fmt: skip
                out["providers"]["referrals_to_withdrawn"] = self._to_withdrawn(conn)
            if people is not None:
                out["people"] = self._merge(
                    conn, study.people, S.person_versions, "person_id", _PERSON_FIELDS, author,
                    now,
                )  # fmt: skip
            files = {"providers": str(providers or ""), "people": str(people or "")}
            self._log(conn, author, "import", {"files": files, "counts": out}, now)
        return out

    def _to_withdrawn(self, conn: Connection) -> int:
        """Pending or confirmed referrals naming a provider now withdrawn (to be reviewed)."""
        c, v = S.referrals.c, S.provider_versions.c
        gone = select(v.provider_id).where(v.valid_to.is_(None), v.withdrawn.is_(True))
        return int(
            conn.execute(
                select(func.count())
                .select_from(S.referrals)
                .where(
                    c.state.in_(ACTIVE),
                    or_(c.provider_id.in_(gone), c.partner_id.in_(gone), c.cover_id.in_(gone)),
                )
            ).scalar()
            or 0
        )

    def _merge(self, conn, frame, table, key, fields, author, now) -> dict[str, int]:
        c = table.c
        current = {
            r._mapping[key]: r._mapping
            for r in conn.execute(select(table).where(c.valid_to.is_(None)))
        }
        counts = {"added": 0, "edited": 0, "withdrawn": 0, "unchanged": 0}
        new_rows: list[dict] = []
        close_ids: list[int] = []
        seen = set()
        records = frame.to_dict("records")
        for rec in records:
            ident = str(rec[key])
            seen.add(ident)
            values = {f: _none_nan(_plain(rec[f])) for f in fields}
            values["row"] = int(rec.get("row", 0))
            old = current.get(ident)
            if old is not None and not old["withdrawn"]:
                if all(_same(old[f], values[f]) for f in fields):
                    counts["unchanged"] += 1
                    continue
                counts["edited"] += 1
                close_ids.append(old["version_id"])
            else:
                counts["added"] += 1
                if old is not None:
                    close_ids.append(old["version_id"])
            new_rows.append({key: ident, **values, "withdrawn": False})
        for ident, old in current.items():
            if ident not in seen and not old["withdrawn"]:
                counts["withdrawn"] += 1
                close_ids.append(old["version_id"])
                new_rows.append(
                    {key: ident, **{f: old[f] for f in fields}, "row": old["row"],
                     "withdrawn": True}
                )  # fmt: skip
        if key == "provider_id":
            known = set(conn.execute(select(S.providers.c.provider_id)).scalars())
            fresh = [{"provider_id": r[key], "created_at": now} for r in new_rows
                     if r[key] not in known]  # fmt: skip
            if fresh:
                conn.execute(insert(S.providers), fresh)
        for chunk in _chunks(close_ids, 500):
            conn.execute(update(table).where(c.version_id.in_(chunk)).values(valid_to=now))
        if new_rows:
            for r in new_rows:
                r.update(valid_from=now, valid_to=None, author=author)
            conn.execute(insert(table), new_rows)
        return counts

    def _versions(self, conn, table, t: datetime | None) -> list:
        c = table.c
        if t is None:
            cond = c.valid_to.is_(None)
        else:
            cond = and_(c.valid_from < t, or_(c.valid_to.is_(None), c.valid_to >= t))
        return conn.execute(
            select(table).where(cond, c.withdrawn.is_(False)).order_by(c.row, c.version_id)
        ).all()

    def registers(self, as_of: date | datetime | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The providers and people registers as they stood at the end of ``as_of`` (default
        now), in the columns of :func:`gapmap.read_providers` and :func:`gapmap.read_people`
        (the register's own ``committed_hours``)."""
        t = _instant(as_of)
        with self._read() as conn:
            prov = self._versions(conn, S.provider_versions, t)
            ppl = self._versions(conn, S.person_versions, t)
        return _providers_frame(prov), _people_frame(ppl)

    def export(
        self, out_dir: str | Path, as_of: date | datetime | None = None, *, fmt: str = "csv"
    ) -> list[Path]:
        """Write ``providers.csv`` and ``people.csv`` (or ``.xlsx``) in the SPEC format, as the
        registers stood at the end of ``as_of`` (default now): what :meth:`import_registers`
        reads back. Locations are written as the postcode and its easting and northing.

        Parameters
        ----------
        out_dir
            The folder (made if needed).
        as_of
            A day (its end) or a moment; default now.
        fmt
            ``csv`` or ``xlsx``.
        """
        from gapmap.publish.export import write_csv

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        prov, ppl = self.registers(as_of)
        tables = {"providers": _export_providers(prov), "people": _export_people(ppl)}
        paths = []
        for name, table in tables.items():
            if fmt == "xlsx":
                paths.append(_write_xlsx(table, out / f"{name}.xlsx", sheet=name))
            else:
                paths.append(write_csv(table, out / f"{name}.csv"))
        return paths

    # --- the study ---------------------------------------------------------------------------
    def held_hours(
        self, as_of: date | datetime | None = None, *, absence_rate: float | None = None
    ) -> pd.DataFrame:
        """Hours each provider's referrals hold at the end of ``as_of`` (default now).

        Parameters
        ----------
        as_of
            A day (its end) or a moment; default now.
        absence_rate
            The share kept free by a cover (default: the store's setting).

        Returns
        -------
        DataFrame
            Indexed by ``provider_id``: ``as_provider``, ``as_partner``, ``covering`` (the
            hours it stands ready to cover) and ``held`` = provider + partner hours +
            absence_rate × covering.
        """
        rate = self.settings.absence_rate if absence_rate is None else absence_rate
        active = self._active(as_of)
        return self._with_temporary(_held(active, rate), as_of)

    def _active(self, as_of) -> pd.DataFrame:
        """The referrals pending or confirmed at the end of ``as_of`` (default now)."""
        self.release_expired()
        frame = self.referrals(as_of=as_of, states=ACTIVE)
        return frame

    def study(
        self,
        settings: Settings | None = None,
        as_of: date | datetime | None = None,
        *,
        waiting_only: bool = False,
        people: bool = True,
        **study_kwargs: Any,
    ):
        """A :class:`~gapmap.study.Study` of the registers at the end of ``as_of`` (default now).

        Each provider's ``committed_hours`` is raised by the hours its referrals hold (as
        provider or partner, and absence_rate × the hours it stands ready to cover), clamped to
        its capacity, so suggestions and matching see the free hours of SPEC.md; the register's
        own figure is kept in ``committed_register`` and the hours held in ``held_hours``.

        Parameters
        ----------
        settings
            The options (default: the store's).
        as_of
            A day (its end) or a moment; default now.
        waiting_only
            Leave out people with a pending or confirmed referral (the people still waiting).
        people
            Include the people register (``suggest`` needs only providers).
        **study_kwargs
            The study's other inputs (:class:`~gapmap.inputs.StudyInputs`: ``areas``,
            ``council``, ``census``...).

        Returns
        -------
        Study
        """
        from gapmap.study import Study, StudyInputs

        settings = (settings or self.settings).validated()
        prov, ppl = self.registers(as_of)
        active = self._active(as_of)
        prov = with_held(prov, self._with_temporary(_held(active, settings.absence_rate), as_of))
        if waiting_only and len(active):
            ppl = ppl[~ppl["person_id"].isin(set(active["person_id"]))].reset_index(drop=True)
            ppl["row"] = np.arange(2, len(ppl) + 2)
        label = f"register database ({self._where()})"
        prov.attrs["source"] = label + " providers"
        ppl.attrs["source"] = label + " people"
        inputs = StudyInputs(
            providers=prov if len(prov) else None,
            people=ppl if people and len(ppl) else None,
            **study_kwargs,
        )
        return Study.read(inputs, settings=settings)

    def providers_in_service(
        self, as_of: date | datetime | None = None, *, settings: Settings | None = None
    ) -> pd.DataFrame:
        """The providers register at the end of ``as_of`` (default now) with
        ``committed_hours`` raised by what referrals hold (as in :meth:`study`): what
        suggestions read (``gapmap serve --db`` reloads it).

        Parameters
        ----------
        as_of
            A day (its end) or a moment; default now.
        settings
            The options (their ``absence_rate``; default the store's).
        """
        rate = (settings or self.settings).absence_rate
        prov, _ = self.registers(as_of)
        prov = with_held(prov, self._with_temporary(_held(self._active(as_of), rate), as_of))
        prov.attrs["source"] = f"register database ({self._where()}) providers"
        return prov

    def _where(self) -> str:
        path = sqlite_path(self.url)
        return str(path) if path else self.engine.url.render_as_string(hide_password=True)

    # --- referrals ---------------------------------------------------------------------------
    def release_expired(self, now: datetime | None = None) -> int:
        """Release pending referrals not confirmed within ``hold_days`` (author "system"; the
        event is dated when the hold ran out). Returns how many."""
        now = now or _utcnow()
        limit = now - timedelta(days=self.settings.hold_days)
        c = S.referrals.c
        with self._peek() as conn:  # cheap check before taking the write lock
            if not conn.execute(
                select(c.referral_id).where(c.state == "pending", c.created_at <= limit).limit(1)
            ).first():
                return 0
        with self._write() as conn:
            return self._release_expired(conn, now)

    def _release_expired(self, conn: Connection, now: datetime) -> int:
        c = S.referrals.c
        hold = timedelta(days=self.settings.hold_days)
        # one statement: a row another transaction released meanwhile is not released twice
        rows = conn.execute(
            update(S.referrals)
            .where(c.state == "pending", c.created_at <= now - hold)
            .values(state="released", updated_at=now)
            .returning(c.referral_id, c.created_at)
        ).all()  # fmt: skip
        if rows:
            conn.execute(
                insert(S.referral_events),
                [{"referral_id": r.referral_id, "state": "released", "at": r.created_at + hold,
                  "recorded_at": now, "author": SYSTEM} for r in rows],
            )  # fmt: skip
        return len(rows)

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
            return self._person(conn, req)

    def _person(self, conn: Connection, req: dict) -> dict:
        """The person of a referral, checked, with what was left out taken from the register."""
        pid = str(req.get("person_id") or "").strip()
        problems: list[Problem] = []
        if not pid:
            raise StoreError("give the person's pseudonymous id", column="person_id")
        c = S.person_versions.c
        reg = conn.execute(
            select(S.person_versions).where(
                c.person_id == pid, c.valid_to.is_(None), c.withdrawn.is_(False)
            )
        ).first()
        known = dict(reg._mapping) if reg is not None else {}
        out: dict[str, Any] = {"person_id": pid}

        def given(name: str) -> bool:
            v = req.get(name)
            return v is not None and not (isinstance(v, str) and not v.strip())

        from gapmap.io.registers import parse_travel_km, parse_weekly_hours, point_from_latlon

        # where
        if given("x") and given("y"):
            out["x"], out["y"] = float(req["x"]), float(req["y"])
            out["postcode"] = str(req.get("postcode") or "")
        elif given("postcode"):
            from gapmap.postcodes import default_directory, describe_missing, normalise_postcode

            pc = normalise_postcode(str(req["postcode"]))
            if pc is None:
                problems.append(Problem("referral", "Enter a full UK postcode, like CT1 2AA",
                                        column="postcode", value=str(req["postcode"])))  # fmt: skip
            else:
                directory = default_directory()
                found = directory.lookup([pc]).iloc[0]
                if not np.isfinite(found["x"]):
                    problems.append(Problem("referral", f"{pc}: " + describe_missing(
                        directory, bool(found["known"])), column="postcode"))  # fmt: skip
                out.update(postcode=pc, x=float(found["x"]), y=float(found["y"]))
        elif given("lat") and given("lon"):
            try:
                out["x"], out["y"] = point_from_latlon(float(req["lat"]), float(req["lon"]))
                out["postcode"] = ""
            except ValueError as exc:
                problems.append(Problem("referral", str(exc), column="lat"))
        elif known:
            out.update(postcode=known["postcode"], x=known["x"], y=known["y"])
        else:
            problems.append(Problem("referral", "Enter the person's postcode", column="postcode"))

        def field(name, parse, reg_name=None, default=None):
            if given(name):
                v = req[name]
                try:
                    return parse(v)
                except (ValueError, TypeError) as exc:
                    problems.append(Problem("referral", str(exc), column=name, value=str(v)))
                    return None
            if known and reg_name:
                return known[reg_name]
            if default is None:
                problems.append(Problem("referral", f"give the {name.replace('_', ' ')}",
                                        column=name))  # fmt: skip
            return default

        out["hours"] = field("hours", lambda v: parse_weekly_hours(str(v)), "hours")
        out["day_mask"] = field("days", lambda v: v if isinstance(v, int) else parse_days(v),
                                "day_mask")  # fmt: skip
        out["service_mask"] = field(
            "services", lambda v: v if isinstance(v, int) else parse_services(v), "service_mask"
        )
        travel = field("max_travel_km", lambda v: parse_travel_km(str(v)), "max_travel_km", "")
        out["max_travel_km"] = None if travel in ("", None) else float(travel)
        out["priority"] = int(field("priority", int, "priority", PERSON_DEFAULTS.priority))
        for name in ("needs_cover", "self_directing", "regulated_care"):
            out[name] = bool(field(name, _yes_no, name, getattr(PERSON_DEFAULTS, name)))
        if problems:
            raise StoreError(problems)
        return out

    def _refer(self, conn, author, person, provider_id, partner_id, cover_id, now) -> dict:
        """Check and insert one referral of a person already checked (:meth:`_person`), in
        the caller's transaction, after the providers' rows are locked; returns the row
        inserted (with its ``referral_id``). The author (a member of staff, not revoked), the
        person's other referrals, the providers and the hours they hold are read in one
        statement (``_FACTS``)."""
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

    def _held_now(self, conn: Connection, ids: list[str] | None) -> dict[str, float]:
        """Hours held now by active referrals and accepted cover plans, for some providers
        (None: every provider holding any) (SPEC free hours), in one statement."""
        out: dict[str, float] = dict.fromkeys(ids or (), 0.0)
        rate = self.settings.absence_rate
        for role, pid, total in conn.execute(_HELD_NOW, {"day": _utcnow().date()}).all():
            if ids is not None and pid not in out:
                continue
            add = float(total or 0.0)
            out[pid] = out.get(pid, 0.0) + (
                float(cover_reserve(add, rate)) if role == "cover" else add
            )
        return out

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
                    conn, author, self._person(conn, req), str(m["provider_id"]),
                    _text_or_none(m.get("partner_provider_id")),
                    _text_or_none(m.get("cover_provider_id")), now,
                )  # fmt: skip
                ids.append(int(made["referral_id"]))
            self._log(conn, author, "accept matches", {"referrals": len(ids)}, now)
        return ids

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

    # --- absences ----------------------------------------------------------------------------
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

    # --- temporary cover (an accepted cover plan) --------------------------------------------
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

    # --- privacy and safety ------------------------------------------------------------------
    def forget(self, before: date, *, author: str, now: datetime | None = None) -> int:
        """Anonymise ended and released referrals last changed before ``before``: the person id
        is replaced and the postcode cut to its sector (the location dropped). People who left
        the people register before that day are anonymised the same way, and temporary cover
        assignments over before that day lose their person id.

        Parameters
        ----------
        before
            Referrals last changed before this day are anonymised.
        author
            Who asks (recorded).
        now
            The time recorded (default now).

        Returns
        -------
        int
            How many referrals were anonymised (``last_forgotten`` also counts people).
        """
        cut = datetime.combine(before, time())
        now = now or _utcnow()
        author = _name(author, column="--as")
        r = S.referrals.c
        self.release_expired(now)
        with self._write() as conn:
            rows = conn.execute(
                select(r.referral_id, r.postcode).where(
                    r.state.in_(("ended", "released")), r.updated_at < cut,
                    r.forgotten.is_(False),
                )
            ).all()  # fmt: skip
            for row in rows:
                conn.execute(
                    update(S.referrals).where(r.referral_id == row.referral_id).values(
                        person_id=f"forgotten-r{row.referral_id}", postcode=_sector(row.postcode),
                        x=None, y=None, forgotten=True,
                    )
                )  # fmt: skip
            people = self._forget_people(conn, cut)
            covers = self._forget_cover(conn, before, cut)
            self.last_forgotten = {"referrals": len(rows), "people": people,
                                   "cover_assignments": covers}  # fmt: skip
            self._log(conn, author, "forget", {"before": str(before), **self.last_forgotten},
                      now)  # fmt: skip
        return len(rows)

    def _forget_cover(self, conn: Connection, before: date, cut: datetime) -> int:
        """Temporary cover assignments over before ``before`` (their last day, or ended by a
        change before it) lose their person id."""
        c = S.cover_assignments.c
        done = (
            (c.end < before) | ((c.state != "active") & (c.changed_at < cut))
        ) & ~c.person_id.like("forgotten-%")
        ids = conn.execute(select(c.assignment_id).where(done)).scalars().all()
        for aid in ids:
            conn.execute(
                update(S.cover_assignments).where(c.assignment_id == aid)
                .values(person_id=f"forgotten-c{aid}")
            )  # fmt: skip
        return len(ids)

    def _forget_people(self, conn: Connection, cut: datetime) -> int:
        p = S.person_versions.c
        gone = conn.execute(
            select(p.person_id).where(
                p.valid_to.is_(None), p.withdrawn.is_(True), p.valid_from < cut,
                ~p.person_id.like("forgotten-%"),
            )
        ).scalars().all()  # fmt: skip
        active = set(
            conn.execute(
                select(S.referrals.c.person_id).where(S.referrals.c.state.in_(ACTIVE))
            ).scalars()
        )
        n = 0
        for pid in gone:
            if pid in active:
                continue
            n += 1
            first = conn.execute(
                select(func.min(p.version_id)).where(p.person_id == pid)
            ).scalar()  # fmt: skip
            for v in conn.execute(select(p.version_id, p.postcode).where(p.person_id == pid)):
                conn.execute(
                    update(S.person_versions).where(p.version_id == v.version_id).values(
                        person_id=f"forgotten-p{first}", postcode=_sector(v.postcode), x=None,
                        y=None,
                    )
                )  # fmt: skip
        return n

    def backup(self, path: str | Path) -> Path:
        """Copy the whole register into a new SQLite file (mode 0600) while others go on
        writing: one consistent snapshot (SQLite's online backup; PostgreSQL: one
        repeatable-read transaction). :meth:`restore` reads it back into either kind."""
        path = Path(path)
        if path.exists():
            raise StoreError(f"{path} exists already: give a new file name", column="FILE")
        if not path.parent.is_dir():
            raise StoreError(f"the folder {path.parent} does not exist", column="FILE")
        tmp = path.with_name(path.name + ".part")
        if tmp.exists():
            tmp.unlink()
        try:
            if self.is_sqlite:
                import sqlite3

                fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
                os.close(fd)
                src = self.engine.raw_connection()
                try:
                    dst = sqlite3.connect(tmp)
                    try:
                        src.driver_connection.backup(dst)  # type: ignore[union-attr]
                        dst.execute("PRAGMA journal_mode=DELETE")
                    finally:
                        dst.close()
                finally:
                    src.close()
            else:
                target = open_store(tmp, create=True)
                try:
                    with self._read() as conn, target._write() as out:
                        out.execute(delete(S.register_version))  # the new file's own rows
                        _copy_tables(conn, out)
                finally:
                    target.close()
                for suffix in ("-wal", "-shm"):
                    Path(str(tmp) + suffix).unlink(missing_ok=True)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    def restore(self, path: str | Path, *, author: str = "") -> None:
        """Replace everything in this register with a backup (:meth:`backup`), in one
        transaction: the others using the register wait, then see the backup whole.

        Parameters
        ----------
        path
            A backup file made by :meth:`backup`.
        author
            Who restores (recorded).
        """
        import shutil
        import tempfile

        path = Path(path)
        if not path.is_file():
            raise StoreError(f"{path} is not a file", column="FILE")
        with tempfile.TemporaryDirectory() as tmpdir:
            copy = Path(tmpdir) / "backup.db"
            shutil.copyfile(path, copy)
            try:
                source = open_store(copy)
            except StoreError as exc:
                why = exc.problems[0].message
                raise StoreError(f"{path} is not a gapmap register backup ({why})",
                                 column="FILE") from None  # fmt: skip
            try:
                upgrade(source.engine)
                with source._read() as conn, self._write(providers=True) as out:
                    self._lock_all(out)
                    before = out.execute(_VERSIONS).one()
                    for table in reversed(S.metadata.sorted_tables):
                        out.execute(delete(table))
                    _copy_tables(conn, out)
                    # the counters go on from where this register's were (not back to the
                    # backup's, which a server may have seen already)
                    top = int(max(before)) + 1
                    out.execute(update(S.register_version).values(version=0, providers_version=0))
                    out.execute(
                        update(S.register_version).where(_V.id == 1)
                        .values(version=top, providers_version=top)
                    )  # fmt: skip
                    self._log(out, author or SYSTEM, "restore", {"from": str(path)})
            finally:
                source.close()


# --- helpers -------------------------------------------------------------------------------------


def _plain(v):
    if isinstance(v, np.generic):
        return v.item()
    return v


def _chunks(items: list, n: int) -> Iterator[list]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def _name(name: str, *, column: str = "NAME") -> str:
    name = (name or "").strip()
    if not name:
        raise StoreError("give a name", column=column)
    if len(name) > 200:
        raise StoreError("a name is at most 200 characters", column=column)
    return name


def _yes_no(v) -> bool:
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    s = str(v).strip().lower()
    if s in ("yes", "y", "true", "t", "1"):
        return True
    if s in ("no", "n", "false", "f", "0"):
        return False
    raise ValueError("expected yes or no")


def _text_or_none(v) -> str | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    s = str(v).strip()
    return s or None


#: Columns that would identify a person: a people register holding one is refused by import.
IDENTIFYING = (
    "name", "full_name", "first_name", "forename", "forenames", "surname", "last_name",
    "address", "address_line_1", "street", "date_of_birth", "dob", "nhs_number", "email",
    "phone", "telephone", "mobile",
)  # fmt: skip


def _identifying_columns(people, sheet) -> list[Problem]:
    """A problem for each column of a people file that would identify a person."""
    if people is None:
        return []
    from gapmap.io._tables import read_table

    try:
        columns = read_table(people, what="people", sheet=sheet).columns
    except InputError:
        return []  # Study.read reports it
    header = [str(c).strip().lower().replace(" ", "_") for c in columns]
    return [
        Problem(str(people), "the register database keeps people pseudonymous: remove this "
                "column (names, addresses, dates of birth and contact details are never "
                "stored)", row=1, column=c)
        for c in header if c in IDENTIFYING
    ]  # fmt: skip


def _sector(postcode: str) -> str:
    """A postcode cut to its sector ("CT1 2AA" → "CT1 2"); anything else to ""."""
    pc = str(postcode or "").strip()
    return pc[:-2] if len(pc) >= 5 and " " in pc else ""


def _held(active: pd.DataFrame, rate: float) -> pd.DataFrame:
    """Hours held per provider by active referrals (see :meth:`Store.held_hours`)."""
    parts = []
    if len(active):
        parts.append(active.groupby("provider_id")["provider_hours"].sum().rename("as_provider"))
        partner = active[active["partner_id"].notna()]
        parts.append(partner.groupby("partner_id")["partner_hours"].sum().rename("as_partner"))
        cover = active[active["cover_id"].notna()]
        parts.append(cover.groupby("cover_id")["provider_hours"].sum().rename("covering"))
    out = pd.concat(parts, axis=1) if parts else pd.DataFrame()
    for col in ("as_provider", "as_partner", "covering"):
        if col not in out:
            out[col] = 0.0
    out = out.fillna(0.0).astype(float)
    out["held"] = out["as_provider"] + out["as_partner"] + cover_reserve(out["covering"], rate)
    out.index.name = "provider_id"
    return out


def with_held(providers: pd.DataFrame, held: pd.DataFrame) -> pd.DataFrame:
    """Providers with ``committed_hours`` raised by the hours held (clamped to capacity), the
    register's figure kept in ``committed_register`` and the hours held in ``held_hours``.

    Parameters
    ----------
    providers
        A providers register (:func:`gapmap.read_providers` columns).
    held
        The hours held, indexed by provider id (:meth:`Store.held_hours`).
    """
    out = providers.copy()
    h = out["provider_id"].map(held["held"]).fillna(0.0).to_numpy(float) if len(held) else (
        np.zeros(len(out))
    )  # fmt: skip
    out["committed_register"] = out["committed_hours"].astype(float)
    out["held_hours"] = h
    out["committed_hours"] = np.minimum(
        out["capacity_hours"].to_numpy(float), out["committed_register"].to_numpy(float) + h
    )
    return out


def _providers_frame(rows) -> pd.DataFrame:
    from gapmap.io.registers import empty_providers

    if not rows:
        return empty_providers()
    f = pd.DataFrame([dict(r._mapping) for r in rows])
    out = pd.DataFrame(
        {
            "provider_id": f["provider_id"].astype(str),
            "name": f["name"].astype(str),
            "postcode": f["postcode"].astype(str),
            "x": f["x"].astype(float),
            "y": f["y"].astype(float),
            "services": [services_text(int(m)) for m in f["service_mask"]],
            "service_mask": f["service_mask"].astype(np.int64),
            "days": [days_text(int(m)) for m in f["day_mask"]],
            "day_mask": f["day_mask"].astype(np.int64),
            "capacity_hours": f["capacity_hours"].astype(float),
            "committed_hours": f["committed_hours"].astype(float),
            "max_travel_km": f["max_travel_km"].astype(float),
            "cover": f["cover"].astype(bool),
            "cqc_registered": f["cqc_registered"].astype(bool),
            "phone": f["phone"].astype(str),
            "email": f["email"].astype(str),
            "website": f["website"].astype(str),
            "row": np.arange(2, len(f) + 2),
        }
    )
    return out


def _people_frame(rows) -> pd.DataFrame:
    from gapmap.io.registers import empty_people

    if not rows:
        return empty_people()
    f = pd.DataFrame([dict(r._mapping) for r in rows])
    return pd.DataFrame(
        {
            "person_id": f["person_id"].astype(str),
            "postcode": f["postcode"].astype(str),
            "x": f["x"].astype(float),
            "y": f["y"].astype(float),
            "hours": f["hours"].astype(float),
            "days": [days_text(int(m)) for m in f["day_mask"]],
            "day_mask": f["day_mask"].astype(np.int64),
            "services": [services_text(int(m)) for m in f["service_mask"]],
            "service_mask": f["service_mask"].astype(np.int64),
            "max_travel_km": pd.to_numeric(f["max_travel_km"]).astype(float),
            "priority": f["priority"].astype(np.int64),
            "needs_cover": f["needs_cover"].astype(bool),
            "self_directing": f["self_directing"].astype(bool),
            "regulated_care": f["regulated_care"].astype(bool),
            "row": np.arange(2, len(f) + 2),
        }
    )


def _export_providers(prov: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "provider_id": prov["provider_id"],
            "name": prov["name"],
            "postcode": prov["postcode"],
            "easting": prov["x"].round(2),
            "northing": prov["y"].round(2),
            "services": prov["services"],
            "days": prov["days"],
            "capacity_hours": prov["capacity_hours"],
            "committed_hours": prov["committed_hours"],
            "max_travel_km": prov["max_travel_km"],
            "cover": prov["cover"],
            "cqc_registered": prov["cqc_registered"],
            "phone": prov["phone"],
            "email": prov["email"],
            "website": prov["website"],
        }
    )


def _export_people(ppl: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "person_id": ppl["person_id"],
            "postcode": ppl["postcode"],
            "easting": ppl["x"].round(2),
            "northing": ppl["y"].round(2),
            "hours": ppl["hours"],
            "days": ppl["days"],
            "services": ppl["services"],
            "max_travel_km": ppl["max_travel_km"],
            "priority": ppl["priority"],
            "needs_cover": ppl["needs_cover"],
            "self_directing": ppl["self_directing"],
            "regulated_care": ppl["regulated_care"],
        }
    )


def _write_xlsx(table: pd.DataFrame, path: Path, *, sheet: str) -> Path:
    """A one-sheet workbook of a register: text cells are text, never formulas."""
    from openpyxl import Workbook

    from gapmap.publish.export import atomic_path, neutralise_formulas

    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(list(table.columns))
    for record in neutralise_formulas(table).itertuples(index=False):
        ws.append([_none_nan(_plain(v)) for v in record])
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return path


def _copy_tables(src: Connection, dst: Connection) -> None:
    """Copy every table's rows (in dependency order), then set PostgreSQL's id sequences."""
    for table in S.metadata.sorted_tables:
        rows = [dict(r._mapping) for r in src.execute(select(table))]
        for chunk in _chunks(rows, 1000):
            dst.execute(insert(table), chunk)
    if dst.dialect.name == "postgresql":
        for table in S.metadata.sorted_tables:
            pk = list(table.primary_key.columns)[0]
            if isinstance(pk.type, type(S.referrals.c.referral_id.type)):
                dst.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', '{pk.name}'), "
                        f"COALESCE((SELECT MAX({pk.name}) FROM {table.name}), 0) + 1, false)"
                    )
                )


def open_store(db: str | Path, *, create: bool = False, settings: Settings | None = None) -> Store:
    """Open the register database.

    Parameters
    ----------
    db
        A file path, ``sqlite:///PATH`` or ``postgresql://...``.
    create
        Make a new SQLite file (mode 0600) if there is none, and bring the schema to the
        newest revision (Alembic); without it, a database whose schema is older is refused
        with a message saying how to upgrade it.
    settings
        The options (``hold_days``, ``absence_rate``, ``circuity``, ``allow_without_cover``).

    Returns
    -------
    Store

    Raises
    ------
    StoreError
        No such file, not a gapmap register, an older schema (without ``create``), or a server
        that cannot be reached.
    """
    from sqlalchemy.exc import OperationalError

    url = normalise_url(db)
    engine = make_engine(url, create=create)
    try:
        rev = current_revision(engine)
        if create and rev != HEAD:
            upgrade(engine)
            rev = current_revision(engine)
    except OperationalError as exc:
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise StoreError(f"cannot open the register database: {reason}", column="--db") from None
    if rev is None:
        engine.dispose()
        raise StoreError(
            "this database holds no gapmap register yet: 'gapmap db init --db ...' makes one",
            column="--db",
        )
    if rev != HEAD:
        engine.dispose()
        raise StoreError(
            f"the register's schema is at revision {rev}, this gapmap needs {HEAD}: "
            "'gapmap db init --db ...' upgrades it (back it up first with 'gapmap db backup')",
            column="--db",
        )
    return Store(engine, settings, url=url)
