"""Request and response bodies of the jobs HTTP API.

``JobOut`` keeps the seeds' field names (``id, job_type, status, progress_percent, ...``)
and adds the engine's own (``attempts, version, ...``); lease tokens are never exposed.
Timestamps are ISO-8601 in UTC.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from orbit.jobs.http.inputs import InputModel, NulFreeText, StorableDatetime
from orbit.jobs.models import Job
from orbit.jobs.states import JobStatus

INT32_MAX = 2**31 - 1


class JobOut(BaseModel):
    """One job as clients see it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    job_type: str
    status: JobStatus
    progress_percent: float | None
    progress_message: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    completed_at: dt.datetime | None
    result: Any
    error: str | None
    input_data: Any
    project_id: uuid.UUID | None
    interview_id: uuid.UUID | None
    parent_id: uuid.UUID | None
    attempts: int
    max_attempts: int
    priority: int
    run_at: dt.datetime
    timeout_seconds: float | None
    cancel_requested_at: dt.datetime | None
    worker_id: str | None
    version: int
    updated_at: dt.datetime

    @classmethod
    def of(cls, job: Job) -> JobOut:
        """The public view of ``job``."""
        return cls.model_validate(job)


class JobList(BaseModel):
    """A page of jobs, newest first; pass ``next_cursor`` back as ``cursor`` for more."""

    items: list[JobOut]
    next_cursor: str | None


class JobStats(BaseModel):
    """How many jobs are in each status."""

    counts: dict[JobStatus, int]
    total: int


class Deleted(BaseModel):
    """How many jobs a bulk delete removed."""

    deleted: int


class Accepted(BaseModel):
    """The body of a 202 answer to a request that enqueued a job."""

    job_id: str
    status: JobStatus
    message: str


class EnqueueRequest(InputModel):
    """Enqueue a job of a registered type (``POST /jobs``)."""

    model_config = ConfigDict(extra="forbid")

    job_type: NulFreeText = Field(min_length=1, max_length=100)
    input_data: dict[str, Any] = Field(default_factory=dict)
    project_id: uuid.UUID | None = None
    interview_id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None
    priority: int = Field(0, ge=-INT32_MAX, le=INT32_MAX, description="Lower runs first.")
    max_attempts: int | None = Field(
        None, ge=1, le=1000, description="Defaults to the job type's registered value."
    )
    timeout_seconds: float | None = Field(
        None, gt=0, le=7 * 86_400, description="Defaults to the job type's registered value."
    )
    run_at: StorableDatetime | None = Field(None, description="Not before this time (with offset).")
