"""The ``commit_generation`` handler: ask the AI for a Conventional Commits message, save it."""

from __future__ import annotations

import asyncio
import functools
import uuid
from typing import Any

import sqlalchemy as sa
from fastapi.encoders import jsonable_encoder
from sqlalchemy.engine import Connection, Engine

from orbit.ai import CommitMessage, render_prompt
from orbit.jobs import Fail, JobContext, JobRegistry
from orbit.planning.failures import ai_failures
from orbit.planning.records import new_id, one_or_none, parse_id, reading, utcnow
from orbit.planning.schema import backlog_items, commits, projects
from orbit.planning.services import PlanningServices
from orbit.planning.tasks import data as task_data

SAVE_STEP = "save"
SUBJECT_MAX = 300


def first_paragraph(text: str) -> str:
    """The text up to its first blank line (an execution's summary)."""
    return text.strip().split("\n\n", 1)[0].strip()


def task_source(engine: Engine, task_id: uuid.UUID) -> dict[str, Any]:
    """The prompt's material for an executed task; ``Fail`` if it is gone or unexecuted."""
    with reading(engine) as conn:
        item = one_or_none(conn, backlog_items, task_id)
        execution = task_data.latest_execution(conn, task_id) if item else None
    if item is None or execution is None:
        raise Fail(f"task {task_id} not found or not executed", code="not_found")
    summary = first_paragraph(execution["output"])
    description = "\n\n".join(part for part in (item["description"], summary) if part)
    return {
        "project_id": item["project_id"],
        "item_id": task_id,
        "prompt": {"title": item["title"], "description": description, "diff": ""},
    }


def manual_source(
    engine: Engine, project_id: uuid.UUID, description: str, diff: str
) -> dict[str, Any]:
    """The prompt's material for a described change; ``Fail`` if the project is gone."""
    with reading(engine) as conn:
        if one_or_none(conn, projects, project_id) is None:
            raise Fail(f"project {project_id} not found", code="not_found")
    return {
        "project_id": project_id,
        "item_id": None,
        "prompt": {"title": "", "description": description, "diff": diff},
    }


def save_commit(
    conn: Connection, source: dict[str, Any], message: CommitMessage, job_id: uuid.UUID
) -> Any:
    """Store the commit; the step's result is what the job returns."""
    commit_id = new_id()
    subject = message.subject[:SUBJECT_MAX]
    conn.execute(
        sa.insert(commits).values(
            id=commit_id,
            project_id=source["project_id"],
            item_id=source["item_id"],
            message=subject,
            body=message.body,
            job_id=job_id,
            created_at=utcnow(),
        )
    )
    return jsonable_encoder(
        {
            "commit_id": commit_id,
            "message": subject,
            "body": message.body,
            "project_id": source["project_id"],
            "item_id": source["item_id"],
        }
    )


async def generate_commit(
    ctx: JobContext, services: PlanningServices, inputs: dict[str, Any]
) -> Any:
    """``commit_generation``: ask the AI for a Conventional Commits message and save it."""
    task_id = inputs.get("task_id")
    await ctx.progress(10, "Reading task execution..." if task_id else "Reading change...")
    saved = await ctx.checkpoint(SAVE_STEP)
    if saved is None:
        if task_id:
            load = functools.partial(task_source, services.engine, parse_id(task_id, "task"))
        else:
            load = functools.partial(
                manual_source,
                services.engine,
                parse_id(inputs.get("project_id", ""), "project"),
                str(inputs.get("description", "")),
                str(inputs.get("diff", "")),
            )
        source = await asyncio.to_thread(load)
        await ctx.progress(30, "Generating commit message...")
        prompt = render_prompt("commit.message", **source["prompt"])
        message = await services.ai_for(ctx).structured(prompt, CommitMessage)
        await ctx.progress(80, "Saving commit...")
        write = functools.partial(save_commit, source=source, message=message, job_id=ctx.job_id)
        saved = await ctx.step(SAVE_STEP, write)
    await ctx.progress(100, "Commit message ready")
    return {"success": True, **saved}


def register(registry: JobRegistry, services: PlanningServices) -> None:
    """Register the ``commit_generation`` handler."""

    async def commit_generation(ctx: JobContext, /, **inputs: Any) -> Any:
        with ai_failures("commit_generation", services):
            return await generate_commit(ctx, services, inputs)

    registry.job("commit_generation", max_attempts=3, timeout_seconds=300)(commit_generation)
