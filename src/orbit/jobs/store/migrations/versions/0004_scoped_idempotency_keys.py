"""Scoped idempotency keys: unique per (key, caller, job type), with a request fingerprint.

``jobs.idempotency_caller`` says who sent the key (existing keys become ``local``, the
in-process callers' scope) and ``jobs.idempotency_fingerprint`` the request it came with
(``NULL`` for existing keys: a repeat of one is taken as the same request).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_SCOPED = "uq_jobs_idempotency_key_caller_job_type"


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(
            sa.Column("idempotency_caller", sa.String(100), nullable=False, server_default="local")
        )
        batch.add_column(sa.Column("idempotency_fingerprint", sa.String(64), nullable=True))
    op.drop_index("uq_jobs_idempotency_key", table_name="jobs")
    op.create_index(
        _SCOPED, "jobs", ["idempotency_key", "idempotency_caller", "job_type"], unique=True
    )


def downgrade() -> None:
    # Keys now unique only within a scope may collide globally: keep the oldest of each.
    op.execute(
        "UPDATE jobs SET idempotency_key = NULL WHERE idempotency_key IS NOT NULL AND id NOT IN "
        "(SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY idempotency_key "
        "ORDER BY created_at, id) AS n FROM jobs WHERE idempotency_key IS NOT NULL) AS ranked "
        "WHERE n = 1)"
    )
    op.drop_index(_SCOPED, table_name="jobs")
    op.create_index("uq_jobs_idempotency_key", "jobs", ["idempotency_key"], unique=True)
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("idempotency_fingerprint")
        batch.drop_column("idempotency_caller")
