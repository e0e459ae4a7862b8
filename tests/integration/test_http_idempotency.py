"""``Idempotency-Key`` on the app's routes, both databases: one key, one request.

A key is scoped to its caller (the bearer token's digest, ``anonymous`` without one) and
to the job type; a repeat of the same request gets its job back, the same key with a
different request is a 422 ``idempotency-key-reused`` problem on every route.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from orbit.api import create_app
from orbit.jobs import JobFilter
from orbit.jobs.http.security import caller_of
from tests.integration.conftest import app_settings
from tests.integration.test_app_interviews import start_interview
from tests.integration.test_app_provisioning import provision
from tests.integration.test_app_tasks import jobs_of, seed_project

PROBLEM = "application/problem+json"
TOKEN = "s3cret-api-token"


def assert_reused(response: object, job_id: str) -> None:
    assert response.status_code == 422, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith(PROBLEM)  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["type"].endswith("/idempotency-key-reused")
    assert body["job_id"] == job_id


def test_one_key_cannot_provision_two_projects_nor_swallow_a_message(
    app_client: TestClient,
) -> None:
    key = {"Idempotency-Key": "shared-key"}
    project_a, project_b = seed_project(app_client, "A"), seed_project(app_client, "B")
    interview = start_interview(app_client)

    first = provision(app_client, project_a, "static-site", headers=key)
    assert first.status_code == 202, first.text
    job_a = first.json()["job_id"]
    assert_reused(provision(app_client, project_b, "static-site", headers=key), job_a)

    url = f"/api/v1/interviews/{interview['id']}/send-message-async"
    message = app_client.post(url, json={"content": "Meal plans"}, headers=key)
    assert message.status_code == 202, message.text
    assert message.json()["job_id"] != job_a
    job = jobs_of(app_client).get(uuid.UUID(message.json()["job_id"]))
    assert job.job_type == "interview_message" and job.input_data["message"] == "Meal plans"
    assert_reused(
        app_client.post(url, json={"content": "Something else"}, headers=key), str(job.id)
    )

    # The same requests again get their own jobs back.
    assert provision(app_client, project_a, "static-site", headers=key).json()["job_id"] == job_a
    assert app_client.post(url, json={"content": "Meal plans"}, headers=key).json()[
        "job_id"
    ] == str(job.id)
    provisioning = JobFilter(job_type="project_provisioning")
    assert len(jobs_of(app_client).list(provisioning).items) == 1


def test_backlog_routes_refuse_a_key_reused_across_routes(app_client: TestClient) -> None:
    interview = start_interview(app_client)
    answer = f"/api/v1/interviews/{interview['id']}/send-message"
    assert app_client.post(answer, json={"content": "Meal plans"}).status_code == 200
    key = {"Idempotency-Key": "backlog-key"}
    full = app_client.post(
        f"/api/v1/interviews/{interview['id']}/generate-prompts-async", headers=key
    )
    assert full.status_code == 202, full.text
    epic = app_client.post(
        f"/api/v1/backlog/interview/{interview['id']}/generate-epic", headers=key
    )
    assert_reused(epic, full.json()["job_id"])


@pytest.fixture
def locked(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = app_settings(db_url, tmp_path, api_token=TOKEN, embedded_worker=False)
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        yield client


def test_keys_are_scoped_to_the_callers_token(locked: TestClient) -> None:
    project = seed_project(locked)
    key = {"Idempotency-Key": "mine"}
    sent = provision(locked, project, "static-site", headers=key)
    assert sent.status_code == 202, sent.text
    job = jobs_of(locked).get(uuid.UUID(sent.json()["job_id"]))

    assert job.idempotency_caller == caller_of(TOKEN.encode()) != "anonymous"
    assert TOKEN not in job.idempotency_caller
    # Another caller (here the in-process one) has keys of its own.
    local = jobs_of(locked).enqueue(job.job_type, dict(job.input_data), idempotency_key="mine")
    assert local.id != job.id


def test_starting_an_interview_twice_with_one_key_starts_one(app_client: TestClient) -> None:
    project, other = seed_project(app_client, "A"), seed_project(app_client, "B")
    key = {"Idempotency-Key": "start-1"}
    first = app_client.post("/api/v1/interviews", json={"project_id": str(project)}, headers=key)
    again = app_client.post("/api/v1/interviews", json={"project_id": str(project)}, headers=key)

    assert first.status_code == again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["job_id"] == first.json()["job_id"]
    assert again.headers["Location"] == first.headers["Location"]
    reused = app_client.post("/api/v1/interviews", json={"project_id": str(other)}, headers=key)
    assert_reused(reused, first.json()["job_id"])
    interviews = JobFilter(job_type="interview_message")
    assert len(jobs_of(app_client).list(interviews).items) == 1
