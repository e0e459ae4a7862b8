"""Schema migrations, run programmatically (``orbit db upgrade``).

``Migrations`` drives one Alembic script directory with its own version table, so the
engine's history (``orbit_jobs_version``) and any application's (Orbit's planning tables
keep ``orbit_planning_version``) coexist in one database without touching each other —
or a host application's own Alembic table.

The module-level functions act on the engine's own tables.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from orbit.jobs.store.schema import metadata as jobs_metadata

VERSION_TABLE = "orbit_jobs_version"
SCRIPT_LOCATION = "orbit.jobs.store:migrations"
MIGRATION_LOCK = 0x0EB17  # an arbitrary, fixed advisory-lock key for Orbit's migrations


@dataclasses.dataclass(frozen=True)
class Migrations:
    """One migration history: where its scripts live, its version table, its tables."""

    script_location: str
    version_table: str
    metadata: sa.MetaData

    def _config(self, connection: Any = None) -> Config:
        config = Config()
        config.set_main_option("script_location", self.script_location)
        config.attributes.update(
            connection=connection, version_table=self.version_table, metadata=self.metadata
        )
        return config

    def upgrade(self, engine: Engine, revision: str = "head") -> None:
        """Bring the schema up to ``revision`` (default: the newest).

        Safe when a server and several workers start at once: on PostgreSQL the
        migration holds an advisory lock for its transaction (SQLite's write
        transaction already serialises it), so the second process finds it done.
        """
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            command.upgrade(self._config(conn), revision)

    def downgrade(self, engine: Engine, revision: str = "base") -> None:
        """Take the schema down to ``revision`` (default: nothing)."""
        with engine.begin() as conn:
            command.downgrade(self._config(conn), revision)

    def current(self, engine: Engine) -> str | None:
        """The revision the database is at, or ``None`` when never migrated."""
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"version_table": self.version_table})
            return context.get_current_revision()

    def head(self) -> str | None:
        """The newest revision shipped."""
        return ScriptDirectory.from_config(self._config()).get_current_head()

    def drift(self, engine: Engine) -> list[Any]:
        """Differences between the database and the declared tables (empty when equal)."""
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "version_table": self.version_table,
                    "compare_type": True,
                    "include_name": self._owned,
                },
            )
            return list(compare_metadata(context, self.metadata))

    def _owned(self, name: str | None, type_: str, parent_names: Any) -> bool:
        # Compare only this history's tables; others in the same database are not drift.
        if type_ == "table":
            return name in self.metadata.tables
        return True


def run_env() -> None:
    """The body of every Orbit ``env.py``: migrate on the connection, version table and
    tables that ``Migrations`` passed in."""
    from alembic import context

    attributes = context.config.attributes
    connection = attributes["connection"]
    metadata = attributes["metadata"]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=attributes["version_table"],
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=lambda name, type_, _: type_ != "table" or name in metadata.tables,
    )
    with context.begin_transaction():
        context.run_migrations()


JOBS = Migrations(SCRIPT_LOCATION, VERSION_TABLE, jobs_metadata)
"""The engine's own migrations."""

upgrade = JOBS.upgrade
downgrade = JOBS.downgrade
current = JOBS.current
head = JOBS.head
drift = JOBS.drift
