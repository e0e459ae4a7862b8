"""Alembic environment of the engine's tables (see ``migrate.run_env``)."""

from orbit.jobs.store.migrate import run_env

run_env()
