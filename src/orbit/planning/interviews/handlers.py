"""The ``interview_message`` handler: the AI's next turn, streamed, then both turns saved.

The handler streams the AI's reply into the job's log as ``token`` events and saves the
user's answer and the reply together, once (``ctx.step("save", ...)``).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from sqlalchemy.engine import Connection

from orbit.ai import Prompt, Provider, render_prompt
from orbit.jobs import Fail, Job, JobClient, JobContext, JobFilter, JobRegistry, JobStatus
from orbit.planning.failures import ai_failures, missing_as_failure
from orbit.planning.interviews.data import InterviewContext, append_messages, load_context
from orbit.planning.records import reading
from orbit.planning.services import PlanningServices

JOB_TYPE = "interview_message"
SAVE_STEP = "save"
TOKEN_FLUSH_SECONDS = 0.05


def next_question_prompt(context: InterviewContext, answer: str | None = None) -> Prompt:
    """The interviewer prompt for the conversation so far (plus ``answer``)."""
    return render_prompt("interview.next_question", **context.prompt_variables(answer))


def read_context(services: PlanningServices, interview_id: uuid.UUID) -> InterviewContext:
    """The interview with its project and messages (``NotFound`` if unknown)."""
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


async def answer_message(
    ctx: JobContext, services: PlanningServices, interview_id: uuid.UUID, message: str | None
) -> dict[str, Any]:
    """Handle ``interview_message``: ask the AI for its next turn, then save both turns.

    Without ``message`` the turn is the interview's opening question, saved alone.
    """
    saved = await ctx.checkpoint(SAVE_STEP)
    if saved is not None:  # a crash after the save: the messages are already there
        return dict(saved)
    with missing_as_failure():
        context = await asyncio.to_thread(read_context, services, interview_id)
    await ctx.progress(25, "Calling AI model...")
    reply = await stream_reply(ctx, services.ai_for(ctx), next_question_prompt(context, message))
    if not reply.strip():
        raise Fail("AI returned an empty reply")
    await ctx.progress(75, "Saving response to database...")

    def save(conn: Connection) -> dict[str, Any]:
        turns = [("user", message)] if message is not None else []
        turns.append(("assistant", reply))
        rows = append_messages(conn, interview_id, turns, ctx.job_id)
        return {"success": True, "message_id": str(rows[-1]["id"]), "content": reply}

    result: dict[str, Any] = await ctx.step(SAVE_STEP, save)
    return result


def register(registry: JobRegistry, services: PlanningServices) -> None:
    """Register the ``interview_message`` handler, bound to ``services``."""

    @registry.job(JOB_TYPE, max_attempts=3, timeout_seconds=600)
    async def interview_message(
        ctx: JobContext, interview_id: str, message: str | None = None
    ) -> dict[str, Any]:
        with ai_failures(JOB_TYPE, services):
            return await answer_message(ctx, services, uuid.UUID(interview_id), message)


def pending_turn_of(job: Job) -> dict[str, Any] | None:
    """The AI's turn ``job`` is producing, unless it has saved it (``completed``)."""
    if job.status is JobStatus.COMPLETED:
        return None
    return {"job_id": job.id, "status": job.status.value, "error": job.error}


def pending_turn(client: JobClient, interview_id: uuid.UUID) -> dict[str, Any] | None:
    """The interview's newest ``interview_message`` job, while it has not saved its turn."""
    page = client.list(JobFilter(job_type=JOB_TYPE, interview_id=interview_id), limit=1)
    return pending_turn_of(page.items[0]) if page.items else None
