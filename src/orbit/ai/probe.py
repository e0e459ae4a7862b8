"""One call per operation against a provider, and what it shows: the engine of ``orbit ai check``.

`probe` runs the interview turn as a stream (as the ``interview_message`` job
does) and every structured operation of `orbit.ai.PROMPT_SCHEMAS` with the
sample inputs of `orbit.ai.samples`, one after another, and reports per
operation the model, the structured mode used, latency, tokens, whether the
server reported usage, and the error if the call failed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from orbit.ai.calls import CallRecord
from orbit.ai.errors import AIError
from orbit.ai.prompts import PROMPT_SCHEMAS, render_prompt
from orbit.ai.protocol import Provider
from orbit.ai.samples import sample_variables

Kind = Literal["stream", "structured"]

OPERATIONS: tuple[tuple[str, Kind], ...] = (
    ("interview.next_question", "stream"),
    *((name, "structured") for name in PROMPT_SCHEMAS),
)
"""Every operation kind the application uses, in the order a project meets them."""


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """How one operation went."""

    operation: str
    kind: Kind
    model: str
    mode: str | None
    latency_ms: int
    tokens_in: int
    tokens_out: int
    usage_reported: bool
    calls: int
    ok: bool
    error: str | None = None


async def probe_one(provider: Provider, operation: str, kind: Kind) -> ProbeResult:
    """Run ``operation`` once with its sample inputs; never raises an `AIError`."""
    records: list[CallRecord] = []
    view = provider.with_recorder(records.append)
    prompt = render_prompt(operation, **sample_variables(operation))
    started = time.monotonic()
    error: str | None = None
    try:
        if kind == "stream":
            async with view.stream(prompt) as stream:
                completion = await stream.collect()
            if not completion.text.strip():
                error = "the stream ended without any text"
        else:
            await view.structured(prompt, PROMPT_SCHEMAS[operation])
    except AIError as exc:
        error = str(exc)
    latency = round((time.monotonic() - started) * 1000)
    return ProbeResult(
        operation=operation,
        kind=kind,
        model=records[-1].model if records else provider.model,
        mode=next((r.mode for r in reversed(records) if r.mode), None),
        latency_ms=latency,
        tokens_in=sum(r.tokens_in for r in records),
        tokens_out=sum(r.tokens_out for r in records),
        usage_reported=bool(records) and not any(r.estimated for r in records),
        calls=len(records),
        ok=error is None,
        error=error,
    )


async def probe(
    provider: Provider, operations: Sequence[tuple[str, Kind]] = OPERATIONS
) -> list[ProbeResult]:
    """`probe_one` for each of ``operations``, in order."""
    return [await probe_one(provider, name, kind) for name, kind in operations]
