"""The worker on both databases: handlers, progress, retries, timeouts, cancel, shutdown."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from orbit.jobs import (
    BackoffPolicy,
    Fail,
    JobClient,
    JobContext,
    JobRegistry,
    JobSpec,
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


HANDLERS: list[tuple[str, Callable[..., Any], dict[str, Any]]] = []


def _handler(name: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Collect a test handler; each test gets a fresh registry of all of them."""

    def keep(fn: Callable[..., Any]) -> Callable[..., Any]:
        HANDLERS.append((name, fn, options))
        return fn

    return keep


@_handler("steps")
async def steps(ctx: JobContext, n: int) -> dict[str, Any]:
    for i in range(1, n + 1):
        await ctx.progress(100 * i / n, f"Step {i}/{n}")
    return {"success": True, "steps": n}


@_handler("sync_steps")
def sync_steps(ctx: SyncJobContext, n: int) -> dict[str, Any]:
    for i in range(1, n + 1):
        ctx.progress(100 * i / n, f"Step {i}/{n}")
    return {"thread": threading.current_thread().name}


@_handler("flaky", backoff=FAST)
async def flaky(ctx: JobContext, fail_times: int) -> int:
    if ctx.attempt <= fail_times:
        raise RuntimeError(f"AI API call failed: attempt {ctx.attempt}")
    return ctx.attempt


@_handler("asks_retry", backoff=FAST)
async def asks_retry(ctx: JobContext) -> str:
    if ctx.attempt == 1:
        raise Retry(after=0.05, reason="rate limited")
    return "ok"


@_handler("gives_up")
async def gives_up(ctx: JobContext) -> None:
    raise Fail("interview has no answers")


@_handler("sleeper", timeout_seconds=0.3, backoff=FAST)
async def sleeper(ctx: JobContext) -> None:
    await asyncio.sleep(30)


@_handler("async_wait")
async def async_wait(ctx: JobContext) -> str:
    await ctx.progress(1, "waiting")
    await asyncio.sleep(60)
    return "never"


@_handler("sync_wait")
def sync_wait(ctx: SyncJobContext) -> str:
    ctx.progress(1, "waiting")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ctx.raise_if_cancelled()
        time.sleep(0.01)
    return "never"


@_handler("blocking")
async def blocking(ctx: JobContext, seconds: float) -> str:
    time.sleep(seconds)  # blocks the loop on purpose: heartbeats must not starve
    return "survived"


@_handler("bad_result")
async def bad_result(ctx: JobContext) -> object:
    return object()


@_handler("slow_ok")
async def slow_ok(ctx: JobContext, seconds: float) -> str:
    await ctx.progress(10, "started")
    await asyncio.sleep(seconds)
    return "finished"


def make_registry() -> JobRegistry:
    registry = JobRegistry()
    for name, fn, options in HANDLERS:
        registry.job(name, **options)(fn)
    return registry


@pytest.fixture
def registry() -> JobRegistry:
    return make_registry()


@pytest.fixture
def client(store: SQLStore) -> JobClient:
    return JobClient(store)


@pytest.fixture
async def run_worker(store: SQLStore, registry: JobRegistry) -> AsyncIterator[Callable[..., Any]]:
    started: list[tuple[Worker, asyncio.Task[None]]] = []

    async def start(**config: Any) -> Worker:
        defaults = {"concurrency": 4, "poll_seconds": 0.2, "cancel_poll_seconds": 0.1}
        worker = Worker(store, registry, WorkerConfig(**{**defaults, **config}))
        task = asyncio.create_task(worker.run())
        started.append((worker, task))
        await asyncio.wait_for(worker.started.wait(), 5)
        return worker

    yield start
    for worker, task in started:
        worker.stop()
        await asyncio.wait_for(task, 10)


async def finished(client: JobClient, job_id: uuid.UUID, timeout: float = 10.0) -> Any:
    return await async_wait_until(
        lambda: (job := client.get(job_id)).finished and job,
        timeout,
        what=f"job {job_id} to finish",
    )


async def test_async_handler_reports_progress_in_order(client: JobClient, run_worker: Any) -> None:
    await run_worker()
    job = client.enqueue("steps", {"n": 4})
    done = await finished(client, job.id)
    assert done.status is S.COMPLETED and done.result == {"success": True, "steps": 4}
    progress = [e.payload for e in client.events(job.id) if e.kind == "progress"]
    assert [p["percent"] for p in progress] == [25.0, 50.0, 75.0, 100.0]
    assert progress[1]["message"] == "Step 2/4"
    statuses = [e.payload["status"] for e in client.events(job.id) if e.kind == "status"]
    assert statuses == ["pending", "running", "completed"]
    assert done.started_at is not None and done.completed_at >= done.started_at


