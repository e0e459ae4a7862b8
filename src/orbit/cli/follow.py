"""Following one job from the CLI: the server's SSE stream, or the database's change feed.

``watch_server`` reads ``GET /api/v1/jobs/{id}/events`` (resuming with ``Last-Event-ID``
after a dropped connection) and raises ``ServerUnavailable`` when the server cannot be
used. ``follow_database`` is the fallback: it reads the job's events through
``JobClient`` and sleeps on a subscription to the store's change feed, so it wakes when
the job changes rather than on a timer (a slow re-read stays as insurance).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import httpx

from orbit.cli.common import fail
from orbit.cli.render import JobProgress
from orbit.jobs import Job, JobClient, JobEvent, JobStatus

REFRESH_SECONDS = 2.0
STREAM_READ_TIMEOUT_SECONDS = 60.0  # the server sends a keep-alive comment every 15 s
STREAM_RETRIES = 5


def follow_database(client: JobClient, job_id: uuid.UUID, view: JobProgress) -> Job:
    """Follow the job's events in the database until it finishes; returns the finished job."""
    return asyncio.run(_follow_database(client, job_id, view))


async def _follow_database(client: JobClient, job_id: uuid.UUID, view: JobProgress) -> Job:
    job = await asyncio.to_thread(client.get, job_id)
    seq = job.version
    view.show(job)
    async with await client.subscribe(job_id=job_id) as changes:
        woken = True
        while True:
            events = await asyncio.to_thread(client.events, job_id, seq)
            for event in events:
                view.apply(event)
                seq = event.seq
            if not woken or any(event.kind == "status" for event in events):
                job = await asyncio.to_thread(client.get, job_id)
            if job.finished and seq >= job.version:
                break
            woken = await changes.wait(REFRESH_SECONDS)
    view.show(job)
    return job


class ServerUnavailable(Exception):
    """The server cannot be used to follow the job (the database may still be)."""


@dataclasses.dataclass(frozen=True)
class StreamEvent:
    """One Server-Sent Event: its type, data and ``id`` field (None when it had none)."""

    event: str
    data: str
    id: str | None


def parse_sse(lines: Iterable[str]) -> Iterator[StreamEvent]:
    """Server-Sent Events from the lines of a stream; an event counts once its block ends.

    Comments (keep-alives) and ``retry:`` are skipped; a block without data is no event.
    """
    event, event_id = "message", None
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield StreamEvent(event, "\n".join(data), event_id)
            event, data, event_id = "message", [], None
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id" and "\0" not in value:
            event_id = value


def _when(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _uuid(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


def job_from_json(data: dict[str, Any]) -> Job:
    """A ``Job`` from the API's JSON (fields the API never shows are left empty)."""
    try:
        created, run_at, updated = (_when(data[k]) for k in ("created_at", "run_at", "updated_at"))
        assert created and run_at and updated
        return Job(
            id=uuid.UUID(data["id"]),
            job_type=data["job_type"],
            status=JobStatus(data["status"]),
            input_data=data.get("input_data"),
            result=data.get("result"),
            error=data.get("error"),
            progress_percent=data.get("progress_percent"),
            progress_message=data.get("progress_message"),
            created_at=created,
            started_at=_when(data.get("started_at")),
            completed_at=_when(data.get("completed_at")),
            project_id=_uuid(data.get("project_id")),
            interview_id=_uuid(data.get("interview_id")),
            parent_id=_uuid(data.get("parent_id")),
            attempts=int(data["attempts"]),
            max_attempts=int(data["max_attempts"]),
            priority=int(data["priority"]),
            run_at=run_at,
            timeout_seconds=data.get("timeout_seconds"),
            worker_id=data.get("worker_id"),
            lease_token=None,
            lease_expires_at=None,
            cancel_requested_at=_when(data.get("cancel_requested_at")),
            idempotency_key=None,
            version=int(data["version"]),
            updated_at=updated,
        )
    except (KeyError, TypeError, ValueError, AssertionError) as exc:
        raise ServerUnavailable(f"unexpected job document ({exc})") from None


def _http(url: str, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    timeout = httpx.Timeout(10.0, connect=3.0, read=STREAM_READ_TIMEOUT_SECONDS)
    return httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout)


def _check(response: httpx.Response) -> None:
    if response.status_code in (401, 403):
        fail("the server refused the API token (set --token or ORBIT_API_TOKEN)")
    if response.status_code == 404:
        raise ServerUnavailable("the server does not know this job")
    if response.status_code >= 400:
        raise ServerUnavailable(f"HTTP {response.status_code}")


def _server_job(http: httpx.Client, job_id: uuid.UUID) -> Job:
    try:
        response = http.get(f"/api/v1/jobs/{job_id}")
    except httpx.TransportError as exc:
        raise ServerUnavailable(str(exc) or type(exc).__name__) from None
    _check(response)
    try:
        document = response.json()
    except ValueError:
        raise ServerUnavailable("the answer is not JSON") from None
    return job_from_json(document)


def _apply(view: JobProgress, job_id: uuid.UUID, event: StreamEvent) -> None:
    data = json.loads(event.data)
    if event.event == "snapshot":
        view.show(job_from_json(data))
        return
    seq = int(event.id) if event.id and event.id.isdigit() else 0
    view.apply(JobEvent(0, job_id, seq, event.event, data, dt.datetime.now(dt.UTC)))


def follow_stream(http: httpx.Client, job_id: uuid.UUID, view: JobProgress) -> Job:
    """Follow ``GET /jobs/{id}/events`` until the job ends, resuming with ``Last-Event-ID``
    after a dropped connection; returns the finished job."""
    last_id: str | None = None
    failures = 0
    while True:
        headers = {"Last-Event-ID": last_id} if last_id else {}
        try:
            with http.stream("GET", f"/api/v1/jobs/{job_id}/events", headers=headers) as response:
                if response.status_code == 204:  # finished, and we have seen everything
                    return _server_job(http, job_id)
                _check(response)
                for event in parse_sse(response.iter_lines()):
                    failures = 0
                    last_id = event.id or last_id
                    if event.event == "end":
                        return _server_job(http, job_id)
                    _apply(view, job_id, event)
            problem = "the stream ended early"
        except httpx.TransportError as exc:
            problem = str(exc) or type(exc).__name__
        failures += 1  # reset by any event: only connections that bring nothing count
        if failures > STREAM_RETRIES:
            raise ServerUnavailable(problem)
        time.sleep(min(0.1 * 2**failures, 5.0))


def watch_server(url: str, token: str | None, job_id: uuid.UUID) -> Job:
    """Follow the job through the server at ``url`` with a progress bar; the finished job.

    Raises ``ServerUnavailable`` when the server cannot be used (the caller falls back).
    """
    with _http(url, token) as http:
        job = _server_job(http, job_id)
        with JobProgress(job) as view:
            return follow_stream(http, job_id, view)
