"""The shared SQL store: every job transition, written once, guarded and rowcount-checked.

Each write is one transaction that updates ``jobs`` (bumping ``version``) and appends the
matching ``job_events`` row with ``seq = version``. Writes made after a claim present the
lease token (the lease guard, written once in ``guards.py``); no matching row means the
lease was lost and the write is rejected (fencing).

Dialect differences (engine setup, transaction start, the change feed's source, batch
completion, event announcements) are hooks on ``Dialect`` (``dialect.py``), overridden in
``sqlite.py`` and ``postgres.py``.

Change feed: the store owns ``feed`` (``feed.py``), the process's one watcher of the
database, and tells it about its own commits (``_committed``): jobs made runnable reach
the worker at once, and the SQLite watcher looks at the log now. The reads live in
``reads.py``.
"""

from __future__ import annotations

import builtins
import contextlib
import datetime as dt
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from orbit.jobs.clock import Clock, SystemClock
from orbit.jobs.errors import (
    DuplicateIdempotencyKey,
    ErrorCode,
    InvalidTransition,
    LeaseLost,
    WouldWait,
)
from orbit.jobs.models import JSON, Job, JobSpec, Lease, Outcome
from orbit.jobs.states import RETRYABLE, TERMINAL, JobStatus
from orbit.jobs.store.bulk import BulkWrites
from orbit.jobs.store.claim import ClaimShape, claim_params, claim_shape
from orbit.jobs.store.dialect import Dialect, read_only
from orbit.jobs.store.feed import ChangeFeed
from orbit.jobs.store.guarded import GuardedWrites
from orbit.jobs.store.guards import IS_PENDING, IS_RUNNING, check_lease, held_any
from orbit.jobs.store.outcomes import BUMP
from orbit.jobs.store.reads import StoreReads
from orbit.jobs.store.reclaim import ReclaimReport, reclaim_statements
from orbit.jobs.store.rows import (
    JOB_COLUMNS,
    clip_message,
    event_row,
    status_payload,
    to_job,
)
from orbit.jobs.store.schema import jobs

_S = JobStatus
_NEXT_VERSION = jobs.c.version + 1
_CANCELLED_CODE = ErrorCode.CANCELLED.value
DEFAULT_MAX_ATTEMPTS = 3


