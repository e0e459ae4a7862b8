"""The app's HTTP routes, composed into one router (mounted under ``/api/v1``)."""

from __future__ import annotations

from fastapi import APIRouter

from orbit.planning import backlog, commits, interviews, projects, provisioning, tasks


def planning_router() -> APIRouter:
    """Every route of the app, in one flat router.

    Flat, not ``include_router`` per area: FastAPI matches an included router's routes
    again at every level of inclusion, on every request.
    """
    router = APIRouter()
    for area in (projects, interviews, backlog, tasks, commits, provisioning):
        router.routes.extend(area.router.routes)
    return router
