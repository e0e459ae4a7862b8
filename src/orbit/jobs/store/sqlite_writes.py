"""SQLite write transactions that queue fairly and without coarse sleeps.

SQLite allows one writer at a time. Left to itself, a writer that finds the database
locked sleeps in SQLite's busy handler in steps of 1, 2, 5 ... up to 100 ms, so under
contention a 0.2 ms write can take tens of milliseconds. Instead:

* writers in one process queue on a lock per database file (a thread waiting for it
  wakes the moment the previous writer commits), and
* ``BEGIN IMMEDIATE`` against other processes is retried with short, growing pauses
  (50 µs up to 2 ms) until the busy deadline.

The lock is taken when a write transaction begins and released when the DBAPI
connection commits or rolls back.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from typing import Any

from orbit.jobs.errors import WouldWait

BUSY_DEADLINE_SECONDS = 30.0
BUSY_TIMEOUT_MS = 30_000  # what reads and schema changes wait for a lock
_FIRST_PAUSE = 0.00005
_MAX_PAUSE = 0.002

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def write_lock(path: str) -> threading.Lock:
    """The lock shared by every connection of this process to the file at ``path``."""
    key = os.path.realpath(path)
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


class QueuedWriteConnection(sqlite3.Connection):
    """A sqlite3 connection whose write transactions hold the file's in-process lock."""

    orbit_lock: threading.Lock | None = None
    _holding = False

    def begin_immediate(self, wait: bool = True) -> None:
        """Start a write transaction: queue in-process, then take SQLite's write lock.

        With ``wait=False`` only when both are free at once; else ``WouldWait``, nothing
        begun (a caller on an event loop that must not block).
        """
        assert self.orbit_lock is not None
        if not self.orbit_lock.acquire(blocking=wait):
            raise WouldWait("the write lock is taken in this process")
        self._holding = True
        try:
            # SQLite's own busy handler would sleep in coarse steps; switch it off while
            # we retry BEGIN IMMEDIATE ourselves, and back on for the statements after.
            self.execute("PRAGMA busy_timeout=0")
            try:
                if wait:
                    _retry_busy(lambda: self.execute("BEGIN IMMEDIATE"))
                else:
                    _begin_at_once(self)
            finally:
                self.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):  # begun, but the pragma failed
                sqlite3.Connection.rollback(self)
            self._release()
            raise

    @contextlib.contextmanager
    def immediate(self, wait: bool = True) -> Iterator[None]:
        """One write transaction: ``begin_immediate``, then commit, or roll back on error."""
        self.begin_immediate(wait)
        try:
            yield
        except BaseException:
            self.rollback()
            raise
        self.commit()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release()

    def close(self) -> None:
        # A connection closed inside its transaction (the pool invalidates one that lost
        # its file, say) must not keep the file's lock from every other writer.
        try:
            super().close()
        finally:
            self._release()

    def _release(self) -> None:
        if self._holding and self.orbit_lock is not None:
            self._holding = False
            self.orbit_lock.release()


def _begin_at_once(conn: sqlite3.Connection) -> None:
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if not _busy(exc):
            raise
        raise WouldWait("another process holds the write lock") from exc


def _busy(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


def _retry_busy(statement: Any) -> None:
    deadline = time.monotonic() + BUSY_DEADLINE_SECONDS
    pause = _FIRST_PAUSE
    while True:
        try:
            statement()
            return
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
            if time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, _MAX_PAUSE)
