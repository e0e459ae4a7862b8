"""Where the worker's claims and outcome writes run, and that a wait never blocks its loop.

On SQLite, with the write lock free at once and a pooled connection idle, the worker
claims and records outcomes on its own loop (a commit of about 0.1 ms, cheaper than the
hop to a thread and back); when a writer holds the lock, and always on PostgreSQL, the
write runs in a thread while the loop goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from orbit.jobs import (
    JobClient,
    JobContext,
    JobRegistry,
    JobStatus,
    SQLStore,
    Worker,
    WorkerConfig,
    open_store,
)
from tests.conftest import async_wait_until, migrate_all


def noop_registry() -> JobRegistry:
    registry = JobRegistry()

    @registry.job("noop")
    async def noop(ctx: JobContext, **_: object) -> None:
        return None

    return registry


@contextlib.asynccontextmanager
async def running(store: SQLStore) -> AsyncIterator[Worker]:
    worker = Worker(store, noop_registry(), WorkerConfig(concurrency=2, poll_seconds=0.2))
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(worker.started.wait(), 5)
        yield worker
    finally:
        worker.stop()
        await asyncio.wait_for(task, 10)


def idle_connections(store: SQLStore, n: int) -> None:
    """Leave ``n`` connections idle in the pool (a write may start on the loop)."""
    held = [store.engine.raw_connection() for _ in range(n)]
    for conn in held:
        conn.close()


def completed(client: JobClient, job_id: Any) -> bool:
    return client.get(job_id).status is JobStatus.COMPLETED


async def test_claims_and_outcomes_are_written_on_the_loop_only_where_they_cannot_wait(
    store: SQLStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop_thread = threading.get_ident()
    calls: list[tuple[str, Any, bool, bool]] = []  # (what, result, on the loop, wait)

    def recorded(name: str) -> None:
        write = getattr(store.dialect, name)

        def call(*args: Any) -> Any:
            result = write(*args)
            calls.append((name, result, threading.get_ident() == loop_thread, args[-1]))
            return result

        monkeypatch.setattr(store.dialect, name, call)

    recorded("claim")
    recorded("record_outcomes")
    idle_connections(store, 4)
    client = JobClient(store)
    jobs = []
    async with running(store):
        for _ in range(5):  # one at a time: the worker idle in between, as after a pause
            jobs.append(client.enqueue("noop"))
            await async_wait_until(lambda: completed(client, jobs[-1].id), 10, what="a job")
    claimed = [c for c in calls if c[0] == "claim" and c[1]]
    outcomes = [c for c in calls if c[0] == "record_outcomes"]
    assert sorted(j.id for c in claimed for j in c[1]) == sorted(j.id for j in jobs)
    assert all(c[1] == set() for c in outcomes)  # every lease held: every outcome written
    # A write on the loop never waits; one in a thread may. A writer of the worker's own
    # (its start-up reclaim, a heartbeat) can hold the lock now and then: that write
    # runs in a thread, the others on the loop.
    assert all(wait is not on_loop for _, _, on_loop, wait in calls)
    on_loop = [c[0] for c in claimed + outcomes if c[2]]
    if store.dialect.name == "sqlite":
        assert "claim" in on_loop and "record_outcomes" in on_loop
    else:
        assert on_loop == []


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SQLStore]:
    """SQLite alone: its write lock (PostgreSQL's claims never run on the loop)."""
    url = f"sqlite:///{tmp_path / 'orbit.db'}"
    migrate_all(url)
    opened = open_store(url)
    yield opened
    opened.close()


async def test_a_claim_that_must_wait_for_the_lock_leaves_the_loop_running(
    sqlite_store: SQLStore,
) -> None:
    store = sqlite_store
    client = JobClient(store)
    job = client.enqueue("noop")
    idle_connections(store, 4)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    ticker = asyncio.create_task(tick())
    other = sqlite3.connect(store.engine.url.database or "", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # as another process holding the write lock
        async with running(store):
            seen = ticks
            await async_wait_until(lambda: ticks > seen + 50, 10, what="the loop to tick")
            assert client.get(job.id).status is JobStatus.PENDING
            other.execute("COMMIT")
            await async_wait_until(lambda: completed(client, job.id), 10, what="the job")
    finally:
        ticker.cancel()
        other.close()
