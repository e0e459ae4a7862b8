"""Pieces every command shares: option types, settings, consoles and error handling."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import sqlalchemy as sa
import typer
from pydantic import ValidationError

from orbit.jobs import (
    ConfigurationError,
    InvalidTransition,
    JobClient,
    JobNotFound,
    LeaseLost,
    SQLStore,
    UnknownJobType,
    open_store,
)
from orbit.settings import Settings

if TYPE_CHECKING:  # rich is loaded by the commands that print, not by `orbit worker`
    from rich.console import Console

EXIT_FAILURE = 1
EXIT_USAGE = 2
PIPED_WIDTH = 200

_MISSING_SCHEMA = ("no such table", "does not exist", "undefinedtable")


class CliSettings(Settings):
    """``Settings`` plus what only the command line uses."""

    jobs_module: str | None = None


DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="ORBIT_DATABASE_URL",
        help="sqlite:///path/orbit.db or postgresql://user:pass@host:5432/db",
        show_default=False,
    ),
]
JsonOutput = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


def stdout() -> Console:
    """A console on stdout, for data; piped output is not cut to 80 columns."""
    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = PIPED_WIDTH
    return console


def stderr() -> Console:
    """A console on stderr, for status lines and live displays."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def say(message: str) -> None:
    """Print a status line to stderr."""
    stderr().print(message, markup=False, soft_wrap=True)


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    """Print ``error: message`` to stderr and exit with ``code``."""
    say(f"error: {message}")
    raise typer.Exit(code)


def build_settings(**given: Any) -> CliSettings:
    """Settings from the environment, overridden by the options actually given."""
    overrides = {name: value for name, value in given.items() if value is not None}
    try:
        return CliSettings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        fail(f"invalid setting {where}: {first['msg']}", EXIT_USAGE)


def open_checked_store(settings: Settings) -> SQLStore:
    """Open the store at ``settings.database_url``; bad URLs become ``ConfigurationError``."""
    try:
        return open_store(settings.database_url)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from exc


@contextlib.contextmanager
def opened_client(settings: Settings) -> Iterator[JobClient]:
    """A ``JobClient`` on the configured database, closed afterwards."""
    store = open_checked_store(settings)
    try:
        yield JobClient(store)
    finally:
        store.close()


def _database_message(exc: sa.exc.SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()[0] if str(original).strip() else type(exc).__name__
    if any(marker in str(original).lower() for marker in _MISSING_SCHEMA):
        text += " (is the database migrated? run `orbit db upgrade`)"
    return f"database error: {text}"


@contextlib.contextmanager
def engine_errors() -> Iterator[None]:
    """Turn the engine's and the database's errors into one stderr line and an exit code."""
    try:
        yield
    except (JobNotFound, InvalidTransition, LeaseLost, UnknownJobType) as exc:
        fail(str(exc))
    except ConfigurationError as exc:
        fail(str(exc), EXIT_USAGE)
    except sa.exc.SQLAlchemyError as exc:
        fail(_database_message(exc))
