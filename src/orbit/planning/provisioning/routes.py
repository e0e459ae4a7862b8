"""Provisioning routes: ``GET /stacks`` lists the stacks; ``POST /projects/{id}/provision-async``
enqueues a ``project_provisioning`` job (202). A project is provisioned with one stack;
asking for another one is a 409.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import field_validator

from orbit.jobs import Job, JobClient, JobFilter
from orbit.jobs.http import ClientDep, IdempotencyKeyDep, InputModel, accepted, without_blocking
from orbit.planning.deps import ServicesDep
from orbit.planning.errors import Conflict
from orbit.planning.problems import PlanningRoute
from orbit.planning.projects.data import load_project
from orbit.planning.provisioning.data import workspace_of
from orbit.planning.provisioning.handlers import JOB_TYPE
from orbit.planning.provisioning.stacks import STACKS
from orbit.planning.records import reading

router = APIRouter(tags=["provisioning"], route_class=PlanningRoute)


class ProvisionRequest(InputModel):
    """Which stack to provision the project with."""

    stack: str

    @field_validator("stack")
    @classmethod
    def known_stack(cls, value: str) -> str:
        if value not in STACKS:
            raise ValueError(f"unknown stack {value!r}; choose one of {', '.join(STACKS)}")
        return value


@router.get("/stacks")
def list_stacks() -> list[dict[str, Any]]:
    """The stacks a project can be provisioned with."""
    return [stack.summary() for stack in STACKS.values()]


def stacks_in_flight(client: JobClient, project_id: uuid.UUID) -> set[str]:
    """The stacks of this project's provisioning jobs that are still pending or running."""
    page = client.list(JobFilter(project_id=project_id, job_type=JOB_TYPE), limit=20)
    return {str(job.input_data.get("stack")) for job in page.items if not job.finished}


def check_stack(taken: str | None, wanted: str, project_id: uuid.UUID) -> None:
    """409 when the project has, or is getting, a different stack."""
    if taken is not None and taken != wanted:
        raise Conflict(
            f"project {project_id} is provisioned with {taken}; it cannot become {wanted}",
            "stack-conflict",
        )


@router.post("/projects/{project_id}/provision-async", status_code=202)
async def provision(
    project_id: uuid.UUID,
    body: ProvisionRequest,
    services: ServicesDep,
    client: ClientDep,
    key: IdempotencyKeyDep,
) -> JSONResponse:
    """Create the project's workspace: scaffold files and a git repository (a job)."""

    def enqueue(wait: bool) -> Job:
        with reading(services.engine) as conn:
            load_project(conn, project_id)
            workspace = workspace_of(conn, project_id)
        check_stack(workspace["stack"] if workspace else None, body.stack, project_id)
        for stack in stacks_in_flight(client, project_id):
            check_stack(stack, body.stack, project_id)
        return client.enqueue(
            JOB_TYPE,
            {"project_id": str(project_id), "stack": body.stack},
            project_id=project_id,
            idempotency_key=key,
            wait=wait,
        )

    return accepted(await without_blocking(client, enqueue))
