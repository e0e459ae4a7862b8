"""Event streams behind the API token: cookie, short-lived stream tokens, clean access logs."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import httpx
import pytest

from orbit.jobs import SQLStore
from tests.integration.test_sse import SSE, LiveServer, events_url, make_app, running_job

TOKEN = "s3cret-api-token"
PROBLEM = "application/problem+json"


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def locked(db_url: str) -> Iterator[LiveServer]:
    with LiveServer(make_app(db_url, api_token=TOKEN)) as live:
        yield live


@pytest.fixture
def access_log(locked: LiveServer) -> Iterator[Collect]:
    """The server's access log (after uvicorn configured its loggers at start-up)."""
    logger = logging.getLogger("uvicorn.access")
    handler = Collect()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture
def anonymous(locked: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=locked.url, timeout=10) as client:
        yield client


def stream_token(client: httpx.Client, **stream: str) -> str:
    response = client.post(
        "/api/v1/auth/stream-token", json=stream, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["expires_in"] == 60
    token: str = body["token"]
    assert token and TOKEN not in token
    return token


def assert_401(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_streams_need_a_token(anonymous: httpx.Client, store: SQLStore) -> None:
    job = running_job(store)
    assert_401(anonymous.get(events_url(job.id)))
    assert_401(anonymous.get(f"/api/v1/jobs/events?project_id={uuid.uuid4()}"))
    assert_401(anonymous.post("/api/v1/auth/stream-token"))


def test_the_token_cookie_opens_a_stream(anonymous: httpx.Client, store: SQLStore) -> None:
    job = running_job(store)
    with anonymous.stream(
        "GET", events_url(job.id), headers={"Cookie": f"orbit_token={TOKEN}"}
    ) as response:
        event = SSE(response).next()
    assert event is not None and event.event == "snapshot" and event.data["id"] == str(job.id)


def test_a_stream_token_opens_its_own_stream_and_nothing_else(
    anonymous: httpx.Client, store: SQLStore
) -> None:
    job = running_job(store, project_id=(project := uuid.uuid4()))
    token = stream_token(anonymous, job_id=str(job.id))
    project_token = stream_token(anonymous, project_id=str(project))

    with anonymous.stream("GET", events_url(job.id), params={"access_token": token}) as response:
        assert SSE(response).next().event == "snapshot"  # type: ignore[union-attr]
    with anonymous.stream(
        "GET",
        "/api/v1/jobs/events",
        params={"project_id": str(project), "access_token": project_token},
    ) as response:
        snapshot = SSE(response).next()
    assert snapshot is not None and snapshot.data["jobs"][0]["id"] == str(job.id)
    with anonymous.stream(
        "GET", "/api/v1/events", params={"project_id": str(project), "access_token": project_token}
    ) as response:
        narrowed = SSE(response).next()
    assert narrowed is not None and str(job.id) in {j["id"] for j in narrowed.data["jobs"]}
    # No stream token opens every job's stream: it names one job or one project.
    assert_401(anonymous.get("/api/v1/events", params={"access_token": project_token}))

    # A job's token opens neither another job's stream nor its project's; nor the reverse.
    other = running_job(store, project_id=project)
    for url, params in (
        (events_url(other.id), {"access_token": token}),
        ("/api/v1/jobs/events", {"project_id": str(project), "access_token": token}),
        ("/api/v1/events", {"project_id": str(project), "access_token": token}),
        (events_url(job.id), {"access_token": project_token}),
    ):
        refused = anonymous.get(url, params=params)
        assert refused.status_code == 403, url
        assert refused.headers["content-type"].startswith(PROBLEM)
    # Only the event streams accept it; it cannot mint more tokens.
    assert_401(anonymous.get(f"/api/v1/jobs/{job.id}", params={"access_token": token}))
    assert_401(
        anonymous.post(
            "/api/v1/auth/stream-token",
            params={"access_token": token},
            json={"job_id": str(job.id)},
        )
    )
    # The long-lived API token is never accepted in a URL; forged tokens are refused.
    assert_401(anonymous.get(events_url(job.id), params={"access_token": TOKEN}))
    expires, target, nonce, signature = token.split(".")
    forged = f"{int(expires) + 3600}.{target}.{nonce}.{signature}"
    refused = anonymous.get(events_url(job.id), params={"access_token": forged})
    assert_401(refused)
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]


def test_a_stream_token_names_exactly_one_stream(anonymous: httpx.Client) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for body in ({}, {"job_id": str(uuid.uuid4()), "project_id": str(uuid.uuid4())}):
        response = anonymous.post("/api/v1/auth/stream-token", json=body, headers=auth)
        assert response.status_code == 422, body
        assert response.headers["content-type"].startswith(PROBLEM)


def test_the_access_log_never_shows_a_stream_token(
    anonymous: httpx.Client, store: SQLStore, access_log: Collect
) -> None:
    job = running_job(store)
    store.complete(job.lease)
    token = stream_token(anonymous, job_id=str(job.id))
    response = anonymous.get(events_url(job.id), params={"after": 1, "access_token": token})
    assert response.status_code == 200  # the other parameters still reach the route
    assert [e.id for e in SSE(response).rest()] == ["2", "3", None]
    assert_401(anonymous.get(events_url(job.id), params={"access_token": "forged.x.y"}))

    logged = [m for m in access_log.messages if "/events" in m]
    assert len(logged) == 2, access_log.messages
    assert f"/api/v1/jobs/{job.id}/events?after=1 " in logged[0]
    assert all("access_token" not in m and token not in m for m in logged)


def test_without_an_api_token_the_stream_token_is_null(db_url: str) -> None:
    with LiveServer(make_app(db_url)) as live, httpx.Client(base_url=live.url) as client:
        response = client.post("/api/v1/auth/stream-token", json={"job_id": str(uuid.uuid4())})
    assert response.status_code == 200
    assert response.json() == {"token": None, "expires_in": 0}
