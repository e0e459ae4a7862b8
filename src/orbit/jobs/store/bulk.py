"""Bulk verbs of the store: cancel or delete the pending jobs a filter selects, prune old
finished ones (and free the idempotency key of one past retention before it is pruned).

Guarded like the single-job verbs: the status condition is part of each statement, so a
job a worker claims meanwhile is left alone (it is no longer pending when the statement
runs), and the ids returned are exactly the rows changed. A cancelled job gets its
``status`` event in the same transaction, as ``cancel`` writes it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orbit.jobs.clock import Clock
from orbit.jobs.errors import ErrorCode
from orbit.jobs.models import JobFilter
from orbit.jobs.states import TERMINAL, JobStatus
from orbit.jobs.store.dialect import Dialect
from orbit.jobs.store.rows import event_row, status_payload
from orbit.jobs.store.schema import jobs

_PENDING = JobStatus.PENDING.value
_CANCELLED = ErrorCode.CANCELLED.value
PRUNE_BATCH = 1000
"""Jobs deleted per prune transaction: short enough that writers (heartbeats) get in
between batches, large enough that a day's jobs go in a few hundred round trips."""


def pending_where(where: JobFilter) -> list[sa.ColumnElement[bool]]:
    """The conditions selecting the pending jobs of ``where`` (its ``status`` must be
    pending or unset: only pending jobs are touched in bulk)."""
    if where.status not in (None, JobStatus.PENDING):
        raise ValueError(f"bulk cancel and delete touch pending jobs only, not {where.status}")
    conditions: list[sa.ColumnElement[bool]] = [jobs.c.status == _PENDING]
    for column, value in (
        (jobs.c.job_type, where.job_type),
        (jobs.c.project_id, where.project_id),
        (jobs.c.interview_id, where.interview_id),
        (jobs.c.parent_id, where.parent_id),
    ):
        if value is not None:
            conditions.append(column == value)
    return conditions


class BulkWrites:
    """Cancel and delete pending jobs by filter, prune finished ones (mixed into ``SQLStore``)."""

    dialect: Dialect
    clock: Clock

    def _write(self) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError  # SQLStore's transaction

    def _committed(self, *, runnable: bool = False) -> None:
        raise NotImplementedError  # SQLStore's feed announcement

    def cancel_pending(self, where: JobFilter) -> list[uuid.UUID]:
        """Cancel every pending job ``where`` selects; returns their ids."""
        now = self.clock.now()
        stmt = (
            sa.update(jobs)
            .where(*pending_where(where))
            .values(
                status=JobStatus.CANCELLED.value,
                error_code=_CANCELLED,
                completed_at=now,
                cancel_requested_at=now,
                updated_at=now,
                version=jobs.c.version + 1,
            )
            .returning(jobs.c.id, jobs.c.version)
        )
        payload = status_payload(JobStatus.CANCELLED, reason="bulk cancel", error_code=_CANCELLED)
        with self._write() as conn:
            rows = list(conn.execute(stmt))
            if rows:
                events = [event_row(r.id, r.version, "status", payload, now) for r in rows]
                self.dialect.insert_events(conn, events)
        if rows:
            self._committed()
        return [r.id for r in rows]

    def delete_pending(self, where: JobFilter) -> int:
        """Delete every pending job ``where`` selects (with its events); returns how many."""
        with self._write() as conn:
            return int(conn.execute(sa.delete(jobs).where(*pending_where(where))).rowcount)

    def prune(
        self,
        older_than: dt.timedelta,
        statuses: Sequence[JobStatus] = tuple(TERMINAL),
        job_type: str | None = None,
        batch_size: int = PRUNE_BATCH,
    ) -> int:
        """Delete finished jobs (of ``statuses``) that finished more than ``older_than`` ago.

        Deletes ``batch_size`` jobs (and their events) per transaction, so the write lock
        (SQLite) and the row locks are held for one batch at a time, never for the whole
        prune: ceil(N / batch_size) transactions for N jobs.

        Unfinished statuses are refused, not ignored: ``cancel_pending`` and
        ``delete_pending`` are the verbs for pending jobs; running ones are cancelled."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        unfinished = sorted(s.value for s in statuses if s not in TERMINAL)
        if unfinished:
            raise ValueError(
                f"prune deletes finished jobs only, not {', '.join(unfinished)} ones "
                "(cancel_pending or delete_pending select pending jobs)"
            )
        finished = [s.value for s in statuses]
        cutoff = self.clock.now() - older_than
        conditions = [jobs.c.status.in_(finished), jobs.c.completed_at <= cutoff]
        if job_type:
            conditions.append(jobs.c.job_type == job_type)
        old = sa.select(jobs.c.id).where(*conditions)
        # One more than a batch tells whether another batch follows, without an empty pass.
        old = old.order_by(jobs.c.completed_at, jobs.c.id).limit(batch_size + 1)
        deleted = 0
        while True:
            with self._write() as conn:
                ids = list(conn.execute(old).scalars())
                if ids:
                    # Still finished: a client may have retried one since it was selected.
                    stmt = sa.delete(jobs).where(jobs.c.id.in_(ids[:batch_size]), *conditions)
                    deleted += int(conn.execute(stmt).rowcount)
            if len(ids) <= batch_size:
                return deleted

    def release_idempotency_key(self, job_id: uuid.UUID, finished_before: dt.datetime) -> bool:
        """Free the idempotency key of a job that finished before ``finished_before``.

        Guarded like ``prune``: a job that is unfinished, or finished since, keeps its key.
        """
        stmt = (
            sa.update(jobs)
            .where(
                jobs.c.id == job_id,
                jobs.c.status.in_([s.value for s in TERMINAL]),
                jobs.c.completed_at <= finished_before,
            )
            .values(idempotency_key=None)
        )
        with self._write() as conn:
            return bool(conn.execute(stmt).rowcount)
