"""The ``project_provisioning`` handler: workspace directory, scaffold, git repository, record.

The job is idempotent: provisioning again with the same stack (or a retry after a crash)
keeps what exists and adds only what is missing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from orbit.jobs import Fail, JobContext, JobRegistry
from orbit.planning.provisioning.data import workspace_of
from orbit.planning.provisioning.stacks import STACKS
from orbit.planning.provisioning.workspace import init_repository, write_scaffold
from orbit.planning.records import new_id, one_or_none, parse_id, reading, utcnow
from orbit.planning.schema import projects, workspaces
from orbit.planning.services import PlanningServices

JOB_TYPE = "project_provisioning"


def project_name(engine: Engine, project_id: uuid.UUID) -> str:
    """The project's name; ``Fail`` when it does not exist."""
    with reading(engine) as conn:
        project = one_or_none(conn, projects, project_id)
    if project is None:
        raise Fail(f"project {project_id} not found")
    return str(project["name"])


@dataclasses.dataclass(frozen=True)
class Workspace:
    """The workspace a provisioning job is building."""

    project_id: uuid.UUID
    stack: str
    path: Path
    job_id: uuid.UUID

    def values(self) -> dict[str, Any]:
        """The workspace row's values (without id and timestamp)."""
        return {
            "project_id": self.project_id,
            "stack": self.stack,
            "path": str(self.path),
            "job_id": self.job_id,
        }


def claim_workspace(conn: Connection, workspace: Workspace) -> Any:
    """Reserve the project's workspace for its stack; ``Fail`` if it has another stack.

    The unique ``project_id`` makes two concurrent provisionings agree on one stack.
    """
    row = workspace_of(conn, workspace.project_id)
    if row is None:
        try:
            with conn.begin_nested():
                conn.execute(
                    sa.insert(workspaces).values(
                        id=new_id(), created_at=utcnow(), **workspace.values()
                    )
                )
        except sa.exc.IntegrityError:
            row = workspace_of(conn, workspace.project_id)
    if row is not None and row["stack"] != workspace.stack:
        raise Fail(f"project {workspace.project_id} is already provisioned with {row['stack']}")
    return {"stack": workspace.stack, "path": str(workspace.path)}


def record_workspace(conn: Connection, workspace: Workspace) -> Any:
    """Point the workspace row at its path and at the job that provisioned it last."""
    claimed = claim_workspace(conn, workspace)
    conn.execute(
        sa.update(workspaces)
        .where(workspaces.c.project_id == workspace.project_id)
        .values(path=str(workspace.path), job_id=workspace.job_id)
    )
    return claimed


async def provision_project(
    ctx: JobContext, services: PlanningServices, project_id: str, stack: str
) -> dict[str, Any]:
    """``project_provisioning``: workspace directory, scaffold, git repository, record."""
    pid = parse_id(project_id, "project")
    if stack not in STACKS:
        raise Fail(f"unknown stack {stack!r}")
    root = services.projects_dir / str(pid)
    workspace = Workspace(pid, stack, root, ctx.job_id)
    await ctx.progress(10, "Creating workspace...")
    name = await asyncio.to_thread(project_name, services.engine, pid)
    await ctx.step("claim", functools.partial(claim_workspace, workspace=workspace))
    await asyncio.to_thread(root.mkdir, parents=True, exist_ok=True)
    await ctx.progress(30, f"Writing {stack} scaffold...")
    files = STACKS[stack].render(name)
    created = await asyncio.to_thread(write_scaffold, root, files)
    await ctx.progress(60, "Initialising git repository...")
    head = await init_repository(root, sorted(files), stack)
    await ctx.progress(85, "Recording workspace...")
    await ctx.step("record", functools.partial(record_workspace, workspace=workspace))
    await ctx.progress(100, "Provisioning complete")
    summary = {"path": str(root), "stack": stack, "files": sorted(files), "commit": head}
    return {"success": True, "workspace": {**summary, "created": created}}


def register(registry: JobRegistry, services: PlanningServices) -> None:
    """Register the ``project_provisioning`` handler."""

    async def project_provisioning(ctx: JobContext, project_id: str, stack: str) -> Any:
        return await provision_project(ctx, services, project_id, stack)

    registry.job(JOB_TYPE, max_attempts=3, timeout_seconds=600)(project_provisioning)
