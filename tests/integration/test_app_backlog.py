"""Backlog generation over HTTP on both databases: the seeds' full schedule, the
step-by-step routes, 404/409 problems, idempotency, and resuming after a failed step.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from orbit.api import create_app
from orbit.planning.schema import ai_calls, backlog_items
from tests.ai.fake_llm_server import FakeLLMServer, Reply
from tests.integration.conftest import app_settings, poll_job, progress_messages
from tests.integration.test_app_interviews import start_interview

PROBLEM = "application/problem+json"
ANSWERS = (
    "A web app that plans a week of dinners from what is already in the fridge.",
    "Busy parents who cook at home and want to waste less food.",
    "Planning meals takes too long and food goes off before it is used.",
    "Import recipes, search recipes by ingredient, share meal plans with family, "
    "send shopping reminders",
    "It must run on mobile browsers and integrate with a grocery delivery API.",
    "Weekly active planners and less food thrown away.",
)
SUMMARY_KEYS = {"id", "title", "description"}


def answered_interview(client: TestClient, answers: tuple[str, ...] = ANSWERS) -> dict[str, Any]:
    interview = start_interview(client)
    for answer in answers:
        response = client.post(
            f"/api/v1/interviews/{interview['id']}/send-message", json={"content": answer}
        )
        assert response.status_code == 200, response.text
    return interview


def backlog(client: TestClient, project_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/projects/{project_id}/backlog")
    assert response.status_code == 200, response.text
    return response.json()


def engine_of(client: TestClient) -> sa.Engine:
    engine: sa.Engine = client.app.state.planning.engine  # type: ignore[attr-defined]
    return engine


def prompts_called(client: TestClient, job_id: str) -> Counter[str]:
    query = sa.select(ai_calls.c.prompt_name).where(
        ai_calls.c.job_id == uuid.UUID(job_id), ai_calls.c.ok.is_(True)
    )
    with engine_of(client).connect() as conn:
        return Counter(conn.execute(query).scalars())


def full_schedule(epic_title: str, stories: int) -> list[tuple[float, str]]:
    """The seeds' progress schedule for a backlog of ``stories`` stories."""

    def at(start: float, end: float, index: int) -> float:
        return round(start + (end - start) * (index - 1) / stories, 1)

    return [
        (10.0, "Generating Epic from interview..."),
        (30.0, f"Epic created: {epic_title}"),
        (35.0, "Decomposing Epic into Stories..."),
        *[(at(40, 60, i), f"Generating Stories {i}/{stories}...") for i in range(1, stories + 1)],
        (60.0, f"Stories created: {stories} stories"),
        (65.0, "Decomposing Stories into Tasks..."),
        *[
            (at(70, 100, i), f"Generating Tasks for Story {i}/{stories}...")
            for i in range(1, stories + 1)
        ],
        (100.0, "Backlog generation complete"),
    ]


