"""Provisioning over HTTP on both databases: stacks, scaffold on disk, git, idempotency."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from orbit.jobs import JobFilter, SQLStore
from orbit.planning.provisioning.handlers import provision_project
from orbit.planning.provisioning.stacks import STACKS
from orbit.planning.schema import workspaces
from orbit.planning.services import PlanningServices
from tests.integration.conftest import app_settings, poll_job
from tests.integration.test_app_tasks import (
    assert_problem,
    claimed,
    engine_of,
    jobs_of,
    rerun,
    run_job,
    seed_project,
)

STACK_IDS = ["python-fastapi", "node-express", "static-site"]


def steps(stack: str) -> list[tuple[float, str]]:
    return [
        (10, "Creating workspace..."),
        (30, f"Writing {stack} scaffold..."),
        (60, "Initialising git repository..."),
        (85, "Recording workspace..."),
        (100, "Provisioning complete"),
    ]


def provision(
    client: TestClient, project_id: uuid.UUID, stack: str, headers: dict[str, str] | None = None
) -> Any:
    url = f"/api/v1/projects/{project_id}/provision-async"
    return client.post(url, json={"stack": stack}, headers=headers)


def git(path: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=path, capture_output=True, text=True, check=True, timeout=30
    )
    return done.stdout.strip()


def workspace_rows(client: TestClient | sa.Engine) -> list[sa.Row[tuple[object, ...]]]:
    with engine_of(client).connect() as conn:
        return list(conn.execute(sa.select(workspaces)).all())


def test_list_stacks(app_client: TestClient) -> None:
    stacks = app_client.get("/api/v1/stacks").json()
    assert [s["id"] for s in stacks] == STACK_IDS
    for stack in stacks:
        assert stack["name"] and stack["description"]
        assert {"README.md", ".gitignore"} <= set(stack["files"])
        assert any("test" in path for path in stack["files"])
        assert len(stack["files"]) >= 5


@pytest.mark.parametrize("stack", STACK_IDS)
def test_provision_writes_the_scaffold_and_commits_it(
    app_client: TestClient, tmp_path: Path, stack: str
) -> None:
    project_id = seed_project(app_client, "Recipe Box")

    job, events = run_job(app_client, provision(app_client, project_id, stack))
    assert job["status"] == "completed", job["error"]
    assert job["job_type"] == "project_provisioning"
    assert job["project_id"] == str(project_id)
    assert events == steps(stack)

    root = tmp_path / "projects" / str(project_id)
    workspace = job["result"]["workspace"]
    assert job["result"]["success"] is True
    assert Path(workspace["path"]) == root.resolve()
    assert workspace["stack"] == stack
    assert workspace["files"] == sorted(STACKS[stack].files)
    assert workspace["created"] == workspace["files"]
    for relative in workspace["files"]:
        assert (root / relative).is_file(), relative
    assert (root / "README.md").read_text().startswith("# Recipe Box")

    assert git(root, "log", "--format=%H %an <%ae> %s") == (
        f"{workspace['commit']} Orbit <orbit@localhost> Initial commit: {stack} scaffold"
    )
    assert sorted(git(root, "ls-files").splitlines()) == workspace["files"]
    assert git(root, "status", "--porcelain") == ""

    [row] = workspace_rows(app_client)
    assert (row.project_id, row.stack, row.path) == (project_id, stack, workspace["path"])
    assert str(row.job_id) == job["id"]


def test_python_scaffold_passes_its_own_test(app_client: TestClient, tmp_path: Path) -> None:
    project_id = seed_project(app_client, 'Recipe "Box"')
    job, _ = run_job(app_client, provision(app_client, project_id, "python-fastapi"))
    root = Path(job["result"]["workspace"]["path"])
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_static_site_scaffold_passes_its_own_test(app_client: TestClient) -> None:
    project_id = seed_project(app_client, "Recipes & <friends>")
    job, _ = run_job(app_client, provision(app_client, project_id, "static-site"))
    root = Path(job["result"]["workspace"]["path"])
    assert "<title>Recipes &amp; &lt;friends&gt;</title>" in (root / "index.html").read_text()
    done = subprocess.run(
        ["node", "--test"], cwd=root, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_provisioning_again_is_idempotent(app_client: TestClient, tmp_path: Path) -> None:
    project_id = seed_project(app_client)
    first, _ = run_job(app_client, provision(app_client, project_id, "node-express"))
    root = Path(first["result"]["workspace"]["path"])
    (root / "README.md").write_text("# Edited by hand\n")
    (root / ".gitignore").unlink()

    again, events = run_job(app_client, provision(app_client, project_id, "node-express"))
    assert again["status"] == "completed", again["error"]
    assert again["id"] != first["id"]
    assert events == steps("node-express")
    assert again["result"]["workspace"]["created"] == [".gitignore"]  # only what was missing
    assert again["result"]["workspace"]["commit"] == first["result"]["workspace"]["commit"]
    assert (root / "README.md").read_text() == "# Edited by hand\n"  # edits are kept
    assert len(git(root, "log", "--oneline").splitlines()) == 1
    assert git(root, "status", "--porcelain") == "M README.md"
    [row] = workspace_rows(app_client)
    assert str(row.job_id) == again["id"]


def test_provisioning_resumes_a_half_done_workspace(app_client: TestClient) -> None:
    """What a crash leaves behind (claimed row, some files, a repository without commits)
    is completed by the next run."""
    project_id = seed_project(app_client)
    root = app_client.app.state.planning.projects_dir / str(project_id)  # type: ignore[attr-defined]
    root.mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>kept</title>\n")
    git(root, "init", "--quiet")
    with engine_of(app_client).begin() as conn:
        conn.execute(
            sa.insert(workspaces).values(
                id=uuid.uuid4(),
                project_id=project_id,
                stack="static-site",
                path=str(root),
                created_at=dt.datetime.now(dt.UTC),
            )
        )

    job, _ = run_job(app_client, provision(app_client, project_id, "static-site"))
    assert job["status"] == "completed", job["error"]
    assert "index.html" not in job["result"]["workspace"]["created"]
    assert (root / "index.html").read_text() == "<!doctype html><title>kept</title>\n"
    assert len(git(root, "log", "--oneline").splitlines()) == 1
    assert git(root, "status", "--porcelain") == ""
    assert len(workspace_rows(app_client)) == 1


def test_a_different_stack_is_a_conflict(app_client: TestClient) -> None:
    project_id = seed_project(app_client)
    run_job(app_client, provision(app_client, project_id, "python-fastapi"))
    response = provision(app_client, project_id, "static-site")
    problem = assert_problem(response, 409, "python-fastapi", "static-site")
    assert problem["type"].endswith("/stack-conflict")

    # A pending provisioning counts too, before any workspace exists.
    other = seed_project(app_client, "Other")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    jobs_of(app_client).enqueue(
        "project_provisioning",
        {"project_id": str(other), "stack": "node-express"},
        project_id=other,
        run_at=later,
    )
    assert_problem(provision(app_client, other, "static-site"), 409, "node-express")


def test_concurrent_provisionings_agree_on_one_stack(app_client: TestClient) -> None:
    """Jobs that got past the routes' checks together: one wins, the other fails cleanly."""
    project_id = seed_project(app_client)
    jobs = jobs_of(app_client)
    ids = [
        str(jobs.enqueue("project_provisioning", {"project_id": str(project_id), "stack": s}).id)
        for s in ("python-fastapi", "node-express")
    ]
    finals = [poll_job(app_client, job_id)[0] for job_id in ids]
    assert sorted(job["status"] for job in finals) == ["completed", "failed"]
    winner = next(job for job in finals if job["status"] == "completed")
    loser = next(job for job in finals if job["status"] == "failed")
    stack = winner["result"]["workspace"]["stack"]
    assert f"already provisioned with {stack}" in loser["error"]
    root = Path(winner["result"]["workspace"]["path"])
    assert sorted(git(root, "ls-files").splitlines()) == sorted(STACKS[stack].files)
    [row] = workspace_rows(app_client)
    assert row.stack == stack


