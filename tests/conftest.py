"""Shared fixtures: a real SQLite file and a real PostgreSQL database per test run.

PostgreSQL is required, never skipped: each run creates its own database on the local
server (``ORBIT_TEST_PG`` overrides the server URL) and drops it at the end.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from orbit.jobs import SQLStore, open_store
from orbit.jobs.store.migrate import JOBS
from orbit.planning.migrate import PLANNING
from orbit.planning.schema import metadata as planning_metadata

PG_SERVER = os.environ.get("ORBIT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
DIALECTS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run."""
    name = f"orbit_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(PG_SERVER, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required for the test suite and is unreachable: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = sa.make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)
    yield url
    with psycopg.connect(PG_SERVER, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


HISTORIES = (JOBS, PLANNING)
# Every table the migrations create, emptied between PostgreSQL tests.
TABLES = ("job_events", "jobs", *(t.name for t in reversed(planning_metadata.sorted_tables)))


def migrate_all(url: str) -> None:
    """Run every migration history of Orbit on ``url``."""
    store = open_store(url)
    for history in HISTORIES:
        history.upgrade(store.engine)
    store.close()


@pytest.fixture(scope="session")
def _pg_migrated(pg_url: str) -> str:
    migrate_all(pg_url)
    return pg_url


@pytest.fixture(params=DIALECTS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database URL: a SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'orbit.db'}"
        migrate_all(url)
        yield url
        return
    url = request.getfixturevalue("_pg_migrated")
    store = open_store(url)
    with store.engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))
    store.close()
    yield url


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SQLStore]:
    """An open store on an empty, migrated SQLite file, for SQLite's own behaviour."""
    url = f"sqlite:///{tmp_path / 'orbit.db'}"
    migrate_all(url)
    opened = open_store(url)
    yield opened
    opened.close()


@pytest.fixture
def store(db_url: str) -> Iterator[SQLStore]:
    """An open store on an empty, migrated database (both dialects)."""
    opened = open_store(db_url)
    yield opened
    opened.close()


def wait_until(
    condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.01, what: str = ""
) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what or condition}")
        time.sleep(interval)


async def async_wait_until(
    condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.01, what: str = ""
) -> Any:
    """``wait_until`` for async tests: the condition is checked off the event loop."""
    deadline = time.monotonic() + timeout
    while True:
        value = await asyncio.to_thread(condition)
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what or condition}")
        await asyncio.sleep(interval)