@pytest.fixture
def slow_client(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    """The app with each offline AI call taking 60 ms, so a poller sees the steps."""
    with TestClient(create_app(app_settings(db_url, tmp_path, offline_delay_ms=60))) as client:
        yield client


def test_generate_prompts_async_follows_the_seeds_schedule(slow_client: TestClient) -> None:
    client = slow_client
    interview = answered_interview(client)
    response = client.post(f"/api/v1/interviews/{interview['id']}/generate-prompts-async")
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    assert response.json()["status"] == "pending"
    assert response.json()["message"] == (
        f"Backlog generation job created. Poll GET /api/v1/jobs/{job_id} for result."
    )
    assert response.headers["location"] == f"/api/v1/jobs/{job_id}"

    job, seen = poll_job(client, job_id)
    assert job["status"] == "completed", job
    assert job["job_type"] == "backlog_generation"
    assert job["input_data"] == {"mode": "full", "interview_id": interview["id"]}
    assert (job["project_id"], job["interview_id"]) == (interview["project_id"], interview["id"])

    result = job["result"]
    assert set(result) == {"success", "epic_created", "stories_created", "tasks_created"}
    assert result["success"] is True and set(result["epic_created"]) == SUMMARY_KEYS
    stories = result["stories_created"]
    assert stories >= 3

    schedule = full_schedule(result["epic_created"]["title"], stories)
    log = progress_messages(client, job_id)
    assert log == schedule
    story_steps = [p for p, m in log if m.startswith("Generating Stories")]
    task_steps = [p for p, m in log if m.startswith("Generating Tasks")]
    assert all(35 < p < 60 for p in story_steps) and all(65 < p < 100 for p in task_steps)
    seen = [step for step in seen if step != (None, None)]  # running, before the first update
    assert len(seen) >= 3, f"the poller should see the job move: {seen}"
    assert set(seen) <= set(schedule)
    percents = [p for p, _ in seen]
    assert percents == sorted(percents)

    [epic] = backlog(client, interview["project_id"])
    assert epic["id"] == result["epic_created"]["id"] and epic["kind"] == "epic"
    assert epic["title"] == result["epic_created"]["title"]
    assert len(epic["children"]) == stories
    assert all(s["kind"] == "story" and s["children"] for s in epic["children"])
    tasks = [t for s in epic["children"] for t in s["children"]]
    assert len(tasks) == result["tasks_created"]
    assert {t["kind"] for t in tasks} == {"task"}
    assert [s["position"] for s in epic["children"]] == list(range(stories))

    with engine_of(client).connect() as conn:
        rows = conn.execute(
            sa.select(backlog_items.c.status, backlog_items.c.job_id, backlog_items.c.interview_id)
        ).all()
    assert len(rows) == 1 + stories + len(tasks)
    assert {tuple(r) for r in rows} == {
        ("suggested", uuid.UUID(job_id), uuid.UUID(interview["id"]))
    }
    assert prompts_called(client, job_id) == Counter(
        {"backlog.epic": 1, "backlog.stories": 1, "backlog.tasks": stories}
    )


def test_generation_needs_an_answered_interview(app_client: TestClient) -> None:
    interview = start_interview(app_client)
    missing = uuid.uuid4()
    for path in ("interviews/{}/generate-prompts-async", "backlog/interview/{}/generate-epic"):
        response = app_client.post("/api/v1/" + path.format(interview["id"]))
        assert response.status_code == 409, path
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["type"].endswith("/interview-not-answered")
        assert "no answers yet" in response.json()["detail"]
        unknown = app_client.post("/api/v1/" + path.format(missing))
        assert unknown.status_code == 404
        assert unknown.json()["type"].endswith("/interview-not-found")
    jobs = app_client.app.state.client  # type: ignore[attr-defined]
    assert [job.job_type for job in jobs.list().items] == ["interview_message"]  # the question


def test_generate_prompts_async_is_idempotent(app_client: TestClient) -> None:
    interview = answered_interview(app_client, ANSWERS[:2])
    url = f"/api/v1/interviews/{interview['id']}/generate-prompts-async"
    first = app_client.post(url, headers={"Idempotency-Key": "backlog-1"})
    job, _ = poll_job(app_client, first.json()["job_id"])
    again = app_client.post(url, headers={"Idempotency-Key": "backlog-1"})
    assert again.status_code == 202
    assert again.json()["job_id"] == job["id"] and again.json()["status"] == "completed"
    assert len(backlog(app_client, interview["project_id"])) == 1


def test_epic_stories_and_tasks_step_by_step(app_client: TestClient) -> None:
    client = app_client
    interview = answered_interview(client, ANSWERS[:4])

    made = client.post(f"/api/v1/backlog/interview/{interview['id']}/generate-epic")
    assert made.status_code == 202, made.text
    job, _ = poll_job(client, made.json()["job_id"])
    assert job["input_data"] == {"mode": "epic", "interview_id": interview["id"]}
    epic = job["result"]["epic_created"]
    assert job["result"] == {"success": True, "epic_created": epic}
    assert progress_messages(client, job["id"]) == [
        (10.0, "Generating Epic from interview..."),
        (100.0, f"Epic created: {epic['title']}"),
    ]

    made = client.post(f"/api/v1/backlog/epic/{epic['id']}/generate-stories")
    job, _ = poll_job(client, made.json()["job_id"])
    assert job["input_data"] == {"mode": "stories", "epic_id": epic["id"]}
    assert (job["project_id"], job["interview_id"]) == (interview["project_id"], interview["id"])
    result = job["result"]
    count = result["stories_created"]
    assert set(result) == {"success", "stories_created", "stories"} and count >= 3
    assert len(result["stories"]) == count
    assert all(set(s) == SUMMARY_KEYS for s in result["stories"])
    log = progress_messages(client, job["id"])
    assert log[0] == (10.0, "Decomposing Epic into Stories...")
    assert [m for _, m in log[1:-1]] == [
        f"Generating Stories {i}/{count}..." for i in range(1, count + 1)
    ]
    assert log[-1] == (100.0, f"Stories created: {count} stories")

    story = result["stories"][0]
    made = client.post(f"/api/v1/backlog/story/{story['id']}/generate-tasks")
    job, _ = poll_job(client, made.json()["job_id"])
    assert job["input_data"] == {"mode": "tasks", "story_id": story["id"]}
    tasks = job["result"]["tasks"]
    assert set(job["result"]) == {"success", "tasks_created", "tasks"}
    assert job["result"]["tasks_created"] == len(tasks) >= 3
    assert progress_messages(client, job["id"]) == [
        (10.0, f"Generating Tasks for Story: {story['title']}..."),
        (100.0, f"Tasks created: {len(tasks)} tasks"),
    ]

    [tree_epic] = backlog(client, interview["project_id"])
    assert tree_epic["id"] == epic["id"]
    assert [s["id"] for s in tree_epic["children"]] == [s["id"] for s in result["stories"]]
    assert [t["id"] for t in tree_epic["children"][0]["children"]] == [t["id"] for t in tasks]
    assert all(not s["children"] for s in tree_epic["children"][1:])


def test_step_routes_reject_unknown_ids_and_wrong_kinds(app_client: TestClient) -> None:
    client = app_client
    interview = answered_interview(client, ANSWERS[:2])
    made = client.post(f"/api/v1/backlog/interview/{interview['id']}/generate-epic")
    epic = poll_job(client, made.json()["job_id"])[0]["result"]["epic_created"]
    made = client.post(f"/api/v1/backlog/epic/{epic['id']}/generate-stories")
    story = poll_job(client, made.json()["job_id"])[0]["result"]["stories"][0]

    for path, slug in (
        (f"backlog/epic/{story['id']}/generate-stories", "not-an-epic"),
        (f"backlog/story/{epic['id']}/generate-tasks", "not-a-story"),
    ):
        response = client.post(f"/api/v1/{path}")
        assert response.status_code == 409, path
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["type"].endswith(f"/{slug}")
    for path in ("backlog/epic/{}/generate-stories", "backlog/story/{}/generate-tasks"):
        response = client.post("/api/v1/" + path.format(uuid.uuid4()))
        assert response.status_code == 404
        assert response.json()["type"].endswith("/backlog-item-not-found")
    assert client.post("/api/v1/backlog/story/not-a-uuid/generate-tasks").status_code == 422


# -- a failed AI call, then a retry that resumes after the finished steps ----------------------


def json_reply(text: str) -> Reply:
    return Reply(text=text)


def test_a_failed_step_writes_nothing_and_a_retry_resumes(
    remote_client: TestClient, fake_llm: FakeLLMServer
) -> None:
    client = remote_client
    fake_llm.push(
        json_reply('{"message": "What are you building?", "done": false}'),
        json_reply('{"message": "Who uses it?", "done": false}'),
    )
    interview = answered_interview(client, ANSWERS[:1])
    fake_llm.push(
        json_reply('{"title": "Meal planner", "description": "Plan dinners."}'),
        Reply.error(400, "content policy"),
    )
    made = client.post(f"/api/v1/interviews/{interview['id']}/generate-prompts-async")
    job_id = made.json()["job_id"]
    failed, _ = poll_job(client, job_id)
    assert failed["status"] == "failed" and failed["attempts"] == 1
    assert failed["error"].startswith("AI API call failed:") and "content policy" in failed["error"]
    assert failed["error"].endswith("(backlog_generation)")
    assert failed["error"].count("fake-model") == 1, failed["error"]
    [epic] = backlog(client, interview["project_id"])
    assert epic["title"] == "Meal planner" and epic["children"] == []

    stories = '{"stories": [{"title": "Plan", "description": "As a cook..."}, ' + (
        '{"title": "Shop", "description": "As a cook..."}]}'
    )
    task = '{"tasks": [{"title": "Build it", "description": "Done when tested."}]}'
    fake_llm.push(json_reply(stories), json_reply(task), json_reply(task))
    assert client.post(f"/api/v1/jobs/{job_id}/retry").status_code == 202
    done, _ = poll_job(client, job_id)
    assert done["status"] == "completed", done["error"]
    assert done["result"] == {
        "success": True,
        "epic_created": {"id": epic["id"], "title": "Meal planner", "description": "Plan dinners."},
        "stories_created": 2,
        "tasks_created": 2,
    }
    [same_epic] = backlog(client, interview["project_id"])
    assert same_epic["id"] == epic["id"]
    assert [s["title"] for s in same_epic["children"]] == ["Plan", "Shop"]
    assert all(len(s["children"]) == 1 for s in same_epic["children"])
    assert prompts_called(client, job_id) == Counter(
        {"backlog.epic": 1, "backlog.stories": 1, "backlog.tasks": 2}
    )
    second_run = [m for _, m in progress_messages(client, job_id)][2:]
    assert not any(m.startswith(("Generating Epic", "Epic created")) for m in second_run)


def test_a_job_with_a_bad_mode_or_id_fails_without_retry(app_client: TestClient) -> None:
    jobs = app_client.app.state.client  # type: ignore[attr-defined]
    cases = (
        ({"mode": "everything"}, "unknown backlog_generation mode 'everything'"),
        ({"mode": "stories"}, "mode 'stories' needs epic_id (a UUID), got None"),
        ({"mode": "tasks", "story_id": str(uuid.uuid4())}, "backlog item "),
    )
    for input_data, error in cases:
        job = jobs.enqueue("backlog_generation", input_data)
        failed, _ = poll_job(app_client, str(job.id))
        assert failed["status"] == "failed" and failed["attempts"] == 1, failed
        assert failed["error"].startswith(error), failed["error"]