async def test_sync_handler_runs_in_a_worker_thread(client: JobClient, run_worker: Any) -> None:
    await run_worker()
    job = client.enqueue("sync_steps", {"n": 2})
    done = await finished(client, job.id)
    assert done.status is S.COMPLETED and done.result["thread"].startswith("orbit-job")
    assert done.progress_message == "Step 2/2"


async def test_failures_retry_with_backoff_until_success(
    client: JobClient, run_worker: Any
) -> None:
    await run_worker()
    job = client.enqueue("flaky", {"fail_times": 2}, max_attempts=3)
    done = await finished(client, job.id)
    assert done.status is S.COMPLETED and done.result == 3 and done.attempts == 3
    errors = [
        e.payload.get("error")
        for e in client.events(job.id)
        if e.payload.get("status") == "pending"
    ]
    assert errors[1:] == ["AI API call failed: attempt 1", "AI API call failed: attempt 2"]


async def test_exhausted_retries_fail_with_the_last_error(
    client: JobClient, run_worker: Any
) -> None:
    await run_worker()
    job = client.enqueue("flaky", {"fail_times": 5}, max_attempts=2)
    done = await finished(client, job.id)
    assert done.status is S.FAILED and done.attempts == 2
    assert done.error == "AI API call failed: attempt 2"


async def test_retry_and_fail_signals(client: JobClient, run_worker: Any) -> None:
    await run_worker()
    retried = client.enqueue("asks_retry")
    failed = client.enqueue("gives_up", max_attempts=5)
    assert (await finished(client, retried.id)).attempts == 2
    gave_up = await finished(client, failed.id)
    assert gave_up.status is S.FAILED and gave_up.attempts == 1
    assert gave_up.error == "interview has no answers"


async def test_timeout_fails_the_attempt(client: JobClient, run_worker: Any) -> None:
    await run_worker()
    job = client.enqueue("sleeper", max_attempts=2)
    done = await finished(client, job.id)
    assert done.status is S.FAILED and done.attempts == 2
    assert done.error == "timed out after 0.3s"


async def test_per_job_timeout_overrides_the_type_default(
    client: JobClient, run_worker: Any
) -> None:
    await run_worker()
    job = client.enqueue("slow_ok", {"seconds": 5}, timeout_seconds=0.2, max_attempts=1)
    done = await finished(client, job.id)
    assert done.status is S.FAILED and done.error == "timed out after 0.2s"


@pytest.mark.parametrize("job_type", ["async_wait", "sync_wait"])
async def test_cancel_reaches_a_running_handler_within_a_second(
    client: JobClient, run_worker: Any, job_type: str
) -> None:
    await run_worker(cancel_poll_seconds=0.5)
    job = client.enqueue(job_type)
    await async_wait_until(lambda: client.get(job.id).progress_percent == 1, what="handler start")
    asked = time.monotonic()
    client.cancel(job.id)
    done = await finished(client, job.id, timeout=5)
    elapsed = time.monotonic() - asked
    assert done.status is S.CANCELLED
    assert elapsed < 1.0, f"cancel took {elapsed:.2f}s"


async def test_heartbeats_keep_a_loop_blocking_handler_alive(
    client: JobClient, run_worker: Any
) -> None:
    await run_worker(lease_seconds=0.6, heartbeat_seconds=0.1, reap_seconds=0.1)
    job = client.enqueue("blocking", {"seconds": 1.5})
    done = await finished(client, job.id)
    assert done.status is S.COMPLETED and done.result == "survived" and done.attempts == 1


async def test_a_result_that_is_not_json_fails_clearly(client: JobClient, run_worker: Any) -> None:
    await run_worker()
    job = client.enqueue("bad_result", max_attempts=1)
    done = await finished(client, job.id)
    assert done.status is S.FAILED and "not JSON" in (done.error or "")


async def test_only_registered_types_are_claimed(client: JobClient, run_worker: Any) -> None:
    await run_worker()
    stranger = client.enqueue("not_registered")
    known = client.enqueue("steps", {"n": 1})
    await finished(client, known.id)
    assert client.get(stranger.id).status is S.PENDING


async def test_graceful_stop_lets_running_jobs_finish(
    client: JobClient, store: SQLStore, registry: JobRegistry
) -> None:
    worker = Worker(store, registry, WorkerConfig(poll_seconds=0.2, shutdown_grace_seconds=5))
    task = asyncio.create_task(worker.run())
    job = client.enqueue("slow_ok", {"seconds": 0.5})
    await async_wait_until(lambda: client.get(job.id).progress_percent == 10, what="start")
    worker.stop()
    await asyncio.wait_for(task, 10)
    done = client.get(job.id)
    assert done.status is S.COMPLETED and done.result == "finished"


