"""The ``orbit`` command line on both databases: db, jobs, watch, worker and serve."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

from orbit.cli.main import build_app
from orbit.jobs import JobClient, JobManager, JobNotFound, JobStatus, SQLStore, migrate, open_store
from orbit.planning import PLANNING
from orbit.runtime import upgrade_all
from tests.conftest import wait_until

S = JobStatus
ROOT = Path(__file__).resolve().parents[2]
ORBIT = Path(sys.executable).parent / "orbit"
JOBS_MODULE = "tests.integration.cli_jobs:registry"
EXIT_DEADLINE = 15


def orbit(db_url: str, *args: str, input: str | None = None) -> Result:
    """Run ``orbit ARGS`` in-process against ``db_url`` (given as ``ORBIT_DATABASE_URL``)."""
    result = CliRunner().invoke(
        build_app(), list(args), input=input, env={"ORBIT_DATABASE_URL": db_url}
    )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def as_json(result: Result) -> object:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def client(store: SQLStore) -> JobClient:
    return JobClient(store)


@pytest.fixture
def manager(client: JobClient) -> JobManager:
    return JobManager(client)


# -- orbit db ---------------------------------------------------------------------------------


def test_db_check_passes_at_head_and_fails_after_a_downgrade(db_url: str) -> None:
    at_head = f"jobs {migrate.head()}\nplanning {PLANNING.head()}"
    assert orbit(db_url, "db", "check").exit_code == 0
    assert orbit(db_url, "db", "current").stdout.strip() == at_head
    refused = orbit(db_url, "db", "downgrade", "base", input="n\n")
    assert refused.exit_code == 1
    assert orbit(db_url, "db", "current").stdout.strip() == at_head
    try:
        assert orbit(db_url, "db", "downgrade", "base", "--yes").exit_code == 0
        assert orbit(db_url, "db", "current").stdout.strip() == "jobs none\nplanning none"
        failed = orbit(db_url, "db", "check")
        assert failed.exit_code == 1
        assert "add_table jobs" in failed.stdout.splitlines()
        assert "run `orbit db upgrade`" in failed.stderr
        report = orbit(db_url, "db", "check", "--json")
        assert report.exit_code == 1
        assert json.loads(report.stdout)["ok"] is False
        assert orbit(db_url, "db", "upgrade").exit_code == 0
        assert orbit(db_url, "db", "check").exit_code == 0
    finally:
        store = open_store(db_url)
        upgrade_all(store.engine)
        store.close()


def test_db_check_fails_on_an_empty_database(tmp_path: Path) -> None:
    result = orbit(f"sqlite:///{tmp_path / 'empty.db'}", "db", "check")
    assert result.exit_code == 1
    assert {"add_table jobs", "add_table job_events"} <= set(result.stdout.splitlines())


def test_db_check_ignores_tables_of_other_applications(db_url: str, store: SQLStore) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE cli_host_things (id INTEGER PRIMARY KEY)"))
    try:
        result = orbit(db_url, "db", "check", "--json")
        assert as_json(result) == {"ok": True, "behind": [], "drift": []}
    finally:
        with store.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE cli_host_things"))


# -- orbit jobs -------------------------------------------------------------------------------


def test_jobs_list_filters_pages_and_prints_a_table(db_url: str, client: JobClient) -> None:
    project = uuid.uuid4()
    alpha = client.enqueue("alpha", project_id=project)
    beta = client.enqueue("beta")
    gone = client.enqueue("beta")
    client.cancel(gone.id)

    def ids(*args: str) -> list[str]:
        document = as_json(orbit(db_url, "jobs", "list", "--json", *args))
        assert isinstance(document, dict)
        return [item["id"] for item in document["items"]]

    assert ids() == [str(gone.id), str(beta.id), str(alpha.id)]
    assert ids("--status", "cancelled") == [str(gone.id)]
    assert ids("--job-type", "beta") == [str(gone.id), str(beta.id)]
    assert ids("--project-id", str(project)) == [str(alpha.id)]
    first = as_json(orbit(db_url, "jobs", "list", "--json", "--limit", "2"))
    assert isinstance(first, dict) and len(first["items"]) == 2 and first["next_cursor"]
    assert ids("--limit", "2", "--cursor", first["next_cursor"]) == [str(alpha.id)]
    table = orbit(db_url, "jobs", "list")
    assert table.exit_code == 0
    assert all(str(job.id) in table.stdout for job in (alpha, beta, gone))
    assert "3 job(s)" in table.stderr
    assert orbit(db_url, "jobs", "list", "--status", "exploded").exit_code == 2


def test_database_url_option_overrides_the_environment(db_url: str, client: JobClient) -> None:
    job = client.enqueue("alpha")
    result = CliRunner().invoke(
        build_app(),
        ["jobs", "list", "--json", "--database-url", db_url],
        env={"ORBIT_DATABASE_URL": "mysql://nowhere/nothing"},
    )
    document = as_json(result)
    assert isinstance(document, dict)
    assert [item["id"] for item in document["items"]] == [str(job.id)]
    bad = orbit("mysql://nowhere/nothing", "jobs", "list")
    assert bad.exit_code == 2
    assert bad.stderr == "error: unsupported database 'mysql'\n"


def test_jobs_show_prints_the_job_and_its_events(
    db_url: str, client: JobClient, manager: JobManager
) -> None:
    job = client.enqueue("alpha", {"topic": "[bold]markup[/bold]"})
    manager.start_job(job.id)
    manager.update_progress(job.id, 50, "Calling AI model...")
    manager.complete_job(job.id, {"answer": 42})
    document = as_json(orbit(db_url, "jobs", "show", str(job.id), "--json"))
    assert isinstance(document, dict)
    assert document["status"] == "completed" and document["result"] == {"answer": 42}
    assert "lease_token" not in document
    assert [e["kind"] for e in document["events"]] == ["status", "status", "progress", "status"]
    assert document["events"][2]["payload"] == {"percent": 50, "message": "Calling AI model..."}
    table = orbit(db_url, "jobs", "show", str(job.id))
    assert table.exit_code == 0
    assert str(job.id) in table.stdout and "Calling AI model..." in table.stdout
    assert "[bold]markup[/bold]" in table.stdout


def test_engine_errors_are_one_line_on_stderr(
    db_url: str, client: JobClient, manager: JobManager
) -> None:
    missing = uuid.uuid4()
    result = orbit(db_url, "jobs", "show", str(missing))
    assert result.exit_code == 1
    assert result.stderr == f"error: job {missing} not found\n"
    assert result.stdout == ""
    assert orbit(db_url, "jobs", "show", "not-a-uuid").exit_code == 2
    job = client.enqueue("alpha")
    manager.start_job(job.id)
    manager.complete_job(job.id)
    result = orbit(db_url, "jobs", "cancel", str(job.id))
    assert result.exit_code == 1
    assert result.stderr == f"error: cannot cancel job {job.id}: it is completed\n"


def test_jobs_cancel_retry_and_delete(db_url: str, client: JobClient) -> None:
    job = client.enqueue("alpha")
    assert orbit(db_url, "jobs", "delete", str(job.id)).exit_code == 1
    cancelled = as_json(orbit(db_url, "jobs", "cancel", str(job.id), "--json"))
    assert isinstance(cancelled, dict) and cancelled["status"] == "cancelled"
    assert client.get(job.id).status is S.CANCELLED
    assert orbit(db_url, "jobs", "cancel", str(job.id)).exit_code == 1
    assert orbit(db_url, "jobs", "retry", str(job.id)).exit_code == 0
    assert client.get(job.id).status is S.PENDING
    assert orbit(db_url, "jobs", "retry", str(job.id)).exit_code == 1
    client.cancel(job.id)
    assert orbit(db_url, "jobs", "delete", str(job.id)).exit_code == 0
    with pytest.raises(JobNotFound):
        client.get(job.id)
    assert orbit(db_url, "jobs", "delete", str(job.id)).exit_code == 1


def test_jobs_cancel_of_a_running_job_is_a_request(
    db_url: str, client: JobClient, manager: JobManager
) -> None:
    job = client.enqueue("alpha")
    manager.start_job(job.id)
    result = orbit(db_url, "jobs", "cancel", str(job.id))
    assert result.exit_code == 0 and "cancel requested" in result.stderr
    current = client.get(job.id)
    assert current.status is S.RUNNING and current.cancel_requested_at is not None


def test_jobs_prune_deletes_old_finished_jobs(
    db_url: str, client: JobClient, manager: JobManager
) -> None:
    done, broken, waiting = (client.enqueue(t) for t in ("done", "broken", "waiting"))
    manager.start_job(done.id)
    manager.complete_job(done.id)
    manager.start_job(broken.id)
    manager.fail_job(broken.id, "boom")
    assert as_json(orbit(db_url, "jobs", "prune", "--older-than", "3600", "--json")) == {
        "deleted": 0
    }
    pruned = orbit(db_url, "jobs", "prune", "--older-than", "0", "--status", "failed", "--json")
    assert as_json(pruned) == {"deleted": 1}
    with pytest.raises(JobNotFound):
        client.get(broken.id)
    assert client.get(done.id).status is S.COMPLETED
    assert as_json(orbit(db_url, "jobs", "prune", "--older-than", "0", "--json")) == {"deleted": 1}
    assert [j.id for j in client.list().items] == [waiting.id]
    assert orbit(db_url, "jobs", "prune", "--status", "running").exit_code == 2


def test_jobs_watch_exits_1_for_a_failed_job(
    db_url: str, client: JobClient, manager: JobManager
) -> None:
    job = client.enqueue("alpha")
    manager.start_job(job.id)
    manager.fail_job(job.id, "model refused")
    result = orbit(db_url, "jobs", "watch", str(job.id))
    assert result.exit_code == 1
    assert f"job {job.id} failed" in result.stderr and "model refused" in result.stderr
    assert result.stdout == ""


# -- orbit worker and orbit serve, as real processes ------------------------------------------


Spawn = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawn]:
    """Start ``orbit ARGS`` as a process; its stderr goes to ``tmp_path/<n>.log``."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(db_url: str, *args: str) -> subprocess.Popen[bytes]:
        env = {**os.environ, "ORBIT_DATABASE_URL": db_url, "ORBIT_LOG_LEVEL": "INFO"}
        log = (tmp_path / f"{len(procs)}.log").open("wb")
        proc = subprocess.Popen(
            [str(ORBIT), *args], cwd=ROOT, env=env, stderr=log, stdout=subprocess.DEVNULL
        )
        proc.log_path = Path(log.name)  # type: ignore[attr-defined]
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(EXIT_DEADLINE)


