"""Tasks over HTTP on both databases: read items, activate them, execute one or all tasks."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from orbit.api import create_app
from orbit.jobs import Fail, Job, JobClient, JobContext, JobFilter, JobManager, JobStatus, SQLStore
from orbit.planning.schema import ai_calls, backlog_items, projects, task_executions
from orbit.planning.services import PlanningServices
from orbit.planning.tasks import handlers as task_handlers
from orbit.planning.tasks.batch import BatchProgress, summarise
from tests.conftest import wait_until
from tests.integration.conftest import app_settings, poll_job, progress_messages

PROBLEM = "application/problem+json"
EXECUTION_STEPS = [
    (10, "Preparing task..."),
    (30, "Calling AI model..."),
    (80, "Saving execution..."),
    (100, "Execution complete"),
]
BATCH_MESSAGE = re.compile(r"^Task (\d+)/(\d+) executing\.\.\.$")


# -- seeding (direct inserts: independent of the projects and backlog routes) -------------


Target = TestClient | sa.Engine
"""Where to seed: a live app's database, or an engine directly."""


def engine_of(target: Target) -> sa.Engine:
    if isinstance(target, sa.Engine):
        return target
    engine: sa.Engine = target.app.state.planning.engine  # type: ignore[attr-defined]
    return engine


def jobs_of(client: TestClient) -> JobClient:
    jobs: JobClient = client.app.state.client  # type: ignore[attr-defined]
    return jobs


def seed_project(client: Target, name: str = "Recipe box") -> uuid.UUID:
    project_id = uuid.uuid4()
    row = {
        "id": project_id,
        "name": name,
        "description": "Home cooks save and share recipes.",
        "created_at": dt.datetime.now(dt.UTC),
    }
    with engine_of(client).begin() as conn:
        conn.execute(sa.insert(projects), row)
    return project_id


def seed_item(
    client: Target,
    project_id: uuid.UUID,
    kind: str,
    title: str,
    *,
    status: str = "suggested",
    parent_id: uuid.UUID | None = None,
    position: int = 0,
) -> uuid.UUID:
    item_id = uuid.uuid4()
    now = dt.datetime.now(dt.UTC)
    row = {
        "id": item_id,
        "project_id": project_id,
        "parent_id": parent_id,
        "kind": kind,
        "title": title,
        "description": f"{title}, as the interview described it.",
        "details": {"source": "seed"},
        "status": status,
        "position": position,
        "created_at": now,
        "updated_at": now,
    }
    with engine_of(client).begin() as conn:
        conn.execute(sa.insert(backlog_items), row)
    return item_id


def seed_execution(client: Target, item_id: uuid.UUID, output: str) -> uuid.UUID:
    execution_id = uuid.uuid4()
    row = {
        "id": execution_id,
        "item_id": item_id,
        "output": output,
        "model": "seed-model",
        "tokens_in": 3,
        "tokens_out": 4,
        "created_at": dt.datetime.now(dt.UTC),
    }
    with engine_of(client).begin() as conn:
        conn.execute(sa.insert(task_executions), row)
    return execution_id


def execution_count(client: Target, item_id: uuid.UUID) -> int:
    stmt = sa.select(sa.func.count()).where(task_executions.c.item_id == item_id)
    with engine_of(client).connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def run_job(client: TestClient, response: Any) -> tuple[dict[str, Any], list[Any]]:
    """Check a 202 answer, wait for its job and check what the poller saw; (job, events)."""
    assert response.status_code == 202, response.text
    body = response.json()
    assert set(body) == {"job_id", "status", "message"}
    assert response.headers["Location"] == f"/api/v1/jobs/{body['job_id']}"
    job, seen = poll_job(client, body["job_id"])
    percents = [p for p, _ in seen if p is not None]
    assert percents == sorted(percents), seen
    return job, progress_messages(client, body["job_id"])


