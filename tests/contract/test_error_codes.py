"""``job.error_code``: the machine-readable reason beside ``error``, written by every path
that ends or requeues a job abnormally, carried by its ``status`` event, cleared by a
retry. Both databases."""

from __future__ import annotations

import pytest

from orbit.jobs import (
    ErrorCode,
    Fail,
    JobClient,
    JobFilter,
    JobStatus,
    ManualClock,
    Retry,
    SQLStore,
)
from orbit.jobs.models import Outcome

S = JobStatus


def _claimed(st: SQLStore, client: JobClient, **options: object) -> Outcome:
    job = client.enqueue("a", **options)  # type: ignore[arg-type]
    (claimed,) = st.claim("w", None, 1, 30, job_ids=[job.id])
    return Outcome(claimed.lease, S.FAILED)


def test_a_failure_stores_its_code_and_its_status_event_carries_it(st: SQLStore) -> None:
    client = JobClient(st)
    lease = _claimed(st, client).lease
    st.fail(lease, "AI returned invalid EpicDraft output", code="ai_invalid_output")
    job = client.get(lease.job_id)
    assert (job.status, job.error_code) == (S.FAILED, "ai_invalid_output")
    assert job.error == "AI returned invalid EpicDraft output", "the message stays as it was"
    last = client.events(job.id)[-1].payload
    assert last == {"status": "failed", "error": job.error, "error_code": "ai_invalid_output"}


def test_a_requeued_attempt_keeps_its_code_until_a_manual_retry_clears_it(
    st: SQLStore, clock: ManualClock
) -> None:
    client = JobClient(st)
    lease = _claimed(st, client).lease
    st.record(
        [Outcome(lease, S.PENDING, error="429", error_code="ai_rate_limited", run_at=clock.now())]
    )
    assert client.get(lease.job_id).error_code == "ai_rate_limited"
    (again,) = st.claim("w", None, 1, 30, job_ids=[lease.job_id])
    st.fail(again.lease, "boom", code="handler_error")
    assert client.get(lease.job_id).error_code == "handler_error"
    retried = client.retry(lease.job_id)
    assert (retried.error, retried.error_code) == (None, None)


def test_a_completed_job_has_no_code(st: SQLStore) -> None:
    client = JobClient(st)
    lease = _claimed(st, client).lease
    st.complete(lease, {"ok": True})
    assert client.get(lease.job_id).error_code is None


def test_an_expired_lease_is_reclaimed_as_worker_lost(st: SQLStore, clock: ManualClock) -> None:
    client = JobClient(st)
    requeued = _claimed(st, client, max_attempts=3).lease.job_id
    exhausted = _claimed(st, client, max_attempts=1).lease.job_id
    clock.advance(31)
    report = st.reclaim_expired()
    assert (report.requeued, report.failed) == ([requeued], [exhausted])
    for job_id, status in ((requeued, S.PENDING), (exhausted, S.FAILED)):
        job = client.get(job_id)
        assert (job.status, job.error_code) == (status, "worker_lost")
        assert client.events(job_id)[-1].payload["error_code"] == "worker_lost"


def test_cancelled_jobs_carry_the_cancelled_code(st: SQLStore) -> None:
    client = JobClient(st)
    one = client.cancel(client.enqueue("a").id)
    assert one.error_code == "cancelled"
    assert client.events(one.id)[-1].payload["error_code"] == "cancelled"
    client.enqueue("b")
    (other,) = client.cancel_pending(JobFilter(job_type="b"))
    assert client.get(other).error_code == "cancelled"
    assert client.events(other)[-1].payload["error_code"] == "cancelled"


def test_the_engine_codes_are_the_documented_strings() -> None:
    assert {c.value for c in ErrorCode} == {
        "handler_error",
        "timed_out",
        "worker_lost",
        "worker_stopped",
        "cancelled",
        "invalid_result",
        "invalid_input",
    }


@pytest.mark.parametrize("bad", ["", "Has Caps", "a" * 65, "spaces in it", "9starts_with_digit"])
def test_signals_refuse_a_code_that_is_not_a_short_snake_case_word(bad: str) -> None:
    with pytest.raises(ValueError, match="error code"):
        Fail("no", code=bad)
    with pytest.raises(ValueError, match="error code"):
        Retry(code=bad)


def test_signals_keep_their_code() -> None:
    assert Fail("no", code="ai_auth").code == "ai_auth"
    assert Retry(after=1, reason="busy", code="ai_unavailable").code == "ai_unavailable"
    assert Fail("no").code is None and Retry().code is None
