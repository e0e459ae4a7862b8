"""``orbit db``: migrate Orbit's tables (engine, then app) and check them for drift."""

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
from orbit.jobs.store.migrate import Migrations

Revision = Annotated[str, typer.Argument(help="Target revision (e.g. head, base, -1, 0001).")]


def _histories() -> tuple[Migrations, ...]:
    # Imported when a db command runs: the app's history pulls in the whole application,
    # which an engine-only ``orbit worker --app`` must not pay for.
    from orbit.runtime import HISTORIES

    return HISTORIES


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


def _history_name(history: Migrations) -> str:
    return history.version_table.removeprefix("orbit_").removesuffix("_version")


def upgrade(revision: Revision = "head", database_url: DatabaseUrl = None) -> None:
    """Bring every table of Orbit (engine, then app) up to REVISION (default: the newest)."""
    with _engine(database_url) as engine:
        for history in _histories():
            history.upgrade(engine, revision)
            say(f"{_history_name(history)}: at {history.current(engine) or 'no revision'}")


def downgrade(
    revision: Revision = "base",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Take every table down to REVISION (default: none at all). Dropped tables lose data."""
    if not yes:
        typer.confirm(f"Downgrade Orbit's tables to {revision!r}? Data may be lost", abort=True)
    with _engine(database_url) as engine:
        for history in reversed(_histories()):
            history.downgrade(engine, revision)
            say(f"{_history_name(history)}: at {history.current(engine) or 'no revision'}")


def current(json_output: JsonOutput = False, database_url: DatabaseUrl = None) -> None:
    """Print the revision of each migration history ('none' when never migrated)."""
    with _engine(database_url) as engine:
        state: dict[str, dict[str, Any]] = {
            _history_name(h): {"current": h.current(engine), "head": h.head()} for h in _histories()
        }
    for entry in state.values():
        entry["at_head"] = entry["current"] == entry["head"]
    if json_output:
        typer.echo(dumps(state))
        return
    for name, entry in state.items():
        typer.echo(f"{name} {entry['current'] or 'none'}")
        say(f"{name}: " + ("at head" if entry["at_head"] else f"not at head ({entry['head']})"))


def check(json_output: JsonOutput = False, database_url: DatabaseUrl = None) -> None:
    """Exit 1 and print the differences unless every table is at head and matches exactly."""
    with _engine(database_url) as engine:
        behind = [h for h in _histories() if h.current(engine) != h.head()]
        lines = [describe_diff(diff) for h in _histories() for diff in h.drift(engine)]
    ok = not behind and not lines
    if json_output:
        document = {"ok": ok, "behind": [_history_name(h) for h in behind], "drift": lines}
        typer.echo(dumps(document))
    else:
        for line in lines:
            typer.echo(line)
    if ok:
        say("database is at head and matches the declared schema")
        return
    for history in behind:
        say(f"{_history_name(history)} is not at head: run `orbit db upgrade`")
    if lines:
        say(f"{len(lines)} difference(s) from the declared schema")
    raise typer.Exit(EXIT_FAILURE)


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
