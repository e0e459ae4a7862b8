"""Every job type of the app, registered with its handler bound to the app's services."""

from __future__ import annotations

from orbit.jobs import JobRegistry
from orbit.planning import backlog, commits, interviews, projects, provisioning, tasks
from orbit.planning.services import PlanningServices

AREAS = (projects, interviews, backlog, tasks, commits, provisioning)


def build_registry(services: PlanningServices, registry: JobRegistry | None = None) -> JobRegistry:
    """Register the app's job handlers (into ``registry``, or a new one)."""
    registry = registry or JobRegistry()
    for area in AREAS:
        area.register(registry, services)
    return registry
