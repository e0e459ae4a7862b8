"""The store contract: every transition, on a real SQLite file and a real PostgreSQL database.

Time is a ``ManualClock`` so lease expiry and scheduled retries are exact, never slept for.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest

from orbit.jobs import (
    DuplicateIdempotencyKey,
    InvalidTransition,
    JobClient,
    JobFilter,
    JobNotFound,
    JobSpec,
    JobStatus,
    LeaseLost,
    ManualClock,
    Outcome,
    SQLStore,
    open_store,
)

S = JobStatus
LEASE = 30.0


def claim_one(st: SQLStore, worker: str = "w1", **kw: object):  # type: ignore[no-untyped-def]
    claimed = st.claim(worker, None, 1, LEASE, **kw)  # type: ignore[arg-type]
    assert len(claimed) == 1
    return claimed[0]


def kinds(st: SQLStore, job_id: uuid.UUID) -> list[tuple[int, str, str | None]]:
    return [(e.seq, e.kind, e.payload.get("status")) for e in st.events_after(job_id)]


# -- enqueue ----------------------------------------------------------------------------------


def test_enqueue_creates_a_pending_job_and_its_first_event(
    st: SQLStore, clock: ManualClock
) -> None:
    project = uuid.uuid4()
    job = st.enqueue(JobSpec("interview_message", {"message": "hi"}, project_id=project))
    assert job.status is S.PENDING
    assert (job.version, job.attempts, job.max_attempts) == (1, 0, 3)
    assert job.created_at == clock.now() and job.run_at == clock.now()
    assert job.input_data == {"message": "hi"} and job.project_id == project
    assert st.get(job.id) == job
    assert kinds(st, job.id) == [(1, "status", "pending")]


def test_a_taken_idempotency_key_is_refused_by_the_store(st: SQLStore) -> None:
    st.enqueue(JobSpec("a", {"n": 1}, idempotency_key="req-1"))
    with pytest.raises(DuplicateIdempotencyKey):
        st.enqueue(JobSpec("a", {"n": 2}, idempotency_key="req-1"))
    assert len(st.list().items) == 1


def test_idempotency_key_returns_the_same_job(st: SQLStore) -> None:
    client = JobClient(st)
    first = client.enqueue("a", {"n": 1}, idempotency_key="req-1")
    again = client.enqueue("a", {"n": 1}, idempotency_key="req-1")
    other = client.enqueue("a", {"n": 3}, idempotency_key="req-2")
    assert again.id == first.id and again.input_data == {"n": 1}
    assert other.id != first.id
    assert len(st.list().items) == 2


def test_enqueue_many_inserts_every_job(st: SQLStore, clock: ManualClock) -> None:
    project = uuid.uuid4()
    ids = st.enqueue_many([JobSpec("bulk", {"i": i}, project_id=project) for i in range(250)])
    assert len(set(ids)) == 250
    assert st.count_by_status()[S.PENDING] == 250
    job = st.get(ids[17])
    assert job.input_data == {"i": 17} and job.project_id == project
    assert job.created_at == job.run_at == clock.now() and job.parent_id is None
    assert [(e.seq, e.kind, e.payload) for e in st.events_after(job.id)] == [
        (1, "status", {"status": "pending"})
    ]
    assert {j.id for j in st.claim("w", None, 300, LEASE)} == set(ids)


def test_get_unknown_raises(st: SQLStore) -> None:
    with pytest.raises(JobNotFound):
        st.get(uuid.uuid4())


# -- claim ------------------------------------------------------------------------------------


def test_claim_takes_pending_jobs_in_priority_then_run_at_order(
    st: SQLStore, clock: ManualClock
) -> None:
    late = st.enqueue(JobSpec("t", priority=5))
    clock.advance(1)
    urgent = st.enqueue(JobSpec("t", priority=1))
    clock.advance(1)
    normal = st.enqueue(JobSpec("t", priority=5))
    claimed = st.claim("w1", None, 2, LEASE)
    assert [j.id for j in claimed] == [urgent.id, late.id]
    assert all(j.status is S.RUNNING and j.attempts == 1 for j in claimed)
    assert all(j.worker_id == "w1" and j.lease_token is not None for j in claimed)
    assert claimed[0].lease_expires_at == clock.now() + dt.timedelta(seconds=LEASE)
    assert [j.id for j in st.claim("w2", None, 5, LEASE)] == [normal.id]
    assert st.claim("w3", None, 5, LEASE) == []


def test_claim_respects_run_at_types_and_ids(st: SQLStore, clock: ManualClock) -> None:
    later = st.enqueue(JobSpec("t", run_at=clock.now() + dt.timedelta(seconds=60)))
    other_type = st.enqueue(JobSpec("other"))
    mine = st.enqueue(JobSpec("t"))
    assert [j.id for j in st.claim("w", ["t"], 10, LEASE)] == [mine.id]
    assert st.claim("w", ["t"], 10, LEASE) == []
    clock.advance(61)
    assert [j.id for j in st.claim("w", ["t"], 10, LEASE, job_ids=[later.id])] == [later.id]
    assert [j.id for j in st.claim("w", None, 10, LEASE)] == [other_type.id]


def test_repeated_claims_of_one_shape_take_their_own_values(
    st: SQLStore, clock: ManualClock
) -> None:
    # The claim's statement is built once per shape; each call's values are its own.
    a, b, c = (
        st.enqueue(JobSpec(t, run_at=clock.now() + dt.timedelta(seconds=i)))
        for i, t in enumerate(("a", "b", "a"))
    )
    clock.advance(3)  # all due, in run_at order a, b, c
    first = st.claim("w1", ["a"], 1, LEASE)
    clock.advance(5)
    second = st.claim("w2", ["b"], 1, 2 * LEASE)
    third = st.claim("w3", ["a", "b"], 5, LEASE)
    assert [j.id for j in first + second + third] == [a.id, b.id, c.id]
    assert [j.worker_id for j in first + second + third] == ["w1", "w2", "w3"]
    tokens = {j.lease_token for j in first + second + third}
    assert len(tokens) == 3 and None not in tokens
    assert second[0].started_at is not None and first[0].started_at is not None
    assert second[0].started_at - first[0].started_at == dt.timedelta(seconds=5)
    for job, lease in ((first[0], LEASE), (second[0], 2 * LEASE)):
        assert job.lease_expires_at is not None and job.started_at is not None
        held = (job.lease_expires_at - job.started_at).total_seconds()
        assert abs(held - lease) < 1  # PostgreSQL: on the database's clock


def test_claims_of_one_shape_with_lists_of_other_lengths_take_only_what_they_name(
    st: SQLStore,
) -> None:
    # One shape, its lists (job types, queues, ids) of another length at each call.
    jobs = {(t, q): st.enqueue(JobSpec(t, queue=q)) for t in ("a", "b", "c") for q in ("x", "y")}
    taken = st.claim("w", ["a"], 10, LEASE, queues=["x", "y"])
    assert {j.id for j in taken} == {jobs["a", "x"].id, jobs["a", "y"].id}
    taken = st.claim("w", ["a", "b", "c"], 10, LEASE, queues=["y"])
    assert {j.id for j in taken} == {jobs["b", "y"].id, jobs["c", "y"].id}
    assert st.claim("w", [], 10, LEASE, queues=["x"]) == []
    assert st.claim("w", ["b", "c"], 10, LEASE, queues=[]) == []
    ids = [jobs["b", "x"].id, jobs["a", "x"].id]  # the second is running already
    assert [j.id for j in st.claim("w", None, 10, LEASE, job_ids=ids)] == [jobs["b", "x"].id]
    (last,) = st.claim("w", None, 10, LEASE, job_ids=[jobs["c", "x"].id])
    assert last.id == jobs["c", "x"].id and last.job_type == "c" and last.queue == "x"
    assert st.count_by_status()[S.RUNNING] == 6


def test_claim_records_a_running_event(st: SQLStore) -> None:
    job = st.enqueue(JobSpec("t"))
    claimed = claim_one(st)
    assert claimed.version == 2
    assert kinds(st, job.id) == [(1, "status", "pending"), (2, "status", "running")]


def test_each_claimed_job_gets_its_own_running_event(st: SQLStore) -> None:
    # PostgreSQL writes these events in the claim's own statement; SQLite after it.
    first, second = st.enqueue(JobSpec("t")), st.enqueue(JobSpec("t", max_attempts=5))
    claimed = {j.id: j for j in st.claim("w-one", None, 2, LEASE)}
    assert set(claimed) == {first.id, second.id}
    for job in claimed.values():
        (event,) = st.events_after(job.id, 1)
        assert (event.seq, event.kind) == (job.version, "status")
        assert event.payload == {"status": "running", "attempt": 1, "worker_id": "w-one"}
        assert event.created_at == job.started_at


def test_concurrent_claims_never_share_a_job(db_url: str) -> None:
    seed = open_store(db_url)
    seed.enqueue_many([JobSpec("t") for _ in range(200)])
    seen: list[uuid.UUID] = []
    lock = threading.Lock()

    def claimer(name: str) -> None:
        st = open_store(db_url)
        while batch := st.claim(name, None, 7, LEASE):
            with lock:
                seen.extend(j.id for j in batch)
        st.close()

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 200 and len(set(seen)) == 200
    assert seed.count_by_status()[S.RUNNING] == 200
    seed.close()


# -- progress and outcomes under the lease ----------------------------------------------------


def test_progress_bumps_version_and_logs_an_event(st: SQLStore) -> None:
    st.enqueue(JobSpec("t"))
    job = claim_one(st)
    assert st.progress(job.lease, 25.0, "Calling AI model...") == 3
    st.progress(job.lease, None, "x" * 900)
    seen = st.get(job.id)
    assert seen.progress_percent is None and len(seen.progress_message or "") == 500
    events = st.events_after(job.id, 2)
    assert [(e.seq, e.kind) for e in events] == [(3, "progress"), (4, "progress")]
    assert events[0].payload == {"percent": 25.0, "message": "Calling AI model..."}


def test_complete_records_result_and_releases_the_lease(st: SQLStore, clock: ManualClock) -> None:
    st.enqueue(JobSpec("t"))
    job = claim_one(st)
    clock.advance(2)
    st.complete(job.lease, {"success": True, "content": "AI response here..."})
    done = st.get(job.id)
    assert done.status is S.COMPLETED and done.result == {
        "success": True,
        "content": "AI response here...",
    }
    assert done.progress_percent == 100.0 and done.completed_at == clock.now()
    assert done.lease_token is None and done.lease_expires_at is None
    assert kinds(st, job.id)[-1] == (3, "status", "completed")
    with pytest.raises(LeaseLost):
        st.complete(job.lease, {"twice": True})
    assert st.get(job.id).result == {"success": True, "content": "AI response here..."}


def test_fail_without_retry_is_final(st: SQLStore) -> None:
    st.enqueue(JobSpec("t"))
    job = claim_one(st)
    st.fail(job.lease, "AI API call failed: connection timeout")
    failed = st.get(job.id)
    assert failed.status is S.FAILED and failed.error == "AI API call failed: connection timeout"
    assert failed.completed_at is not None
    assert kinds(st, job.id)[-1] == (3, "status", "failed")


def test_fail_with_run_at_schedules_a_retry(st: SQLStore, clock: ManualClock) -> None:
    st.enqueue(JobSpec("t"))
    job = claim_one(st)
    st.fail(job.lease, "boom", run_at=clock.now() + dt.timedelta(seconds=10))
    waiting = st.get(job.id)
    assert waiting.status is S.PENDING and waiting.error == "boom" and waiting.attempts == 1
    assert st.claim("w", None, 1, LEASE) == []
    clock.advance(10)
    again = claim_one(st, "w2")
    assert again.attempts == 2 and again.lease_token != job.lease_token


def test_record_batches_and_reports_lost_leases(st: SQLStore) -> None:
    st.enqueue_many([JobSpec("t") for _ in range(3)])
    a, b, c = st.claim("w", None, 3, LEASE)
    forged = Outcome(type(c.lease)(c.id, uuid.uuid4()), S.COMPLETED, result=1)
    lost = st.record(
        [Outcome(a.lease, S.COMPLETED, result="a"), Outcome(b.lease, S.CANCELLED), forged]
    )
    assert lost == {c.id}
    assert st.get(a.id).status is S.COMPLETED and st.get(b.id).status is S.CANCELLED
    assert st.get(c.id).status is S.RUNNING


def test_heartbeat_extends_held_leases_and_reports_cancel_requests(
    st: SQLStore, clock: ManualClock
) -> None:
    st.enqueue_many([JobSpec("t") for _ in range(2)])
    a, b = st.claim("w", None, 2, LEASE)
    st.cancel(b.id)
    clock.advance(20)
    stale = type(a.lease)(a.id, uuid.uuid4())
    assert st.heartbeat([a.lease, b.lease], LEASE) == {a.id: False, b.id: True}
    assert st.heartbeat([stale], LEASE) == {}
    assert st.get(a.id).lease_expires_at == clock.now() + dt.timedelta(seconds=LEASE)
    assert st.cancel_requested([a.id, b.id]) == {b.id}


# -- fencing and recovery ---------------------------------------------------------------------


def test_reclaim_requeues_expired_jobs_and_fences_the_old_worker(
    st: SQLStore, clock: ManualClock
) -> None:
    job = st.enqueue(JobSpec("t", max_attempts=3))
    first = claim_one(st, "zombie")
    clock.advance(LEASE - 1)
    assert st.reclaim_expired().total == 0
    clock.advance(2)
    report = st.reclaim_expired()
    assert report.requeued == [job.id]
    assert st.get(job.id).error == "worker lost: lease expired"
    second = claim_one(st, "rescuer")
    assert second.attempts == 2
    with pytest.raises(LeaseLost):
        st.progress(first.lease, 90, "zombie progress")
    with pytest.raises(LeaseLost):
        st.complete(first.lease, {"from": "zombie"})
    st.complete(second.lease, {"from": "rescuer"})
    final = st.get(job.id)
    assert final.result == {"from": "rescuer"} and final.attempts == 2
    assert "zombie progress" not in [e.payload.get("message") for e in st.events_after(job.id)]


def test_reclaim_fails_jobs_without_attempts_left(st: SQLStore, clock: ManualClock) -> None:
    job = st.enqueue(JobSpec("t", max_attempts=1))
    claim_one(st)
    clock.advance(LEASE + 1)
    assert st.reclaim_expired().failed == [job.id]
    failed = st.get(job.id)
    assert failed.status is S.FAILED
    assert failed.error == "worker lost: lease expired after 1 of 1 attempts"
    assert kinds(st, job.id)[-1][2] == "failed"


def test_reclaim_cancels_abandoned_cancel_requests(st: SQLStore, clock: ManualClock) -> None:
    job = st.enqueue(JobSpec("t"))
    claim_one(st)
    st.cancel(job.id)
    clock.advance(LEASE + 1)
    assert st.reclaim_expired().cancelled == [job.id]
    assert st.get(job.id).status is S.CANCELLED


# -- client verbs -----------------------------------------------------------------------------


def test_cancel_pending_is_immediate(st: SQLStore) -> None:
    job = st.enqueue(JobSpec("t"))
    cancelled = st.cancel(job.id)
    assert cancelled.status is S.CANCELLED and cancelled.completed_at is not None
    assert st.claim("w", None, 1, LEASE) == []
    assert kinds(st, job.id)[-1] == (2, "status", "cancelled")


def test_cancel_running_is_a_request_and_idempotent(st: SQLStore) -> None:
    st.enqueue(JobSpec("t"))
    job = claim_one(st)
    requested = st.cancel(job.id)
    assert requested.status is S.RUNNING and requested.cancel_requested_at is not None
    assert st.cancel(job.id).version == requested.version
    assert [e.kind for e in st.events_after(job.id)][-1] == "cancel_requested"
    st.record([Outcome(job.lease, S.CANCELLED)])
    assert st.get(job.id).status is S.CANCELLED


def test_cancel_finished_or_unknown_is_refused(st: SQLStore) -> None:
    st.enqueue(JobSpec("t"))
    job = claim_one(st)
    st.complete(job.lease, None)
    with pytest.raises(InvalidTransition):
        st.cancel(job.id)
    with pytest.raises(JobNotFound):
        st.cancel(uuid.uuid4())


def test_retry_failed_or_cancelled_jobs(st: SQLStore) -> None:
    st.enqueue(JobSpec("t", max_attempts=1))
    job = claim_one(st)
    st.fail(job.lease, "boom")
    again = st.retry(job.id)
    assert again.status is S.PENDING and again.error is None and again.max_attempts == 2
    assert claim_one(st).attempts == 2
    cancelled = st.enqueue(JobSpec("t"))
    st.cancel(cancelled.id)
    assert st.retry(cancelled.id).status is S.PENDING


def test_retry_is_refused_for_active_or_completed_jobs(st: SQLStore) -> None:
    pending = st.enqueue(JobSpec("t"))
    with pytest.raises(InvalidTransition):
        st.retry(pending.id)
    job = claim_one(st)
    st.complete(job.lease)
    with pytest.raises(InvalidTransition):
        st.retry(job.id)


def test_delete_only_finished_jobs(st: SQLStore) -> None:
    job = st.enqueue(JobSpec("t"))
    with pytest.raises(InvalidTransition):
        st.delete(job.id)
    claim_one(st)
    with pytest.raises(InvalidTransition):
        st.delete(job.id)
    st.cancel(job.id)
    st.record([Outcome(st.get(job.id).lease, S.CANCELLED)])
    st.delete(job.id)
    with pytest.raises(JobNotFound):
        st.get(job.id)
    assert st.events_after(job.id) == []
    with pytest.raises(JobNotFound):
        st.delete(job.id)


def test_prune_deletes_only_old_finished_jobs(st: SQLStore, clock: ManualClock) -> None:
    old = st.enqueue(JobSpec("t"))
    st.cancel(old.id)
    active = st.enqueue(JobSpec("t"))
    clock.advance(3600)
    recent = st.enqueue(JobSpec("t"))
    st.cancel(recent.id)
    assert st.prune(dt.timedelta(minutes=30)) == 1
    assert {j.id for j in st.list().items} == {active.id, recent.id}
    assert st.prune(dt.timedelta(0), statuses=[S.FAILED]) == 0
    assert st.prune(dt.timedelta(0)) == 1


# -- reads ------------------------------------------------------------------------------------


def test_list_filters_and_paginates_without_overlap(st: SQLStore, clock: ManualClock) -> None:
    project = uuid.uuid4()
    for i in range(7):
        st.enqueue(JobSpec("a" if i % 2 else "b", project_id=project if i < 5 else None))
        clock.advance(0.001)
    ids: list[uuid.UUID] = []
    page = st.list(JobFilter(project_id=project), limit=2)
    while True:
        ids.extend(j.id for j in page.items)
        if page.next_cursor is None:
            break
        page = st.list(JobFilter(project_id=project), limit=2, cursor=page.next_cursor)
    assert len(ids) == 5 and len(set(ids)) == 5
    created = [st.get(i).created_at for i in ids]
    assert created == sorted(created, reverse=True)
    assert {j.job_type for j in st.list(JobFilter(job_type="a")).items} == {"a"}
    assert len(st.list(JobFilter(status=S.RUNNING)).items) == 0
    with pytest.raises(ValueError):
        st.list(cursor="not-a-cursor")


def test_events_after_resumes_from_a_sequence_number(st: SQLStore) -> None:
    st.enqueue(JobSpec("t"))
    job = claim_one(st)
    for pct in (10, 20, 30):
        st.progress(job.lease, pct, None)
    st.complete(job.lease, None)
    assert [e.seq for e in st.events_after(job.id, 3)] == [4, 5, 6]
    assert [e.seq for e in st.events_after(job.id, 0, limit=2)] == [1, 2]
    assert st.get(job.id).version == 6


# -- steps and custom events ------------------------------------------------------------------


def test_run_step_commits_domain_rows_with_the_checkpoint(st: SQLStore) -> None:
    import sqlalchemy as sa

    with st.engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE IF NOT EXISTS step_rows (name VARCHAR(20))"))
        conn.execute(sa.text("DELETE FROM step_rows"))
    st.enqueue(JobSpec("t"))
    job = claim_one(st)

    def write(conn: sa.Connection) -> dict[str, int]:
        conn.execute(sa.text("INSERT INTO step_rows (name) VALUES ('epic')"))
        return {"rows": 1}

    assert st.run_step(job.lease, "epic", write) == {"rows": 1}
    assert st.steps(job.id) == {"epic": {"rows": 1}}
    forged = type(job.lease)(job.id, uuid.uuid4())
    with pytest.raises(LeaseLost):
        st.run_step(forged, "stories", write)
    with st.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM step_rows")).scalar() == 1
    assert st.steps(job.id) == {"epic": {"rows": 1}}


def test_append_event_is_fenced_and_sequenced(st: SQLStore) -> None:
    st.enqueue(JobSpec("t"))
    job = claim_one(st)
    assert st.append_event(job.lease, "token", {"text": "Hel"}) == 3
    assert st.append_event(job.lease, "token", {"text": "lo"}) == 4
    assert [e.payload for e in st.events_after(job.id, 2)] == [{"text": "Hel"}, {"text": "lo"}]
    st.complete(job.lease)
    with pytest.raises(LeaseLost):
        st.append_event(job.lease, "token", {"text": "late"})
