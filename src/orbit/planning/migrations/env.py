"""Alembic environment of the app's tables (see ``orbit.jobs.store.migrate.run_env``)."""

from orbit.jobs.store.migrate import run_env

run_env()
