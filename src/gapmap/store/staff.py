"""Staff: who may act on the register, signing in with a token shown once and stored hashed."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from typing import Any

import pandas as pd
from sqlalchemy import insert, select, update

from gapmap.store import schema as S
from gapmap.store.base import StoreBase, _name, _utcnow
from gapmap.store.engine import StoreError


def hash_token(token: str) -> str:
    """The stored form of a sign-in token: SHA-256 (the token is 256 random bits, so no salt
    or slow hash is needed: nothing can be guessed from the hash)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class StaffMixin(StoreBase):
    """Members of staff: add, revoke, look up by token (part of :class:`~gapmap.store.Store`)."""

    _unchanged_lock = threading.Lock()

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

    def _while_unchanged(self, key: tuple, load: Callable[[], Any]) -> Any:
        """``load()``, kept while the register is unchanged: every request's sign-in check
        asks the database nothing until something is committed (SQLite's ``PRAGMA
        data_version``, PostgreSQL's notification: :meth:`_data_version`), so revoking a
        token still ends it as soon as the revocation is committed."""
        version = self._data_version()
        if version is None:
            return load()
        cache: dict = self.__dict__.setdefault("_unchanged", {})
        with self._unchanged_lock:
            if cache.get("version") != version:
                cache.clear()
                cache["version"] = version
            if key in cache:
                return cache[key]
        value = load()  # read after the version: a commit in between changes it for next time
        with self._unchanged_lock:
            if cache.get("version") == version:
                cache[key] = value
        return value

    def staff_for_token(self, token: str | None) -> str | None:
        """The name of the member of staff whose (unrevoked) token this is, else None."""
        if not token:
            return None
        digest = hash_token(token)

        def load() -> str | None:
            with self._peek() as conn:
                row = conn.execute(
                    select(S.staff.c.name, S.staff.c.token_hash, S.staff.c.revoked_at).where(
                        S.staff.c.token_hash == digest
                    )
                ).first()
            if row is None or row.revoked_at is not None:
                return None
            return row.name if hmac.compare_digest(row.token_hash, digest) else None

        return self._while_unchanged(("token", digest), load)

    def staff_session_key(self, name: str) -> str | None:
        """The stored hash of an unrevoked member of staff's token (None when revoked or
        unknown): what a signed sign-in cookie is bound to, so that revoking the token or
        issuing a new one ends the sessions at once."""

        def load() -> str | None:
            with self._peek() as conn:
                row = conn.execute(
                    select(S.staff.c.token_hash, S.staff.c.revoked_at)
                    .where(S.staff.c.name == name)
                ).first()  # fmt: skip
            return None if row is None or row.revoked_at is not None else str(row.token_hash)

        return self._while_unchanged(("session", name), load)

    def staff(self) -> pd.DataFrame:
        """Every member of staff: ``name, created_at, revoked_at`` (never the hashes)."""
        with self._read() as conn:
            rows = conn.execute(
                select(S.staff.c.name, S.staff.c.created_at, S.staff.c.revoked_at)
                .order_by(S.staff.c.name)
            ).all()  # fmt: skip
        return pd.DataFrame(rows, columns=["name", "created_at", "revoked_at"])
