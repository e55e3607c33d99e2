"""The register's tables (SQLAlchemy Core), as the newest migration leaves them.

History is kept as **versions with a validity period**: each provider or person record is a row
valid from ``valid_from`` until ``valid_to`` (``NULL`` while current), written by ``author``.
An edit closes the current row and adds a new one; a withdrawal closes it and adds a row with
``withdrawn`` true, so who withdrew it and when is kept like any other change. The register as
it stood at time *t* is one indexed query (``valid_from <= t < valid_to``), with no replay of a
change log. Referrals keep their current state in ``referrals.state`` (what the hot path reads)
and every change of state, with author and time, in ``referral_events`` (what ``--as-of``
reads). The migrations in ``migrations/versions`` build exactly these tables (a test compares).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

#: Every provider ever registered, once: the row a referral locks (PostgreSQL ``FOR UPDATE``).
providers = Table(
    "providers",
    metadata,
    Column("provider_id", String(100), primary_key=True),
    Column("created_at", DateTime, nullable=False),
)

provider_versions = Table(
    "provider_versions",
    metadata,
    Column("version_id", Integer, primary_key=True, autoincrement=True),
    Column("provider_id", String(100), ForeignKey("providers.provider_id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("postcode", String(10), nullable=False),
    Column("x", Float, nullable=False),
    Column("y", Float, nullable=False),
    Column("service_mask", Integer, nullable=False),
    Column("day_mask", Integer, nullable=False),
    Column("capacity_hours", Float, nullable=False),
    Column("committed_hours", Float, nullable=False),
    Column("max_travel_km", Float, nullable=False),
    Column("cover", Boolean, nullable=False),
    Column("cqc_registered", Boolean, nullable=False),
    Column("phone", Text, nullable=False),
    Column("email", Text, nullable=False),
    Column("website", Text, nullable=False),
    Column("withdrawn", Boolean, nullable=False),
    Column("row", Integer, nullable=False),
    Column("valid_from", DateTime, nullable=False),
    Column("valid_to", DateTime, nullable=True),
    Column("author", String(200), nullable=False),
    Index("ix_provider_versions_current", "provider_id", "valid_to"),
    Index("ix_provider_versions_period", "valid_from", "valid_to"),
)

person_versions = Table(
    "person_versions",
    metadata,
    Column("version_id", Integer, primary_key=True, autoincrement=True),
    Column("person_id", String(100), nullable=False),
    Column("postcode", String(10), nullable=False),
    Column("x", Float, nullable=True),
    Column("y", Float, nullable=True),
    Column("hours", Float, nullable=False),
    Column("day_mask", Integer, nullable=False),
    Column("service_mask", Integer, nullable=False),
    Column("max_travel_km", Float, nullable=True),
    Column("priority", Integer, nullable=False),
    Column("needs_cover", Boolean, nullable=False),
    Column("self_directing", Boolean, nullable=False),
    Column("regulated_care", Boolean, nullable=False),
    Column("withdrawn", Boolean, nullable=False),
    Column("row", Integer, nullable=False),
    Column("valid_from", DateTime, nullable=False),
    Column("valid_to", DateTime, nullable=True),
    Column("author", String(200), nullable=False),
    Index("ix_person_versions_current", "person_id", "valid_to"),
    Index("ix_person_versions_period", "valid_from", "valid_to"),
)

staff = Table(
    "staff",
    metadata,
    Column("staff_id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("revoked_at", DateTime, nullable=True),
    Column("revoked_by", String(200), nullable=True),
)

referrals = Table(
    "referrals",
    metadata,
    Column("referral_id", Integer, primary_key=True, autoincrement=True),
    # the person, pseudonymous (no name, no address; the postcode is cut to its sector by forget)
    Column("person_id", String(100), nullable=False),
    Column("postcode", String(10), nullable=False),
    Column("x", Float, nullable=True),
    Column("y", Float, nullable=True),
    Column("hours", Float, nullable=False),
    Column("day_mask", Integer, nullable=False),
    Column("service_mask", Integer, nullable=False),
    Column("max_travel_km", Float, nullable=True),
    Column("priority", Integer, nullable=False),
    Column("needs_cover", Boolean, nullable=False),
    Column("self_directing", Boolean, nullable=False),
    Column("regulated_care", Boolean, nullable=False),
    # the arrangement
    Column("provider_id", String(100), ForeignKey("providers.provider_id"), nullable=False),
    Column("provider_hours", Float, nullable=False),
    Column("provider_days", Integer, nullable=False),
    Column("partner_id", String(100), ForeignKey("providers.provider_id"), nullable=True),
    Column("partner_hours", Float, nullable=False),
    Column("partner_days", Integer, nullable=False),
    Column("cover_id", String(100), ForeignKey("providers.provider_id"), nullable=True),
    # the state now (its history is in referral_events)
    Column("state", String(20), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("forgotten", Boolean, nullable=False),
    Index("ix_referrals_state", "state"),
    # the oldest pending referral (holds running out) without reading every pending one
    Index("ix_referrals_state_created", "state", "created_at"),
    Index("ix_referrals_provider", "provider_id"),
    Index("ix_referrals_partner", "partner_id"),
    Index("ix_referrals_cover", "cover_id"),
    Index("ix_referrals_person", "person_id"),
)

referral_events = Table(
    "referral_events",
    metadata,
    Column("event_id", Integer, primary_key=True, autoincrement=True),
    Column("referral_id", Integer, ForeignKey("referrals.referral_id"), nullable=False, index=True),
    Column("state", String(20), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("recorded_at", DateTime, nullable=False),
    Column("author", String(200), nullable=False),
)

#: Every import and every change made from the command line, with author and time.
changes = Table(
    "changes",
    metadata,
    Column("change_id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("author", String(200), nullable=False),
    Column("action", String(40), nullable=False),
    Column("detail", Text, nullable=False),
)

absences = Table(
    "absences",
    metadata,
    Column("absence_id", Integer, primary_key=True, autoincrement=True),
    Column("provider_id", String(100), ForeignKey("providers.provider_id"), nullable=False),
    Column("start", Date, nullable=False),
    Column("end", Date, nullable=False),
    Column("day_mask", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("withdrawn_at", DateTime, nullable=True),
    Column("withdrawn_by", String(200), nullable=True),
    Index("ix_absences_provider", "provider_id"),
)

#: An accepted cover plan's arrangements: ``person_id`` is given ``hours`` a week (on
#: ``day_mask``) by ``cover_provider_id`` instead of ``absent_provider_id`` from ``start`` to
#: ``end`` (inside the absence). ``state``: ``active`` (holds the cover's hours on those dates),
#: ``replaced`` (a later plan for the same absence was accepted) or ``withdrawn`` (the absence was).
cover_assignments = Table(
    "cover_assignments",
    metadata,
    Column("assignment_id", Integer, primary_key=True, autoincrement=True),
    Column("person_id", String(100), nullable=False),
    Column("absence_id", Integer, ForeignKey("absences.absence_id"), nullable=False),
    Column("absent_provider_id", String(100), ForeignKey("providers.provider_id"), nullable=False),
    Column("cover_provider_id", String(100), ForeignKey("providers.provider_id"), nullable=False),
    Column("role", String(20), nullable=False),
    Column("start", Date, nullable=False),
    Column("end", Date, nullable=False),
    Column("day_mask", Integer, nullable=False),
    Column("hours", Float, nullable=False),
    Column("author", String(200), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("state", String(20), nullable=False),
    Column("changed_at", DateTime, nullable=True),
    Column("changed_by", String(200), nullable=True),
    Index("ix_cover_assignments_cover", "cover_provider_id"),
    Index("ix_cover_assignments_period", "start", "end"),
)

#: Counters that every writing transaction raises just before it commits (``version``;
#: ``providers_version`` too when the providers register changed): what a server reads before
#: each suggestion to know whether the free hours it holds are still those of the database (a
#: few tiny rows, instead of a query over the history tables). The register's version is the
#: sum over the rows (``id`` 1 to 16); a writer raises one row at random, so that writers on
#: PostgreSQL seldom queue for the same row lock while one commits.
register_version = Table(
    "register_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", BigInteger, nullable=False),
    Column("providers_version", BigInteger, nullable=False),
)
