"""Projects: create, list and read projects, and a project's backlog as a tree.

Nothing here runs as a job: these routes are plain reads and writes. The other areas
load projects through ``data.load_project``.
"""

from orbit.jobs import JobRegistry
from orbit.planning.projects.routes import router
from orbit.planning.services import PlanningServices

__all__ = ["register", "router"]


def register(registry: JobRegistry, services: PlanningServices) -> None:
    """Projects have no job handlers: every project operation is a quick database write."""
