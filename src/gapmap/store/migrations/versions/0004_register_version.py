"""The register's version counters: one row raised by every write, read before each suggestion.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Make the register_version table with its one row."""
    table = op.create_table(
        "register_version",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("providers_version", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(table, [{"id": 1, "version": 1, "providers_version": 1}])


def downgrade() -> None:
    """Remove the register_version table."""
    op.drop_table("register_version")
