"""PostgreSQL notifies the channel ``gapmap_register_version`` whenever the version counters
change, so that a server answers "did the register change?" without a round trip
(:mod:`gapmap.store.listen`). Nothing changes on SQLite.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """On PostgreSQL, a statement trigger on ``register_version`` that notifies the channel."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE FUNCTION gapmap_register_version_notify() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM pg_notify('gapmap_register_version', ''); RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER register_version_notify AFTER INSERT OR UPDATE OR DELETE "
        "ON register_version FOR EACH STATEMENT "
        "EXECUTE FUNCTION gapmap_register_version_notify()"
    )


def downgrade() -> None:
    """Remove the trigger and its function."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER register_version_notify ON register_version")
    op.execute("DROP FUNCTION gapmap_register_version_notify()")
