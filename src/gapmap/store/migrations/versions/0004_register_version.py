"""The register's version counters: raised by every write, read before each suggestion; an
index for the oldest pending referral.

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
    """Make the register_version table with its 16 counter rows (a writer raises one at
    random; the version is their sum), and an index of referrals by state and time."""
    table = op.create_table(
        "register_version",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("providers_version", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(table, [{"id": i, "version": 0, "providers_version": 0} for i in range(1, 17)])
    # the oldest pending referral, read after each change, without reading every pending one
    op.create_index("ix_referrals_state_created", "referrals", ["state", "created_at"])


def downgrade() -> None:
    """Remove the register_version table and the index."""
    op.drop_index("ix_referrals_state_created", table_name="referrals")
    op.drop_table("register_version")
