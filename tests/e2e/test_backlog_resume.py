"""A backlog generation survives a SIGKILLed worker on both databases.

``orbit worker`` runs as a real process with a slowed offline model; it is killed once
the stories are written, and a second worker finishes the job from its checkpoints:
one epic, the same stories, tasks for every story, no duplicates, no repeated AI calls.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from orbit.api import create_app
from orbit.jobs import Job, JobClient, JobStatus, SQLStore
from orbit.planning.schema import ai_calls, backlog_items
from tests.conftest import wait_until
from tests.integration.conftest import app_settings
from tests.integration.test_app_backlog import answered_interview

pytestmark = pytest.mark.slow

WORKER = [sys.executable, "-c", "from orbit.cli.main import main; main()", "worker"]


@pytest.fixture
def spawn_worker(db_url: str, tmp_path: Path) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Starts ``orbit worker`` processes (short leases, a 300 ms offline model)."""
    procs: list[subprocess.Popen[bytes]] = []
    env = {
        **os.environ,
        "ORBIT_DATABASE_URL": db_url,
        "ORBIT_OFFLINE_DELAY_MS": "300",
        "ORBIT_AI_PROVIDER": "offline",
        "ORBIT_LEASE_SECONDS": "1",
        "ORBIT_HEARTBEAT_SECONDS": "0.2",
        "ORBIT_REAP_SECONDS": "0.2",
        "ORBIT_POLL_SECONDS": "0.1",
        "ORBIT_MIGRATE_ON_START": "false",
        "ORBIT_PROJECTS_DIR": str(tmp_path / "projects"),
        "ORBIT_LOG_LEVEL": "WARNING",
    }

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(WORKER, env=env, cwd=tmp_path)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def enqueue_backlog(db_url: str, tmp_path: Path) -> tuple[str, uuid.UUID]:
    """Seed a project and an answered interview through the API; enqueue the backlog job.

    The interview's question and answer are jobs, run by the seeding app's own worker; the
    backlog job is enqueued by an app without one, for the spawned workers to run.
    """
    with TestClient(create_app(app_settings(db_url, tmp_path))) as seeding:
        interview = answered_interview(seeding)
    settings = app_settings(db_url, tmp_path, embedded_worker=False)
    with TestClient(create_app(settings)) as client:
        response = client.post(f"/api/v1/interviews/{interview['id']}/generate-prompts-async")
        assert response.status_code == 202, response.text
        return interview["project_id"], uuid.UUID(response.json()["job_id"])


def items(store: SQLStore, project_id: str) -> list[sa.Row[tuple[uuid.UUID, uuid.UUID, str, str]]]:
    query = sa.select(
        backlog_items.c.id, backlog_items.c.parent_id, backlog_items.c.kind, backlog_items.c.title
    ).where(backlog_items.c.project_id == uuid.UUID(project_id))
    with store.engine.connect() as conn:
        return list(conn.execute(query).all())


def past_the_stories(job: Job) -> bool:
    return job.progress_percent is not None and job.progress_percent >= 60


def test_a_killed_worker_resumes_the_backlog_without_duplicates(
    store: SQLStore,
    db_url: str,
    tmp_path: Path,
    spawn_worker: Callable[[], subprocess.Popen[bytes]],
) -> None:
    project_id, job_id = enqueue_backlog(db_url, tmp_path)
    client = JobClient(store)
    victim = spawn_worker()
    seen = wait_until(
        lambda: past_the_stories(job := client.get(job_id)) and job,
        timeout=30,
        interval=0.005,
        what="stories written",
    )
    victim.send_signal(signal.SIGKILL)
    assert victim.wait(10) == -signal.SIGKILL
    assert seen.progress_message.startswith(
        ("Stories created", "Decomposing Stories", "Generating Tasks")
    ), seen.progress_message
    before = Counter(kind for _, _, kind, _ in items(store, project_id))
    assert before["epic"] == 1 and before["story"] >= 3
    assert client.get(job_id).status is JobStatus.RUNNING, "the job ended before the kill"

    spawn_worker()
    done = wait_until(
        lambda: (job := client.get(job_id)).finished and job, timeout=60, what="resumed job"
    )
    assert done.status is JobStatus.COMPLETED, done.error
    assert done.attempts == 2
    assert any(e.payload.get("reason") == "reclaimed" for e in client.events(job_id))

    rows = items(store, project_id)
    epics = [r for r in rows if r.kind == "epic"]
    stories = [r for r in rows if r.kind == "story"]
    tasks = [r for r in rows if r.kind == "task"]
    assert len(epics) == 1 and len(stories) == before["story"]
    assert {s.parent_id for s in stories} == {epics[0].id}
    for story in stories:
        titles = [t.title for t in tasks if t.parent_id == story.id]
        assert titles, f"story {story.title!r} has no tasks"
        assert len(titles) == len(set(titles)), f"duplicate tasks under {story.title!r}"
    assert done.result["epic_created"]["id"] == str(epics[0].id)
    assert done.result["stories_created"] == len(stories)
    assert done.result["tasks_created"] == len(tasks)

    with store.engine.connect() as conn:
        prompts = Counter(
            conn.execute(
                sa.select(ai_calls.c.prompt_name).where(
                    ai_calls.c.job_id == job_id, ai_calls.c.ok.is_(True)
                )
            ).scalars()
        )
    assert prompts["backlog.epic"] == 1 and prompts["backlog.stories"] == 1
