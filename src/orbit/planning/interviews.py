"""Interviews: the product-discovery conversation, and the ``interview_message`` job.

Routes:

* ``POST /interviews`` starts an interview; its first question comes from the AI
  (``interview.next_question``) synchronously, as in the seeds.
* ``GET /interviews/{id}`` reads it with its messages, in order.
* ``POST /interviews/{id}/send-message-async`` enqueues an ``interview_message`` job and
  answers 202; the handler streams the AI's reply into the job's log as ``token`` events
  and saves the user's answer and the reply together, once (``ctx.step("save", ...)``).
* ``POST /interviews/{id}/send-message`` does the same work inside the request (200).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, StringConstraints
from sqlalchemy.engine import Connection

from orbit.ai import InterviewReply, Prompt, Provider, render_prompt
from orbit.jobs import Fail, JobContext, JobRegistry
from orbit.jobs.http import ClientDep, IdempotencyKeyDep, accepted
from orbit.planning.deps import ServicesDep
from orbit.planning.interview_ai import ai_http_errors, ai_job_errors, missing_as_failure
from orbit.planning.interview_data import (
    InterviewContext,
    append_messages,
    create_interview,
    interview_view,
    load_context,
    load_interview,
    message_view,
    messages_of,
)
from orbit.planning.projects import load_project, project_idea
from orbit.planning.records import reading
from orbit.planning.services import PlanningServices

router = APIRouter(tags=["interviews"])

JOB_TYPE = "interview_message"
SAVE_STEP = "save"
TOKEN_FLUSH_SECONDS = 0.05
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


# -- helpers ------------------------------------------------------------------------------


def next_question_prompt(context: InterviewContext, answer: str | None = None) -> Prompt:
    """The interviewer prompt for the conversation so far (plus ``answer``)."""
    return render_prompt("interview.next_question", **context.prompt_variables(answer))


def read_context(services: PlanningServices, interview_id: uuid.UUID) -> InterviewContext:
    """The interview with its project and messages (404 problem if unknown)."""
    with reading(services.engine) as conn:
        return load_context(conn, interview_id)


async def stream_reply(ctx: JobContext, ai: Provider, prompt: Prompt) -> str:
    """Stream the AI's reply, appending it to the job's log as batched ``token`` events."""
    parts: list[str] = []
    batch: list[str] = []
    flushed = time.monotonic()
    async with ai.stream(prompt) as stream:
        async for delta in stream:
            parts.append(delta)
            batch.append(delta)
            if time.monotonic() - flushed >= TOKEN_FLUSH_SECONDS:
                await ctx.emit("token", {"text": "".join(batch), "attempt": ctx.attempt})
                batch.clear()
                flushed = time.monotonic()
    if batch:
        await ctx.emit("token", {"text": "".join(batch), "attempt": ctx.attempt})
    return "".join(parts)


# -- the job ------------------------------------------------------------------------------


async def answer_message(
    ctx: JobContext, services: PlanningServices, interview_id: uuid.UUID, message: str
) -> dict[str, Any]:
    """Handle ``interview_message``: ask the AI for its next turn, then save both turns."""
    saved = await ctx.checkpoint(SAVE_STEP)
    if saved is not None:  # a crash after the save: the messages are already there
        return dict(saved)
    with missing_as_failure():
        context = await asyncio.to_thread(read_context, services, interview_id)
    await ctx.progress(25, "Calling AI model...")
    with ai_job_errors():
        reply = await stream_reply(
            ctx, services.ai_for(ctx.job_id), next_question_prompt(context, message)
        )
    if not reply.strip():
        raise Fail("AI returned an empty reply")
    await ctx.progress(75, "Saving response to database...")

    def save(conn: Connection) -> dict[str, Any]:
        turns = [("user", message), ("assistant", reply)]
        rows = append_messages(conn, interview_id, turns, ctx.job_id)
        return {"success": True, "message_id": str(rows[-1]["id"]), "content": reply}

    result: dict[str, Any] = await ctx.step(SAVE_STEP, save)
    return result


def register(registry: JobRegistry, services: PlanningServices) -> None:
    """Register the ``interview_message`` handler, bound to ``services``."""

    @registry.job(JOB_TYPE, max_attempts=3, timeout_seconds=600)
    async def interview_message(ctx: JobContext, interview_id: str, message: str) -> dict[str, Any]:
        return await answer_message(ctx, services, uuid.UUID(interview_id), message)


# -- routes -------------------------------------------------------------------------------


@router.post("/interviews", status_code=201, response_model=InterviewOut)
async def start_interview(body: InterviewIn, services: ServicesDep) -> dict[str, Any]:
    """Start an interview on a project; the AI asks the first question."""

    def project() -> dict[str, Any]:
        with reading(services.engine) as conn:
            return load_project(conn, body.project_id)

    found = await asyncio.to_thread(project)
    prompt = render_prompt("interview.next_question", idea=project_idea(found), transcript=[])
    with ai_http_errors():
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
    with ai_http_errors():
        reply = await services.ai_for(None).structured(
            next_question_prompt(context, body.content), InterviewReply
        )

    def save() -> list[dict[str, Any]]:
        turns = [("user", body.content), ("assistant", reply.message)]
        with services.engine.begin() as conn:
            return append_messages(conn, interview_id, turns)

    rows = await asyncio.to_thread(save)
    return message_view(rows[-1])
