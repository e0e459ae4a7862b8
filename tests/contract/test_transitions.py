"""``states.TRANSITIONS`` is what the store does: every verb driven from every status.

For each status a job is put in that status through the store itself, then one verb is
applied. Three rules, checked on both databases:

1. every move the store makes is a pair the table allows;
2. a verb whose target the table forbids from that status is refused (and changes nothing);
3. every pair the table allows is made by some verb (the table holds nothing dead).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable

import pytest

from orbit.jobs import (
    TRANSITIONS,
    InvalidTransition,
    Job,
    JobSpec,
    JobStatus,
    Lease,
    LeaseLost,
    ManualClock,
    Outcome,
    SQLStore,
)
from orbit.jobs.states import can_transition

S = JobStatus
LEASE_SECONDS = 30.0


@dataclasses.dataclass
class Placed:
    """A job put in a status, with the lease it was last claimed under (or a stranger's)."""

    job: Job
    lease: Lease


def place(st: SQLStore, status: JobStatus) -> Placed:
    job = st.enqueue(JobSpec("t", max_attempts=5))
    lease = Lease(job.id, uuid.uuid4())  # nobody's lease, for jobs never claimed
    if status is S.CANCELLED:
        st.cancel(job.id)
    elif status is not S.PENDING:
        (claimed,) = st.claim("w", None, 1, LEASE_SECONDS, job_ids=[job.id])
        lease = claimed.lease
        if status is S.COMPLETED:
            st.complete(lease)
        elif status is S.FAILED:
            st.fail(lease, "boom")
    placed = st.get(job.id)
    assert placed.status is status
    return Placed(placed, lease)


def _claim(st: SQLStore, p: Placed, clock: ManualClock) -> None:
    if not st.claim("w2", None, 1, LEASE_SECONDS, job_ids=[p.job.id]):
        raise InvalidTransition(p.job.id, p.job.status.value, "claim")


def _reclaim(st: SQLStore, p: Placed, clock: ManualClock) -> None:
    clock.advance(LEASE_SECONDS * 2)
    if not st.reclaim_expired().total:
        raise InvalidTransition(p.job.id, p.job.status.value, "reclaim")


def _record(status: JobStatus) -> Callable[[SQLStore, Placed, ManualClock], None]:
    def record(st: SQLStore, p: Placed, clock: ManualClock) -> None:
        run_at = clock.now() if status is S.PENDING else None
        if st.record([Outcome(p.lease, status, error="x", run_at=run_at)]):
            raise LeaseLost(p.job.id)

    return record


# verb name -> (the status it moves a job to, how to apply it)
VERBS: dict[str, tuple[JobStatus, Callable[[SQLStore, Placed, ManualClock], object]]] = {
    "claim": (S.RUNNING, _claim),
    "cancel": (S.CANCELLED, lambda st, p, clock: st.cancel(p.job.id)),
    "retry": (S.PENDING, lambda st, p, clock: st.retry(p.job.id)),
    "complete": (S.COMPLETED, lambda st, p, clock: st.complete(p.lease)),
    "fail": (S.FAILED, lambda st, p, clock: st.fail(p.lease, "boom")),
    "fail-and-retry": (S.PENDING, _record(S.PENDING)),
    "acknowledge-cancel": (S.CANCELLED, _record(S.CANCELLED)),
    "reclaim": (S.PENDING, _reclaim),
}
CASES = [(verb, source) for verb in VERBS for source in JobStatus]
MOVES: set[tuple[JobStatus, JobStatus]] = set()


@pytest.mark.parametrize(("verb", "source"), CASES, ids=[f"{v}-from-{s}" for v, s in CASES])
def test_each_verb_from_each_status_obeys_the_table(
    st: SQLStore, clock: ManualClock, verb: str, source: JobStatus
) -> None:
    target, apply = VERBS[verb]
    placed = place(st, source)
    try:
        apply(st, placed, clock)
        refused = False
    except (InvalidTransition, LeaseLost):
        refused = True
    after = st.get(placed.job.id)
    if refused:
        assert after.version == placed.job.version, "a refused verb wrote nothing"
    if after.status is not source:
        assert can_transition(source, after.status), f"{verb}: {source} -> {after.status}"
        MOVES.add((source, after.status))
    if not can_transition(source, target):
        # Cancelling a running job is a request: the status stays, the flag is set.
        assert after.status is source, f"{verb} moved {source} to {after.status}"
    elif not refused:
        assert after.status in (target, source)


def test_every_allowed_pair_is_made_by_some_verb() -> None:
    """Runs after the cases above (pytest keeps file order); MOVES collects both databases."""
    allowed = {(s, t) for s, targets in TRANSITIONS.items() for t in targets}
    if not MOVES:
        pytest.skip("run with the verb cases")
    assert allowed == MOVES
