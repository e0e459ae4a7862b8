"""The API's edges on both databases: bearer token, body limit, problems for every error."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from orbit.api import create_app
from orbit.jobs import JobClient, JobContext, JobRegistry
from orbit.jobs.http import get_client
from orbit.settings import Settings

PROBLEM = "application/problem+json"
TOKEN = "s3cret-token-ß"


def make_registry() -> JobRegistry:
    registry = JobRegistry()

    @registry.job("echo")
    async def echo(ctx: JobContext, **input_data: Any) -> dict[str, Any]:
        return input_data

    return registry


def settings(db_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"database_url": db_url, "embedded_worker": False, "api_token": None}
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def open_api(db_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings(db_url), make_registry())) as client:
        yield client


@pytest.fixture
def locked_api(db_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings(db_url, api_token=TOKEN), make_registry())) as client:
        yield client


def assert_problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{slug}"
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def raw(headers: dict[str, str]) -> dict[bytes, bytes]:
    """Headers as UTF-8 bytes (the token is not ASCII)."""
    return {k.encode(): v.encode() for k, v in headers.items()}


# -- bearer token ---------------------------------------------------------------------------


def test_without_a_token_the_api_is_open(open_api: TestClient) -> None:
    assert open_api.get("/api/v1/jobs").status_code == 200
    assert open_api.post("/api/v1/jobs", json={"job_type": "echo"}).status_code == 202


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/jobs"),
        ("GET", "/api/v1/jobs/stats"),
        ("POST", "/api/v1/jobs"),
        ("DELETE", "/api/v1/jobs"),
        ("GET", f"/api/v1/jobs/{uuid.uuid4()}"),
        ("POST", f"/api/v1/jobs/{uuid.uuid4()}/cancel"),
        ("GET", "/api/v1/no-such-route"),
        ("GET", "/api/v1"),
    ],
)
def test_every_api_route_needs_the_token(locked_api: TestClient, method: str, path: str) -> None:
    response = locked_api.request(method, path)

    body = assert_problem(response, 401, "unauthorized")
    assert body["detail"] == "A bearer token is required."
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "invalid_token" not in response.headers["WWW-Authenticate"]
    assert TOKEN not in response.text


@pytest.mark.parametrize(
    "headers",
    [
        bearer("wrong"),
        bearer(TOKEN + "x"),
        bearer(TOKEN[:-1]),
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
        {"Cookie": "orbit_token=nope"},
    ],
)
def test_a_wrong_token_is_a_401(locked_api: TestClient, headers: dict[str, str]) -> None:
    response = locked_api.get("/api/v1/jobs", headers=raw(headers))

    assert_problem(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert TOKEN not in response.text


def test_the_right_token_opens_every_route(locked_api: TestClient) -> None:
    auth = raw(bearer(TOKEN))

    created = locked_api.post("/api/v1/jobs", json={"job_type": "echo"}, headers=auth)
    job = locked_api.get(created.headers["Location"], headers=auth)
    lowercase_scheme = locked_api.get(
        "/api/v1/jobs", headers=raw({"Authorization": f"bearer {TOKEN}"})
    )

    assert created.status_code == 202
    assert job.status_code == 200
    assert job.json()["job_type"] == "echo"
    assert lowercase_scheme.status_code == 200


def test_the_token_cookie_is_accepted(locked_api: TestClient) -> None:
    response = locked_api.get(
        "/api/v1/jobs/stats", headers=raw({"Cookie": f"theme=dark; orbit_token={TOKEN}"})
    )

    assert response.status_code == 200
    assert response.json()["total"] == 0


def test_health_stays_open(locked_api: TestClient) -> None:
    for path in ("/health", "/api/v1/health"):
        response = locked_api.get(path)
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}


def test_a_rejected_request_never_reaches_the_database(locked_api: TestClient) -> None:
    locked_api.post("/api/v1/jobs", json={"job_type": "echo"})

    listed = locked_api.get("/api/v1/jobs", headers=raw(bearer(TOKEN)))

    assert listed.json()["items"] == []


# -- body size ------------------------------------------------------------------------------


def test_a_2_mib_body_is_a_413(open_api: TestClient) -> None:
    big = {"job_type": "echo", "input_data": {"blob": "x" * (2 * 1024 * 1024)}}

    response = open_api.post("/api/v1/jobs", json=big)

    body = assert_problem(response, 413, "payload-too-large")
    assert body["max_bytes"] == 1024 * 1024
    assert open_api.get("/api/v1/jobs").json()["items"] == []


def test_a_chunked_body_over_the_limit_is_a_413(open_api: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"job_type": "echo", "input_data": {"blob": "'
        for _ in range(4):
            yield b"x" * (512 * 1024)
        yield b'"}}'

    response = open_api.post(
        "/api/v1/jobs", content=chunks(), headers={"Content-Type": "application/json"}
    )

    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "payload-too-large")
    assert open_api.get("/api/v1/jobs").json()["items"] == []


def test_the_limit_follows_the_settings(db_url: str) -> None:
    app = create_app(settings(db_url, max_body_bytes=2048), make_registry())
    with TestClient(app) as api:
        fits = api.post("/api/v1/jobs", json={"job_type": "echo", "input_data": {"s": "x" * 1500}})
        too_big = api.post(
            "/api/v1/jobs", json={"job_type": "echo", "input_data": {"s": "x" * 2100}}
        )
        lying = api.post(
            "/api/v1/jobs",
            content=b'{"job_type": "echo", "input_data": {"s": "' + b"x" * 3000 + b'"}}',
            headers={"Content-Type": "application/json", "Content-Length": "10"},
        )

    assert fits.status_code == 202
    assert assert_problem(too_big, 413, "payload-too-large")["max_bytes"] == 2048
    assert_problem(lying, 413, "payload-too-large")  # the bytes are counted, not trusted


# -- problems for everything else -----------------------------------------------------------


def test_unknown_routes_are_404_problems(open_api: TestClient) -> None:
    response = open_api.get("/api/v1/nothing/here")

    body = assert_problem(response, 404, "not-found")
    assert body["instance"] == "/api/v1/nothing/here"


def test_wrong_methods_are_405_problems_with_allow(open_api: TestClient) -> None:
    response = open_api.put("/api/v1/jobs")

    assert_problem(response, 405, "method-not-allowed")
    assert set(response.headers["Allow"].split(", ")) == {"GET", "POST", "DELETE"}


def test_unexpected_errors_are_500_problems_that_leak_nothing(db_url: str) -> None:
    class Exploding:
        def get(self, job_id: uuid.UUID) -> None:
            raise RuntimeError("password=hunter2 at /srv/orbit/secret.py")

    app = create_app(settings(db_url), make_registry())
    app.dependency_overrides[get_client] = Exploding
    with TestClient(app, raise_server_exceptions=False) as api:
        response = api.get(f"/api/v1/jobs/{uuid.uuid4()}")

    body = assert_problem(response, 500, "internal-error")
    assert "hunter2" not in response.text
    assert "secret.py" not in response.text
    assert "Traceback" not in response.text
    assert body["detail"] == "An unexpected error occurred."


def test_an_unavailable_database_is_a_503_problem(db_url: str) -> None:
    class Unreachable:
        def get(self, job_id: uuid.UUID) -> None:
            raise sa.exc.OperationalError("SELECT 1", {}, Exception("could not connect: pw=x"))

    app = create_app(settings(db_url), make_registry())
    app.dependency_overrides[get_client] = Unreachable
    with TestClient(app, raise_server_exceptions=False) as api:
        response = api.get(f"/api/v1/jobs/{uuid.uuid4()}")

    assert_problem(response, 503, "service-unavailable")
    assert response.headers["Retry-After"] == "1"
    assert "pw=x" not in response.text


def test_the_engine_still_works_after_errors(open_api: TestClient, db_url: str) -> None:
    open_api.post("/api/v1/jobs", content=b"x" * (2 * 1024 * 1024))
    open_api.get("/api/v1/jobs/not-a-uuid")

    created = open_api.post("/api/v1/jobs", json={"job_type": "echo"})
    job_id = uuid.UUID(created.json()["job_id"])

    assert created.status_code == 202
    from orbit.jobs import open_store

    store = open_store(db_url)
    try:
        assert JobClient(store).get(job_id).job_type == "echo"
    finally:
        store.close()


def test_the_openapi_document_lists_the_jobs_routes(open_api: TestClient) -> None:
    spec = open_api.get("/openapi.json").json()

    paths = spec["paths"]
    assert set(paths["/api/v1/jobs"]) == {"get", "post", "delete"}
    assert set(paths["/api/v1/jobs/{job_id}"]) == {"get", "delete"}
    assert "post" in paths["/api/v1/jobs/{job_id}/cancel"]
    assert "post" in paths["/api/v1/jobs/{job_id}/retry"]
    assert "get" in paths["/api/v1/jobs/stats"]
    assert "lease_token" not in spec["components"]["schemas"]["JobOut"]["properties"]
