"""A hot read of one row, compiled once and run straight on the driver.

Through SQLAlchemy's ``Connection.execute`` a one-row read costs several times what the
database takes to answer it (the execution context, the result layers, a transaction's
BEGIN and ROLLBACK). ``first_row`` runs a ``SELECT`` compiled once per engine on a pooled
DB-API connection as its own transaction (SQLite and PostgreSQL's autocommit pool:
``StoreReads.lone_reads``), binds and decodes values with the column types' own
processors, as SQLAlchemy would, and keeps its error handling (``raw.pooled_cursor``).
The status read (``StoreReads.get``) and the app's hottest route read use it.

Statements are compiled at their first use and kept for the engine's lifetime: pass
statements built once (module constants), not one built per call.

Example:
    >>> TARGET = sa.select(items.c.project_id).where(items.c.id == sa.bindparam("item_id"))
    >>> first_row(store.lone_reads, TARGET, {"item_id": item_id})
    (UUID('…'),)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from orbit.jobs.store.raw import pooled_cursor
from orbit.jobs.store.rows import RowDecoder

Processor = Callable[[Any], Any] | None
_CACHE = "_orbit_lone_reads"  # an attribute of the engine: it lives and dies with it


class LoneRead(RowDecoder):
    """One ``SELECT`` compiled for one engine: its SQL, parameters and row decoding."""

    def __init__(self, statement: sa.Select[Any], engine: Engine) -> None:
        super().__init__([column.type for column in statement.selected_columns], engine.dialect)
        dialect = engine.dialect
        compiled = statement.compile(engine)
        if any(bind.expanding for bind in compiled.binds.values()):
            raise ValueError("a lone read takes no expanding (IN list) parameters")
        self.engine = engine
        self.sql = compiled.string
        self._names: Sequence[str] | None = (
            list(compiled.positiontup or ()) if compiled.positional else None
        )
        binds = {name: compiled.binds[name] for name in compiled.bind_names.values()}
        self._binds: dict[str, Processor] = {
            name: bind.type.dialect_impl(dialect).bind_processor(dialect)
            for name, bind in binds.items()
        }
        # Values written in the statement itself (``status == "pending"``, a LIMIT).
        self._constants = {
            name: bind.effective_value
            for name, bind in binds.items()
            if not bind.required and bind.callable is None
        }

    def params(self, values: Mapping[str, Any]) -> Any:
        """The driver's parameters for ``values`` (by name), each through its bind processor."""
        bound = {
            name: value if (bind := self._binds.get(name)) is None else bind(value)
            for name, value in {**self._constants, **values}.items()
        }
        return bound if self._names is None else tuple(bound[name] for name in self._names)

    def first(self, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row for ``values``, decoded, or ``None``."""
        params = self.params(values)
        with pooled_cursor(self.engine, self.sql, params) as cursor:
            cursor.execute(self.sql, params)
            row = cursor.fetchone()
            # psycopg builds it anew at each access: read only while it is needed.
            needed = row is not None and self.needs_description
            description = cursor.description if needed else ()
        return None if row is None else tuple(self.decode(row, description))


def first_row(
    engine: Engine, statement: sa.Select[Any], values: Mapping[str, Any]
) -> tuple[Any, ...] | None:
    """The first row ``statement`` selects for ``values`` as one statement on ``engine``
    (an engine for lone reads), or ``None``; ``statement`` is compiled at its first use."""
    reads: dict[sa.Select[Any], LoneRead] = engine.__dict__.setdefault(_CACHE, {})
    read = reads.get(statement)
    if read is None:  # two threads may both compile it: either serves, as in read_only
        read = reads.setdefault(statement, LoneRead(statement, engine))
    return read.first(values)
