"""The jobs HTTP API on both databases: enqueue, read, list, cancel, retry, delete, stats."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from orbit.api import create_app
from orbit.jobs import JobClient, JobContext, JobManager, JobRegistry, JobSpec, JobStatus, SQLStore
from orbit.jobs.http import parse_duration
from orbit.settings import Settings
from tests.conftest import wait_until

PROBLEM = "application/problem+json"
SEED_FIELDS = {
    "id",
    "job_type",
    "status",
    "progress_percent",
    "progress_message",
    "created_at",
    "started_at",
    "completed_at",
    "result",
    "error",
    "error_code",
    "input_data",
    "project_id",
    "interview_id",
    "parent_id",
    "attempts",
    "max_attempts",
    "priority",
    "queue",
    "run_at",
    "timeout_seconds",
    "cancel_requested_at",
    "worker_id",
    "version",
    "updated_at",
}
TIMESTAMPS = ("created_at", "started_at", "completed_at", "run_at", "cancel_requested_at")


def make_registry() -> JobRegistry:
    registry = JobRegistry()

    @registry.job("echo", max_attempts=5)
    async def echo(ctx: JobContext, **input_data: Any) -> dict[str, Any]:
        await ctx.progress(50, "Echoing...")
        return {"echo": input_data}

    @registry.job("wait")
    async def wait(ctx: JobContext) -> str:
        await ctx.progress(1, "waiting")
        await asyncio.sleep(60)
        return "never"

    @registry.job("demo_message")
    async def demo_message(ctx: JobContext, **input_data: Any) -> dict[str, Any]:
        return {"success": True}

    return registry


def settings(db_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "embedded_worker": False,
        "api_token": None,
        "max_body_bytes": 1024 * 1024,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def api(db_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings(db_url), make_registry())) as client:
        yield client


@pytest.fixture
def engine(store: SQLStore) -> JobManager:
    """The engine, used directly to move jobs along (no worker)."""
    return JobManager(JobClient(store))


def enqueue(api: TestClient, job_type: str = "echo", **body: Any) -> uuid.UUID:
    response = api.post("/api/v1/jobs", json={"job_type": job_type, **body})
    assert response.status_code == 202, response.text
    return uuid.UUID(response.json()["job_id"])


def get(api: TestClient, job_id: uuid.UUID) -> dict[str, Any]:
    response = api.get(f"/api/v1/jobs/{job_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_problem(response: Any, status: int, slug: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["instance"] == response.request.url.path
    if slug is not None:
        assert body["type"] == f"/problems/{slug}"
    return body


def parse_time(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None, value
    return parsed


# -- enqueue --------------------------------------------------------------------------------


def test_enqueue_answers_202_with_location_and_retry_after(api: TestClient) -> None:
    response = api.post(
        "/api/v1/jobs", json={"job_type": "demo_message", "input_data": {"message": "hi"}}
    )

    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"job_id", "status", "message"}
    job_id = uuid.UUID(body["job_id"])
    assert body["status"] == "pending"
    assert body["message"] == (
        f"Job created successfully. Poll GET /api/v1/jobs/{job_id} for result."
    )
    assert response.headers["Location"] == f"/api/v1/jobs/{job_id}"
    assert response.headers["Retry-After"] == "1"
    polled = api.get(response.headers["Location"]).json()
    assert polled["job_type"] == "demo_message"
    assert polled["input_data"] == {"message": "hi"}


def test_enqueue_uses_the_registered_defaults_and_the_given_options(api: TestClient) -> None:
    project, interview = uuid.uuid4(), uuid.uuid4()
    run_at = dt.datetime(2031, 1, 2, 3, 4, 5, tzinfo=dt.UTC)

    defaulted = get(api, enqueue(api, "echo"))
    chosen = get(
        api,
        enqueue(
            api,
            "echo",
            input_data={"n": 1},
            project_id=str(project),
            interview_id=str(interview),
            priority=-5,
            max_attempts=2,
            timeout_seconds=12.5,
            run_at=run_at.isoformat(),
        ),
    )

    assert defaulted["max_attempts"] == 5  # the registry's value for "echo"
    assert defaulted["timeout_seconds"] is None
    assert chosen["max_attempts"] == 2
    assert chosen["priority"] == -5
    assert chosen["timeout_seconds"] == 12.5
    assert chosen["project_id"] == str(project)
    assert chosen["interview_id"] == str(interview)
    # On PostgreSQL a run_at is moved onto the database's clock, keeping its distance from
    # this host's now: the shift is the host's offset, here well under a second.
    assert abs(parse_time(chosen["run_at"]) - run_at) < dt.timedelta(seconds=1)


def test_idempotency_key_returns_the_same_job(api: TestClient, engine: JobManager) -> None:
    def send() -> Any:
        return api.post(
            "/api/v1/jobs",
            json={"job_type": "echo", "input_data": {"n": 1}},
            headers={"Idempotency-Key": "order-42 retry"},
        )

    first, second = send(), send()
    job_id = uuid.UUID(first.json()["job_id"])
    engine.start_job(job_id)
    third = send()

    assert [r.status_code for r in (first, second, third)] == [202, 202, 202]
    assert second.json()["job_id"] == third.json()["job_id"] == str(job_id)
    assert third.json()["status"] == "running"  # the job's actual status on a repeat
    assert third.headers["Location"] == f"/api/v1/jobs/{job_id}"
    assert len(api.get("/api/v1/jobs").json()["items"]) == 1


def test_reusing_an_idempotency_key_for_another_request_is_a_422(api: TestClient) -> None:
    headers = {"Idempotency-Key": "k-1"}
    first = api.post(
        "/api/v1/jobs", json={"job_type": "echo", "input_data": {"n": 1}}, headers=headers
    )

    other_input = api.post(
        "/api/v1/jobs", json={"job_type": "echo", "input_data": {"n": 2}}, headers=headers
    )
    other_priority = api.post(
        "/api/v1/jobs",
        json={"job_type": "echo", "input_data": {"n": 1}, "priority": 3},
        headers=headers,
    )

    body = assert_problem(other_input, 422, "idempotency-key-reused")
    assert body["job_id"] == first.json()["job_id"]
    assert_problem(other_priority, 422, "idempotency-key-reused")
    assert len(api.get("/api/v1/jobs").json()["items"]) == 1


def test_an_idempotency_key_is_scoped_to_the_job_type(api: TestClient) -> None:
    headers = {"Idempotency-Key": "k-1"}
    echo = api.post("/api/v1/jobs", json={"job_type": "echo"}, headers=headers)
    other_type = api.post("/api/v1/jobs", json={"job_type": "demo_message"}, headers=headers)

    assert echo.status_code == other_type.status_code == 202
    assert echo.json()["job_id"] != other_type.json()["job_id"]
    again = api.post("/api/v1/jobs", json={"job_type": "demo_message"}, headers=headers)
    assert again.json()["job_id"] == other_type.json()["job_id"]


@pytest.mark.parametrize("key", ["x" * 201, "", " padded", "tab\there", "del\x7f"])
def test_invalid_idempotency_keys_are_a_422(api: TestClient, key: str) -> None:
    response = api.post("/api/v1/jobs", json={"job_type": "echo"}, headers={"Idempotency-Key": key})

    body = assert_problem(response, 422, "validation-error")
    assert body["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert api.get("/api/v1/jobs").json()["items"] == []


def test_an_idempotency_key_of_200_characters_is_accepted(api: TestClient) -> None:
    key = "k" * 200
    first = api.post("/api/v1/jobs", json={"job_type": "echo"}, headers={"Idempotency-Key": key})
    again = api.post("/api/v1/jobs", json={"job_type": "echo"}, headers={"Idempotency-Key": key})

    assert first.status_code == again.status_code == 202
    assert first.json()["job_id"] == again.json()["job_id"]


def test_unknown_job_type_is_a_422(api: TestClient) -> None:
    response = api.post("/api/v1/jobs", json={"job_type": "mine_bitcoin"})

    body = assert_problem(response, 422, "unknown-job-type")
    assert body["job_type"] == "mine_bitcoin"
    assert "mine_bitcoin" in body["detail"]
    assert api.get("/api/v1/jobs").json()["items"] == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"job_type": "echo", "surprise": 1},
        {"job_type": "echo", "input_data": [1, 2]},
        {"job_type": "echo", "max_attempts": 0},
        {"job_type": "echo", "timeout_seconds": -1},
        {"job_type": "echo", "priority": 2**40},
        {"job_type": "echo", "project_id": "not-a-uuid"},
        {"job_type": "echo", "run_at": "2030-01-01T00:00:00"},  # no offset
        {"job_type": "echo", "input_data": {"text": "nul\x00byte"}},
    ],
)
def test_invalid_enqueue_bodies_are_a_422(api: TestClient, body: dict[str, Any]) -> None:
    body_json = assert_problem(api.post("/api/v1/jobs", json=body), 422, "validation-error")
    assert body_json["errors"], body_json
    assert all("input" not in error for error in body_json["errors"])


@pytest.mark.parametrize(
    "raw",
    [
        '{"job_type": "echo", "input_data": {"x": NaN}}',
        '{"job_type": "echo", "input_data": {"x": "half a pair: \\ud800"}}',
        '{"job_type": "echo",',
    ],
)
def test_unstorable_or_broken_json_is_a_422(api: TestClient, raw: str) -> None:
    response = api.post("/api/v1/jobs", content=raw, headers={"Content-Type": "application/json"})

    assert_problem(response, 422, "validation-error")
    assert api.get("/api/v1/jobs").json()["items"] == []


# -- read -----------------------------------------------------------------------------------


def assert_seed_shape(body: dict[str, Any]) -> None:
    assert set(body) == SEED_FIELDS
    assert "lease_token" not in body
    parse_time(body["created_at"])
    parse_time(body["updated_at"])
    for field in TIMESTAMPS:
        if body[field] is not None:
            parse_time(body[field])


def test_get_has_the_seed_shape_through_the_job_lifecycle(
    api: TestClient, engine: JobManager
) -> None:
    project = uuid.uuid4()
    job_id = enqueue(api, "echo", input_data={"q": "why"}, project_id=str(project))

    pending = get(api, job_id)
    engine.start_job(job_id)
    engine.update_progress(job_id, 40, "Calling AI model...")
    running = get(api, job_id)
    engine.complete_job(job_id, {"answer": 42})
    completed = get(api, job_id)

    for body in (pending, running, completed):
        assert_seed_shape(body)
        assert body["id"] == str(job_id)
        assert body["input_data"] == {"q": "why"}
        assert body["project_id"] == str(project)
    assert pending["status"] == "pending"
    assert pending["started_at"] is None and pending["worker_id"] is None
    assert running["status"] == "running"
    assert running["progress_percent"] == 40
    assert running["progress_message"] == "Calling AI model..."
    assert running["attempts"] == 1
    assert running["worker_id"]
    assert parse_time(running["started_at"]) >= parse_time(running["created_at"])
    assert completed["status"] == "completed"
    assert completed["result"] == {"answer": 42}
    assert completed["progress_percent"] == 100
    assert completed["completed_at"] is not None
    assert pending["version"] < running["version"] < completed["version"]


def test_get_shows_a_failed_job_with_its_error(api: TestClient, engine: JobManager) -> None:
    job_id = enqueue(api)
    engine.start_job(job_id)
    engine.fail_job(job_id, "AI API call failed: 503")

    failed = get(api, job_id)

    assert_seed_shape(failed)
    assert failed["status"] == "failed"
    assert failed["error"] == "AI API call failed: 503"
    assert failed["error_code"] == "handler_error"
    assert failed["result"] is None
    assert failed["completed_at"] is not None


def test_etag_and_if_none_match(api: TestClient, engine: JobManager) -> None:
    job_id = enqueue(api)
    first = api.get(f"/api/v1/jobs/{job_id}")
    etag = first.headers["ETag"]

    unchanged = api.get(f"/api/v1/jobs/{job_id}", headers={"If-None-Match": etag})
    in_a_list = api.get(
        f"/api/v1/jobs/{job_id}", headers={"If-None-Match": f'"other", {etag.removeprefix("W/")}'}
    )
    star = api.get(f"/api/v1/jobs/{job_id}", headers={"If-None-Match": "*"})
    engine.start_job(job_id)
    changed = api.get(f"/api/v1/jobs/{job_id}", headers={"If-None-Match": etag})

    assert etag == f'W/"{job_id}-1"'
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["ETag"] == etag
    assert in_a_list.status_code == 304
    assert star.status_code == 304
    assert changed.status_code == 200
    assert changed.json()["status"] == "running"
    assert changed.headers["ETag"] == f'W/"{job_id}-{changed.json()["version"]}"'
    assert changed.headers["ETag"] != etag


def test_malformed_job_id_is_a_422_problem(api: TestClient) -> None:
    for method, path in [
        ("GET", "/api/v1/jobs/not-a-uuid"),
        ("DELETE", "/api/v1/jobs/123"),
        ("POST", "/api/v1/jobs/xyz/cancel"),
        ("POST", "/api/v1/jobs/xyz/retry"),
    ]:
        body = assert_problem(api.request(method, path), 422, "validation-error")
        assert body["errors"][0]["loc"] == ["path", "job_id"]


def test_unknown_job_is_a_404_problem(api: TestClient) -> None:
    missing = uuid.uuid4()
    for method, path in [
        ("GET", f"/api/v1/jobs/{missing}"),
        ("DELETE", f"/api/v1/jobs/{missing}"),
        ("POST", f"/api/v1/jobs/{missing}/cancel"),
        ("POST", f"/api/v1/jobs/{missing}/retry"),
    ]:
        body = assert_problem(api.request(method, path), 404, "job-not-found")
        assert body["job_id"] == str(missing)
        assert str(missing) in body["detail"]


# -- list -----------------------------------------------------------------------------------


def ids(response: Any) -> set[str]:
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


def test_list_filters(api: TestClient, engine: JobManager) -> None:
    project, other_project, interview = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    a = enqueue(api, "echo", project_id=str(project))
    b = enqueue(api, "demo_message", project_id=str(project), interview_id=str(interview))
    c = enqueue(api, "echo", project_id=str(other_project))
    child = engine.client.enqueue_spec(JobSpec("echo", parent_id=c)).id
    engine.start_job(a)

    def listed(**params: Any) -> set[str]:
        return ids(api.get("/api/v1/jobs", params=params))

    assert listed() == {str(a), str(b), str(c), str(child)}
    assert listed(project_id=project) == {str(a), str(b)}
    assert listed(job_type="demo_message") == {str(b)}
    assert listed(interview_id=interview) == {str(b)}
    assert listed(parent_id=c) == {str(child)}
    assert listed(status="running") == {str(a)}
    assert listed(status="pending", job_type="echo") == {str(c), str(child)}
    assert listed(status="completed") == set()


@pytest.mark.parametrize(
    "params",
    [
        {"status": "exploded"},
        {"limit": 0},
        {"limit": 201},
        {"limit": "many"},
        {"project_id": "nope"},
    ],
)
def test_list_rejects_bad_filters(api: TestClient, params: dict[str, Any]) -> None:
    body = assert_problem(api.get("/api/v1/jobs", params=params), 422, "validation-error")
    assert body["errors"][0]["loc"][0] == "query"


def test_list_paginates_newest_first_without_duplicates(
    api: TestClient, engine: JobManager
) -> None:
    # enqueue_many stamps one created_at on every row: ties must be broken by id.
    created = [
        str(i) for i in engine.client.enqueue_many([JobSpec("echo", {"i": i}) for i in range(5)])
    ]
    created += [str(enqueue(api, "echo", input_data={"i": i})) for i in range(5, 8)]

    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/api/v1/jobs", params=params).json()
        pages += 1
        assert len(page["items"]) <= 3
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break

    seen_ids = [item["id"] for item in seen]
    assert pages == 3
    assert len(seen_ids) == len(set(seen_ids)) == 8
    assert set(seen_ids) == set(created)
    keys = [(parse_time(item["created_at"]), item["id"]) for item in seen]
    assert [k[0] for k in keys] == sorted((k[0] for k in keys), reverse=True)
    assert api.get("/api/v1/jobs", params={"limit": 200}).json()["next_cursor"] is None


def forged_cursor(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "zzz",
        "!!!",
        forged_cursor(["2030-01-01T00:00:00", str(uuid.uuid4())]),  # naive timestamp
        forged_cursor(["2030-01-01T00:00:00+00:00", 12345]),  # id is not a string
        forged_cursor({"a": 1}),
        forged_cursor(["yesterday", "x"]),
    ],
)
def test_malformed_cursor_is_a_422(api: TestClient, cursor: str) -> None:
    enqueue(api)

    body = assert_problem(api.get("/api/v1/jobs", params={"cursor": cursor}), 422, "invalid-cursor")
    assert body["errors"][0]["loc"] == ["query", "cursor"]


# -- delete, cancel, retry ------------------------------------------------------------------


def test_delete_finished_pending_running_and_unknown(api: TestClient, engine: JobManager) -> None:
    finished, pending, running = enqueue(api), enqueue(api), enqueue(api)
    engine.start_job(finished)
    engine.complete_job(finished, "done")
    engine.start_job(running)

    deleted = api.delete(f"/api/v1/jobs/{finished}")
    while_pending = api.delete(f"/api/v1/jobs/{pending}")
    while_running = api.delete(f"/api/v1/jobs/{running}")
    again = api.delete(f"/api/v1/jobs/{finished}")

    assert deleted.status_code == 204
    assert deleted.content == b""
    assert api.get(f"/api/v1/jobs/{finished}").status_code == 404
    assert assert_problem(while_pending, 409, "invalid-transition")["job_status"] == "pending"
    assert assert_problem(while_running, 409, "invalid-transition")["job_status"] == "running"
    assert_problem(again, 404, "job-not-found")
    assert get(api, pending)["status"] == "pending"
    assert get(api, running)["status"] == "running"


def test_cancel_pending_is_immediate(api: TestClient) -> None:
    job_id = enqueue(api)

    response = api.post(f"/api/v1/jobs/{job_id}/cancel")

    assert response.status_code == 202
    body = response.json()
    assert set(body) == SEED_FIELDS
    assert body["status"] == "cancelled"
    assert body["completed_at"] is not None
    assert body["cancel_requested_at"] is not None
    assert response.headers["ETag"] == f'W/"{job_id}-{body["version"]}"'
    assert get(api, job_id)["status"] == "cancelled"


def test_cancel_running_requests_a_stop(api: TestClient, engine: JobManager) -> None:
    job_id = enqueue(api)
    engine.start_job(job_id)

    first = api.post(f"/api/v1/jobs/{job_id}/cancel")
    second = api.post(f"/api/v1/jobs/{job_id}/cancel")

    assert first.status_code == second.status_code == 202
    assert first.json()["status"] == "running"
    assert first.json()["cancel_requested_at"] is not None
    assert second.json()["cancel_requested_at"] == first.json()["cancel_requested_at"]
    assert get(api, job_id)["completed_at"] is None


def test_cancel_finished_is_a_409(api: TestClient, engine: JobManager) -> None:
    job_id = enqueue(api)
    engine.start_job(job_id)
    engine.complete_job(job_id, 1)

    body = assert_problem(api.post(f"/api/v1/jobs/{job_id}/cancel"), 409, "invalid-transition")

    assert body["job_status"] == "completed"
    assert body["operation"] == "cancel"
    assert get(api, job_id)["status"] == "completed"


def test_retry(api: TestClient, engine: JobManager) -> None:
    failed, cancelled, completed, pending = enqueue(api), enqueue(api), enqueue(api), enqueue(api)
    engine.start_job(failed)
    engine.fail_job(failed, "boom")
    api.post(f"/api/v1/jobs/{cancelled}/cancel")
    engine.start_job(completed)
    engine.complete_job(completed, None)

    retried = api.post(f"/api/v1/jobs/{failed}/retry")
    retried_cancelled = api.post(f"/api/v1/jobs/{cancelled}/retry")

    assert retried.status_code == 202
    assert retried.headers["Location"] == f"/api/v1/jobs/{failed}"
    assert retried.headers["Retry-After"] == "1"
    body = retried.json()
    assert body["status"] == "pending"
    assert body["error"] is None and body["completed_at"] is None
    assert body["attempts"] == 1
    assert retried_cancelled.status_code == 202
    assert retried_cancelled.json()["status"] == "pending"
    assert retried_cancelled.json()["cancel_requested_at"] is None
    for job_id, status in ((completed, "completed"), (pending, "pending")):
        problem = assert_problem(
            api.post(f"/api/v1/jobs/{job_id}/retry"), 409, "invalid-transition"
        )
        assert problem["job_status"] == status
    assert get(api, failed)["status"] == "pending"


def test_bulk_delete_of_finished_jobs(api: TestClient, engine: JobManager) -> None:
    jobs = {
        name: enqueue(api, input_data={"name": name})
        for name in ("completed", "failed", "cancelled", "pending", "running")
    }
    engine.start_job(jobs["completed"])
    engine.complete_job(jobs["completed"], None)
    engine.start_job(jobs["failed"])
    engine.fail_job(jobs["failed"], "x")
    api.post(f"/api/v1/jobs/{jobs['cancelled']}/cancel")
    engine.start_job(jobs["running"])

    only_completed = api.delete("/api/v1/jobs", params={"status": "completed"})
    too_recent = api.delete(
        "/api/v1/jobs",
        params=[("status", "failed"), ("status", "cancelled"), ("older_than", "3600")],
    )
    too_recent_iso = api.delete("/api/v1/jobs", params={"older_than": "P1DT2H"})
    the_rest = api.delete("/api/v1/jobs", params={"older_than": "0"})

    assert only_completed.json() == {"deleted": 1}
    assert too_recent.json() == {"deleted": 0}
    assert too_recent_iso.json() == {"deleted": 0}
    assert the_rest.json() == {"deleted": 2}
    remaining = ids(api.get("/api/v1/jobs"))
    assert remaining == {str(jobs["pending"]), str(jobs["running"])}


@pytest.mark.parametrize(
    ("params", "slug"),
    [
        ({"status": "pending"}, "validation-error"),
        ([("status", "failed"), ("status", "running")], "validation-error"),
        ({"status": "gone"}, "validation-error"),
        ({"older_than": "-1"}, "invalid-duration"),
        ({"older_than": "banana"}, "invalid-duration"),
        ({"older_than": "P1Y"}, "invalid-duration"),
        ({"older_than": "nan"}, "invalid-duration"),
        ({"older_than": "1e400"}, "invalid-duration"),
    ],
)
def test_bulk_delete_rejects_bad_parameters(
    api: TestClient, engine: JobManager, params: Any, slug: str
) -> None:
    job_id = enqueue(api)
    api.post(f"/api/v1/jobs/{job_id}/cancel")

    assert_problem(api.delete("/api/v1/jobs", params=params), 422, slug)
    assert get(api, job_id)["status"] == "cancelled"  # nothing was deleted


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0),
        ("3600", 3600),
        ("1.5", 1.5),
        ("PT0S", 0),
        ("PT90M", 5400),
        ("P1D", 86_400),
        ("P1W", 604_800),
        ("P1DT2H3M4.5S", 93_784.5),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == dt.timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "P", "PT", "P1DT", "1D", "-P1D", "inf", "P1M"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


# -- stats ----------------------------------------------------------------------------------


def test_stats_counts_by_status_and_filters(api: TestClient, engine: JobManager) -> None:
    project = uuid.uuid4()
    a = enqueue(api, "echo", project_id=str(project))
    enqueue(api, "echo", project_id=str(project))
    enqueue(api, "demo_message")
    engine.start_job(a)

    everything = api.get("/api/v1/jobs/stats")
    in_project = api.get("/api/v1/jobs/stats", params={"project_id": str(project)})
    of_type = api.get("/api/v1/jobs/stats", params={"job_type": "demo_message"})

    assert everything.status_code == 200  # not shadowed by /jobs/{job_id}
    assert everything.json() == {
        "counts": {"pending": 2, "running": 1, "completed": 0, "failed": 0, "cancelled": 0},
        "total": 3,
    }
    assert in_project.json()["counts"] == {
        "pending": 1,
        "running": 1,
        "completed": 0,
        "failed": 0,
        "cancelled": 0,
    }
    assert of_type.json()["total"] == 1
    assert_problem(api.get("/api/v1/jobs/stats", params={"project_id": "x"}), 422)


# -- with the embedded worker ---------------------------------------------------------------


def test_jobs_enqueued_over_http_run_on_the_embedded_worker(db_url: str) -> None:
    app = create_app(
        settings(db_url, embedded_worker=True, poll_seconds=0.05, concurrency=2),
        make_registry(),
    )
    with TestClient(app) as api:
        job_id = enqueue(api, "echo", input_data={"word": "hello"})

        done = wait_until(
            lambda: (body := get(api, job_id))["status"] == "completed" and body,
            what="the job to complete",
        )

    assert done["result"] == {"echo": {"word": "hello"}}
    assert done["progress_percent"] == 100
    assert done["attempts"] == 1
    assert JobStatus(done["status"]) is JobStatus.COMPLETED


def test_cancelling_over_http_stops_a_job_on_the_embedded_worker(db_url: str) -> None:
    app = create_app(
        settings(db_url, embedded_worker=True, poll_seconds=0.05, cancel_poll_seconds=0.05),
        make_registry(),
    )
    with TestClient(app) as api:
        job_id = enqueue(api, "wait")
        wait_until(lambda: get(api, job_id)["progress_message"] == "waiting", what="job start")

        requested = api.post(f"/api/v1/jobs/{job_id}/cancel")
        cancelled = wait_until(
            lambda: (body := get(api, job_id))["status"] == "cancelled" and body,
            what="the worker to stop the job",
        )

    assert requested.status_code == 202
    assert requested.json()["status"] == "running"
    assert requested.json()["cancel_requested_at"] is not None
    assert cancelled["completed_at"] is not None
    assert cancelled["result"] is None
