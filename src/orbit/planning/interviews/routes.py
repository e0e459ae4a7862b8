"""Interview routes.

* ``POST /interviews`` starts an interview (201 at once); its first question comes from an
  ``interview_message`` job (``job_id``, ``pending_turn``), streamed like every reply. It
  honours ``Idempotency-Key``: a repeat answers with the interview already started.
* ``GET /interviews/{id}`` reads it with its messages, in order, and its ``pending_turn``.
* ``POST /interviews/{id}/send-message-async`` enqueues an ``interview_message`` job (202).
* ``POST /interviews/{id}/send-message`` does the same work inside the request (200), the
  one route that waits on the AI, within ``ORBIT_SEND_MESSAGE_TIMEOUT_SECONDS`` (else 504).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, StringConstraints

from orbit.ai import InterviewReply
from orbit.jobs import Job
from orbit.jobs.http import (
    ClientDep,
    IdempotencyKeyDep,
    InputModel,
    ScopedKeyDep,
    accepted,
    without_blocking,
)
from orbit.planning.deps import ServicesDep
from orbit.planning.errors import Conflict, DeadlineExceeded
from orbit.planning.interviews.data import (
    InterviewContext,
    answer_target,
    append_messages,
    create_interview,
    delete_interview,
    interview_view,
    load_interview,
    message_view,
    messages_of,
)
from orbit.planning.interviews.handlers import (
    JOB_TYPE,
    next_question_prompt,
    pending_turn,
    pending_turn_of,
    read_context,
)
from orbit.planning.problems import AI_PROBLEMS, PlanningRoute
from orbit.planning.projects.data import load_project
from orbit.planning.records import reading
from orbit.planning.services import PlanningServices

router = APIRouter(tags=["interviews"], route_class=PlanningRoute)

MAX_MESSAGE_CHARS = 20_000
ACCEPTED_MESSAGE = "Job created successfully. Poll GET /api/v1/jobs/{job_id} for result."

Content = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_MESSAGE_CHARS)
]


class InterviewIn(InputModel):
    """What a client sends to start an interview."""

    project_id: uuid.UUID


class MessageIn(InputModel):
    """A user's answer (1 to 20,000 characters, not blank)."""

    content: Content


class MessageOut(BaseModel):
    """One interview message."""

    id: uuid.UUID
    role: str
    content: str
    created_at: dt.datetime


class PendingTurn(BaseModel):
    """The AI's next turn while its ``interview_message`` job has not saved it.

    ``status`` is the job's: ``pending`` or ``running``, or ``failed``/``cancelled`` when
    it ended without a reply (retry the job to ask again).
    """

    job_id: uuid.UUID
    status: str
    error: str | None = None


class InterviewOut(BaseModel):
    """An interview with its messages, in order, and the AI's turn still to come."""

    id: uuid.UUID
    project_id: uuid.UUID
    created_at: dt.datetime
    messages: list[MessageOut]
    pending_turn: PendingTurn | None = None


class StartedInterview(InterviewOut):
    """A new interview: no messages yet; ``job_id`` is the job asking the first question."""

    job_id: uuid.UUID


@router.post("/interviews", status_code=201, response_model=StartedInterview)
def start_interview(
    body: InterviewIn, services: ServicesDep, client: ClientDep, key: ScopedKeyDep
) -> Any:
    """Start an interview on a project; a job asks the AI for the first question.

    Answers at once: the interview has no messages yet and its ``pending_turn`` (also
    ``job_id``) is the ``interview_message`` job that streams the question as ``token``
    events and saves it. A repeat with the same ``Idempotency-Key`` answers with the
    interview the first request started, as it is now.
    """
    if key is not None:
        earlier = client.find(key.key, caller=key.caller, fingerprint=key.fingerprint)
        if earlier is not None and earlier.interview_id is not None:
            return started(services, earlier)
    with services.engine.begin() as conn:
        load_project(conn, body.project_id)
        interview = create_interview(conn, body.project_id)
    try:
        job = client.enqueue(
            JOB_TYPE,
            {"interview_id": str(interview["id"])},
            project_id=body.project_id,
            interview_id=interview["id"],
            idempotency_key=key,
        )
    except Exception:
        # No interview may wait forever for a question nobody will ask.
        with services.engine.begin() as conn:
            delete_interview(conn, interview["id"])
        raise
    if job.interview_id != interview["id"]:  # a twin request with this key came first
        with services.engine.begin() as conn:
            delete_interview(conn, interview["id"])
    return started(services, job)


