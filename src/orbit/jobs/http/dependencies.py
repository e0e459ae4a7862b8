"""FastAPI dependencies shared by the jobs routes and by the application's own routes.

``get_client`` and ``get_registry`` read what the application's lifespan put on
``app.state``; ``load_job`` is load-or-404; ``idempotency_key`` validates the
``Idempotency-Key`` header, scopes it to the caller with the request's fingerprint for
enqueueing routes to pass to ``JobClient.enqueue``, and answers a repeated request with
its job before the route runs.

Example:
    >>> @router.post("/interviews/{interview_id}/messages", status_code=202)
    ... def send(body: Msg, client: ClientDep, key: IdempotencyKeyDep) -> JSONResponse:
    ...     job = client.enqueue("interview_message", body.model_dump(), idempotency_key=key)
    ...     return accepted(job)
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import uuid
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request

from orbit.jobs.client import JobClient
from orbit.jobs.http.inputs import NulFreeText
from orbit.jobs.http.nonblocking import without_blocking
from orbit.jobs.http.problems import Problem
from orbit.jobs.http.responses import IdempotentReplay
from orbit.jobs.http.security import ANONYMOUS_CALLER, CALLER_SCOPE_KEY
from orbit.jobs.idempotency import IdempotencyKey, fingerprint
from orbit.jobs.models import Job
from orbit.jobs.worker.registry import JobRegistry

IDEMPOTENCY_KEY_MAX = 200
# Visible ASCII, inner spaces allowed: what the idempotency_key column can hold verbatim.
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$"
MAX_DURATION = dt.timedelta(days=36_500)

_ISO_DURATION = re.compile(
    r"P(?!$)(?:(?P<weeks>\d+(?:[.,]\d+)?)W)?(?:(?P<days>\d+(?:[.,]\d+)?)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+(?:[.,]\d+)?)H)?(?:(?P<minutes>\d+(?:[.,]\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?)?",
    re.IGNORECASE,
)
_UNIT_SECONDS = {"weeks": 604_800, "days": 86_400, "hours": 3_600, "minutes": 60, "seconds": 1}


def invalid_query(name: str, detail: str, *, slug: str, title: str) -> Problem:
    """A 422 problem about query parameter ``name``, shaped like a validation error."""
    error = {"loc": ["query", name], "msg": detail, "type": "value_error"}
    return Problem(422, detail, slug=slug, title=title, extensions={"errors": [error]})


async def get_client(request: Request) -> JobClient:
    """The application's ``JobClient`` (``app.state.client``)."""
    client: JobClient = request.app.state.client
    return client


async def get_registry(request: Request) -> JobRegistry:
    """The application's job-type registry (``app.state.registry``; empty when unset)."""
    registry = getattr(request.app.state, "registry", None)
    return registry if isinstance(registry, JobRegistry) else JobRegistry()


ClientDep = Annotated[JobClient, Depends(get_client)]
RegistryDep = Annotated[JobRegistry, Depends(get_registry)]
JobIdPath = Annotated[uuid.UUID, Path(description="The job's id (a UUID).")]
JobTypeQuery = Annotated[NulFreeText | None, Query(min_length=1, max_length=100)]
"""The ``job_type`` filter of the list, stats, delete and project-stream routes."""


def load_job(job_id: JobIdPath, client: ClientDep) -> Job:
    """The job named in the path, or a 404 problem (``JobNotFound``)."""
    return client.get(job_id)


JobDep = Annotated[Job, Depends(load_job)]


IdempotencyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=IDEMPOTENCY_KEY_MAX,
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description=(
            "Repeat a request with the same key to get the same job back (202). The "
            "same key with a different request is a 422 idempotency-key-reused problem. "
            "Keys are scoped to the caller (its bearer token) and the job type, and "
            "expire with their job (ORBIT_RETENTION_SECONDS after it finished)."
        ),
    ),
]
"""The ``Idempotency-Key`` header as a parameter (validated: at most 200 printable ASCII
characters). The dependencies below take it as a parameter, not as a dependency of their
own: every level of dependency costs FastAPI tens of microseconds per request."""


async def idempotency_header(key: IdempotencyHeader = None) -> str | None:
    """The request's ``Idempotency-Key``."""
    return key


