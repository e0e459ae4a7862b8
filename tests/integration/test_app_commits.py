"""Commit messages over HTTP on both databases: from an executed task, from a description."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from orbit.jobs import SQLStore
from orbit.planning.commits.handlers import generate_commit
from orbit.planning.schema import ai_calls, commits
from orbit.planning.services import PlanningServices
from tests.integration.conftest import app_settings
from tests.integration.test_app_tasks import (
    assert_problem,
    claimed,
    engine_of,
    rerun,
    run_job,
    seed_execution,
    seed_item,
    seed_project,
)

STEPS_AUTO = [
    (10, "Reading task execution..."),
    (30, "Generating commit message..."),
    (80, "Saving commit..."),
    (100, "Commit message ready"),
]
STEPS_MANUAL = [(10, "Reading change..."), *STEPS_AUTO[1:]]
DIFF = """diff --git a/docs/guide.md b/docs/guide.md
--- a/docs/guide.md
+++ b/docs/guide.md
@@ -1 +1,2 @@
 # Guide
+How to share a recipe.
"""


def commit_rows(client: TestClient | sa.Engine) -> list[sa.Row[tuple[object, ...]]]:
    with engine_of(client).connect() as conn:
        return list(conn.execute(sa.select(commits)).all())


def test_auto_generate_writes_a_commit_for_an_executed_task(app_client: TestClient) -> None:
    project_id = seed_project(app_client)
    task = seed_item(app_client, project_id, "task", "Add recipe search", status="active")
    seed_execution(app_client, task, "Implement recipe search by title.\n\n## Plan\n1. Index")

    job, events = run_job(app_client, app_client.post(f"/api/v1/commits/auto-generate/{task}"))
    assert job["status"] == "completed", job["error"]
    assert job["job_type"] == "commit_generation"
    assert job["project_id"] == str(project_id)
    assert events == STEPS_AUTO
    result = job["result"]
    assert result["success"] is True
    assert result["message"] == "feat: add recipe search"
    assert "Implement recipe search by title." in " ".join(result["body"].split())
    assert result["item_id"] == str(task)

    [row] = commit_rows(app_client)
    assert str(row.id) == result["commit_id"]
    assert (row.message, row.body) == (result["message"], result["body"])
    assert (row.item_id, row.project_id, str(row.job_id)) == (task, project_id, job["id"])
    with engine_of(app_client).connect() as conn:
        prompt = conn.execute(
            sa.select(ai_calls.c.prompt_name).where(ai_calls.c.job_id == row.job_id)
        ).scalar_one()
    assert prompt == "commit.message"


def test_auto_generate_needs_an_executed_task(app_client: TestClient) -> None:
    project_id = seed_project(app_client)
    task = seed_item(app_client, project_id, "task", "Add recipe search", status="active")
    problem = assert_problem(
        app_client.post(f"/api/v1/commits/auto-generate/{task}"), 409, "has no execution yet"
    )
    assert problem["type"].endswith("/task-not-executed")
    assert_problem(app_client.post(f"/api/v1/commits/auto-generate/{uuid.uuid4()}"), 404)
    assert commit_rows(app_client) == []


def test_generate_manual_uses_the_description_and_diff(app_client: TestClient) -> None:
    project_id = seed_project(app_client)
    body = {"description": "Document how to share a recipe", "diff": DIFF}
    response = app_client.post(f"/api/v1/commits/generate-manual/{project_id}", json=body)

    job, events = run_job(app_client, response)
    assert job["status"] == "completed", job["error"]
    assert job["job_type"] == "commit_generation"
    assert events == STEPS_MANUAL
    result = job["result"]
    assert result["message"] == "docs(docs): document how to share a recipe"  # scope: the diff
    assert "docs/guide.md" in result["body"]
    assert result["item_id"] is None
    [row] = commit_rows(app_client)
    assert (str(row.id), row.item_id, row.project_id) == (result["commit_id"], None, project_id)


def test_generate_manual_validates_its_input(app_client: TestClient) -> None:
    project_id = seed_project(app_client)
    url = f"/api/v1/commits/generate-manual/{project_id}"
    for body in (
        {},
        {"description": ""},
        {"description": "   "},
        {"description": "x" * 5001},
        {"description": "ok", "diff": "x" * 200_001},
    ):
        assert_problem(app_client.post(url, json=body), 422)
    missing = f"/api/v1/commits/generate-manual/{uuid.uuid4()}"
    assert_problem(app_client.post(missing, json={"description": "ok"}), 404, "project")
    ok = app_client.post(url, json={"description": "x" * 5000, "diff": "y" * 200_000})
    assert ok.status_code == 202


def test_list_commits_newest_first(app_client: TestClient) -> None:
    project_id = seed_project(app_client)
    other = seed_project(app_client, "Other")
    url = f"/api/v1/commits/generate-manual/{project_id}"
    made = []
    for description in ("Fix crash on empty recipe", "Add recipe tags"):
        job, _ = run_job(app_client, app_client.post(url, json={"description": description}))
        made.append(job["result"]["commit_id"])
    run_job(
        app_client,
        app_client.post(f"/api/v1/commits/generate-manual/{other}", json={"description": "x"}),
    )

    listed = app_client.get("/api/v1/commits", params={"project_id": str(project_id)}).json()
    assert [c["id"] for c in listed] == made[::-1]
    assert [c["message"] for c in listed] == ["feat: add recipe tags", "fix: crash on empty recipe"]
    assert set(listed[0]) == {
        "id",
        "project_id",
        "item_id",
        "message",
        "body",
        "created_at",
        "job_id",
    }

    assert_problem(app_client.get("/api/v1/commits"), 422, "project_id")
    unknown = app_client.get("/api/v1/commits", params={"project_id": str(uuid.uuid4())})
    assert_problem(unknown, 404, "project")
    assert app_client.get("/api/v1/commits", params={"project_id": str(other)}).json()[0]["message"]


def test_commit_idempotency_keys_return_the_same_job(app_client: TestClient) -> None:
    project_id = seed_project(app_client)
    task = seed_item(app_client, project_id, "task", "Add recipe search", status="active")
    seed_execution(app_client, task, "Implement recipe search.")
    requests = (
        (f"/api/v1/commits/auto-generate/{task}", None),
        (f"/api/v1/commits/generate-manual/{project_id}", {"description": "Add tags"}),
    )
    for n, (url, body) in enumerate(requests):
        headers = {"Idempotency-Key": f"commit-{n}"}
        first = app_client.post(url, json=body, headers=headers)
        job, _ = run_job(app_client, first)
        again = app_client.post(url, json=body, headers=headers)
        assert again.status_code == 202
        assert again.json()["job_id"] == job["id"]
    assert len(commit_rows(app_client)) == 2


@pytest.fixture
def services(db_url: str, store: SQLStore, tmp_path: Path) -> PlanningServices:
    """The app's services on a store no worker runs, so the test drives the handler."""
    return PlanningServices(app_settings(db_url, tmp_path), store.engine)


async def test_a_rerun_returns_the_saved_commit(
    store: SQLStore, services: PlanningServices
) -> None:
    project_id = seed_project(store.engine)
    inputs = {"project_id": str(project_id), "description": "Add recipe tags", "diff": ""}
    ctx = claimed(store, "commit_generation", inputs)
    first = await generate_commit(ctx, services, inputs)
    assert await generate_commit(rerun(ctx, store), services, inputs) == first
    [row] = commit_rows(store.engine)
    assert str(row.id) == first["commit_id"]
