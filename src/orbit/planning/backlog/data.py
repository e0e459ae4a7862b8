"""Backlog data: loading items and inserting generated ones under a parent.

Generated items start ``suggested`` and remember the project, the interview and the job
that produced them. Each insert appends after the parent's existing children, so running
a generation again adds items instead of reordering the old ones.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Connection

from orbit.planning.errors import Conflict
from orbit.planning.records import new_id, one_or_not_found, utcnow
from orbit.planning.schema import backlog_items

SUMMARY_FIELDS = ("id", "title", "description")


def load_item(conn: Connection, item_id: uuid.UUID, kind: str | None = None) -> dict[str, Any]:
    """The backlog item (``NotFound`` if unknown; ``Conflict`` if it is not of ``kind``)."""
    item = one_or_not_found(conn, backlog_items, item_id, "backlog item")
    if kind is not None and item["kind"] != kind:
        raise Conflict(
            f"backlog item {item_id} is {_article(item['kind'])} {item['kind']}, "
            f"not {_article(kind)} {kind}",
            slug=f"not-{_article(kind)}-{kind}",
        )
    return item


def _article(kind: str) -> str:
    return "an" if kind[:1] in "aeiou" else "a"


def summary(item: dict[str, Any]) -> dict[str, str]:
    """``{id, title, description}`` of an item, JSON-ready."""
    return {key: str(item[key]) for key in SUMMARY_FIELDS}


def insert_items(
    conn: Connection,
    drafts: Sequence[BaseModel | dict[str, Any]],
    *,
    kind: str,
    project_id: uuid.UUID,
    interview_id: uuid.UUID | None,
    parent_id: uuid.UUID | None,
    job_id: uuid.UUID | None,
) -> list[dict[str, str]]:
    """Insert ``drafts`` (``title``/``description``) as ``suggested`` items; their summaries."""
    start = _next_position(conn, project_id, parent_id)
    now = utcnow()
    rows = []
    for offset, draft in enumerate(drafts):
        fields = draft.model_dump() if isinstance(draft, BaseModel) else dict(draft)
        rows.append(
            {
                "id": new_id(),
                "project_id": project_id,
                "interview_id": interview_id,
                "parent_id": parent_id,
                "kind": kind,
                "title": str(fields["title"])[:300],
                "description": str(fields.get("description") or ""),
                "details": None,
                "status": "suggested",
                "position": start + offset,
                "job_id": job_id,
                "created_at": now,
                "updated_at": now,
            }
        )
    if rows:
        conn.execute(sa.insert(backlog_items), rows)
    return [summary(row) for row in rows]


def _next_position(conn: Connection, project_id: uuid.UUID, parent_id: uuid.UUID | None) -> int:
    siblings = (
        backlog_items.c.parent_id.is_(None)
        if parent_id is None
        else backlog_items.c.parent_id == parent_id
    )
    last = conn.execute(
        sa.select(sa.func.max(backlog_items.c.position)).where(
            backlog_items.c.project_id == project_id, siblings
        )
    ).scalar()
    return 0 if last is None else int(last) + 1
