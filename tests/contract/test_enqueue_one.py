"""One enqueue at a time: what it returns, what it refuses, and what it leaves behind.

The single enqueue writes through a raw DB-API connection (``store/sqlite.py``,
``store/postgres.py``); these tests hold it to what the SQLAlchemy path guaranteed.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest

from orbit.jobs import DuplicateIdempotencyKey, JobSpec, JobStatus, SQLStore, open_store

PLUS_TWO = dt.timezone(dt.timedelta(hours=2))


def test_an_enqueued_job_is_returned_exactly_as_it_is_stored(st: SQLStore) -> None:
    run_at = dt.datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=PLUS_TWO)
    spec = JobSpec(
        "story_generation",
        {"text": "héllo ✓", "nested": {"list": [1, 2.5, None, True]}, "n": 1},
        project_id=uuid.uuid4(),
        interview_id=uuid.uuid4(),
        parent_id=uuid.uuid4(),
        priority=-3,
        queue="slow",
        run_at=run_at,
        max_attempts=7,
        timeout_seconds=5,
        idempotency_key="k-1",
        idempotency_caller="token:abc",
        idempotency_fingerprint="f" * 64,
    )
    job = st.enqueue(spec)
    assert job == st.get(job.id)
    assert job.status is JobStatus.PENDING and job.version == 1 and job.attempts == 0
    assert job.run_at == run_at and job.run_at.utcoffset() == dt.timedelta(0)
    assert job.created_at.utcoffset() == dt.timedelta(0) == job.updated_at.utcoffset()
    assert (job.queue, job.priority, job.max_attempts) == ("slow", -3, 7)
    assert (job.idempotency_caller, job.idempotency_fingerprint) == ("token:abc", "f" * 64)
    (event,) = st.events_after(job.id)
    assert (event.seq, event.kind, event.payload) == (1, "status", {"status": "pending"})
    assert event.created_at == job.created_at


def test_the_returned_input_is_a_copy_the_caller_cannot_change(st: SQLStore) -> None:
    data = {"nested": {"a": 1}}
    job = st.enqueue(JobSpec("a", data))
    data["nested"]["a"] = 2
    assert job.input_data == {"nested": {"a": 1}} == st.get(job.id).input_data


def test_an_enqueue_is_committed_when_it_returns(st: SQLStore, db_url: str) -> None:
    job = st.enqueue(JobSpec("a", {"n": 1}))
    other = open_store(db_url)
    try:
        assert other.get(job.id) == job
    finally:
        other.close()


def test_a_naive_run_at_is_refused_and_nothing_is_written(st: SQLStore) -> None:
    naive = dt.datetime(2031, 1, 1, 12, 0)
    with pytest.raises(ValueError, match="naive"):
        st.enqueue(JobSpec("a", {"n": 1}, run_at=naive))
    with pytest.raises(ValueError, match="naive"):
        st.enqueue_many([JobSpec("a", {"n": 2}), JobSpec("a", {"n": 3}, run_at=naive)])
    assert st.list().items == []


def test_a_refused_duplicate_key_leaves_the_store_writable(st: SQLStore) -> None:
    st.enqueue(JobSpec("a", {"n": 1}, idempotency_key="k"))
    for _ in range(3):  # more times than the write lock could be leaked and re-taken
        with pytest.raises(DuplicateIdempotencyKey):
            st.enqueue(JobSpec("a", {"n": 1}, idempotency_key="k"))
    done: list[uuid.UUID] = []
    writer = threading.Thread(target=lambda: done.append(st.enqueue(JobSpec("a", {})).id))
    writer.start()
    writer.join(timeout=10)
    assert len(done) == 1, "an enqueue after a refused one did not finish"
    assert len(st.list().items) == 2