def test_provision_validates_its_input(app_client: TestClient) -> None:
    project_id = seed_project(app_client)
    problem = assert_problem(provision(app_client, project_id, "cobol-mainframe"), 422)
    assert "unknown stack" in problem["detail"]
    url = f"/api/v1/projects/{project_id}/provision-async"
    assert_problem(app_client.post(url, json={}), 422)
    assert_problem(provision(app_client, uuid.uuid4(), "static-site"), 404, "project")
    assert jobs_of(app_client).list(JobFilter(job_type="project_provisioning")).items == []


def test_provision_idempotency_key_returns_the_same_job(app_client: TestClient) -> None:
    project_id = seed_project(app_client)
    headers = {"Idempotency-Key": "provision-1"}
    first, _ = run_job(
        app_client, provision(app_client, project_id, "static-site", headers=headers)
    )
    again = provision(app_client, project_id, "static-site", headers=headers)
    assert again.status_code == 202
    assert again.json()["job_id"] == first["id"]
    assert len(jobs_of(app_client).list(JobFilter(job_type="project_provisioning")).items) == 1


@pytest.fixture
def services(db_url: str, store: SQLStore, tmp_path: Path) -> PlanningServices:
    """The app's services on a store no worker runs, so the test drives the handler."""
    return PlanningServices(app_settings(db_url, tmp_path), store.engine)


async def test_a_rerun_after_a_crash_repeats_nothing(
    store: SQLStore, services: PlanningServices
) -> None:
    project_id = seed_project(store.engine)
    inputs = {"project_id": str(project_id), "stack": "python-fastapi"}
    ctx = claimed(store, "project_provisioning", inputs)
    first = await provision_project(ctx, services, **inputs)
    again = await provision_project(rerun(ctx, store), services, **inputs)
    assert again["workspace"]["created"] == []
    assert again["workspace"]["commit"] == first["workspace"]["commit"]
    root = Path(first["workspace"]["path"])
    assert len(git(root, "log", "--oneline").splitlines()) == 1
    assert git(root, "status", "--porcelain") == ""
    [row] = workspace_rows(store.engine)
    assert (row.stack, str(row.job_id)) == ("python-fastapi", str(ctx.job_id))