def stop(proc: subprocess.Popen[bytes]) -> tuple[int, str]:
    """SIGTERM ``proc``; its exit status and log once it has exited."""
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(EXIT_DEADLINE)
    return code, proc.log_path.read_text()  # type: ignore[attr-defined]


def finished(client: JobClient, job_id: uuid.UUID) -> Callable[[], object]:
    return lambda: (job := client.get(job_id)).finished and job


def test_worker_runs_jobs_and_drains_on_sigterm(
    db_url: str, client: JobClient, spawn: Spawn
) -> None:
    worker = spawn(db_url, "worker", "--jobs-module", JOBS_MODULE, "--concurrency", "2")
    quick = client.enqueue("cli_steps", {"n": 3})
    done = wait_until(finished(client, quick.id), timeout=20, what="the worker runs a job")
    assert done.status is S.COMPLETED and done.result["pid"] == worker.pid
    slow = client.enqueue("cli_steps", {"n": 4, "pause": 0.25})
    wait_until(lambda: client.get(slow.id).progress_percent, timeout=10, what="slow job running")
    code, log = stop(worker)
    assert code == 0, log
    assert client.get(slow.id).status is S.COMPLETED, "running job not drained on SIGTERM"
    assert " INFO orbit.jobs.worker: worker " in log and "Traceback" not in log


