"""The OpenAPI document describes the real contract, and problem types resolve on the server.

Errors are ``application/problem+json`` with the ``Problem`` schema (not FastAPI's
``HTTPValidationError``), a 202 has a body model, the bearer scheme is declared (so
``/docs`` can authorise) and each problem ``type`` is a page this server answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from orbit.api import create_app
from orbit.jobs.http.problem_types import ENGINE_PROBLEMS
from orbit.planning.problems import PLANNING_PROBLEMS
from orbit.settings import Settings

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
METHODS = {"get", "post", "put", "patch", "delete"}


def _app(**overrides: Any) -> Any:
    return create_app(Settings(_env_file=None, **overrides))  # type: ignore[call-arg]


@pytest.fixture
def client() -> Iterator[TestClient]:
    yield TestClient(_app())  # no lifespan: these routes touch no database


def _operations(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def test_every_error_response_is_documented_as_a_problem() -> None:
    schema = _app().openapi()
    errors = [
        (path, method, code, response)
        for path, method, operation in _operations(schema)
        for code, response in operation["responses"].items()
        if code[0] in "45"
    ]
    assert len(errors) > 40
    wrong = [
        (path, method, code)
        for path, method, code, response in errors
        if response.get("content") != {"application/problem+json": {"schema": PROBLEM_REF}}
    ]
    assert wrong == []
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    problem = schema["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status"}


def test_every_202_response_has_a_body_model() -> None:
    schema = _app().openapi()
    accepted = [
        (path, operation["responses"]["202"])
        for path, _, operation in _operations(schema)
        if "202" in operation["responses"]
    ]
    assert len(accepted) >= 10
    empty = [
        path for path, response in accepted if not response["content"]["application/json"]["schema"]
    ]
    assert empty == []
    enqueue = schema["paths"]["/api/v1/interviews/{interview_id}/send-message-async"]["post"]
    body = enqueue["responses"]["202"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/Accepted"}


@pytest.mark.parametrize("token", [None, "s3cret"])
def test_the_bearer_scheme_is_declared_on_every_protected_operation(token: str | None) -> None:
    schema = _app(api_token=token).openapi()
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for path, method, operation in _operations(schema):
        protected = path.startswith("/api/v1/") and path != "/api/v1/health"
        if not protected:
            assert "security" not in operation, (path, method)
            continue
        assert {"bearerAuth": []} in operation["security"], (path, method)
        assert ({} in operation["security"]) is (token is None), (path, method)
        assert "401" in operation["responses"], (path, method)
    events = schema["paths"]["/api/v1/jobs/{job_id}/events"]["get"]["security"]
    assert {"streamToken": []} in events


def test_a_problem_type_is_a_page_the_server_serves(client: TestClient) -> None:
    missing = client.get("/api/v1/no-such-route")
    assert missing.status_code == 404
    page = client.get(missing.json()["type"])
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>Not found</h1>" in page.text


@pytest.mark.parametrize("kind", ENGINE_PROBLEMS + PLANNING_PROBLEMS, ids=lambda k: k.slug)
def test_every_catalogued_problem_type_answers_json(client: TestClient, kind: Any) -> None:
    response = client.get(f"/problems/{kind.slug}", headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.json() == {
        "slug": kind.slug,
        "title": kind.title,
        "status": kind.status,
        "description": kind.description,
    }


def test_not_found_problem_types_of_any_resource_resolve(client: TestClient) -> None:
    response = client.get(
        "/problems/backlog-item-not-found", headers={"Accept": "application/json"}
    )
    assert response.json()["title"] == "Backlog item not found"


def test_an_unknown_problem_type_is_a_404_problem(client: TestClient) -> None:
    response = client.get("/problems/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert client.get("/problems/Not%20A%20Slug").status_code == 422
