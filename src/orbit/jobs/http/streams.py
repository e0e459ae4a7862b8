"""Live job events over HTTP: Server-Sent Events (long polling is in ``polling.py``).

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

``GET /events[?project_id=...&job_type=...]`` is the same stream for every job (or one
project's), carrying only ``status``, ``progress`` and ``cancel_requested`` events: one
connection keeps a whole list of jobs current (the dashboard). No tokens, no steps.

Comments (``: ping``) keep idle connections alive every ``keepalive_seconds`` (15 s).
Disconnecting never affects the job.

A process serves at most ``max_streams`` streams at once (``ORBIT_MAX_STREAMS``); one
more is a 503 problem with ``Retry-After``. The streams woken by one change share one
read of the log per cursor (``EventHub.reads``), so a change costs one database read
however many clients follow the job or project.

Tuning lives in ``app.state.event_streams`` (a ``StreamOptions``). Wake-ups come from
``JobClient.subscribe``: the store's change feed, one watcher of the database per process.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request
from fastapi.responses import Response
from sse_starlette import ServerSentEvent
from starlette.concurrency import run_in_threadpool

from orbit.jobs.client import JobClient
from orbit.jobs.http.dependencies import ClientDep, JobIdPath, JobTypeQuery
from orbit.jobs.http.inputs import INT64_MAX
from orbit.jobs.http.problems import Problem
from orbit.jobs.http.schemas import JobOut
from orbit.jobs.http.stream_slots import CountedStream, StreamSlots, stream_slots
from orbit.jobs.log_cursor import LogCursor, LogEntry, ProjectSnapshot
from orbit.jobs.models import JSON, Job, JobEvent
from orbit.jobs.states import TERMINAL, JobStatus

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
    hole_grace_seconds: float = 30.0
    """Project streams on PostgreSQL: longest wait for a missing event id (``LogCursor``)."""
    hole_recheck_seconds: float = 0.02
    """How soon a project stream re-reads while it waits for a missing event id."""
    send_timeout_seconds: float = 30.0
    """Give up on a client that accepts no data for this long."""
    max_streams: int = 1000
    """Open streams per process (``app.state``); one more is a 503 with ``Retry-After``."""
    busy_retry_after_seconds: int = 5
    """The ``Retry-After`` of that 503."""


async def stream_options(request: Request) -> StreamOptions:
    """The application's ``StreamOptions`` (defaults when unset)."""
    options = getattr(request.app.state, "event_streams", None)
    return options if isinstance(options, StreamOptions) else StreamOptions()


OptionsDep = Annotated[StreamOptions, Depends(stream_options)]
SlotsDep = Annotated[StreamSlots, Depends(stream_slots)]
AfterQuery = Annotated[
    int | None,
    Query(
        ge=0,
        le=INT64_MAX,
        description="Resume after this event id (the Last-Event-ID header wins).",
    ),
]
LastEventIdHeader = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        max_length=20,
        description="Sent by EventSource when it reconnects: resume after this id.",
    ),
]


