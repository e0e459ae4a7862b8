"""SQLite checkpoints off the committing threads.

In WAL mode every commit appends pages to ``<file>-wal``; a checkpoint copies them into
the database file and syncs it. By default the commit that takes the WAL past 1,000
pages runs that checkpoint itself: with the jobs table's indexes about one enqueue in
50 did, taking 6–7 ms instead of 0.3 ms (the p99 of one-by-one enqueues), so one HTTP
request in 50 paid for everyone's.

Here a store's commits nudge a thread of its own that runs a ``PASSIVE`` checkpoint at
most every ``CHECKPOINT_SECONDS`` while commits come, on a connection of its own: it
never waits for readers or writers, and it holds no lock a writer needs. The pooled
connections keep SQLite's automatic checkpoint only as a backstop, at
``BACKSTOP_PAGES``, should no checkpointer run (a process that is stopped between its
commit and its checkpoint, or another program writing the file).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger("orbit.jobs.sqlite")

CHECKPOINT_SECONDS = 0.05
BACKSTOP_PAGES = 20_000  # ~80 MB of WAL: reached only when no checkpointer runs


class Checkpointer:
    """Checkpoints one database file after its store's commits (``nudge``), off-thread."""

    def __init__(self, path: str, every_seconds: float = CHECKPOINT_SECONDS) -> None:
        self.path = path
        self.every_seconds = every_seconds
        self.checkpoints = 0  # how many ran (the tests read it)
        self._nudged = threading.Event()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def nudge(self) -> None:
        """A commit happened (any thread; starts the checkpoint thread on first use)."""
        if self._thread is None:
            with self._lock:
                if self._thread is None and not self._closed.is_set():
                    self._thread = threading.Thread(
                        target=self._run, name="orbit-sqlite-checkpoint", daemon=True
                    )
                    self._thread.start()
        self._nudged.set()

    def close(self) -> None:
        """Stop the thread. What it did not checkpoint yet, the store's last connection
        checkpoints as it closes (SQLite does, in WAL mode), or another process's thread."""
        with self._lock:
            self._closed.set()
            thread = self._thread
        self._nudged.set()
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        uri = f"{Path(self.path).resolve().as_uri()}?mode=rw"  # never make a new file
        try:
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:
            log.warning("no checkpoints of %s off the commits: %s", self.path, exc)
            return
        try:
            while True:
                self._nudged.wait()
                self._nudged.clear()  # a commit from now on nudges again
                # Let the commits of the next moment gather into this checkpoint. Closing
                # sets _closed before its nudge, so this wait sees it whenever it came.
                if self._closed.wait(self.every_seconds):
                    return
                self._checkpoint(conn)
        finally:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:  # the file went away, or is locked for a moment
            log.debug("checkpoint of %s not done: %s", self.path, exc)
            return
        self.checkpoints += 1
