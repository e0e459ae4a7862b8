"""SQLite's wake-ups: another process's commit reaches a watcher at once, not at its poll.

Each watcher of a SQLite file binds a datagram socket in the file's wake-up directory
(``store/sqlite_wakeups.py``); a store that commits sends each of the others one
datagram. These tests set the watcher's poll to 30 s, so only a wake-up can be in time.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from orbit.jobs import JobSpec, JobStatus, SQLStore, open_store
from orbit.jobs.store.feed import ChangeKind
from orbit.jobs.store.sqlite import OWN_CHANGES_SECONDS
from orbit.jobs.store.sqlite_wakeups import Announcer, Listener, make_private, wakeup_directory
from tests.conftest import migrate_all

ENQUEUE = """
import sys
from orbit.jobs import JobSpec, open_store
store = open_store(sys.argv[1])
print(store.enqueue(JobSpec("woken")).id)
store.close()
"""


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'orbit.db'}"
    migrate_all(url)
    return url


@pytest.fixture
async def watcher(url: str) -> AsyncIterator[SQLStore]:
    """A store whose feed polls every 30 s: what reaches it in time was a wake-up."""
    store = open_store(url)
    store.feed.source.poll_seconds = 30  # type: ignore[attr-defined]
    yield store
    await store.feed.close()
    store.close()


def _sockets(url: str) -> list[str]:
    directory = wakeup_directory(url.removeprefix("sqlite:///"))
    assert directory is not None
    return sorted(os.listdir(directory))


async def test_another_processs_enqueue_wakes_the_watcher_at_once(
    url: str, watcher: SQLStore
) -> None:
    runnable = watcher.feed.signal({ChangeKind.RUNNABLE})
    await watcher.feed.ensure_started()
    await runnable.wait(0)  # whatever the start itself published
    command = [sys.executable, "-c", ENQUEUE, url]
    done = await asyncio.to_thread(
        subprocess.run, command, check=False, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert await runnable.wait(10), "no wake-up within 10 s (the poll was 30 s)"
    job = watcher.get(uuid.UUID(done.stdout.strip()))
    assert job.status is JobStatus.PENDING


async def test_every_other_watcher_is_woken_and_the_last_one_tidies_up(url: str) -> None:
    stores = [open_store(url) for _ in range(3)]
    writer = open_store(url)
    try:
        signals = []
        for store in stores:
            store.feed.source.poll_seconds = 30  # type: ignore[attr-defined]
            signals.append(store.feed.signal({ChangeKind.RUNNABLE}))
            await store.feed.ensure_started()
        assert len(_sockets(url)) == 3
        directory = wakeup_directory(url.removeprefix("sqlite:///"))
        assert directory is not None
        for signal in signals:
            await signal.wait(0)
        writer.enqueue(JobSpec("woken"))
        for signal in signals:
            assert await signal.wait(10)
    finally:
        for store in stores:
            await store.feed.close()
            store.close()
        writer.close()
    assert not directory.exists(), "the last watcher leaves no socket and no directory"


def test_a_socket_left_by_a_dead_process_is_removed(url: str) -> None:
    directory = wakeup_directory(url.removeprefix("sqlite:///"))
    assert directory is not None and make_private(directory)
    dead = directory / "999999-gone.sock"
    left = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    left.bind(str(dead))
    left.close()  # as a killed process leaves it: the file stays, nobody reads it
    assert dead.exists()
    Announcer(directory).announce()
    assert not dead.exists() and not directory.exists(), "the dead socket, then its directory"


def test_a_store_that_only_writes_leaves_nothing_behind(url: str) -> None:
    store = open_store(url)
    try:
        store.enqueue(JobSpec("woken"))  # announces, to nobody
    finally:
        store.close()
    directory = wakeup_directory(url.removeprefix("sqlite:///"))
    assert directory is not None and not directory.exists()


def test_a_directory_others_can_enter_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    directory = wakeup_directory(str(tmp_path / "orbit.db"))
    assert directory is not None
    shared = directory.parent
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    assert not make_private(directory) and not directory.exists()
    with pytest.raises(PermissionError):
        Listener(directory)
    shared.chmod(0o700)
    assert make_private(directory) and directory.exists()


async def test_a_stores_own_progress_does_not_wake_its_claim_loop_at_every_poll(
    url: str,
) -> None:
    # A job reporting progress commits every few ms; before, each commit changed
    # data_version and the next 5 ms poll published RUNNABLE to the worker's claim loop.
    store = open_store(url)
    runnable: list[float] = []
    try:
        store.feed.subscribe(
            {ChangeKind.RUNNABLE},
            lambda changes: runnable.extend(
                time.monotonic() for c in changes if c.kind is ChangeKind.RUNNABLE
            ),
        )
        await store.feed.ensure_started()
        job = store.enqueue(JobSpec("woken"))
        (claimed,) = store.claim("w", None, 1, 300, job_ids=[job.id])
        runnable.clear()
        started = time.monotonic()
        for i in range(100):
            await asyncio.to_thread(store.progress, claimed.lease, i, "step")
            await asyncio.sleep(store.feed.source.poll_seconds)  # type: ignore[attr-defined]
        elapsed = time.monotonic() - started
        allowed = elapsed / OWN_CHANGES_SECONDS + 3
        assert len(runnable) <= allowed, f"{len(runnable)} wake-ups in {elapsed:.2f} s"

        # A writer that does not announce (a plain sqlite3 connection) is still seen
        # while the store's own commits go on.
        foreign = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        foreign.execute("UPDATE jobs SET priority = 1 WHERE id = ?", (job.id.hex,))
        foreign.close()
        seen = time.monotonic()
        runnable.clear()
        deadline = seen + 5
        while not runnable and time.monotonic() < deadline:
            await asyncio.to_thread(store.progress, claimed.lease, 1, "more")
            await asyncio.sleep(0.005)
        assert runnable, "a foreign commit was never published as RUNNABLE"
    finally:
        await store.feed.close()
        store.close()
