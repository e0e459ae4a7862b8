"""Short-lived stream tokens: how a browser's ``EventSource`` authenticates.

``EventSource`` cannot send an ``Authorization`` header. A page that holds the API token
asks ``POST /api/v1/auth/stream-token`` (with the bearer token) for a stream token and
opens ``/api/v1/jobs/{id}/events?access_token=<stream token>``. The stream token is
``<expires>.<nonce>.<signature>``: an HMAC-SHA256 of the first two parts keyed with the
API token, valid for ``ttl_seconds`` and only on the event stream routes (GET). The
middleware removes ``access_token`` from the request's query string before anything
else sees it, so neither the application nor the server's access log records it.

Example:
    >>> tokens = StreamTokens(b"s3cret", ttl_seconds=300)
    >>> token, expires_in = tokens.issue()
    >>> tokens.verify(token)
    True
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable

DEFAULT_TTL_SECONDS = 300
TOKEN_MAX_LENGTH = 200
_CONTEXT = b"orbit stream token v1\x00"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class StreamTokens:
    """Issues and checks stream tokens signed with the API token."""

    def __init__(
        self,
        secret: bytes,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not secret:
            raise ValueError("stream tokens need a non-empty secret")
        if ttl_seconds < 1:
            raise ValueError("ttl_seconds must be at least 1")
        self._secret = secret
        self.ttl_seconds = ttl_seconds
        self._clock = clock

    def _sign(self, message: str) -> str:
        digest = hmac.new(self._secret, _CONTEXT + message.encode(), hashlib.sha256).digest()
        return _b64(digest)

    def issue(self) -> tuple[str, int]:
        """A new token and its lifetime in seconds."""
        expires = int(self._clock()) + self.ttl_seconds
        message = f"{expires}.{_b64(secrets.token_bytes(9))}"
        return f"{message}.{self._sign(message)}", self.ttl_seconds

    def verify(self, token: str) -> bool:
        """Whether ``token`` was issued with this secret and has not expired."""
        if len(token) > TOKEN_MAX_LENGTH or not token.isascii():
            # Only ASCII can be a token we issued, and hmac.compare_digest refuses to
            # compare non-ASCII str at all (TypeError): reject before comparing.
            return False
        message, _, signature = token.rpartition(".")
        expires, _, nonce = message.partition(".")
        if not (expires.isdigit() and nonce and signature):
            return False
        if not hmac.compare_digest(self._sign(message), signature):
            return False
        return int(expires) >= self._clock()
