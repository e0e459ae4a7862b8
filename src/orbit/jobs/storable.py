"""What both databases can store as JSON and text, checked once for the whole engine.

PostgreSQL refuses NaN and Infinity in ``jsonb`` and NUL characters in ``text`` and
``jsonb``; SQLite stores them and hands back something no JSON reader accepts. Neither
database (nor UTF-8) takes a lone surrogate (U+D800..U+DFFF), which Python strings and
JSON's ``\\ud800`` escapes can hold. The HTTP
layer checks what clients send with ``check_json_value``; the worker checks what handlers
return and raise with the same rule before anything is queued for the database.

Example:
    >>> check_json_value({"x": float("nan")})
    Traceback (most recent call last):
    ValueError: NaN and Infinity are not valid JSON numbers
"""

from __future__ import annotations

import math
import re
from typing import Any

MAX_JSON_DEPTH = 64
_SURROGATE = re.compile("[\ud800-\udfff]")
_UNSTORABLE_CHAR = re.compile("[\x00\ud800-\udfff]")


def check_json_value(value: Any, depth: int = 0) -> None:
    """Reject what the databases cannot store as JSON: NaN/Infinity, NUL characters, deep nests."""
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("NaN and Infinity are not valid JSON numbers")
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("strings must not contain NUL characters")
        if _SURROGATE.search(value):
            raise ValueError("strings must not contain lone surrogates (U+D800..U+DFFF)")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_json_value(key, depth + 1)
            check_json_value(item, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            check_json_value(item, depth + 1)


def storable_text(text: str) -> str:
    """``text`` with each NUL character and lone surrogate replaced by U+FFFD."""
    return _UNSTORABLE_CHAR.sub("\ufffd", text)
