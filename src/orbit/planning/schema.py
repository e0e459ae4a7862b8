"""The Orbit app's tables: projects, interviews, the backlog, executions, commits, workspaces.

App rows hold domain data and point at the ``job_id`` that produced them; job status lives
only in the engine's ``jobs`` table, never here. ``job_id`` is a plain column, not a foreign
key: finished jobs are pruned, the data they produced stays.
"""

from __future__ import annotations

import sqlalchemy as sa

from orbit.jobs.store.schema import NAMING_CONVENTION, JSONType, UTCDateTime

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

KINDS = ("epic", "story", "task", "subtask")
ITEM_STATUSES = ("suggested", "active", "done")
ROLES = ("assistant", "user")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


projects = sa.Table(
    "projects",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("description", sa.Text(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

interviews = sa.Table(
    "interviews",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column(
        "project_id",
        sa.Uuid(),
        sa.ForeignKey("projects.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

interview_messages = sa.Table(
    "interview_messages",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column(
        "interview_id",
        sa.Uuid(),
        sa.ForeignKey("interviews.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("content", sa.Text(), nullable=False),
    sa.Column("job_id", sa.Uuid(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint(_in("role", ROLES), name="role"),
    sa.UniqueConstraint("interview_id", "position"),
)

backlog_items = sa.Table(
    "backlog_items",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column(
        "project_id",
        sa.Uuid(),
        sa.ForeignKey("projects.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("interview_id", sa.Uuid(), nullable=True),
    sa.Column(
        "parent_id",
        sa.Uuid(),
        sa.ForeignKey("backlog_items.id", ondelete="CASCADE"),
        nullable=True,
        index=True,
    ),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("description", sa.Text(), nullable=False, server_default=""),
    sa.Column("details", JSONType, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("position", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("job_id", sa.Uuid(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint(_in("kind", KINDS), name="kind"),
    sa.CheckConstraint(_in("status", ITEM_STATUSES), name="status"),
)

task_executions = sa.Table(
    "task_executions",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column(
        "item_id",
        sa.Uuid(),
        sa.ForeignKey("backlog_items.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("output", sa.Text(), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("tokens_in", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("tokens_out", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("job_id", sa.Uuid(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

commits = sa.Table(
    "commits",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column(
        "project_id",
        sa.Uuid(),
        sa.ForeignKey("projects.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column(
        "item_id", sa.Uuid(), sa.ForeignKey("backlog_items.id", ondelete="SET NULL"), nullable=True
    ),
    sa.Column("message", sa.String(300), nullable=False),
    sa.Column("body", sa.Text(), nullable=False, server_default=""),
    sa.Column("job_id", sa.Uuid(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

workspaces = sa.Table(
    "workspaces",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column(
        "project_id",
        sa.Uuid(),
        sa.ForeignKey("projects.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    sa.Column("stack", sa.String(50), nullable=False),
    sa.Column("path", sa.Text(), nullable=False),
    sa.Column("job_id", sa.Uuid(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

ai_calls = sa.Table(
    "ai_calls",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("job_id", sa.Uuid(), nullable=True, index=True),
    sa.Column("provider", sa.String(50), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("prompt_name", sa.String(100), nullable=False),
    sa.Column("operation", sa.String(50), nullable=False),
    sa.Column("tokens_in", sa.Integer(), nullable=False),
    sa.Column("tokens_out", sa.Integer(), nullable=False),
    sa.Column("latency_ms", sa.Float(), nullable=False),
    sa.Column("ok", sa.Boolean(), nullable=False),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="1"),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    # True when the server reported no usage and the counts are orbit.ai's estimate.
    sa.Column("estimated", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("mode", sa.String(20), nullable=True),
    sa.Column("finish_reason", sa.String(30), nullable=True),
)
