"""Short-lived stream tokens, each bound to one stream: how a browser's ``EventSource``
authenticates without the API token in a URL.

``EventSource`` cannot send an ``Authorization`` header. A page that holds the API token
asks ``POST /api/v1/auth/stream-token`` (with the bearer token, body ``{"job_id": …}``
or ``{"project_id": …}``) for a stream token and opens that stream,
``/api/v1/jobs/{id}/events?access_token=<stream token>`` or
``/api/v1/jobs/events?project_id=<id>&access_token=<stream token>``. The token is
``<expires>.<target>.<nonce>.<signature>``: an HMAC-SHA256 of the first three parts keyed
with the API token. ``target`` names the one stream it opens (``j<job id hex>`` or
``p<project id hex>``); it is valid for ``ttl_seconds`` (default 60: it is checked only
when the stream connects, an open stream is never cut) and only on the event stream
routes (GET). The middleware removes ``access_token`` from the request's query string
before anything else sees it, so neither the application nor the server's access log
records it.

Example:
    >>> tokens = StreamTokens(b"s3cret", ttl_seconds=60)
    >>> token, expires_in = tokens.issue(job_target(job_id))
    >>> tokens.check(token, job_target(job_id))
    <TokenCheck.VALID: 'valid'>
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Callable

DEFAULT_TTL_SECONDS = 60
TOKEN_MAX_LENGTH = 200
_CONTEXT = b"orbit stream token v2\x00"


def job_target(job_id: uuid.UUID) -> str:
    """The target of a token for one job's stream."""
    return "j" + job_id.hex


def project_target(project_id: uuid.UUID) -> str:
    """The target of a token for a project's stream."""
    return "p" + project_id.hex


class TokenCheck(enum.Enum):
    """What ``StreamTokens.check`` found."""

    VALID = "valid"
    """Issued here, not expired, for this stream."""
    OTHER_STREAM = "other-stream"
    """Issued here and not expired, but for another stream (a 403)."""
    INVALID = "invalid"
    """Malformed, forged or expired (a 401)."""


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

    def issue(self, target: str) -> tuple[str, int]:
        """A new token for the stream ``target`` names, and its lifetime in seconds."""
        if not target.isalnum():
            raise ValueError(f"{target!r} is not a stream target")
        expires = int(self._clock()) + self.ttl_seconds
        message = f"{expires}.{target}.{_b64(secrets.token_bytes(9))}"
        return f"{message}.{self._sign(message)}", self.ttl_seconds

    def check(self, token: str, target: str) -> TokenCheck:
        """Whether ``token`` opens the stream ``target`` names now."""
        if len(token) > TOKEN_MAX_LENGTH or not token.isascii():
            # Only ASCII can be a token we issued, and hmac.compare_digest refuses to
            # compare non-ASCII str at all (TypeError): reject before comparing.
            return TokenCheck.INVALID
        message, _, signature = token.rpartition(".")
        expires, _, rest = message.partition(".")
        issued_for, _, nonce = rest.partition(".")
        if not (expires.isdigit() and issued_for and nonce and signature):
            return TokenCheck.INVALID
        if not hmac.compare_digest(self._sign(message), signature):
            return TokenCheck.INVALID
        if int(expires) < self._clock():
            return TokenCheck.INVALID
        return TokenCheck.VALID if issued_for == target else TokenCheck.OTHER_STREAM

    def verify(self, token: str, target: str) -> bool:
        """Whether ``token`` is valid for the stream ``target`` names."""
        return self.check(token, target) is TokenCheck.VALID
