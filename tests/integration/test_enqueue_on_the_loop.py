"""Where an async route's enqueue is written, and that it never blocks the event loop.

The app's enqueue routes (and ``POST /jobs``) hand their store work to
``without_blocking``: SQLite reads and commits on the loop itself when the write lock is
free at once (cheaper than the hop to a thread); when a writer of this process or of
another holds it, or on PostgreSQL (a network round trip), the work runs in the thread
pool and the loop keeps serving while it waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from orbit.api import create_app
from orbit.jobs import JobClient, JobFilter, JobSpec, SQLStore, WouldWait
from orbit.jobs.store.sqlite_writes import write_lock
from tests.conftest import async_wait_until
from tests.integration.conftest import app_settings
from tests.integration.loop_calls import another_process_writing, record_calls

ENQUEUE = {"job_type": "interview_message", "input_data": {"message": "hello"}}


def stored_jobs(client: JobClient) -> int:
    return sum(client.count_by_status(JobFilter()).values())


def test_an_enqueue_asked_not_to_wait_writes_at_once_or_not_at_all(store: SQLStore) -> None:
    client = JobClient(store)
    if store.dialect.name == "postgresql":
        with pytest.raises(WouldWait):
            client.enqueue("report", wait=False)
        assert stored_jobs(client) == 0
        return
    assert stored_jobs(client) == 0  # a pooled connection now waits idle
    first = client.enqueue("report", wait=False)
    assert client.get(first.id) == first
    with write_lock(store.engine.url.database or ""), pytest.raises(WouldWait):
        client.enqueue("report", wait=False)
    pool = store.engine.pool
    assert isinstance(pool, sa.pool.QueuePool)
    held = [store.engine.raw_connection() for _ in range(pool.checkedin())]
    try:
        with pytest.raises(WouldWait):
            client.enqueue("report", wait=False)
    finally:
        for conn in held:
            conn.close()
    assert stored_jobs(client) == 1


def test_a_taken_key_answers_with_its_job_without_waiting(store: SQLStore) -> None:
    client = JobClient(store)
    first = client.enqueue("report", {"n": 1}, idempotency_key="k")
    if store.dialect.name == "postgresql":
        with pytest.raises(WouldWait):
            client.enqueue("report", {"n": 1}, idempotency_key="k", wait=False)
    else:
        assert client.enqueue("report", {"n": 1}, idempotency_key="k", wait=False) == first
    assert stored_jobs(client) == 1


def test_an_enqueue_under_a_lease_is_never_written_on_the_loop(store: SQLStore) -> None:
    client = JobClient(store)
    client.enqueue("parent")
    (parent,) = store.claim("w", None, 1, 30.0)
    assert parent.lease is not None
    with pytest.raises(WouldWait):
        client.enqueue_spec(JobSpec("child"), under=parent.lease, wait=False)
    assert stored_jobs(client) == 1


@contextlib.asynccontextmanager
async def served(db_url: str, tmp_path: Path) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app, its worker off, with a client that calls it on this test's loop."""
    app = create_app(app_settings(db_url, tmp_path, embedded_worker=False))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://orbit") as http:
            yield app, http


async def test_an_enqueue_route_writes_on_the_loop_only_where_it_cannot_wait(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with served(db_url, tmp_path) as (app, http):
        store = app.state.client.store
        written = record_calls(monkeypatch, store.dialect, "insert_job")
        answer = await http.post("/api/v1/jobs", json=ENQUEUE)
        assert answer.status_code == 202, answer.text
        job = app.state.client.get(uuid.UUID(answer.json()["job_id"]))
        assert job.input_data == ENQUEUE["input_data"]
        # No idle pooled connection: even the route's reads would wait for a checkout.
        pool = store.engine.pool
        held = [store.engine.raw_connection() for _ in range(pool.checkedin())]
        try:
            answer = await http.post("/api/v1/jobs", json=ENQUEUE)
        finally:
            for conn in held:
                conn.close()
        assert answer.status_code == 202, answer.text
    where = [(c.on_loop, c.wait) for c in written]
    if store.dialect.name == "sqlite":
        assert where == [(True, False), (False, True)]
    else:
        assert where == [(False, True), (False, True)]


@contextlib.contextmanager
def lock_held(database: str, holder: str) -> Iterator[None]:
    """SQLite's write lock held until the block ends: by another connection (as another
    process would hold it) or by a writer of this process (the lock they all queue on)."""
    with write_lock(database) if holder == "this process" else another_process_writing(database):
        yield


@pytest.mark.parametrize("holder", ["another process", "this process"])
async def test_an_enqueue_route_that_must_wait_leaves_the_loop_serving(
    tmp_path: Path, holder: str
) -> None:
    database = tmp_path / "orbit.db"
    url = f"sqlite:///{database}"
    async with served(url, tmp_path) as (app, http):
        with lock_held(str(database), holder):
            post = asyncio.create_task(http.post("/api/v1/jobs", json=ENQUEUE))
            # While the enqueue waits for the lock, the loop answers other requests.
            for _ in range(20):
                health = await asyncio.wait_for(http.get("/health"), 5)
                assert health.status_code == 200
            assert not post.done()
            assert stored_jobs(app.state.client) == 0
        answer = await asyncio.wait_for(post, 10)
        assert answer.status_code == 202, answer.text
        await async_wait_until(lambda: stored_jobs(app.state.client) == 1, 5, what="the job")
