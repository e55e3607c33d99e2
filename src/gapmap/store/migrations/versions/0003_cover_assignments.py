"""Temporary cover assignments: an accepted cover plan's arrangements (they end with the absence).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Make the cover_assignments table."""
    op.create_table(
        "cover_assignments",
        sa.Column("assignment_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("person_id", sa.String(100), nullable=False),
        sa.Column("absence_id", sa.Integer, sa.ForeignKey("absences.absence_id"), nullable=False),
        sa.Column(
            "absent_provider_id",
            sa.String(100),
            sa.ForeignKey("providers.provider_id"),
            nullable=False,
        ),
        sa.Column(
            "cover_provider_id",
            sa.String(100),
            sa.ForeignKey("providers.provider_id"),
            nullable=False,
        ),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("start", sa.Date, nullable=False),
        sa.Column("end", sa.Date, nullable=False),
        sa.Column("day_mask", sa.Integer, nullable=False),
        sa.Column("hours", sa.Float, nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("changed_at", sa.DateTime, nullable=True),
        sa.Column("changed_by", sa.String(200), nullable=True),
    )
    op.create_index("ix_cover_assignments_cover", "cover_assignments", ["cover_provider_id"])
    op.create_index("ix_cover_assignments_period", "cover_assignments", ["start", "end"])


def downgrade() -> None:
    """Remove the cover_assignments table."""
    op.drop_table("cover_assignments")
