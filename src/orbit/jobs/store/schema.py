"""The engine's tables, declared once with SQLAlchemy Core.

``jobs`` holds one row per job (the seeds' AsyncJob fields plus leases, attempts and a
``version`` that bumps on every client-visible change). ``job_events`` is an append-only
log: every status change and progress update adds a row whose ``seq`` equals the job's
new ``version``, so a reader can resume from any sequence number; its ``id`` grows
across all jobs and is never reused, so a reader of many jobs can resume from it.

Job types are free strings (an open registry), and status is text with a CHECK
constraint: adding a job type or a status never needs an ENUM migration.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

from orbit.jobs.states import JobStatus

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(sa.TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on every database (SQLite stores naive UTC text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not accepted; pass UTC-aware values")
        # SQLite's DATETIME drops the offset when it renders text, so normalise first.
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
EventId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_STATUSES = ", ".join(f"'{s.value}'" for s in JobStatus)


def _present_only(name: str, *columns: str, unique: bool = False) -> sa.Index:
    """An index of the rows whose first column has a value (both databases)."""
    present = sa.text(f"{columns[0]} IS NOT NULL")
    return sa.Index(name, *columns, unique=unique, postgresql_where=present, sqlite_where=present)


jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("job_type", sa.String(100), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("input_data", JSONType, nullable=False),
    sa.Column("result", JSONType, nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
    # A machine-readable reason beside ``error`` (``timed_out``, ``ai_auth``...): free text,
    # like job types, so a new code never needs a migration.
    sa.Column("error_code", sa.String(64), nullable=True),
    sa.Column("progress_percent", sa.Float(), nullable=True),
    sa.Column("progress_message", sa.String(500), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=True),
    sa.Column("completed_at", UTCDateTime(), nullable=True),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("project_id", sa.Uuid(), nullable=True),
    sa.Column("interview_id", sa.Uuid(), nullable=True),
    sa.Column("parent_id", sa.Uuid(), nullable=True),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("max_attempts", sa.Integer(), nullable=False, server_default="3"),
    sa.Column("priority", sa.Integer(), nullable=False, server_default="0"),
    # Named queues: a worker serves some of them; priorities order jobs within each.
    sa.Column("queue", sa.String(100), nullable=False, server_default="default"),
    sa.Column("run_at", UTCDateTime(), nullable=False),
    sa.Column("timeout_seconds", sa.Float(), nullable=True),
    sa.Column("worker_id", sa.String(200), nullable=True),
    sa.Column("lease_token", sa.Uuid(), nullable=True),
    sa.Column("lease_expires_at", UTCDateTime(), nullable=True),
    sa.Column("cancel_requested_at", UTCDateTime(), nullable=True),
    sa.Column("idempotency_key", sa.String(200), nullable=True),
    sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
    # An idempotency key is scoped to whoever sent it and to the job type; the fingerprint
    # of the request it came with tells a repeat from a different request reusing it.
    sa.Column("idempotency_caller", sa.String(100), nullable=False, server_default="local"),
    sa.Column("idempotency_fingerprint", sa.String(64), nullable=True),
    sa.CheckConstraint(f"status IN ({_STATUSES})", name="status"),
    sa.CheckConstraint(
        "progress_percent IS NULL OR (progress_percent >= 0 AND progress_percent <= 100)",
        name="progress_percent",
    ),
    sa.CheckConstraint("attempts >= 0 AND max_attempts >= 1", name="attempts"),
    sa.Index("ix_jobs_job_type", "job_type"),
    sa.Index("ix_jobs_status", "status"),
    # The optional columns' indexes hold only rows with a value (0008): an entry is a
    # page each commit writes, and a lookup by value implies IS NOT NULL.
    _present_only("ix_jobs_project_id", "project_id"),
    _present_only("ix_jobs_interview_id", "interview_id"),
    _present_only("ix_jobs_parent_id", "parent_id"),
    sa.Index("ix_jobs_created_at_id", "created_at", "id"),
    # Key first: the replay lookup reads by (key, caller); uniqueness adds the job type.
    _present_only(
        "uq_jobs_idempotency_key_caller_job_type",
        "idempotency_key",
        "idempotency_caller",
        "job_type",
        unique=True,
    ),
    # The claim query reads only pending rows of its queues in this order (lower priority
    # value runs first, then the earliest run_at); keep that index small.
    sa.Index(
        "ix_jobs_claim",
        "queue",
        "priority",
        "run_at",
        "id",
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    ),
    # The same order across every queue, for workers that serve them all (no queue filter).
    sa.Index(
        "ix_jobs_claim_any_queue",
        "priority",
        "run_at",
        "id",
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    ),
    # The reaper scans running rows by lease expiry.
    sa.Index(
        "ix_jobs_lease_expires_at",
        "lease_expires_at",
        postgresql_where=sa.text("status = 'running'"),
        sqlite_where=sa.text("status = 'running'"),
    ),
)

job_events = sa.Table(
    "job_events",
    metadata,
    sa.Column("id", EventId, primary_key=True, autoincrement=True),
    sa.Column(
        "job_id",
        sa.Uuid(),
        sa.ForeignKey("jobs.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("payload", JSONType, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("job_id", "seq"),
    # A project's next event after a cursor, per job (``store/log.py``, ``read_start``).
    sa.Index("ix_job_events_job_id_id", "job_id", "id"),
    # Ids are stream cursors (``/jobs/events``): SQLite must never hand out an id again
    # after the newest events were deleted, which plain rowids would do.
    sqlite_autoincrement=True,
)
