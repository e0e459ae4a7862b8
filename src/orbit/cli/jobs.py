"""``orbit jobs``: list, show, watch, cancel, retry, delete and prune jobs.

These commands talk to the database directly through ``JobClient``; no server is needed.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Annotated

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


def watch(job_id: JobId, database_url: DatabaseUrl = None) -> None:
    """Follow a job with a live progress bar; exit 0 when it completes, 1 otherwise.

    The job's result is printed as JSON on stdout when it completes.
    """
    settings = build_settings(database_url=database_url)
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
