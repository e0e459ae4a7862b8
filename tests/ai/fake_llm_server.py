"""A scriptable fake of the OpenAI Chat Completions and Anthropic Messages APIs.

Runs a Starlette app under uvicorn in a background thread on 127.0.0.1 (free
port), so the real SDK code paths (httpx2, SSE parsing, error mapping) are
exercised.  Tests queue `Reply` objects; each request pops one (or gets a
default reply) and is recorded in `FakeLLMServer.requests`.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


@dataclass
class Reply:
    """What the fake server does with one request."""

    text: str = "Hello from the fake model."
    status: int = 200
    error_message: str = ""
    stall_seconds: float = 0.0
    chunks: list[str] | None = None
    stall_after_chunks: int | None = None
    chunk_delay: float = 0.0
    cut_after_chunks: int | None = None
    finish_reason: str = "stop"
    stream_usage: bool = True
    tokens_in: int = 11
    tokens_out: int = 7
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def error(cls, status: int, message: str = "", **headers: str) -> Reply:
        return cls(status=status, error_message=message or f"fake error {status}", headers=headers)

    @classmethod
    def stall(cls, seconds: float) -> Reply:
        return cls(stall_seconds=seconds)


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    def message_texts(self) -> list[str]:
        """The text of every message (and the Anthropic system prompt)."""
        texts = [str(m.get("content", "")) for m in self.body.get("messages", [])]
        if "system" in self.body:
            texts.insert(0, str(self.body["system"]))
        return texts


class FakeLLMServer:
    """Start with `start`, script with `push`, inspect `requests`, clear with `reset`."""

    def __init__(self) -> None:
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._generation = 0
        self.requests: list[RecordedRequest] = []
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def push(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self.requests.clear()
            self._generation += 1  # releases stalled handlers of earlier tests

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.005)
        raise AssertionError(f"expected {count} requests, got {len(self.requests)}")

    # -- lifecycle ---------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app(), log_level="warning", lifespan="off", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake LLM server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.reset()
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=5)

    # -- HTTP ----------------------------------------------------------------------

    def _app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self._handle_openai, methods=["POST"]),
                Route("/v1/messages", self._handle_anthropic, methods=["POST"]),
            ]
        )

    async def _next_reply(self, request: Request) -> tuple[Reply, dict[str, Any], int]:
        body = await request.json()
        with self._lock:
            self.requests.append(RecordedRequest(request.url.path, dict(request.headers), body))
            reply = self._script.popleft() if self._script else Reply()
            generation = self._generation
        if reply.stall_seconds:
            await self._stall(reply.stall_seconds, generation)
        return reply, body, generation

    async def _stall(self, seconds: float, generation: int) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self._generation == generation:
            await asyncio.sleep(0.01)

    async def _handle_openai(self, request: Request) -> Response:
        reply, body, generation = await self._next_reply(request)
        model = body.get("model", "fake-model")
        if reply.status != 200:
            error = {"message": reply.error_message, "type": "fake_error", "code": None}
            return JSONResponse({"error": error}, reply.status, headers=reply.headers)
        if body.get("stream"):
            events = self._openai_events(reply, model, generation)
            return StreamingResponse(events, media_type="text/event-stream")
        return JSONResponse(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": 0,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": reply.text},
                        "finish_reason": reply.finish_reason,
                    }
                ],
                "usage": _openai_usage(reply),
            }
        )

    async def _openai_events(self, reply: Reply, model: str, generation: int) -> AsyncIterator[str]:
        base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0}
        base["model"] = model
        for index, chunk in enumerate(reply.chunks or [reply.text]):
            if reply.stall_after_chunks is not None and index == reply.stall_after_chunks:
                await self._stall(30, generation)
            if index == reply.cut_after_chunks:
                return  # the response ends here: no finish_reason, no [DONE]
            if reply.chunk_delay:
                await asyncio.sleep(reply.chunk_delay)
            delta = {"index": 0, "delta": {"content": chunk}, "finish_reason": None}
            yield _sse({**base, "choices": [delta]})
        end = {"index": 0, "delta": {}, "finish_reason": reply.finish_reason}
        yield _sse({**base, "choices": [end]})
        if reply.stream_usage:
            yield _sse({**base, "choices": [], "usage": _openai_usage(reply)})
        yield "data: [DONE]\n\n"

    async def _handle_anthropic(self, request: Request) -> Response:
        reply, body, generation = await self._next_reply(request)
        model = body.get("model", "fake-model")
        if reply.status != 200:
            error = {
                "type": "error",
                "error": {"type": "api_error", "message": reply.error_message},
            }
            return JSONResponse(error, reply.status, headers=reply.headers)
        if body.get("stream"):
            events = self._anthropic_events(reply, model, generation)
            return StreamingResponse(events, media_type="text/event-stream")
        return JSONResponse(
            {
                **_anthropic_message(model, reply.tokens_in, 0),
                "content": [_anthropic_block(body, reply.text)],
                "stop_reason": _stop_reason(reply),
                "usage": {"input_tokens": reply.tokens_in, "output_tokens": reply.tokens_out},
            }
        )

    async def _anthropic_events(
        self, reply: Reply, model: str, generation: int
    ) -> AsyncIterator[str]:
        message = _anthropic_message(model, reply.tokens_in, 1)
        yield _sse({"type": "message_start", "message": message}, "message_start")
        start = {"type": "content_block_start", "index": 0}
        start["content_block"] = {"type": "text", "text": ""}
        yield _sse(start, "content_block_start")
        for index, chunk in enumerate(reply.chunks or [reply.text]):
            if reply.stall_after_chunks is not None and index == reply.stall_after_chunks:
                await self._stall(30, generation)
            if index == reply.cut_after_chunks:
                return  # no content_block_stop, message_delta or message_stop
            if reply.chunk_delay:
                await asyncio.sleep(reply.chunk_delay)
            delta = {"type": "content_block_delta", "index": 0}
            delta["delta"] = {"type": "text_delta", "text": chunk}
            yield _sse(delta, "content_block_delta")
        yield _sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
        end = {"type": "message_delta", "delta": {"stop_reason": _stop_reason(reply)}}
        yield _sse({**end, "usage": {"output_tokens": reply.tokens_out}}, "message_delta")
        yield _sse({"type": "message_stop"}, "message_stop")


def _stop_reason(reply: Reply) -> str:
    return "max_tokens" if reply.finish_reason == "length" else "end_turn"


def _anthropic_block(body: dict[str, Any], text: str) -> dict[str, Any]:
    """A forced tool's ``tool_use`` block (its input parsed from ``text``), else text."""
    choice = body.get("tool_choice") or {}
    if choice.get("type") != "tool":
        return {"type": "text", "text": text}
    try:
        tool_input = json.loads(text)
    except ValueError:
        tool_input = {"unparsed": text}
    return {"type": "tool_use", "id": "toolu_fake", "name": choice["name"], "input": tool_input}


def _sse(data: dict[str, Any], event: str | None = None) -> str:
    prefix = f"event: {event}\n" if event else ""
    return f"{prefix}data: {json.dumps(data)}\n\n"


def _openai_usage(reply: Reply) -> dict[str, int]:
    return {
        "prompt_tokens": reply.tokens_in,
        "completion_tokens": reply.tokens_out,
        "total_tokens": reply.tokens_in + reply.tokens_out,
    }


def _anthropic_message(model: str, tokens_in: int, tokens_out: int) -> dict[str, Any]:
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out},
    }
