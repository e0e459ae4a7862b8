"""``orbit jobs watch`` follows the server's event stream, and reads the database without one."""

from __future__ import annotations

import json
import threading
from typing import Any

from typer.testing import CliRunner, Result

from orbit.cli.jobs import parse_sse
from orbit.cli.main import build_app
from orbit.jobs import SQLStore
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
