"""Alembic environment of the register: runs on the connection :mod:`gapmap.store` hands it.

The caller opens the transaction (``BEGIN IMMEDIATE`` on SQLite), so every migration of an
upgrade runs inside it: a migration that fails is rolled back with the others and leaves the
old schema as it was (transactional DDL, on SQLite and PostgreSQL alike).
"""

from __future__ import annotations

from alembic import context

from gapmap.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    transactional_ddl=True,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
