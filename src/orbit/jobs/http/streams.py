"""Live job events over HTTP: Server-Sent Events and long polling.

``GET /jobs/{id}/events`` streams one job's event log:

* ``snapshot`` first (data: the job as ``GET /jobs/{id}`` returns it; ``id``: its
  ``version``), sent only when the client has no cursor;
* then every event after it, ``id`` = its ``seq``: ``progress`` ``{percent, message}``,
  ``status`` ``{status, error?, ...}``, ``token`` ``{text}``, ``cancel_requested``, ``step``
  ``{name}`` (a step's result is not streamed: it can be large) and custom events;
* ``end`` ``{status}`` (no ``id``) once the job is finished and everything was sent; then
  the stream closes.

Resume with the ``Last-Event-ID`` header (sent by ``EventSource`` when it reconnects) or
``?after=N``; the header wins when both are present. Events with ``seq > N`` follow, with
no gap and no duplicate, and no snapshot. A finished job whose events the client has all
seen answers ``204 No Content``, which also tells ``EventSource`` to stop reconnecting.

``GET /jobs/events?project_id=...[&job_type=...]`` streams every job of a project on one
connection (browsers allow six per host). Its ids are the global ``job_events.id``:
``snapshot`` ``{jobs: [...], truncated}`` (the project's pending and running jobs) comes
first, without a cursor; every other event carries ``job_id`` and ``seq`` in its data. A
client applying events to the snapshot can ignore events whose ``seq`` is not above the
job's ``version`` it holds. Ordering is handled by ``orbit.jobs.events.LogCursor``.

Comments (``: ping``) keep idle connections alive every ``keepalive_seconds`` (15 s).
Disconnecting never affects the job.

``GET /jobs/{id}?wait=S`` long-polls: with a baseline (the ``ETag`` in ``If-None-Match``,
or ``?version=N``) it answers as soon as the job's version differs, or after ``S`` seconds
(0-60) with ``304 Not Modified``. A stream token (``POST /auth/stream-token``) lets a
browser's ``EventSource`` authenticate (see ``security.py``).

Tuning lives in ``app.state.event_streams`` (a ``StreamOptions``); the fan-out hub in
``app.state.events`` (created on first use when the application did not set one).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from orbit.jobs.events import EventHub, LogCursor
from orbit.jobs.http.dependencies import ClientDep, JobIdPath
from orbit.jobs.http.problems import Problem
from orbit.jobs.http.responses import etag_for, etag_matches
from orbit.jobs.http.schemas import JobOut
from orbit.jobs.http.security import STREAM_TOKENS_SCOPE_KEY
from orbit.jobs.http.tokens import StreamTokens
from orbit.jobs.models import JSON, Job, JobEvent
from orbit.jobs.states import TERMINAL, JobStatus
from orbit.jobs.store import SQLStore
from orbit.jobs.store.log import LogEntry, ProjectSnapshot

MAX_WAIT_SECONDS = 60.0
_EVENT_NAME = re.compile(r"[^A-Za-z0-9_.\-]")


@dataclasses.dataclass(frozen=True)
class StreamOptions:
    """Tuning of the event streams (``app.state.event_streams``)."""

    keepalive_seconds: float = 15.0
    """A comment line at least this often, so proxies keep idle streams open."""
    resync_seconds: float = 15.0
    """Read the log again after this long without a wake-up (insurance, not the mechanism)."""
    retry_ms: int = 1000
    """The reconnection delay suggested to ``EventSource`` (the ``retry:`` field)."""
    page_size: int = 500
    """Events read per query."""
    hole_grace_seconds: float = 2.0
    """Project streams on PostgreSQL: longest wait for a missing event id (``LogCursor``)."""
    hole_recheck_seconds: float = 0.02
    """How soon a project stream re-reads while it waits for a missing event id."""
    send_timeout_seconds: float = 30.0
    """Give up on a client that accepts no data for this long."""


def stream_options(request: Request) -> StreamOptions:
    """The application's ``StreamOptions`` (defaults when unset)."""
    options = getattr(request.app.state, "event_streams", None)
    return options if isinstance(options, StreamOptions) else StreamOptions()


async def get_event_hub(request: Request, client: ClientDep) -> EventHub:
    """The process's ``EventHub`` (``app.state.events``), created on first use."""
    hub = getattr(request.app.state, "events", None)
    if not isinstance(hub, EventHub) or hub.store is not client.store:
        # First use, or the application started again with a new store.
        hub = EventHub(client.store)
        request.app.state.events = hub
    return hub


HubDep = Annotated[EventHub, Depends(get_event_hub)]
OptionsDep = Annotated[StreamOptions, Depends(stream_options)]
AfterQuery = Annotated[
    int | None,
    Query(ge=0, description="Resume after this event id (the Last-Event-ID header wins)."),
]
LastEventIdHeader = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        max_length=32,
        description="Sent by EventSource when it reconnects: resume after this id.",
    ),
]


