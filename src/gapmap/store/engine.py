"""Where the register lives: database addresses, engines, and the schema's migrations.

* A path or ``sqlite:///PATH`` is an embedded SQLite file: created readable by its owner only
  (mode 0600), write-ahead log with ``synchronous=NORMAL`` (a killed process loses no
  acknowledged commit; a power cut may lose the last ones), ``busy_timeout``, foreign keys on;
  every writing transaction starts with ``BEGIN IMMEDIATE``, so two writers queue instead of
  failing half-way.
* ``postgresql://`` (or ``postgres://``, ``postgresql+psycopg2://``...) is PostgreSQL through
  psycopg 3 (``postgresql+psycopg://``).

The schema is built and upgraded only by the Alembic migrations shipped in
``gapmap/store/migrations`` (no ``alembic.ini``: the configuration is made here), inside one
transaction, so a failed migration leaves the old schema working.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine

from gapmap.errors import InputError, Problem

__all__ = ["HEAD", "MIGRATIONS", "StoreError", "current_revision", "make_engine", "upgrade"]

MIGRATIONS = Path(__file__).parent / "migrations"
#: The newest schema revision this version of gapmap writes.
HEAD = "0005"
#: Seconds a SQLite writer waits for another to finish before giving up.
BUSY_TIMEOUT_S = 30.0


class StoreError(InputError):
    """Something a user can act on about the register database (exit code 2 on the command
    line): an unknown provider, a bad date, a database that is not a gapmap register..."""

    def __init__(self, message: str | list[Problem] | Problem, *, column: str | None = None):
        if isinstance(message, str):
            super().__init__(Problem("register", message, column=column))
        else:
            super().__init__(message)


def normalise_url(db: str | os.PathLike) -> str:
    """The SQLAlchemy URL of a ``--db`` value.

    Examples
    --------
    >>> normalise_url("postgres://u@h/db")
    'postgresql+psycopg://u@h/db'
    >>> normalise_url("sqlite:///tmp/r.db")
    'sqlite:///tmp/r.db'
    """
    s = str(db).strip()
    scheme, sep, rest = s.partition("://")
    if sep:
        base = scheme.split("+", 1)[0].lower()
        if base in ("postgresql", "postgres"):
            return "postgresql+psycopg://" + rest
        if base == "sqlite":
            if not rest.startswith("/") or rest == "/":
                raise StoreError(f"a SQLite address is sqlite:///PATH (found {s!r})", column="--db")
            return "sqlite:///" + rest[1:]
        raise StoreError(
            f"{scheme}:// databases are not supported: give a file path, sqlite:///PATH or "
            "postgresql://...",
            column="--db",
        )
    if not s:
        raise StoreError("give the register database (a file path or postgresql://...)",
                         column="--db")  # fmt: skip
    return "sqlite:///" + str(Path(s).expanduser())


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases)."""
    return Path(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else None


def make_engine(url: str, *, create: bool = False) -> Engine:
    """An engine for a normalised URL (:func:`normalise_url`).

    Parameters
    ----------
    url
        The database.
    create
        For SQLite: make the file (mode 0600) when it does not exist; otherwise its absence is
        an error.

    Returns
    -------
    Engine
    """
    path = sqlite_path(url)
    if path is None:
        # no pre-ping (a round trip per request): connections are recycled after 30 minutes
        return create_engine(url, pool_size=20, max_overflow=60, pool_recycle=1800)
    if not path.exists():
        if not create:
            raise StoreError(
                f"there is no register database at {path}: 'gapmap db init --db {path}' or "
                "'gapmap db import' makes one",
                column="--db",
            )
        if not path.parent.is_dir():
            raise StoreError(f"the folder {path.parent} does not exist", column="--db")
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)  # owner only, at birth
        os.close(fd)
    engine = create_engine(
        url, connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
        pool_size=20, max_overflow=60,
    )  # fmt: skip

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, record):  # pragma: no cover - run by SQLAlchemy
        dbapi_conn.isolation_level = None  # we say BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        cur.execute("PRAGMA foreign_keys=ON")
        # WAL + NORMAL: a commit is written to the log (the operating system's cache) before
        # it is acknowledged, and the log is flushed to the disk at each checkpoint. A process
        # killed at any moment (kill -9, a crash) loses nothing acknowledged and leaves nothing
        # half-done: the kernel still writes what was written. Only a power cut or an operating
        # system crash may lose the last commits (never corrupting the file); FULL would flush
        # at every commit (about 10 ms here, a fifth of a referral under load)
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # pragma: no cover - run by SQLAlchemy
        # writers take the write lock at once (no deadlock upgrading a read lock); readers don't
        mode = "" if conn.get_execution_options().get("readonly") else " IMMEDIATE"
        conn.exec_driver_sql("BEGIN" + mode)

    return engine


def _config(connection):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def current_revision(engine: Engine) -> str | None:
    """The schema revision of a database (None: no gapmap schema)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` in one transaction (nothing changes if a step fails).

    Parameters
    ----------
    engine
        The database.
    revision
        An Alembic revision (``"head"``, ``"0001"``...).
    """
    from alembic import command

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # two processes upgrading at once: one waits
            conn.execute(text("SELECT pg_advisory_xact_lock(7242050)"))
        command.upgrade(_config(conn), revision)
