"""Structured (JSON) output: instruction, parsing, local repair and one repair round.

`run_structured` appends the ``_structured`` instruction (the schema's shape) to
the prompt and parses the reply.  Parsing is forgiving before it is strict:

1. the JSON is found in the reply (bare, fenced, or the outermost ``{...}``) and
   read leniently (raw control characters inside strings are accepted);
2. near-JSON (a missing brace, a trailing comma, single quotes) is repaired
   locally with ``json-repair``;
3. strings longer than the schema allows are cut at a word boundary and lists
   longer than allowed lose their tail (a small model's usual overrun; the
   schemas' own validators do the same, this covers any other model).

Only when that still does not validate is the conversation sent back once with
the ``_repair`` message quoting the validation errors; if the second reply fails
too, `AIInvalidOutput` is raised.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from orbit.ai.errors import AIInvalidOutput
from orbit.ai.modes import describe_shape, wire_schema
from orbit.ai.prompts import Message, render_text
from orbit.ai.schemas import clip

SchemaT = TypeVar("SchemaT", bound=BaseModel)

Sender = Callable[[tuple[Message, ...]], Awaitable[str]]
"""Sends messages to the model (with retries and recording) and returns its text."""

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)
MAX_FIT_ROUNDS = 3


def instruction_for(schema: type[BaseModel]) -> str:
    """The ``_structured`` instruction describing ``schema``'s shape."""
    return render_text("_structured", shape=describe_shape(wire_schema(schema)))


async def run_structured(
    send: Sender,
    prompt_name: str,
    messages: tuple[Message, ...],
    schema: type[SchemaT],
    *,
    model: str | None = None,
) -> SchemaT:
    """Ask for JSON matching ``schema``; retry once with the validation error fed back."""
    first = with_instruction(messages, instruction_for(schema))
    raw = await send(first)
    try:
        return parse_output(raw, schema)
    except OutputError as exc:
        first_error = str(exc)
    repair = render_text("_repair", errors=first_error, schema_name=schema.__name__)
    raw_retry = await send((*first, Message("assistant", raw), Message("user", repair)))
    try:
        return parse_output(raw_retry, schema)
    except OutputError as exc:
        raise AIInvalidOutput(
            prompt_name=prompt_name,
            schema_name=schema.__name__,
            errors=[first_error, str(exc)],
            raw_output=raw_retry,
            model=model,
        ) from exc


class OutputError(ValueError):
    """A model reply that is not valid JSON for the requested schema."""


def with_instruction(messages: tuple[Message, ...], instruction: str) -> tuple[Message, ...]:
    """Append ``instruction`` to the last user message (or add a user message)."""
    if messages and messages[-1].role == "user":
        last = messages[-1]
        return (*messages[:-1], Message("user", f"{last.content}\n\n{instruction}"))
    return (*messages, Message("user", instruction))


def extract_json(text: str) -> str:
    """The JSON in a reply: the reply itself, a fenced block, or the outermost ``{...}``.

    Returns the first candidate that parses as JSON, else the stripped reply (so
    validation reports the JSON error).
    """
    stripped = text.strip()
    candidates = [stripped]
    fence = _FENCE.search(stripped)
    if fence:
        candidates.append(fence.group(1).strip())
    start, end = stripped.find("{"), stripped.rfind("}")
    if 0 <= start < end:
        candidates.append(stripped[start : end + 1])
    for candidate in candidates:
        try:
            json.loads(candidate, strict=False)
        except ValueError:
            continue
        return candidate
    return stripped


def load_json(text: str) -> Any:
    """The JSON value in a reply, repaired locally when it is only near-JSON."""
    candidate = extract_json(text)
    try:
        return json.loads(candidate, strict=False)
    except ValueError:
        pass
    from json_repair import repair_json  # imported on demand: only near-JSON needs it

    repaired = repair_json(candidate, return_objects=True, skip_json_loads=True)
    if not isinstance(repaired, dict):
        raise OutputError(f"(root): Invalid JSON, not an object: {_excerpt(text)}")
    return repaired


def parse_output(text: str, schema: type[SchemaT]) -> SchemaT:
    """Validate a model reply against ``schema``; raise `OutputError` listing the problems."""
    value = load_json(text)
    for _ in range(MAX_FIT_ROUNDS):
        try:
            return schema.model_validate(value)
        except ValidationError as exc:
            if not fit_to_bounds(value, exc):
                raise OutputError(format_validation_error(exc)) from exc
    try:
        return schema.model_validate(value)
    except ValidationError as exc:
        raise OutputError(format_validation_error(exc)) from exc


def fit_to_bounds(value: Any, exc: ValidationError) -> bool:
    """Trim over-long strings and lists named by ``exc`` in place; true if any was trimmed."""
    changed = False
    for error in exc.errors(include_url=False):
        if error["type"] not in ("string_too_long", "too_long"):
            continue
        limit = (error.get("ctx") or {}).get("max_length")
        *path, last = error["loc"] or ("",)
        parent = _walk(value, path)
        if limit is None or parent is None:
            continue
        try:
            item = parent[last]
        except (KeyError, IndexError, TypeError):
            continue
        if isinstance(item, str):
            parent[last] = clip(item, int(limit))
            changed = True
        elif isinstance(item, list):
            del item[int(limit) :]
            changed = True
    return changed


def _walk(value: Any, path: list[int | str]) -> Any:
    for part in path:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def _excerpt(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 3] + "...")


def format_validation_error(exc: ValidationError) -> str:
    """One line per problem, e.g. ``stories.0.title: Field required``."""
    lines = []
    for error in exc.errors(include_url=False):
        location = ".".join(str(part) for part in error["loc"]) or "(root)"
        lines.append(f"{location}: {error['msg']}")
    return "; ".join(lines) or str(exc)
