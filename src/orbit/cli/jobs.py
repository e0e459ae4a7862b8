"""``orbit jobs``: list, show, watch, cancel, retry, delete and prune jobs.

These commands talk to the database directly through ``JobClient``; no server is needed.
``watch`` follows the job through the server's event stream (``--url``) when the server
answers, and falls back to reading the database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Annotated, Any

import httpx
import typer
from rich.console import Group

from orbit.cli.common import (
    EXIT_FAILURE,
    EXIT_USAGE,
    DatabaseUrl,
    JsonOutput,
    build_settings,
    engine_errors,
    fail,
    opened_client,
    say,
    stdout,
)
from orbit.cli.render import (
    JobProgress,
    dumps,
    event_to_dict,
    events_table,
    job_table,
    job_to_dict,
    jobs_table,
)
from orbit.jobs import TERMINAL, Job, JobClient, JobEvent, JobFilter, JobStatus

WATCH_INTERVAL_SECONDS = 0.2
WATCH_REFRESH_SECONDS = 2.0
EVENT_PAGE = 1000
DEFAULT_URL = "http://127.0.0.1:8000"
STREAM_READ_TIMEOUT_SECONDS = 60.0  # the server sends a keep-alive comment every 15 s
STREAM_RETRIES = 5

JobId = Annotated[
    uuid.UUID, typer.Argument(help="The job's id.", metavar="JOB_ID", show_default=False)
]
StatusFilter = Annotated[
    JobStatus | None, typer.Option("--status", help="Only jobs in this status.", show_default=False)
]
TypeFilter = Annotated[
    str | None, typer.Option("--job-type", help="Only jobs of this type.", show_default=False)
]
ProjectFilter = Annotated[
    uuid.UUID | None, typer.Option("--project-id", help="Only this project's jobs.")
]
Limit = Annotated[int, typer.Option("--limit", min=1, max=1000, help="At most this many jobs.")]
Cursor = Annotated[
    str | None, typer.Option("--cursor", help="Continue a previous listing.", show_default=False)
]
OlderThan = Annotated[
    float | None,
    typer.Option(
        "--older-than",
        min=0,
        envvar="ORBIT_RETENTION_SECONDS",
        help="Seconds since the job finished",
        show_default="the retention setting, one day",
    ),
]
ServerUrl = Annotated[
    str,
    typer.Option(
        "--url",
        envvar="ORBIT_URL",
        help="The Orbit server whose event stream to follow; the database is read directly "
        "when it is unreachable",
    ),
]
ApiToken = Annotated[
    str | None,
    typer.Option(
        "--token", envvar="ORBIT_API_TOKEN", help="The server's API token", show_default=False
    ),
]
PruneStatuses = Annotated[
    list[JobStatus] | None,
    typer.Option("--status", help="Only these statuses (repeatable)", show_default="all finished"),
]


def build() -> typer.Typer:
    """The ``jobs`` command group."""
    app = typer.Typer(help="Inspect and steer jobs.", no_args_is_help=True)
    app.command("list")(list_jobs)
    for command in (show, watch, cancel, retry, delete, prune):
        app.command()(command)
    return app


def list_jobs(
    status: StatusFilter = None,
    job_type: TypeFilter = None,
    project_id: ProjectFilter = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    json_output: JsonOutput = False,
    database_url: DatabaseUrl = None,
) -> None:
    """List jobs, newest first."""
    settings = build_settings(database_url=database_url)
    where = JobFilter(status=status, job_type=job_type, project_id=project_id)
    with engine_errors(), opened_client(settings) as client:
        try:
            page = client.list(where, limit, cursor)
        except ValueError as exc:
            fail(str(exc), EXIT_USAGE)
    if json_output:
        items = [job_to_dict(job) for job in page.items]
        typer.echo(dumps({"items": items, "next_cursor": page.next_cursor}))
        return
    stdout().print(jobs_table(page.items))
    say(f"{len(page.items)} job(s)")
    if page.next_cursor:
        say(f"more: --cursor {page.next_cursor}")


def _all_events(client: JobClient, job_id: uuid.UUID) -> list[JobEvent]:
    events: list[JobEvent] = []
    while True:
        page = client.events(job_id, after=events[-1].seq if events else 0, limit=EVENT_PAGE)
        events.extend(page)
        if len(page) < EVENT_PAGE:
            return events


def show(job_id: JobId, json_output: JsonOutput = False, database_url: DatabaseUrl = None) -> None:
    """Show one job and its events."""
    settings = build_settings(database_url=database_url)
    with engine_errors(), opened_client(settings) as client:
        job = client.get(job_id)
        events = _all_events(client, job_id)
    if json_output:
        typer.echo(dumps({**job_to_dict(job), "events": [event_to_dict(e) for e in events]}))
        return
    stdout().print(Group(job_table(job), "", events_table(events)))


def follow(client: JobClient, job_id: uuid.UUID, view: JobProgress) -> Job:
    """Poll the job's events until it finishes; returns the finished job."""
    job = client.get(job_id)
    seq = job.version
    view.show(job)
    refreshed = time.monotonic()
    while not job.finished:
        time.sleep(WATCH_INTERVAL_SECONDS)
        events = client.events(job_id, after=seq)
        for event in events:
            view.apply(event)
            seq = event.seq
        stale = time.monotonic() - refreshed > WATCH_REFRESH_SECONDS
        if stale or any(event.kind == "status" for event in events):
            job = client.get(job_id)
            refreshed = time.monotonic()
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


