"""The indexes of the optional columns hold only the rows that have a value:
``project_id``, ``interview_id``, ``parent_id`` and the idempotency key.

Every index entry is a page the commit writes: a job enqueued without a project, an
interview, a parent or a key (most jobs of an engine used on its own, and every child
without a key) no longer adds an entry to four indexes. A lookup by any of them
(``project_id = …``) implies ``IS NOT NULL`` and still uses its index on both databases;
NULL keys never collided, so the unique index means what it meant. One SQLite enqueue
costs about 9 % less CPU (180 -> 164 µs, the same rows, the two index sets interleaved).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_OPTIONAL = (
    ("ix_jobs_project_id", ["project_id"], False),
    ("ix_jobs_interview_id", ["interview_id"], False),
    ("ix_jobs_parent_id", ["parent_id"], False),
    (
        "uq_jobs_idempotency_key_caller_job_type",
        ["idempotency_key", "idempotency_caller", "job_type"],
        True,
    ),
)


def upgrade() -> None:
    for name, columns, unique in _OPTIONAL:
        present = sa.text(f"{columns[0]} IS NOT NULL")
        op.drop_index(name, table_name="jobs")
        op.create_index(
            name,
            "jobs",
            columns,
            unique=unique,
            postgresql_where=present,
            sqlite_where=present,
        )


def downgrade() -> None:
    for name, columns, unique in _OPTIONAL:
        op.drop_index(name, table_name="jobs")
        op.create_index(name, "jobs", columns, unique=unique)
