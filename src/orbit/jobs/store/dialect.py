"""The seam between the shared SQL store and each database: ``Dialect``'s hooks.

The defaults suit any SQL database SQLAlchemy speaks; ``sqlite.py`` and ``postgres.py``
override what their database does better (single-statement writes, COPY, NOTIFY, …).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from orbit.jobs.clock import Clock
from orbit.jobs.models import Job, Lease, Outcome
from orbit.jobs.states import JobStatus
from orbit.jobs.store.claim import ClaimShape, claim_event, claim_statement
from orbit.jobs.store.feed import FeedSource
from orbit.jobs.store.outcomes import PROGRESS, insert_events, record_outcome
from orbit.jobs.store.rows import JOB_COLUMNS, JobDecoder, event_row, to_job
from orbit.jobs.store.schema import jobs

READ_ONLY_OPTION = "orbit_readonly"
_READ_ONLY = "_orbit_read_only"  # an attribute of the engine: it lives and dies with it


class Timebase:
    """Where the times that decide leases and ``run_at`` come from: here, the injected
    clock's values, bound as parameters (SQLite: one host; any clock that is simulated).

    ``host_now`` is the host's clock at the write. PostgreSQL's ``DatabaseTime`` answers
    with SQL on the database's clock instead (``postgres.py``).
    """

    database_clock = False

    def now(self, host_now: dt.datetime) -> Any:
        """The "now" of lease expiry and ``run_at`` comparisons, and of ``run_at = now``."""
        return host_now

    def after(self, host_now: dt.datetime, seconds: float) -> Any:
        """``seconds`` after now: a lease's expiry."""
        return host_now + dt.timedelta(seconds=seconds)

    def moment(self, when: dt.datetime, host_now: dt.datetime) -> Any:
        """A moment a host gave in its own time (a ``run_at``), on this timebase."""
        return when


def read_only(engine: Engine) -> Engine:
    """The same engine (and pool) for reads: on SQLite its transactions start with a plain
    ``BEGIN`` and never queue behind writers. Built once per engine: an option engine
    costs more to make than a SQLite read takes (``planning.records.reading``, per request)."""
    if engine.get_execution_options().get(READ_ONLY_OPTION, False):
        return engine
    reads: Engine | None = getattr(engine, _READ_ONLY, None)
    if reads is None:  # two threads may both build one: either serves
        reads = engine.execution_options(**{READ_ONLY_OPTION: True})
        setattr(engine, _READ_ONLY, reads)
    return reads