def resume_cursor(after: int | None, last_event_id: str | None) -> int | None:
    """The client's cursor: ``Last-Event-ID`` (newer, sent on reconnects) or ``?after``."""
    if last_event_id is not None and last_event_id.strip():
        text = last_event_id.strip()
        # isascii: str.isdigit() also accepts digits such as "²" that int() refuses;
        # the bound: ids are int64 in the database, a larger one would kill the stream.
        if not (text.isascii() and text.isdigit() and int(text) <= INT64_MAX):
            raise Problem(
                422,
                "Last-Event-ID must be an event id sent by this stream "
                f"(a whole number up to {INT64_MAX}).",
                slug="invalid-last-event-id",
                title="Invalid Last-Event-ID",
                extensions={
                    "errors": [
                        {
                            "loc": ["header", "Last-Event-ID"],
                            "msg": "not an event id",
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


def _sse_response(
    content: AsyncIterator[ServerSentEvent], options: StreamOptions, release: Callable[[], None]
) -> Response:
    return CountedStream(
        content,
        release=release,
        ping=options.keepalive_seconds,
        send_timeout=options.send_timeout_seconds,
        headers={"Cache-Control": "no-store"},
    )


# -- one job ---------------------------------------------------------------------------------


async def follow_job(
    client: JobClient, job: Job, cursor: int | None, options: StreamOptions
) -> AsyncIterator[ServerSentEvent]:
    """The events of ``job`` after ``cursor`` (a snapshot first when there is none)."""
    yield ServerSentEvent(retry=options.retry_ms)
    subscription = await client.subscribe(job_id=job.id)
    try:
        if cursor is None:
            yield ServerSentEvent(_data(_job_json(job)), event="snapshot", id=str(job.version))
            cursor = job.version
        status, known = job.status, job.version
        while True:
            read = functools.partial(
                run_in_threadpool, client.events, job.id, cursor, options.page_size
            )
            events = await client.hub.reads.read(("job", job.id, cursor, options.page_size), read)
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
    options: OptionsDep,
    slots: SlotsDep,
    after: AfterQuery = None,
    last_event_id: LastEventIdHeader = None,
) -> Response:
    """Follow one job as Server-Sent Events (see the module docstring for the protocol)."""
    cursor = resume_cursor(after, last_event_id)
    job = await run_in_threadpool(client.get, job_id)
    if cursor is not None and job.finished and cursor >= job.version:
        return Response(status_code=204)
    release = slots.take(options)
    return _sse_response(follow_job(client, job, cursor, options), options, release)


# -- every job of a project ------------------------------------------------------------------


LIVE_KINDS = frozenset({"status", "progress", "cancel_requested"})
"""What the jobs-wide stream carries: enough to keep a list of jobs current (no tokens)."""


async def follow_project(
    client: JobClient,
    project_id: uuid.UUID | None,
    job_type: str | None,
    cursor: LogCursor,
    snapshot: ProjectSnapshot | None,
    options: StreamOptions,
    kinds: frozenset[str] | None = None,
) -> AsyncIterator[ServerSentEvent]:
    """The events of the project's jobs (every job's when ``project_id`` is ``None``) after
    ``cursor``, a snapshot first if given; only events of ``kinds`` when given."""
    yield ServerSentEvent(retry=options.retry_ms)
    subscription = await client.subscribe(project_id=project_id, everything=project_id is None)
    known: dict[uuid.UUID, int] = {}
    try:
        if snapshot is not None:
            known = {job.id: job.version for job in snapshot.jobs}
            data = {"jobs": [_job_json(j) for j in snapshot.jobs], "truncated": snapshot.truncated}
            yield ServerSentEvent(_data(data), event="snapshot", id=str(cursor.position))
        while True:
            key = ("project", project_id, job_type, cursor.position, options.page_size)
            read = await client.hub.reads.read(
                key,
                functools.partial(
                    run_in_threadpool,
                    client.read_log,
                    cursor.position,
                    project_id,
                    job_type,
                    options.page_size,
                ),
            )
            for entry in cursor.advance(read):
                if entry.kind == "step" or known.get(entry.job_id, 0) >= entry.seq:
                    continue  # steps are internal; the rest is already in the snapshot
                if kinds is not None and entry.kind not in kinds:
                    continue
                yield project_event(entry)
            if cursor.held:
                # Waiting for an id another transaction holds; it may be any project's.
                subscription.follow_everything(True)
                await subscription.wait(options.hole_recheck_seconds)
                continue
            subscription.follow_everything(project_id is None)  # back to what it follows
            if len(read.entries) == options.page_size:
                continue
            await subscription.wait(options.resync_seconds)
    finally:
        subscription.close()


async def settled_snapshot(
    client: JobClient, project_id: uuid.UUID | None, job_type: str | None, options: StreamOptions
) -> tuple[ProjectSnapshot, LogCursor]:
    """A project snapshot whose position every later event is above, when possible.

    On PostgreSQL, ids missing just below the snapshot's top may belong to transactions
    still running when it was read (see ``LogCursor``). Once every such transaction has
    ended (the log's ``xmin`` reached the snapshot's ``fence``, usually at once), the ids
    still missing are gone for good (deleted or rolled back) and the snapshot's cursor is
    simply its top; if some of them appeared meanwhile, the snapshot is read again. Past
    the grace period the cursor starts below the oldest missing id instead and skips the
    ids the snapshot already reflects.
    """
    deadline = time.monotonic() + options.hole_grace_seconds
    while True:
        snapshot = await run_in_threadpool(client.project_snapshot, project_id, job_type)
        cursor = LogCursor.after_snapshot(snapshot, grace_seconds=options.hole_grace_seconds)
        while cursor.position < snapshot.top and time.monotonic() < deadline:
            read = await run_in_threadpool(
                client.read_log, snapshot.floor, project_id, job_type, snapshot.top - snapshot.floor
            )
            if read.xmin is None or snapshot.fence is None or read.xmin < snapshot.fence:
                await asyncio.sleep(options.hole_recheck_seconds)  # a writer is mid-commit
                continue
            if {e.id for e in read.entries if e.id <= snapshot.top} <= snapshot.present:
                return snapshot, LogCursor(snapshot.top, grace_seconds=options.hole_grace_seconds)
            break  # something committed below the top since: read the snapshot again
        else:
            return snapshot, cursor


async def project_events(
    client: ClientDep,
    options: OptionsDep,
    slots: SlotsDep,
    project_id: Annotated[uuid.UUID, Query(description="The project whose jobs to follow.")],
    job_type: JobTypeQuery = None,
    after: AfterQuery = None,
    last_event_id: LastEventIdHeader = None,
) -> Response:
    """Follow every job of a project as Server-Sent Events (ids: global event ids)."""
    position = resume_cursor(after, last_event_id)
    return await _follow_many(client, options, slots, project_id, job_type, position)


async def all_events(
    client: ClientDep,
    options: OptionsDep,
    slots: SlotsDep,
    project_id: Annotated[
        uuid.UUID | None, Query(description="Only this project's jobs (default: every job).")
    ] = None,
    job_type: JobTypeQuery = None,
    after: AfterQuery = None,
    last_event_id: LastEventIdHeader = None,
) -> Response:
    """Follow the status and progress of every job as Server-Sent Events, on one connection
    (ids: global event ids; a snapshot of the active jobs first, without a cursor)."""
    position = resume_cursor(after, last_event_id)
    return await _follow_many(client, options, slots, project_id, job_type, position, LIVE_KINDS)


async def _follow_many(
    client: JobClient,
    options: StreamOptions,
    slots: StreamSlots,
    project_id: uuid.UUID | None,
    job_type: str | None,
    position: int | None,
    kinds: frozenset[str] | None = None,
) -> Response:
    """A stream of many jobs' events from ``position`` (or a settled snapshot)."""
    release = slots.take(options)  # before the snapshot: a burst of connects counts too
    try:
        snapshot = None
        if position is None:
            snapshot, cursor = await settled_snapshot(client, project_id, job_type, options)
        else:
            cursor = LogCursor(position, grace_seconds=options.hole_grace_seconds)
    except BaseException:
        release()
        raise
    content = follow_project(client, project_id, job_type, cursor, snapshot, options, kinds)
    return _sse_response(content, options, release)


__all__ = [
    "LIVE_KINDS",
    "StreamOptions",
    "StreamSlots",
    "all_events",
    "follow_job",
    "follow_project",
    "job_events",
    "project_events",
    "resume_cursor",
    "stream_options",
]