def test_worker_refuses_an_unknown_job_type(db_url: str, spawn: Spawn) -> None:
    worker = spawn(db_url, "worker", "--jobs-module", JOBS_MODULE, "--job-type", "nope")
    assert worker.wait(EXIT_DEADLINE) == 2
    log = worker.log_path.read_text()  # type: ignore[attr-defined]
    assert "error: no handler registered for job type(s): nope" in log


def test_jobs_watch_follows_a_job_until_the_worker_completes_it(
    db_url: str, client: JobClient, spawn: Spawn
) -> None:
    worker = spawn(db_url, "worker", "--jobs-module", JOBS_MODULE)
    job = client.enqueue("cli_steps", {"n": 5, "pause": 0.2})
    watching_since = dt.datetime.now(dt.UTC)
    result = orbit(db_url, "jobs", "watch", str(job.id))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"steps": 5, "pid": worker.pid}
    done = client.get(job.id)
    assert done.status is S.COMPLETED
    assert done.completed_at is not None and done.completed_at > watching_since
    assert f"job {job.id} completed" in result.stderr
    assert stop(worker)[0] == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def healthy(port: int) -> bool:
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
    except httpx.TransportError:
        return False
    return response.status_code == 200 and response.json() == {"status": "ok"}


def test_serve_answers_health_runs_jobs_and_stops_on_sigterm(
    db_url: str, client: JobClient, spawn: Spawn
) -> None:
    port = free_port()
    server = spawn(db_url, "serve", "--port", str(port), "--jobs-module", JOBS_MODULE)
    wait_until(
        lambda: healthy(port) or server.poll() is not None,
        timeout=20,
        interval=0.05,
        what="GET /health",
    )
    assert server.poll() is None, server.log_path.read_text()  # type: ignore[attr-defined]
    job = client.enqueue("cli_steps", {"n": 2})
    done = wait_until(finished(client, job.id), timeout=20, what="embedded worker runs a job")
    assert done.status is S.COMPLETED and done.result["pid"] == server.pid
    code, log = stop(server)
    assert code == 0, log
    assert f"Uvicorn running on http://127.0.0.1:{port}" in log
    assert "Application shutdown complete" in log


def test_serve_without_worker_migrates_an_empty_database(tmp_path: Path, spawn: Spawn) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    port = free_port()
    server = spawn(url, "serve", "--port", str(port), "--no-worker")
    wait_until(
        lambda: healthy(port) or server.poll() is not None,
        timeout=20,
        interval=0.05,
        what="GET /health",
    )
    store = open_store(url)
    try:
        assert migrate.current(store.engine) == migrate.head()
    finally:
        store.close()
    code, log = stop(server)
    assert code == 0, log
    assert "embedded worker: off" in log and "orbit.jobs.worker" not in log


def test_demo_runs_the_whole_flow(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    env = {**os.environ, "ORBIT_PROJECTS_DIR": str(tmp_path / "projects")}
    done = subprocess.run(
        [sys.executable, "-m", "orbit", "demo", "--database-url", url, "--delay-ms", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Backlog: epic" in done.stdout and "Executed" in done.stdout
    assert "Commit:" in done.stdout and "task:" in done.stdout