class Dialect:
    """Per-database behaviour; the defaults suit any SQL database SQLAlchemy speaks."""

    name = "generic"
    commit_ordered_ids = True
    """Whether ``job_events.id`` values become visible in increasing order (one writer at a
    time); PostgreSQL allocates ids before commit, so a smaller id can appear later."""

    _job_rows: JobDecoder | None = None

    def job_rows(self, engine: Engine) -> JobDecoder:
        """The decoder of ``JOB_COLUMNS`` rows that the dialect's hot statements read
        straight from ``engine``'s driver (claims, enqueues), built once."""
        if self._job_rows is None:
            self._job_rows = JobDecoder(engine.dialect)
        return self._job_rows

    def insert_events(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        """Append event rows inside the caller's transaction (and announce them)."""
        insert_events(conn, rows)

    def after_enqueue(self, conn: Connection) -> None:
        """Called inside a transaction that made jobs runnable (e.g. to send a NOTIFY)."""

    def is_unique_violation(self, exc: sa.exc.IntegrityError) -> bool:
        """Tell whether ``exc`` is a unique-constraint violation."""
        return True

    def is_unavailable(self, exc: BaseException) -> bool:
        """Tell whether ``exc`` says the database is away (down, restarting, connection
        dropped) rather than that the statement was wrong: worth trying again shortly."""
        return isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated

    def timebase(self, clock: Clock) -> Timebase:
        """The timebase of leases and ``run_at`` for a store whose host clock is ``clock``."""
        return Timebase()

    def feed_source(self, engine: Engine) -> FeedSource:
        """How the change feed learns of other processes' commits (``feed.py``)."""
        return FeedSource()

    def close(self) -> None:
        """Release anything the dialect opened beside the main engine."""

    def autocommit_engine(self, engine: Engine) -> Engine:
        """An engine whose DB-API connections run a lone statement as its own transaction.

        The default suits drivers that never begin on their own (Orbit's SQLite
        connections); PostgreSQL keeps an autocommit pool (``postgres.py``)."""
        return engine

    def may_work_on_loop(self, engine: Engine) -> bool:
        """Whether store work may start on the caller's event loop now: nothing it does
        waits for the network and a checkout would not wait (SQLite); never by default.

        ``SQLStore`` refuses ``wait=False`` (``WouldWait``) unless this holds, so only
        such a dialect's writes below (``insert_job``, ``claim``, ``write_progress``,
        ``record_outcomes``) see it, and must then not wait for a lock either
        (``WouldWait``, nothing written); the others' ``wait`` is always true.
        """
        return False

    def insert_job(
        self, engine: Engine, values: dict[str, Any], event: dict[str, Any], wait: bool = True
    ) -> Job:
        """Insert one job with its first event, commit and announce it; returns the job."""
        with engine.begin() as conn:
            row = conn.execute(sa.insert(jobs).values(values).returning(*JOB_COLUMNS)).one()
            insert_events(conn, [event])
            self.after_enqueue(conn)
        return to_job(row)

    def claim_statement(self, time: Timebase, shape: ClaimShape) -> sa.Executable:
        """The claim of ``shape``, built once and run by ``claim`` with fresh values."""
        return claim_statement(time, shape)

    def claim(
        self,
        engine: Engine,
        statement: sa.Executable,
        params: dict[str, Any],
        now: dt.datetime,
        wait: bool = True,
    ) -> list[Job]:
        """Run a claim and append each claimed job's event, in one transaction."""
        with engine.begin() as conn:
            claimed = [to_job(r) for r in conn.execute(statement, params)]
            self.insert_events(conn, [claim_event(j, now) for j in claimed])
        return claimed

    def insert_jobs(
        self, conn: Connection, rows: list[dict[str, Any]], events: list[dict[str, Any]]
    ) -> None:
        """Insert many new jobs and their first events inside the caller's transaction."""
        conn.execute(sa.insert(jobs), rows)
        insert_events(conn, events)

    def write_progress(
        self,
        engine: Engine,
        lease: Lease,
        percent: float | None,
        message: str | None,
        now: dt.datetime,
        wait: bool = True,
    ) -> int | None:
        """Record progress under ``lease``; the new version, or None when the lease is lost."""
        with engine.begin() as conn:
            version = conn.execute(
                PROGRESS,
                {
                    "p_id": lease.job_id,
                    "p_token": lease.token,
                    "p_percent": percent,
                    "p_message": message,
                    "p_now": now,
                },
            ).scalar()
            if version is not None:
                payload = {"percent": percent, "message": message}
                insert_events(conn, [event_row(lease.job_id, version, "progress", payload, now)])
        return version

    def record_outcomes(
        self, engine: Engine, outcomes: Sequence[Outcome], now: dt.datetime, wait: bool = True
    ) -> set[uuid.UUID]:
        """Record finished jobs in one transaction (announcing jobs handed back to
        ``pending`` as runnable); returns the ids whose lease was lost (nothing written)."""
        with engine.begin() as conn:
            recorded = [record_outcome(conn, o, now) for o in outcomes]
            insert_events(conn, [row for row in recorded if row is not None])
            if any(o.status is JobStatus.PENDING for o in outcomes):
                self.after_enqueue(conn)
        return {o.lease.job_id for o, row in zip(outcomes, recorded, strict=True) if row is None}

    def snapshot_engine(self, engine: Engine) -> Engine:
        """The engine for reads that must see one consistent snapshot across statements."""
        return engine
