"""Schema migrations for the job engine, run programmatically (``orbit db upgrade``).

The engine keeps its own Alembic version table, ``orbit_jobs_version``, so a host
application's own Alembic history can live in the same database untouched.
"""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from orbit.jobs.store.schema import metadata

VERSION_TABLE = "orbit_jobs_version"
SCRIPT_LOCATION = "orbit.jobs.store:migrations"


def _config(connection: Any = None) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (default: the newest)."""
    with engine.begin() as conn:
        command.upgrade(_config(conn), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Take the schema down to ``revision`` (default: nothing)."""
    with engine.begin() as conn:
        command.downgrade(_config(conn), revision)


def current(engine: Engine) -> str | None:
    """The revision the database is at, or ``None`` when it was never migrated."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def head() -> str | None:
    """The newest revision shipped with this version of Orbit."""
    return ScriptDirectory.from_config(_config()).get_current_head()


def drift(engine: Engine) -> list[Any]:
    """Differences between the migrated database and the declared schema (empty when equal)."""
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"version_table": VERSION_TABLE, "compare_type": True}
        )
        return list(compare_metadata(context, metadata))
