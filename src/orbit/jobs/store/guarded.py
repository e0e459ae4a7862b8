"""Writes a worker makes for a job beyond the job's own row, under the job's lease.

A parent enqueues children and cancels them; an application records rows for the job
(its AI calls, say). Each runs in one transaction that starts with the lease guard
(``guards.check_lease``), so a worker that lost its lease — reclaimed after expiry, the
job finished elsewhere — writes nothing: the write raises ``LeaseLost`` instead.

Mixed into ``SQLStore``, like ``BulkWrites``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orbit.jobs.clock import Clock
from orbit.jobs.errors import DuplicateIdempotencyKey
from orbit.jobs.models import Job, JobSpec, Lease
from orbit.jobs.states import JobStatus
from orbit.jobs.store.dialect import Dialect, Timebase
from orbit.jobs.store.guards import check_lease
from orbit.jobs.store.rows import JOB_COLUMNS, event_row, status_payload, to_job
from orbit.jobs.store.schema import jobs

T = TypeVar("T")


class GuardedWrites:
    """``guarded`` and ``enqueue_under``: writes that present another job's lease."""

    dialect: Dialect
    clock: Clock
    time: Timebase

    def _write(self) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError  # SQLStore's transaction

    def _committed(self, *, runnable: bool = False) -> None:
        raise NotImplementedError  # SQLStore's feed announcement

    def _insert_values(self, spec: JobSpec, now: dt.datetime) -> dict[str, Any]:
        raise NotImplementedError  # SQLStore's new job row

    def guarded(self, lease: Lease, write: Callable[[Connection], T]) -> T:
        """Run ``write(conn)`` in a transaction that holds ``lease``; raises ``LeaseLost``.

        Example:
            >>> store.guarded(ctx.lease, lambda conn: conn.execute(insert(usage), row))
        """
        with self._write() as conn:
            check_lease(conn, lease)
            return write(conn)

    def enqueue_under(self, lease: Lease, spec: JobSpec) -> Job:
        """Enqueue ``spec`` only while ``lease`` (its parent's) holds; raises ``LeaseLost``,
        or ``DuplicateIdempotencyKey`` when its key is taken."""
        now = self.clock.now()
        values = self._insert_values(spec, now)
        values["run_at"] = self.time.moment(values["run_at"], now)  # as ``enqueue`` does
        event = event_row(values["id"], 1, "status", status_payload(JobStatus.PENDING), now)
        try:
            with self._write() as conn:
                check_lease(conn, lease)  # first: a lost lease wins over a taken key
                row = conn.execute(sa.insert(jobs).values(values).returning(*JOB_COLUMNS)).one()
                self.dialect.insert_events(conn, [event])
                self.dialect.after_enqueue(conn)
        except sa.exc.IntegrityError as exc:
            if spec.idempotency_key is None or not self.dialect.is_unique_violation(exc):
                raise
            raise DuplicateIdempotencyKey(spec.idempotency_key) from None
        self._committed(runnable=True)
        return to_job(row)
