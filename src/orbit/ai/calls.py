"""The values that flow through one provider call.

A `ChatRequest` is what a provider hook sends (messages, token budget,
temperature and, for structured calls, the output mode and schema); a hook
answers with a `ModelReply`; callers get a `Completion`; the application is told
about every call with a `CallRecord`.

Token counts are the server's when it reports them.  When it does not (many
local servers omit ``usage`` on streams), they are estimated with one documented
rule, `estimate_tokens` (about four characters per token, at least one), and the
`Completion` and `CallRecord` say ``estimated=True``; a count is never zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from orbit.ai.prompts import Message, Prompt

Operation = Literal["complete", "stream", "structured"]

StructuredMode = Literal["json_schema", "json_object", "tool_use", "prompt"]
"""How a structured call asks for JSON; see `orbit.ai.modes`."""

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD_TOKENS = 4
"""Chat templates wrap every message in a few tokens of role markers."""


def estimate_tokens(text: str) -> int:
    """The token estimate of ``text``: ``ceil(len / 4)``, at least 1."""
    return max(1, math.ceil(len(text) / CHARS_PER_TOKEN))


def estimate_prompt_tokens(messages: Iterable[Message]) -> int:
    """The estimate of a prompt: each message's text plus a small per-message overhead."""
    return sum(estimate_tokens(m.content) + MESSAGE_OVERHEAD_TOKENS for m in messages)


@dataclass(frozen=True, slots=True)
class Completion:
    """A finished model reply."""

    text: str
    model: str
    tokens_in: int
    tokens_out: int
    latency_ms: int
    finish_reason: str | None = None
    estimated: bool = False
    mode: StructuredMode | None = None


@dataclass(frozen=True, slots=True)
class CallRecord:
    """What one provider call cost and how it ended; persisted by the application.

    ``estimated`` is true when the server reported no usage and the token counts
    come from `estimate_tokens`; ``mode`` is the structured-output mode of a
    structured call.
    """

    provider: str
    model: str
    prompt_name: str
    operation: Operation
    tokens_in: int
    tokens_out: int
    latency_ms: int
    ok: bool
    error: str | None = None
    attempts: int = 1
    estimated: bool = False
    mode: StructuredMode | None = None
    finish_reason: str | None = None


CallRecorder = Callable[[CallRecord], None]
"""Receives a `CallRecord` after every call, successful or not."""


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage of one reply; ``reported`` is false when the API sent none."""

    model: str
    tokens_in: int = 0
    tokens_out: int = 0
    reported: bool = True


@dataclass(frozen=True, slots=True)
class ModelReply:
    """The raw result of one successful API attempt."""

    text: str
    usage: Usage
    finish_reason: str | None = None


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """What a provider hook sends: the prompt plus the messages and limits of this attempt.

    ``mode`` is ``None`` for a text call; for a structured call it names how JSON
    is asked for, with ``schema`` the JSON Schema sent to servers that enforce it
    and ``schema_name`` its name.
    """

    prompt: Prompt
    messages: tuple[Message, ...]
    max_tokens: int = 1024
    temperature: float | None = None
    mode: StructuredMode | None = None
    schema: Mapping[str, Any] | None = None
    schema_name: str = ""

    @property
    def json_mode(self) -> bool:
        """Whether a JSON reply is expected (any structured mode)."""
        return self.mode is not None


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """The last item of a stream hook: usage (maybe unreported) and why it stopped."""

    usage: Usage
    finish_reason: str | None = None


StreamPiece = str | StreamEnd
"""A stream hook yields text deltas, then one `StreamEnd`."""


def honest_usage(messages: Iterable[Message], usage: Usage, text: str) -> Usage:
    """``usage`` as reported, or estimated (``reported=False``) when the API sent none."""
    if usage.reported and (usage.tokens_in or usage.tokens_out):
        return usage
    return Usage(
        usage.model, estimate_prompt_tokens(messages), estimate_tokens(text), reported=False
    )


def partial_usage(messages: Iterable[Message], parts: list[str], model: str) -> Usage:
    """The usage of a failed stream: estimated from what arrived, zero if nothing did."""
    if not parts:
        return Usage(model)
    return honest_usage(messages, Usage(model, reported=False), "".join(parts))
