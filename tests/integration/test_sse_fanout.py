"""Event-stream fan-out against a real server, both databases: a cap on open streams per
process (503 + Retry-After beyond it) and one log read per change, however many follow."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from orbit.jobs import SQLStore
from orbit.jobs.http import StreamOptions
from tests.conftest import wait_until
from tests.integration.test_sse import (
    KEEPALIVE,
    PROBLEM,
    SSE,
    LiveServer,
    events_url,
    make_app,
    running_job,
)

FOLLOWERS = 8


def project_url(project_id: uuid.UUID) -> str:
    return f"/api/v1/jobs/events?project_id={project_id}"


class LogReads:
    """Counts the reads of ``job_events`` on an engine: the transactions with a statement
    reading it (on SQLite one log read is two statements in one transaction)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._reads: list[object] = []  # held, so no two transactions share an id()
        self._lock = threading.Lock()

    @property
    def count(self) -> int:
        return len(self._reads)

    def _seen(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        text = statement.lower()
        if text.lstrip().startswith("select") and "job_events" in text:
            read = conn.get_transaction() or conn
            with self._lock:
                if all(read is not seen for seen in self._reads):
                    self._reads.append(read)

    def __enter__(self) -> LogReads:
        sa.event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc: object) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._seen)


@pytest.fixture
def capped(db_url: str) -> Iterator[LiveServer]:
    app = make_app(db_url)
    app.state.event_streams = StreamOptions(
        keepalive_seconds=KEEPALIVE, resync_seconds=30, max_streams=2, busy_retry_after_seconds=7
    )
    with LiveServer(app) as live:
        yield live


def test_streams_beyond_the_cap_are_a_503_with_retry_after(
    capped: LiveServer, store: SQLStore
) -> None:
    job = running_job(store, project_id=(project := uuid.uuid4()))
    with httpx.Client(base_url=capped.url, timeout=10) as http, contextlib.ExitStack() as open_:
        first = SSE(open_.enter_context(http.stream("GET", events_url(job.id))))
        assert first.next() is not None
        with http.stream("GET", project_url(project)) as second:
            reader = SSE(second)  # kept: dropping the reader closes the stream
            assert reader.next() is not None
            for url in (events_url(job.id), project_url(project)):
                refused = http.get(url)
                assert refused.status_code == 503, refused.text
                assert refused.headers["content-type"].startswith(PROBLEM)
                assert refused.headers["retry-after"] == "7"
                assert refused.json()["type"] == "/problems/too-many-streams"
        # A stream that ends gives its slot back.
        slots = capped.app.state.stream_slots
        wait_until(lambda: slots.open == 1, timeout=10, what="the closed stream's slot")
        with http.stream("GET", project_url(project)) as third:
            reader = SSE(third)
            assert reader.next() is not None
        # A finished job's stream that has every event (204) never takes a slot.
        store.complete(job.lease)
    wait_until(lambda: slots.open == 0, timeout=10, what="every slot back")


def follow(http: httpx.Client, streams: contextlib.ExitStack, url: str, count: int) -> list[SSE]:
    readers = []
    for _ in range(count):
        reader = SSE(streams.enter_context(http.stream("GET", url)))
        first = reader.next()
        assert first is not None and first.event == "snapshot"
        readers.append(reader)
    return readers


@pytest.mark.parametrize("kind", ["project", "job"])
def test_one_change_costs_one_log_read_for_every_follower(
    db_url: str, store: SQLStore, kind: str
) -> None:
    app = make_app(db_url)
    job = running_job(store, project_id=(project := uuid.uuid4()))
    url = project_url(project) if kind == "project" else events_url(job.id)
    with (
        LiveServer(app) as live,
        httpx.Client(base_url=live.url, timeout=10) as http,
        contextlib.ExitStack() as streams,
    ):
        readers = follow(http, streams, url, FOLLOWERS)
        wait_until(lambda: live.subscribers() == FOLLOWERS, timeout=10, what="the followers")
        reads = app.state.client.hub.reads

        def change(message: str) -> None:
            store.progress(job.lease, 50, message)
            for reader in readers:
                event = reader.next()
                assert event is not None and event.event == "progress"
                assert event.data["message"] == message
            wait_until(lambda: reads.busy == 0, timeout=10, what="the followers to settle")

        change("Warming up")  # every follower past its first reads, waiting for a change
        with LogReads(app.state.client.store.engine) as log_reads:
            change("Halfway")
        assert log_reads.count == 1, f"{log_reads.count} reads for {FOLLOWERS} followers"
