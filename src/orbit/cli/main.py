"""The ``orbit`` command: the typer application and the console-script entry point.

Each command's module is imported only when that command runs (or for the help of the
whole tree): ``orbit worker`` never loads the web server, the AI client or the demo.
"""

from __future__ import annotations

import importlib
import logging
import sys

import typer

from orbit.settings import LogSettings

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

COMMANDS = {  # name -> (module under orbit.cli, attribute, a group built by that function)
    "serve": ("serve", "serve", False),
    "worker": ("worker", "worker", False),
    "db": ("db", "build", True),
    "jobs": ("jobs", "build", True),
    "ai": ("ai", "build", True),
    "workers": ("workers", "workers", False),
    "demo": ("demo", "demo", False),
}


def build_app(only: str | None = None) -> typer.Typer:
    """The ``orbit`` command tree; with ``only``, just that command (the rest unloaded)."""
    app = typer.Typer(
        name="orbit",
        help="Durable background jobs with live progress.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    # A callback keeps the tree a group even with one command: `orbit worker` still
    # names its command.
    app.callback()(_root)
    for name, (module, attribute, group) in COMMANDS.items():
        if only is not None and name != only:
            continue
        target = getattr(importlib.import_module(f"orbit.cli.{module}"), attribute)
        if group:
            app.add_typer(target(), name=name)
        else:
            app.command(name=name)(target)
    return app


def _root() -> None:
    """Durable background jobs with live progress."""


def command_named(argv: list[str]) -> str | None:
    """The command ``argv`` runs when it is one of ours (``None``: load the whole tree)."""
    first = next((a for a in argv if not a.startswith("-")), None)
    return first if first in COMMANDS else None


def configure_logging() -> None:
    """Log to stderr with time, level, logger and message; level from ``ORBIT_LOG_LEVEL``.

    The level comes through pydantic-settings, so a ``.env`` file sets it too.
    """
    name = LogSettings().log_level.strip().upper()
    level = logging.getLevelNamesMapping().get(name)
    logging.basicConfig(level=level or logging.INFO, format=LOG_FORMAT, stream=sys.stderr)
    # Alembic narrates every migration step at INFO; its outcome is reported by the CLI.
    logging.getLogger("alembic").setLevel(max(level or logging.INFO, logging.WARNING))
    # httpx logs every request at INFO (the demo and `jobs watch` make many).
    logging.getLogger("httpx").setLevel(max(level or logging.INFO, logging.WARNING))
    if level is None:
        logging.getLogger("orbit.cli").warning("unknown ORBIT_LOG_LEVEL %r; using INFO", name)


def main() -> None:
    """Entry point of the ``orbit`` console script."""
    configure_logging()
    build_app(command_named(sys.argv[1:]))(prog_name="orbit")


if __name__ == "__main__":
    main()