class SQLStore(BulkWrites, GuardedWrites, StoreReads):
    """Jobs persisted in a SQL database; the one owner of every job transition."""

    def __init__(self, engine: Engine, dialect: Dialect, clock: Clock | None = None) -> None:
        self.engine = engine
        self.dialect = dialect
        self.clock: Clock = clock or SystemClock()
        # Leases and run_at: the database's clock on PostgreSQL (hosts disagree), else ours.
        self.time = dialect.timebase(self.clock)
        self._claims: dict[ClaimShape, sa.Executable] = {}
        self._read_engine = read_only(engine)
        self.feed = ChangeFeed(dialect.feed_source(engine))

    # -- plumbing ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def may_work_on_loop(self) -> bool:
        """Whether a write with ``wait=False`` may start on the caller's event loop now
        (SQLite, a pooled connection idle; ``Dialect.may_work_on_loop``); it may still
        meet a taken lock and raise ``WouldWait``. Never on a database server."""
        return self.dialect.may_work_on_loop(self.engine)

    def _refuse_waiting(self, wait: bool) -> None:
        if not wait and not self.may_work_on_loop():
            raise WouldWait("this store's writes may not start on the caller's loop now")

    def _committed(self, *, runnable: bool = False) -> None:
        # This process's own commits reach the feed at once, whatever the dialect's source.
        self.feed.committed(runnable=runnable)

    def unavailable(self, exc: BaseException) -> bool:
        """Whether ``exc`` says the database is away for now (a restart, a dropped
        connection): the caller should try again shortly, not count it as a failure."""
        return self.dialect.is_unavailable(exc)

    def close(self) -> None:
        """Release every pooled connection."""
        self.feed.source.close()
        self.dialect.close()
        self.engine.dispose()

    # -- enqueue ----------------------------------------------------------------------------

    def _insert_values(self, spec: JobSpec, now: dt.datetime) -> dict[str, Any]:
        if spec.run_at is not None and spec.run_at.tzinfo is None:
            raise ValueError("naive datetimes are not accepted; pass UTC-aware values")
        return {
            "id": uuid.uuid4(),
            "job_type": spec.job_type,
            "status": _S.PENDING.value,
            "input_data": dict(spec.input_data),
            "created_at": now,
            "updated_at": now,
            "project_id": spec.project_id,
            "interview_id": spec.interview_id,
            "parent_id": spec.parent_id,
            "attempts": 0,
            "max_attempts": spec.max_attempts or DEFAULT_MAX_ATTEMPTS,
            "priority": spec.priority,
            "queue": spec.queue,
            "run_at": spec.run_at or now,
            "timeout_seconds": spec.timeout_seconds,
            "idempotency_key": spec.idempotency_key,
            "idempotency_caller": spec.idempotency_caller,
            "idempotency_fingerprint": spec.idempotency_fingerprint,
            "version": 1,
        }

    def enqueue(self, spec: JobSpec, *, wait: bool = True) -> Job:
        """Insert a pending job; raises ``DuplicateIdempotencyKey`` when its key is taken
        (``JobClient.enqueue`` answers with that job).

        ``wait=False``, for a caller on an event loop, as ``progress``: ``WouldWait`` and
        nothing written unless the write can go at once.
        """
        self._refuse_waiting(wait)
        now = self.clock.now()
        values = self._insert_values(spec, now)
        event = event_row(values["id"], 1, "status", status_payload(_S.PENDING), now)
        try:
            job = self.dialect.insert_job(self.engine, values, event, wait)
        except sa.exc.IntegrityError as exc:
            if spec.idempotency_key is None or not self.dialect.is_unique_violation(exc):
                raise
            raise DuplicateIdempotencyKey(spec.idempotency_key) from None
        self._committed(runnable=True)
        return job

    def enqueue_many(self, specs: Sequence[JobSpec]) -> list[uuid.UUID]:
        """Insert many pending jobs in one transaction; returns their ids in order."""
        now = self.clock.now()
        rows = [self._insert_values(spec, now) for spec in specs]
        events = [event_row(r["id"], 1, "status", status_payload(_S.PENDING), now) for r in rows]
        with self._write() as conn:
            self.dialect.insert_jobs(conn, rows, events)
            self.dialect.after_enqueue(conn)
        self._committed(runnable=True)
        return [r["id"] for r in rows]

    # -- worker side: claim, heartbeat, progress, outcomes ----------------------------------

    def claim(
        self,
        worker_id: str,
        job_types: Sequence[str] | None,
        limit: int,
        lease_seconds: float,
        job_ids: Sequence[uuid.UUID] | None = None,
        queues: Sequence[str] | None = None,
        *,
        wait: bool = True,
    ) -> builtins.list[Job]:
        """Atomically take up to ``limit`` runnable jobs under a fresh lease token.

        ``job_types`` restricts to the types this worker can run (``None``: any);
        ``job_ids`` restricts to those jobs (a caller running one job by hand);
        ``queues`` to the queues this worker serves (``None``: every queue).
        ``wait=False`` as for ``progress``.
        """
        if limit <= 0:
            return []
        self._refuse_waiting(wait)
        now = self.clock.now()
        shape = claim_shape(self.time, job_types, job_ids, queues, lease_seconds)
        stmt = self._claims.get(shape)
        if stmt is None:
            stmt = self._claims[shape] = self.dialect.claim_statement(self.time, shape)
        params = claim_params(
            self.time, shape, worker_id, limit, lease_seconds, now, job_types, job_ids, queues
        )
        claimed = self.dialect.claim(self.engine, stmt, params, now, wait)
        if claimed:
            self._committed()
        claimed.sort(key=lambda j: (j.priority, j.run_at, j.id))
        return claimed

    def heartbeat(self, leases: Sequence[Lease], lease_seconds: float) -> dict[uuid.UUID, bool]:
        """Extend the leases still held; maps each held job id to "cancel was requested"."""
        if not leases:
            return {}
        now = self.clock.now()
        stmt = (
            sa.update(jobs)
            .where(held_any([(lease.job_id, lease.token) for lease in leases]))
            .values(lease_expires_at=self.time.after(now, lease_seconds))
            .returning(jobs.c.id, jobs.c.cancel_requested_at)
        )
        with self._write() as conn:
            return {row.id: row.cancel_requested_at is not None for row in conn.execute(stmt)}

    def progress(
        self, lease: Lease, percent: float | None, message: str | None, *, wait: bool = True
    ) -> int:
        """Record progress under ``lease``; returns the new version. Raises ``LeaseLost``.

        ``wait=False``, for a caller on an event loop: only if the write need not wait for
        a lock or the network (SQLite, its write lock free), else ``WouldWait`` and
        nothing written.
        """
        self._refuse_waiting(wait)
        version = self.dialect.write_progress(
            self.engine, lease, percent, clip_message(message), self.clock.now(), wait
        )
        if version is None:
            raise LeaseLost(lease.job_id)
        self._committed()
        return version

    def append_event(self, lease: Lease, kind: str, payload: dict[str, JSON]) -> int:
        """Append a custom event (e.g. streamed ``token`` text) under ``lease``.

        Returns its sequence number; raises ``LeaseLost``.
        """
        now = self.clock.now()
        with self._write() as conn:
            seq = self._bump(conn, lease, now)
            self.dialect.insert_events(conn, [event_row(lease.job_id, seq, kind, payload, now)])
        self._committed()
        return seq

    def run_step(self, lease: Lease, name: str, write: Callable[[Connection], JSON]) -> JSON:
        """Run ``write(conn)`` and checkpoint step ``name`` in the same transaction.

        The domain rows a step writes and the record that the step is done commit together
        or not at all, so a job resumed after a crash neither repeats nor loses a step.
        Raises ``LeaseLost`` (and writes nothing) when the lease is gone.
        """
        now = self.clock.now()
        with self._write() as conn:
            seq = self._bump(conn, lease, now)  # first: takes the row lock / fences zombies
            result = write(conn)
            payload = {"name": name, "result": result}
            self.dialect.insert_events(conn, [event_row(lease.job_id, seq, "step", payload, now)])
        self._committed()
        return result

    def _bump(self, conn: Connection, lease: Lease, now: dt.datetime) -> int:
        version = conn.execute(
            BUMP, {"b_id": lease.job_id, "b_token": lease.token, "b_now": now}
        ).scalar()
        if version is None:
            raise LeaseLost(lease.job_id)
        return int(version)

    def record(self, outcomes: Sequence[Outcome], *, wait: bool = True) -> set[uuid.UUID]:
        """Record finished jobs in one transaction; returns ids whose lease was lost.

        ``wait=False`` as for ``progress``.
        """
        if not outcomes:
            return set()
        self._refuse_waiting(wait)
        requeued = any(o.status is _S.PENDING for o in outcomes)
        lost = self.dialect.record_outcomes(self.engine, outcomes, self.clock.now(), wait)
        if len(lost) < len(outcomes) or requeued:
            self._committed(runnable=requeued)
        return lost

    def complete(self, lease: Lease, result: JSON = None) -> None:
        """Mark the job ``completed`` with ``result``. Raises ``LeaseLost``."""
        self._record_one(Outcome(lease, _S.COMPLETED, result=result))

    def fail(
        self,
        lease: Lease,
        error: str,
        run_at: dt.datetime | None = None,
        *,
        code: str = ErrorCode.HANDLER_ERROR.value,
    ) -> None:
        """Fail the job (``error``, ``error_code`` = ``code``), or with ``run_at`` requeue it."""
        status = _S.FAILED if run_at is None else _S.PENDING
        self._record_one(Outcome(lease, status, error=error, run_at=run_at, error_code=code))

    def _record_one(self, outcome: Outcome) -> None:
        if self.record([outcome]):
            raise LeaseLost(outcome.lease.job_id)

    # -- client side: cancel, retry, delete -------------------------------------------------

    def cancel(self, job_id: uuid.UUID, lease: Lease | None = None) -> Job:
        """Cancel a pending job at once; ask a running one to stop. Idempotent while running.

        ``lease``: a worker's (a parent cancelling its child); ``LeaseLost`` once it is gone.
        """
        now = self.clock.now()
        was_pending = jobs.c.status == _S.PENDING.value
        stmt = (
            sa.update(jobs)
            .where(
                jobs.c.id == job_id,
                sa.or_(IS_PENDING, sa.and_(IS_RUNNING, jobs.c.cancel_requested_at.is_(None))),
            )
            .values(
                status=sa.case((was_pending, _S.CANCELLED.value), else_=jobs.c.status),
                error_code=sa.case((was_pending, _CANCELLED_CODE), else_=jobs.c.error_code),
                completed_at=sa.case((was_pending, now), else_=jobs.c.completed_at),
                cancel_requested_at=now,
                updated_at=now,
                version=_NEXT_VERSION,
            )
            .returning(*JOB_COLUMNS)
        )
        with self._write() as conn:
            if lease is not None:
                check_lease(conn, lease)
            row = conn.execute(stmt).one_or_none()
            if row is not None:
                job = to_job(row)
                kind, payload = (
                    ("status", status_payload(_S.CANCELLED, error_code=_CANCELLED_CODE))
                    if job.status is _S.CANCELLED
                    else ("cancel_requested", {"requested_at": now.isoformat()})
                )
                self.dialect.insert_events(
                    conn, [event_row(job.id, job.version, kind, payload, now)]
                )
        if row is not None:
            self._committed()
            return job
        job = self.get(job_id)
        if job.status is _S.RUNNING:
            return job
        raise InvalidTransition(job_id, job.status.value, "cancel")

    def retry(self, job_id: uuid.UUID) -> Job:
        """Send a failed or cancelled job back to ``pending`` (one more attempt if exhausted)."""
        now = self.clock.now()
        stmt = (
            sa.update(jobs)
            .where(jobs.c.id == job_id, jobs.c.status.in_([s.value for s in RETRYABLE]))
            .values(
                status=_S.PENDING.value,
                run_at=self.time.now(now),
                result=None,
                error=None,
                error_code=None,
                progress_percent=None,
                progress_message=None,
                started_at=None,
                completed_at=None,
                cancel_requested_at=None,
                worker_id=None,
                max_attempts=sa.case(
                    (jobs.c.attempts >= jobs.c.max_attempts, jobs.c.attempts + 1),
                    else_=jobs.c.max_attempts,
                ),
                updated_at=now,
                version=_NEXT_VERSION,
            )
            .returning(*JOB_COLUMNS)
        )
        with self._write() as conn:
            row = conn.execute(stmt).one_or_none()
            if row is not None:
                payload = status_payload(_S.PENDING, reason="manual retry")
                self.dialect.insert_events(
                    conn, [event_row(row.id, row.version, "status", payload, now)]
                )
                self.dialect.after_enqueue(conn)
        if row is None:
            job = self.get(job_id)
            raise InvalidTransition(job_id, job.status.value, "retry")
        self._committed(runnable=True)
        return to_job(row)

    def delete(self, job_id: uuid.UUID) -> None:
        """Delete a finished job and its events; raises for unknown or unfinished jobs."""
        stmt = sa.delete(jobs).where(
            jobs.c.id == job_id, jobs.c.status.in_([s.value for s in TERMINAL])
        )
        with self._write() as conn:
            deleted = conn.execute(stmt).rowcount
        if not deleted:
            job = self.get(job_id)
            raise InvalidTransition(job_id, job.status.value, "delete")

    def reclaim_expired(self) -> ReclaimReport:
        """Recover jobs whose worker stopped heartbeating: requeue, fail or cancel them."""
        now = self.clock.now()
        report = ReclaimReport()
        with self._write() as conn:
            for status, stmt, payload in reclaim_statements(now, self.time.now(now)):
                rows = list(conn.execute(stmt))
                report.add(status, [r.id for r in rows])
                self.dialect.insert_events(
                    conn, [event_row(r.id, r.version, "status", payload(r), now) for r in rows]
                )
            if report.requeued:
                self.dialect.after_enqueue(conn)
        if report.total:
            self._committed(runnable=bool(report.requeued))
        return report
