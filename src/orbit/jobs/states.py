"""The job state machine: statuses, named status sets and the allowed transitions.

Who moves a job out of each status::

    pending   --claim-->            running     (a worker, atomically)
    pending   --cancel-->           cancelled   (a client)
    running   --complete-->         completed   (the worker holding the lease)
    running   --fail-->             failed      (the lease holder, attempts exhausted)
    running   --retry-->            pending     (the lease holder, backoff scheduled)
    running   --reclaim-->          pending     (any worker's reaper, lease expired)
    running   --reclaim-->          failed      (reaper, lease expired, attempts exhausted)
    running   --cancel-->           cancelled   (the lease holder acknowledging a request,
                                                 or the reaper for an abandoned request)
    failed    --retry-->            pending     (a client)
    cancelled --retry-->            pending     (a client)

``completed`` is final. Cancelling a running job is a *request* (``cancel_requested_at``);
only the worker that holds the lease, or the reaper, turns it into ``cancelled``.
"""

from __future__ import annotations

import enum


class JobStatus(enum.StrEnum):
    """Where a job is in its life; stored as text guarded by a CHECK constraint."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE: frozenset[JobStatus] = frozenset({JobStatus.PENDING, JobStatus.RUNNING})
"""Statuses of a job that is not finished yet."""

TERMINAL: frozenset[JobStatus] = frozenset(
    {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED}
)
"""Statuses of a finished job; only these may be deleted or pruned."""

RETRYABLE: frozenset[JobStatus] = frozenset({JobStatus.FAILED, JobStatus.CANCELLED})
"""Statuses from which a client may send a job back to ``pending``."""

TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.PENDING: frozenset({JobStatus.RUNNING, JobStatus.CANCELLED}),
    JobStatus.RUNNING: frozenset(
        {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.PENDING, JobStatus.CANCELLED}
    ),
    JobStatus.COMPLETED: frozenset(),
    JobStatus.FAILED: frozenset({JobStatus.PENDING}),
    JobStatus.CANCELLED: frozenset({JobStatus.PENDING}),
}
"""Every allowed ``from -> to`` move; anything else is an invalid transition."""


def can_transition(source: JobStatus, target: JobStatus) -> bool:
    """Tell whether the state machine allows moving a job from ``source`` to ``target``."""
    return target in TRANSITIONS[source]
