"""Small shared pieces of the app's data access: ids, timestamps, load-or-``NotFound``."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orbit.jobs import Fail, read_only
from orbit.planning.errors import NotFound


@contextlib.contextmanager
def reading(engine: sa.Engine) -> Iterator[Connection]:
    """A read-only connection (on SQLite it does not queue behind writers)."""
    with read_only(engine).connect() as conn:
        yield conn


def utcnow() -> dt.datetime:
    """The current time in UTC (app rows are stamped with it)."""
    return dt.datetime.now(dt.UTC)


def new_id() -> uuid.UUID:
    """A fresh row id."""
    return uuid.uuid4()


def parse_id(value: str, what: str) -> uuid.UUID:
    """A UUID from job input, or ``Fail`` (bad input never gets better on retry)."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Fail(f"invalid {what} id {value!r}", code="invalid_input") from None


def one_or_none(conn: Connection, table: sa.Table, row_id: uuid.UUID) -> dict[str, Any] | None:
    """The row of ``table`` with ``id == row_id`` as a dict, or None."""
    row = conn.execute(sa.select(table).where(table.c.id == row_id)).one_or_none()
    return dict(row._mapping) if row else None


def one_or_not_found(
    conn: Connection, table: sa.Table, row_id: uuid.UUID, what: str
) -> dict[str, Any]:
    """The row, or ``NotFound`` naming ``what`` (e.g. "interview")."""
    row = one_or_none(conn, table, row_id)
    if row is None:
        raise NotFound(what, row_id)
    return row
