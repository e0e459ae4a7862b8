"""A hot read of one row, compiled once and run straight on the driver.

Through SQLAlchemy's ``Connection.execute`` a one-row read costs several times what the
database takes to answer it (the execution context, the result layers, a transaction's
BEGIN and ROLLBACK). ``first_row`` runs a ``SELECT`` compiled once per engine on a pooled
DB-API connection as its own transaction (SQLite and PostgreSQL's autocommit pool:
``StoreReads.lone_reads``), binds and decodes values with the column types' own
processors, as SQLAlchemy would, and keeps its error handling (``raw.dbapi_connection``).
The status read (``StoreReads.get``) and the app's hottest route reads use it.

Example:
    >>> TARGET = sa.select(items.c.project_id).where(items.c.id == sa.bindparam("item_id"))
    >>> first_row(store.lone_reads, TARGET, {"item_id": item_id})
    (UUID('…'),)
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from orbit.jobs.store.raw import dbapi_connection

Processor = Callable[[Any], Any] | None


class LoneRead:
    """One ``SELECT`` compiled for one engine: its SQL, parameters and row decoding."""

    def __init__(self, statement: sa.Select[Any], engine: Engine) -> None:
        dialect = engine.dialect
        compiled = statement.compile(engine)
        self.engine = engine
        self.sql = compiled.string
        self._names: Sequence[str] | None = (
            list(compiled.positiontup or ()) if compiled.positional else None
        )
        self._binds: dict[str, Processor] = {
            name: bind.type.dialect_impl(dialect).bind_processor(dialect)
            for name, bind in compiled.binds.items()
        }
        self._types = [column.type for column in statement.selected_columns]
        self._processors: list[Processor] | None = None

    def params(self, values: Mapping[str, Any]) -> Any:
        """The driver's parameters for ``values`` (by name), each through its bind processor."""
        bound = {
            name: value if (bind := self._binds.get(name)) is None else bind(value)
            for name, value in values.items()
        }
        return bound if self._names is None else tuple(bound[name] for name in self._names)

    @property
    def needs_description(self) -> bool:
        """Whether ``decode`` still needs the cursor's ``description`` (only the first row)."""
        return self._processors is None

    def decode(self, row: Sequence[Any], description: Sequence[Sequence[Any]]) -> tuple[Any, ...]:
        """A driver's row as SQLAlchemy would return it (the processors depend on the
        driver's type codes, known from the first row's ``description``)."""
        if self._processors is None:
            dialect = self.engine.dialect
            self._processors = [
                kind.dialect_impl(dialect).result_processor(dialect, column[1])
                for kind, column in zip(self._types, description, strict=True)
            ]
        return tuple(
            process(value) if process is not None and value is not None else value
            for process, value in zip(self._processors, row, strict=True)
        )

    def first(self, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row for ``values``, decoded, or ``None``."""
        params = self.params(values)
        with dbapi_connection(self.engine, self.sql, params) as conn:
            cursor = conn.cursor()
            try:
                cursor.execute(self.sql, params)
                row = cursor.fetchone()
                # psycopg builds it anew at each access: read only while it is needed.
                description = (
                    cursor.description if row is not None and self.needs_description else ()
                )
            finally:
                cursor.close()
        return None if row is None else self.decode(row, description)


_compiled: weakref.WeakKeyDictionary[Engine, dict[sa.Select[Any], LoneRead]] = (
    weakref.WeakKeyDictionary()
)
_compiling = threading.Lock()


def first_row(
    engine: Engine, statement: sa.Select[Any], values: Mapping[str, Any]
) -> tuple[Any, ...] | None:
    """The first row ``statement`` selects for ``values`` as one statement on ``engine``
    (an engine for lone reads), or ``None``; ``statement`` is compiled at its first use."""
    reads = _compiled.get(engine)
    read = None if reads is None else reads.get(statement)
    if read is None:
        with _compiling:
            read = _compiled.setdefault(engine, {}).setdefault(
                statement, LoneRead(statement, engine)
            )
    return read.first(values)
