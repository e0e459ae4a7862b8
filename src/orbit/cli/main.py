"""The ``orbit`` command: the typer application and the console-script entry point."""

from __future__ import annotations

import logging
import sys

import typer

from orbit.cli import ai, db, demo, jobs, serve, worker, workers
from orbit.settings import LogSettings

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def build_app() -> typer.Typer:
    """The ``orbit`` command tree."""
    app = typer.Typer(
        name="orbit",
        help="Durable background jobs with live progress.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.command()(serve.serve)
    app.command()(worker.worker)
    app.add_typer(db.build(), name="db")
    app.add_typer(jobs.build(), name="jobs")
    app.add_typer(ai.build(), name="ai")
    app.command()(workers.workers)
    app.command()(demo.demo)
    return app


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
    build_app()(prog_name="orbit")


if __name__ == "__main__":
    main()
