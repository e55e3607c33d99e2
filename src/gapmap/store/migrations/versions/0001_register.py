"""The first released schema: providers and people with history, staff, referrals.

Revision ID: 0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _who():
    return [
        sa.Column("valid_from", sa.DateTime, nullable=False),
        sa.Column("valid_to", sa.DateTime, nullable=True),
        sa.Column("author", sa.String(200), nullable=False),
    ]


def upgrade() -> None:
    """Make the first schema."""
    op.create_table(
        "providers",
        sa.Column("provider_id", sa.String(100), primary_key=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "provider_versions",
        sa.Column("version_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "provider_id", sa.String(100), sa.ForeignKey("providers.provider_id"), nullable=False
        ),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("postcode", sa.String(10), nullable=False),
        sa.Column("x", sa.Float, nullable=False),
        sa.Column("y", sa.Float, nullable=False),
        sa.Column("service_mask", sa.Integer, nullable=False),
        sa.Column("day_mask", sa.Integer, nullable=False),
        sa.Column("capacity_hours", sa.Float, nullable=False),
        sa.Column("committed_hours", sa.Float, nullable=False),
        sa.Column("max_travel_km", sa.Float, nullable=False),
        sa.Column("cover", sa.Boolean, nullable=False),
        sa.Column("cqc_registered", sa.Boolean, nullable=False),
        sa.Column("phone", sa.Text, nullable=False),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("website", sa.Text, nullable=False),
        sa.Column("withdrawn", sa.Boolean, nullable=False),
        sa.Column("row", sa.Integer, nullable=False),
        *_who(),
    )
    op.create_index(
        "ix_provider_versions_current", "provider_versions", ["provider_id", "valid_to"]
    )
    op.create_index("ix_provider_versions_period", "provider_versions", ["valid_from", "valid_to"])
    op.create_table(
        "person_versions",
        sa.Column("version_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("person_id", sa.String(100), nullable=False),
        sa.Column("postcode", sa.String(10), nullable=False),
        sa.Column("x", sa.Float, nullable=True),
        sa.Column("y", sa.Float, nullable=True),
        sa.Column("hours", sa.Float, nullable=False),
        sa.Column("day_mask", sa.Integer, nullable=False),
        sa.Column("service_mask", sa.Integer, nullable=False),
        sa.Column("max_travel_km", sa.Float, nullable=True),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("needs_cover", sa.Boolean, nullable=False),
        sa.Column("self_directing", sa.Boolean, nullable=False),
        sa.Column("regulated_care", sa.Boolean, nullable=False),
        sa.Column("withdrawn", sa.Boolean, nullable=False),
        sa.Column("row", sa.Integer, nullable=False),
        *_who(),
    )
    op.create_index("ix_person_versions_current", "person_versions", ["person_id", "valid_to"])
    op.create_index("ix_person_versions_period", "person_versions", ["valid_from", "valid_to"])
    op.create_table(
        "staff",
        sa.Column("staff_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("revoked_at", sa.DateTime, nullable=True),
        sa.Column("revoked_by", sa.String(200), nullable=True),
    )
    op.create_table(
        "referrals",
        sa.Column("referral_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("person_id", sa.String(100), nullable=False),
        sa.Column("postcode", sa.String(10), nullable=False),
        sa.Column("x", sa.Float, nullable=True),
        sa.Column("y", sa.Float, nullable=True),
        sa.Column("hours", sa.Float, nullable=False),
        sa.Column("day_mask", sa.Integer, nullable=False),
        sa.Column("service_mask", sa.Integer, nullable=False),
        sa.Column("max_travel_km", sa.Float, nullable=True),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("needs_cover", sa.Boolean, nullable=False),
        sa.Column("self_directing", sa.Boolean, nullable=False),
        sa.Column("regulated_care", sa.Boolean, nullable=False),
        sa.Column(
            "provider_id", sa.String(100), sa.ForeignKey("providers.provider_id"), nullable=False
        ),
        sa.Column("provider_hours", sa.Float, nullable=False),
        sa.Column("provider_days", sa.Integer, nullable=False),
        sa.Column(
            "partner_id", sa.String(100), sa.ForeignKey("providers.provider_id"), nullable=True
        ),
        sa.Column("partner_hours", sa.Float, nullable=False),
        sa.Column("partner_days", sa.Integer, nullable=False),
        sa.Column(
            "cover_id", sa.String(100), sa.ForeignKey("providers.provider_id"), nullable=True
        ),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("forgotten", sa.Boolean, nullable=False),
    )
    for name, cols in (
        ("ix_referrals_state", ["state"]),
        ("ix_referrals_provider", ["provider_id"]),
        ("ix_referrals_partner", ["partner_id"]),
        ("ix_referrals_cover", ["cover_id"]),
        ("ix_referrals_person", ["person_id"]),
    ):
        op.create_index(name, "referrals", cols)
    op.create_table(
        "referral_events",
        sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "referral_id", sa.Integer, sa.ForeignKey("referrals.referral_id"), nullable=False
        ),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
    )
    op.create_index(
        "ix_referral_events_referral_id", "referral_events", ["referral_id"], unique=False
    )
    op.create_table(
        "changes",
        sa.Column("change_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )


def downgrade() -> None:
    """Remove the first schema."""
    for table in (
        "changes", "referral_events", "referrals", "staff", "person_versions",
        "provider_versions", "providers",
    ):  # fmt: skip
        op.drop_table(table)
