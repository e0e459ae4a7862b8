"""The worker writes a machine-readable ``error_code`` for each way a handler can end
badly: raised, signalled with a code, timed out, cancelled, handed back, bad result.
Both databases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from orbit.jobs import (
    BackoffPolicy,
    Fail,
    JobClient,
    JobContext,
    JobRegistry,
    JobStatus,
    Retry,
    SQLStore,
    SyncJobContext,
    Worker,
    WorkerConfig,
)
from tests.conftest import async_wait_until

S = JobStatus
FAST = BackoffPolicy(base=0.01, cap=0.05)


def make_registry() -> JobRegistry:
    registry = JobRegistry()

    @registry.job("raises", backoff=FAST)
    async def raises(ctx: JobContext) -> None:
        raise RuntimeError("boom")

    @registry.job("fails_with_code")
    async def fails_with_code(ctx: JobContext) -> None:
        raise Fail("the key was refused", code="ai_auth")

    @registry.job("retries_with_code", backoff=FAST)
    async def retries_with_code(ctx: JobContext) -> None:
        raise Retry(after=0.01, reason="HTTP 429", code="ai_rate_limited")

    @registry.job("fails_plainly")
    async def fails_plainly(ctx: JobContext) -> None:
        raise Fail("no answers yet")

    @registry.job("sync_takes_a_name")
    def sync_takes_a_name(ctx: SyncJobContext, name: str) -> str:
        return name

    @registry.job("sleeps", timeout_seconds=0.2)
    async def sleeps(ctx: JobContext) -> None:
        await ctx.progress(1, "sleeping")
        await asyncio.sleep(30)

    @registry.job("bad_result")
    async def bad_result(ctx: JobContext) -> object:
        return object()

    return registry


@pytest.fixture
async def worker(store: SQLStore) -> AsyncIterator[Worker]:
    config = WorkerConfig(concurrency=4, poll_seconds=0.2, cancel_poll_seconds=0.1)
    running = Worker(store, make_registry(), config)
    task = asyncio.create_task(running.run())
    await asyncio.wait_for(running.started.wait(), 5)
    yield running
    running.stop()
    await asyncio.wait_for(task, 10)


@pytest.fixture
def client(store: SQLStore) -> JobClient:
    return JobClient(store)


@pytest.mark.parametrize(
    ("job_type", "max_attempts", "error", "code"),
    [
        ("raises", 2, "boom", "handler_error"),
        ("fails_with_code", 3, "the key was refused", "ai_auth"),
        ("retries_with_code", 2, "HTTP 429", "ai_rate_limited"),
        ("fails_plainly", 3, "no answers yet", "handler_error"),
        ("sleeps", 1, "timed out after 0.2s", "timed_out"),
        ("bad_result", 1, None, "invalid_result"),
    ],
)
async def test_a_failed_job_says_why_in_a_code_beside_its_message(
    client: JobClient,
    worker: Worker,
    job_type: str,
    max_attempts: int,
    error: str | None,
    code: str,
) -> None:
    job = client.enqueue(job_type, max_attempts=max_attempts)
    done = await client.wait(job.id, timeout=10)
    assert done.status is S.FAILED
    assert done.error_code == code
    if error is not None:
        assert done.error == error
    final = client.events(job.id)[-1].payload
    assert (final["status"], final["error_code"]) == ("failed", code)


async def test_a_retried_attempt_records_its_code_on_the_pending_event(
    client: JobClient, worker: Worker
) -> None:
    job = client.enqueue("retries_with_code", max_attempts=2)
    await client.wait(job.id, timeout=10)
    requeued = [e.payload for e in client.events(job.id) if e.payload.get("status") == "pending"]
    assert requeued[-1]["error_code"] == "ai_rate_limited"


async def test_a_running_job_cancelled_by_request_ends_with_the_cancelled_code(
    client: JobClient, worker: Worker
) -> None:
    job = client.enqueue("sleeps", timeout_seconds=30)
    await async_wait_until(lambda: client.get(job.id).status is S.RUNNING, what="running")
    client.cancel(job.id)
    done = await client.wait(job.id, timeout=10)
    assert (done.status, done.error_code) == (S.CANCELLED, "cancelled")


async def test_a_job_handed_back_at_shutdown_is_pending_with_worker_stopped(
    store: SQLStore, client: JobClient
) -> None:
    config = WorkerConfig(concurrency=1, poll_seconds=0.2, shutdown_grace_seconds=0.05)
    running = Worker(store, make_registry(), config)
    task = asyncio.create_task(running.run())
    await asyncio.wait_for(running.started.wait(), 5)
    job = client.enqueue("sleeps", timeout_seconds=30)
    await async_wait_until(lambda: client.get(job.id).status is S.RUNNING, what="running")
    running.stop()
    await asyncio.wait_for(task, 10)
    back = client.get(job.id)
    assert (back.status, back.error_code) == (S.PENDING, "worker_stopped")


@pytest.mark.parametrize("job_type", ["fails_plainly", "sync_takes_a_name"])
async def test_input_that_does_not_fit_the_handler_fails_at_once_as_invalid_input(
    client: JobClient, worker: Worker, job_type: str
) -> None:
    job = client.enqueue(job_type, {"surname": "Lovelace"}, max_attempts=3)
    done = await client.wait(job.id, timeout=10)
    assert (done.status, done.error_code, done.attempts) == (S.FAILED, "invalid_input", 1)
    assert "does not fit the" in (done.error or "")
