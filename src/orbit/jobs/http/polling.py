"""Long polling: ``GET /jobs/{id}?wait=S`` answers the moment the job changes.

With a baseline (the ``ETag`` in ``If-None-Match``, or ``?version=N``) it answers as soon
as the job's version differs, or after ``S`` seconds (0-60) with ``304 Not Modified``.
Without ``wait`` it is a plain conditional GET. The wait is woken by the store's change
feed through ``JobClient.subscribe`` (no timer poll).
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from orbit.jobs.http.dependencies import ClientDep, JobIdPath
from orbit.jobs.http.inputs import INT64_MAX
from orbit.jobs.http.responses import etag_for, etag_matches
from orbit.jobs.http.schemas import JobOut
from orbit.jobs.models import Job

MAX_WAIT_SECONDS = 60.0


def _validators(job: Job) -> dict[str, str]:
    return {"ETag": etag_for(job), "Cache-Control": "no-cache"}


async def get_job(
    job_id: JobIdPath,
    request: Request,
    client: ClientDep,
    wait: Annotated[
        float,
        Query(
            ge=0,
            le=MAX_WAIT_SECONDS,
            description="Long poll: wait up to this many seconds for the job to change.",
        ),
    ] = 0,
    version: Annotated[
        int | None,
        Query(
            ge=0,
            le=INT64_MAX,
            description="The version the client holds (instead of If-None-Match).",
        ),
    ] = None,
) -> Response:
    """One job; 304 while it still matches the client's ``If-None-Match`` or ``?version``.

    With ``?wait=S`` an unchanged job is held for up to ``S`` seconds and answered the
    moment it changes (200), or with a bodiless 304 when the time is up.
    """
    if_none_match = request.headers.get("if-none-match")

    def unchanged(job: Job) -> bool:
        if if_none_match:
            return etag_matches(if_none_match, etag_for(job))
        return version is not None and job.version == version

    job = await run_in_threadpool(client.get, job_id)
    if wait > 0 and unchanged(job):
        subscription = await client.subscribe(job_id=job_id)
        try:
            deadline = time.monotonic() + wait
            job = await run_in_threadpool(client.get, job_id)  # changed while subscribing?
            while unchanged(job) and (remaining := deadline - time.monotonic()) > 0:
                if await subscription.wait(remaining):
                    job = await run_in_threadpool(client.get, job_id)
        finally:
            subscription.close()
    if unchanged(job):
        return Response(status_code=304, headers=_validators(job))
    return JSONResponse(JobOut.of(job).model_dump(mode="json"), headers=_validators(job))
