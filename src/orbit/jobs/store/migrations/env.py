"""Alembic environment for the engine's tables: own version table, runs on a given connection."""

from __future__ import annotations

from alembic import context

from orbit.jobs.store.migrate import VERSION_TABLE
from orbit.jobs.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
