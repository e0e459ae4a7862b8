"""A pooled DB-API connection for one hot statement, with SQLAlchemy's error handling.

The hot single-row writes (``insert_job`` in ``sqlite.py`` and ``postgres.py``) skip
SQLAlchemy's per-call statement building, compiling and result layers and run SQL
compiled once on the driver's own connection. What SQLAlchemy would still do for them is
done here: a lost connection leaves the pool, and the error raised is SQLAlchemy's
(``sa.exc.IntegrityError`` for a unique violation, as the store expects).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine


@contextlib.contextmanager
def dbapi_connection(engine: Engine, statement: str, params: Any) -> Iterator[Any]:
    """A DB-API connection from ``engine``'s pool, returned to it afterwards.

    ``statement`` and ``params`` only label the error raised when the driver fails.
    """
    with _pooled(engine, statement, params) as raw:
        yield raw.dbapi_connection


@contextlib.contextmanager
def pooled_cursor(engine: Engine, statement: str, params: Any) -> Iterator[Any]:
    """A cursor of a DB-API connection from ``engine``'s pool, as ``dbapi_connection``;
    one per pooled connection, kept with it (psycopg sets up a new cursor's loaders at
    every use: a tenth of a one-row read)."""
    with _pooled(engine, statement, params) as raw:
        cursor = raw.info.get(_CURSOR)
        if cursor is None:
            cursor = raw.info[_CURSOR] = raw.dbapi_connection.cursor()
        yield cursor


_CURSOR = "orbit_cursor"


@contextlib.contextmanager
def _pooled(engine: Engine, statement: str, params: Any) -> Iterator[Any]:
    raw = engine.raw_connection()
    try:
        yield raw
    except engine.dialect.loaded_dbapi.Error as exc:
        lost = engine.dialect.is_disconnect(exc, raw.dbapi_connection, None)
        if lost:
            raw.invalidate(exc)
        raise sa.exc.DBAPIError.instance(
            statement,
            params,
            exc,
            engine.dialect.loaded_dbapi.Error,
            connection_invalidated=lost,
            dialect=engine.dialect,
        ) from exc
    finally:
        raw.close()
