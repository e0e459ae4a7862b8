"""The one place the app's errors become RFC 9457 problems.

Every area's router is built with ``route_class=PlanningRoute``: its handler turns a
``PlanningError`` (``NotFound`` → 404, ``Conflict`` → 409, ``DeadlineExceeded`` → 504) and an
AI error met inside a request (only the synchronous ``send-message`` calls the AI there:
``AIUnavailable`` → 503, any other ``AIError`` → 502) into the engine's ``Problem``, which the
application's problem handlers render as ``application/problem+json``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from orbit.ai import AIError, AIUnavailable
from orbit.jobs.http import Problem
from orbit.jobs.http.problem_types import ProblemType
from orbit.planning.errors import Conflict, DeadlineExceeded, NotFound, PlanningError

Handler = Callable[[Request], Coroutine[Any, Any, Response]]

PLANNING_PROBLEMS: tuple[ProblemType, ...] = (
    # ``<thing>-not-found`` (NotFound) is implied by the catalogue; these are the rest.
    ProblemType("deadline-exceeded", "Deadline exceeded", 504, "The AI took too long to answer."),
    ProblemType("ai-unavailable", "AI model unavailable", 503, "The AI provider is unreachable."),
    ProblemType("ai-call-failed", "AI call failed", 502, "The AI gave no usable answer."),
    ProblemType("interview-not-started", "Conflict", 409, "Wait for the first question."),
    ProblemType("interview-not-answered", "Conflict", 409, "Answer the interview first."),
    ProblemType("item-not-suggested", "Conflict", 409, "Only suggested items can be activated."),
    ProblemType("item-not-executable", "Conflict", 409, "Only tasks and subtasks can run."),
    ProblemType("task-not-active", "Conflict", 409, "Activate the task before running it."),
    ProblemType("task-not-executed", "Conflict", 409, "Execute the task before committing."),
    ProblemType("no-tasks-to-execute", "Conflict", 409, "The project has no active tasks."),
    ProblemType("stack-conflict", "Conflict", 409, "The project has another stack already."),
)
"""The app's problem types, served at ``/problems/<slug>`` beside the engine's."""


def problem_for(exc: PlanningError | AIError) -> Problem:
    """The HTTP problem that reports ``exc``."""
    if isinstance(exc, NotFound):
        title = f"{exc.what.capitalize()} not found"
        return Problem(404, str(exc), slug=exc.slug, title=title)
    if isinstance(exc, Conflict):
        return Problem(409, exc.detail, slug=exc.slug, title="Conflict")
    if isinstance(exc, DeadlineExceeded):
        return Problem(504, str(exc), slug=exc.slug, title="Deadline exceeded")
    if isinstance(exc, AIUnavailable):
        return Problem(503, str(exc), slug="ai-unavailable", title="AI model unavailable")
    if isinstance(exc, AIError):
        return Problem(502, str(exc), slug="ai-call-failed", title="AI call failed")
    return Problem(500, None)  # a PlanningError nobody mapped: reveal nothing


AI_PROBLEMS: dict[int | str, dict[str, Any]] = {
    502: {"description": "The AI gave no usable answer."},
    503: {"description": "The AI provider (or the database) is unavailable for a moment."},
    504: {"description": "The AI did not answer within the deadline."},
}
"""The extra answers of a route that waits on the AI (``responses=AI_PROBLEMS``)."""


class PlanningRoute(APIRoute):
    """A route whose domain and AI errors are answered as problems (and documented)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        # Every route loads what it names (NotFound: 404); a write can meet a Conflict (409).
        responses = dict(kwargs.pop("responses", None) or {})
        responses.setdefault(404, {"description": "No project, interview or item has that id."})
        if set(kwargs.get("methods") or ()) - {"GET", "HEAD"}:
            responses.setdefault(409, {"description": "Not possible in the current state."})
        super().__init__(path, endpoint, responses=responses, **kwargs)

    def get_route_handler(self) -> Handler:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await handle(request)
            except (PlanningError, AIError) as exc:
                raise problem_for(exc) from exc

        return handler
