"""Structured (JSON) output: instruction, parsing, validation and one repair round.

`run_structured` appends the ``_structured`` instruction (with the schema's JSON
Schema) to the prompt, parses the reply with pydantic, and on failure sends the
conversation back once with the ``_repair`` message quoting the validation
errors.  If the second reply fails too it raises `AIInvalidOutput`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from orbit.ai.errors import AIInvalidOutput
from orbit.ai.prompts import Message, render_text

SchemaT = TypeVar("SchemaT", bound=BaseModel)

Sender = Callable[[tuple[Message, ...]], Awaitable[str]]
"""Sends messages to the model (with retries and recording) and returns its text."""

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)


async def run_structured(
    send: Sender,
    prompt_name: str,
    messages: tuple[Message, ...],
    schema: type[SchemaT],
) -> SchemaT:
    """Ask for JSON matching ``schema``; retry once with the validation error fed back."""
    schema_text = json.dumps(schema.model_json_schema(), indent=2)
    instruction = render_text("_structured", schema=schema_text)
    first = with_instruction(messages, instruction)
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
            json.loads(candidate)
        except ValueError:
            continue
        return candidate
    return stripped


def parse_output(text: str, schema: type[SchemaT]) -> SchemaT:
    """Validate a model reply against ``schema``; raise `OutputError` listing the problems."""
    try:
        return schema.model_validate_json(extract_json(text))
    except ValidationError as exc:
        raise OutputError(format_validation_error(exc)) from exc


def format_validation_error(exc: ValidationError) -> str:
    """One line per problem, e.g. ``stories.0.title: Field required``."""
    lines = []
    for error in exc.errors(include_url=False):
        location = ".".join(str(part) for part in error["loc"]) or "(root)"
        lines.append(f"{location}: {error['msg']}")
    return "; ".join(lines) or str(exc)
