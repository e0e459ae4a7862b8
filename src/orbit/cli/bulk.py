"""``orbit jobs cancel`` and ``orbit jobs delete`` (one job, or every pending job a filter
selects), ``orbit jobs enqueue`` and ``orbit jobs stats``.

Enqueue applies the job type's defaults (``max_attempts``, ``timeout_seconds``) from the
registry that will run it: ``--app module:registry`` for an engine-only installation,
otherwise the Orbit application's own handlers.

Example:
    $ orbit jobs cancel --status pending --job-type backlog_generation
    $ orbit jobs delete --status pending --type hello
    $ orbit jobs enqueue hello --input '{"name": "Ada"}' --priority -5
    $ orbit jobs stats --json
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Iterator
from typing import Annotated

import typer

from orbit.cli.common import (
    CliSettings,
    DatabaseUrl,
    JsonOutput,
    build_settings,
    engine_errors,
    open_checked_store,
    opened_client,
    say,
    stdout,
)
from orbit.cli.registry import import_registry
from orbit.cli.render import dumps, job_to_dict
from orbit.cli.worker import EngineApp
from orbit.jobs import JobClient, JobFilter, JobStatus

OptionalJobId = Annotated[
    uuid.UUID | None,
    typer.Argument(
        help="One job's id (or select pending jobs with the filters).", show_default=False
    ),
]
BulkStatus = Annotated[
    JobStatus | None,
    typer.Option("--status", help="Select jobs in this status (pending only).", show_default=False),
]
TypeOption = Annotated[
    str | None,
    typer.Option("--job-type", "--type", help="Only jobs of this type.", show_default=False),
]
ProjectOption = Annotated[
    uuid.UUID | None, typer.Option("--project-id", help="Only this project's jobs.")
]
InputJson = Annotated[
    str, typer.Option("--input", help="The job's input: a JSON object.", show_default="{}")
]
QueueOption = Annotated[str, typer.Option("--queue", help="The named queue to run it on.")]
Priority = Annotated[int, typer.Option("--priority", help="Lower values run first.")]
IdempotencyKey = Annotated[
    str | None,
    typer.Option("--idempotency-key", help="Enqueue once per key.", show_default=False),
]


def cancel(
    job_id: OptionalJobId = None,
    status: BulkStatus = None,
    job_type: TypeOption = None,
    project_id: ProjectOption = None,
    json_output: JsonOutput = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Cancel one job (JOB_ID), or every pending job the filters select."""
    where = _selection(job_id, status, job_type, project_id, "cancel a running job by its JOB_ID")
    settings = build_settings(database_url=database_url)
    with engine_errors(), opened_client(settings) as client:
        if where is None:
            assert job_id is not None
            _cancel_one(client, job_id, json_output)
            return
        ids = client.cancel_pending(where)
    say(f"cancelled {len(ids)} pending job(s)")
    if json_output:
        typer.echo(dumps({"cancelled": [str(i) for i in ids]}))


def delete(
    job_id: OptionalJobId = None,
    status: BulkStatus = None,
    job_type: TypeOption = None,
    project_id: ProjectOption = None,
    json_output: JsonOutput = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Delete one finished job (JOB_ID), or every pending job the filters select."""
    where = _selection(
        job_id, status, job_type, project_id, "orbit jobs prune deletes finished ones"
    )
    settings = build_settings(database_url=database_url)
    with engine_errors(), opened_client(settings) as client:
        if where is None:
            assert job_id is not None
            client.delete(job_id)
            say(f"deleted job {job_id}")
            if json_output:
                typer.echo(dumps({"deleted": str(job_id)}))
            return
        deleted = client.delete_pending(where)
    say(f"deleted {deleted} pending job(s)")
    if json_output:
        typer.echo(dumps({"deleted": deleted}))


def _selection(
    job_id: uuid.UUID | None,
    status: JobStatus | None,
    job_type: str | None,
    project_id: uuid.UUID | None,
    otherwise: str,
) -> JobFilter | None:
    """The pending jobs the filters select, or ``None`` when one JOB_ID was given."""
    filtered = status is not None or job_type is not None or project_id is not None
    if (job_id is None) == (not filtered):
        raise typer.BadParameter("give either JOB_ID or filters (--status pending, --job-type…)")
    if status not in (None, JobStatus.PENDING):
        raise typer.BadParameter(
            f"only pending jobs are selected in bulk, not {status.value if status else ''} ones "
            f"({otherwise})",
            param_hint="--status",
        )
    return None if job_id is not None else JobFilter(job_type=job_type, project_id=project_id)


def _cancel_one(client: JobClient, job_id: uuid.UUID, json_output: bool) -> None:
    job = client.cancel(job_id)
    if job.status is JobStatus.CANCELLED:
        say(f"job {job.id} cancelled")
    else:
        say(f"cancel requested for job {job.id}; its worker will stop it")
    if json_output:
        typer.echo(dumps(job_to_dict(job)))


def enqueue(
    job_type: Annotated[str, typer.Argument(help="The job type.", show_default=False)],
    input_json: InputJson = "{}",
    priority: Priority = 0,
    queue: QueueOption = "default",
    project_id: ProjectOption = None,
    idempotency_key: IdempotencyKey = None,
    app: EngineApp = None,
    json_output: JsonOutput = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Enqueue one job of JOB_TYPE and print its id."""
    try:
        input_data = json.loads(input_json)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"not JSON: {exc}", param_hint="--input") from None
    if not isinstance(input_data, dict):
        raise typer.BadParameter("must be a JSON object", param_hint="--input")
    settings = build_settings(database_url=database_url)
    with engine_errors(), _client_for(settings, app) as client:
        job = client.enqueue(
            job_type,
            input_data,
            priority=priority,
            queue=queue,
            project_id=project_id,
            idempotency_key=idempotency_key,
        )
    say(f"enqueued {job.job_type} job {job.id} ({job.status.value})")
    typer.echo(dumps(job_to_dict(job)) if json_output else str(job.id))


@contextlib.contextmanager
def _client_for(settings: CliSettings, app: str | None) -> Iterator[JobClient]:
    """A client that knows the job types' defaults: ``app``'s registry, or the Orbit app's."""
    if app is not None:
        registry = import_registry(app)
        store = open_checked_store(settings)
        try:
            yield JobClient(store, registry)
        finally:
            store.close()
        return
    open_checked_store(settings).close()  # a bad URL is a usage error, said early
    from orbit.runtime import Runtime

    runtime = Runtime(settings)
    try:
        yield runtime.client
    finally:
        asyncio.run(runtime.aclose())


def stats(
    job_type: TypeOption = None,
    project_id: ProjectOption = None,
    json_output: JsonOutput = False,
    database_url: DatabaseUrl = None,
) -> None:
    """How many jobs are in each status (optionally of one type or project)."""
    settings = build_settings(database_url=database_url)
    with engine_errors(), opened_client(settings) as client:
        counts = client.count_by_status(JobFilter(job_type=job_type, project_id=project_id))
    document = {status.value: n for status, n in counts.items()}
    document["total"] = sum(counts.values())
    if json_output:
        typer.echo(dumps(document))
        return
    console = stdout()
    for name, n in document.items():
        console.print(f"{name:<10} {n:>8}", markup=False)
