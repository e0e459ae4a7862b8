"""The store's reads: jobs, pages, counts, a job's events, steps and the global log.

``SQLStore`` inherits them; every read runs on the read-only engine (on SQLite a plain
``BEGIN`` that never queues behind writers). The status read (``get``, behind
``JobClient.get`` and ``GET /jobs/{id}``) is the hottest: it is one autocommit statement
on a pooled DB-API connection, compiled once per store, its values decoded by the column
types' own processors (no transaction round trips, no result-object layers).
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import uuid
from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from orbit.jobs.errors import JobNotFound
from orbit.jobs.log_cursor import LogRead, ProjectSnapshot
from orbit.jobs.models import JSON, LOCAL_CALLER, Job, JobEvent, JobFilter, JobPage
from orbit.jobs.states import JobStatus
from orbit.jobs.store.dialect import Dialect
from orbit.jobs.store.log import read_log, read_project_snapshot
from orbit.jobs.store.lone_reads import LoneRead
from orbit.jobs.store.rows import (
    JOB_COLUMNS,
    decode_cursor,
    encode_cursor,
    job_of,
    to_event,
    to_job,
)
from orbit.jobs.store.schema import job_events, jobs

_JOB_BY_ID = sa.select(*JOB_COLUMNS).where(jobs.c.id == sa.bindparam("job_id"))


class StoreReads:
    """Every read of the job store (mixed into ``SQLStore``)."""

    dialect: Dialect
    _read_engine: Engine

    @contextlib.contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._read_engine.connect() as conn:
            yield conn

    def by_idempotency_key(
        self, key: str | None, caller: str = LOCAL_CALLER, job_type: str | None = None
    ) -> builtins.list[Job]:
        """The jobs enqueued with ``key`` by ``caller`` (one per job type; of ``job_type``)."""
        if key is None:
            return []
        stmt = sa.select(*JOB_COLUMNS).where(
            jobs.c.idempotency_key == key, jobs.c.idempotency_caller == caller
        )
        if job_type is not None:
            stmt = stmt.where(jobs.c.job_type == job_type)
        with self._read() as conn:
            return [to_job(row) for row in conn.execute(stmt.order_by(jobs.c.created_at))]

    @property
    def lone_reads(self) -> Engine:
        """An engine for reads of one statement: each runs as its own transaction, one
        round trip on PostgreSQL (not BEGIN, the statement and ROLLBACK). Reads of more
        than one statement that must agree use a transaction (``_read``)."""
        return self.dialect.autocommit_engine(self._read_engine)

    @functools.cached_property
    def _job_by_id(self) -> LoneRead:
        return LoneRead(_JOB_BY_ID, self.lone_reads)

    def get(self, job_id: uuid.UUID) -> Job:
        """Read one job in one autocommit statement; raises ``JobNotFound``."""
        row = self._job_by_id.first({"job_id": job_id})
        if row is None:
            raise JobNotFound(job_id)
        return job_of(row)

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
        self,
        after: int,
        project_id: uuid.UUID | None,
        job_type: str | None = None,
        limit: int = 500,
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
        self, project_id: uuid.UUID | None, job_type: str | None = None, window: int = 1000
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

    def cancel_requested(self, job_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Which of these jobs a client asked to cancel."""
        if not job_ids:
            return set()
        stmt = sa.select(jobs.c.id).where(
            jobs.c.id.in_(list(job_ids)), jobs.c.cancel_requested_at.is_not(None)
        )
        with self._read() as conn:
            return set(conn.execute(stmt).scalars())

    def steps(self, job_id: uuid.UUID) -> dict[str, JSON]:
        """The results of a job's checkpointed steps, by name."""
        stmt = (
            sa.select(job_events.c.payload)
            .where(job_events.c.job_id == job_id, job_events.c.kind == "step")
            .order_by(job_events.c.seq)
        )
        with self._read() as conn:
            return {p["name"]: p["result"] for p in conn.execute(stmt).scalars()}
