"""The app's own errors. ``orbit.planning.problems`` turns them into HTTP problems, once.

::

    PlanningError
    ├── NotFound          a project, interview or backlog item that does not exist
    ├── Conflict          the request cannot be done in the current state (names why)
    └── DeadlineExceeded  a synchronous AI answer took longer than its deadline

The data layer raises them; routes let them pass (``PlanningRoute`` maps them to 404, 409
and 504 problems) and job handlers turn ``NotFound`` into ``Fail`` (``missing_as_failure``):
a row that is gone will not come back on retry.
"""

from __future__ import annotations

import uuid


class PlanningError(Exception):
    """Root of the app's domain errors; ``slug`` names the kind (a problem type)."""

    slug = "planning-error"


class NotFound(PlanningError):
    """No ``what`` (e.g. "backlog item") with id ``row_id``."""

    def __init__(self, what: str, row_id: uuid.UUID) -> None:
        self.what = what
        self.row_id = row_id
        self.slug = f"{what.replace(' ', '-')}-not-found"
        super().__init__(f"{what} {row_id} not found")


class Conflict(PlanningError):
    """The request is valid but cannot be done now; ``detail`` says why."""

    def __init__(self, detail: str, slug: str) -> None:
        self.detail = detail
        self.slug = slug
        super().__init__(detail)


class DeadlineExceeded(PlanningError):
    """``operation`` did not finish within ``seconds``."""

    slug = "deadline-exceeded"

    def __init__(self, operation: str, seconds: float) -> None:
        self.operation = operation
        self.seconds = seconds
        super().__init__(f"{operation} did not finish within {seconds:g} s")
