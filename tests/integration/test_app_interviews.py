"""Interviews over HTTP on both databases: the first question (a job), synchronous and
async answers (progress, streamed ``token`` events, idempotency, the synchronous route's
deadline), validation and AI failures.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from orbit.api import create_app
from orbit.jobs import JobClient
from orbit.planning.schema import ai_calls
from tests.ai.fake_llm_server import FakeLLMServer, Reply
from tests.integration.conftest import app_settings, poll_job, progress_messages
from tests.integration.test_app_projects import create as create_project

PROBLEM = "application/problem+json"
MESSAGE_KEYS = {"id", "role", "content", "created_at"}
REPLY_PROGRESS = [(25.0, "Calling AI model..."), (75.0, "Saving response to database...")]


def begin_interview(client: TestClient, name: str = "Recipe planner") -> dict[str, Any]:
    """``POST /interviews``: the new interview, its first question still to come."""
    project = create_project(client, name=name, description="Plan meals for the week")
    response = client.post("/api/v1/interviews", json={"project_id": project["id"]})
    assert response.status_code == 201, response.text
    return response.json()


def start_interview(client: TestClient, name: str = "Recipe planner") -> dict[str, Any]:
    """An interview whose first question has been asked (its job waited for)."""
    started = begin_interview(client, name)
    job, _ = poll_job(client, started["job_id"])
    assert job["status"] == "completed", job
    return read_interview(client, started["id"])


def read_interview(client: TestClient, interview_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/interviews/{interview_id}")
    assert response.status_code == 200, response.text
    return response.json()


def jobs_of(client: TestClient) -> JobClient:
    jobs: JobClient = client.app.state.client  # type: ignore[attr-defined]
    return jobs


def token_texts(client: TestClient, job_id: str) -> list[dict[str, Any]]:
    events = jobs_of(client).events(uuid.UUID(job_id))
    return [dict(e.payload) for e in events if e.kind == "token"]


@pytest.fixture
def streaming_client(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    """The app with a slowed offline model, so replies stream over ~300 ms."""
    settings = app_settings(db_url, tmp_path, offline_delay_ms=300)
    with TestClient(create_app(settings)) as client:
        yield client


def test_an_interview_starts_with_the_ais_first_question(app_client: TestClient) -> None:
    interview = start_interview(app_client)
    assert set(interview) == {"id", "project_id", "created_at", "messages", "pending_turn"}
    assert interview["pending_turn"] is None
    [question] = interview["messages"]
    assert set(question) == MESSAGE_KEYS
    assert question["role"] == "assistant"
    assert question["content"].startswith("Tell me more about")
    assert dt.datetime.fromisoformat(interview["created_at"]).tzinfo is not None


def test_starting_answers_at_once_and_a_job_streams_the_first_question(
    streaming_client: TestClient,
) -> None:
    client = streaming_client  # every AI call takes at least 300 ms
    started = begin_interview(client)
    assert set(started) == {"id", "project_id", "created_at", "messages", "job_id", "pending_turn"}
    assert started["messages"] == []
    assert started["pending_turn"] == {
        "job_id": started["job_id"],
        "status": "pending",
        "error": None,
    }
    assert read_interview(client, started["id"])["pending_turn"]["job_id"] == started["job_id"]
    answer = client.post(
        f"/api/v1/interviews/{started['id']}/send-message-async", json={"content": "Meals"}
    )
    assert answer.status_code == 409  # nothing to answer yet
    assert answer.json()["type"].endswith("/interview-not-started")

    job, _ = poll_job(client, started["job_id"])
    assert job["status"] == "completed" and job["job_type"] == "interview_message"
    assert job["input_data"] == {"interview_id": started["id"]}
    assert job["interview_id"] == started["id"]
    assert progress_messages(client, job["id"]) == REPLY_PROGRESS
    interview = read_interview(client, started["id"])
    [question] = interview["messages"]
    assert interview["pending_turn"] is None
    assert question["role"] == "assistant" and question["content"] == job["result"]["content"]
    assert question["id"] == job["result"]["message_id"]
    tokens = token_texts(client, job["id"])
    assert len(tokens) >= 2 and "".join(t["text"] for t in tokens) == question["content"]


def test_no_ai_call_happens_inside_the_start_request(
    db_url: str, tmp_path: Path, fake_llm: FakeLLMServer
) -> None:
    fake_llm.reset()
    settings = app_settings(
        db_url,
        tmp_path,
        embedded_worker=False,  # nobody runs the job: only the request itself could call
        ai_provider="openai",
        ai_model="fake-model",
        ai_base_url=f"{fake_llm.url}/v1",
        ai_api_key="test-key",
    )
    with TestClient(create_app(settings)) as client:
        started = begin_interview(client)
        assert fake_llm.requests == []
        interview = read_interview(client, started["id"])
        assert interview["messages"] == []
        assert interview["pending_turn"]["status"] == "pending"
        assert (
            client.post(
                f"/api/v1/interviews/{started['id']}/send-message", json={"content": "Meals"}
            )
            .json()["type"]
            .endswith("/interview-not-started")
        )
        assert fake_llm.requests == []


def test_a_failed_first_question_shows_as_the_pending_turn(
    remote_client: TestClient, fake_llm: FakeLLMServer
) -> None:
    fake_llm.push(Reply.error(401, "bad key"))
    started = begin_interview(remote_client)
    job, _ = poll_job(remote_client, started["job_id"])
    assert job["status"] == "failed" and job["attempts"] == 1
    interview = read_interview(remote_client, started["id"])
    assert interview["messages"] == []
    assert interview["pending_turn"]["status"] == "failed"
    assert "bad key" in interview["pending_turn"]["error"]


def test_send_message_answers_504_past_its_deadline(db_url: str, tmp_path: Path) -> None:
    fast = app_settings(db_url, tmp_path)
    with TestClient(create_app(fast)) as client:
        interview = start_interview(client)
    slow = app_settings(db_url, tmp_path, offline_delay_ms=3000, send_message_timeout_seconds=0.3)
    with TestClient(create_app(slow)) as client:
        response = client.post(
            f"/api/v1/interviews/{interview['id']}/send-message", json={"content": "Meals"}
        )
        assert response.status_code == 504
        assert response.headers["content-type"] == PROBLEM
        problem = response.json()
        assert problem["type"].endswith("/deadline-exceeded")
        assert problem["detail"] == "send-message did not finish within 0.3 s"
        assert len(read_interview(client, interview["id"])["messages"]) == 1  # nothing saved


def test_starting_an_interview_needs_a_known_project(app_client: TestClient) -> None:
    missing = uuid.uuid4()
    response = app_client.post("/api/v1/interviews", json={"project_id": str(missing)})
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("/project-not-found")
    for body in ({}, {"project_id": "not-a-uuid"}):
        invalid = app_client.post("/api/v1/interviews", json=body)
        assert invalid.status_code == 422
        assert invalid.headers["content-type"] == PROBLEM


def test_send_message_answers_within_the_request(app_client: TestClient) -> None:
    interview = start_interview(app_client)
    response = app_client.post(
        f"/api/v1/interviews/{interview['id']}/send-message",
        json={"content": "A web app that plans a week of dinners from what is in the fridge."},
    )
    assert response.status_code == 200, response.text
    reply = response.json()
    assert set(reply) == MESSAGE_KEYS and reply["role"] == "assistant"
    assert reply["content"].startswith("Who are the primary users")
    messages = read_interview(app_client, interview["id"])["messages"]
    assert [m["role"] for m in messages] == ["assistant", "user", "assistant"]
    assert messages[1]["content"].startswith("A web app that plans")
    assert messages[2] == reply


def test_send_message_async_streams_the_reply_and_saves_both_turns(
    streaming_client: TestClient,
) -> None:
    client = streaming_client
    interview = start_interview(client)
    answer = "A web app that plans a week of dinners from what is in the fridge."
    response = client.post(
        f"/api/v1/interviews/{interview['id']}/send-message-async", json={"content": answer}
    )
    assert response.status_code == 202, response.text
    accepted = response.json()
    job_id = accepted["job_id"]
    assert accepted["status"] == "pending"
    assert accepted["message"] == (
        f"Job created successfully. Poll GET /api/v1/jobs/{job_id} for result."
    )
    assert response.headers["location"] == f"/api/v1/jobs/{job_id}"

    job, seen = poll_job(client, job_id)
    assert job["status"] == "completed", job
    assert job["job_type"] == "interview_message"
    assert job["interview_id"] == interview["id"]
    assert job["project_id"] == interview["project_id"]
    assert job["input_data"] == {"interview_id": interview["id"], "message": answer}
    seen = [step for step in seen if step != (None, None)]  # running, before the first update
    assert seen and set(seen) <= set(REPLY_PROGRESS)  # the poller saw the job running
    percents = [percent for percent, _ in seen]
    assert percents == sorted(percents) and len(set(percents)) == len(percents)
    assert progress_messages(client, job_id) == REPLY_PROGRESS

    result = job["result"]
    assert set(result) == {"success", "message_id", "content"} and result["success"] is True
    assert result["content"].startswith("Who are the primary users")
    messages = read_interview(client, interview["id"])["messages"]
    assert [(m["role"], m["content"]) for m in messages[1:]] == [
        ("user", answer),
        ("assistant", result["content"]),
    ]
    assert messages[2]["id"] == result["message_id"]

    tokens = token_texts(client, job_id)
    assert len(tokens) >= 2, "the reply should arrive in several batches"
    assert "".join(t["text"] for t in tokens) == result["content"]
    assert {t["attempt"] for t in tokens} == {1}

    engine: sa.Engine = client.app.state.planning.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        calls = conn.execute(
            sa.select(ai_calls.c.prompt_name, ai_calls.c.operation, ai_calls.c.ok).where(
                ai_calls.c.job_id == uuid.UUID(job_id)
            )
        ).all()
    assert [tuple(c) for c in calls] == [("interview.next_question", "stream", True)]


def test_message_content_is_validated(app_client: TestClient) -> None:
    interview = start_interview(app_client)
    for path in ("send-message-async", "send-message"):
        url = f"/api/v1/interviews/{interview['id']}/{path}"
        for body in ({}, {"content": ""}, {"content": "  \n "}, {"content": "x" * 20_001}):
            response = app_client.post(url, json=body)
            assert response.status_code == 422, (path, body)
            assert response.headers["content-type"] == PROBLEM
    assert len(read_interview(app_client, interview["id"])["messages"]) == 1
    longest = app_client.post(
        f"/api/v1/interviews/{interview['id']}/send-message-async", json={"content": "x" * 20_000}
    )
    assert longest.status_code == 202


def test_unknown_interviews_are_404_problems(app_client: TestClient) -> None:
    missing = uuid.uuid4()
    for method, path in (
        ("GET", ""),
        ("POST", "/send-message-async"),
        ("POST", "/send-message"),
    ):
        body = {"content": "hello"} if method == "POST" else None
        response = app_client.request(method, f"/api/v1/interviews/{missing}{path}", json=body)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["type"].endswith("/interview-not-found")
    assert jobs_of(app_client).list().items == []


def test_idempotency_key_repeats_return_the_same_job(app_client: TestClient) -> None:
    interview = start_interview(app_client)
    url = f"/api/v1/interviews/{interview['id']}/send-message-async"
    headers = {"Idempotency-Key": "answer-1"}
    first = app_client.post(url, json={"content": "Meal plans"}, headers=headers)
    job, _ = poll_job(app_client, first.json()["job_id"])
    again = app_client.post(url, json={"content": "Meal plans"}, headers=headers)
    assert again.status_code == 202
    assert again.json()["job_id"] == first.json()["job_id"]
    assert again.json()["status"] == "completed"
    assert len(read_interview(app_client, interview["id"])["messages"]) == 3
    other = app_client.post(url, json={"content": "Meal plans"}, headers={"Idempotency-Key": "2"})
    assert other.json()["job_id"] != first.json()["job_id"]
    assert job["status"] == "completed"


# -- AI failures, against a fake model API ------------------------------------------------------


def remote_interview(client: TestClient, fake_llm: FakeLLMServer) -> dict[str, Any]:
    fake_llm.push(Reply(chunks=["What are ", "you building?"]))
    return start_interview(client)


def test_a_rejected_ai_call_fails_the_job_without_retry(
    remote_client: TestClient, fake_llm: FakeLLMServer
) -> None:
    interview = remote_interview(remote_client, fake_llm)
    fake_llm.push(Reply.error(400, "prompt too long"))
    response = remote_client.post(
        f"/api/v1/interviews/{interview['id']}/send-message-async", json={"content": "Meals"}
    )
    job, _ = poll_job(remote_client, response.json()["job_id"])
    assert job["status"] == "failed" and job["attempts"] == 1
    assert job["error"].startswith("AI API call failed:")
    assert "prompt too long" in job["error"]
    assert job["error"].endswith("(interview_message)")
    assert job["error"].count("fake-model") == 1, job["error"]
    assert len(read_interview(remote_client, interview["id"])["messages"]) == 1

    fake_llm.push(Reply.error(400, "prompt too long"))
    sync = remote_client.post(
        f"/api/v1/interviews/{interview['id']}/send-message", json={"content": "Meals"}
    )
    assert sync.status_code == 502
    assert sync.headers["content-type"] == PROBLEM
    assert sync.json()["detail"].startswith("AI API call failed:")


def test_an_unavailable_ai_is_retried_by_the_job(
    remote_client: TestClient, fake_llm: FakeLLMServer
) -> None:
    interview = remote_interview(remote_client, fake_llm)
    fake_llm.push(Reply.error(503, "overloaded"), Reply(chunks=["Who ", "uses ", "it?"]))
    response = remote_client.post(
        f"/api/v1/interviews/{interview['id']}/send-message-async", json={"content": "Meals"}
    )
    job, _ = poll_job(remote_client, response.json()["job_id"])
    assert job["status"] == "completed" and job["attempts"] == 2, job
    assert job["result"]["content"] == "Who uses it?"
    tokens = token_texts(remote_client, job["id"])
    assert "".join(t["text"] for t in tokens) == "Who uses it?"
    assert {t["attempt"] for t in tokens} == {2}
    messages = read_interview(remote_client, interview["id"])["messages"]
    assert [m["content"] for m in messages[1:]] == ["Meals", "Who uses it?"]


def test_concurrent_appends_to_one_interview_take_turns(app_client: TestClient) -> None:
    import threading

    from orbit.planning.interviews.data import append_messages

    interview = start_interview(app_client, name="Race")
    engine = app_client.app.state.planning.engine  # type: ignore[attr-defined]
    errors: list[BaseException] = []

    def append(n: int) -> None:
        try:
            with engine.begin() as conn:
                append_messages(conn, uuid.UUID(interview["id"]), [("user", f"answer {n}")])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    messages = app_client.get(f"/api/v1/interviews/{interview['id']}").json()["messages"]
    assert len(messages) == 9
    assert sorted(m["content"] for m in messages[1:]) == sorted(f"answer {n}" for n in range(8))


def test_a_stream_without_usage_is_recorded_as_estimated_never_zero(
    remote_client: TestClient, fake_llm: FakeLLMServer
) -> None:
    # The opening question streams without a usage chunk (as llama.cpp's server does).
    fake_llm.push(Reply(chunks=["What are ", "you cooking?"], stream_usage=False))
    started = begin_interview(remote_client)
    job, _ = poll_job(remote_client, started["job_id"])
    assert job["status"] == "completed", job
    engine: sa.Engine = remote_client.app.state.planning.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        [call] = conn.execute(
            sa.select(
                ai_calls.c.estimated, ai_calls.c.tokens_in, ai_calls.c.tokens_out, ai_calls.c.ok
            ).where(ai_calls.c.job_id == uuid.UUID(job["id"]))
        ).all()
    assert call.ok and call.estimated
    assert call.tokens_in > 0 and call.tokens_out > 0
