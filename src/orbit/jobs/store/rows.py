"""Translation between table rows and the engine's value objects, and list cursors."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from orbit.jobs.models import JSON, Job, JobEvent
from orbit.jobs.states import JobStatus
from orbit.jobs.store.schema import job_events, jobs

PROGRESS_MESSAGE_MAX = 500


def to_job(row: sa.Row[Any]) -> Job:
    """Build a ``Job`` from a full ``jobs`` row."""
    values = dict(row._mapping)
    values["status"] = JobStatus(values["status"])
    return Job(**values)


def new_job(values: Mapping[str, Any], input_data: JSON) -> Job:
    """The ``Job`` an enqueue's insert ``values`` store, as a read of it returns it.

    ``input_data`` is the stored document decoded again (a copy the caller cannot change);
    times are in UTC and every column the insert leaves out is empty.
    """
    timeout = values["timeout_seconds"]
    return Job(
        id=values["id"],
        job_type=values["job_type"],
        status=JobStatus(values["status"]),
        input_data=input_data,
        result=None,
        error=None,
        progress_percent=None,
        progress_message=None,
        created_at=values["created_at"].astimezone(dt.UTC),
        started_at=None,
        completed_at=None,
        project_id=values["project_id"],
        interview_id=values["interview_id"],
        parent_id=values["parent_id"],
        attempts=values["attempts"],
        max_attempts=values["max_attempts"],
        priority=values["priority"],
        run_at=values["run_at"].astimezone(dt.UTC),
        timeout_seconds=None if timeout is None else float(timeout),
        worker_id=None,
        lease_token=None,
        lease_expires_at=None,
        cancel_requested_at=None,
        idempotency_key=values["idempotency_key"],
        version=values["version"],
        updated_at=values["updated_at"].astimezone(dt.UTC),
        queue=values["queue"],
        error_code=None,
        idempotency_caller=values["idempotency_caller"],
        idempotency_fingerprint=values["idempotency_fingerprint"],
    )


def to_event(row: sa.Row[Any]) -> JobEvent:
    """Build a ``JobEvent`` from a ``job_events`` row."""
    return JobEvent(**row._mapping)


def event_row(
    job_id: uuid.UUID, seq: int, kind: str, payload: Mapping[str, JSON], now: dt.datetime
) -> dict[str, Any]:
    """The insert values of one event."""
    return {"job_id": job_id, "seq": seq, "kind": kind, "payload": dict(payload), "created_at": now}


def status_payload(status: JobStatus, **extra: JSON) -> dict[str, JSON]:
    """The payload of a ``status`` event; ``None`` extras are left out."""
    payload: dict[str, JSON] = {"status": status.value}
    payload.update({k: v for k, v in extra.items() if v is not None})
    return payload


def clip_message(message: str | None) -> str | None:
    """Progress messages are stored up to 500 characters; longer ones are cut with an ellipsis."""
    if message is None or len(message) <= PROGRESS_MESSAGE_MAX:
        return message
    return message[: PROGRESS_MESSAGE_MAX - 1] + "…"


def encode_cursor(job: Job) -> str:
    """An opaque cursor pointing just after ``job`` in newest-first order."""
    raw = json.dumps([job.created_at.isoformat(), str(job.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    """Read a cursor made by ``encode_cursor``; raises ``ValueError`` when it is malformed."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, job_id = json.loads(base64.urlsafe_b64decode(padded))
        when = dt.datetime.fromisoformat(created)
        if when.tzinfo is None:
            raise ValueError("cursor timestamp has no timezone")
        # In UTC now, so a forged offset near year 1 or 9999 fails here, not in the query.
        return when.astimezone(dt.UTC), uuid.UUID(job_id)
    except (ValueError, TypeError, AttributeError, OverflowError) as exc:
        raise ValueError(f"malformed cursor {cursor!r}") from exc


JOB_COLUMNS = tuple(jobs.c[field.name] for field in dataclasses.fields(Job))
"""Every ``jobs`` column, in ``Job``'s field order: a row of them becomes a ``Job``
positionally (``JobDecoder``)."""
_STATUS = next(i for i, c in enumerate(JOB_COLUMNS) if c.name == "status")


class RowDecoder:
    """Rows as a DB-API cursor returns them, decoded as SQLAlchemy would.

    For the hot statements that run straight on the driver (the status read, claims,
    enqueues, ``lone_reads.first_row``): each value goes through its column type's own
    result processor; the processors depend on the driver's type codes, known from the
    first row's cursor ``description``.
    """

    def __init__(self, types: Sequence[sa.types.TypeEngine[Any]], dialect: sa.Dialect) -> None:
        self._types = list(types)
        self._dialect = dialect
        self._processors: list[Callable[[Any], Any] | None] | None = None

    @property
    def needs_description(self) -> bool:
        """Whether ``decode`` still needs the cursor's ``description`` (only the first row)."""
        return self._processors is None

    def decode(self, row: Sequence[Any], description: Sequence[Sequence[Any]]) -> list[Any]:
        if self._processors is None:
            dialect = self._dialect
            self._processors = [
                kind.dialect_impl(dialect).result_processor(dialect, column[1])
                for kind, column in zip(self._types, description, strict=True)
            ]
        return [
            process(v) if process is not None and v is not None else v
            for process, v in zip(self._processors, row, strict=True)
        ]


class JobDecoder(RowDecoder):
    """Rows of ``JOB_COLUMNS`` made ``Job``s."""

    def __init__(self, dialect: sa.Dialect) -> None:
        super().__init__([c.type for c in JOB_COLUMNS], dialect)

    def to_job(self, row: Sequence[Any], description: Sequence[Sequence[Any]]) -> Job:
        return job_of(self.decode(row, description))


def job_of(values: Sequence[Any]) -> Job:
    """A ``Job`` from the decoded values of a ``JOB_COLUMNS`` row, in their order."""
    fields = list(values)
    fields[_STATUS] = JobStatus(fields[_STATUS])
    return Job(*fields)


NEW_JOB_COLUMNS = (
    "id",
    "job_type",
    "status",
    "input_data",
    "created_at",
    "updated_at",
    "project_id",
    "interview_id",
    "parent_id",
    "attempts",
    "max_attempts",
    "priority",
    "queue",
    "run_at",
    "timeout_seconds",
    "idempotency_key",
    "version",
)
"""The columns an enqueue sets (the bulk paths write exactly these)."""

ENQUEUE_COLUMNS = (*NEW_JOB_COLUMNS, "idempotency_caller", "idempotency_fingerprint")
"""The columns a single enqueue sets: a bulk one's and its idempotency scope."""

NEW_EVENT_COLUMNS = ("job_id", "seq", "kind", "payload", "created_at")
"""The columns of an appended event."""
EVENT_COLUMNS = tuple(job_events.c)
