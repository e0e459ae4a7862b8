"""Nothing lost, nothing leaked: outcomes survive a database outage, one unstorable result
fails only its own job, a handler that cannot start fails at once, and a worker that lost
its lease can no longer write anything (children, cancels, guarded writes). Both databases.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import pytest
import sqlalchemy as sa

from orbit.jobs import (
    Fail,
    Job,
    JobClient,
    JobContext,
    JobFilter,
    JobRegistry,
    JobStatus,
    LeaseLost,
    SQLStore,
    SyncJobContext,
    Worker,
    WorkerConfig,
)
from orbit.jobs.models import Outcome
from orbit.jobs.store.schema import jobs
from orbit.jobs.store.sqlite_writes import QueuedWriteConnection
from tests.conftest import async_wait_until

S = JobStatus
MARKER = "result-text-that-must-not-reach-the-log"


class WriteOutage:
    """Fault injection: the database refuses every write of ``store`` for a while (on
    each of its pools: PostgreSQL runs single-statement writes on an autocommit pool;
    SQLite's hot writes run straight on the sqlite3 connection, checked there)."""

    def __init__(self, store: SQLStore, monkeypatch: pytest.MonkeyPatch) -> None:
        self.until = 0.0
        self.refused = 0
        self._error = store.engine.dialect.loaded_dbapi.OperationalError
        for engine in {store.engine, store.dialect.autocommit_engine(store.engine)}:
            sa.event.listen(engine, "before_cursor_execute", self._check)
        for name in ("execute", "executemany"):
            original = getattr(QueuedWriteConnection, name)
            monkeypatch.setattr(QueuedWriteConnection, name, self._guarded(original))

    def _guarded(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def call(conn: Any, statement: str, *args: Any) -> Any:
            self._check(conn, None, statement)
            return original(conn, statement, *args)

        return call

    def start(self, seconds: float) -> None:
        self.until = time.monotonic() + seconds

    def _check(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        writes = statement.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE", "WITH"))
        if writes and time.monotonic() < self.until:
            self.refused += 1
            raise self._error("injected outage: writes refused")


@pytest.fixture
def client(store: SQLStore) -> JobClient:
    return JobClient(store)


@pytest.fixture
async def run_worker(store: SQLStore) -> AsyncIterator[Callable[..., Any]]:
    started: list[tuple[Worker, asyncio.Task[None]]] = []

    async def start(registry: JobRegistry, **config: Any) -> Worker:
        defaults = {"concurrency": 4, "poll_seconds": 0.2, "cancel_poll_seconds": 0.1}
        worker = Worker(store, registry, WorkerConfig(**{**defaults, **config}))
        task = asyncio.create_task(worker.run())
        started.append((worker, task))
        await asyncio.wait_for(worker.started.wait(), 5)
        return worker

    yield start
    for worker, task in started:
        worker.stop()
        await asyncio.wait_for(task, 15)


async def finished(client: JobClient, job_id: uuid.UUID, timeout: float = 10.0) -> Job:
    job: Job = await async_wait_until(
        lambda: (job := client.get(job_id)).finished and job,
        timeout,
        what=f"job {job_id} to finish",
    )
    return job


# -- 1. a finished job keeps its lease until its outcome is stored -----------------------------


async def test_a_finished_job_keeps_its_lease_until_its_outcome_is_stored(
    store: SQLStore,
    client: JobClient,
    run_worker: Any,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outage = WriteOutage(store, monkeypatch)
    runs: list[int] = []
    registry = JobRegistry()

    @registry.job("finish_into_outage", max_attempts=1)
    async def finish_into_outage(ctx: JobContext) -> dict[str, Any]:
        runs.append(ctx.attempt)
        # The outcome is ready; the database refuses writes for longer than the old
        # flusher's first retries and for longer than the lease left at claim time.
        outage.start(1.8)
        return {"note": MARKER}

    caplog.set_level(logging.DEBUG, logger="orbit.jobs")
    await run_worker(registry, lease_seconds=3.0, heartbeat_seconds=0.3, reap_seconds=0.2)
    job = client.enqueue("finish_into_outage")
    done = await finished(client, job.id, timeout=15)
    assert outage.refused > 0
    assert done.status is S.COMPLETED, done.error
    assert done.result == {"note": MARKER} and done.attempts == 1
    assert runs == [1]
    assert MARKER not in caplog.text  # retries say why, not what every job returned


async def test_an_outcome_is_given_up_only_once_its_lease_has_expired(
    store: SQLStore, client: JobClient, run_worker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    outage = WriteOutage(store, monkeypatch)
    registry = JobRegistry()

    @registry.job("finish_into_long_outage", max_attempts=2)
    async def finish_into_long_outage(ctx: JobContext) -> int:
        if ctx.attempt == 1:
            outage.start(2.5)  # longer than the lease: the reaper takes the job back
        return ctx.attempt

    worker = await run_worker(registry, lease_seconds=1.0, heartbeat_seconds=0.2, reap_seconds=0.2)
    job = client.enqueue("finish_into_long_outage")
    done = await finished(client, job.id, timeout=15)
    # The first outcome could not be stored in time: the job ran again, and the slot the
    # first attempt held was freed rather than kept forever.
    assert done.status is S.COMPLETED and done.result == 2 and done.attempts == 2
    await async_wait_until(lambda: worker.running == 0, what="the worker to free its slots")


# -- 2. one bad result fails only its own job --------------------------------------------------


def gated_registry(expected: int) -> tuple[JobRegistry, asyncio.Event]:
    """Handlers that all return at the same moment, so their outcomes share one batch."""
    registry = JobRegistry()
    gate = asyncio.Event()
    arrived: list[int] = []

    async def together() -> None:
        arrived.append(1)
        if len(arrived) >= expected:
            gate.set()
        await asyncio.wait_for(gate.wait(), 10)

    @registry.job("nan_result", max_attempts=1)
    async def nan_result(ctx: JobContext) -> dict[str, Any]:
        await together()
        return {"x": float("nan")}

    @registry.job("nul_result", max_attempts=1)
    async def nul_result(ctx: JobContext) -> dict[str, Any]:
        await together()
        return {"text": "a\x00b"}

    @registry.job("nul_error", max_attempts=1)
    async def nul_error(ctx: JobContext) -> None:
        await together()
        raise Fail("bad\x00byte")

    @registry.job("surrogate_result", max_attempts=1)
    async def surrogate_result(ctx: JobContext) -> dict[str, Any]:
        await together()
        return {"text": "half a pair: \ud800"}

    @registry.job("surrogate_error", max_attempts=1)
    async def surrogate_error(ctx: JobContext) -> None:
        await together()
        raise Fail("half a pair: \udc00")

    @registry.job("healthy", max_attempts=1)
    async def healthy(ctx: JobContext, n: int = 0) -> dict[str, Any]:
        await together()
        return {"ok": True, "n": n}

    return registry, gate


async def test_one_unstorable_result_fails_only_its_own_job(
    client: JobClient, run_worker: Any
) -> None:
    registry, _ = gated_registry(expected=7)
    await run_worker(registry, concurrency=8)
    nan = client.enqueue("nan_result")
    nul = client.enqueue("nul_result")
    nul_error = client.enqueue("nul_error")
    surrogate = client.enqueue("surrogate_result")
    surrogate_error = client.enqueue("surrogate_error")
    healthy = [client.enqueue("healthy", {"n": i}) for i in range(2)]
    for job in healthy:
        done = await finished(client, job.id)
        assert done.status is S.COMPLETED, done.error
    bad_nan = await finished(client, nan.id)
    assert bad_nan.status is S.FAILED
    assert bad_nan.error is not None and "cannot be stored" in bad_nan.error
    assert "NaN" in bad_nan.error
    bad_nul = await finished(client, nul.id)
    assert bad_nul.status is S.FAILED
    assert bad_nul.error is not None and "NUL" in bad_nul.error
    failed = await finished(client, nul_error.id)
    assert failed.status is S.FAILED and failed.error == "bad\ufffdbyte"
    # PostgreSQL refuses a lone surrogate in jsonb and text; SQLite would keep it.
    bad_surrogate = await finished(client, surrogate.id)
    assert bad_surrogate.status is S.FAILED
    assert bad_surrogate.error is not None and "surrogate" in bad_surrogate.error
    failed = await finished(client, surrogate_error.id)
    assert failed.status is S.FAILED and failed.error == "half a pair: \ufffd"


async def test_a_batch_the_database_refuses_is_written_one_outcome_at_a_time(
    store: SQLStore, client: JobClient, run_worker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry, _ = gated_registry(expected=3)
    poisoned: list[uuid.UUID] = []
    batches: list[int] = []
    record = store.record

    def refusing_record(outcomes: Sequence[Outcome], *, wait: bool = True) -> set[uuid.UUID]:
        # Fault injection: the database refuses any write that holds the poisoned result.
        batches.append(len(outcomes))
        if any(o.lease.job_id in poisoned and o.status is S.COMPLETED for o in outcomes):
            raise sa.exc.DataError("UPDATE jobs …", {}, ValueError("invalid input for jsonb"))
        return record(outcomes, wait=wait)

    monkeypatch.setattr(store, "record", refusing_record)
    await run_worker(registry, concurrency=8)
    jobs_ = [client.enqueue("healthy", {"n": i}) for i in range(3)]
    poisoned.append(jobs_[1].id)
    first, bad, last = [await finished(client, job.id) for job in jobs_]
    assert first.status is S.COMPLETED and last.status is S.COMPLETED
    assert bad.status is S.FAILED
    assert bad.error is not None and "could not be stored" in bad.error
    assert "invalid input for jsonb" in bad.error
    assert max(batches) > 1  # the outcomes did arrive as one batch


# -- 4. a handler that cannot start fails at once -----------------------------------------------


@pytest.mark.parametrize("job_type", ["async_greet", "sync_greet"])
async def test_a_handler_that_cannot_start_fails_the_attempt_at_once(
    client: JobClient, run_worker: Any, job_type: str
) -> None:
    registry = JobRegistry()

    @registry.job("async_greet")
    async def async_greet(ctx: JobContext, name: str) -> str:
        return f"hello {name}"

    @registry.job("sync_greet")
    def sync_greet(ctx: SyncJobContext, name: str) -> str:
        return f"hello {name}"

    await run_worker(registry, lease_seconds=30.0)
    job = client.enqueue(job_type, {"name": "Ada", "surname": "Lovelace"}, max_attempts=1)
    done = await finished(client, job.id, timeout=5)
    assert done.status is S.FAILED
    assert done.error_code == "invalid_input"
    assert done.error is not None and "surname" in done.error


# -- 5. every write after the claim is lease-guarded --------------------------------------------


def claim_one(store: SQLStore, client: JobClient, job_type: str = "parent") -> Job:
    job = client.enqueue(job_type)
    [claimed] = store.claim("w1", [job_type], 1, 30.0, job_ids=[job.id])
    return claimed


def usurp(store: SQLStore, job_id: uuid.UUID) -> None:
    """As if the lease expired and another worker claimed the job."""
    with store.engine.begin() as conn:
        conn.execute(sa.update(jobs).where(jobs.c.id == job_id).values(lease_token=uuid.uuid4()))


def children_of(client: JobClient, parent_id: uuid.UUID) -> list[Job]:
    return client.list(JobFilter(parent_id=parent_id)).items


async def test_a_worker_that_lost_its_lease_cannot_enqueue_children(
    store: SQLStore, client: JobClient
) -> None:
    parent = claim_one(store, client)
    ctx = JobContext(parent, store, client)
    child = await ctx.enqueue_child("steps", {"n": 1}, key="a")
    assert (await ctx.enqueue_child("steps", {"n": 1}, key="a")).id == child.id  # idempotent
    usurp(store, parent.id)
    with pytest.raises(LeaseLost):
        await ctx.enqueue_child("steps", {"n": 2}, key="b")
    with pytest.raises(LeaseLost):
        await ctx.enqueue_child("steps", {"n": 1}, key="a")  # even an existing key
    sync_ctx = SyncJobContext(parent, store, client)
    with pytest.raises(LeaseLost):
        sync_ctx.enqueue_child("steps", {"n": 3}, key="c")
    assert [c.id for c in children_of(client, parent.id)] == [child.id]


async def test_a_worker_that_lost_its_lease_cannot_cancel_other_jobs(
    store: SQLStore, client: JobClient
) -> None:
    parent = claim_one(store, client)
    ctx = JobContext(parent, store, client)
    first = await ctx.enqueue_child("steps", {"n": 1}, key="a")
    second = await ctx.enqueue_child("steps", {"n": 1}, key="b")
    assert (await ctx.cancel(first.id)).status is S.CANCELLED
    usurp(store, parent.id)
    with pytest.raises(LeaseLost):
        await ctx.cancel(second.id)
    with pytest.raises(LeaseLost):
        SyncJobContext(parent, store, client).cancel(second.id)
    assert client.get(second.id).status is S.PENDING


async def test_guarded_writes_commit_only_under_the_lease(
    store: SQLStore, client: JobClient
) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE IF NOT EXISTS guarded_rows (note VARCHAR(20))"))
        conn.execute(sa.text("DELETE FROM guarded_rows"))

    def insert(note: str) -> Callable[[sa.Connection], str]:
        def write(conn: sa.Connection) -> str:
            conn.execute(sa.text("INSERT INTO guarded_rows (note) VALUES (:n)"), {"n": note})
            return note

        return write

    parent = claim_one(store, client)
    ctx = JobContext(parent, store, client)
    assert await ctx.guarded(insert("held")) == "held"
    assert SyncJobContext(parent, store, client).guarded(insert("sync")) == "sync"
    version = client.get(parent.id).version
    usurp(store, parent.id)
    with pytest.raises(LeaseLost):
        await ctx.guarded(insert("lost"))
    with pytest.raises(LeaseLost):
        ctx.guarded_blocking(insert("lost too"))
    with store.engine.connect() as conn:
        notes = conn.execute(sa.text("SELECT note FROM guarded_rows ORDER BY note")).scalars()
        assert list(notes) == ["held", "sync"]
    assert client.get(parent.id).version == version  # a guarded write is not a job change
