"""Backlog generation routes: each validates, enqueues a ``backlog_generation`` job, answers 202.

* ``POST /interviews/{id}/generate-prompts-async``: the whole backlog (``mode: full``);
* ``POST /backlog/interview/{id}/generate-epic``: the epic only (``mode: epic``);
* ``POST /backlog/epic/{id}/generate-stories``: stories of an epic (``mode: stories``);
* ``POST /backlog/story/{id}/generate-tasks``: tasks of a story (``mode: tasks``).

Unknown ids are 404 problems; an interview without answers, or an id of the wrong kind,
is a 409 problem saying why. Every route honours ``Idempotency-Key``. The handler is in
``orbit.planning.backlog.handlers``.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from orbit.jobs import IdempotencyKey, Job, JobClient
from orbit.jobs.http import ClientDep, IdempotencyKeyDep, accepted, job_location, without_blocking
from orbit.planning.backlog.data import load_item
from orbit.planning.backlog.handlers import JOB_TYPE
from orbit.planning.deps import ServicesDep
from orbit.planning.errors import Conflict
from orbit.planning.interviews.data import load_context
from orbit.planning.problems import PlanningRoute
from orbit.planning.records import reading
from orbit.planning.services import PlanningServices

router = APIRouter(tags=["backlog"], route_class=PlanningRoute)


def answered_interview(services: PlanningServices, interview_id: uuid.UUID) -> dict[str, Any]:
    """The interview (404 if unknown), with its ``interview_id``; a 409 problem while it
    has no answers."""
    with reading(services.engine) as conn:
        context = load_context(conn, interview_id)
    if context.answers == 0:
        raise Conflict(
            f"interview {interview_id} has no answers yet; answer at least one question "
            "before generating a backlog",
            slug="interview-not-answered",
        )
    return {**context.interview, "interview_id": interview_id}


async def enqueue(
    client: JobClient,
    input_data: dict[str, Any],
    row: Callable[[], dict[str, Any]],
    key: IdempotencyKey | None,
) -> JSONResponse:
    """Enqueue a ``backlog_generation`` job for the project and interview of ``row()``
    (the checked item, read first)."""

    def insert(wait: bool) -> Job:
        item = row()
        return client.enqueue(
            JOB_TYPE,
            input_data,
            project_id=item["project_id"],
            interview_id=item["interview_id"],
            idempotency_key=key,
            wait=wait,
        )

    job = await without_blocking(client, insert)
    message = f"Backlog generation job created. Poll GET {job_location(job)} for result."
    return accepted(job, message)


def _item(services: PlanningServices, item_id: uuid.UUID, kind: str) -> dict[str, Any]:
    with reading(services.engine) as conn:
        return load_item(conn, item_id, kind)


@router.post("/interviews/{interview_id}/generate-prompts-async", status_code=202)
async def generate_prompts_async(
    interview_id: uuid.UUID, services: ServicesDep, client: ClientDep, key: IdempotencyKeyDep
) -> JSONResponse:
    """Generate the whole backlog (epic → stories → tasks) from the interview."""
    row = functools.partial(answered_interview, services, interview_id)
    return await enqueue(client, {"mode": "full", "interview_id": str(interview_id)}, row, key)


@router.post("/backlog/interview/{interview_id}/generate-epic", status_code=202)
async def generate_epic(
    interview_id: uuid.UUID, services: ServicesDep, client: ClientDep, key: IdempotencyKeyDep
) -> JSONResponse:
    """Generate the epic of the interview."""
    row = functools.partial(answered_interview, services, interview_id)
    return await enqueue(client, {"mode": "epic", "interview_id": str(interview_id)}, row, key)


@router.post("/backlog/epic/{epic_id}/generate-stories", status_code=202)
async def generate_stories(
    epic_id: uuid.UUID, services: ServicesDep, client: ClientDep, key: IdempotencyKeyDep
) -> JSONResponse:
    """Generate user stories for an epic."""
    row = functools.partial(_item, services, epic_id, "epic")
    return await enqueue(client, {"mode": "stories", "epic_id": str(epic_id)}, row, key)


@router.post("/backlog/story/{story_id}/generate-tasks", status_code=202)
async def generate_tasks(
    story_id: uuid.UUID, services: ServicesDep, client: ClientDep, key: IdempotencyKeyDep
) -> JSONResponse:
    """Generate engineering tasks for a story."""
    row = functools.partial(_item, services, story_id, "story")
    return await enqueue(client, {"mode": "tasks", "story_id": str(story_id)}, row, key)
