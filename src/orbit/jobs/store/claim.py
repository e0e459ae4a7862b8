"""The claim statement, built once per shape and run with fresh parameters each time.

A claim is the hottest write a worker makes: while idle it runs one per wake-up. Its SQL
never changes for a given worker (the job types, queues and lease length it serves), so
the statement is built once per shape (``ClaimShape``) with bound parameters for what
changes per call (now, the token, the limit, the lists). SQLAlchemy then skips building
the statement and its cache key on every call, which cost about a third of a claim.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import sqlalchemy as sa

from orbit.jobs.models import Job
from orbit.jobs.states import JobStatus
from orbit.jobs.store.guards import IS_PENDING
from orbit.jobs.store.rows import JOB_COLUMNS, event_row, status_payload
from orbit.jobs.store.schema import jobs

if TYPE_CHECKING:
    from orbit.jobs.store.dialect import Timebase

Filter = Callable[[sa.ColumnElement[bool]], sa.ColumnElement[bool]]


class ClaimShape(NamedTuple):
    """What decides the claim's SQL: which filters are given, and (on the database's
    clock, where the expiry is SQL) the lease length."""

    by_type: bool
    by_id: bool
    by_queue: bool
    lease_seconds: float | None


def claim_shape(
    time: Timebase,
    job_types: Sequence[str] | None,
    job_ids: Sequence[uuid.UUID] | None,
    queues: Sequence[str] | None,
    lease_seconds: float,
) -> ClaimShape:
    return ClaimShape(
        job_types is not None,
        job_ids is not None,
        queues is not None,
        lease_seconds if time.database_clock else None,
    )


def _as_is(term: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    return term


def claim_statement(time: Timebase, shape: ClaimShape, broad: Filter = _as_is) -> sa.Update:
    """``UPDATE jobs … WHERE id IN (the oldest runnable, FOR UPDATE SKIP LOCKED) RETURNING``.

    The candidates come in claim order from the partial indexes over pending rows:
    ``ix_jobs_claim`` (queue first) when queues are given, ``ix_jobs_claim_any_queue``
    otherwise. ``broad`` marks the filters that most pending rows pass (the status test,
    the worker's job types) where a dialect's planner must be told so.
    """
    now = sa.bindparam("c_now", type_=jobs.c.started_at.type)
    due_now: Any = now
    expires: Any = sa.bindparam("c_expires", type_=jobs.c.lease_expires_at.type)
    if shape.lease_seconds is not None:
        # The database's clock: both are SQL (``now()``), the host's time is not used.
        host = dt.datetime.now(dt.UTC)
        due_now, expires = time.now(host), time.after(host, shape.lease_seconds)
    candidates = sa.select(jobs.c.id).where(broad(IS_PENDING), jobs.c.run_at <= due_now)
    if shape.by_type:
        types = jobs.c.job_type.in_(sa.bindparam("c_types", expanding=True))
        candidates = candidates.where(broad(types))
    if shape.by_id:
        candidates = candidates.where(jobs.c.id.in_(sa.bindparam("c_ids", expanding=True)))
    if shape.by_queue:
        candidates = candidates.where(jobs.c.queue.in_(sa.bindparam("c_queues", expanding=True)))
    candidates = (
        candidates.order_by(jobs.c.priority, jobs.c.run_at, jobs.c.id)
        .limit(sa.bindparam("c_limit", type_=sa.Integer()))
        # PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite has no row locks and ignores it,
        # its claim is atomic because the transaction began IMMEDIATE (write lock first).
        .with_for_update(skip_locked=True)
    )
    return (
        sa.update(jobs)
        .where(jobs.c.id.in_(candidates.scalar_subquery()))
        .values(
            status=JobStatus.RUNNING.value,
            attempts=jobs.c.attempts + 1,
            worker_id=sa.bindparam("c_worker", type_=jobs.c.worker_id.type),
            lease_token=sa.bindparam("c_token", type_=jobs.c.lease_token.type),
            lease_expires_at=expires,
            started_at=now,
            updated_at=now,
            version=jobs.c.version + 1,
        )
        .returning(*JOB_COLUMNS)
    )


def claim_event(job: Job, now: dt.datetime) -> dict[str, Any]:
    """The ``status`` event of a job's claim (its attempt and the worker that took it)."""
    payload = status_payload(JobStatus.RUNNING, attempt=job.attempts, worker_id=job.worker_id)
    return event_row(job.id, job.version, "status", payload, now)


def claim_params(
    time: Timebase,
    shape: ClaimShape,
    worker_id: str,
    limit: int,
    lease_seconds: float,
    now: dt.datetime,
    job_types: Sequence[str] | None,
    job_ids: Sequence[uuid.UUID] | None,
    queues: Sequence[str] | None,
) -> dict[str, Any]:
    """The values of one claim: a fresh lease token, now, the expiry (unless it is SQL in
    ``shape``) and the lists."""
    params: dict[str, Any] = {
        "c_now": now,
        "c_limit": limit,
        "c_worker": worker_id,
        "c_token": uuid.uuid4(),
    }
    if shape.lease_seconds is None:
        params["c_expires"] = time.after(now, lease_seconds)
    if job_types is not None:
        params["c_types"] = list(job_types)
    if job_ids is not None:
        params["c_ids"] = list(job_ids)
    if queues is not None:
        params["c_queues"] = list(queues)
    return params


CLAIM_LISTS = ("c_types", "c_ids", "c_queues")
"""The claim's list values (``IN`` a list): its SQL, compiled with them spread into one
parameter per item, depends on their lengths as well as on the shape."""


def expanded(
    compiled: sa.sql.compiler.Compiled, lists: tuple[tuple[str, int], ...]
) -> sa.sql.compiler.ExpandedState:
    """``compiled`` with each list (``lists``: name and length) spread into one parameter
    per item, named as ``spread_lists`` names the values; its own constants bound."""
    assert isinstance(compiled, sa.sql.compiler.SQLCompiler)
    blanks = {name: [None] * length for name, length in lists}
    return compiled.construct_expanded_state({**compiled.params, **blanks}, escape_names=False)


def list_lengths(params: dict[str, Any]) -> tuple[tuple[str, int], ...]:
    """The length of each list among a claim's values (``claim_params``)."""
    return tuple((name, len(params[name])) for name in CLAIM_LISTS if name in params)


def spread_lists(params: dict[str, Any]) -> dict[str, Any]:
    """A claim's values with each list spread into ``name_1 … name_n``, as SQLAlchemy
    names the parameters of a list it expands."""
    values = {name: value for name, value in params.items() if name not in CLAIM_LISTS}
    for name in CLAIM_LISTS:
        for index, item in enumerate(params.get(name, ()), 1):
            values[f"{name}_{index}"] = item
    return values
