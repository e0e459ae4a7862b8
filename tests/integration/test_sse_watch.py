"""``orbit jobs watch`` follows the server's event stream, and reads the database without one."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import httpx
from typer.testing import CliRunner, Result

from orbit.cli.follow import follow_stream, job_from_json, parse_sse
from orbit.cli.main import build_app
from orbit.cli.render import JobProgress
from orbit.jobs import JobStatus, SQLStore
from tests.conftest import wait_until
from tests.integration.test_sse import LiveServer, free_port, make_app, running_job

TOKEN = "watch-token"
FALLBACK = "reading the database directly"


def watch(db_url: str, *args: str, **env: str) -> Result:
    result = CliRunner().invoke(
        build_app(), ["jobs", "watch", *args], env={"ORBIT_DATABASE_URL": db_url, **env}
    )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def watch_in_thread(db_url: str, *args: str, **env: str) -> tuple[threading.Thread, list[Any]]:
    box: list[Any] = []
    thread = threading.Thread(target=lambda: box.append(watch(db_url, *args, **env)))
    thread.start()
    return thread, box


def test_watch_follows_the_event_stream_until_the_job_completes(
    db_url: str, store: SQLStore
) -> None:
    job = running_job(store)
    with LiveServer(make_app(db_url, api_token=TOKEN)) as live:
        thread, box = watch_in_thread(db_url, str(job.id), "--url", live.url, ORBIT_API_TOKEN=TOKEN)
        wait_until(lambda: live.subscribers() == 1, timeout=15, what="watch to subscribe")
        for percent in (20, 60, 90):
            store.progress(job.lease, percent, f"at {percent}")
        store.complete(job.lease, {"stories": 5})
        thread.join(20)
    (result,) = box
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"stories": 5}
    assert f"job {job.id} completed" in result.stderr
    assert FALLBACK not in result.stderr


def test_watch_reports_a_refused_token(db_url: str, store: SQLStore) -> None:
    job = running_job(store)
    with LiveServer(make_app(db_url, api_token=TOKEN)) as live:
        result = watch(db_url, str(job.id), "--url", live.url, "--token", "wrong")
    assert result.exit_code == 1
    assert "refused the API token" in result.stderr


def test_watch_reads_the_database_when_the_server_is_unreachable(
    db_url: str, store: SQLStore
) -> None:
    job = running_job(store)
    store.fail(job.lease, "model refused")
    url = f"http://127.0.0.1:{free_port()}"
    result = watch(db_url, str(job.id), "--url", url)
    assert result.exit_code == 1
    assert FALLBACK in result.stderr
    assert f"job {job.id} failed" in result.stderr and "model refused" in result.stderr


def test_parse_sse_follows_the_format() -> None:
    lines = [
        ": ping",
        "retry: 1000",
        "",
        "id: 7",
        "event: progress",
        'data: {"percent": 5,',
        'data:  "message": null}',
        "",
        "event: end",
        "data:{}",
        "",
        "id: 8",
        "event: cut-off",
    ]
    events = list(parse_sse(lines))
    assert [(e.event, e.id) for e in events] == [("progress", "7"), ("end", None)]
    assert json.loads(events[0].data) == {"percent": 5, "message": None}
    assert events[1].data == "{}"


def test_watch_resumes_after_a_dropped_stream_with_last_event_id() -> None:
    """The first stream breaks off after event 3; the next request resumes after it."""
    job_id = uuid.uuid4()
    job_json = {
        "id": str(job_id),
        "job_type": "t",
        "status": "running",
        "progress_percent": None,
        "progress_message": None,
        "created_at": "2026-01-01T00:00:00Z",
        "started_at": "2026-01-01T00:00:00Z",
        "completed_at": None,
        "result": None,
        "error": None,
        "input_data": {},
        "project_id": None,
        "interview_id": None,
        "parent_id": None,
        "attempts": 1,
        "max_attempts": 3,
        "priority": 0,
        "run_at": "2026-01-01T00:00:00Z",
        "timeout_seconds": None,
        "cancel_requested_at": None,
        "worker_id": "w",
        "version": 2,
        "updated_at": "2026-01-01T00:00:00Z",
    }
    done = {**job_json, "status": "completed", "result": {"ok": True}, "version": 4}
    progress = json.dumps({"percent": 50, "message": "half"})
    streams = [  # the first one breaks off inside event 4
        f"id: 2\nevent: snapshot\ndata: {json.dumps(job_json)}\n\n"
        f"id: 3\nevent: progress\ndata: {progress}\n\nid: 4\nevent: sta",
        'id: 4\nevent: status\ndata: {"status": "completed"}\n\nevent: end\ndata: {}\n\n',
    ]
    seen: list[str | None] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/events"):
            seen.append(request.headers.get("last-event-id"))
            return httpx.Response(200, text=streams[len(seen) - 1])
        return httpx.Response(200, json=done if seen else job_json)

    with httpx.Client(base_url="http://orbit", transport=httpx.MockTransport(handle)) as http:
        view = JobProgress(job_from_json(job_json))
        final = follow_stream(http, job_id, view)
    assert seen == [None, "3"]
    assert final.status is JobStatus.COMPLETED and final.result == {"ok": True}