def started(services: PlanningServices, job: Job) -> JSONResponse:
    """The 201 answer for the interview ``job`` asks the first question of."""
    assert job.interview_id is not None
    with reading(services.engine) as conn:
        interview = load_interview(conn, job.interview_id)
        view = interview_view(interview, messages_of(conn, job.interview_id))
    view = {**view, "job_id": job.id, "pending_turn": pending_turn_of(job)}
    location = f"/api/v1/interviews/{job.interview_id}"
    return JSONResponse(jsonable_encoder(view), status_code=201, headers={"Location": location})


@router.get("/interviews/{interview_id}", response_model=InterviewOut)
def get_interview(
    interview_id: uuid.UUID, services: ServicesDep, client: ClientDep
) -> dict[str, Any]:
    """An interview with its messages, in order, and the AI's turn still to come (if any)."""
    with reading(services.engine) as conn:
        interview = load_interview(conn, interview_id)
        view = interview_view(interview, messages_of(conn, interview_id))
    return {**view, "pending_turn": pending_turn(client, interview_id)}


def _not_started(interview_id: uuid.UUID) -> Conflict:
    return Conflict(
        f"interview {interview_id} has no question yet; wait for its first question "
        "(the interview's pending_turn job) before answering",
        "interview-not-started",
    )


def answerable(services: PlanningServices, interview_id: uuid.UUID) -> InterviewContext:
    """The interview's context; ``Conflict`` while its first question is still coming."""
    context = read_context(services, interview_id)
    if not context.messages:
        raise _not_started(interview_id)
    return context


def answerable_project(services: PlanningServices, interview_id: uuid.UUID) -> uuid.UUID:
    """``answerable``'s checks in one read, for a route that only enqueues: the project."""
    project_id, asked = answer_target(services.lone_reads, interview_id)
    if not asked:
        raise _not_started(interview_id)
    return project_id


@router.post("/interviews/{interview_id}/send-message-async", status_code=202)
async def send_message_async(
    interview_id: uuid.UUID,
    body: MessageIn,
    services: ServicesDep,
    client: ClientDep,
    key: IdempotencyKeyDep,
) -> JSONResponse:
    """Enqueue the AI's answer to ``content``; poll the job (or stream its events)."""

    def enqueue(wait: bool) -> Job:
        return client.enqueue(
            JOB_TYPE,
            {"interview_id": str(interview_id), "message": body.content},
            project_id=answerable_project(services, interview_id),
            interview_id=interview_id,
            idempotency_key=key,
            wait=wait,
        )

    job = await without_blocking(client, enqueue)
    return accepted(job, ACCEPTED_MESSAGE.format(job_id=job.id))


@router.post(
    "/interviews/{interview_id}/send-message", response_model=MessageOut, responses=AI_PROBLEMS
)
async def send_message(
    interview_id: uuid.UUID, body: MessageIn, services: ServicesDep
) -> dict[str, Any]:
    """Answer within the request: save the user's message and the AI's reply (200).

    The AI call, retries included, has ``ORBIT_SEND_MESSAGE_TIMEOUT_SECONDS``; past it the
    answer is a 504 problem and nothing is saved.
    """
    context = await asyncio.to_thread(answerable, services, interview_id)
    prompt = next_question_prompt(context, body.content)
    deadline = services.settings.send_message_timeout_seconds
    try:
        async with asyncio.timeout(deadline):
            reply = await services.ai_for(None).structured(prompt, InterviewReply)
    except TimeoutError:
        raise DeadlineExceeded("send-message", deadline) from None

    def save() -> list[dict[str, Any]]:
        turns = [("user", body.content), ("assistant", reply.message)]
        with services.engine.begin() as conn:
            return append_messages(conn, interview_id, turns)

    rows = await asyncio.to_thread(save)
    return message_view(rows[-1])
