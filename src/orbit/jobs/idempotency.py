"""Idempotency keys: scoped to a caller and a job type, bound to a request's fingerprint.

An enqueue that carries a key is unique per ``(key, caller, job_type)``. The first one
creates the job and stores the request's fingerprint beside the key; a later enqueue with
the same scope gets that job back when its fingerprint is the same, and
``IdempotencyKeyReused`` when it is not (HTTP: 422). A key lives as long as its job: it
is gone once the job is pruned, and a finished job past the retention period no longer
holds it (``JobClient(key_retention=...)``).

``caller`` is whoever sent the key: the HTTP layer passes a digest of the bearer token
(``"anonymous"`` without one); in-process callers share ``LOCAL_CALLER``. The HTTP layer
fingerprints the request (route, path parameters, body); without one the door
fingerprints the job's input.

Example:
    >>> key = IdempotencyKey("order-42", caller="anonymous", fingerprint=fingerprint({"n": 1}))
    >>> client.enqueue("echo", {"n": 1}, idempotency_key=key)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

from orbit.jobs.models import JSON, LOCAL_CALLER

__all__ = ["LOCAL_CALLER", "IdempotencyKey", "fingerprint"]


def fingerprint(value: JSON) -> str:
    """The sha256 (hex) of ``value`` as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclasses.dataclass(frozen=True, slots=True)
class IdempotencyKey:
    """An ``Idempotency-Key`` with its scope: who sent it and the request it came with."""

    key: str
    caller: str = LOCAL_CALLER
    fingerprint: str | None = None
