"""The jobs HTTP API's bulk verbs and its newer fields, on both databases: cancel and
delete the pending jobs a filter selects (counts back, problem+json for bad filters), and
``queue`` / ``error_code`` on every job."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from orbit.api import create_app
from orbit.jobs import JobClient, JobStatus, SQLStore
from tests.integration.test_http_jobs import assert_problem, enqueue, get, make_registry, settings

S = JobStatus


@pytest.fixture
def api(db_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings(db_url), make_registry())) as client:
        yield client


def test_post_jobs_cancel_cancels_the_selected_pending_jobs(
    api: TestClient, store: SQLStore
) -> None:
    project = str(uuid.uuid4())
    chosen = [enqueue(api, "echo", project_id=project) for _ in range(2)]
    other_type = enqueue(api, "wait", project_id=project)
    other_project = enqueue(api, "echo")
    response = api.post(
        "/api/v1/jobs/cancel", json={"status": "pending", "job_type": "echo", "project_id": project}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["cancelled"] == 2
    assert sorted(body["job_ids"]) == sorted(str(i) for i in chosen)
    for job_id in chosen:
        job = get(api, job_id)
        assert (job["status"], job["error_code"]) == ("cancelled", "cancelled")
    assert get(api, other_type)["status"] == "pending"
    assert get(api, other_project)["status"] == "pending"
    again = api.post("/api/v1/jobs/cancel", json={"status": "pending", "job_type": "echo"})
    assert again.json()["cancelled"] == 1, "only the other project's echo was left"


def test_post_jobs_delete_deletes_only_pending_jobs(api: TestClient, store: SQLStore) -> None:
    doomed = [enqueue(api, "echo") for _ in range(3)]
    kept = enqueue(api, "wait")
    claimed = enqueue(api, "echo")
    store.claim("w", None, 1, 300, job_ids=[claimed])
    response = api.post("/api/v1/jobs/delete", json={"status": "pending", "job_type": "echo"})
    assert response.status_code == 200, response.text
    assert response.json() == {"deleted": 3}
    for job_id in doomed:
        assert_problem(api.get(f"/api/v1/jobs/{job_id}"), 404)
    assert get(api, kept)["status"] == "pending"
    assert get(api, claimed)["status"] == "running", "a claimed job is not pending"


def test_bulk_routes_refuse_a_filter_without_status_pending(api: TestClient) -> None:
    job_id = enqueue(api, "echo")
    for path in ("/api/v1/jobs/cancel", "/api/v1/jobs/delete"):
        for body in ({}, {"status": "running"}, {"status": "pending", "nope": 1}):
            assert_problem(api.post(path, json=body), 422, "validation-error")
        assert_problem(
            api.post(path, json={"status": "pending", "project_id": "x"}), 422, "validation-error"
        )
    assert get(api, job_id)["status"] == "pending", "a refused request touched nothing"
    finished_only = api.delete("/api/v1/jobs", params={"status": "pending", "older_than": "PT1H"})
    assert "POST /jobs/delete" in assert_problem(finished_only, 422)["detail"]


def test_a_job_shows_its_queue_and_error_code(api: TestClient, store: SQLStore) -> None:
    job_id = enqueue(api, "echo", queue="mail")
    job = get(api, job_id)
    assert (job["queue"], job["error_code"], job["error"]) == ("mail", None, None)
    (claimed,) = store.claim("w", None, 1, 300, queues=["mail"])
    store.fail(claimed.lease, "the key was refused", code="ai_auth")
    failed = get(api, job_id)
    assert (failed["status"], failed["error"], failed["error_code"]) == (
        "failed",
        "the key was refused",
        "ai_auth",
    )
    listed = api.get("/api/v1/jobs").json()["items"][0]
    assert (listed["queue"], listed["error_code"]) == ("mail", "ai_auth")
    assert JobClient(store).get(job_id).queue == "mail"
    assert_problem(api.post("/api/v1/jobs", json={"job_type": "echo", "queue": ""}), 422)
