"""Pure ASGI middleware guarding the API: a bearer token and a request body size limit.

``BearerTokenMiddleware`` requires ``Authorization: Bearer <token>`` (or the
``orbit_token`` cookie, for browsers and event streams) on every path under the protected
prefix except the open ones; failures get a 401 problem with ``WWW-Authenticate: Bearer``.
The token is compared in constant time and never logged. Event streams (``GET
.../events``) also accept a short-lived stream token in ``?access_token=`` (see
``tokens.py``), issued for that one stream: a token of another stream is a 403 problem;
the parameter is removed from the request's query string first thing, so neither the
routes nor the server's access log ever see it. An authenticated request carries its
caller (a digest of its token, ``CALLER_SCOPE_KEY``): the scope of its idempotency keys.

``BodyLimitMiddleware`` answers 413 when ``Content-Length`` exceeds the limit, and counts
the bytes of bodies sent without one (chunked) as the application reads them.

Example:
    >>> app.add_middleware(BodyLimitMiddleware, max_bytes=1024 * 1024)
    >>> app.add_middleware(BearerTokenMiddleware, token="s3cret")
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable

from fastapi import HTTPException, Request
from pydantic import BaseModel, model_validator
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orbit.jobs.http.inputs import InputModel
from orbit.jobs.http.problems import Problem, problem_response
from orbit.jobs.http.tokens import (
    DEFAULT_TTL_SECONDS,
    StreamTokens,
    TokenCheck,
    job_target,
    project_target,
)

TOKEN_COOKIE = "orbit_token"
ACCESS_TOKEN_PARAM = b"access_token"
STREAM_TOKENS_SCOPE_KEY = "orbit.stream_tokens"
"""Where an authenticated request finds the ``StreamTokens`` to mint a stream token."""
CALLER_SCOPE_KEY = "orbit.caller"
"""Where an authenticated request finds its caller (the scope of its idempotency keys)."""
ANONYMOUS_CALLER = "anonymous"
"""The caller of every request when the API requires no token."""
_CALLER_CONTEXT = b"orbit caller v1\x00"
DEFAULT_OPEN_PATHS = frozenset({"/health", "/api/v1/health"})
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def pop_query_param(scope: Scope, name: bytes) -> list[bytes]:
    """Remove every ``name=...`` from the scope's query string (in place); their raw values.

    The rest of the query string is kept byte for byte. The scope dict is the one the
    server logs from, so a removed parameter never shows in its access log.
    """
    query: bytes = scope.get("query_string", b"")
    if name not in query:
        return []
    kept: list[bytes] = []
    values: list[bytes] = []
    for part in query.split(b"&"):
        key, _, value = part.partition(b"=")
        if key == name:
            values.append(urllib.parse.unquote_to_bytes(value))
        else:
            kept.append(part)
    scope["query_string"] = b"&".join(kept)
    return values


def caller_of(token: bytes) -> str:
    """A stable name for the holder of ``token`` that does not reveal it (a digest)."""
    return "bearer:" + hashlib.sha256(_CALLER_CONTEXT + token).hexdigest()[:40]


def route_path(scope: Scope) -> str:
    """The request path without the application's ``root_path``."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :] or "/"
    return path


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value)
    return None


def _headers(scope: Scope, name: bytes) -> list[bytes]:
    return [bytes(value) for key, value in scope.get("headers", ()) if key.lower() == name]


