"""The app's HTTP routes, composed into one router (mounted under ``/api/v1``)."""

from __future__ import annotations

from fastapi import APIRouter

from orbit.planning import backlog, commits, interviews, projects, provisioning, tasks


def planning_router() -> APIRouter:
    """Every route of the app."""
    router = APIRouter()
    for area in (projects, interviews, backlog, tasks, commits, provisioning):
        router.include_router(area.router)
    return router
