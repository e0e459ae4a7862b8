"""The state machine, enumerated: every (from, to) pair is either allowed or not, on purpose."""

from __future__ import annotations

import itertools

from orbit.jobs import ACTIVE, RETRYABLE, TERMINAL, TRANSITIONS, JobStatus
from orbit.jobs.states import can_transition

S = JobStatus
ALLOWED = {
    (S.PENDING, S.RUNNING),
    (S.PENDING, S.CANCELLED),
    (S.RUNNING, S.COMPLETED),
    (S.RUNNING, S.FAILED),
    (S.RUNNING, S.PENDING),
    (S.RUNNING, S.CANCELLED),
    (S.FAILED, S.PENDING),
    (S.CANCELLED, S.PENDING),
}


def test_every_pair_is_decided() -> None:
    for source, target in itertools.product(JobStatus, JobStatus):
        assert can_transition(source, target) == ((source, target) in ALLOWED), (source, target)


def test_status_values_are_the_seeds_names() -> None:
    assert [s.value for s in JobStatus] == [
        "pending",
        "running",
        "completed",
        "failed",
        "cancelled",
    ]


def test_sets_partition_the_statuses() -> None:
    assert set(JobStatus) == ACTIVE | TERMINAL
    assert not ACTIVE & TERMINAL
    assert RETRYABLE <= TERMINAL
    assert TRANSITIONS[S.COMPLETED] == frozenset()
