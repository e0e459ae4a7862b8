"""Provisioning's reads: a project's workspace row."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orbit.planning.schema import workspaces


def workspace_of(conn: Connection, project_id: uuid.UUID) -> dict[str, Any] | None:
    """The project's workspace row, if it has one."""
    row = conn.execute(
        sa.select(workspaces).where(workspaces.c.project_id == project_id)
    ).one_or_none()
    return dict(row._mapping) if row else None
