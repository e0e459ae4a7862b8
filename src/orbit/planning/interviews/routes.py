"""Interview routes.

* ``POST /interviews`` starts an interview; its first question comes from the AI
  (``interview.next_question``) synchronously, as in the seeds.
* ``GET /interviews/{id}`` reads it with its messages, in order.
* ``POST /interviews/{id}/send-message-async`` enqueues an ``interview_message`` job (202).
* ``POST /interviews/{id}/send-message`` does the same work inside the request (200).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, StringConstraints

from orbit.ai import InterviewReply, render_prompt
from orbit.jobs.http import ClientDep, IdempotencyKeyDep, accepted
from orbit.planning.deps import ServicesDep
from orbit.planning.interviews.data import (
    append_messages,
    create_interview,
    interview_view,
    load_interview,
    message_view,
    messages_of,
)
from orbit.planning.interviews.handlers import JOB_TYPE, next_question_prompt, read_context
from orbit.planning.problems import PlanningRoute
from orbit.planning.projects.data import load_project, project_idea
from orbit.planning.records import reading

router = APIRouter(tags=["interviews"], route_class=PlanningRoute)

MAX_MESSAGE_CHARS = 20_000
ACCEPTED_MESSAGE = "Job created successfully. Poll GET /api/v1/jobs/{job_id} for result."

Content = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_MESSAGE_CHARS)
]


class InterviewIn(BaseModel):
    """What a client sends to start an interview."""

    project_id: uuid.UUID


class MessageIn(BaseModel):
    """A user's answer (1 to 20,000 characters, not blank)."""

    content: Content


class MessageOut(BaseModel):
    """One interview message."""

    id: uuid.UUID
    role: str
    content: str
    created_at: dt.datetime


class InterviewOut(BaseModel):
    """An interview with its messages, in order."""

    id: uuid.UUID
    project_id: uuid.UUID
    created_at: dt.datetime
    messages: list[MessageOut]


@router.post("/interviews", status_code=201, response_model=InterviewOut)
async def start_interview(body: InterviewIn, services: ServicesDep) -> dict[str, Any]:
    """Start an interview on a project; the AI asks the first question."""

    def project() -> dict[str, Any]:
        with reading(services.engine) as conn:
            return load_project(conn, body.project_id)

    found = await asyncio.to_thread(project)
    prompt = render_prompt("interview.next_question", idea=project_idea(found), transcript=[])
    reply = await services.ai_for(None).structured(prompt, InterviewReply)

    def save() -> dict[str, Any]:
        with services.engine.begin() as conn:
            return create_interview(conn, body.project_id, reply.message)

    return await asyncio.to_thread(save)


@router.get("/interviews/{interview_id}", response_model=InterviewOut)
def get_interview(interview_id: uuid.UUID, services: ServicesDep) -> dict[str, Any]:
    """An interview with its messages, in order."""
    with reading(services.engine) as conn:
        interview = load_interview(conn, interview_id)
        return interview_view(interview, messages_of(conn, interview_id))


@router.post("/interviews/{interview_id}/send-message-async", status_code=202)
def send_message_async(
    interview_id: uuid.UUID,
    body: MessageIn,
    services: ServicesDep,
    client: ClientDep,
    key: IdempotencyKeyDep,
) -> JSONResponse:
    """Enqueue the AI's answer to ``content``; poll the job (or stream its events)."""
    with reading(services.engine) as conn:
        interview = load_interview(conn, interview_id)
    job = client.enqueue(
        JOB_TYPE,
        {"interview_id": str(interview_id), "message": body.content},
        project_id=interview["project_id"],
        interview_id=interview_id,
        idempotency_key=key,
    )
    return accepted(job, ACCEPTED_MESSAGE.format(job_id=job.id))


@router.post("/interviews/{interview_id}/send-message", response_model=MessageOut)
async def send_message(
    interview_id: uuid.UUID, body: MessageIn, services: ServicesDep
) -> dict[str, Any]:
    """Answer within the request: save the user's message and the AI's reply (200)."""
    context = await asyncio.to_thread(read_context, services, interview_id)
    reply = await services.ai_for(None).structured(
        next_question_prompt(context, body.content), InterviewReply
    )

    def save() -> list[dict[str, Any]]:
        turns = [("user", body.content), ("assistant", reply.message)]
        with services.engine.begin() as conn:
            return append_messages(conn, interview_id, turns)

    rows = await asyncio.to_thread(save)
    return message_view(rows[-1])
