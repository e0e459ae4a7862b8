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
    raw = engine.raw_connection()
    try:
        yield raw.dbapi_connection
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
