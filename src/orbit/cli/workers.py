"""``orbit workers``: which workers are alive, read from the leases of running jobs.

A worker that holds a job heartbeats its lease; a lease that has not expired is a worker
that was alive at its last heartbeat. The simplest honest answer needs no table of its
own, with one limit said on every output: an idle worker holds no lease, so it is not
seen here (``orbit jobs stats`` shows whether work is waiting).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import typer
from rich.table import Table

from orbit.cli.common import (
    DatabaseUrl,
    JsonOutput,
    build_settings,
    engine_errors,
    opened_client,
    say,
    stdout,
)
from orbit.cli.render import dumps
from orbit.jobs import Job, JobClient, JobFilter, JobStatus

PAGE = 1000
IDLE_NOTE = "workers without a running job hold no lease and are not listed"


def workers(json_output: JsonOutput = False, database_url: DatabaseUrl = None) -> None:
    """List the workers running jobs now: jobs held, latest lease expiry, alive or not."""
    settings = build_settings(database_url=database_url)
    with engine_errors(), opened_client(settings) as client:
        found = _by_worker(_running(client), dt.datetime.now(dt.UTC))
    if json_output:
        typer.echo(dumps({"workers": found, "note": IDLE_NOTE}))
        return
    table = Table("worker", "running jobs", "lease expires", "alive", box=None)
    for entry in found:
        table.add_row(
            entry["worker_id"],
            str(entry["running_jobs"]),
            entry["lease_expires_at"],
            "yes" if entry["alive"] else "no (lease expired; the reaper will reclaim)",
        )
    stdout().print(table)
    say(f"{len(found)} worker(s) holding leases; {IDLE_NOTE}")


def _running(client: JobClient) -> list[Job]:
    jobs: list[Job] = []
    cursor = None
    while True:
        page = client.list(JobFilter(status=JobStatus.RUNNING), PAGE, cursor)
        jobs.extend(page.items)
        if page.next_cursor is None:
            return jobs
        cursor = page.next_cursor


def _by_worker(jobs: list[Job], now: dt.datetime) -> list[dict[str, Any]]:
    grouped: dict[str, list[Job]] = {}
    for job in jobs:
        grouped.setdefault(job.worker_id or "(unknown)", []).append(job)
    found = []
    for worker_id, held in sorted(grouped.items()):
        expiry = max((j.lease_expires_at for j in held if j.lease_expires_at), default=None)
        found.append(
            {
                "worker_id": worker_id,
                "running_jobs": len(held),
                "lease_expires_at": expiry.isoformat() if expiry else None,
                "alive": expiry is not None and expiry > now,
            }
        )
    return found
