"""Error codes: ``jobs.error_code`` (VARCHAR(64), nullable) beside the ``error`` message.

A machine-readable reason (``timed_out``, ``worker_lost``, ``ai_rate_limited``...) for
clients that branch on why a job failed. Free text, not an ENUM: a handler may bring its
own codes. Existing jobs keep ``NULL``.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("error_code", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("error_code")
