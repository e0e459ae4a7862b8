"""Request and response bodies of the jobs HTTP API.

``JobOut`` keeps the seeds' field names (``id, job_type, status, progress_percent, ...``)
and adds the engine's own (``attempts, version, queue, error_code, ...``); lease tokens are
never exposed. Timestamps are ISO-8601 in UTC.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from orbit.jobs.http.inputs import InputModel, NulFreeText, StorableDatetime
from orbit.jobs.models import Job
from orbit.jobs.states import JobStatus

INT32_MAX = 2**31 - 1

ERROR_CODE_DESCRIPTION = """Why the job failed (or its last attempt did), for machines; \
`null` when it did not. `error` keeps the human-readable message.

Set by the engine: `handler_error` (the handler raised), `timed_out`, `worker_lost` (its \
worker stopped heartbeating), `worker_stopped` (handed back at shutdown, still pending), \
`cancelled`, `invalid_result` (not JSON), `invalid_input` (it does not fit the handler). \
Set by Orbit's AI jobs: `ai_invalid_output`, `ai_output_truncated`, `ai_auth`, \
`ai_bad_request`, `ai_rate_limited`, `ai_unavailable`, `ai_timeout`, `ai_config`, \
`ai_prompt`, `ai_error`, `not_found`, `invalid_input`. Other \
handlers may bring their own snake_case codes (at most 64 characters)."""


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
    error: str | None = Field(description="What went wrong, for people; see `error_code`.")
    error_code: str | None = Field(description=ERROR_CODE_DESCRIPTION)
    input_data: Any
    project_id: uuid.UUID | None
    interview_id: uuid.UUID | None
    parent_id: uuid.UUID | None
    attempts: int
    max_attempts: int
    priority: int
    queue: str = Field(description="The named queue the job runs on.")
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


class CancelledJobs(BaseModel):
    """The pending jobs a bulk cancel cancelled."""

    cancelled: int
    job_ids: list[uuid.UUID]


class PendingFilter(InputModel):
    """Which pending jobs a bulk cancel or delete selects (``POST /jobs/cancel|delete``).

    ``status`` must be given and be ``pending``: running jobs are cancelled one by one
    (``POST /jobs/{id}/cancel``), finished ones pruned (``DELETE /jobs``). Unset fields
    do not filter.
    """

    model_config = ConfigDict(extra="forbid")

    status: Literal["pending"]
    job_type: NulFreeText | None = Field(None, min_length=1, max_length=100)
    project_id: uuid.UUID | None = None
    interview_id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None


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
    priority: int = Field(
        0, ge=-INT32_MAX, le=INT32_MAX, description="Lower runs first (within its queue)."
    )
    queue: NulFreeText = Field("default", min_length=1, max_length=100)
    max_attempts: int | None = Field(
        None, ge=1, le=1000, description="Defaults to the job type's registered value."
    )
    timeout_seconds: float | None = Field(
        None, gt=0, le=7 * 86_400, description="Defaults to the job type's registered value."
    )
    run_at: StorableDatetime | None = Field(None, description="Not before this time (with offset).")
