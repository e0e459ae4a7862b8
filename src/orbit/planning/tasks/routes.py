"""Task routes: read a backlog item, activate it, execute tasks one by one or a project's.

Routes validate and enqueue (202 + the job to poll); ``handlers`` and ``batch`` do the work.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from orbit.jobs import Job
from orbit.jobs.http import ClientDep, IdempotencyKeyDep, accepted, without_blocking
from orbit.planning.deps import ServicesDep
from orbit.planning.errors import Conflict
from orbit.planning.problems import PlanningRoute
from orbit.planning.projects.data import load_project
from orbit.planning.records import reading
from orbit.planning.tasks import data as task_data
from orbit.planning.tasks.handlers import ACTIVATION_JOB_TYPES

router = APIRouter(prefix="/tasks", tags=["tasks"], route_class=PlanningRoute)

PROBLEMS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown item or project"},
    409: {"description": "The item's state does not allow it"},
}


@router.get("/{item_id}", responses={404: PROBLEMS[404]})
def get_task(item_id: uuid.UUID, services: ServicesDep) -> dict[str, Any]:
    """A backlog item of any kind with its children and its executions (newest first)."""
    with reading(services.engine) as conn:
        return task_data.item_detail(conn, item_id)


@router.post("/{item_id}/activate", status_code=202, responses=PROBLEMS)
async def activate(
    item_id: uuid.UUID, services: ServicesDep, client: ClientDep, key: IdempotencyKeyDep
) -> JSONResponse:
    """Fill in a suggested item's details with the AI and make it active (a job)."""

    def enqueue(wait: bool) -> Job:
        with reading(services.engine) as conn:
            item = task_data.load_item(conn, item_id)
        task_data.check_activatable(item)
        return client.enqueue(
            ACTIVATION_JOB_TYPES[item["kind"]],
            {"item_id": str(item_id)},
            project_id=item["project_id"],
            idempotency_key=key,
            wait=wait,
        )

    return accepted(await without_blocking(client, enqueue))


@router.post("/{item_id}/execute", status_code=202, responses=PROBLEMS)
async def execute(
    item_id: uuid.UUID, services: ServicesDep, client: ClientDep, key: IdempotencyKeyDep
) -> JSONResponse:
    """Execute an active task or subtask with the AI (a job)."""

    def enqueue(wait: bool) -> Job:
        with reading(services.engine) as conn:
            item = task_data.load_item(conn, item_id)
        task_data.check_executable(item)
        return client.enqueue(
            "task_execution",
            {"task_id": str(item_id)},
            project_id=item["project_id"],
            idempotency_key=key,
            wait=wait,
        )

    return accepted(await without_blocking(client, enqueue))


@router.post("/projects/{project_id}/execute-all", status_code=202, responses=PROBLEMS)
async def execute_all(
    project_id: uuid.UUID, services: ServicesDep, client: ClientDep, key: IdempotencyKeyDep
) -> JSONResponse:
    """Execute every active, never executed task of the project (a parent job)."""

    def enqueue(wait: bool) -> Job:
        with reading(services.engine) as conn:
            load_project(conn, project_id)
            waiting = task_data.pending_tasks(conn, project_id)
        if not waiting:
            raise Conflict(
                f"project {project_id} has no active tasks waiting for execution",
                "no-tasks-to-execute",
            )
        return client.enqueue(
            "batch_execution",
            {"project_id": str(project_id)},
            project_id=project_id,
            idempotency_key=key,
            wait=wait,
        )

    return accepted(await without_blocking(client, enqueue))
