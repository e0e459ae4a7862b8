"""``JobClient``, the one door: enqueue rules applied once, and waiting on the feed."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from orbit.jobs import JobClient, JobContext, JobRegistry, JobSpec, JobStatus, SQLStore, open_store


@pytest.fixture
def st(db_url: str) -> Iterator[SQLStore]:
    opened = open_store(db_url)
    yield opened
    opened.close()


def registry() -> JobRegistry:
    jobs = JobRegistry()

    @jobs.job("slow", max_attempts=7, timeout_seconds=42)
    async def slow(ctx: object) -> None:
        return None

    return jobs


def test_enqueue_applies_the_registry_defaults_unless_the_caller_chose(st: SQLStore) -> None:
    client = JobClient(st, registry())
    defaulted = client.enqueue("slow")
    chosen = client.enqueue("slow", max_attempts=2, timeout_seconds=5)
    unknown = client.enqueue("other")
    assert (defaulted.max_attempts, defaulted.timeout_seconds) == (7, 42)
    assert (chosen.max_attempts, chosen.timeout_seconds) == (2, 5)
    assert (unknown.max_attempts, unknown.timeout_seconds) == (3, None)
    bulk = client.enqueue_many([JobSpec("slow")])
    assert client.get(bulk[0]).max_attempts == 7


def test_a_taken_key_returns_its_job_even_from_a_racing_insert(st: SQLStore) -> None:
    client = JobClient(st)
    first = client.enqueue("a", {"n": 1}, idempotency_key="k")
    # A second client that did not see the first job: the insert fails, the door answers.
    again = JobClient(st).enqueue_spec(JobSpec("a", {"n": 1}, idempotency_key="k"))
    assert again.id == first.id and again.input_data == {"n": 1}


async def test_wait_returns_once_the_job_finishes_woken_by_the_feed(st: SQLStore) -> None:
    client = JobClient(st)
    job = client.enqueue("a")
    (claimed,) = st.claim("w", None, 1, 300, job_ids=[job.id])
    finisher = threading.Timer(0.2, st.complete, args=(claimed.lease, {"ok": True}))
    try:
        started = time.monotonic()
        finisher.start()
        done = await client.wait(job.id, timeout=30)
        assert done.status is JobStatus.COMPLETED and done.result == {"ok": True}
        assert time.monotonic() - started < 5, "woken by the change, not by the 5 s re-read"
    finally:
        finisher.join()
        await st.feed.close()


async def test_wait_gives_up_after_the_timeout_with_the_job_as_it_is(st: SQLStore) -> None:
    client = JobClient(st)
    job = client.enqueue("a")
    try:
        pending = await asyncio.wait_for(client.wait(job.id, timeout=0.2), 10)
        assert pending.status is JobStatus.PENDING
    finally:
        await st.feed.close()


async def test_enqueue_child_goes_through_the_same_door(st: SQLStore) -> None:
    client = JobClient(st, registry())
    parent = client.enqueue("parent")
    (claimed,) = st.claim("w", None, 1, 300, job_ids=[parent.id])
    ctx = JobContext(claimed, st, client)
    child = await ctx.enqueue_child("slow", {"n": 1}, key="first")
    again = await ctx.enqueue_child("slow", {"n": 1}, key="first")
    assert child.parent_id == parent.id and child.max_attempts == 7
    assert again.id == child.id, "a re-run parent finds its child"
