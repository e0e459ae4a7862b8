"""Reusable checks for what clients send: text without NUL, storable datetimes, bounded ids.

Both databases must answer the same request the same way. PostgreSQL refuses a NUL
character in text and JSON (SQLite stores it), and neither stores a datetime whose UTC
value falls outside years 1..9999, so these are rejected here, before any query, as a 422
problem:

* ``NulFreeText`` / ``check_no_nul``: any ``str`` (query parameters, model fields).
* ``InputModel``: a ``BaseModel`` whose every field, nested JSON included, is checked for
  NUL characters; request bodies of the jobs API and of the app derive from it.
* ``StorableDatetime``: an aware datetime that converts to UTC inside ``DATETIME_MIN`` ..
  ``DATETIME_MAX`` (a margin below year 9999 leaves room for retry back-off arithmetic).
* ``INT64_MAX``: the largest event id or version a client may send.

Example:
    >>> class Rename(InputModel):
    ...     name: str
    >>> Rename(name="a\\x00b")  # doctest: +SKIP
    ValidationError: strings must not contain NUL characters
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, field_validator

from orbit.jobs.storable import check_json_value

INT64_MAX = 2**63 - 1
DATETIME_MIN = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
DATETIME_MAX = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)


def check_no_nul(value: str) -> str:
    """``value`` unchanged; ``ValueError`` when it holds a NUL character."""
    if "\x00" in value:
        raise ValueError("strings must not contain NUL characters")
    return value


NulFreeText = Annotated[str, AfterValidator(check_no_nul)]
"""A ``str`` without NUL characters (use it for query parameters and model fields)."""


def check_storable_datetime(value: dt.datetime) -> dt.datetime:
    """``value`` in UTC; ``ValueError`` when it lies outside what the store keeps."""
    try:
        utc = value.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01T00:00+14:00 has no UTC value
        raise ValueError("date and time out of range") from None
    if not DATETIME_MIN <= utc < DATETIME_MAX:
        raise ValueError(
            f"date and time must lie between {DATETIME_MIN.date()} and {DATETIME_MAX.date()} UTC"
        )
    return utc


StorableDatetime = Annotated[AwareDatetime, AfterValidator(check_storable_datetime)]
"""An aware datetime that the databases can store (converted to UTC)."""


class InputModel(BaseModel):
    """A request body: every field is checked for NUL characters, nested JSON included."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        check_json_value(value)
        return value
