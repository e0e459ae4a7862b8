"""The offline provider: deterministic answers, no network, zero configuration.

It dispatches on `Prompt.name` to a generator in `orbit.ai.offline_backlog` or
`orbit.ai.offline_work`, which builds the operation's output model from
`Prompt.variables`.  `structured` calls receive that model as JSON (and go
through the same validation as every other provider); `complete` and `stream`
return its plain-text rendering.  Prompts without a generator get a short
deterministic acknowledgement.

``delay_ms`` makes each call take at least that long (without blocking the event
loop) so the background-job UX can be demonstrated; `stream` spreads the text
over the delay in small chunks.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, ClassVar

from orbit.ai.base import (
    BaseProvider,
    CallRecorder,
    ChatRequest,
    ModelReply,
    StreamEnd,
    StreamPiece,
    StructuredMode,
    Usage,
)
from orbit.ai.keyphrases import first_sentence, key_phrases
from orbit.ai.offline_backlog import draft_epic, draft_stories, draft_tasks, next_question
from orbit.ai.offline_work import fill_activation, run_task, write_commit
from orbit.ai.schemas import TaskOutput

Generator = Callable[[Mapping[str, Any]], TaskOutput]

GENERATORS: dict[str, Generator] = {
    "interview.next_question": next_question,
    "backlog.epic": draft_epic,
    "backlog.stories": draft_stories,
    "backlog.tasks": draft_tasks,
    "activation.fill": fill_activation,
    "execution.run": run_task,
    "commit.message": write_commit,
}
"""The offline answer of each named operation."""

_CHUNK = re.compile(r"\S+\s*|\s+")


class OfflineProvider(BaseProvider):
    """Deterministic provider for development, demos and tests."""

    name: ClassVar[str] = "offline"
    # The answers are built from the schema models themselves: always valid.
    structured_modes: ClassVar[tuple[StructuredMode, ...]] = ("json_schema",)

    def __init__(
        self,
        *,
        model: str = "orbit-offline-1",
        delay_ms: int = 0,
        recorder: CallRecorder | None = None,
    ) -> None:
        super().__init__(model=model, recorder=recorder)
        self.delay_ms = delay_ms

    async def _send(self, request: ChatRequest) -> ModelReply:
        text = answer(request)
        if self.delay_ms:
            await asyncio.sleep(self.delay_ms / 1000)
        return ModelReply(text, self._usage(request, text), "stop")

    async def _open_stream(self, request: ChatRequest) -> AsyncIterator[StreamPiece]:
        return self._chunks(request, answer(request))

    async def _chunks(self, request: ChatRequest, text: str) -> AsyncIterator[StreamPiece]:
        chunks = split_chunks(text)
        pause = self.delay_ms / 1000 / max(len(chunks), 1)
        for chunk in chunks:
            await asyncio.sleep(pause)
            yield chunk
        yield StreamEnd(self._usage(request, text), "stop")

    def _usage(self, request: ChatRequest, text: str) -> Usage:
        prompt_text = "".join(message.content for message in request.messages)
        return Usage(self.model, estimate_tokens(prompt_text), estimate_tokens(text))


def answer(request: ChatRequest) -> str:
    """The offline reply to ``request``: JSON in JSON mode, plain text otherwise."""
    prompt = request.prompt
    generator = GENERATORS.get(prompt.name)
    if generator is None:
        return _acknowledge(request)
    output = generator(prompt.variables)
    return output.model_dump_json() if request.json_mode else output.as_text()


def _acknowledge(request: ChatRequest) -> str:
    users = [m.content for m in request.messages if m.role == "user"]
    last = users[-1] if users else ""
    if request.json_mode:
        return "{}"
    topics = ", ".join(key_phrases(last, limit=3)) or "nothing specific"
    return (
        f"Offline mode has no answer for {request.prompt.name!r}. "
        f"Request: {first_sentence(last, 160) or '(empty)'} Key points: {topics}."
    )


def split_chunks(text: str, size: int = 16) -> list[str]:
    """Split ``text`` into chunks of about ``size`` characters at word boundaries."""
    chunks: list[str] = []
    current = ""
    for piece in _CHUNK.findall(text):
        if current and len(current) + len(piece) > size:
            chunks.append(current)
            current = ""
        current += piece
    if current:
        chunks.append(current)
    return chunks


def estimate_tokens(text: str) -> int:
    """A rough, deterministic token count (about four characters per token)."""
    return (len(text) + 3) // 4
