"""Privacy and safety: forgetting people once their referrals are over, backing the whole
register up while others write, and restoring a backup.
"""

from __future__ import annotations

import os
from datetime import date, datetime, time
from pathlib import Path

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.engine import Connection

from gapmap.store import schema as S
from gapmap.store.base import _V, _VERSIONS, ACTIVE, SYSTEM, StoreBase, _chunks, _name, _utcnow
from gapmap.store.engine import StoreError, upgrade


def _sector(postcode: str) -> str:
    """A postcode cut to its sector ("CT1 2AA" → "CT1 2"); anything else to ""."""
    pc = str(postcode or "").strip()
    return pc[:-2] if len(pc) >= 5 and " " in pc else ""


class MaintenanceMixin(StoreBase):
    """Forget, back up, restore (part of :class:`~gapmap.store.Store`)."""

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
                target = type(self)._open(tmp, create=True)
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
                source = type(self)._open(copy)
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
