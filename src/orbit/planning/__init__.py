"""The Orbit app on the job engine: projects, interviews, backlog, executions, commits,
provisioning. Every AI operation is a job handler registered by ``build_registry``; the
routes validate, enqueue and answer 202 (``planning_router``).
"""

from orbit.planning.migrate import PLANNING
from orbit.planning.registry import build_registry
from orbit.planning.routes import planning_router
from orbit.planning.services import PlanningServices

__all__ = ["PLANNING", "PlanningServices", "build_registry", "planning_router"]
