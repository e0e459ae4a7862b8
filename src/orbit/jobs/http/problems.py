"""RFC 9457 problem details: every error of the HTTP API as ``application/problem+json``.

A problem body carries ``type`` (``/problems/<slug>``, a page this server serves that
describes the kind of error: ``problem_types.py``), ``title`` (short, the
same for every occurrence of that type), ``status``, ``detail`` (this occurrence) and
``instance`` (the request path), plus extension members when useful (``errors`` for
validation failures, ``job_id`` and ``job_status`` for conflicts).

``install_problem_handlers(app)`` maps the engine's exceptions, FastAPI's validation
errors, ``HTTPException`` (unknown routes, 405, 401, 413...) and anything unexpected (a
500 that reveals nothing about the failure) to problem responses.

Example:
    >>> app = FastAPI()
    >>> install_problem_handlers(app)
"""

from __future__ import annotations

import http
import logging
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from orbit.jobs.errors import (
    IdempotencyKeyReused,
    InvalidTransition,
    JobNotFound,
    LeaseLost,
    UnknownJobType,
)
from orbit.jobs.http.problem_types import PROBLEM_BASE
from orbit.jobs.http.responses import IdempotentReplay, accepted

PROBLEM_MEDIA_TYPE = "application/problem+json"
MAX_REPORTED_ERRORS = 20

logger = logging.getLogger("orbit.jobs.http")

# Problem types named after the HTTP status they come with (RFC 9457 §4.2 allows
# "about:blank" too; named types are easier for clients to match on).
_STATUS_TYPES: dict[int, tuple[str, str]] = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-error", "Request validation failed"),
    429: ("too-many-requests", "Too many requests"),
    500: ("internal-error", "Internal server error"),
    503: ("service-unavailable", "Service unavailable"),
}


class Problem(HTTPException):
    """An ``HTTPException`` that names its problem type; raise it from routes and dependencies.

    Example:
        >>> raise Problem(422, "older_than must be positive", slug="invalid-duration")
    """

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        slug: str | None = None,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(status, detail, dict(headers) if headers else None)
        self.slug = slug
        self.title = title
        self.extensions = dict(extensions or {})


def problem_type(slug: str) -> str:
    """The ``type`` URI of the problem named ``slug``."""
    return PROBLEM_BASE + slug


