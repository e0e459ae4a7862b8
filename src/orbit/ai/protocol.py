"""`Provider`, the protocol the application relies on, and `CallOptions`, its per-call limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeVar

from pydantic import BaseModel

from orbit.ai.calls import CallRecorder, Completion, StructuredMode
from orbit.ai.config import StructuredSetting
from orbit.ai.prompts import Prompt
from orbit.ai.stream import TextStream

SchemaT = TypeVar("SchemaT", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class CallOptions:
    """Limits applied to every call of a provider (from `orbit.ai.AIConfig`)."""

    max_output_tokens: int = 4096
    temperature: float = 0.7
    structured_temperature: float = 0.2
    structured: StructuredSetting = "auto"
    retry_after_max_seconds: float = 120.0


class Provider(Protocol):
    """What the application relies on; see `BaseProvider` for the behaviour."""

    model: str

    @property
    def name(self) -> str:
        """``"offline"``, ``"openai"`` or ``"anthropic"``."""
        ...

    @property
    def structured_mode(self) -> StructuredMode:
        """The structured-output mode the next structured call will use."""
        ...

    async def complete(self, prompt: Prompt) -> Completion:
        """The whole reply, with token counts and latency."""
        ...

    def stream(self, prompt: Prompt) -> TextStream:
        """Text deltas as they arrive; the request starts on first iteration."""
        ...

    async def structured(self, prompt: Prompt, schema: type[SchemaT]) -> SchemaT:
        """JSON output validated as ``schema``; repaired, then `AIInvalidOutput`."""
        ...

    def with_recorder(self, recorder: CallRecorder | None) -> Provider:
        """The same provider (sharing its HTTP client) reporting calls to ``recorder``."""
        ...

    async def aclose(self) -> None:
        """Release the HTTP client; shared by every `with_recorder` view."""
        ...