IdempotencyHeaderDep = Annotated[str | None, Depends(idempotency_header)]


async def request_fingerprint(request: Request) -> str:
    """The fingerprint of what this request asks for: method, path (its parameters), query
    and body as canonical JSON (a body that is not JSON counts as its text)."""
    raw = await request.body()
    try:
        body: object = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode("latin-1")
    return fingerprint(
        {
            "method": request.method,
            "path": request.url.path,
            "query": sorted(request.query_params.multi_items()),
            "body": body,
        }
    )


async def scoped_idempotency_key(
    request: Request, key: IdempotencyHeader = None
) -> IdempotencyKey | None:
    """The ``Idempotency-Key`` scoped to its caller, with the request's fingerprint.

    The caller is a digest of the bearer token (``anonymous`` without one); the job type
    completes the scope in ``JobClient.enqueue``. No replay: a route that answers a
    repeat itself (not with the job's 202) takes this one and ``JobClient.find``.
    """
    if key is None:
        return None
    caller = request.scope.get(CALLER_SCOPE_KEY, ANONYMOUS_CALLER)
    return IdempotencyKey(key, caller=caller, fingerprint=await request_fingerprint(request))


ScopedKeyDep = Annotated[IdempotencyKey | None, Depends(scoped_idempotency_key)]


async def idempotency_key(request: Request, key: IdempotencyHeader = None) -> IdempotencyKey | None:
    """The scoped ``Idempotency-Key``; a repeat of a request answers with its job (202).

    The replay of a request already seen (same caller, key and request fingerprint)
    happens before the route validates anything: it gets its job back even when the thing
    it acted on has moved on since (an activated item is no longer ``suggested``).
    Anything else reaches the route, and ``JobClient.enqueue`` settles the race between
    two requests carrying the key and answers ``IdempotencyKeyReused`` (422) when the
    key's job came from another request.
    """
    scoped = await scoped_idempotency_key(request, key)
    if scoped is None:
        return None
    client = await get_client(request)

    def find(_wait: bool) -> Job | None:
        return client.find(scoped.key, caller=scoped.caller, fingerprint=scoped.fingerprint)

    found = await without_blocking(client, find)
    if found is not None:
        raise IdempotentReplay(found)
    return scoped


IdempotencyKeyDep = Annotated[IdempotencyKey | None, Depends(idempotency_key)]


async def page_cursor(
    cursor: Annotated[
        NulFreeText | None,
        Query(max_length=512, description="The previous page's next_cursor."),
    ] = None,
) -> str | None:
    """The list cursor, checked before it reaches the database; malformed ones are a 422."""
    if cursor is None:
        return None
    if not JobClient.valid_cursor(cursor):
        raise invalid_query(
            "cursor",
            "The cursor is malformed; pass back a next_cursor returned by this endpoint.",
            slug="invalid-cursor",
            title="Invalid cursor",
        )
    return cursor


CursorDep = Annotated[str | None, Depends(page_cursor)]


def parse_duration(text: str) -> dt.timedelta:
    """Seconds (``"3600"``, ``"1.5"``) or an ISO-8601 duration (``"P1D"``, ``"PT1H30M"``).

    Raises ``ValueError`` for anything else, negative values and absurd lengths.
    """
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        match = _ISO_DURATION.fullmatch(text)
        if match is None:
            raise ValueError(f"{text!r} is neither seconds nor an ISO-8601 duration") from None
        seconds = sum(
            float(value.replace(",", ".")) * _UNIT_SECONDS[unit]
            for unit, value in match.groupdict().items()
            if value
        )
    if math.isnan(seconds) or seconds < 0:
        raise ValueError("a duration must be zero or positive")
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError("duration too long")
    return dt.timedelta(seconds=seconds)


async def older_than(
    value: Annotated[
        NulFreeText,
        Query(
            alias="older_than",
            max_length=64,
            description="Seconds, or an ISO-8601 duration such as P7D; default 0.",
        ),
    ] = "0",
) -> dt.timedelta:
    """The ``older_than`` query parameter as a ``timedelta``; bad values are a 422."""
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise invalid_query(
            "older_than", f"older_than: {exc}", slug="invalid-duration", title="Invalid duration"
        ) from None


OlderThanDep = Annotated[dt.timedelta, Depends(older_than)]
