"""Recovery of abandoned jobs: the statements the reaper runs when a lease has expired.

A worker that dies (SIGKILL, OOM, lost host) stops heartbeating; once its lease expires,
any worker's reaper moves the job on, in this order:

1. a cancel was requested   -> ``cancelled`` (nobody is left to acknowledge it);
2. no attempts remain       -> ``failed`` with ``worker lost: ...``;
3. otherwise                -> ``pending`` again, runnable at once (attempt + 1 on claim).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa

from orbit.jobs.errors import ErrorCode
from orbit.jobs.models import JSON
from orbit.jobs.states import JobStatus
from orbit.jobs.store.rows import status_payload
from orbit.jobs.store.schema import jobs

WORKER_LOST = "worker lost: lease expired"
_LOST = {"error_code": ErrorCode.WORKER_LOST.value}

_S = JobStatus
_Payload = Callable[[sa.Row[Any]], dict[str, JSON]]


@dataclasses.dataclass
class ReclaimReport:
    """Which jobs one reaper pass moved, by the status it gave them."""

    requeued: list[uuid.UUID] = dataclasses.field(default_factory=list)
    failed: list[uuid.UUID] = dataclasses.field(default_factory=list)
    cancelled: list[uuid.UUID] = dataclasses.field(default_factory=list)

    def add(self, status: JobStatus, ids: list[uuid.UUID]) -> None:
        {_S.PENDING: self.requeued, _S.FAILED: self.failed, _S.CANCELLED: self.cancelled}[
            status
        ].extend(ids)

    @property
    def total(self) -> int:
        """How many jobs were moved."""
        return len(self.requeued) + len(self.failed) + len(self.cancelled)


def _exhausted_error(row: sa.Row[Any]) -> str:
    return f"{WORKER_LOST} after {row.attempts} of {row.max_attempts} attempts"


def reclaim_statements(
    now: dt.datetime, lease_now: Any
) -> Iterator[tuple[JobStatus, sa.Update, _Payload]]:
    """The three reclaim updates, in the order they must run, with their event payloads.

    ``now`` is the host's time (what the rows display); ``lease_now`` the timebase's "now"
    that lease expiry is measured against and a requeued job's ``run_at`` (on PostgreSQL
    the database's clock, see ``Timebase``).
    """
    expired = sa.and_(
        jobs.c.status == sa.literal_column("'running'"), jobs.c.lease_expires_at < lease_now
    )
    released = {
        "lease_token": None,
        "lease_expires_at": None,
        "updated_at": now,
        "version": jobs.c.version + 1,
    }
    returning = (jobs.c.id, jobs.c.version, jobs.c.attempts, jobs.c.max_attempts)

    yield (
        _S.CANCELLED,
        sa.update(jobs)
        .where(expired, jobs.c.cancel_requested_at.is_not(None))
        .values(status=_S.CANCELLED.value, completed_at=now, error=WORKER_LOST, **_LOST, **released)
        .returning(*returning),
        lambda row: status_payload(_S.CANCELLED, error=WORKER_LOST, **_LOST),
    )
    exhausted_message = (
        sa.literal(f"{WORKER_LOST} after ")
        + sa.cast(jobs.c.attempts, sa.String)
        + sa.literal(" of ")
        + sa.cast(jobs.c.max_attempts, sa.String)
        + sa.literal(" attempts")
    )
    yield (
        _S.FAILED,
        sa.update(jobs)
        .where(expired, jobs.c.attempts >= jobs.c.max_attempts)
        .values(
            status=_S.FAILED.value, completed_at=now, error=exhausted_message, **_LOST, **released
        )
        .returning(*returning),
        lambda row: status_payload(_S.FAILED, error=_exhausted_error(row), **_LOST),
    )
    yield (
        _S.PENDING,
        sa.update(jobs)
        .where(expired)
        .values(
            status=_S.PENDING.value,
            run_at=lease_now,
            worker_id=None,
            error=WORKER_LOST,
            **_LOST,
            **released,
        )
        .returning(*returning),
        lambda row: status_payload(_S.PENDING, error=WORKER_LOST, reason="reclaimed", **_LOST),
    )
