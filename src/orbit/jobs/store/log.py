"""Reads of the global event log in ``job_events.id`` order, for streams of many jobs.

A stream of one project's jobs resumes from a global cursor (``job_events.id``). On
SQLite ids become visible in increasing order: writers take turns and each commits before
the next one allocates an id. On PostgreSQL an id is allocated when the row is inserted,
before its transaction commits, so a transaction holding a smaller id can commit after a
larger id was already read. Readers there need to know which missing ids may still
appear: every read also returns its snapshot's ``xmin`` and, when it saw ids missing, a
*fence* (see ``orbit.jobs.log_cursor.LogCursor`` for how they are used).
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orbit.jobs.log_cursor import LogEntry, LogRead, ProjectSnapshot
from orbit.jobs.states import ACTIVE
from orbit.jobs.store.rows import JOB_COLUMNS, to_job
from orbit.jobs.store.schema import job_events, jobs

SNAPSHOT_JOBS_MAX = 1000
"""At most this many active jobs in a project snapshot (the oldest first)."""


def _mine(project_id: uuid.UUID | None, job_type: str | None) -> sa.ColumnElement[bool]:
    """The reader's jobs: the project's (every job's when ``None``), of ``job_type`` if given."""
    mine: sa.ColumnElement[bool] = sa.true()
    if project_id is not None:
        mine = sa.and_(mine, jobs.c.project_id == project_id)
    if job_type is not None:
        mine = sa.and_(mine, jobs.c.job_type == job_type)
    return mine


def read_start(
    after: int, project_id: uuid.UUID | None, job_type: str | None, limit: int
) -> sa.ColumnElement[int]:
    """Where a read after ``after`` starts: ``after`` itself, unless more than ``limit``
    events of other projects come first; then just below the project's next event (or at
    the log's top when it has none). Both come from indexes (``ix_job_events_job_id_id``
    per job of the project, the primary key for the top), so a stream that resumes far
    behind reads its own project's events, not the whole log. Evaluated in the same
    statement, hence the same snapshot, as the rows it bounds. Every event is a reader's
    own when it follows every job (``project_id`` and ``job_type`` both ``None``)."""
    if project_id is None and job_type is None:
        return sa.literal(after, sa.BigInteger)
    next_mine = (
        sa.select(sa.func.min(job_events.c.id))
        .join_from(job_events, jobs, jobs.c.id == job_events.c.job_id)
        .where(_mine(project_id, job_type), job_events.c.id > after)
        .scalar_subquery()
    )
    top = sa.select(sa.func.coalesce(sa.func.max(job_events.c.id), 0)).scalar_subquery()
    target = sa.func.coalesce(next_mine - 1, top)
    # CASE evaluates lazily: a stream near the top (the live tail) pays for ``top`` only,
    # one primary-key probe; the per-job search runs only when the cursor is far behind.
    return sa.case((top - after <= limit, after), (target - after > limit, target), else_=after)


def log_query(
    after: int | sa.ColumnElement[int],
    project_id: uuid.UUID | None,
    job_type: str | None,
    limit: int,
) -> sa.Select[Any]:
    """Every event with ``id > after`` (oldest first), flagged mine or not; payloads only
    for mine and never for ``step`` events, which can be large."""
    mine = _mine(project_id, job_type)
    payload = sa.case(
        (sa.and_(mine, job_events.c.kind != "step"), job_events.c.payload), else_=sa.null()
    )
    return (
        sa.select(
            job_events.c.id,
            job_events.c.job_id,
            job_events.c.seq,
            job_events.c.kind,
            payload.label("payload"),
            mine.label("mine"),
        )
        .join_from(job_events, jobs, jobs.c.id == job_events.c.job_id)
        .where(job_events.c.id > after)
        .order_by(job_events.c.id)
        .limit(limit)
    )


def _entry(row: Any) -> LogEntry:
    return LogEntry(
        id=int(row.id),
        job_id=row.job_id,
        seq=int(row.seq),
        kind=str(row.kind),
        payload=row.payload if row.mine else None,
        mine=bool(row.mine),
    )


def read_log(
    conn: Connection,
    after: int,
    project_id: uuid.UUID | None,
    job_type: str | None,
    limit: int,
    *,
    with_snapshot: bool,
) -> LogRead:
    """Read the log after ``after`` (from ``read_start``); ``with_snapshot`` adds
    PostgreSQL's snapshot ``xmin``, taken in the same statement (one snapshot for all), and
    a fence when the read saw ids missing."""
    start = read_start(after, project_id, job_type, limit)
    if not with_snapshot:
        # SQLite: one read transaction is one snapshot, and ids are visible in order.
        begin = int(conn.execute(sa.select(start)).scalar_one())
        query = log_query(begin, project_id, job_type, limit)
        return LogRead([_entry(r) for r in conn.execute(query)], None, None, start=begin)
    snap = sa.select(sa.func.pg_current_snapshot().label("snap"), start.label("start")).subquery(
        "s"
    )
    rows = log_query(snap.c.start, project_id, job_type, limit).lateral("e")
    stmt = sa.select(
        sa.cast(sa.func.pg_snapshot_xmin(snap.c.snap), sa.Text).label("xmin"),
        snap.c.start.label("read_from"),
        *rows.c,
    ).select_from(snap.outerjoin(rows, sa.true()))
    result = conn.execute(stmt).all()
    entries = [_entry(r) for r in result if r.id is not None]
    first = result[0]
    begin = int(first.read_from)
    # Ids are missing when the read jumped (``begin > after``) or its ids are not contiguous.
    gap = begin > after or (bool(entries) and entries[-1].id - begin > len(entries))
    return LogRead(entries, int(first.xmin), fence(conn) if gap else None, start=begin)


def fence(conn: Connection) -> int:
    """A transaction id above that of every transaction running now (PostgreSQL).

    A snapshot's ``xmax`` is not one: it is the newest *completed* transaction id plus one,
    and transactions that took a newer id may be running. A new id is above every id
    handed out so far, and it counts as completed once ``conn``'s transaction ends (commit
    or rollback), so every later snapshot has ``xmax`` above it. Hence: a later snapshot
    (or this one) whose ``xmin`` reaches the fence proves that every transaction running
    when the fence was taken has ended. It costs one statement, and a transaction id, and
    is taken only when ids are missing.
    """
    return int(conn.execute(sa.select(sa.cast(sa.func.pg_current_xact_id(), sa.Text))).scalar_one())


def read_project_snapshot(
    conn: Connection,
    project_id: uuid.UUID | None,
    job_type: str | None,
    window: int,
    *,
    with_snapshot: bool,
) -> ProjectSnapshot:
    """The project's active jobs and the log position, all in the connection's snapshot
    (the caller runs this in one REPEATABLE READ / SQLite read transaction)."""
    top = int(
        conn.execute(sa.select(sa.func.coalesce(sa.func.max(job_events.c.id), 0))).scalar_one()
    )
    floor = max(top - window, 0)
    present = frozenset(
        int(i)
        for i in conn.execute(sa.select(job_events.c.id).where(job_events.c.id > floor)).scalars()
    )
    # Taken after the snapshot (its first statement), so above every writer it did not see.
    missing = len(present) < top - floor
    fenced = fence(conn) if with_snapshot and missing else None
    stmt = (
        sa.select(*JOB_COLUMNS)
        .where(_mine(project_id, job_type), jobs.c.status.in_([s.value for s in ACTIVE]))
        .order_by(jobs.c.created_at, jobs.c.id)
        .limit(SNAPSHOT_JOBS_MAX + 1)
    )
    found = [to_job(r) for r in conn.execute(stmt)]
    return ProjectSnapshot(
        jobs=found[:SNAPSHOT_JOBS_MAX],
        top=top,
        floor=floor,
        present=present,
        fence=fenced,
        truncated=len(found) > SNAPSHOT_JOBS_MAX,
    )
