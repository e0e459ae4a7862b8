"""Backlog: routes and job handlers (to be written)."""

from __future__ import annotations

from fastapi import APIRouter

from orbit.jobs import JobRegistry
from orbit.planning.services import PlanningServices

router = APIRouter()


def register(registry: JobRegistry, services: PlanningServices) -> None:
    """Register this area's job handlers."""
