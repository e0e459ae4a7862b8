"""Named queues: ``jobs.queue`` (default ``default``), first column of the claim index.

A worker claims from the queues it serves; priorities order the jobs within a queue.
Existing jobs land in ``default``, which a worker without ``queues`` serves as before.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_PENDING = sa.text("status = 'pending'")


def _claim_index(*columns: str) -> None:
    op.drop_index("ix_jobs_claim", table_name="jobs")
    op.create_index(
        "ix_jobs_claim", "jobs", list(columns), postgresql_where=_PENDING, sqlite_where=_PENDING
    )


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(
            sa.Column("queue", sa.String(100), nullable=False, server_default="default")
        )
    _claim_index("queue", "priority", "run_at", "id")


def downgrade() -> None:
    _claim_index("priority", "run_at", "id")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("queue")
