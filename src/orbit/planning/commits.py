"""Commits: AI-written commit messages for an executed task or a described change.

``POST /commits/auto-generate/{task_id}`` and ``POST /commits/generate-manual/{project_id}``
enqueue a ``commit_generation`` job (202); ``GET /commits?project_id=`` lists what they
saved, newest first.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy.engine import Connection, Engine

from orbit.ai import CommitMessage, render_prompt
from orbit.jobs import Fail, JobContext, JobRegistry
from orbit.jobs.http import ClientDep, IdempotencyKeyDep, accepted
from orbit.planning import task_data
from orbit.planning.deps import ServicesDep
from orbit.planning.records import conflict, new_id, one_or_none, reading, utcnow
from orbit.planning.schema import backlog_items, commits, projects
from orbit.planning.services import PlanningServices
from orbit.planning.task_jobs import parse_id

router = APIRouter(prefix="/commits", tags=["commits"])

SAVE_STEP = "save"
DESCRIPTION_MAX = 5000
DIFF_MAX = 200_000
SUBJECT_MAX = 300
COMMIT_FIELDS = ("id", "project_id", "item_id", "message", "body", "created_at", "job_id")


class ManualCommit(BaseModel):
    """A change described by hand, optionally with its diff."""

    description: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=DESCRIPTION_MAX)
    ]
    diff: Annotated[str | None, Field(max_length=DIFF_MAX)] = None


@router.post("/auto-generate/{task_id}", status_code=202)
def auto_generate(
    task_id: uuid.UUID, services: ServicesDep, client: ClientDep, key: IdempotencyKeyDep
) -> JSONResponse:
    """Write a commit message for a task from its latest execution (a job)."""
    if job := task_data.job_for_key(client, key):
        return accepted(job)
    with reading(services.engine) as conn:
        item = task_data.load_item(conn, task_id)
        execution = task_data.latest_execution(conn, task_id)
    if execution is None:
        raise conflict(
            f"task {task_id} has no execution yet; execute it first", "task-not-executed"
        )
    job = client.enqueue(
        "commit_generation",
        {"task_id": str(task_id)},
        project_id=item["project_id"],
        idempotency_key=key,
    )
    return accepted(job)


@router.post("/generate-manual/{project_id}", status_code=202)
def generate_manual(
    project_id: uuid.UUID,
    body: ManualCommit,
    services: ServicesDep,
    client: ClientDep,
    key: IdempotencyKeyDep,
) -> JSONResponse:
    """Write a commit message for a described change and optional diff (a job)."""
    if job := task_data.job_for_key(client, key):
        return accepted(job)
    with reading(services.engine) as conn:
        task_data.load_project(conn, project_id)
    job = client.enqueue(
        "commit_generation",
        {"project_id": str(project_id), "description": body.description, "diff": body.diff or ""},
        project_id=project_id,
        idempotency_key=key,
    )
    return accepted(job)


@router.get("")
def list_commits(
    project_id: Annotated[uuid.UUID, Query(description="The project's id.")],
    services: ServicesDep,
) -> list[dict[str, Any]]:
    """The project's commits, newest first."""
    stmt = (
        sa.select(*(commits.c[name] for name in COMMIT_FIELDS))
        .where(commits.c.project_id == project_id)
        .order_by(commits.c.created_at.desc(), commits.c.id.desc())
    )
    with reading(services.engine) as conn:
        task_data.load_project(conn, project_id)
        return [dict(row._mapping) for row in conn.execute(stmt)]


# -- the job -------------------------------------------------------------------------------


def first_paragraph(text: str) -> str:
    """The text up to its first blank line (an execution's summary)."""
    return text.strip().split("\n\n", 1)[0].strip()


def task_source(engine: Engine, task_id: uuid.UUID) -> dict[str, Any]:
    """The prompt's material for an executed task; ``Fail`` if it is gone or unexecuted."""
    with reading(engine) as conn:
        item = one_or_none(conn, backlog_items, task_id)
        execution = task_data.latest_execution(conn, task_id) if item else None
    if item is None or execution is None:
        raise Fail(f"task {task_id} not found or not executed")
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
            raise Fail(f"project {project_id} not found")
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
        message = await services.ai_for(ctx.job_id).structured(prompt, CommitMessage)
        await ctx.progress(80, "Saving commit...")
        write = functools.partial(save_commit, source=source, message=message, job_id=ctx.job_id)
        saved = await ctx.step(SAVE_STEP, write)
    await ctx.progress(100, "Commit message ready")
    return {"success": True, **saved}


def register(registry: JobRegistry, services: PlanningServices) -> None:
    """Register the ``commit_generation`` handler."""

    async def commit_generation(ctx: JobContext, **inputs: Any) -> Any:
        return await generate_commit(ctx, services, inputs)

    registry.job("commit_generation", max_attempts=3, timeout_seconds=300)(commit_generation)
