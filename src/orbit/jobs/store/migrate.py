"""Schema migrations, run programmatically (``orbit db upgrade``).

``Migrations`` drives one Alembic script directory with its own version table, so the
engine's history (``orbit_jobs_version``) and any application's (Orbit's planning tables
keep ``orbit_planning_version``) coexist in one database without touching each other —
or a host application's own Alembic table.

The module-level functions act on the engine's own tables. Alembic is imported only when
a migration runs: a process starting on a current schema (``orbit worker``'s
``--migrate``, the default) learns so from one query and the scripts' revision lines.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import re
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from orbit.jobs.store.schema import metadata as jobs_metadata

if TYPE_CHECKING:
    from alembic.config import Config

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
        from alembic.config import Config

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
        if revision == "head" and self._at_head(engine):
            return
        from alembic import command

        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            command.upgrade(self._config(conn), revision)

    def downgrade(self, engine: Engine, revision: str = "base") -> None:
        """Take the schema down to ``revision`` (default: nothing)."""
        from alembic import command

        with engine.begin() as conn:
            command.downgrade(self._config(conn), revision)

    def current(self, engine: Engine) -> str | None:
        """The revision the database is at, or ``None`` when never migrated."""
        from alembic.runtime.migration import MigrationContext

        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"version_table": self.version_table})
            return context.get_current_revision()

    def head(self) -> str | None:
        """The newest revision shipped."""
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(self._config()).get_current_head()

    def drift(self, engine: Engine) -> list[Any]:
        """Differences between the database and the declared tables (empty when equal)."""
        from alembic.autogenerate import compare_metadata
        from alembic.runtime.migration import MigrationContext

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

    def _at_head(self, engine: Engine) -> bool:
        """Whether the database is at the one head the scripts declare (False when unsure)."""
        head = self._declared_head
        if head is None:
            return False
        try:
            versions = sa.table(self.version_table, sa.column("version_num"))
            with engine.connect() as conn:
                rows: list[str] = list(conn.execute(sa.select(versions.c.version_num)).scalars())
        except sa.exc.DBAPIError:  # never migrated: no version table yet
            return False
        return rows == [head]

    @functools.cached_property
    def _declared_head(self) -> str | None:
        """The head revision read from the scripts' ``revision``/``down_revision`` lines;
        ``None`` (let Alembic decide) for anything but one plain linear history."""
        package, _, path = self.script_location.partition(":")
        revisions: dict[str, str | None] = {}
        try:
            versions = importlib.resources.files(package).joinpath(path, "versions")
            for script in versions.iterdir():
                if not script.name.endswith(".py") or script.name.startswith("_"):
                    continue
                fields = dict(_REVISION_LINE.findall(script.read_text()))
                if set(fields) != {"revision", "down_revision", "branch_labels", "depends_on"}:
                    return None
                if fields["branch_labels"] != "None" or fields["depends_on"] != "None":
                    return None
                down = fields["down_revision"]
                revisions[fields["revision"].strip("\"'")] = (
                    None if down == "None" else down.strip("\"'")
                )
        except (OSError, ModuleNotFoundError):
            return None
        heads = set(revisions) - set(revisions.values())
        return heads.pop() if len(heads) == 1 else None

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


_REVISION_LINE = re.compile(
    r"^(revision|down_revision|branch_labels|depends_on)\b[^=\n]*=\s*(None|\"[^\"]+\"|'[^']+')\s*$",
    re.MULTILINE,
)

JOBS = Migrations(SCRIPT_LOCATION, VERSION_TABLE, jobs_metadata)
"""The engine's own migrations."""

upgrade = JOBS.upgrade
downgrade = JOBS.downgrade
current = JOBS.current
head = JOBS.head
drift = JOBS.drift
