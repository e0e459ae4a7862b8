"""Structured-output modes: which one to send, falling back when a server refuses one.

Servers enforce JSON output in different ways; each provider lists its modes from
strongest to weakest (its *ladder*):

=============  ==============================================================
``json_schema``  OpenAI structured outputs, ``response_format: {"type":
                 "json_schema", "json_schema": {"name", "schema", "strict"}}``
                 (OpenAI, vLLM, Ollama's ``/v1``, LM Studio, llama.cpp)
``json_object``  ``response_format: {"type": "json_object", "schema": ...}``,
                 the llama.cpp / llama-cpp-python form (grammar-constrained)
``tool_use``     Anthropic: one forced tool whose ``input_schema`` is the schema
``prompt``       no constraint: the schema is described in the prompt only
=============  ==============================================================

With ``ORBIT_AI_STRUCTURED=auto`` a `ModeChooser` starts at the top of the
ladder; a mode the server rejects (`AIModeRejected`: a 400/422, or a 500, whose
message names the response format) moves it one step down for the rest of the
process, and the mode that first works is logged.  An explicit setting pins one
mode (on Anthropic both ``json_schema`` and ``json_object`` mean tool use).

`wire_schema` turns a pydantic model into the JSON Schema servers get: refs
inlined, titles and defaults dropped, every property required and no extra
properties (what OpenAI's strict mode demands and grammar compilers handle best).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from orbit.ai.calls import StructuredMode
from orbit.ai.config import StructuredSetting
from orbit.ai.errors import AIModeRejected
from orbit.ai.retry import Failure

log = logging.getLogger(__name__)

MODE_WORDS = ("response_format", "json_schema", "schema", "grammar", "format")
"""A refusal naming one of these is about the output mode, not the prompt."""


def names_response_format(message: str) -> bool:
    """Whether an error message is about the requested output format."""
    lowered = message.lower()
    return any(word in lowered for word in MODE_WORDS)


class ModeChooser:
    """The structured mode a provider uses now; shared by every view of the provider."""

    def __init__(
        self, ladder: tuple[StructuredMode, ...], setting: StructuredSetting, *, label: str
    ) -> None:
        self.setting = setting
        self.label = label
        self._ladder = ladder if setting == "auto" else (pin(ladder, setting),)
        self._index = 0
        self._confirmed: StructuredMode | None = None

    @property
    def current(self) -> StructuredMode:
        return self._ladder[self._index]

    @property
    def confirmed(self) -> StructuredMode | None:
        """The mode a server has accepted, once one has."""
        return self._confirmed

    def fall_back(self, mode: StructuredMode, error: AIModeRejected) -> bool:
        """Step below ``mode`` after ``error``; false when there is nothing to fall back to."""
        if mode != self.current:  # another call already moved on
            return True
        if self._index + 1 >= len(self._ladder):
            return False
        self._index += 1
        log.warning(
            "structured output: %s rejected mode %s (%s); falling back to %s",
            self.label,
            mode,
            error.detail,
            self.current,
        )
        return True

    def confirm(self, mode: StructuredMode) -> None:
        """Note that ``mode`` worked; logged the first time."""
        if self._confirmed != mode:
            self._confirmed = mode
            log.info(
                "structured output: %s uses mode %s (setting %s)", self.label, mode, self.setting
            )


def pin(ladder: tuple[StructuredMode, ...], setting: StructuredSetting) -> StructuredMode:
    """The ladder's mode for an explicit setting (tool use stands in for both JSON modes)."""
    if setting in ladder:
        return setting
    if setting == "prompt" or "tool_use" not in ladder:
        return "prompt"
    return "tool_use"


def wire_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of ``schema`` as servers get it (inlined, strict, no titles)."""
    full = schema.model_json_schema()
    definitions = full.get("$defs", {})
    strict: dict[str, Any] = _strict(_inline(full, definitions))
    return strict


def _inline(node: Any, definitions: Mapping[str, Any]) -> Any:
    if isinstance(node, Mapping):
        ref = node.get("$ref")
        if isinstance(ref, str):
            return _inline(definitions[ref.rsplit("/", 1)[-1]], definitions)
        inlined: dict[str, Any] = {}
        for key, value in node.items():
            if key == "properties":  # property names are data, not schema keywords
                inlined[key] = {name: _inline(sub, definitions) for name, sub in value.items()}
            elif key not in ("$defs", "title", "default"):
                inlined[key] = _inline(value, definitions)
        return inlined
    if isinstance(node, list):
        return [_inline(item, definitions) for item in node]
    return node


def _strict(node: Any) -> Any:
    if isinstance(node, dict):
        node = {key: _strict(value) for key, value in node.items()}
        if node.get("type") == "object" and "properties" in node:
            node["required"] = list(node["properties"])
            node["additionalProperties"] = False
    elif isinstance(node, list):
        node = [_strict(item) for item in node]
    return node


def describe_shape(node: Mapping[str, Any]) -> str:
    """A compact, example-like rendering of a wire schema for the prompt."""
    kind = node.get("type")
    if kind == "object":
        fields = ", ".join(
            f'"{name}": {describe_shape(sub)}' for name, sub in node.get("properties", {}).items()
        )
        return "{" + fields + "}"
    if kind == "array":
        low, high = node.get("minItems", 0), node.get("maxItems")
        count = f"{low} to {high} items" if high is not None else f"at least {low} items"
        return f"[{describe_shape(node.get('items', {}))}, ... ({count})]"
    if kind == "string":
        limit = node.get("maxLength")
        return f'"<text, at most {limit} characters>"' if limit else '"<text>"'
    if kind == "boolean":
        return "true or false"
    return str(kind or "value")


def rejects_mode(failure: Failure) -> bool:
    """Whether a failed structured call was refused for its output mode.

    A 400 or 422 (FastAPI servers validate the request body), or a 5xx, whose
    message names the response format; other refusals (a bad key, a prompt over
    the context window) are not about the mode.
    """
    code = failure.status_code or 0
    if failure.kind != "status" or not (code in (400, 422) or code >= 500):
        return False
    return names_response_format(failure.message)
