"""``orbit db``: migrate the job tables and check them against the declared schema."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated, Any

import typer
from sqlalchemy.engine import Engine

from orbit.cli.common import (
    EXIT_FAILURE,
    DatabaseUrl,
    JsonOutput,
    build_settings,
    engine_errors,
    open_checked_store,
    say,
)
from orbit.cli.render import dumps
from orbit.jobs import migrate
from orbit.jobs.store.schema import metadata

Revision = Annotated[str, typer.Argument(help="Target revision (e.g. head, base, -1, 0001).")]


def build() -> typer.Typer:
    """The ``db`` command group."""
    app = typer.Typer(help="Migrate and check the database schema.", no_args_is_help=True)
    app.command()(upgrade)
    app.command()(downgrade)
    app.command()(current)
    app.command()(check)
    return app


@contextlib.contextmanager
def _engine(database_url: str | None) -> Iterator[Engine]:
    settings = build_settings(database_url=database_url)
    with engine_errors():
        store = open_checked_store(settings)
        try:
            yield store.engine
        finally:
            store.close()


def upgrade(revision: Revision = "head", database_url: DatabaseUrl = None) -> None:
    """Bring the schema up to REVISION (default: the newest)."""
    with _engine(database_url) as engine:
        migrate.upgrade(engine, revision)
        say(f"database is at {migrate.current(engine) or 'no revision'}")


def downgrade(
    revision: Revision = "-1",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Take the schema down to REVISION (default: one step). Dropped tables lose their jobs."""
    if not yes:
        typer.confirm(f"Downgrade the job tables to {revision!r}? Jobs may be lost", abort=True)
    with _engine(database_url) as engine:
        migrate.downgrade(engine, revision)
        say(f"database is at {migrate.current(engine) or 'no revision'}")


def current(json_output: JsonOutput = False, database_url: DatabaseUrl = None) -> None:
    """Print the revision the database is at ('none' when never migrated)."""
    with _engine(database_url) as engine:
        revision, head = migrate.current(engine), migrate.head()
    if json_output:
        typer.echo(dumps({"current": revision, "head": head, "at_head": revision == head}))
        return
    typer.echo(revision or "none")
    say("at head" if revision == head else f"not at head ({head})")


def check(json_output: JsonOutput = False, database_url: DatabaseUrl = None) -> None:
    """Exit 1 and print the differences unless the schema is at head and matches exactly."""
    with _engine(database_url) as engine:
        revision, head, diffs = migrate.current(engine), migrate.head(), own_drift(engine)
    lines = [describe_diff(diff) for diff in diffs]
    ok = revision == head and not lines
    if json_output:
        document = {"ok": ok, "current": revision, "head": head, "drift": lines}
        typer.echo(dumps(document))
    else:
        for line in lines:
            typer.echo(line)
    if ok:
        say(f"database is at head ({head}) and matches the declared schema")
        return
    if revision != head:
        say(f"database is at {revision or 'no revision'}, head is {head}: run `orbit db upgrade`")
    if lines:
        say(f"{len(lines)} difference(s) from the declared schema")
    raise typer.Exit(EXIT_FAILURE)


def own_drift(engine: Engine) -> list[Any]:
    """``migrate.drift`` restricted to the engine's tables (other tables may share the DB)."""
    return [diff for diff in migrate.drift(engine) if _concerns_own_tables(diff)]


def _concerns_own_tables(diff: Any) -> bool:
    if isinstance(diff, list):
        return any(_concerns_own_tables(part) for part in diff)
    table = _table_name(diff)
    return table is None or table in metadata.tables


def _table_name(diff: tuple[Any, ...]) -> str | None:
    op, *args = diff
    if op.startswith("modify_") or op in ("add_column", "remove_column"):
        return str(args[1])
    target = args[-1]
    table = getattr(target, "table", None)
    if table is None and op.endswith("_fk"):
        table = getattr(target, "parent", None)
    if table is not None:
        return str(table.name)
    return str(target.name) if op.endswith("_table") else None


def describe_diff(diff: Any) -> str:
    """One line for one Alembic difference."""
    if isinstance(diff, list):
        return "; ".join(describe_diff(part) for part in diff)
    op, *args = diff
    if op.startswith("modify_"):
        _schema, table, column, _existing, old, new = args
        return f"{op} {table}.{column}: {old!r} -> {new!r}"
    if op in ("add_column", "remove_column"):
        return f"{op} {args[1]}.{args[2].name}"
    target = args[-1]
    name = getattr(target, "name", None) or repr(target)
    table = _table_name(diff)
    return f"{op} {name}" if table in (None, name) else f"{op} {table}.{name}"