def _watch_server(url: str, token: str | None, job_id: uuid.UUID) -> Job:
    with _http(url, token) as http:
        job = _server_job(http, job_id)
        with JobProgress(job) as view:
            return follow_stream(http, job_id, view)


def watch(
    job_id: JobId,
    database_url: DatabaseUrl = None,
    url: ServerUrl = DEFAULT_URL,
    token: ApiToken = None,
) -> None:
    """Follow a job with a live progress bar; exit 0 when it completes, 1 otherwise.

    Follows the server's event stream (--url); reads the database when the server is not
    reachable. The job's result is printed as JSON on stdout when it completes.
    """
    settings = build_settings(database_url=database_url)
    try:
        job = _watch_server(url, token, job_id)
    except ServerUnavailable as exc:
        say(f"{url}: {exc}; reading the database directly")
        with (
            engine_errors(),
            opened_client(settings) as client,
            JobProgress(client.get(job_id)) as view,
        ):
            job = follow(client, job_id, view)
    took = ""
    if job.started_at and job.completed_at:
        took = f" in {(job.completed_at - job.started_at).total_seconds():.1f}s"
    if job.status is not JobStatus.COMPLETED:
        reason = f": {job.error}" if job.error else ""
        say(f"job {job.id} {job.status.value}{took}{reason}")
        raise typer.Exit(EXIT_FAILURE)
    say(f"job {job.id} completed{took}")
    typer.echo(dumps(job.result))


def cancel(
    job_id: JobId, json_output: JsonOutput = False, database_url: DatabaseUrl = None
) -> None:
    """Cancel a pending job, or ask a running one to stop."""
    settings = build_settings(database_url=database_url)
    with engine_errors(), opened_client(settings) as client:
        job = client.cancel(job_id)
    if job.status is JobStatus.CANCELLED:
        say(f"job {job.id} cancelled")
    else:
        say(f"cancel requested for job {job.id}; its worker will stop it")
    if json_output:
        typer.echo(dumps(job_to_dict(job)))


def retry(job_id: JobId, json_output: JsonOutput = False, database_url: DatabaseUrl = None) -> None:
    """Send a failed or cancelled job back to pending."""
    settings = build_settings(database_url=database_url)
    with engine_errors(), opened_client(settings) as client:
        job = client.retry(job_id)
    say(f"job {job.id} is pending again (attempts {job.attempts} of {job.max_attempts})")
    if json_output:
        typer.echo(dumps(job_to_dict(job)))


def delete(
    job_id: JobId, json_output: JsonOutput = False, database_url: DatabaseUrl = None
) -> None:
    """Delete a finished job and its events."""
    settings = build_settings(database_url=database_url)
    with engine_errors(), opened_client(settings) as client:
        client.delete(job_id)
    say(f"deleted job {job_id}")
    if json_output:
        typer.echo(dumps({"deleted": str(job_id)}))


def prune(
    older_than: OlderThan = None,
    statuses: PruneStatuses = None,
    job_type: TypeFilter = None,
    json_output: JsonOutput = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Delete finished jobs that finished more than --older-than seconds ago."""
    unfinished = [s.value for s in statuses or () if s not in TERMINAL]
    if unfinished:
        raise typer.BadParameter(
            f"only finished jobs can be pruned, not {', '.join(unfinished)}", param_hint="--status"
        )
    settings = build_settings(database_url=database_url, retention_seconds=older_than)
    age = dt.timedelta(seconds=settings.retention_seconds)
    with engine_errors(), opened_client(settings) as client:
        deleted = client.prune(age, statuses or tuple(TERMINAL), job_type)
    say(f"pruned {deleted} job(s) finished more than {age.total_seconds():g}s ago")
    if json_output:
        typer.echo(dumps({"deleted": deleted}))
