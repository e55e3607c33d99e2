"""The store's shared machinery: connections and transactions, the register's version
counters (raised by every write, read by :meth:`StoreBase.mark`), locks, the change log,
the check that an author is staff, and the release of referrals whose hold ran out.

Every other module of :mod:`gapmap.store` adds one idea to :class:`StoreBase` as a mixin
class; :class:`gapmap.store.Store` combines them.
"""

from __future__ import annotations

import json
import math
import secrets
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Self

import numpy as np
from sqlalchemy import BigInteger, bindparam, cast, func, insert, select, update
from sqlalchemy.engine import Connection, Engine

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

#: A referral's states; the active ones hold hours.
STATES = ("pending", "confirmed", "ended", "released")
ACTIVE = ("pending", "confirmed")
#: The author of what the store does by itself (releasing holds that ran out).
SYSTEM = "system"
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


def _slot() -> int:
    """The counter row a write raises (any: the version is their sum)."""
    return secrets.randbelow(VERSION_SLOTS) + 1


#: Set on a connection's ``info`` by a statement that raised the version itself.
_BUMPED = "gapmap_version_raised"

_OLDEST_PENDING = select(func.min(S.referrals.c.created_at)).where(S.referrals.c.state == "pending")


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


def _none_nan(v):
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


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


class StoreBase:
    """What every part of the :class:`~gapmap.store.Store` shares: the engine and settings,
    the transactions (reading, peeking, writing) with the version counters every write
    raises, the locks on providers' rows, the change log, the check that an author is
    staff, and the release of holds that ran out (before anything counts free hours).

    Parameters
    ----------
    engine
        The SQLAlchemy engine (:func:`gapmap.store.engine.make_engine`).
    settings
        The options; ``hold_days``, ``absence_rate``, ``circuity`` and ``allow_without_cover``
        are used.
    url
        The address opened (:func:`gapmap.store.engine.normalise_url`).
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
        # PostgreSQL: a connection listening for the version counters' notifications
        # (gapmap.store.listen), and this store's own commits, counted as they happen
        self._listener: Any = None
        self._own_writes = 0
        self._last_mark: tuple[Any, tuple, Any] | None = None

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"

    def close(self) -> None:
        """Close every pooled connection."""
        with self._watch_lock:
            if self._watch is not None:
                self._watch.close()
                self._watch = None
            if self._listener is not None:
                self._listener.close()
                self._listener = None
        self.engine.dispose()

    def _heard(self) -> tuple[int, int] | None:
        with self._watch_lock:
            if self._listener is None:
                from gapmap.store.listen import VersionListener

                try:
                    self._listener = VersionListener(self.engine)
                except Exception:  # e.g. a schema before 0005: ask the server every time
                    return None
            if not self._listener.alive:
                return None
            return (self._listener.count, self._own_writes)

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
            self._own_writes += 1  # committed: the next mark asks the server
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

    # --- shared by the writes ----------------------------------------------------------------
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

    def _where(self) -> str:
        path = sqlite_path(self.url)
        return str(path) if path else self.engine.url.render_as_string(hide_password=True)

    # --- the register's version --------------------------------------------------------------
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

    def _data_version(self) -> Any:
        """What changes whenever the register may have: SQLite's ``PRAGMA data_version``;
        on PostgreSQL the notifications heard (:mod:`gapmap.store.listen`) and this store's
        own commits; None when only asking the server can tell."""
        path = sqlite_path(self.url)
        if path is None:
            return None if self.is_sqlite else self._heard()
        import sqlite3

        with self._watch_lock:
            if self._watch is None:
                self._watch = sqlite3.connect(str(path), check_same_thread=False)
            return int(self._watch.execute("PRAGMA data_version").fetchone()[0])

    # --- holds that ran out ------------------------------------------------------------------
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

    # --- opening -----------------------------------------------------------------------------
    @classmethod
    def _open(
        cls, db: str | Path, *, create: bool = False, settings: Settings | None = None
    ) -> Self:
        """:func:`gapmap.store.open_store` (a class method, so that a backup can open a new
        register without importing the class that combines the parts)."""
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
            raise StoreError(
                f"cannot open the register database: {reason}", column="--db"
            ) from None
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
        return cls(engine, settings, url=url)
