"""Live progress over HTTP against a real uvicorn server, on both databases.

The server runs in a thread on 127.0.0.1 (embedded worker off); tests drive jobs through
a store of their own, like a worker process would (``store.claim``, ``store.progress``,
``store.complete``), and read the streams with httpx.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from orbit.api import create_app
from orbit.jobs import Job, JobSpec, JobStatus, SQLStore
from orbit.jobs.events import EventHub
from orbit.jobs.http import StreamOptions
from orbit.settings import Settings
from tests.conftest import wait_until

PROBLEM = "application/problem+json"
KEEPALIVE = 0.2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """``create_app(settings)`` served by uvicorn in a thread, on a free local port."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            log_level="warning",
            timeout_graceful_shutdown=2,
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    def __enter__(self) -> LiveServer:
        self._thread.start()
        wait_until(lambda: self.server.started, timeout=20, what="uvicorn to start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(20)

    @property
    def hub(self) -> EventHub | None:
        client = getattr(self.app.state, "client", None)
        return client.hub if client is not None else None

    def subscribers(self) -> int:
        return self.hub.subscribers if self.hub else 0


def make_app(db_url: str, **overrides: Any) -> FastAPI:
    values: dict[str, Any] = {
        "database_url": db_url,
        "embedded_worker": False,
        "api_token": None,
        **overrides,
    }
    app = create_app(Settings(_env_file=None, **values))  # type: ignore[call-arg]
    app.state.event_streams = StreamOptions(keepalive_seconds=KEEPALIVE, resync_seconds=30)
    return app


@pytest.fixture
def server(db_url: str) -> Iterator[LiveServer]:
    with LiveServer(make_app(db_url)) as live:
        yield live


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=httpx.Timeout(10.0)) as client:
        yield client


# -- reading streams ----------------------------------------------------------------------------


@dataclasses.dataclass
class Event:
    event: str
    data: Any
    id: str | None


class SSE:
    """A minimal, independent Server-Sent Events reader over httpx's lines.

    Keep the reader while the response is open: dropping it drops the line iterator,
    which makes httpx close the connection.
    """

    def __init__(self, response: httpx.Response) -> None:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        self._lines = response.iter_lines()
        self.comments: list[str] = []
        self.retry: int | None = None

    def next(self, max_lines: int | None = None) -> Event | None:
        """The next event; None when the stream ended (or ``max_lines`` were read first)."""
        fields: dict[str, Any] = {"event": "message", "data": [], "id": None}
        for line in self._lines:
            if line == "" and fields["data"]:
                return Event(fields["event"], json.loads("\n".join(fields["data"])), fields["id"])
            if line == "":
                fields = {"event": "message", "data": [], "id": None}
            elif line.startswith(":"):
                self.comments.append(line)
            else:
                self._field(fields, *line.split(":", 1))
            if max_lines is not None:
                max_lines -= 1
                if max_lines <= 0:
                    return None
        return None

    def _field(self, fields: dict[str, Any], name: str, value: str = "") -> None:
        value = value.removeprefix(" ")
        if name == "data":
            fields["data"].append(value)
        elif name in ("event", "id"):
            fields[name] = value
        elif name == "retry":
            self.retry = int(value)

    def take(self, count: int) -> list[Event]:
        events: list[Event] = []
        for _ in range(count):
            event = self.next()
            assert event is not None, f"stream ended after {events}"
            events.append(event)
        return events

    def rest(self) -> list[Event]:
        events: list[Event] = []
        while (event := self.next()) is not None:
            events.append(event)
        return events


def events_url(job_id: uuid.UUID) -> str:
    return f"/api/v1/jobs/{job_id}/events"


def running_job(store: SQLStore, project_id: uuid.UUID | None = None, **spec: Any) -> Job:
    job = store.enqueue(JobSpec("sse_test", project_id=project_id, **spec))
    (claimed,) = store.claim("test-worker", None, 1, 300, job_ids=[job.id])
    return claimed


