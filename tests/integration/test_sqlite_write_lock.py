"""SQLite's in-process write lock (``store/sqlite_writes.py``) is never left held.

Every writer of a process queues on one lock per database file; a connection that kept
it would stop every other writer of the process for good.
"""

from __future__ import annotations

import pytest

from orbit.jobs import SQLStore, WouldWait
from orbit.jobs.store.sqlite_writes import QueuedWriteConnection, write_lock


@pytest.fixture
def store(sqlite_store: SQLStore) -> SQLStore:
    return sqlite_store


def _connection(store: SQLStore) -> QueuedWriteConnection:
    raw = store.engine.raw_connection().dbapi_connection
    assert isinstance(raw, QueuedWriteConnection)
    return raw


def test_a_connection_closed_inside_its_write_transaction_lets_the_lock_go(
    store: SQLStore,
) -> None:
    lock = write_lock(store.engine.url.database or "")
    conn = _connection(store)
    conn.begin_immediate()
    assert lock.locked()
    conn.close()  # as the pool does with a connection it invalidates
    assert not lock.locked()


def test_a_write_that_may_not_wait_takes_nothing_when_the_lock_is_held(
    store: SQLStore,
) -> None:
    lock = write_lock(store.engine.url.database or "")
    first, second = _connection(store), _connection(store)
    first.begin_immediate()
    with pytest.raises(WouldWait):
        second.begin_immediate(wait=False)
    first.rollback()
    assert not lock.locked()
    second.begin_immediate(wait=False)  # free now: taken at once
    assert lock.locked() and second.in_transaction
    second.rollback()
    assert not lock.locked()
    assert second.execute("PRAGMA busy_timeout").fetchone()[0] > 0  # restored after BEGIN
    first.close()
    second.close()
