"""Value objects the engine hands out: ``Job``, ``JobSpec``, ``JobEvent``, ``Lease``, ..."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from orbit.jobs.states import TERMINAL, JobStatus

JSON = Any
"""A JSON-serialisable value."""

LOCAL_CALLER = "local"
"""The idempotency scope of in-process callers (the CLI, handlers, schedules)."""


@dataclasses.dataclass(frozen=True, slots=True)
class JobSpec:
    """What to run: everything a caller decides when it enqueues a job.

    Example:
        >>> JobSpec("interview_message", {"interview_id": "…", "message": "hi"}, max_attempts=3)
    """

    job_type: str
    input_data: Mapping[str, JSON] = dataclasses.field(default_factory=dict)
    project_id: uuid.UUID | None = None
    interview_id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None
    priority: int = 0
    queue: str = "default"
    max_attempts: int | None = None  # None: the job type's default (or 3)
    timeout_seconds: float | None = None
    run_at: dt.datetime | None = None
    idempotency_key: str | None = None
    idempotency_caller: str = LOCAL_CALLER
    """Who sent the key: keys are unique per (caller, job type); HTTP passes its caller."""
    idempotency_fingerprint: str | None = None
    """The request the key came with (``None``: the door takes ``input_fingerprint``)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Job:
    """One row of the jobs table, as read at one moment."""

    id: uuid.UUID
    job_type: str
    status: JobStatus
    input_data: JSON
    result: JSON
    error: str | None
    progress_percent: float | None
    progress_message: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    completed_at: dt.datetime | None
    project_id: uuid.UUID | None
    interview_id: uuid.UUID | None
    parent_id: uuid.UUID | None
    attempts: int
    max_attempts: int
    priority: int
    run_at: dt.datetime
    timeout_seconds: float | None
    worker_id: str | None
    lease_token: uuid.UUID | None
    lease_expires_at: dt.datetime | None
    cancel_requested_at: dt.datetime | None
    idempotency_key: str | None
    version: int
    updated_at: dt.datetime
    queue: str = "default"  # added with named queues, after every other field
    error_code: str | None = None  # why it failed, for machines (``ErrorCode`` or a handler's)
    idempotency_caller: str = LOCAL_CALLER  # these two: added with scoped idempotency keys
    idempotency_fingerprint: str | None = None

    @property
    def finished(self) -> bool:
        """True once the job reached a terminal status."""
        return self.status in TERMINAL

    @property
    def lease(self) -> Lease:
        """The lease a worker holds on this claimed job."""
        if self.lease_token is None:
            raise ValueError(f"job {self.id} is not claimed")
        return Lease(self.id, self.lease_token)


@dataclasses.dataclass(frozen=True, slots=True)
class Lease:
    """Proof of ownership of a running job; every write after the claim presents it."""

    job_id: uuid.UUID
    token: uuid.UUID


@dataclasses.dataclass(frozen=True, slots=True)
class JobEvent:
    """One entry of a job's append-only event log; ``seq`` is the job's version after it."""

    id: int
    job_id: uuid.UUID
    seq: int
    kind: str
    payload: Mapping[str, JSON]
    created_at: dt.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class JobFilter:
    """Which jobs to list; ``None`` fields do not filter."""

    status: JobStatus | None = None
    job_type: str | None = None
    project_id: uuid.UUID | None = None
    interview_id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class JobPage:
    """A page of jobs, newest first, with the cursor for the next page (or ``None``)."""

    items: list[Job]
    next_cursor: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """How a worker finished one job, to be recorded in a batch.

    Exactly one of the shapes: ``completed`` with ``result``; ``failed`` with ``error``;
    ``pending`` with ``error`` and ``run_at`` (a retry; with ``release`` the attempt is
    given back, for jobs a stopping worker hands back unfinished); ``cancelled``. Every
    shape but ``completed`` may carry an ``error_code`` beside its ``error``.
    """

    lease: Lease
    status: JobStatus
    result: JSON = None
    error: str | None = None
    run_at: dt.datetime | None = None
    release: bool = False
    error_code: str | None = None