async def test_stop_after_grace_hands_unfinished_jobs_back(
    client: JobClient, store: SQLStore, registry: JobRegistry
) -> None:
    worker = Worker(store, registry, WorkerConfig(poll_seconds=0.2, shutdown_grace_seconds=0.2))
    task = asyncio.create_task(worker.run())
    job = client.enqueue("slow_ok", {"seconds": 30})
    await async_wait_until(lambda: client.get(job.id).progress_percent == 10, what="start")
    worker.stop()
    await asyncio.wait_for(task, 10)
    released = client.get(job.id)
    assert released.status is S.PENDING and released.attempts == 0
    assert released.error == "worker stopped before the job finished"


async def test_many_jobs_are_each_run_once(
    client: JobClient, store: SQLStore, run_worker: Any
) -> None:
    await run_worker(concurrency=16)
    await run_worker(concurrency=16)
    ids = client.enqueue_many([JobSpec("steps", {"n": 1}) for _ in range(300)])
    await async_wait_until(lambda: store.count_by_status()[S.COMPLETED] == 300, timeout=30)
    assert all(client.get(i).attempts == 1 for i in ids[:50])


async def test_a_worker_whose_lease_was_taken_over_cannot_write(
    client: JobClient, store: SQLStore, run_worker: Any
) -> None:
    import sqlalchemy as sa

    from orbit.jobs.store.schema import jobs

    await run_worker(heartbeat_seconds=0.1)
    job = client.enqueue("slow_ok", {"seconds": 0.5})
    await async_wait_until(lambda: client.get(job.id).progress_percent == 10, what="start")
    usurper = uuid.uuid4()  # as if the lease expired and another worker claimed the job
    with store.engine.begin() as conn:
        conn.execute(sa.update(jobs).where(jobs.c.id == job.id).values(lease_token=usurper))
    version = client.get(job.id).version
    await asyncio.sleep(1.0)  # let the old handler finish and try to record its result
    after = client.get(job.id)
    assert after.status is S.RUNNING and after.lease_token == usurper
    assert after.result is None and after.version == version


@_handler("two_steps", backoff=FAST)
async def two_steps(ctx: JobContext) -> dict[str, Any]:
    import sqlalchemy as sa

    def write_first(conn: sa.Connection) -> str:
        conn.execute(sa.text("INSERT INTO step_runs (step) VALUES ('first')"))
        return "first-result"

    first = await ctx.step("first", write_first)
    if ctx.attempt == 1:
        raise RuntimeError("crash between steps")
    second = await ctx.step("second", lambda conn: f"second after {first}")
    return {"first": first, "second": second, "saved": await ctx.checkpoint("first")}


@_handler("parent")
async def parent(ctx: JobContext, n: int) -> list[str]:
    children = [await ctx.enqueue_child("steps", {"n": 1}, key=str(i)) for i in range(n)]
    again = await ctx.enqueue_child("steps", {"n": 1}, key="0")
    assert again.id == children[0].id
    await ctx.emit("token", {"text": "children queued"})
    return [str(c.id) for c in children]


async def test_steps_resume_after_a_failed_attempt_without_repeating(
    client: JobClient, store: SQLStore, run_worker: Any
) -> None:
    import sqlalchemy as sa

    with store.engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE IF NOT EXISTS step_runs (step VARCHAR(20))"))
        conn.execute(sa.text("DELETE FROM step_runs"))
    await run_worker()
    job = client.enqueue("two_steps", max_attempts=2)
    done = await finished(client, job.id)
    assert done.status is S.COMPLETED and done.attempts == 2
    assert done.result == {
        "first": "first-result",
        "second": "second after first-result",
        "saved": "first-result",
    }
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM step_runs")).scalar() == 1


async def test_children_are_linked_idempotent_and_run(client: JobClient, run_worker: Any) -> None:
    await run_worker()
    job = client.enqueue("parent", {"n": 3}, project_id=uuid.uuid4())
    done = await finished(client, job.id)
    assert done.status is S.COMPLETED and len(done.result) == 3
    for child_id in done.result:
        child = await finished(client, uuid.UUID(child_id))
        assert child.parent_id == job.id and child.project_id == job.project_id
    assert [e.payload for e in client.events(job.id) if e.kind == "token"] == [
        {"text": "children queued"}
    ]
