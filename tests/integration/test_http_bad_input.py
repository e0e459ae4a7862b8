"""Bad input never gives a 500, and both databases answer it the same way.

Each test sends what a careless or hostile client could send (a non-ASCII stream token,
NUL characters, datetimes whose UTC value does not exist, event ids beyond int64) and
expects a 4xx problem. Before these checks, PostgreSQL answered a NUL with a 500 while
SQLite stored it, a forged cursor raised ``OverflowError`` and an event id beyond int64
opened a stream that died.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from orbit.api import create_app
from orbit.jobs import JobContext, JobRegistry
from orbit.jobs.http import InputModel, jobs_router
from orbit.jobs.http.tokens import StreamTokens
from orbit.planning.registry import AREAS
from tests.integration.conftest import app_settings

PROBLEM = "application/problem+json"
TOKEN = "s3cret"
BEYOND_INT64 = "99999999999999999999"


def _registry() -> JobRegistry:
    registry = JobRegistry()

    @registry.job("echo")
    async def echo(ctx: JobContext, **input_data: Any) -> dict[str, Any]:
        return input_data

    return registry


@pytest.fixture
def api(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = app_settings(db_url, tmp_path, embedded_worker=False)
    with TestClient(create_app(settings, _registry())) as client:
        yield client


@pytest.fixture
def locked_api(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = app_settings(db_url, tmp_path, embedded_worker=False, api_token=TOKEN)
    with TestClient(create_app(settings, _registry())) as client:
        yield client


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def _project(api: TestClient) -> str:
    response = api.post("/api/v1/projects", json={"name": "p"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


# -- 6: stream tokens ------------------------------------------------------------------


def test_stream_token_verify_rejects_non_ascii_instead_of_raising() -> None:
    tokens = StreamTokens(b"secret")
    assert tokens.verify("1.a.\u00e9", "jx") is False
    assert tokens.verify("9999999999.j\u00e9.\u00e9.\u00e9", "j\u00e9") is False


def test_non_ascii_stream_token_is_a_401_not_a_500(locked_api: TestClient) -> None:
    job_stream = f"/api/v1/jobs/{uuid.uuid4()}/events?access_token=1.a.%C3%A9"
    body = assert_problem(locked_api.get(job_stream), 401)
    assert body["type"] == "/problems/unauthorized"
    project_stream = f"/api/v1/jobs/events?project_id={uuid.uuid4()}&access_token=%E2%98%83.x.y"
    assert_problem(locked_api.get(project_stream), 401)


# -- 7: NUL characters -----------------------------------------------------------------


def test_every_request_body_model_of_the_app_checks_for_nul() -> None:
    routers = [area.router for area in AREAS] + [jobs_router()]
    routes = [route for router in routers for route in router.routes]
    models = {
        route.path: param.field_info.annotation
        for route in routes
        if isinstance(route, APIRoute)
        for param in route.dependant.body_params
    }
    assert len(models) >= 6
    plain = [
        path
        for path, model in models.items()
        if not (isinstance(model, type) and issubclass(model, InputModel))
    ]
    assert plain == []


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/projects", {"name": "a\x00b"}),
        ("/api/v1/projects", {"name": "ok", "description": "x\x00"}),
        ("/api/v1/interviews/{id}/send-message-async", {"content": "hi\x00"}),
        ("/api/v1/interviews/{id}/send-message", {"content": "\x00"}),
        ("/api/v1/commits/generate-manual/{id}", {"description": "d", "diff": "+\x00"}),
        ("/api/v1/jobs", {"job_type": "echo\x00"}),
        ("/api/v1/jobs", {"job_type": "echo", "input_data": {"k": ["\x00"]}}),
        ("/api/v1/jobs", {"job_type": "echo", "input_data": {"k\x00": 1}}),
    ],
)
def test_nul_in_a_request_body_is_a_422_on_both_databases(
    api: TestClient, path: str, body: dict[str, Any]
) -> None:
    project = _project(api)
    response = api.post(path.format(id=project), json=body)
    problem = assert_problem(response, 422)
    assert "NUL" in problem["detail"]
    names = [p["name"] for p in api.get("/api/v1/projects").json()]
    assert names == ["p"]  # nothing with a NUL was stored


def _string_query_parameters(api: TestClient) -> list[tuple[str, str, str]]:
    """(method, path, name) of every string query parameter in the OpenAPI document."""
    found = []
    for path, item in api.app.openapi()["paths"].items():  # type: ignore[attr-defined]
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                schema = json.dumps(parameter["schema"])
                free_text = '"format": "uuid"' not in schema and '"enum"' not in schema
                if parameter["in"] == "query" and '"type": "string"' in schema and free_text:
                    found.append((method, path, parameter["name"]))
    return found


def test_nul_in_every_string_query_parameter_is_a_422(api: TestClient) -> None:
    parameters = _string_query_parameters(api)
    assert {name for _, _, name in parameters} >= {"job_type", "cursor", "older_than"}
    project = _project(api)
    for method, path, name in parameters:
        url = path.replace("{job_id}", str(uuid.uuid4()))
        params = {name: "a\x00b", "project_id": project}
        response = api.request(method.upper(), url, params=params)
        assert_problem(response, 422)


# -- 8: datetimes out of range ---------------------------------------------------------


def _cursor(created: str) -> str:
    raw = json.dumps([created, str(uuid.uuid4())]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("created", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_forged_cursor_beyond_the_datetime_range_is_a_422(api: TestClient, created: str) -> None:
    body = assert_problem(api.get("/api/v1/jobs", params={"cursor": _cursor(created)}), 422)
    assert body["type"] == "/problems/invalid-cursor"


@pytest.mark.parametrize(
    "run_at", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "9999-01-01T00:00:00Z"]
)
def test_run_at_beyond_the_storable_range_is_a_422(api: TestClient, run_at: str) -> None:
    response = api.post("/api/v1/jobs", json={"job_type": "echo", "run_at": run_at})
    body = assert_problem(response, 422)
    assert body["errors"][0]["loc"] == ["body", "run_at"]
    assert api.get("/api/v1/jobs").json()["items"] == []


def test_run_at_with_an_offset_is_stored_in_utc(api: TestClient) -> None:
    response = api.post(
        "/api/v1/jobs", json={"job_type": "echo", "run_at": "2030-06-01T12:00:00+14:00"}
    )
    assert response.status_code == 202, response.text
    job = api.get(f"/api/v1/jobs/{response.json()['job_id']}").json()
    assert job["run_at"].startswith("2030-05-31T22:00:00")


# -- 9: event ids beyond int64 ---------------------------------------------------------


def test_after_beyond_int64_is_a_422_not_a_dying_stream(api: TestClient) -> None:
    project = _project(api)
    job_id = api.post("/api/v1/jobs", json={"job_type": "echo"}).json()["job_id"]
    job_stream = f"/api/v1/jobs/{job_id}/events"
    assert_problem(api.get(job_stream, params={"after": BEYOND_INT64}), 422)
    project_stream = "/api/v1/jobs/events"
    params = {"project_id": project, "after": BEYOND_INT64}
    assert_problem(api.get(project_stream, params=params), 422)
    assert_problem(api.get(f"/api/v1/jobs/{job_id}", params={"version": BEYOND_INT64}), 422)


@pytest.mark.parametrize(
    "last_event_id", [BEYOND_INT64.encode(), b"9223372036854775808", "\u00b2".encode("latin-1")]
)
def test_last_event_id_beyond_int64_or_not_ascii_is_a_422(
    api: TestClient, last_event_id: bytes
) -> None:
    job_id = api.post("/api/v1/jobs", json={"job_type": "echo"}).json()["job_id"]
    headers = {b"Last-Event-ID": last_event_id}
    response = api.get(f"/api/v1/jobs/{job_id}/events", headers=headers)
    body = assert_problem(response, 422)
    assert body["type"] == "/problems/invalid-last-event-id"
