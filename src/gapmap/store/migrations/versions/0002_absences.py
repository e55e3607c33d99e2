"""Absences of providers (the cover plan reads them).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Make the absences table."""
    op.create_table(
        "absences",
        sa.Column("absence_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "provider_id", sa.String(100), sa.ForeignKey("providers.provider_id"), nullable=False
        ),
        sa.Column("start", sa.Date, nullable=False),
        sa.Column("end", sa.Date, nullable=False),
        sa.Column("day_mask", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime, nullable=True),
        sa.Column("withdrawn_by", sa.String(200), nullable=True),
    )
    op.create_index("ix_absences_provider", "absences", ["provider_id"])


def downgrade() -> None:
    """Remove the absences table."""
    op.drop_table("absences")
