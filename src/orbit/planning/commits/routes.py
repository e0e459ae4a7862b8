"""Commit routes: ``POST /commits/auto-generate/{task_id}`` and
``POST /commits/generate-manual/{project_id}`` enqueue a ``commit_generation`` job (202);
``GET /commits?project_id=`` lists what they saved, newest first.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import Field, StringConstraints

from orbit.jobs import Job
from orbit.jobs.http import ClientDep, IdempotencyKeyDep, InputModel, accepted, without_blocking
from orbit.planning.deps import ServicesDep
from orbit.planning.errors import Conflict
from orbit.planning.problems import PlanningRoute
from orbit.planning.projects.data import load_project
from orbit.planning.records import reading
from orbit.planning.schema import commits
from orbit.planning.tasks import data as task_data

router = APIRouter(prefix="/commits", tags=["commits"], route_class=PlanningRoute)

DESCRIPTION_MAX = 5000
DIFF_MAX = 200_000
COMMIT_FIELDS = ("id", "project_id", "item_id", "message", "body", "created_at", "job_id")


class ManualCommit(InputModel):
    """A change described by hand, optionally with its diff."""

    description: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=DESCRIPTION_MAX)
    ]
    diff: Annotated[str | None, Field(max_length=DIFF_MAX)] = None


@router.post("/auto-generate/{task_id}", status_code=202)
async def auto_generate(
    task_id: uuid.UUID, services: ServicesDep, client: ClientDep, key: IdempotencyKeyDep
) -> JSONResponse:
    """Write a commit message for a task from its latest execution (a job)."""

    def enqueue(wait: bool) -> Job:
        with reading(services.engine) as conn:
            item = task_data.load_item(conn, task_id)
            execution = task_data.latest_execution(conn, task_id)
        if execution is None:
            raise Conflict(
                f"task {task_id} has no execution yet; execute it first", "task-not-executed"
            )
        return client.enqueue(
            "commit_generation",
            {"task_id": str(task_id)},
            project_id=item["project_id"],
            idempotency_key=key,
            wait=wait,
        )

    return accepted(await without_blocking(client, enqueue))


@router.post("/generate-manual/{project_id}", status_code=202)
async def generate_manual(
    project_id: uuid.UUID,
    body: ManualCommit,
    services: ServicesDep,
    client: ClientDep,
    key: IdempotencyKeyDep,
) -> JSONResponse:
    """Write a commit message for a described change and optional diff (a job)."""
    described = {
        "project_id": str(project_id),
        "description": body.description,
        "diff": body.diff or "",
    }

    def enqueue(wait: bool) -> Job:
        with reading(services.engine) as conn:
            load_project(conn, project_id)
        return client.enqueue(
            "commit_generation",
            described,
            project_id=project_id,
            idempotency_key=key,
            wait=wait,
        )

    return accepted(await without_blocking(client, enqueue))


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
        load_project(conn, project_id)
        return [dict(row._mapping) for row in conn.execute(stmt)]
