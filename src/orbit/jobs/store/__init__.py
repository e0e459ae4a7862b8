"""Persistence for jobs: ``open_store(url)`` picks the dialect from the URL.

Plain URLs work as users already write them: ``sqlite:///path/orbit.db`` and
``postgresql://user:pass@host:5432/db``; the driver is chosen here.
"""

from __future__ import annotations

import sqlalchemy as sa

from orbit.jobs.clock import Clock
from orbit.jobs.errors import ConfigurationError
from orbit.jobs.store.dialect import Dialect, read_only
from orbit.jobs.store.lone_reads import first_row
from orbit.jobs.store.reclaim import ReclaimReport
from orbit.jobs.store.sql import SQLStore

__all__ = [
    "Dialect",
    "ReclaimReport",
    "SQLStore",
    "first_row",
    "open_store",
    "parse_url",
    "read_only",
]


def parse_url(url: str) -> sa.URL:
    """Parse a database URL; raises ``ConfigurationError`` for unsupported ones."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ConfigurationError(f"invalid database URL {url!r}") from exc
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigurationError(f"unsupported database {parsed.get_backend_name()!r}")
    return parsed


def open_store(url: str, clock: Clock | None = None) -> SQLStore:
    """Open the job store at ``url`` (no schema changes; run the migrations for that)."""
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        from orbit.jobs.store.sqlite import SQLiteDialect, create_sqlite_engine

        return SQLStore(create_sqlite_engine(parsed), SQLiteDialect(), clock)
    from orbit.jobs.store.postgres import PostgresDialect, create_postgres_engine

    return SQLStore(create_postgres_engine(parsed), PostgresDialect(), clock)