# -- one job -------------------------------------------------------------------------------------


def test_snapshot_first_then_every_event_in_order_then_end(
    http: httpx.Client, store: SQLStore
) -> None:
    job = running_job(store)
    with http.stream("GET", events_url(job.id)) as response:
        assert response.headers["cache-control"] == "no-store"
        stream = SSE(response)
        snapshot = stream.next()
        assert snapshot is not None and snapshot.event == "snapshot"
        assert snapshot.id == str(job.version) == "2"
        assert snapshot.data == http.get(f"/api/v1/jobs/{job.id}").json()
        assert stream.retry == 1000

        store.progress(job.lease, 25, "Reading...")
        store.append_event(job.lease, "token", {"text": "Hel"})
        store.run_step(job.lease, "outline", lambda conn: {"big": "x" * 10_000})
        store.progress(job.lease, 75.5, None)
        store.complete(job.lease, {"answer": 42})
        events = stream.rest()

    assert [(e.event, e.id) for e in events] == [
        ("progress", "3"),
        ("token", "4"),
        ("step", "5"),
        ("progress", "6"),
        ("status", "7"),
        ("end", None),
    ]
    assert events[0].data == {"percent": 25, "message": "Reading..."}
    assert events[1].data == {"text": "Hel"}
    assert events[2].data == {"name": "outline"}, "a step's result is never streamed"
    assert events[3].data == {"percent": 75.5, "message": None}
    assert events[4].data["status"] == "completed"
    assert events[5].data == {"status": "completed"}


def test_failed_and_cancelled_jobs_end_with_their_status(
    http: httpx.Client, store: SQLStore
) -> None:
    job = running_job(store)
    with http.stream("GET", events_url(job.id)) as response:
        stream = SSE(response)
        assert stream.next().event == "snapshot"  # type: ignore[union-attr]
        store.fail(job.lease, "model refused")
        events = stream.rest()
    assert [e.event for e in events] == ["status", "end"]
    assert events[0].data == {
        "status": "failed",
        "error": "model refused",
        "error_code": "handler_error",
    }
    assert events[1].data == {"status": "failed"}

    pending = store.enqueue(JobSpec("sse_test"))
    with http.stream("GET", events_url(pending.id)) as response:
        stream = SSE(response)
        assert stream.next().data["status"] == "pending"  # type: ignore[union-attr]
        http.post(f"/api/v1/jobs/{pending.id}/cancel").raise_for_status()
        events = stream.rest()
    assert [(e.event, e.data["status"]) for e in events] == [
        ("status", "cancelled"),
        ("end", "cancelled"),
    ]


def test_a_finished_job_answers_204_once_the_client_has_every_event(
    http: httpx.Client, store: SQLStore
) -> None:
    job = running_job(store)
    store.progress(job.lease, 50, "half")
    store.complete(job.lease, "done")
    final = store.get(job.id).version
    assert final == 4

    assert http.get(events_url(job.id), headers={"Last-Event-ID": "4"}).status_code == 204
    assert http.get(events_url(job.id), params={"after": 4}).status_code == 204
    assert http.get(events_url(job.id), params={"after": 9}).status_code == 204

    with http.stream("GET", events_url(job.id), params={"after": 2}) as response:
        replay = SSE(response).rest()
    assert [(e.event, e.id) for e in replay] == [("progress", "3"), ("status", "4"), ("end", None)]

    with http.stream("GET", events_url(job.id)) as response:
        fresh = SSE(response).rest()
    assert [(e.event, e.id) for e in fresh] == [("snapshot", "4"), ("end", None)]
    assert fresh[0].data["status"] == "completed" and fresh[0].data["result"] == "done"


