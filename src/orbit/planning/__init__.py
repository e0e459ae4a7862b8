"""The Orbit app on the job engine: projects, interviews, backlog, executions, commits,
provisioning. Every AI operation is a job handler registered by ``build_registry``; the
routes validate, enqueue and answer 202 (``planning_router``).

One subpackage per area, each with its ``routes``, its job ``handlers`` and its ``data``::

    projects/  interviews/  backlog/  tasks/  commits/  provisioning/

Shared by all of them: ``schema`` (tables) and ``migrations``, ``records`` (ids, timestamps,
load-or-``NotFound``), ``errors`` (the app's ``NotFound``/``Conflict``/``DeadlineExceeded``)
and ``problems`` (the one place they become HTTP problems), ``failures`` (the one failure
policy of AI jobs), ``services`` (database, AI provider, settings) and ``deps``.
"""

from orbit.planning.migrate import PLANNING
from orbit.planning.registry import build_registry
from orbit.planning.routes import planning_router
from orbit.planning.services import PlanningServices

__all__ = ["PLANNING", "PlanningServices", "build_registry", "planning_router"]
