"""SQLite: job_events ids are never reused (AUTOINCREMENT).

A plain SQLite rowid is ``max(id) + 1``: after the newest events are deleted (a finished
job deleted or pruned) the next event would get an id that a stream reader may already
have passed. PostgreSQL sequences never go back, so nothing changes there.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "job_events", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
    ):
        pass


def upgrade() -> None:
    _rebuild(autoincrement=True)


def downgrade() -> None:
    _rebuild(autoincrement=False)
