"""Project routes: create, list and read projects, and a project's backlog as a tree."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from orbit.jobs.http import InputModel
from orbit.planning.deps import ServicesDep
from orbit.planning.problems import PlanningRoute
from orbit.planning.projects.data import backlog_tree, load_project
from orbit.planning.records import new_id, reading, utcnow
from orbit.planning.schema import projects

router = APIRouter(tags=["projects"], route_class=PlanningRoute)

ProjectName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class ProjectIn(InputModel):
    """What a client sends to create a project."""

    name: ProjectName
    description: str | None = Field(default=None, max_length=20_000)


class ProjectOut(BaseModel):
    """A project as clients see it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    description: str | None
    created_at: dt.datetime


class BacklogItemOut(BaseModel):
    """One backlog item with its children (epic → stories → tasks → subtasks)."""

    id: uuid.UUID
    kind: str
    title: str
    description: str
    status: str
    details: Any
    position: int
    children: list[BacklogItemOut] = Field(default_factory=list)


@router.post("/projects", status_code=201, response_model=ProjectOut)
def create_project(body: ProjectIn, services: ServicesDep) -> dict[str, Any]:
    """Create a project."""
    row = {
        "id": new_id(),
        "name": body.name,
        "description": body.description,
        "created_at": utcnow(),
    }
    with services.engine.begin() as conn:
        conn.execute(sa.insert(projects), row)
    return row


@router.get("/projects", response_model=list[ProjectOut])
def list_projects(services: ServicesDep) -> list[dict[str, Any]]:
    """Every project, newest first."""
    query = sa.select(projects).order_by(projects.c.created_at.desc(), projects.c.id.desc())
    with reading(services.engine) as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


@router.get("/projects/{project_id}", response_model=ProjectOut)
def get_project(project_id: uuid.UUID, services: ServicesDep) -> dict[str, Any]:
    """One project (404 problem if unknown)."""
    with reading(services.engine) as conn:
        return load_project(conn, project_id)


@router.get("/projects/{project_id}/backlog", response_model=list[BacklogItemOut])
def get_backlog(project_id: uuid.UUID, services: ServicesDep) -> list[dict[str, Any]]:
    """The project's backlog as a tree: epics → stories → tasks → subtasks."""
    with reading(services.engine) as conn:
        load_project(conn, project_id)
        return backlog_tree(conn, project_id)