def assert_problem(response: Any, status: int, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    problem = response.json()
    assert problem["status"] == status
    for word in words:
        assert word in problem["detail"]
    return dict(problem)


# -- reading -------------------------------------------------------------------------------


def test_get_task_shows_item_children_and_executions(app_client: TestClient) -> None:
    project_id = seed_project(app_client)
    story = seed_item(app_client, project_id, "story", "Save recipes", status="active")
    first = seed_item(app_client, project_id, "task", "Recipe model", parent_id=story, position=0)
    second = seed_item(app_client, project_id, "task", "Recipe API", parent_id=story, position=1)
    older = seed_execution(app_client, first, "first run")
    newer = seed_execution(app_client, first, "second run")

    story_view = app_client.get(f"/api/v1/tasks/{story}").json()
    assert story_view["kind"] == "story"
    assert story_view["project_id"] == str(project_id)
    assert story_view["details"] == {"source": "seed"}
    assert [c["id"] for c in story_view["children"]] == [str(first), str(second)]
    assert story_view["children"][0] == {
        "id": str(first),
        "kind": "task",
        "title": "Recipe model",
        "status": "suggested",
    }
    assert story_view["executions"] == []

    task_view = app_client.get(f"/api/v1/tasks/{first}").json()
    assert task_view["parent_id"] == str(story)
    assert [e["id"] for e in task_view["executions"]] == [str(newer), str(older)]
    assert task_view["executions"][0]["output"] == "second run"
    assert set(task_view["executions"][0]) == {
        "id",
        "output",
        "model",
        "tokens_in",
        "tokens_out",
        "created_at",
        "job_id",
    }


def test_unknown_items_are_404_problems(app_client: TestClient) -> None:
    missing = uuid.uuid4()
    assert_problem(app_client.get(f"/api/v1/tasks/{missing}"), 404, str(missing))
    assert_problem(app_client.post(f"/api/v1/tasks/{missing}/activate"), 404)
    assert_problem(app_client.post(f"/api/v1/tasks/{missing}/execute"), 404)
    assert_problem(app_client.post(f"/api/v1/tasks/projects/{missing}/execute-all"), 404)
    assert_problem(app_client.get("/api/v1/tasks/not-a-uuid"), 422)


# -- activation ----------------------------------------------------------------------------


def test_every_kind_activates_with_its_own_job_type(app_client: TestClient) -> None:
    project_id = seed_project(app_client)
    epic = seed_item(app_client, project_id, "epic", "Recipe sharing")
    story = seed_item(app_client, project_id, "story", "Save recipes", parent_id=epic)
    task = seed_item(app_client, project_id, "task", "Recipe API", parent_id=story)
    subtask = seed_item(app_client, project_id, "subtask", "Validate input", parent_id=task)

    for kind, item_id in (("epic", epic), ("story", story), ("task", task), ("subtask", subtask)):
        job, events = run_job(app_client, app_client.post(f"/api/v1/tasks/{item_id}/activate"))
        assert job["status"] == "completed", job["error"]
        assert job["job_type"] == f"{kind}_activation"
        assert job["project_id"] == str(project_id)
        assert events == [
            (10, f"Activating {kind}..."),
            (90, "Saving details..."),
            (100, "Activated"),
        ]
        result = job["result"]
        assert result["id"] == str(item_id)
        assert result["status"] == "active"
        assert result["kind"] == kind
        assert result["details"]["source"] == "seed"  # what was there is kept
        assert result["details"]["acceptance_criteria"]
        assert result["details"]["activation_job_id"] == job["id"]

        view = app_client.get(f"/api/v1/tasks/{item_id}").json()
        assert view["status"] == "active"
        assert view["description"] == result["description"]
        assert view["description"] != f"{view['title']}, as the interview described it."

    with engine_of(app_client).connect() as conn:
        prompts = conn.execute(sa.select(ai_calls.c.prompt_name)).scalars().all()
    assert prompts.count("activation.fill") == 4


def test_only_suggested_items_can_be_activated(app_client: TestClient) -> None:
    project_id = seed_project(app_client)
    active = seed_item(app_client, project_id, "story", "Save recipes", status="active")
    done = seed_item(app_client, project_id, "task", "Recipe API", status="done")
    problem = assert_problem(
        app_client.post(f"/api/v1/tasks/{active}/activate"), 409, "is active", "suggested"
    )
    assert problem["type"].endswith("/item-not-suggested")
    assert_problem(app_client.post(f"/api/v1/tasks/{done}/activate"), 409, "is done")
    assert jobs_of(app_client).list().items == []


def test_activation_idempotency_key_returns_the_same_job(app_client: TestClient) -> None:
    project_id = seed_project(app_client)
    item_id = seed_item(app_client, project_id, "story", "Save recipes")
    headers = {"Idempotency-Key": f"activate-{item_id}"}
    first = app_client.post(f"/api/v1/tasks/{item_id}/activate", headers=headers)
    second = app_client.post(f"/api/v1/tasks/{item_id}/activate", headers=headers)
    assert first.status_code == second.status_code == 202
    assert first.json()["job_id"] == second.json()["job_id"]
    job, _ = poll_job(app_client, first.json()["job_id"])
    assert job["status"] == "completed"
    # The item is active now, yet the same key still answers with the same job.
    again = app_client.post(f"/api/v1/tasks/{item_id}/activate", headers=headers)
    assert again.status_code == 202
    assert again.json()["job_id"] == job["id"]
    assert again.json()["status"] == "completed"
    # Without the key the request is new, and refused.
    assert_problem(app_client.post(f"/api/v1/tasks/{item_id}/activate"), 409)


# -- execution -----------------------------------------------------------------------------


def test_execute_task_saves_an_execution(app_client: TestClient) -> None:
    project_id = seed_project(app_client)
    story = seed_item(app_client, project_id, "story", "Save recipes", status="active")
    task = seed_item(
        app_client, project_id, "task", "Add recipe API", status="active", parent_id=story
    )

    job, events = run_job(app_client, app_client.post(f"/api/v1/tasks/{task}/execute"))
    assert job["status"] == "completed", job["error"]
    assert job["job_type"] == "task_execution"
    assert events == EXECUTION_STEPS
    result = job["result"]
    assert result["success"] is True
    assert result["task_id"] == str(task)
    assert "Add recipe API" in result["output"]
    assert result["model"] == "orbit-offline-1"
    assert result["tokens_in"] > 0 and result["tokens_out"] > 0

    executions = app_client.get(f"/api/v1/tasks/{task}").json()["executions"]
    assert len(executions) == 1
    saved = executions[0]
    assert saved["id"] == result["execution_id"]
    assert saved["job_id"] == job["id"]
    assert saved["output"] == result["output"]
    assert (saved["tokens_in"], saved["tokens_out"]) == (result["tokens_in"], result["tokens_out"])
    with engine_of(app_client).connect() as conn:
        calls = conn.execute(
            sa.select(ai_calls.c.prompt_name, ai_calls.c.tokens_in).where(
                ai_calls.c.job_id == uuid.UUID(job["id"])
            )
        ).all()
    assert [(c.prompt_name, c.tokens_in) for c in calls] == [("execution.run", result["tokens_in"])]


def test_execute_refuses_other_kinds_and_inactive_tasks(app_client: TestClient) -> None:
    project_id = seed_project(app_client)
    story = seed_item(app_client, project_id, "story", "Save recipes", status="active")
    suggested = seed_item(app_client, project_id, "task", "Recipe API")
    problem = assert_problem(
        app_client.post(f"/api/v1/tasks/{story}/execute"), 409, "only tasks and subtasks"
    )
    assert problem["type"].endswith("/item-not-executable")
    problem = assert_problem(
        app_client.post(f"/api/v1/tasks/{suggested}/execute"), 409, "is suggested", "activate"
    )
    assert problem["type"].endswith("/task-not-active")
    assert jobs_of(app_client).list().items == []


def test_execute_idempotency_key_returns_the_same_job(app_client: TestClient) -> None:
    project_id = seed_project(app_client)
    task = seed_item(app_client, project_id, "subtask", "Validate input", status="active")
    headers = {"Idempotency-Key": "execute-once"}
    first = app_client.post(f"/api/v1/tasks/{task}/execute", headers=headers).json()["job_id"]
    second = app_client.post(f"/api/v1/tasks/{task}/execute", headers=headers).json()["job_id"]
    assert first == second
    assert poll_job(app_client, first)[0]["status"] == "completed"
    assert (
        app_client.post(f"/api/v1/tasks/{task}/execute", headers=headers).json()["job_id"] == first
    )
    assert execution_count(app_client, task) == 1


# -- execute-all ---------------------------------------------------------------------------


def seed_batch(client: TestClient) -> tuple[uuid.UUID, list[uuid.UUID], dict[str, uuid.UUID]]:
    """A project with three tasks waiting, and items execute-all must leave alone."""
    project_id = seed_project(client)
    story = seed_item(client, project_id, "story", "Save recipes", status="active")
    waiting = [
        seed_item(client, project_id, "task", "Recipe model", status="active", parent_id=story),
        seed_item(client, project_id, "task", "Recipe API", status="active", parent_id=story),
    ]
    waiting.append(
        seed_item(
            client, project_id, "subtask", "Validate input", status="active", parent_id=waiting[1]
        )
    )
    executed = seed_item(
        client, project_id, "task", "Recipe list", status="active", parent_id=story
    )
    seed_execution(client, executed, "already done")
    other = seed_project(client, "Other")
    untouched = {
        "executed": executed,
        "suggested": seed_item(client, project_id, "task", "Recipe UI", parent_id=story),
        "other project": seed_item(client, other, "task", "Elsewhere", status="active"),
    }
    return project_id, waiting, untouched


def test_execute_all_runs_each_waiting_task_once_as_children(app_client: TestClient) -> None:
    project_id, waiting, untouched = seed_batch(app_client)
    url = f"/api/v1/tasks/projects/{project_id}/execute-all"

    job, events = run_job(app_client, app_client.post(url))
    assert job["status"] == "completed", job["error"]
    assert job["job_type"] == "batch_execution"
    result = job["result"]
    assert (result["success"], result["executed"], result["failed"]) == (True, 3, 0)
    assert [e["task_id"] for e in result["executions"]] == [str(t) for t in waiting]

    children = jobs_of(app_client).list(JobFilter(parent_id=uuid.UUID(job["id"]))).items
    assert len(children) == 3
    assert {c.job_type for c in children} == {"task_execution"}
    assert {c.status for c in children} == {JobStatus.COMPLETED}
    assert {c.input_data["task_id"] for c in children} == {str(t) for t in waiting}
    assert {c.project_id for c in children} == {project_id}
    for task in waiting:
        assert execution_count(app_client, task) == 1
    assert execution_count(app_client, untouched["executed"]) == 1
    assert execution_count(app_client, untouched["suggested"]) == 0
    assert execution_count(app_client, untouched["other project"]) == 0

    # Parent progress: "Task i/3 executing..." with i and percent never going back, then done.
    *following, last = events
    assert last == (100, "Batch complete: 3/3 tasks executed")
    assert following[0] == (0, "Task 1/3 executing...")
    positions = []
    for _, message in following:
        match = BATCH_MESSAGE.match(message)
        assert match and match[2] == "3", message
        positions.append(int(match[1]))
    assert positions == sorted(positions) and max(positions) <= 3
    percents = [percent for percent, _ in events]
    assert percents == sorted(percents)
    for child in children:
        assert progress_messages(app_client, str(child.id)) == EXECUTION_STEPS

    # Nothing is left to execute now.
    assert_problem(app_client.post(url), 409, "no active tasks")


def test_execute_all_refuses_projects_without_waiting_tasks(app_client: TestClient) -> None:
    project_id = seed_project(app_client)
    seed_item(app_client, project_id, "task", "Recipe API")  # suggested, not active
    seed_item(app_client, project_id, "story", "Save recipes", status="active")
    problem = assert_problem(
        app_client.post(f"/api/v1/tasks/projects/{project_id}/execute-all"), 409, "no active tasks"
    )
    assert problem["type"].endswith("/no-tasks-to-execute")


def test_execute_all_idempotency_key_returns_the_same_job(app_client: TestClient) -> None:
    project_id, _, _ = seed_batch(app_client)
    url = f"/api/v1/tasks/projects/{project_id}/execute-all"
    headers = {"Idempotency-Key": "batch-1"}
    first = app_client.post(url, headers=headers).json()["job_id"]
    assert app_client.post(url, headers=headers).json()["job_id"] == first
    assert poll_job(app_client, first)[0]["status"] == "completed"
    assert app_client.post(url, headers=headers).json()["job_id"] == first
    assert len(jobs_of(app_client).list(JobFilter(job_type="batch_execution")).items) == 1


# -- re-runs: a retried attempt finds its saved step ---------------------------------------


@pytest.fixture
def services(db_url: str, store: SQLStore, tmp_path: Path) -> PlanningServices:
    """The app's services on a store no worker runs, so tests drive handlers by hand."""
    return PlanningServices(app_settings(db_url, tmp_path), store.engine)


def claimed(store: SQLStore, job_type: str, input_data: dict[str, Any]) -> JobContext:
    """The context a worker would hand to the handler of a freshly claimed job."""
    jobs = JobManager(JobClient(store))
    return JobContext(jobs.start_job(jobs.create_job(job_type, input_data).id), store)


def rerun(ctx: JobContext, store: SQLStore) -> JobContext:
    """A new attempt of the same job (after a crash): nothing cached, same lease."""
    return JobContext(ctx.job, store)


async def test_a_rerun_execution_returns_the_saved_execution(
    store: SQLStore, services: PlanningServices
) -> None:
    task = seed_item(
        store.engine, seed_project(store.engine), "task", "Recipe API", status="active"
    )
    ctx = claimed(store, "task_execution", {"task_id": str(task)})
    first = await task_handlers.execute_task(ctx, services, str(task))
    again = await task_handlers.execute_task(rerun(ctx, store), services, str(task))
    assert again == first
    assert execution_count(store.engine, task) == 1


async def test_a_rerun_activation_returns_the_activated_item(
    store: SQLStore, services: PlanningServices
) -> None:
    story = seed_item(store.engine, seed_project(store.engine), "story", "Save recipes")
    ctx = claimed(store, "story_activation", {"item_id": str(story)})
    first = await task_handlers.activate_item(ctx, services, str(story))
    assert first["status"] == "active"
    # The item is no longer suggested, yet the re-run completes with the saved result.
    assert await task_handlers.activate_item(rerun(ctx, store), services, str(story)) == first
    # A different job for the same item is refused: it is not suggested any more.
    other = claimed(store, "story_activation", {"item_id": str(story)})
    with pytest.raises(Fail, match="is active; only suggested items can be activated"):
        await task_handlers.activate_item(other, services, str(story))


@pytest.fixture
def slow_client(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    """An app whose AI calls take seconds, so jobs can be cancelled mid-way."""
    settings = app_settings(db_url, tmp_path, offline_delay_ms=3000, concurrency=3)
    with TestClient(create_app(settings)) as client:
        yield client


def test_cancelling_the_batch_cancels_its_children(slow_client: TestClient) -> None:
    project_id, waiting, _ = seed_batch(slow_client)
    response = slow_client.post(f"/api/v1/tasks/projects/{project_id}/execute-all")
    parent_id = uuid.UUID(response.json()["job_id"])
    jobs = jobs_of(slow_client)
    # Two slots for children: two of them start their (slow) AI call, one waits.
    wait_until(
        lambda: len(jobs.list(JobFilter(parent_id=parent_id, status=JobStatus.RUNNING)).items) == 2,
        what="two children running",
    )
    assert slow_client.post(f"/api/v1/jobs/{parent_id}/cancel").status_code == 202

    parent, _ = poll_job(slow_client, str(parent_id))
    assert parent["status"] == "cancelled"

    def finished_children() -> list[Job] | None:
        items = jobs.list(JobFilter(parent_id=parent_id)).items
        return items if items and all(c.finished for c in items) else None

    children = wait_until(finished_children, what="every child finished")
    assert len(children) == 3
    assert {c.status for c in children} == {JobStatus.CANCELLED}
    for task in waiting:
        assert execution_count(slow_client, task) == 0


# -- the batch's bookkeeping (no database) ---------------------------------------------------


def fake_job(status: JobStatus, percent: float | None = None, **fields: Any) -> Job:
    values: dict[str, Any] = {f.name: None for f in dataclasses.fields(Job)}
    values.update(id=uuid.uuid4(), status=status, progress_percent=percent, input_data={})
    values.update(fields)
    return Job(**values)


def test_batch_progress_never_goes_back() -> None:
    first, second = fake_job(JobStatus.RUNNING, 80), fake_job(JobStatus.PENDING)
    progress = BatchProgress([first.id, second.id])
    assert progress.update([first, second]) == (40.0, "Task 1/2 executing...")
    # A retried child starts again from nothing; the parent does not go back.
    retried = dataclasses.replace(first, progress_percent=10)
    assert progress.update([retried, second]) == (40.0, "Task 1/2 executing...")
    done = dataclasses.replace(first, status=JobStatus.COMPLETED)
    assert progress.update([done, dataclasses.replace(second, progress_percent=30)]) == (
        65.0,
        "Task 2/2 executing...",
    )
    assert not progress.complete
    assert progress.update([done, dataclasses.replace(second, status=JobStatus.FAILED)]) == (
        100.0,
        "Task 2/2 executing...",
    )
    assert progress.complete


def test_batch_summary_fails_only_when_every_child_failed() -> None:
    ok = fake_job(JobStatus.COMPLETED, result={"execution_id": "e1"}, input_data={"task_id": "t1"})
    bad = fake_job(JobStatus.FAILED, error="boom", input_data={"task_id": "t2"})
    summary = summarise([bad, ok], [ok.id, bad.id])
    assert (summary["executed"], summary["failed"]) == (1, 1)
    assert summary["executions"][0]["execution_id"] == "e1"
    assert summary["executions"][1] == {
        "task_id": "t2",
        "job_id": str(bad.id),
        "status": "failed",
        "execution_id": None,
        "error": "boom",
    }
    with pytest.raises(Fail, match="all 1 task executions failed; first error: boom"):
        summarise([bad], [bad.id])
