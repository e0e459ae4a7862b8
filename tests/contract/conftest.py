"""Fixtures of the store contract suites: a manual clock and a store on each database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orbit.jobs import ManualClock, SQLStore, open_store


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def st(db_url: str, clock: ManualClock) -> Iterator[SQLStore]:
    """An open store on an empty, migrated database (SQLite file, then PostgreSQL)."""
    opened = open_store(db_url, clock=clock)
    yield opened
    opened.close()