def test_last_event_id_wins_over_after(http: httpx.Client, store: SQLStore) -> None:
    job = running_job(store)
    for percent in (10, 20, 30):
        store.progress(job.lease, percent, None)
    store.complete(job.lease)
    with http.stream(
        "GET", events_url(job.id), params={"after": 1}, headers={"Last-Event-ID": "4"}
    ) as response:
        events = SSE(response).rest()
    assert [e.id for e in events] == ["5", "6", None]
    bad = http.get(events_url(job.id), headers={"Last-Event-ID": "abc"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith(PROBLEM)
    assert http.get(events_url(job.id), params={"after": -1}).status_code == 422


def read_then_hang_up(stream: SSE, chooser: random.Random) -> list[Event]:
    """Read a few events, or hang up at a random line (maybe inside an event)."""
    received: list[Event] = []
    lines_left = chooser.randint(1, 9) if chooser.random() < 0.5 else None
    for _ in range(chooser.randint(1, 3)):
        event = stream.next(max_lines=lines_left)
        if event is None:
            break
        received.append(event)
        if event.event == "end" or lines_left is not None:
            break
    return received


def test_resume_loses_and_repeats_nothing_across_100_forced_disconnects(
    server: LiveServer, http: httpx.Client, store: SQLStore
) -> None:
    job = running_job(store)
    total = 300

    def write() -> None:
        for i in range(total):  # paced so that reconnects happen while it writes
            store.progress(job.lease, round(i * 100 / total, 2), f"update {i}")
            time.sleep(0.003)
        store.complete(job.lease, {"updates": total})

    writer = threading.Thread(target=write)
    chooser = random.Random(7)
    received: list[Event] = []
    disconnects, while_writing, ended_by = 0, 0, ""
    while not ended_by:
        last = next((e.id for e in reversed(received) if e.id is not None), None)
        headers = {"Last-Event-ID": last} if last else {}
        with http.stream("GET", events_url(job.id), headers=headers) as response:
            if response.status_code == 204:
                ended_by = "204"
                break
            received += read_then_hang_up(SSE(response), chooser)
        if received and received[-1].event == "end":
            ended_by = "end"
            break
        disconnects += 1
        while_writing += writer.is_alive()
        if received and not writer.is_alive() and writer.ident is None:
            writer.start()  # once the snapshot is in: it must show version 2
    writer.join(30)

    assert disconnects >= 100
    assert while_writing >= 20, "reconnects happened while events were being written"
    assert received[0].event == "snapshot" and received[0].id == "2"
    # Either the end event arrived, or the client left right before it and the next
    # connection was told (204) that it had everything.
    assert ended_by == "end" or (ended_by == "204" and received[-1].event == "status")
    log = [e for e in received if e.event not in ("snapshot", "end")]
    assert [int(e.id or 0) for e in log] == list(range(3, 3 + total + 1)), "gap or duplicate"
    assert [e.data["message"] for e in log[:-1]] == [f"update {i}" for i in range(total)]
    assert log[-1].data["status"] == "completed"
    wait_until(lambda: server.subscribers() == 0, timeout=10, what="streams to be released")


def test_keepalive_comments_arrive_on_an_idle_stream(http: httpx.Client, store: SQLStore) -> None:
    job = running_job(store)
    with http.stream("GET", events_url(job.id)) as response:
        stream = SSE(response)
        assert stream.next().event == "snapshot"  # type: ignore[union-attr]
        started = time.monotonic()
        for line in stream._lines:
            if line.startswith(":"):
                stream.comments.append(line)
                if len(stream.comments) == 3:
                    break
        elapsed = time.monotonic() - started
    assert all(c.startswith(": ping") for c in stream.comments)
    assert elapsed >= 2 * KEEPALIVE * 0.9, "pings come at the configured interval, not faster"
    assert elapsed < 5


def test_a_client_that_disconnects_never_cancels_the_job(
    server: LiveServer, http: httpx.Client, store: SQLStore
) -> None:
    job = running_job(store)
    for _ in range(3):
        with http.stream("GET", events_url(job.id)) as response:
            stream = SSE(response)  # keep it: dropping its line iterator closes the connection
            assert stream.next().event == "snapshot"  # type: ignore[union-attr]
            assert server.subscribers() >= 1
    wait_until(lambda: server.subscribers() == 0, timeout=10, what="the server to notice")
    after = store.get(job.id)
    assert after.status is JobStatus.RUNNING and after.cancel_requested_at is None
    assert after.version == job.version, "watching wrote nothing"
    store.progress(job.lease, 99, "still mine")  # the lease is intact
    store.complete(job.lease)


def test_unknown_jobs_are_404_problems(http: httpx.Client) -> None:
    response = http.get(events_url(uuid.uuid4()))
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["type"] == "/problems/job-not-found"
    assert http.get("/api/v1/jobs/not-a-uuid/events").status_code == 422


# -- every job of a project ---------------------------------------------------------------------


def project_url(project_id: uuid.UUID) -> str:
    return f"/api/v1/jobs/events?project_id={project_id}"


def test_the_project_stream_carries_its_jobs_and_no_others(
    http: httpx.Client, store: SQLStore
) -> None:
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    first = running_job(store, mine)
    second = store.enqueue(JobSpec("sse_other", project_id=mine))
    other = running_job(store, theirs)
    finished = running_job(store, mine)
    store.complete(finished.lease)

    with http.stream("GET", project_url(mine)) as response:
        stream = SSE(response)
        snapshot = stream.next()
        assert snapshot is not None and snapshot.event == "snapshot"
        assert {j["id"] for j in snapshot.data["jobs"]} == {str(first.id), str(second.id)}
        assert snapshot.data["truncated"] is False
        assert int(snapshot.id) >= 1  # type: ignore[arg-type]

        store.progress(other.lease, 10, "not yours")
        store.progress(first.lease, 10, "first")
        (second_claimed,) = store.claim("w", None, 1, 300, job_ids=[second.id])
        store.append_event(first.lease, "token", {"text": "abc"})
        store.progress(other.lease, 20, "not yours")
        store.complete(second_claimed.lease, "ok")
        events = stream.take(4)

    assert [(e.event, e.data["job_id"]) for e in events] == [
        ("progress", str(first.id)),
        ("status", str(second.id)),
        ("token", str(first.id)),
        ("status", str(second.id)),
    ]
    assert events[0].data == {"job_id": str(first.id), "seq": 3, "percent": 10, "message": "first"}
    assert [e.data["status"] for e in events if e.event == "status"] == ["running", "completed"]
    ids = [int(e.id) for e in events]  # type: ignore[arg-type]
    assert ids == sorted(ids) and len(set(ids)) == 4 and ids[0] > int(snapshot.id)  # type: ignore[arg-type]

    # Resume after the second event: exactly the rest, no snapshot.
    resume = {"Last-Event-ID": str(events[1].id)}
    with http.stream("GET", project_url(mine), headers=resume) as resp:
        resumed = SSE(resp)
        store.progress(first.lease, 50, "after resume")
        rest = resumed.take(3)
    assert [e.id for e in rest[:2]] == [events[2].id, events[3].id]
    assert rest[2].data["message"] == "after resume"

    # job_type narrows the stream.
    with http.stream("GET", project_url(mine) + "&job_type=sse_other") as response:
        typed = SSE(response)
        assert [j["id"] for j in typed.next().data["jobs"]] == []  # type: ignore[union-attr]
        store.progress(first.lease, 60, "other type")
        late = store.enqueue(JobSpec("sse_other", project_id=mine))
        event = typed.next()
    assert event is not None and event.data["job_id"] == str(late.id)
    assert http.get("/api/v1/jobs/events").status_code == 422


def test_a_project_stream_sees_jobs_of_every_writer_under_concurrency(
    http: httpx.Client, store: SQLStore
) -> None:
    project = uuid.uuid4()
    jobs = [running_job(store, project) for _ in range(4)]
    noise = running_job(store, uuid.uuid4())
    per_job = 40

    def write(job: Job) -> None:
        for i in range(per_job):
            store.progress(job.lease, i, f"{job.id} {i}")

    with http.stream("GET", project_url(project)) as response:
        stream = SSE(response)
        assert len(stream.next().data["jobs"]) == 4  # type: ignore[union-attr]
        threads = [threading.Thread(target=write, args=(j,)) for j in [*jobs, noise]]
        for thread in threads:
            thread.start()
        events = stream.take(4 * per_job)
        for thread in threads:
            thread.join()

    ids = [int(e.id) for e in events]  # type: ignore[arg-type]
    assert ids == sorted(set(ids)), "ids strictly increase"
    for job in jobs:
        mine = [e.data["message"] for e in events if e.data["job_id"] == str(job.id)]
        assert mine == [f"{job.id} {i}" for i in range(per_job)]


# -- every job, on one connection ---------------------------------------------------------------


def test_the_jobs_wide_stream_carries_status_and_progress_of_every_project_and_resumes(
    http: httpx.Client, store: SQLStore
) -> None:
    first = running_job(store, uuid.uuid4())
    loose = running_job(store)  # no project at all
    finished = running_job(store, uuid.uuid4())
    store.complete(finished.lease)

    with http.stream("GET", "/api/v1/events") as response:
        stream = SSE(response)
        snapshot = stream.next()
        assert snapshot is not None and snapshot.event == "snapshot"
        listed = {j["id"] for j in snapshot.data["jobs"]}
        assert {str(first.id), str(loose.id)} <= listed and str(finished.id) not in listed

        store.progress(first.lease, 10, "first")
        store.append_event(first.lease, "token", {"text": "not on this stream"})
        store.progress(loose.lease, 20, "loose")
        store.complete(first.lease, "ok")
        events = stream.take(3)

    assert [(e.event, e.data["job_id"]) for e in events] == [
        ("progress", str(first.id)),
        ("progress", str(loose.id)),
        ("status", str(first.id)),
    ]
    assert events[1].data == {"job_id": str(loose.id), "seq": 3, "percent": 20, "message": "loose"}
    assert events[2].data["status"] == "completed"
    ids = [int(e.id) for e in events]  # type: ignore[arg-type]
    assert ids == sorted(set(ids)) and ids[0] > int(snapshot.id)  # type: ignore[arg-type]

    # Resumed with Last-Event-ID: the rest, without a snapshot.
    with http.stream("GET", "/api/v1/events", headers={"Last-Event-ID": str(ids[0])}) as resp:
        resumed = SSE(resp)
        store.progress(loose.lease, 30, "after resume")
        rest = resumed.take(3)
    assert [e.id for e in rest[:2]] == [events[1].id, events[2].id]
    assert rest[2].event == "progress" and rest[2].data["message"] == "after resume"

    # job_type narrows it.
    with http.stream("GET", "/api/v1/events", params={"job_type": "sse_other"}) as response:
        typed = SSE(response)
        assert typed.next().data["jobs"] == []  # type: ignore[union-attr]
        store.progress(loose.lease, 40, "other type")
        late = store.enqueue(JobSpec("sse_other"))
        event = typed.next()
    assert event is not None and event.event == "status" and event.data["job_id"] == str(late.id)
    assert http.get("/api/v1/events", params={"after": -1}).status_code == 422


# -- long polling --------------------------------------------------------------------------------


def _in_thread(call: Callable[[], httpx.Response]) -> tuple[threading.Thread, list[Any]]:
    box: list[Any] = []

    def run() -> None:
        box.append(call())
        box.append(time.monotonic())

    thread = threading.Thread(target=run)
    thread.start()
    return thread, box


def test_long_poll_returns_as_soon_as_the_job_changes(
    server: LiveServer, http: httpx.Client, store: SQLStore
) -> None:
    job = running_job(store)
    etag = http.get(f"/api/v1/jobs/{job.id}").headers["etag"]
    thread, box = _in_thread(
        lambda: http.get(
            f"/api/v1/jobs/{job.id}", params={"wait": 20}, headers={"If-None-Match": etag}
        )
    )
    wait_until(lambda: server.subscribers() == 1, timeout=10, what="the poll to wait")
    written = time.monotonic()
    store.progress(job.lease, 40, "moved")
    thread.join(15)
    response, answered = box
    assert response.status_code == 200
    assert response.json()["progress_percent"] == 40
    assert response.headers["etag"] != etag
    assert answered - written < 1.0, "answered on the change, not on the timeout"

    by_version = http.get(f"/api/v1/jobs/{job.id}", params={"wait": 5, "version": 2})
    assert by_version.status_code == 200 and by_version.json()["version"] == 3


def test_long_polls_work_when_the_app_runs_again_on_a_new_loop(
    db_url: str, store: SQLStore
) -> None:
    app = make_app(db_url)
    job = running_job(store)
    for percent in (10, 20):
        with TestClient(app) as client:
            etag = client.get(f"/api/v1/jobs/{job.id}").headers["etag"]
            waited = client.get(
                f"/api/v1/jobs/{job.id}", params={"wait": 0.2}, headers={"If-None-Match": etag}
            )
            assert waited.status_code == 304
            store.progress(job.lease, percent, None)
            changed = client.get(
                f"/api/v1/jobs/{job.id}", params={"wait": 5}, headers={"If-None-Match": etag}
            )
            assert changed.status_code == 200 and changed.json()["progress_percent"] == percent


def test_long_poll_times_out_with_304(http: httpx.Client, store: SQLStore) -> None:
    job = running_job(store)
    etag = http.get(f"/api/v1/jobs/{job.id}").headers["etag"]
    started = time.monotonic()
    response = http.get(
        f"/api/v1/jobs/{job.id}", params={"wait": 0.5}, headers={"If-None-Match": etag}
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 304 and response.content == b""
    assert response.headers["etag"] == etag
    assert 0.45 <= elapsed < 5
    by_version = http.get(f"/api/v1/jobs/{job.id}", params={"wait": 0.3, "version": job.version})
    assert by_version.status_code == 304
    started = time.monotonic()
    plain = http.get(f"/api/v1/jobs/{job.id}", params={"wait": 30})
    assert plain.status_code == 200 and time.monotonic() - started < 5, "no baseline: no wait"
    assert http.get(f"/api/v1/jobs/{job.id}", params={"wait": 61}).status_code == 422
    assert http.get(f"/api/v1/jobs/{uuid.uuid4()}", params={"wait": 1}).status_code == 404


# -- one watcher per process ---------------------------------------------------------------------


def test_one_feed_watcher_serves_the_embedded_worker_and_20_streams(db_url: str) -> None:
    """The server, its embedded worker and 20 event streams share one database watcher."""
    app = make_app(db_url, embedded_worker=True)
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=10) as http:
        store = app.state.runtime.store
        feed = store.feed
        wait_until(app.state.worker.started.is_set, timeout=10, what="the embedded worker")
        with contextlib.ExitStack() as streams:
            jobs = [running_job(store) for _ in range(20)]
            readers = []
            for job in jobs:
                response = streams.enter_context(http.stream("GET", events_url(job.id)))
                reader = SSE(response)
                first = reader.next()
                assert first is not None and first.event == "snapshot"
                readers.append(reader)
            wait_until(lambda: live.subscribers() == 20, timeout=10, what="20 subscriptions")
            assert feed.watchers == 1 and feed.starts == 1
            store.complete(jobs[3].lease, {"n": 3})
            assert [e.event for e in readers[3].rest()][-1] == "end"
            assert feed.watchers == 1 and feed.starts == 1
