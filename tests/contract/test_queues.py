"""Named queues: a claim takes only the queues asked for, by priority within them; a
worker serves its configured queues. Both databases."""

from __future__ import annotations

import asyncio

from orbit.jobs import JobClient, JobRegistry, JobSpec, JobStatus, SQLStore, Worker, WorkerConfig


def test_a_claim_takes_only_its_queues_in_priority_order(store: SQLStore) -> None:
    client = JobClient(store)
    low = client.enqueue("a", queue="emails", priority=5)
    high = client.enqueue("a", queue="emails", priority=-1)
    other = client.enqueue("a", queue="reports", priority=-9)
    default = client.enqueue("a")
    assert default.queue == "default" and client.get(other.id).queue == "reports"
    first = store.claim("w", None, 1, 300, queues=["emails"])
    assert [j.id for j in first] == [high.id], "lowest priority value within the queue first"
    rest = store.claim("w", None, 10, 300, queues=["emails", "default"])
    assert sorted(j.id for j in rest) == sorted([low.id, default.id])
    assert client.get(other.id).status is JobStatus.PENDING
    assert [j.id for j in store.claim("w", None, 10, 300)] == [other.id], "None: every queue"


def test_bulk_enqueue_keeps_each_jobs_queue(store: SQLStore) -> None:
    client = JobClient(store)
    ids = client.enqueue_many([JobSpec("a", queue="q1"), JobSpec("a")])
    assert [client.get(i).queue for i in ids] == ["q1", "default"]


async def test_a_worker_serves_only_its_queues(store: SQLStore) -> None:
    registry = JobRegistry()

    @registry.job("echo")
    async def echo(ctx: object) -> str:
        return "ok"

    client = JobClient(store, registry)
    served = echo.options(queue="fast").enqueue(client)
    ignored = echo.options(queue="slow").enqueue(client)
    worker = Worker(store, registry, WorkerConfig(queues=("fast",), poll_seconds=0.05))
    running = asyncio.create_task(worker.run())
    try:
        done = await client.wait(served.id, timeout=30)
        assert done.status is JobStatus.COMPLETED
        assert client.get(ignored.id).status is JobStatus.PENDING
    finally:
        worker.stop()
        await asyncio.wait_for(running, 30)
        await store.feed.close()