class BearerTokenMiddleware:
    """Require a bearer token on ``protected_prefix`` except ``open_paths``."""

    def __init__(
        self,
        app: ASGIApp,
        token: str,
        protected_prefix: str = "/api/v1",
        open_paths: Iterable[str] = DEFAULT_OPEN_PATHS,
        stream_token_seconds: int = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not token:
            raise ValueError("an empty API token would let every request in")
        self.app = app
        self._token = token.encode()
        self._prefix = protected_prefix.rstrip("/")
        self._open = frozenset(open_paths)
        self.stream_tokens = StreamTokens(self._token, stream_token_seconds, clock)
        self._caller = caller_of(self._token)
        self._job_stream = re.compile(re.escape(self._prefix) + r"/jobs/(?P<job_id>[^/]+)/events")
        # A project token also opens the jobs-wide stream narrowed to its project.
        self._project_streams = {self._prefix + "/jobs/events", self._prefix + "/events"}

    def _protects(self, path: str) -> bool:
        if path in self._open:
            return False
        return path == self._prefix or path.startswith(self._prefix + "/")

    def _presented(self, scope: Scope) -> list[bytes]:
        tokens: list[bytes] = []
        for value in _headers(scope, b"authorization"):
            scheme, _, credentials = value.strip().partition(b" ")
            if scheme.lower() == b"bearer" and credentials.strip():
                tokens.append(credentials.strip())
        for value in _headers(scope, b"cookie"):
            cookie = cookie_parser(value.decode("latin-1")).get(TOKEN_COOKIE)
            if cookie:
                tokens.append(cookie.encode("latin-1", "replace"))
        return tokens

    def _authorised(self, scope: Scope) -> tuple[bool, bool]:
        """(token accepted, some token was presented)."""
        presented = self._presented(scope)
        accepted = False
        for token in presented:  # compare every one: the timing says nothing about which
            accepted |= hmac.compare_digest(token, self._token)
        return accepted, bool(presented)

    def _stream_target(self, scope: Scope) -> str | None:
        """The target a stream token must name to open this request's stream, if any."""
        if scope["type"] != "http" or scope.get("method") != "GET":
            return None
        path = route_path(scope)
        try:
            if match := self._job_stream.fullmatch(path):
                return job_target(uuid.UUID(match["job_id"]))
            if path in self._project_streams:
                query = urllib.parse.parse_qs(scope.get("query_string", b"").decode("latin-1"))
                (project,) = query.get("project_id", [])  # one, as the route reads it
                return project_target(uuid.UUID(project))
        except ValueError:  # not a UUID, or no single project_id: no stream to open
            return None
        return None

    def _stream_token_check(self, scope: Scope, query_tokens: list[bytes]) -> TokenCheck:
        """The best verdict of the stream tokens presented for this request's stream."""
        target = self._stream_target(scope)
        if target is None:
            return TokenCheck.INVALID
        checks = {self.stream_tokens.check(raw.decode("latin-1"), target) for raw in query_tokens}
        for verdict in (TokenCheck.VALID, TokenCheck.OTHER_STREAM):
            if verdict in checks:
                return verdict
        return TokenCheck.INVALID

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not self._protects(route_path(scope)):
            await self.app(scope, receive, send)
            return
        query_tokens = pop_query_param(scope, ACCESS_TOKEN_PARAM)
        ok, presented = self._authorised(scope)
        if ok:
            # Only a request holding the API token itself may mint stream tokens.
            scope[STREAM_TOKENS_SCOPE_KEY] = self.stream_tokens
            scope[CALLER_SCOPE_KEY] = self._caller
            await self.app(scope, receive, send)
            return
        verdict = TokenCheck.INVALID
        if query_tokens:
            verdict = self._stream_token_check(scope, query_tokens)
        if verdict is TokenCheck.VALID:
            await self.app(scope, receive, send)
            return
        if verdict is TokenCheck.OTHER_STREAM:
            response = problem_response(
                403,
                "This stream token was issued for another stream; ask for one for this one.",
                slug="forbidden",
                title="Forbidden",
                instance=scope.get("path"),
            )
            await response(scope, receive, send)
            return
        presented = presented or bool(query_tokens)
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": "unauthorized"})
            return
        challenge = 'Bearer realm="orbit"'
        if presented:
            challenge += ', error="invalid_token"'
        response = problem_response(
            401,
            "Invalid bearer token." if presented else "A bearer token is required.",
            slug="unauthorized",
            title="Authentication required",
            instance=scope.get("path"),
            headers={"WWW-Authenticate": challenge},
        )
        await response(scope, receive, send)


class PayloadTooLarge(Problem):
    """The request body is larger than the server accepts."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            413,
            f"The request body exceeds the limit of {max_bytes} bytes.",
            slug="payload-too-large",
            title="Request body too large",
            extensions={"max_bytes": max_bytes},
        )


class BodyLimitMiddleware:
    """Reject request bodies larger than ``max_bytes`` with a 413 problem."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        if max_bytes < 1:
            raise ValueError("max_bytes must be positive")
        self.app = app
        self.max_bytes = max_bytes

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = PayloadTooLarge(self.max_bytes)
        response = problem_response(
            413,
            error.detail,
            slug=error.slug,
            title=error.title,
            instance=scope.get("path"),
            headers={"Connection": "close"},
            extensions=error.extensions,
        )
        await response(scope, receive, send)

    @staticmethod
    def _declared_length(scope: Scope) -> int:
        length = _header(scope, b"content-length")
        try:
            return int(length) if length is not None else -1
        except ValueError:
            return -1

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        if self._declared_length(scope) > self.max_bytes:
            await self._reject(scope, receive, send)
            return

        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # FastAPI re-raises HTTPExceptions met while reading the body, so the
                    # application's problem handler answers; the except below is the fallback.
                    raise PayloadTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except HTTPException as exc:
            if not isinstance(exc, PayloadTooLarge) or started:
                raise
            await self._reject(scope, receive, send)


# -- the route that issues stream tokens -----------------------------------------------


class StreamTokenRequest(InputModel):
    """The one stream a token is for: a job's (``job_id``) or a project's (``project_id``)."""

    job_id: uuid.UUID | None = None
    project_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def one_stream(self) -> StreamTokenRequest:
        if (self.job_id is None) == (self.project_id is None):
            raise ValueError("name exactly one stream: job_id or project_id")
        return self


class StreamToken(BaseModel):
    """A short-lived token for ``?access_token=`` on the one event stream it names."""

    token: str | None
    expires_in: int


def stream_token(body: StreamTokenRequest, request: Request) -> StreamToken:
    """A token an ``EventSource`` can pass as ``?access_token=`` to open the stream of
    ``job_id`` (``GET /jobs/{job_id}/events``) or of ``project_id`` (``GET
    /jobs/events?project_id=``); it must connect within ``expires_in`` seconds.

    ``token`` is null when the API requires no token.
    """
    tokens = request.scope.get(STREAM_TOKENS_SCOPE_KEY)
    if not isinstance(tokens, StreamTokens):
        return StreamToken(token=None, expires_in=0)
    if body.job_id is not None:
        target = job_target(body.job_id)
    else:
        assert body.project_id is not None
        target = project_target(body.project_id)
    token, expires_in = tokens.issue(target)
    return StreamToken(token=token, expires_in=expires_in)
