"""While the database is away: requests answer 503 with Retry-After (never 500), and a
handler whose write meets the outage waits it out or hands its job back, never spending
an attempt on it. (The whole story, with a real PostgreSQL restart, is
``tests/e2e/test_database_restart.py``.)"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from orbit.api import create_app
from orbit.jobs import JobClient, JobContext, JobRegistry, JobStatus, SQLStore, Worker, WorkerConfig
from orbit.jobs.http import get_client
from orbit.jobs.worker import context as context_module
from orbit.settings import Settings
from tests.conftest import async_wait_until

PROBLEM = "application/problem+json"


def _dropped(statement: str = "SELECT 1") -> sa.exc.DBAPIError:
    """What SQLAlchemy raises when the server closed the connection under a statement."""
    return sa.exc.OperationalError(
        statement, {}, Exception("server closed the connection"), connection_invalidated=True
    )


def _settings(db_url: str) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=db_url, embedded_worker=False, api_token=None
    )


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (_dropped(), 503),
        (sa.exc.InterfaceError("SELECT 1", {}, Exception("the connection is closed")), 503),
        (sa.exc.OperationalError("SELECT 1", {}, Exception("connection refused")), 503),
        (sa.exc.ProgrammingError("SELECT nope", {}, Exception("syntax error")), 500),
    ],
)
def test_a_database_that_is_away_is_a_503_and_a_broken_query_a_500(
    db_url: str, error: Exception, status: int
) -> None:
    class Away:
        def get(self, job_id: uuid.UUID) -> None:
            raise error

    app = create_app(_settings(db_url), JobRegistry())
    app.dependency_overrides[get_client] = Away
    with TestClient(app, raise_server_exceptions=False) as api:
        response = api.get(f"/api/v1/jobs/{uuid.uuid4()}")
    assert response.status_code == status
    assert response.headers["content-type"].startswith(PROBLEM)
    if status == 503:
        assert response.headers["Retry-After"] == "1"


def _flaky(store: SQLStore, method: str, failures: int) -> list[int]:
    """Make ``store.<method>`` meet a dropped connection ``failures`` times."""
    calls: list[int] = []
    real = getattr(store, method)

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) <= failures:
            raise _dropped()
        return real(*args, **kwargs)

    setattr(store, method, flaky)
    return calls


async def _run(store: SQLStore, registry: JobRegistry, job_id: uuid.UUID) -> Any:
    worker = Worker(store, registry, WorkerConfig(concurrency=2, poll_seconds=0.05))
    task = asyncio.create_task(worker.run())
    try:
        client = JobClient(store, registry)
        return await async_wait_until(
            lambda: (job := client.get(job_id)).finished and job, timeout=10, what="finish"
        )
    finally:
        worker.stop()
        await asyncio.wait_for(task, 10)


async def test_a_progress_write_during_an_outage_waits_for_the_database(
    store: SQLStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(context_module, "UNAVAILABLE_RETRY_SECONDS", (0.01, 0.01, 0.01))
    runs: list[int] = []
    registry = JobRegistry()

    @registry.job("reports")
    async def reports(ctx: JobContext) -> str:
        runs.append(ctx.attempt)
        await ctx.progress(50, "half way")
        return "done"

    job = JobClient(store, registry).enqueue("reports")
    calls = _flaky(store, "progress", failures=2)
    done = await _run(store, registry, job.id)
    assert done.status is JobStatus.COMPLETED and done.attempts == 1
    assert runs == [1] and len(calls) == 3


async def test_a_handler_stopped_by_an_outage_is_handed_back_without_using_an_attempt(
    store: SQLStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(context_module, "UNAVAILABLE_RETRY_SECONDS", (0.01,))
    runs: list[int] = []
    registry = JobRegistry()

    @registry.job("reports", max_attempts=1)
    async def reports(ctx: JobContext) -> str:
        runs.append(ctx.attempt)
        await ctx.progress(50, "half way")
        return "done"

    job = JobClient(store, registry).enqueue("reports")
    _flaky(store, "progress", failures=2)  # longer than the progress write waits
    done = await _run(store, registry, job.id)
    # One attempt allowed: a failure would have ended it ``failed``.
    assert done.status is JobStatus.COMPLETED and done.attempts == 1
    assert runs == [1, 1]
