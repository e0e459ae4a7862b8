"""The jobs routes: thin wrappers over ``JobClient``, mounted by the application.

Every other route is a plain ``def``: FastAPI runs it in its threadpool, so the
synchronous database calls never block the event loop. Errors are raised as the engine's exceptions
(``JobNotFound``, ``InvalidTransition``...) and turned into problems by the handlers
that ``install_problem_handlers`` installs.

Routes (relative to the mount prefix, ``/api/v1`` in Orbit)::

    GET    /jobs/stats              counts by status
    GET    /jobs/events             a project's jobs as Server-Sent Events
    GET    /events                  every job's status and progress as Server-Sent Events
    GET    /jobs                    list, filtered, cursor-paginated
    POST   /jobs                    enqueue a job of a registered type      202
    DELETE /jobs                    delete finished jobs older than a duration
    POST   /jobs/cancel             cancel the pending jobs a filter selects
    POST   /jobs/delete             delete the pending jobs a filter selects
    GET    /jobs/{job_id}           one job, with ETag / If-None-Match      200 | 304
                                    and long polling (?wait=S)
    DELETE /jobs/{job_id}           delete a finished job                   204
    GET    /jobs/{job_id}/events    the job's events as Server-Sent Events  200 | 204
    POST   /jobs/{job_id}/cancel    cancel (pending) or ask to stop          202
    POST   /jobs/{job_id}/retry     send a failed/cancelled job back         202
    POST   /auth/stream-token       a short-lived token for one job's or project's stream

The streaming routes and long polling are ``async`` and live in ``streams.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from orbit.jobs.errors import UnknownJobType
from orbit.jobs.http.dependencies import (
    ClientDep,
    CursorDep,
    IdempotencyKeyDep,
    JobIdPath,
    JobTypeQuery,
    OlderThanDep,
    RegistryDep,
)
from orbit.jobs.http.nonblocking import without_blocking
from orbit.jobs.http.polling import get_job
from orbit.jobs.http.problems import PROBLEM_MEDIA_TYPE, Problem
from orbit.jobs.http.responses import accepted, etag_for
from orbit.jobs.http.schemas import (
    Accepted,
    CancelledJobs,
    Deleted,
    EnqueueRequest,
    JobList,
    JobOut,
    JobStats,
    PendingFilter,
)
from orbit.jobs.http.security import StreamToken, stream_token
from orbit.jobs.http.streams import all_events, job_events, project_events
from orbit.jobs.models import Job, JobFilter
from orbit.jobs.states import TERMINAL, JobStatus

GET_JOB_ROUTE = "orbit_jobs_get"

_PROBLEM: dict[str, Any] = {"content": {PROBLEM_MEDIA_TYPE: {}}}
_EVENT_STREAM: dict[str, Any] = {
    "description": "Server-Sent Events.",
    "content": {"text/event-stream": {}},
}


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    described = {
        401: "Missing or invalid bearer token.",
        404: "No job with that id.",
        409: "The job's status does not allow this.",
        413: "Request body too large.",
        422: "Invalid request (problem details list the errors).",
        503: "Too many open event streams (see Retry-After), or the database is unavailable.",
    }
    return {s: {"description": described[s], **_PROBLEM} for s in statuses}


TypeFilter = JobTypeQuery
IdFilter = Annotated[uuid.UUID | None, Query()]


def _location(request: Request, job: Job) -> str:
    return str(request.app.url_path_for(GET_JOB_ROUTE, job_id=str(job.id)))


def _set_validators(response: Response, job: Job) -> None:
    response.headers["ETag"] = etag_for(job)
    response.headers["Cache-Control"] = "no-cache"


def job_stats(
    client: ClientDep, project_id: IdFilter = None, job_type: TypeFilter = None
) -> JobStats:
    """How many jobs are in each status, optionally for one project or job type."""
    counts = client.count_by_status(JobFilter(job_type=job_type, project_id=project_id))
    return JobStats(counts=counts, total=sum(counts.values()))


def list_jobs(
    client: ClientDep,
    cursor: CursorDep,
    status: Annotated[JobStatus | None, Query()] = None,
    job_type: TypeFilter = None,
    project_id: IdFilter = None,
    interview_id: IdFilter = None,
    parent_id: IdFilter = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> JobList:
    """Jobs newest first; pass ``next_cursor`` back as ``cursor`` for the next page."""
    where = JobFilter(status, job_type, project_id, interview_id, parent_id)
    page = client.list(where, limit, cursor)
    return JobList(items=[JobOut.of(j) for j in page.items], next_cursor=page.next_cursor)


async def enqueue_job(
    body: EnqueueRequest,
    request: Request,
    client: ClientDep,
    registry: RegistryDep,
    key: IdempotencyKeyDep,
) -> JSONResponse:
    """Enqueue a job of a registered type; poll the ``Location`` for its progress.

    A repeated ``Idempotency-Key`` returns its job for the same request, a 422 otherwise.
    """
    if body.job_type not in registry:
        raise UnknownJobType(body.job_type)

    def enqueue(wait: bool) -> Job:
        return client.enqueue(
            body.job_type,
            body.input_data,
            project_id=body.project_id,
            interview_id=body.interview_id,
            parent_id=body.parent_id,
            priority=body.priority,
            queue=body.queue,
            max_attempts=body.max_attempts,  # None: the registry's default (JobClient)
            timeout_seconds=body.timeout_seconds,
            run_at=body.run_at,
            idempotency_key=key,
            wait=wait,
        )

    job = await without_blocking(client, enqueue)
    return accepted(job, location=_location(request, job))


def delete_jobs(
    client: ClientDep,
    older_than: OlderThanDep,
    status: Annotated[list[JobStatus] | None, Query()] = None,
    job_type: TypeFilter = None,
) -> Deleted:
    """Delete finished jobs (of the given ``status``es, default all) older than a duration."""
    statuses = sorted(set(status or TERMINAL))
    unfinished = [s.value for s in statuses if s not in TERMINAL]
    if unfinished:
        error = {
            "loc": ["query", "status"],
            "msg": "only finished statuses can be deleted",
            "type": "value_error",
        }
        raise Problem(
            422,
            f"Only finished jobs can be deleted here, not {', '.join(unfinished)} ones "
            "(POST /jobs/delete deletes pending jobs by filter).",
            slug="validation-error",
            extensions={"errors": [error]},
        )
    return Deleted(deleted=client.prune(older_than, statuses, job_type))


def _pending(body: PendingFilter) -> JobFilter:
    return JobFilter(
        JobStatus.PENDING, body.job_type, body.project_id, body.interview_id, body.parent_id
    )


def cancel_pending_jobs(body: PendingFilter, client: ClientDep) -> CancelledJobs:
    """Cancel every pending job the filter selects; a job claimed meanwhile is left alone."""
    ids = client.cancel_pending(_pending(body))
    return CancelledJobs(cancelled=len(ids), job_ids=ids)


def delete_pending_jobs(body: PendingFilter, client: ClientDep) -> Deleted:
    """Delete every pending job the filter selects, with its events."""
    return Deleted(deleted=client.delete_pending(_pending(body)))


def delete_job(job_id: JobIdPath, client: ClientDep) -> Response:
    """Delete a finished job and its events (409 while it is pending or running)."""
    client.delete(job_id)
    return Response(status_code=204)


def cancel_job(job_id: JobIdPath, client: ClientDep, response: Response) -> JobOut:
    """Cancel a pending job now, or ask a running one to stop (``cancel_requested_at``)."""
    job = client.cancel(job_id)
    _set_validators(response, job)
    return JobOut.of(job)


def retry_job(job_id: JobIdPath, client: ClientDep, request: Request, response: Response) -> JobOut:
    """Send a failed or cancelled job back to ``pending``."""
    job = client.retry(job_id)
    _set_validators(response, job)
    response.headers["Location"] = _location(request, job)
    response.headers["Retry-After"] = "1"
    return JobOut.of(job)


def jobs_router(*, tags: Sequence[str] = ("jobs",)) -> APIRouter:
    """The jobs API as a router; include it with a prefix (Orbit uses ``/api/v1``).

    The application must set ``app.state.client`` (a ``JobClient``) and
    ``app.state.registry`` (a ``JobRegistry``), and call ``install_problem_handlers``.
    """
    router = APIRouter(tags=list(tags), responses=_problems(401))
    add = router.add_api_route
    # /jobs/stats and /jobs/events come before /jobs/{job_id}: neither is a job id.
    add(
        "/jobs/stats", job_stats, methods=["GET"], response_model=JobStats, responses=_problems(422)
    )
    add(
        "/jobs/events",
        project_events,
        methods=["GET"],
        response_class=Response,
        responses={200: _EVENT_STREAM, **_problems(422, 503)},
    )
    add(
        "/events",
        all_events,
        methods=["GET"],
        response_class=Response,
        responses={200: _EVENT_STREAM, **_problems(422, 503)},
    )
    add("/jobs", list_jobs, methods=["GET"], response_model=JobList, responses=_problems(422))
    add(
        "/jobs",
        enqueue_job,
        methods=["POST"],
        status_code=202,
        response_model=Accepted,
        responses={
            **_problems(413),
            422: {
                "description": "Invalid request, or an Idempotency-Key used for another "
                "request (idempotency-key-reused).",
                **_PROBLEM,
            },
        },
    )
    add("/jobs", delete_jobs, methods=["DELETE"], response_model=Deleted, responses=_problems(422))
    add(
        "/jobs/cancel",
        cancel_pending_jobs,
        methods=["POST"],
        response_model=CancelledJobs,
        responses=_problems(413, 422),
    )
    add(
        "/jobs/delete",
        delete_pending_jobs,
        methods=["POST"],
        response_model=Deleted,
        responses=_problems(413, 422),
    )
    add(
        "/jobs/{job_id}",
        get_job,
        methods=["GET"],
        name=GET_JOB_ROUTE,
        response_model=JobOut,
        responses={
            304: {"description": "Not modified (If-None-Match or ?version; ?wait timed out)."},
            **_problems(404, 422),
        },
    )
    add(
        "/jobs/{job_id}/events",
        job_events,
        methods=["GET"],
        response_class=Response,
        responses={
            200: _EVENT_STREAM,
            204: {"description": "The job is finished and the client has every event."},
            **_problems(404, 422, 503),
        },
    )
    add(
        "/jobs/{job_id}",
        delete_job,
        methods=["DELETE"],
        status_code=204,
        response_class=Response,
        responses=_problems(404, 409, 422),
    )
    add(
        "/jobs/{job_id}/cancel",
        cancel_job,
        methods=["POST"],
        status_code=202,
        response_model=JobOut,
        responses=_problems(404, 409, 422),
    )
    add(
        "/jobs/{job_id}/retry",
        retry_job,
        methods=["POST"],
        status_code=202,
        response_model=JobOut,
        responses=_problems(404, 409, 422),
    )
    add(
        "/auth/stream-token",
        stream_token,
        methods=["POST"],
        response_model=StreamToken,
        tags=["auth"],
        responses=_problems(422),
    )
    return router
