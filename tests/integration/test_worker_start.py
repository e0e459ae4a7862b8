"""A starting worker claims at once, before its change feed has connected, and still misses
nothing that was enqueued by another process before the feed went live (both databases)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from orbit.jobs import JobClient, JobContext, JobRegistry, JobStatus, SQLStore, Worker, WorkerConfig
from orbit.jobs.store import open_store
from orbit.jobs.store.feed import READY_TIMEOUT_SECONDS, ChangeFeed, FeedSource
from tests.conftest import async_wait_until

# Longer than any test here waits: a job is claimed by a claim, never by the poll.
POLL_SECONDS = 60.0


class GatedSource(FeedSource):
    """A source that connects only when the test says so (``opened``), or never."""

    def __init__(self) -> None:
        self.opened = asyncio.Event()

    async def run(self, feed: ChangeFeed) -> None:
        await self.opened.wait()
        feed.live()
        await asyncio.Event().wait()


@pytest.fixture
def registry() -> JobRegistry:
    registry = JobRegistry()

    @registry.job("noop")
    async def noop(ctx: JobContext) -> str:
        return "done"

    return registry


@pytest.fixture
async def start_worker(store: SQLStore, registry: JobRegistry) -> AsyncIterator[Any]:
    """Start a worker whose feed connects only when ``source.opened`` is set."""
    source = GatedSource()
    store.feed.source = source
    claims: list[int] = []
    claim = store.claim

    def counted_claim(*args: Any, **kwargs: Any) -> Any:
        claimed = claim(*args, **kwargs)
        claims.append(len(claimed))
        return claimed

    store.claim = counted_claim  # type: ignore[method-assign]
    worker = Worker(store, registry, WorkerConfig(poll_seconds=POLL_SECONDS))
    tasks: list[asyncio.Task[None]] = []

    async def start() -> tuple[GatedSource, list[int]]:
        tasks.append(asyncio.create_task(worker.run()))
        await asyncio.wait_for(worker.started.wait(), 5)
        return source, claims

    yield start
    worker.stop()
    for task in tasks:
        await asyncio.wait_for(task, 10)


async def completed(client: JobClient, job_id: Any, timeout: float) -> None:
    await async_wait_until(
        lambda: client.get(job_id).status is JobStatus.COMPLETED, timeout, what="completed"
    )


async def test_a_queued_job_is_claimed_before_the_feed_connects(
    store: SQLStore, start_worker: Any
) -> None:
    job = JobClient(store).enqueue("noop")  # before the worker listens: only a claim finds it
    await start_worker()  # the feed never connects
    await completed(JobClient(store), job.id, READY_TIMEOUT_SECONDS / 2)


async def test_a_job_enqueued_before_the_feed_is_live_is_claimed_when_it_is(
    store: SQLStore, db_url: str, start_worker: Any
) -> None:
    source, claims = await start_worker()
    await async_wait_until(lambda: claims, 5, what="the first claim")
    other = open_store(db_url)  # another process's store: its commits reach no feed here
    try:
        job = JobClient(other).enqueue("noop")
        source.opened.set()  # live() says RUNNABLE: the worker claims again
        await completed(JobClient(store), job.id, 5)
    finally:
        other.close()
