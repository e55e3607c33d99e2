"""The register's schema is made and upgraded only by its Alembic migrations: from an empty
database, from the first released schema (revision 0001) with data in it, and a migration that
fails leaves the old schema working (transactional DDL) on SQLite and PostgreSQL alike."""

from __future__ import annotations

import os
from datetime import datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import insert, inspect, select

from gapmap.store import HEAD, StoreError, open_store
from gapmap.store import schema as S
from gapmap.store.engine import MIGRATIONS, current_revision, make_engine, normalise_url, upgrade

from .store_fixtures import db_url, pg_server, small_registers  # noqa: F401

BROKEN = '''
"""A migration that fails half-way (test only)."""
import sqlalchemy as sa
from alembic import op

revision = "0099"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("half_done", sa.Column("id", sa.Integer, primary_key=True))
    op.add_column("staff", sa.Column("extra", sa.Text))
    raise RuntimeError("this migration fails")


def downgrade():
    pass
'''


def test_from_empty_the_migrations_build_exactly_the_tables(db_url):  # noqa: F811
    store = open_store(db_url, create=True)
    assert current_revision(store.engine) == HEAD
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), S.metadata)
    assert diff == []
    store.close()


def test_from_the_first_released_schema_data_is_kept(db_url):  # noqa: F811
    engine = make_engine(normalise_url(db_url), create=True)
    upgrade(engine, "0001")
    assert current_revision(engine) == "0001"
    now = datetime(2026, 1, 1)
    with engine.begin() as conn:
        assert not inspect(conn).has_table("absences")
        conn.execute(insert(S.providers).values(provider_id="A", created_at=now))
        conn.execute(
            insert(S.staff).values(name="Ann", token_hash="0" * 64, created_at=now,
                                   created_by="Ann")
        )  # fmt: skip
    engine.dispose()
    with pytest.raises(StoreError, match="revision 0001.*db init"):
        open_store(db_url)  # an older schema is not used silently
    store = open_store(db_url, create=True)  # upgrades
    assert current_revision(store.engine) == HEAD
    with store.engine.connect() as conn:
        assert conn.execute(select(S.staff.c.name)).scalars().all() == ["Ann"]
        assert inspect(conn).has_table("absences")
    store.close()


def test_a_failed_migration_leaves_the_old_schema_working(db_url, tmp_path):  # noqa: F811
    store = open_store(db_url, create=True)
    store.add_staff("Ann")
    (tmp_path / "0099_broken.py").write_text(BROKEN.replace("{head}", HEAD))
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", f"{MIGRATIONS / 'versions'}{os.pathsep}{tmp_path}")
    with pytest.raises(RuntimeError, match="this migration fails"):
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0099")
    assert current_revision(store.engine) == HEAD
    with store.engine.connect() as conn:
        assert not inspect(conn).has_table("half_done")
        assert "extra" not in {c["name"] for c in inspect(conn).get_columns("staff")}
    store.close()
    again = open_store(db_url)  # and it still works
    assert again.staff()["name"].tolist() == ["Ann"]
    again.close()


def test_from_0002_absences_are_kept_and_temporary_cover_can_be_recorded(db_url):  # noqa: F811
    from datetime import date

    engine = make_engine(normalise_url(db_url), create=True)
    upgrade(engine, "0002")
    now = datetime(2026, 1, 1)
    with engine.begin() as conn:
        assert not inspect(conn).has_table("cover_assignments")
        for pid in ("A", "B"):
            conn.execute(insert(S.providers).values(provider_id=pid, created_at=now))
        conn.execute(
            insert(S.absences).values(provider_id="A", start=date(2026, 1, 5),
                                      end=date(2026, 1, 9), day_mask=31, reason="leave",
                                      created_at=now, created_by="Ann")
        )  # fmt: skip
    engine.dispose()
    with pytest.raises(StoreError, match="revision 0002.*db init"):
        open_store(db_url)
    store = open_store(db_url, create=True)  # upgrades to 0003
    assert current_revision(store.engine) == HEAD
    kept = store.absences()
    assert kept[["provider_id", "days", "reason"]].values.tolist() == [["A", 31, "leave"]]
    assert kept["from"].iloc[0] == date(2026, 1, 5)
    with store.engine.begin() as conn:  # the new table takes a row tied to the old absence
        conn.execute(
            insert(S.cover_assignments).values(
                person_id="P1", absence_id=int(kept["absence_id"].iloc[0]),
                absent_provider_id="A", cover_provider_id="B", role="provider",
                start=date(2026, 1, 5), end=date(2026, 1, 9), day_mask=31, hours=5.0,
                author="Ann", created_at=now, state="active",
            )
        )  # fmt: skip
    held = store.cover_assignments(on=date(2026, 1, 6))
    assert held["cover_provider_id"].tolist() == ["B"] and held["hours"].tolist() == [5.0]
    store.close()


def test_from_0003_data_is_kept_and_every_write_raises_the_version(db_url, small_registers):  # noqa: F811
    engine = make_engine(normalise_url(db_url), create=True)
    upgrade(engine, "0003")
    now = datetime(2026, 1, 1)
    with engine.begin() as conn:
        assert not inspect(conn).has_table("register_version")
        conn.execute(insert(S.providers).values(provider_id="A", created_at=now))
        conn.execute(
            insert(S.staff).values(name="Ann", token_hash="0" * 64, created_at=now,
                                   created_by="Ann")
        )  # fmt: skip
    engine.dispose()
    with pytest.raises(StoreError, match="revision 0003.*db init"):
        open_store(db_url)
    store = open_store(db_url, create=True)  # upgrades to 0004
    assert current_revision(store.engine) == HEAD == "0005"
    with store.engine.connect() as conn:
        assert conn.execute(select(S.staff.c.name)).scalars().all() == ["Ann"]
        assert conn.execute(select(S.providers.c.provider_id)).scalars().all() == ["A"]
        counters = conn.execute(select(S.register_version).order_by("id")).all()
        assert counters == [(i, 0, 0) for i in range(1, 17)]
    first = store.mark()
    store.add_staff("Bob")  # a write that is not the providers register: version only
    second = store.mark()
    assert second[1] == first[1] + 1 and second[0] == first[0]
    try:
        store.add_staff("Bob")  # refused: rolled back, nothing raised
    except StoreError:
        pass
    assert store.mark() == second
    prov, _ = small_registers
    store.import_registers(providers=prov, author="Ann")  # the providers register changed
    third = store.mark()
    assert third[0] == second[0] + 1 and third[1] == second[1] + 1
    store.close()
