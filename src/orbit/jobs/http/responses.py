"""Response helpers: the 202 answer of every enqueueing route, and job ETags.

Example:
    >>> job = client.enqueue("interview_message", {"interview_id": "…", "message": "hi"})
    >>> accepted(job).headers["Location"]
    '/api/v1/jobs/3f0c…'
"""

from __future__ import annotations

from fastapi.responses import JSONResponse

from orbit.jobs.models import Job

API_PREFIX = "/api/v1"


def job_location(job: Job, prefix: str = API_PREFIX) -> str:
    """Where the job can be polled: ``{prefix}/jobs/{id}``."""
    return f"{prefix.rstrip('/')}/jobs/{job.id}"


def accepted(job: Job, message: str | None = None, *, location: str | None = None) -> JSONResponse:
    """The 202 answer to a request that enqueued ``job``.

    The body is ``{"job_id", "status", "message"}``; ``status`` is the job's actual status
    (a repeated request with the same ``Idempotency-Key`` may find it already running or
    done). ``Location`` points at the job and ``Retry-After`` suggests when to poll.
    """
    location = location or job_location(job)
    body = {
        "job_id": str(job.id),
        "status": job.status.value,
        "message": message or f"Job created successfully. Poll GET {location} for result.",
    }
    return JSONResponse(body, status_code=202, headers={"Location": location, "Retry-After": "1"})


def etag_for(job: Job) -> str:
    """A weak validator that changes whenever the job does (its ``version`` bumps)."""
    return f'W/"{job.id}-{job.version}"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Weak comparison of ``etag`` against an ``If-None-Match`` header (RFC 9110 §13.1.2)."""
    if not if_none_match:
        return False
    wanted = _opaque(etag)
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*" or _opaque(tag) == wanted:
            return True
    return False


def _opaque(tag: str) -> str:
    return tag[2:] if tag[:2] in ("W/", "w/") else tag


class IdempotentReplay(Exception):
    """A request repeated with a used ``Idempotency-Key``: answer with its job (202)."""

    def __init__(self, job: Job) -> None:
        super().__init__(f"replay of job {job.id}")
        self.job = job
