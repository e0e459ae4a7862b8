"""Data access for backlog items and their executions, shared by the tasks and commits areas.

Plain synchronous functions over a SQLAlchemy ``Connection``: routes call them in FastAPI's
thread pool, job handlers through ``asyncio.to_thread`` or inside ``ctx.step``. Rule checks
(what may be activated or executed) live here too, so routes and handlers agree on them.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orbit.planning.errors import Conflict
from orbit.planning.records import new_id, one_or_not_found, utcnow
from orbit.planning.schema import backlog_items, task_executions

EXECUTABLE_KINDS = ("task", "subtask")
ITEM_FIELDS = ("id", "project_id", "kind", "title", "description", "status", "details")
EXECUTION_FIELDS = ("id", "output", "model", "tokens_in", "tokens_out", "created_at", "job_id")


def item_view(row: dict[str, Any]) -> dict[str, Any]:
    """The public fields of a backlog item row."""
    view = {name: row[name] for name in ITEM_FIELDS}
    view["details"] = row["details"] or {}
    view["parent_id"] = row["parent_id"]
    return view


def load_item(conn: Connection, item_id: uuid.UUID) -> dict[str, Any]:
    """The backlog item row, or ``NotFound``."""
    return one_or_not_found(conn, backlog_items, item_id, "backlog item")


def item_detail(conn: Connection, item_id: uuid.UUID) -> dict[str, Any]:
    """An item with its children and its executions (newest first)."""
    detail = item_view(load_item(conn, item_id))
    children = conn.execute(
        sa.select(
            backlog_items.c.id, backlog_items.c.kind, backlog_items.c.title, backlog_items.c.status
        )
        .where(backlog_items.c.parent_id == item_id)
        .order_by(backlog_items.c.position, backlog_items.c.created_at, backlog_items.c.id)
    )
    detail["children"] = [dict(row._mapping) for row in children]
    detail["executions"] = executions_of(conn, item_id)
    return detail


def executions_of(conn: Connection, item_id: uuid.UUID, limit: int | None = None) -> list[Any]:
    """An item's executions, newest first."""
    columns = [task_executions.c[name] for name in EXECUTION_FIELDS]
    stmt = (
        sa.select(*columns)
        .where(task_executions.c.item_id == item_id)
        .order_by(task_executions.c.created_at.desc(), task_executions.c.id.desc())
        .limit(limit)
    )
    return [dict(row._mapping) for row in conn.execute(stmt)]


def latest_execution(conn: Connection, item_id: uuid.UUID) -> dict[str, Any] | None:
    """The item's most recent execution, or None."""
    rows = executions_of(conn, item_id, limit=1)
    return rows[0] if rows else None


# -- rules ---------------------------------------------------------------------------------


def activation_refusal(item: dict[str, Any]) -> str | None:
    """Why ``item`` cannot be activated, or None when it can."""
    if item["status"] != "suggested":
        return (
            f"{item['kind']} {item['id']} is {item['status']}; "
            "only suggested items can be activated"
        )
    return None


def execution_refusal(item: dict[str, Any]) -> str | None:
    """Why ``item`` cannot be executed, or None when it can."""
    if item["kind"] not in EXECUTABLE_KINDS:
        return f"{item['id']} is a {item['kind']}; only tasks and subtasks can be executed"
    if item["status"] != "active":
        return f"{item['kind']} {item['id']} is {item['status']}; activate it before executing it"
    return None


def check_activatable(item: dict[str, Any]) -> None:
    """Raise ``Conflict`` unless ``item`` can be activated."""
    if reason := activation_refusal(item):
        raise Conflict(reason, "item-not-suggested")


def check_executable(item: dict[str, Any]) -> None:
    """Raise ``Conflict`` unless ``item`` can be executed."""
    if reason := execution_refusal(item):
        wrong_kind = item["kind"] not in EXECUTABLE_KINDS
        raise Conflict(reason, "item-not-executable" if wrong_kind else "task-not-active")


def pending_tasks(conn: Connection, project_id: uuid.UUID) -> list[uuid.UUID]:
    """The project's active tasks and subtasks that were never executed, in backlog order."""
    executed = sa.exists().where(task_executions.c.item_id == backlog_items.c.id)
    stmt = (
        sa.select(backlog_items.c.id)
        .where(
            backlog_items.c.project_id == project_id,
            backlog_items.c.kind.in_(EXECUTABLE_KINDS),
            backlog_items.c.status == "active",
            ~executed,
        )
        .order_by(backlog_items.c.created_at, backlog_items.c.position, backlog_items.c.id)
    )
    return list(conn.execute(stmt).scalars())


# -- writes --------------------------------------------------------------------------------


def insert_execution(
    conn: Connection, item_id: uuid.UUID, values: dict[str, Any], job_id: uuid.UUID
) -> uuid.UUID:
    """Store one execution of an item (``output``, ``model``, ``tokens_in``, ``tokens_out``)."""
    execution_id = new_id()
    conn.execute(
        sa.insert(task_executions).values(
            id=execution_id, item_id=item_id, job_id=job_id, created_at=utcnow(), **values
        )
    )
    return execution_id