def resume_cursor(after: int | None, last_event_id: str | None) -> int | None:
    """The client's cursor: ``Last-Event-ID`` (newer, sent on reconnects) or ``?after``."""
    if last_event_id is not None and last_event_id.strip():
        text = last_event_id.strip()
        if not text.isdigit():
            raise Problem(
                422,
                "Last-Event-ID must be an event id sent by this stream (a whole number).",
                slug="invalid-last-event-id",
                title="Invalid Last-Event-ID",
                extensions={
                    "errors": [
                        {
                            "loc": ["header", "Last-Event-ID"],
                            "msg": "not a whole number",
                            "type": "value_error",
                        }
                    ]
                },
            )
        return int(text)
    return after


def _data(value: Mapping[str, JSON]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _event_name(kind: str) -> str:
    return _EVENT_NAME.sub("_", kind) or "event"


def _job_json(job: Job) -> dict[str, Any]:
    return JobOut.of(job).model_dump(mode="json")


def job_event(event: JobEvent) -> ServerSentEvent:
    """One log event of a single-job stream; ``step`` events carry only their name."""
    payload: Mapping[str, JSON] = event.payload
    if event.kind == "step":
        payload = {"name": payload.get("name")}
    return ServerSentEvent(_data(payload), event=_event_name(event.kind), id=str(event.seq))


def project_event(entry: LogEntry) -> ServerSentEvent:
    """One log event of a project stream: its payload plus ``job_id`` and ``seq``."""
    data: dict[str, JSON] = {"job_id": str(entry.job_id), "seq": entry.seq}
    data.update(entry.payload or {})
    return ServerSentEvent(_data(data), event=_event_name(entry.kind), id=str(entry.id))


def _sse_response(content: AsyncIterator[ServerSentEvent], options: StreamOptions) -> Response:
    return EventSourceResponse(
        content,
        ping=options.keepalive_seconds,
        send_timeout=options.send_timeout_seconds,
        headers={"Cache-Control": "no-store"},
    )


# -- one job ---------------------------------------------------------------------------------


async def follow_job(
    hub: EventHub, store: SQLStore, job: Job, cursor: int | None, options: StreamOptions
) -> AsyncIterator[ServerSentEvent]:
    """The events of ``job`` after ``cursor`` (a snapshot first when there is none)."""
    yield ServerSentEvent(retry=options.retry_ms)
    subscription = await hub.subscribe(job_id=job.id)
    try:
        if cursor is None:
            yield ServerSentEvent(_data(_job_json(job)), event="snapshot", id=str(job.version))
            cursor = job.version
        status, known = job.status, job.version
        while True:
            events = await run_in_threadpool(store.events_after, job.id, cursor, options.page_size)
            for event in events:
                cursor = event.seq
                if event.kind == "status" and event.seq > known:
                    status = JobStatus(event.payload["status"])
                yield job_event(event)
            if len(events) == options.page_size:
                continue
            if status in TERMINAL and cursor >= known:
                yield ServerSentEvent(_data({"status": status.value}), event="end")
                return
            await subscription.wait(options.resync_seconds)
    finally:
        subscription.close()


async def job_events(
    job_id: JobIdPath,
    client: ClientDep,
    hub: HubDep,
    options: OptionsDep,
    after: AfterQuery = None,
    last_event_id: LastEventIdHeader = None,
) -> Response:
    """Follow one job as Server-Sent Events (see the module docstring for the protocol)."""
    cursor = resume_cursor(after, last_event_id)
    job = await run_in_threadpool(client.get, job_id)
    if cursor is not None and job.finished and cursor >= job.version:
        return Response(status_code=204)
    return _sse_response(follow_job(hub, client.store, job, cursor, options), options)


# -- every job of a project ------------------------------------------------------------------


async def follow_project(
    hub: EventHub,
    store: SQLStore,
    project_id: uuid.UUID,
    job_type: str | None,
    cursor: LogCursor,
    snapshot: ProjectSnapshot | None,
    options: StreamOptions,
) -> AsyncIterator[ServerSentEvent]:
    """The events of the project's jobs after ``cursor``, a snapshot first if given."""
    yield ServerSentEvent(retry=options.retry_ms)
    subscription = await hub.subscribe(project_id=project_id)
    known: dict[uuid.UUID, int] = {}
    try:
        if snapshot is not None:
            known = {job.id: job.version for job in snapshot.jobs}
            data = {"jobs": [_job_json(j) for j in snapshot.jobs], "truncated": snapshot.truncated}
            yield ServerSentEvent(_data(data), event="snapshot", id=str(cursor.position))
        while True:
            read = await run_in_threadpool(
                store.read_log, cursor.position, project_id, job_type, options.page_size
            )
            for entry in cursor.advance(read):
                if entry.kind == "step" or known.get(entry.job_id, 0) >= entry.seq:
                    continue  # steps are internal; the rest is already in the snapshot
                yield project_event(entry)
            if cursor.held:
                # Waiting for an id another transaction holds; it may be any project's.
                subscription.follow_everything(True)
                await subscription.wait(options.hole_recheck_seconds)
                continue
            subscription.follow_everything(False)
            if len(read.entries) == options.page_size:
                continue
            await subscription.wait(options.resync_seconds)
    finally:
        subscription.close()


async def settled_snapshot(
    store: SQLStore, project_id: uuid.UUID, job_type: str | None, options: StreamOptions
) -> tuple[ProjectSnapshot, LogCursor]:
    """A project snapshot whose position every later event is above, when possible.

    On PostgreSQL, ids missing just below the snapshot's top may belong to transactions
    still running when it was read (see ``LogCursor``). Once every such transaction has
    ended (the log's ``xmin`` reached the snapshot's ``xmax``, usually at once), the ids
    still missing are gone for good (deleted or rolled back) and the snapshot's cursor is
    simply its top; if some of them appeared meanwhile, the snapshot is read again. Past
    the grace period the cursor starts below the oldest missing id instead and skips the
    ids the snapshot already reflects.
    """
    deadline = time.monotonic() + options.hole_grace_seconds
    while True:
        snapshot = await run_in_threadpool(store.project_snapshot, project_id, job_type)
        cursor = LogCursor.after_snapshot(snapshot, grace_seconds=options.hole_grace_seconds)
        while cursor.position < snapshot.top and time.monotonic() < deadline:
            read = await run_in_threadpool(
                store.read_log, snapshot.floor, project_id, job_type, snapshot.top - snapshot.floor
            )
            if read.xmin is None or snapshot.xmax is None or read.xmin < snapshot.xmax:
                await asyncio.sleep(options.hole_recheck_seconds)  # a writer is mid-commit
                continue
            if {e.id for e in read.entries if e.id <= snapshot.top} <= snapshot.present:
                return snapshot, LogCursor(snapshot.top, grace_seconds=options.hole_grace_seconds)
            break  # something committed below the top since: read the snapshot again
        else:
            return snapshot, cursor


async def project_events(
    client: ClientDep,
    hub: HubDep,
    options: OptionsDep,
    project_id: Annotated[uuid.UUID, Query(description="The project whose jobs to follow.")],
    job_type: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    after: AfterQuery = None,
    last_event_id: LastEventIdHeader = None,
) -> Response:
    """Follow every job of a project as Server-Sent Events (ids: global event ids)."""
    position = resume_cursor(after, last_event_id)
    store = client.store
    snapshot = None
    if position is None:
        snapshot, cursor = await settled_snapshot(store, project_id, job_type, options)
    else:
        cursor = LogCursor(position, grace_seconds=options.hole_grace_seconds)
    content = follow_project(hub, store, project_id, job_type, cursor, snapshot, options)
    return _sse_response(content, options)


# -- long polling ----------------------------------------------------------------------------


def _validators(job: Job) -> dict[str, str]:
    return {"ETag": etag_for(job), "Cache-Control": "no-cache"}


async def get_job(
    job_id: JobIdPath,
    request: Request,
    client: ClientDep,
    wait: Annotated[
        float,
        Query(
            ge=0,
            le=MAX_WAIT_SECONDS,
            description="Long poll: wait up to this many seconds for the job to change.",
        ),
    ] = 0,
    version: Annotated[
        int | None,
        Query(ge=0, description="The version the client holds (instead of If-None-Match)."),
    ] = None,
) -> Response:
    """One job; 304 while it still matches the client's ``If-None-Match`` or ``?version``.

    With ``?wait=S`` an unchanged job is held for up to ``S`` seconds and answered the
    moment it changes (200), or with a bodiless 304 when the time is up.
    """
    if_none_match = request.headers.get("if-none-match")

    def unchanged(job: Job) -> bool:
        if if_none_match:
            return etag_matches(if_none_match, etag_for(job))
        return version is not None and job.version == version

    job = await run_in_threadpool(client.get, job_id)
    if wait > 0 and unchanged(job):
        hub = await get_event_hub(request, client)
        subscription = await hub.subscribe(job_id=job_id)
        try:
            deadline = time.monotonic() + wait
            job = await run_in_threadpool(client.get, job_id)  # changed while subscribing?
            while unchanged(job) and (remaining := deadline - time.monotonic()) > 0:
                if await subscription.wait(remaining):
                    job = await run_in_threadpool(client.get, job_id)
        finally:
            subscription.close()
    if unchanged(job):
        return Response(status_code=304, headers=_validators(job))
    return JSONResponse(_job_json(job), headers=_validators(job))


# -- stream tokens ---------------------------------------------------------------------------


class StreamToken(BaseModel):
    """A short-lived token for ``?access_token=`` on the event streams."""

    token: str | None
    expires_in: int


def stream_token(request: Request) -> StreamToken:
    """A token an ``EventSource`` can pass as ``?access_token=`` (valid ``expires_in`` s).

    ``token`` is null when the API requires no token.
    """
    tokens = request.scope.get(STREAM_TOKENS_SCOPE_KEY)
    if not isinstance(tokens, StreamTokens):
        return StreamToken(token=None, expires_in=0)
    token, expires_in = tokens.issue()
    return StreamToken(token=token, expires_in=expires_in)


__all__ = [
    "HubDep",
    "StreamOptions",
    "StreamToken",
    "follow_job",
    "follow_project",
    "get_event_hub",
    "get_job",
    "job_events",
    "project_events",
    "resume_cursor",
    "stream_options",
    "stream_token",
]
