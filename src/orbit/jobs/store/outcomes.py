"""The worker's hot writes, prebuilt: recording how jobs ended, and progress.

Each statement is built once with bound parameters and guarded by the lease token, so a
write costs one execution and no statement construction. PostgreSQL replaces them with
single-statement versions (see ``postgres.py``). ``unstorable`` and ``describe_error``
tell the worker's flusher how a failed write failed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orbit.jobs.models import JSON, Outcome
from orbit.jobs.states import JobStatus
from orbit.jobs.store.guards import held
from orbit.jobs.store.rows import event_row, status_payload
from orbit.jobs.store.schema import JSONType, UTCDateTime, job_events, jobs

_S = JobStatus
_p = sa.bindparam

RECORD = (
    sa.update(jobs)
    .where(held(_p("o_id", type_=sa.Uuid()), _p("o_token", type_=sa.Uuid())))
    .values(
        status=_p("o_status", type_=sa.String()),
        result=_p("o_result", type_=JSONType),
        error=_p("o_error", type_=sa.Text()),
        error_code=_p("o_error_code", type_=sa.String()),
        completed_at=_p("o_completed_at", type_=UTCDateTime()),
        run_at=sa.func.coalesce(_p("o_run_at", type_=UTCDateTime()), jobs.c.run_at),
        worker_id=sa.case((_p("o_requeue", type_=sa.Boolean()), sa.null()), else_=jobs.c.worker_id),
        attempts=jobs.c.attempts - _p("o_given_back", type_=sa.Integer()),
        progress_percent=sa.func.coalesce(
            _p("o_progress", type_=sa.Float()), jobs.c.progress_percent
        ),
        lease_token=None,
        lease_expires_at=None,
        updated_at=_p("o_now", type_=UTCDateTime()),
        version=jobs.c.version + 1,
    )
    .returning(jobs.c.version)
)


PROGRESS = (
    sa.update(jobs)
    .where(held(_p("p_id", type_=sa.Uuid()), _p("p_token", type_=sa.Uuid())))
    .values(
        progress_percent=_p("p_percent", type_=sa.Float()),
        progress_message=_p("p_message", type_=sa.String()),
        updated_at=_p("p_now", type_=UTCDateTime()),
        version=jobs.c.version + 1,
    )
    .returning(jobs.c.version)
)


BUMP = (
    sa.update(jobs)
    .where(held(_p("b_id", type_=sa.Uuid()), _p("b_token", type_=sa.Uuid())))
    .values(updated_at=_p("b_now", type_=UTCDateTime()), version=jobs.c.version + 1)
    .returning(jobs.c.version)
)
"""Claim the next version of a running job under its lease (for custom events and steps)."""


def outcome_params(outcome: Outcome, now: dt.datetime) -> dict[str, Any]:
    """The parameters of ``RECORD`` for one outcome."""
    requeue = outcome.status is _S.PENDING
    return {
        "o_id": outcome.lease.job_id,
        "o_token": outcome.lease.token,
        "o_status": outcome.status.value,
        "o_result": None if requeue else outcome.result,
        "o_error": outcome.error,
        "o_error_code": _code(outcome),
        "o_completed_at": None if requeue else now,
        "o_run_at": (outcome.run_at or now) if requeue else None,
        "o_requeue": requeue,
        # Handed back unfinished (worker shutdown): the attempt does not count.
        "o_given_back": 1 if outcome.release else 0,
        "o_progress": 100.0 if outcome.status is _S.COMPLETED else None,
        "o_now": now,
    }


def outcome_payload(outcome: Outcome) -> dict[str, JSON]:
    """The ``status`` event that records ``outcome``."""
    run_at = outcome.run_at.isoformat() if outcome.run_at else None
    return status_payload(
        outcome.status, error=outcome.error, error_code=_code(outcome), run_at=run_at
    )


def _code(outcome: Outcome) -> str | None:
    # Plain text: an ``ErrorCode`` member is a str, but drivers may adapt enums by name.
    return None if outcome.error_code is None else str(outcome.error_code)


def record_outcome(conn: Connection, outcome: Outcome, now: dt.datetime) -> dict[str, Any] | None:
    """Record one outcome under its lease; returns its event row, or None if the lease was lost."""
    version = conn.execute(RECORD, outcome_params(outcome, now)).scalar()
    if version is None:
        return None
    return event_row(outcome.lease.job_id, version, "status", outcome_payload(outcome), now)


def insert_events(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Append event rows (no-op when empty)."""
    if rows:
        conn.execute(sa.insert(job_events), rows)


def unstorable(exc: BaseException) -> bool:
    """Whether the database refused a write for what it holds, not for being away.

    A data error (a value the column type refuses), an integrity error or a value the
    driver cannot encode fails the same way however often it is tried; anything else
    (connection lost, database locked, writes refused) may pass on a later try.
    """
    if isinstance(exc, sa.exc.DataError | sa.exc.IntegrityError):
        return True
    # A value the driver cannot even send (UnicodeEncodeError is a ValueError).
    cause = exc.orig if isinstance(exc, sa.exc.StatementError) else exc
    return isinstance(cause, ValueError | TypeError)


def describe_error(exc: BaseException) -> str:
    """A database error in one line, without its statement and bound parameters.

    SQLAlchemy's message carries every parameter of the statement: for a batch of
    outcomes, every job's full result. Logs and job errors get the driver's reason only.
    """
    if isinstance(exc, sa.exc.StatementError) and exc.orig is not None:
        reason = str(exc.orig).strip().splitlines()
        return f"{type(exc.orig).__name__}: {reason[0] if reason else ''}".rstrip(": ")
    return f"{type(exc).__name__}: {exc}"
