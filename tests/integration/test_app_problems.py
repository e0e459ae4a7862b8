"""The app's domain errors become problems in one place (``orbit.planning.problems``).

Every route of the app is a ``PlanningRoute``, so a ``NotFound``, ``Conflict`` or
``DeadlineExceeded`` raised anywhere below a route is answered as problem+json, never 500.
"""

from __future__ import annotations

import uuid

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from orbit.ai import AIInvalidOutput, AIUnavailable
from orbit.jobs.http import install_problem_handlers
from orbit.planning.errors import Conflict, DeadlineExceeded, NotFound, PlanningError
from orbit.planning.problems import PlanningRoute, problem_for
from orbit.planning.registry import AREAS

PROBLEM = "application/problem+json"


def test_every_app_route_maps_domain_errors() -> None:
    routes = [route for area in AREAS for route in area.router.routes]
    assert len(routes) > 15
    assert all(isinstance(route, APIRoute) for route in routes)
    assert [route.path for route in routes if not isinstance(route, PlanningRoute)] == []


@pytest.mark.parametrize(
    ("error", "status", "slug"),
    [
        (NotFound("backlog item", uuid.UUID(int=7)), 404, "backlog-item-not-found"),
        (
            Conflict("interview has no answers", "interview-not-answered"),
            409,
            "interview-not-answered",
        ),
        (DeadlineExceeded("send-message", 2.5), 504, "deadline-exceeded"),
        (AIUnavailable("HTTP 503", provider="openai"), 503, "ai-unavailable"),
        (
            AIInvalidOutput(prompt_name="p", schema_name="S", errors=["x"], raw_output=""),
            502,
            "ai-call-failed",
        ),
        (PlanningError("unmapped"), 500, None),
    ],
)
def test_each_error_has_its_problem(error: Exception, status: int, slug: str | None) -> None:
    app = FastAPI()
    install_problem_handlers(app)
    router = APIRouter(route_class=PlanningRoute)

    @router.get("/boom")
    def boom() -> None:
        raise error

    app.include_router(router)
    response = TestClient(app).get("/boom")
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    if slug is not None:
        assert body["type"].endswith(f"/{slug}")
        assert body["detail"] == str(error)
    else:
        assert "unmapped" not in response.text  # an unmapped error reveals nothing


def test_not_found_names_what_is_missing() -> None:
    problem = problem_for(NotFound("interview", uuid.UUID(int=1)))
    assert problem.status_code == 404
    assert problem.title == "Interview not found"
    assert problem.detail == f"interview {uuid.UUID(int=1)} not found"
