"""Where an async handler's progress is written, and that it never blocks the event loop.

SQLite commits progress on the loop itself when its write lock is free at once (about
0.1 ms, cheaper than the hop to a thread); when a writer of this process or of another
holds the lock, or on PostgreSQL (a network round trip), the write runs in a thread and
the loop keeps running while it waits.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from orbit.jobs import Job, JobContext, JobSpec, SQLStore, WouldWait
from orbit.jobs.store.schema import jobs
from orbit.jobs.store.sqlite_writes import write_lock
from tests.conftest import async_wait_until
from tests.integration.loop_calls import another_process_writing, record_calls, ticking


def running_job(store: SQLStore) -> Job:
    store.enqueue(JobSpec("report"))
    (job,) = store.claim("w", None, 1, 30.0)
    return job


def stored_progress(store: SQLStore, job: Job) -> tuple[Any, Any]:
    read = store.get(job.id)  # a read never waits for a writer
    return read.progress_percent, read.version


def test_a_write_asked_not_to_wait_writes_at_once_or_not_at_all(store: SQLStore) -> None:
    job = running_job(store)
    if store.dialect.name == "postgresql":
        with pytest.raises(WouldWait):
            store.progress(job.lease, 10, "network", wait=False)
        assert stored_progress(store, job) == (None, job.version)
        return
    assert store.progress(job.lease, 10, "free", wait=False) == job.version + 1
    with write_lock(store.engine.url.database or ""), pytest.raises(WouldWait):
        store.progress(job.lease, 20, "taken", wait=False)
    # Every pooled connection in use: a checkout would wait for one, or open one.
    pool = store.engine.pool
    assert isinstance(pool, sa.pool.QueuePool)
    held = [store.engine.raw_connection() for _ in range(pool.checkedin())]
    try:
        assert pool.checkedin() == 0
        with pytest.raises(WouldWait):
            store.progress(job.lease, 30, "no idle connection", wait=False)
    finally:
        for conn in held:
            conn.close()
    assert stored_progress(store, job) == (10, job.version + 1)


async def test_progress_is_written_on_the_loop_only_where_it_cannot_wait(
    store: SQLStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = running_job(store)
    written = record_calls(monkeypatch, store.dialect, "write_progress")
    await JobContext(job, store).progress(50, "half")
    assert stored_progress(store, job) == (50, job.version + 1)
    where = [(c.on_loop, c.wait) for c in written]
    assert where == ([(True, False)] if store.dialect.name == "sqlite" else [(False, True)])


@contextlib.contextmanager
def another_writer(store: SQLStore, job: Job) -> Iterator[None]:
    """Another transaction holds what a progress write needs until the block ends:
    SQLite's write lock (as another process would) or, on PostgreSQL, the job's row."""
    if store.dialect.name == "sqlite":
        with another_process_writing(store.engine.url.database or ""):
            yield
        return
    with store.engine.connect() as conn:
        conn.execute(sa.select(jobs.c.id).where(jobs.c.id == job.id).with_for_update())
        yield
        conn.commit()


@contextlib.contextmanager
def this_process_writing(store: SQLStore, job: Job) -> Iterator[None]:
    """A writer of this process: on SQLite it holds the lock all of them queue on."""
    if store.dialect.name != "sqlite":
        with another_writer(store, job):  # PostgreSQL's writers share no lock
            yield
        return
    with write_lock(store.engine.url.database or ""):
        yield


@pytest.mark.parametrize("holder", ["another writer", "this process"])
async def test_a_progress_write_that_must_wait_leaves_the_loop_running(
    store: SQLStore, holder: str
) -> None:
    job = running_job(store)
    blocked = (
        another_writer(store, job)
        if holder == "another writer"
        else this_process_writing(store, job)
    )
    async with ticking() as ticks:
        with blocked:
            report = asyncio.create_task(JobContext(job, store).progress(70, "waited"))
            seen = ticks()
            await async_wait_until(lambda: ticks() > seen + 20, 10, what="the loop to keep ticking")
            assert not report.done()
            assert stored_progress(store, job) == (None, job.version)
        await asyncio.wait_for(report, 10)
    assert stored_progress(store, job) == (70, job.version + 1)
