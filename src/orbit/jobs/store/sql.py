"""The shared SQL store: every job transition, written once, guarded and rowcount-checked.

Each write is one transaction that updates ``jobs`` (bumping ``version``) and appends the
matching ``job_events`` row with ``seq = version``. Writes made after a claim present the
lease token: ``WHERE id = :id AND status = 'running' AND lease_token = :token``; no
matching row means the lease was lost and the write is rejected (fencing).

Dialect differences (engine setup, transaction start, wake-up, batch completion, event
announcements) are hooks on ``Dialect`` (``dialect.py``), overridden in ``sqlite.py`` and
``postgres.py``.

Event fan-out: on PostgreSQL every statement that appends events also sends
``pg_notify('orbit_events', '<job_id> <project_id>')``, delivered on commit; elsewhere the
store calls its event listeners (``add_event_listener``) after each commit that appended
events, and other processes notice commits through the dialect (``PRAGMA data_version``).
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
from orbit.jobs.errors import InvalidTransition, JobNotFound, LeaseLost
from orbit.jobs.models import JSON, Job, JobEvent, JobFilter, JobPage, JobSpec, Lease, Outcome
from orbit.jobs.states import RETRYABLE, TERMINAL, JobStatus
from orbit.jobs.store.dialect import Dialect, read_only
from orbit.jobs.store.log import LogRead, ProjectSnapshot, read_log, read_project_snapshot
from orbit.jobs.store.outcomes import BUMP
from orbit.jobs.store.reclaim import ReclaimReport, reclaim_statements
from orbit.jobs.store.rows import (
    JOB_COLUMNS,
    clip_message,
    decode_cursor,
    encode_cursor,
    event_row,
    status_payload,
    to_event,
    to_job,
)
from orbit.jobs.store.schema import job_events, jobs
from orbit.jobs.store.wakeup import Wakeup

_S = JobStatus
# Literals, not bound parameters, so the planner can match the partial indexes.
IS_PENDING = jobs.c.status == sa.literal_column("'pending'")
IS_RUNNING = jobs.c.status == sa.literal_column("'running'")
_NEXT_VERSION = jobs.c.version + 1
DEFAULT_MAX_ATTEMPTS = 3


class SQLStore:
    """Jobs persisted in a SQL database; the one owner of every job transition."""

    def __init__(self, engine: Engine, dialect: Dialect, clock: Clock | None = None) -> None:
        self.engine = engine
        self.dialect = dialect
        self.clock: Clock = clock or SystemClock()
        self._read_engine = read_only(engine)
        self._enqueue_listeners: list[Callable[[], None]] = []
        self._event_listeners: list[Callable[[], None]] = []

    # -- plumbing ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._read_engine.connect() as conn:
            yield conn

    def add_enqueue_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` after jobs become runnable in this process; returns an unsubscribe."""
        self._enqueue_listeners.append(listener)
        return lambda: self._enqueue_listeners.remove(listener)

    def _announce(self) -> None:
        for listener in list(self._enqueue_listeners):
            listener()

    def add_event_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` after every commit of this store that appended events.

        It runs on the writing thread right after the commit, so it must be quick and must
        not raise (e.g. ``loop.call_soon_threadsafe``). Returns an unsubscribe function.
        """
        self._event_listeners.append(listener)
        return lambda: self._event_listeners.remove(listener)

    def _events_written(self) -> None:
        if self._event_listeners:  # the hot paths pay this one check when nobody listens
            for listener in list(self._event_listeners):
                listener()

    def wakeup(self, fallback_seconds: float = 1.0) -> Wakeup:
        """A wake-up source for workers: in-process signals plus the database's own."""
        wakeup = self.dialect.wakeup(self.engine, fallback_seconds)
        wakeup.unsubscribe = self.add_enqueue_listener(wakeup.notify_threadsafe)
        return wakeup

    def close(self) -> None:
        """Release every pooled connection."""
        self.dialect.close()
        self.engine.dispose()

    # -- enqueue ----------------------------------------------------------------------------

    def _insert_values(self, spec: JobSpec, now: dt.datetime) -> dict[str, Any]:
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
            "run_at": spec.run_at or now,
            "timeout_seconds": spec.timeout_seconds,
            "idempotency_key": spec.idempotency_key,
            "version": 1,
        }

    def enqueue(self, spec: JobSpec) -> Job:
        """Insert a pending job; with an ``idempotency_key`` already used, return that job."""
        now = self.clock.now()
        values = self._insert_values(spec, now)
        event = event_row(values["id"], 1, "status", status_payload(_S.PENDING), now)
        try:
            row = self.dialect.insert_job(self.engine, values, event)
        except sa.exc.IntegrityError as exc:
            existing = self.by_idempotency_key(spec.idempotency_key)
            if existing is None or not self.dialect.is_unique_violation(exc):
                raise
            return existing
        self._events_written()
        self._announce()
        return to_job(row)

    def enqueue_many(self, specs: Sequence[JobSpec]) -> list[uuid.UUID]:
        """Insert many pending jobs in one transaction; returns their ids in order."""
        now = self.clock.now()
        rows = [self._insert_values(spec, now) for spec in specs]
        events = [event_row(r["id"], 1, "status", status_payload(_S.PENDING), now) for r in rows]
        with self._write() as conn:
            self.dialect.insert_jobs(conn, rows, events)
            self.dialect.after_enqueue(conn)
        self._events_written()
        self._announce()
        return [r["id"] for r in rows]

    def by_idempotency_key(self, key: str | None) -> Job | None:
        if key is None:
            return None
        with self._read() as conn:
            row = conn.execute(
                sa.select(*JOB_COLUMNS).where(jobs.c.idempotency_key == key)
            ).one_or_none()
        return to_job(row) if row else None

    # -- reads ------------------------------------------------------------------------------

    def get(self, job_id: uuid.UUID) -> Job:
        """Read one job; raises ``JobNotFound``."""
        with self._read() as conn:
            row = conn.execute(sa.select(*JOB_COLUMNS).where(jobs.c.id == job_id)).one_or_none()
        if row is None:
            raise JobNotFound(job_id)
        return to_job(row)

    def list(
        self, where: JobFilter | None = None, limit: int = 50, cursor: str | None = None
    ) -> JobPage:
        """List jobs newest first, ``limit`` per page; pass ``next_cursor`` back for more."""
        where = where or JobFilter()
        stmt = sa.select(*JOB_COLUMNS)
        for column, value in (
            (jobs.c.status, where.status.value if where.status else None),
            (jobs.c.job_type, where.job_type),
            (jobs.c.project_id, where.project_id),
            (jobs.c.interview_id, where.interview_id),
            (jobs.c.parent_id, where.parent_id),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
        if cursor:
            created, job_id = decode_cursor(cursor)
            stmt = stmt.where(sa.tuple_(jobs.c.created_at, jobs.c.id) < (created, job_id))
        stmt = stmt.order_by(jobs.c.created_at.desc(), jobs.c.id.desc()).limit(limit + 1)
        with self._read() as conn:
            items = [to_job(r) for r in conn.execute(stmt)]
        more = len(items) > limit
        items = items[:limit]
        return JobPage(items, encode_cursor(items[-1]) if more else None)

    def count_by_status(self, where: JobFilter | None = None) -> dict[JobStatus, int]:
        """How many jobs are in each status (optionally for one project or type)."""
        where = where or JobFilter()
        stmt = sa.select(jobs.c.status, sa.func.count()).group_by(jobs.c.status)
        if where.job_type:
            stmt = stmt.where(jobs.c.job_type == where.job_type)
        if where.project_id:
            stmt = stmt.where(jobs.c.project_id == where.project_id)
        with self._read() as conn:
            counts = {JobStatus(s): n for s, n in conn.execute(stmt)}
        return {s: counts.get(s, 0) for s in JobStatus}

    def events_after(
        self, job_id: uuid.UUID, seq: int = 0, limit: int = 1000
    ) -> builtins.list[JobEvent]:
        """A job's events with ``seq`` greater than ``seq``, oldest first."""
        stmt = (
            sa.select(job_events)
            .where(job_events.c.job_id == job_id, job_events.c.seq > seq)
            .order_by(job_events.c.seq)
            .limit(limit)
        )
        with self._read() as conn:
            return [to_event(r) for r in conn.execute(stmt)]

    # -- the global log, for streams of many jobs -------------------------------------------

    @property
    def commit_ordered_ids(self) -> bool:
        """Whether event ids become visible in increasing order (see ``store/log.py``)."""
        return self.dialect.commit_ordered_ids

    def read_log(
        self, after: int, project_id: uuid.UUID, job_type: str | None = None, limit: int = 500
    ) -> LogRead:
        """Events of every job with ``id > after``, flagged when they belong to the project."""
        with self._read() as conn:
            return read_log(
                conn,
                after,
                project_id,
                job_type,
                limit,
                with_snapshot=not self.dialect.commit_ordered_ids,
            )

    def project_snapshot(
        self, project_id: uuid.UUID, job_type: str | None = None, window: int = 1000
    ) -> ProjectSnapshot:
        """A project's active jobs and the log position they reflect, in one snapshot."""
        engine = self.dialect.snapshot_engine(self._read_engine)
        with engine.connect() as conn, conn.begin():
            return read_project_snapshot(
                conn,
                project_id,
                job_type,
                window,
                with_snapshot=not self.dialect.commit_ordered_ids,
            )

    # -- worker side: claim, heartbeat, progress, outcomes ----------------------------------

    def claim(
        self,
        worker_id: str,
        job_types: Sequence[str] | None,
        limit: int,
        lease_seconds: float,
        job_ids: Sequence[uuid.UUID] | None = None,
    ) -> builtins.list[Job]:
        """Atomically take up to ``limit`` runnable jobs under a fresh lease token.

        ``job_types`` restricts to the types this worker can run (``None``: any);
        ``job_ids`` restricts to those jobs (a caller running one job by hand).
        """
        if limit <= 0:
            return []
        now = self.clock.now()
        candidates = sa.select(jobs.c.id).where(IS_PENDING, jobs.c.run_at <= now)
        if job_types is not None:
            candidates = candidates.where(jobs.c.job_type.in_(list(job_types)))
        if job_ids is not None:
            candidates = candidates.where(jobs.c.id.in_(list(job_ids)))
        candidates = (
            candidates.order_by(jobs.c.priority, jobs.c.run_at, jobs.c.id)
            .limit(limit)
            # PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite has no row locks and ignores it,
            # its claim is atomic because the transaction began IMMEDIATE (write lock first).
            .with_for_update(skip_locked=True)
        )
        stmt = (
            sa.update(jobs)
            .where(jobs.c.id.in_(candidates.scalar_subquery()))
            .values(
                status=_S.RUNNING.value,
                attempts=jobs.c.attempts + 1,
                worker_id=worker_id,
                lease_token=uuid.uuid4(),
                lease_expires_at=now + dt.timedelta(seconds=lease_seconds),
                started_at=now,
                updated_at=now,
                version=_NEXT_VERSION,
            )
            .returning(*JOB_COLUMNS)
        )
        with self._write() as conn:
            claimed = [to_job(r) for r in conn.execute(stmt)]
            self.dialect.insert_events(
                conn,
                [
                    event_row(
                        j.id,
                        j.version,
                        "status",
                        status_payload(_S.RUNNING, attempt=j.attempts, worker_id=worker_id),
                        now,
                    )
                    for j in claimed
                ],
            )
        if claimed:
            self._events_written()
        claimed.sort(key=lambda j: (j.priority, j.run_at, j.id))
        return claimed

    def heartbeat(self, leases: Sequence[Lease], lease_seconds: float) -> dict[uuid.UUID, bool]:
        """Extend the leases still held; maps each held job id to "cancel was requested"."""
        if not leases:
            return {}
        now = self.clock.now()
        stmt = (
            sa.update(jobs)
            .where(
                IS_RUNNING,
                sa.tuple_(jobs.c.id, jobs.c.lease_token).in_(
                    [(lease.job_id, lease.token) for lease in leases]
                ),
            )
            .values(lease_expires_at=now + dt.timedelta(seconds=lease_seconds))
            .returning(jobs.c.id, jobs.c.cancel_requested_at)
        )
        with self._write() as conn:
            return {row.id: row.cancel_requested_at is not None for row in conn.execute(stmt)}

    def cancel_requested(self, job_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Which of these jobs a client asked to cancel."""
        if not job_ids:
            return set()
        stmt = sa.select(jobs.c.id).where(
            jobs.c.id.in_(list(job_ids)), jobs.c.cancel_requested_at.is_not(None)
        )
        with self._read() as conn:
            return set(conn.execute(stmt).scalars())

    def progress(self, lease: Lease, percent: float | None, message: str | None) -> int:
        """Record progress under ``lease``; returns the new version. Raises ``LeaseLost``."""
        version = self.dialect.write_progress(
            self.engine, lease, percent, clip_message(message), self.clock.now()
        )
        if version is None:
            raise LeaseLost(lease.job_id)
        self._events_written()
        return version

    def append_event(self, lease: Lease, kind: str, payload: dict[str, JSON]) -> int:
        """Append a custom event (e.g. streamed ``token`` text) under ``lease``.

        Returns its sequence number; raises ``LeaseLost``.
        """
        now = self.clock.now()
        with self._write() as conn:
            seq = self._bump(conn, lease, now)
            self.dialect.insert_events(conn, [event_row(lease.job_id, seq, kind, payload, now)])
        self._events_written()
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
        self._events_written()
        return result

    def steps(self, job_id: uuid.UUID) -> dict[str, JSON]:
        """The results of a job's checkpointed steps, by name."""
        stmt = (
            sa.select(job_events.c.payload)
            .where(job_events.c.job_id == job_id, job_events.c.kind == "step")
            .order_by(job_events.c.seq)
        )
        with self._read() as conn:
            return {p["name"]: p["result"] for p in conn.execute(stmt).scalars()}

    def _bump(self, conn: Connection, lease: Lease, now: dt.datetime) -> int:
        version = conn.execute(
            BUMP, {"b_id": lease.job_id, "b_token": lease.token, "b_now": now}
        ).scalar()
        if version is None:
            raise LeaseLost(lease.job_id)
        return int(version)

    def record(self, outcomes: Sequence[Outcome]) -> set[uuid.UUID]:
        """Record finished jobs in one transaction; returns ids whose lease was lost."""
        if not outcomes:
            return set()
        requeued = any(o.status is _S.PENDING for o in outcomes)
        with self._write() as conn:
            lost = self.dialect.record_outcomes(conn, outcomes, self.clock.now())
            if requeued:
                self.dialect.after_enqueue(conn)
        if len(lost) < len(outcomes):
            self._events_written()
        if requeued:
            self._announce()
        return lost

    def complete(self, lease: Lease, result: JSON = None) -> None:
        """Mark the job ``completed`` with ``result``. Raises ``LeaseLost``."""
        self._record_one(Outcome(lease, _S.COMPLETED, result=result))

    def fail(self, lease: Lease, error: str, run_at: dt.datetime | None = None) -> None:
        """Fail the job, or with ``run_at`` send it back to ``pending`` for another attempt."""
        status = _S.FAILED if run_at is None else _S.PENDING
        self._record_one(Outcome(lease, status, error=error, run_at=run_at))

    def _record_one(self, outcome: Outcome) -> None:
        if self.record([outcome]):
            raise LeaseLost(outcome.lease.job_id)

    # -- client side: cancel, retry, delete -------------------------------------------------

    def cancel(self, job_id: uuid.UUID) -> Job:
        """Cancel a pending job at once; ask a running one to stop. Idempotent while running."""
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
                completed_at=sa.case((was_pending, now), else_=jobs.c.completed_at),
                cancel_requested_at=now,
                updated_at=now,
                version=_NEXT_VERSION,
            )
            .returning(*JOB_COLUMNS)
        )
        with self._write() as conn:
            row = conn.execute(stmt).one_or_none()
            if row is not None:
                job = to_job(row)
                kind, payload = (
                    ("status", status_payload(_S.CANCELLED))
                    if job.status is _S.CANCELLED
                    else ("cancel_requested", {"requested_at": now.isoformat()})
                )
                self.dialect.insert_events(
                    conn, [event_row(job.id, job.version, kind, payload, now)]
                )
        if row is not None:
            self._events_written()
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
                run_at=now,
                result=None,
                error=None,
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
        self._events_written()
        self._announce()
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

    def prune(
        self,
        older_than: dt.timedelta,
        statuses: Sequence[JobStatus] = tuple(TERMINAL),
        job_type: str | None = None,
    ) -> int:
        """Delete finished jobs (of ``statuses``) that finished more than ``older_than`` ago."""
        finished = [s.value for s in statuses if s in TERMINAL]
        cutoff = self.clock.now() - older_than
        stmt = sa.delete(jobs).where(jobs.c.status.in_(finished), jobs.c.completed_at <= cutoff)
        if job_type:
            stmt = stmt.where(jobs.c.job_type == job_type)
        with self._write() as conn:
            return int(conn.execute(stmt).rowcount)

    def reclaim_expired(self) -> ReclaimReport:
        """Recover jobs whose worker stopped heartbeating: requeue, fail or cancel them."""
        now = self.clock.now()
        report = ReclaimReport()
        with self._write() as conn:
            for status, stmt, payload in reclaim_statements(now):
                rows = list(conn.execute(stmt))
                report.add(status, [r.id for r in rows])
                self.dialect.insert_events(
                    conn, [event_row(r.id, r.version, "status", payload(r), now) for r in rows]
                )
            if report.requeued:
                self.dialect.after_enqueue(conn)
        if report.total:
            self._events_written()
        if report.requeued:
            self._announce()
        return report
