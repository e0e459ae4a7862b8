"""``orbit jobs``: list, show, watch, cancel, retry, delete, prune, enqueue and count jobs.

These commands talk to the database directly through ``JobClient``; no server is needed.
``watch`` follows the job through the server's event stream (``--url``) when the server
answers, and falls back to the database, woken by the store's change feed
(``follow.py`` holds both followers).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import typer
from rich.console import Group

from orbit.cli import bulk
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
from orbit.cli.follow import ServerUnavailable, follow_database, watch_server
from orbit.cli.render import (
    JobProgress,
    dumps,
    error_text,
    event_to_dict,
    events_table,
    job_table,
    job_to_dict,
    jobs_table,
)
from orbit.jobs import TERMINAL, JobClient, JobEvent, JobFilter, JobStatus

EVENT_PAGE = 1000
DEFAULT_URL = "http://127.0.0.1:8000"

JobId = Annotated[
    uuid.UUID, typer.Argument(help="The job's id.", metavar="JOB_ID", show_default=False)
]
StatusFilter = Annotated[
    JobStatus | None, typer.Option("--status", help="Only jobs in this status.", show_default=False)
]
TypeFilter = Annotated[
    str | None,
    typer.Option("--job-type", "--type", help="Only jobs of this type.", show_default=False),
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
    for command in (show, watch, bulk.cancel, retry, bulk.delete, prune, bulk.enqueue, bulk.stats):
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
        job = watch_server(url, token, job_id)
    except ServerUnavailable as exc:
        say(f"{url}: {exc}; reading the database directly")
        with (
            engine_errors(),
            opened_client(settings) as client,
            JobProgress(client.get(job_id)) as view,
        ):
            job = follow_database(client, job_id, view)
    took = ""
    if job.started_at and job.completed_at:
        took = f" in {(job.completed_at - job.started_at).total_seconds():.1f}s"
    if job.status is not JobStatus.COMPLETED:
        reason = f": {error_text(job)}" if job.error else ""
        say(f"job {job.id} {job.status.value}{took}{reason}")
        raise typer.Exit(EXIT_FAILURE)
    say(f"job {job.id} completed{took}")
    typer.echo(dumps(job.result))


def retry(job_id: JobId, json_output: JsonOutput = False, database_url: DatabaseUrl = None) -> None:
    """Send a failed or cancelled job back to pending."""
    settings = build_settings(database_url=database_url)
    with engine_errors(), opened_client(settings) as client:
        job = client.retry(job_id)
    say(f"job {job.id} is pending again (attempts {job.attempts} of {job.max_attempts})")
    if json_output:
        typer.echo(dumps(job_to_dict(job)))


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
