"""Where the worker's claims and outcome writes run, and that a wait never blocks its loop.

On SQLite, with the write lock free at once and a pooled connection idle, the worker
claims and records outcomes on its own loop (a commit of about 0.1 ms, cheaper than the
hop to a thread and back); when a writer holds the lock, and always on PostgreSQL, the
write runs in a thread while the loop goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
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
)
from tests.conftest import async_wait_until
from tests.integration.loop_calls import another_process_writing, record_calls, ticking


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
    claims = record_calls(monkeypatch, store.dialect, "claim")
    outcomes = record_calls(monkeypatch, store.dialect, "record_outcomes")
    idle_connections(store, 4)
    client = JobClient(store)
    jobs = []
    async with running(store):
        for _ in range(5):  # one at a time: the worker idle in between, as after a pause
            jobs.append(client.enqueue("noop"))
            await async_wait_until(lambda: completed(client, jobs[-1].id), 10, what="a job")
    claimed = [c for c in claims if c.result]
    assert sorted(j.id for c in claimed for j in c.result) == sorted(j.id for j in jobs)
    assert all(c.result == set() for c in outcomes)  # every lease held: all written
    # A write on the loop never waits; one in a thread may. A writer of the worker's own
    # (its start-up reclaim, a heartbeat) can hold the lock now and then: that write
    # runs in a thread, the others on the loop.
    assert all(c.wait is not c.on_loop for c in claims + outcomes)
    on_loop = (any(c.on_loop for c in claimed), any(c.on_loop for c in outcomes))
    assert on_loop == ((True, True) if store.dialect.name == "sqlite" else (False, False))


async def test_a_claim_that_must_wait_for_the_lock_leaves_the_loop_running(
    sqlite_store: SQLStore,
) -> None:
    store = sqlite_store
    client = JobClient(store)
    job = client.enqueue("noop")
    idle_connections(store, 4)
    with contextlib.ExitStack() as holding:
        holding.enter_context(another_process_writing(store.engine.url.database or ""))
        async with ticking() as ticks, running(store):
            seen = ticks()
            await async_wait_until(lambda: ticks() > seen + 50, 10, what="the loop to tick")
            assert client.get(job.id).status is JobStatus.PENDING
            holding.close()  # the other process commits: the claim may go on
            await async_wait_until(lambda: completed(client, job.id), 10, what="the job")
