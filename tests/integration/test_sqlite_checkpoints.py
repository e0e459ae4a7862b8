"""SQLite checkpoints run on the store's own thread, not inside a commit.

The pooled connections leave SQLite's automatic checkpoint to a far backstop; each
store's commits nudge its ``Checkpointer`` (``store/sqlite_checkpoints.py``), which copies
the WAL into the database file on a connection of its own.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from orbit.jobs import JobSpec, SQLStore, open_store
from orbit.jobs.store.sqlite_checkpoints import BACKSTOP_PAGES, Checkpointer
from tests.conftest import migrate_all


@pytest.fixture
def store(tmp_path: Path) -> SQLStore:
    url = f"sqlite:///{tmp_path / 'orbit.db'}"
    migrate_all(url)
    return open_store(url)


def _checkpointer(store: SQLStore) -> Checkpointer:
    checkpointer = store.feed.source.checkpointer  # type: ignore[attr-defined]
    assert isinstance(checkpointer, Checkpointer)
    return checkpointer


def _jobs_in_the_file_alone(path: str, copy: Path) -> int | None:
    """The jobs a copy of the database file holds without its WAL: what checkpoints put
    there (None while the copy caught a page being written)."""
    copy.write_bytes(Path(path).read_bytes())
    conn = sqlite3.connect(copy)
    try:
        return int(conn.execute("SELECT count(*) FROM jobs").fetchone()[0])
    except sqlite3.DatabaseError:
        return None
    finally:
        conn.close()


def test_the_pooled_connections_leave_checkpoints_to_the_backstop(store: SQLStore) -> None:
    try:
        with store.engine.connect() as conn:
            pages = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
        assert pages == BACKSTOP_PAGES
    finally:
        store.close()


def test_commits_are_checkpointed_by_the_stores_thread(store: SQLStore, tmp_path: Path) -> None:
    checkpointer = _checkpointer(store)
    try:
        for i in range(300):  # ~10 WAL pages each, far below the backstop
            store.enqueue(JobSpec("noop", {"n": i}))
        # Every connection is still open (closing the last one would checkpoint too):
        # only the store's thread can have copied the last commit into the file.
        deadline = time.monotonic() + 10
        while _jobs_in_the_file_alone(checkpointer.path, tmp_path / "copy.db") != 300:
            assert time.monotonic() < deadline, "the last commits never reached the file"
            time.sleep(0.01)
        assert checkpointer.checkpoints >= 1
    finally:
        store.close()
    thread = checkpointer._thread
    assert thread is not None and not thread.is_alive(), "close stops the thread"


def test_a_store_that_never_commits_starts_no_thread(store: SQLStore) -> None:
    checkpointer = _checkpointer(store)
    store.close()
    assert checkpointer._thread is None


def test_a_missing_file_is_not_made_anew(tmp_path: Path) -> None:
    path = tmp_path / "gone.db"
    checkpointer = Checkpointer(str(path))
    checkpointer.nudge()
    checkpointer.close()
    assert not path.exists() and checkpointer.checkpoints == 0
