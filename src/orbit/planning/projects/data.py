"""Projects' reads: a project (or 404), what the AI is told about it, its backlog tree."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orbit.planning.records import one_or_not_found
from orbit.planning.schema import backlog_items, projects


def load_project(conn: Connection, project_id: uuid.UUID) -> dict[str, Any]:
    """The project row, or ``NotFound``."""
    return one_or_not_found(conn, projects, project_id, "project")


def project_idea(project: dict[str, Any]) -> str:
    """What the AI is told about the product: the project's name and description."""
    description = (project.get("description") or "").strip()
    return f"{project['name']}: {description}" if description else str(project["name"])


def backlog_tree(conn: Connection, project_id: uuid.UUID) -> list[dict[str, Any]]:
    """The project's backlog: top-level items (epics) with their children, by position."""
    rows = conn.execute(
        sa.select(backlog_items)
        .where(backlog_items.c.project_id == project_id)
        .order_by(backlog_items.c.position, backlog_items.c.created_at, backlog_items.c.id)
    ).all()
    children: dict[uuid.UUID | None, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        children[row.parent_id].append(_item_view(row._mapping))
    for siblings in children.values():
        for item in siblings:
            item["children"] = children.get(item["id"], [])
    return children.get(None, [])


def _item_view(row: Any) -> dict[str, Any]:
    keys = ("id", "kind", "title", "description", "status", "details", "position")
    return {key: row[key] for key in keys}