def problem_body(
    status: int,
    detail: str | None = None,
    *,
    slug: str | None = None,
    title: str | None = None,
    instance: str | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A problem details object; ``slug`` and ``title`` default from ``status``."""
    default_slug, default_title = _STATUS_TYPES.get(status, ("", _phrase(status)))
    slug = slug or default_slug
    body: dict[str, Any] = {
        "type": problem_type(slug) if slug else "about:blank",
        "title": title or default_title,
        "status": status,
    }
    if detail is not None:
        body["detail"] = detail
    if instance is not None:
        body["instance"] = instance
    for key, value in (extensions or {}).items():
        body.setdefault(key, value)
    return body


def problem_response(
    status: int,
    detail: str | None = None,
    *,
    slug: str | None = None,
    title: str | None = None,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> JSONResponse:
    """A ``JSONResponse`` with a problem body and the ``application/problem+json`` type."""
    body = problem_body(
        status, detail, slug=slug, title=title, instance=instance, extensions=extensions
    )
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _instance(request: Request) -> str:
    return request.url.path


# -- handlers -----------------------------------------------------------------------------


async def _job_not_found(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, JobNotFound)
    return problem_response(
        404,
        f"No job with id {exc.job_id}.",
        slug="job-not-found",
        title="Job not found",
        instance=_instance(request),
        extensions={"job_id": str(exc.job_id)},
    )


async def _invalid_transition(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidTransition)
    return problem_response(
        409,
        f"Cannot {exc.operation} job {exc.job_id}: it is {exc.status}.",
        slug="invalid-transition",
        title="Operation not allowed in the job's current status",
        instance=_instance(request),
        extensions={
            "job_id": str(exc.job_id),
            "job_status": exc.status,
            "operation": exc.operation,
        },
    )


async def _lease_lost(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LeaseLost)
    return problem_response(
        409,
        f"Job {exc.job_id} is no longer held by this caller.",
        slug="lease-lost",
        title="Lease lost",
        instance=_instance(request),
        extensions={"job_id": str(exc.job_id)},
    )


async def _unknown_job_type(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, UnknownJobType)
    return problem_response(
        422,
        f"No handler is registered for job type {exc.job_type!r}.",
        slug="unknown-job-type",
        title="Unknown job type",
        instance=_instance(request),
        extensions={"job_type": exc.job_type},
    )


async def _idempotency_key_reused(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, IdempotencyKeyReused)
    return problem_response(
        422,
        "This Idempotency-Key was already used for a different request.",
        slug="idempotency-key-reused",
        title="Idempotency key reused",
        instance=_instance(request),
        extensions={"job_id": str(exc.job_id)},
    )


def _location(loc: Any) -> list[str | int]:
    if isinstance(loc, list | tuple):
        return [part if isinstance(part, int) else str(part) for part in loc]
    return [str(loc)]


def validation_errors(errors: Any) -> list[dict[str, Any]]:
    """Pydantic/FastAPI errors reduced to ``loc``, ``msg`` and ``type`` (never the input)."""
    reduced: list[dict[str, Any]] = []
    for error in list(errors)[:MAX_REPORTED_ERRORS]:
        if not isinstance(error, Mapping):
            reduced.append({"loc": [], "msg": str(error), "type": "value_error"})
            continue
        reduced.append(
            {
                "loc": _location(error.get("loc", ())),
                "msg": str(error.get("msg", "")),
                "type": str(error.get("type", "value_error")),
            }
        )
    return reduced


def _describe(error: Mapping[str, Any]) -> str:
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])


async def _request_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = validation_errors(exc.errors())
    detail = "; ".join(_describe(e) for e in errors[:3]) or "The request is invalid."
    return problem_response(422, detail, instance=_instance(request), extensions={"errors": errors})


async def _http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    detail: str | None = exc.detail if isinstance(exc.detail, str) else None
    if detail == _phrase(status):  # Starlette's default detail adds nothing
        detail = None
    if detail is None and status == 404:
        detail = f"No route matches {request.method} {request.url.path}."
    elif detail is None and status == 405:
        detail = f"Method {request.method} is not allowed for {request.url.path}."
    extensions: dict[str, Any] = {}
    slug = title = None
    if isinstance(exc, Problem):
        slug, title, extensions = exc.slug, exc.title, dict(exc.extensions)
    if exc.detail is not None and not isinstance(exc.detail, str):
        extensions.setdefault("errors", jsonable_encoder(exc.detail))
    headers = dict(exc.headers or {})
    if status == 405:
        headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
    return problem_response(
        status,
        detail,
        slug=slug,
        title=title,
        instance=_instance(request),
        headers=headers,
        extensions=extensions,
    )


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> str:
    """Every method the path allows (Starlette reports only the first matching route's)."""
    allowed = []
    for method in _METHODS:
        scope = {
            "type": "http",
            "path": request.scope.get("path", ""),
            "root_path": request.scope.get("root_path", ""),
            "method": method,
            "headers": request.scope.get("headers", []),
        }
        try:
            if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
                allowed.append(method)
        except Exception:  # an exotic route type; keep Starlette's own Allow header
            return ""
    return ", ".join(allowed)


def _database_away(exc: Exception) -> bool:
    # Refused or dropped connections (a restart, a failover) are temporary; any other
    # database error is a bug to be seen as one.
    return isinstance(exc, sa.exc.DBAPIError) and (
        exc.connection_invalidated
        or isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError))
    )


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    if not _database_away(exc):
        return await _unexpected(request, exc)
    logger.warning(
        "database unavailable while serving %s %s",
        request.method,
        request.url.path,
        exc_info=exc,
    )
    return problem_response(
        503,
        "The job store is temporarily unavailable; try again shortly.",
        instance=_instance(request),
        headers={"Retry-After": "1"},
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The traceback goes to the server log (Starlette re-raises after responding); the
    # client learns nothing about the failure.
    return problem_response(500, "An unexpected error occurred.", instance=_instance(request))


async def _replay(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, IdempotentReplay)
    return accepted(exc.job)  # the same answer the first request got


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error of ``app`` an RFC 9457 problem response."""
    app.add_exception_handler(IdempotentReplay, _replay)
    app.add_exception_handler(JobNotFound, _job_not_found)
    app.add_exception_handler(InvalidTransition, _invalid_transition)
    app.add_exception_handler(LeaseLost, _lease_lost)
    app.add_exception_handler(UnknownJobType, _unknown_job_type)
    app.add_exception_handler(IdempotencyKeyReused, _idempotency_key_reused)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(sa.exc.DBAPIError, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected)
