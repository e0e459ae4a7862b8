"""AI calls record whether their token counts were estimated, and the structured mode used.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 15:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ai_calls") as batch:
        batch.add_column(
            sa.Column("estimated", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("mode", sa.String(20), nullable=True))
        batch.add_column(sa.Column("finish_reason", sa.String(30), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ai_calls") as batch:
        batch.drop_column("finish_reason")
        batch.drop_column("mode")
        batch.drop_column("estimated")
