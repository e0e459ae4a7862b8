"""Idempotency keys through the one door, on both databases: scoped per caller and job
type, bound to the request's fingerprint, and held only as long as their job is kept."""

from __future__ import annotations

import datetime as dt

import pytest

from orbit.jobs import (
    IdempotencyKey,
    IdempotencyKeyReused,
    JobClient,
    JobSpec,
    ManualClock,
    SQLStore,
    WouldWait,
    fingerprint,
)

DAY = dt.timedelta(days=1)


def finish(st: SQLStore, job_id: object) -> None:
    (claimed,) = st.claim("w", None, 1, 30, job_ids=[job_id])  # type: ignore[list-item]
    st.complete(claimed.lease)


def test_a_repeat_of_the_same_request_returns_its_job(st: SQLStore) -> None:
    client = JobClient(st)
    first = client.enqueue("a", {"n": 1}, idempotency_key="req-1")
    again = client.enqueue("a", {"n": 1}, idempotency_key="req-1")
    assert again.id == first.id
    assert first.idempotency_fingerprint == fingerprint({"n": 1})
    assert len(st.list().items) == 1


def test_a_key_reused_for_a_different_request_is_refused(st: SQLStore) -> None:
    client = JobClient(st)
    first = client.enqueue("a", {"n": 1}, idempotency_key="req-1")
    with pytest.raises(IdempotencyKeyReused) as refused:
        client.enqueue("a", {"n": 2}, idempotency_key="req-1")
    assert refused.value.job_id == first.id
    # Also when the second request lost the race for the key inside the insert.
    with pytest.raises(IdempotencyKeyReused):
        JobClient(st).enqueue_spec(JobSpec("a", {"n": 3}, idempotency_key="req-1"))
    assert len(st.list().items) == 1


def test_a_key_is_scoped_to_its_caller_and_its_job_type(st: SQLStore) -> None:
    client = JobClient(st)
    mine = IdempotencyKey("k", caller="bearer:alice", fingerprint="f1")
    theirs = IdempotencyKey("k", caller="bearer:bob", fingerprint="f1")
    provision = client.enqueue("provision", {"project": "A"}, idempotency_key=mine)
    message = client.enqueue("message", {"text": "hi"}, idempotency_key=mine)
    other_caller = client.enqueue("provision", {"project": "A"}, idempotency_key=theirs)
    local = client.enqueue("provision", {"project": "A"}, idempotency_key="k")

    assert len({provision.id, message.id, other_caller.id, local.id}) == 4
    assert message.job_type == "message" and message.input_data == {"text": "hi"}
    assert (provision.idempotency_caller, local.idempotency_caller) == ("bearer:alice", "local")
    assert client.enqueue("provision", {"project": "A"}, idempotency_key=mine).id == provision.id
    reused = IdempotencyKey("k", caller="bearer:alice", fingerprint="f2")
    with pytest.raises(IdempotencyKeyReused):
        client.enqueue("provision", {"project": "B"}, idempotency_key=reused)
    assert client.find("k", caller="bearer:alice", fingerprint="f1") in (provision, message)
    assert client.find("k", caller="bearer:alice", fingerprint="f2") is None
    assert client.find("k", caller="bearer:carol") is None


def test_a_finished_job_past_retention_no_longer_holds_its_key(
    st: SQLStore, clock: ManualClock
) -> None:
    client = JobClient(st, key_retention=DAY)
    first = client.enqueue("a", {"n": 1}, idempotency_key="k")
    clock.advance(2 * DAY.total_seconds())
    # Unfinished jobs keep their key however old they are.
    assert client.enqueue("a", {"n": 1}, idempotency_key="k").id == first.id
    finish(st, first.id)
    clock.advance(DAY.total_seconds() - 1)
    assert client.find("k") == st.get(first.id)
    with pytest.raises(IdempotencyKeyReused):
        client.enqueue("a", {"n": 2}, idempotency_key="k")

    clock.advance(1)
    assert client.find("k") is None
    second = client.enqueue("a", {"n": 2}, idempotency_key="k")
    assert second.id != first.id
    assert st.get(first.id).idempotency_key is None  # the old job stays, without its key
    assert client.enqueue("a", {"n": 2}, idempotency_key="k").id == second.id


def test_a_pruned_job_frees_its_key(st: SQLStore, clock: ManualClock) -> None:
    client = JobClient(st)
    first = client.enqueue("a", {"n": 1}, idempotency_key="k")
    finish(st, first.id)
    clock.advance(10)
    assert st.prune(dt.timedelta(seconds=5)) == 1
    second = client.enqueue("a", {"n": 2}, idempotency_key="k")
    assert second.id != first.id


def test_a_key_past_retention_is_given_up_only_by_a_write_that_may_wait(
    st: SQLStore, clock: ManualClock
) -> None:
    client = JobClient(st, key_retention=DAY)
    first = client.enqueue("a", {"n": 1}, idempotency_key="k")
    finish(st, first.id)
    clock.advance(DAY.total_seconds())
    if st.dialect.name == "sqlite":  # the holder is read at once; its release would wait
        assert st.may_work_on_loop()
        with pytest.raises(WouldWait):
            client.enqueue("a", {"n": 2}, idempotency_key="k", wait=False)
        assert st.get(first.id).idempotency_key == "k"  # nothing given up, nothing written
    second = client.enqueue("a", {"n": 2}, idempotency_key="k")
    assert second.id != first.id
    assert st.get(first.id).idempotency_key is None
