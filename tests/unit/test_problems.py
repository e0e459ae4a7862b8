"""Problem details (RFC 9457) and the small pure helpers of the jobs HTTP API."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from orbit.jobs.http import PROBLEM_MEDIA_TYPE, Problem, etag_for, problem_response
from orbit.jobs.http.problems import problem_body, validation_errors
from orbit.jobs.http.responses import accepted, etag_matches
from orbit.jobs.models import Job
from orbit.jobs.states import JobStatus


def test_problem_body_defaults_from_the_status() -> None:
    body = problem_body(404, "No job with id 1.", instance="/api/v1/jobs/1")

    assert body == {
        "type": "/problems/not-found",
        "title": "Not found",
        "status": 404,
        "detail": "No job with id 1.",
        "instance": "/api/v1/jobs/1",
    }


def test_unnamed_statuses_use_about_blank_and_the_reason_phrase() -> None:
    body = problem_body(418)

    assert body == {"type": "about:blank", "title": "I'm a Teapot", "status": 418}


def test_extensions_cannot_override_the_standard_members() -> None:
    body = problem_body(
        409, "conflict", slug="invalid-transition", extensions={"status": "running", "job_id": "1"}
    )

    assert body["status"] == 409
    assert body["type"] == "/problems/invalid-transition"
    assert body["job_id"] == "1"


def test_problem_response_uses_the_problem_media_type() -> None:
    response = problem_response(401, "A bearer token is required.", headers={"X-A": "b"})

    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.headers["X-A"] == "b"
    assert json.loads(bytes(response.body))["type"] == "/problems/unauthorized"


def test_problem_exception_carries_its_type() -> None:
    problem = Problem(
        422, "bad", slug="invalid-cursor", title="Invalid cursor", extensions={"n": 1}
    )

    assert (problem.status_code, problem.detail) == (422, "bad")
    assert (problem.slug, problem.title, problem.extensions) == (
        "invalid-cursor",
        "Invalid cursor",
        {"n": 1},
    )


def test_validation_errors_never_echo_the_input() -> None:
    errors = validation_errors(
        [
            {
                "loc": ("body", "input_data", 0),
                "msg": "bad",
                "type": "dict_type",
                "input": "secret",
                "ctx": {"error": ValueError("x")},
            },
            "odd",
        ]
    )

    assert errors == [
        {"loc": ["body", "input_data", 0], "msg": "bad", "type": "dict_type"},
        {"loc": [], "msg": "odd", "type": "value_error"},
    ]
    json.dumps(errors)  # always serialisable


@pytest.fixture
def job() -> Job:
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    return Job(
        id=uuid.UUID(int=7),
        job_type="echo",
        status=JobStatus.RUNNING,
        input_data={},
        result=None,
        error=None,
        progress_percent=None,
        progress_message=None,
        created_at=now,
        started_at=now,
        completed_at=None,
        project_id=None,
        interview_id=None,
        parent_id=None,
        attempts=1,
        max_attempts=3,
        priority=0,
        run_at=now,
        timeout_seconds=None,
        worker_id="w",
        lease_token=uuid.uuid4(),
        lease_expires_at=now,
        cancel_requested_at=None,
        idempotency_key=None,
        version=4,
        updated_at=now,
    )


def test_etags_follow_the_version(job: Job) -> None:
    etag = etag_for(job)

    assert etag == f'W/"{job.id}-4"'
    assert etag_matches(etag, etag)
    assert etag_matches(f'"{job.id}-4"', etag)  # weak comparison
    assert etag_matches(f'"a", W/"{job.id}-4" , "b"', etag)
    assert etag_matches("*", etag)
    assert not etag_matches(f'W/"{job.id}-3"', etag)
    assert not etag_matches("", etag)
    assert not etag_matches(None, etag)


def test_accepted_reports_the_actual_status(job: Job) -> None:
    response = accepted(job, "Already queued.")

    assert response.status_code == 202
    assert json.loads(bytes(response.body)) == {
        "job_id": str(job.id),
        "status": "running",
        "message": "Already queued.",
    }
    assert response.headers["Location"] == f"/api/v1/jobs/{job.id}"
    assert response.headers["Retry-After"] == "1"
