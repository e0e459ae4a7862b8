"""How jobs look: JSON documents for scripts, rich tables for people, a live progress bar."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import uuid
from types import TracebackType
from typing import Any

from rich import box
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from orbit.cli.common import stderr
from orbit.jobs import Job, JobEvent, JobStatus

LONG_TIME = "%Y-%m-%d %H:%M:%S"
SHORT_TIME = "%m-%d %H:%M"
HIDDEN_FIELDS = frozenset({"lease_token"})
STATUS_STYLES = {
    JobStatus.PENDING: "yellow",
    JobStatus.RUNNING: "cyan",
    JobStatus.COMPLETED: "green",
    JobStatus.FAILED: "red",
    JobStatus.CANCELLED: "magenta",
}


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def job_to_dict(job: Job) -> dict[str, Any]:
    """A job as JSON-ready data (the lease token stays private), ``error_code`` after ``error``."""
    names = [f.name for f in dataclasses.fields(job) if f.name not in HIDDEN_FIELDS]
    names.remove("error_code")
    names.insert(names.index("error") + 1, "error_code")
    return {name: _plain(getattr(job, name)) for name in names}


def error_text(job: Job) -> str:
    """The job's error, led by its code when it has one: ``ai_auth: the key was refused``."""
    return f"{job.error_code}: {job.error}" if job.error_code else str(job.error)


def event_to_dict(event: JobEvent) -> dict[str, Any]:
    """An event as JSON-ready data."""
    return {f.name: _plain(getattr(event, f.name)) for f in dataclasses.fields(event)}


def dumps(document: Any) -> str:
    """One indented JSON document."""
    return json.dumps(document, indent=2, default=str, ensure_ascii=False)


def _when(value: dt.datetime | None, layout: str = LONG_TIME) -> Text:
    return Text(value.astimezone().strftime(layout) if value else "-")


def _status(status: JobStatus) -> Text:
    return Text(status.value, style=STATUS_STYLES[status])


def _progress(job: Job) -> Text:
    if job.status is JobStatus.FAILED and job.error:
        return Text(error_text(job), style="red")
    percent = "" if job.progress_percent is None else f"{job.progress_percent:.0f}% "
    return Text(f"{percent}{job.progress_message or ''}".strip() or "-")


def jobs_table(jobs: list[Job]) -> Table:
    """One row per job, newest first."""
    table = Table(box=None, padding=(0, 2, 0, 0), header_style="bold")
    table.add_column("ID", no_wrap=True, min_width=36)
    table.add_column("TYPE", overflow="fold", min_width=6)
    table.add_column("STATUS", no_wrap=True)
    table.add_column("CREATED", no_wrap=True)
    table.add_column("PROGRESS", overflow="fold", min_width=8)
    for job in jobs:
        table.add_row(
            Text(str(job.id)),
            Text(job.job_type),
            _status(job.status),
            _when(job.created_at, SHORT_TIME),
            _progress(job),
        )
    return table


def job_table(job: Job) -> Table:
    """Every field of one job, one per row."""
    table = Table(show_header=False, show_edge=False, pad_edge=False, box=None)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for name, value in job_to_dict(job).items():
        if name == "status":
            table.add_row(name, _status(job.status))
            continue
        shown = "-" if value is None else value
        if isinstance(shown, dict | list):
            shown = json.dumps(shown, default=str, ensure_ascii=False)
        table.add_row(name, Text(str(shown)))
    return table


def events_table(events: list[JobEvent]) -> Table:
    """A job's event log, oldest first."""
    table = Table(title="events", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("SEQ", justify="right", no_wrap=True)
    table.add_column("AT", no_wrap=True)
    table.add_column("KIND", no_wrap=True)
    table.add_column("DETAILS", overflow="fold")
    for event in events:
        details = json.dumps(dict(event.payload), default=str, ensure_ascii=False)
        table.add_row(str(event.seq), _when(event.created_at), Text(event.kind), Text(details))
    return table


class JobProgress:
    """A live progress bar on stderr that follows one job's events."""

    def __init__(self, job: Job) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[status]}", markup=False),
            TextColumn("{task.fields[message]}", markup=False),
            TimeElapsedColumn(),
            console=stderr(),
        )
        self._task = self._progress.add_task(
            job.job_type, total=100, status=job.status.value, message=""
        )
        self.show(job)

    def __enter__(self) -> JobProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def show(self, job: Job) -> None:
        """Show the job as read from the store."""
        completed = 100.0 if job.status is JobStatus.COMPLETED else job.progress_percent
        self._update(completed, job.progress_message or job.error, job.status.value)

    def apply(self, event: JobEvent) -> None:
        """Show one new event."""
        payload = event.payload
        if event.kind == "progress":
            self._update(payload.get("percent"), payload.get("message"), None)
        elif event.kind == "status":
            status = str(payload.get("status", ""))
            self._update(100.0 if status == "completed" else None, payload.get("error"), status)
        elif event.kind == "cancel_requested":
            self._update(None, "cancel requested", None)

    def _update(self, percent: Any, message: Any, status: str | None) -> None:
        fields: dict[str, Any] = {}
        if percent is not None:
            fields["completed"] = float(percent)
        if message is not None:
            fields["message"] = str(message)
        if status is not None:
            fields["status"] = status
        self._progress.update(self._task, **fields)
