"""The problem types the API answers with, and the pages that describe them.

Every problem's ``type`` is ``/problems/<slug>``, a URI reference into the server
itself: ``GET /problems/<slug>`` answers a short description of that kind of error
(HTML for a browser, JSON when asked with ``Accept: application/json``), and
``GET /problems`` lists them. An application adds its own kinds to the catalogue it
passes to ``problem_pages_router``.

``ProblemDetails`` is the body's schema (RFC 9457), as the OpenAPI document shows it.

Example:
    >>> catalogue = ProblemCatalogue(ENGINE_PROBLEMS)
    >>> catalogue.add(ProblemType("stack-conflict", "Conflict", 409, "Another stack."))
    >>> app.include_router(problem_pages_router(catalogue))
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

PROBLEM_BASE = "/problems/"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,79}$"
_NOT_FOUND = re.compile(r"(?P<what>[a-z0-9][a-z0-9-]*)-not-found")


class FieldError(BaseModel):
    """One invalid part of a request: where (``loc``), what is wrong (``msg``) and its kind."""

    loc: list[str | int]
    msg: str
    type: str


class ProblemDetails(BaseModel):
    """An RFC 9457 problem: every error of this API has this body."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field(description="A URI reference naming the kind of problem (/problems/...).")
    title: str = Field(description="Short and the same for every problem of this type.")
    status: int = Field(description="The HTTP status code.")
    detail: str | None = Field(None, description="What went wrong this time.")
    instance: str | None = Field(None, description="The request path.")
    errors: list[FieldError] | None = Field(None, description="Validation errors (422).")


@dataclasses.dataclass(frozen=True)
class ProblemType:
    """One kind of problem: its slug, title, usual status and what it means."""

    slug: str
    title: str
    status: int
    description: str


ENGINE_PROBLEMS: tuple[ProblemType, ...] = (
    ProblemType("bad-request", "Bad request", 400, "The request could not be read."),
    ProblemType("unauthorized", "Authentication required", 401, "Send the API token."),
    ProblemType("forbidden", "Forbidden", 403, "The token does not allow this request."),
    ProblemType("not-found", "Not found", 404, "No route or resource matches the request."),
    ProblemType("method-not-allowed", "Method not allowed", 405, "See the Allow header."),
    ProblemType("not-acceptable", "Not acceptable", 406, "No representation matches Accept."),
    ProblemType("conflict", "Conflict", 409, "The resource's state does not allow this."),
    ProblemType("payload-too-large", "Request body too large", 413, "Send a smaller body."),
    ProblemType("unsupported-media-type", "Unsupported media type", 415, "Send JSON."),
    ProblemType("validation-error", "Request validation failed", 422, "See errors[]."),
    ProblemType("too-many-requests", "Too many requests", 429, "Wait for Retry-After."),
    ProblemType("internal-error", "Internal server error", 500, "An unexpected failure."),
    ProblemType("service-unavailable", "Service unavailable", 503, "Retry after Retry-After."),
    ProblemType("job-not-found", "Job not found", 404, "No job has that id."),
    ProblemType(
        "invalid-transition",
        "Operation not allowed in the job's current status",
        409,
        "The job's status does not allow the operation (job_status says which it is).",
    ),
    ProblemType("lease-lost", "Lease lost", 409, "Another worker holds the job now."),
    ProblemType("unknown-job-type", "Unknown job type", 422, "No handler has that job type."),
    ProblemType("invalid-cursor", "Invalid cursor", 422, "Pass back a next_cursor unchanged."),
    ProblemType("invalid-duration", "Invalid duration", 422, "Seconds or ISO-8601 (P7D)."),
    ProblemType(
        "invalid-last-event-id",
        "Invalid Last-Event-ID",
        422,
        "Last-Event-ID must be an event id this stream sent.",
    ),
    ProblemType(
        "idempotency-key-reused",
        "Idempotency key reused",
        422,
        "The Idempotency-Key was already used, by the same caller for the same job type, "
        "with a different request (job_id names its job). Use a new key for a new request.",
    ),
    ProblemType(
        "too-many-streams",
        "Too many event streams",
        503,
        "The server serves as many event streams as it allows; retry after Retry-After, "
        "or poll the job meanwhile.",
    ),
)


class ProblemCatalogue:
    """The problem types a server documents; ``<thing>-not-found`` slugs are implied."""

    def __init__(self, types: Iterable[ProblemType] = ENGINE_PROBLEMS) -> None:
        self._types: dict[str, ProblemType] = {}
        for kind in types:
            self.add(kind)

    def add(self, kind: ProblemType) -> None:
        if not re.fullmatch(SLUG_PATTERN, kind.slug):
            raise ValueError(f"{kind.slug!r} is not a problem slug")
        self._types[kind.slug] = kind

    def describe(self, slug: str) -> ProblemType | None:
        """The problem type named ``slug``, or ``None`` when this server never answers it."""
        if slug in self._types:
            return self._types[slug]
        if match := _NOT_FOUND.fullmatch(slug):
            what = match["what"].replace("-", " ")
            title = f"{what.capitalize()} not found"
            return ProblemType(slug, title, 404, f"No {what} has that id.")
        return None

    def __iter__(self) -> Any:
        return iter(sorted(self._types.values(), key=lambda kind: kind.slug))


def _page(kind: ProblemType) -> str:
    title = html.escape(kind.title)
    return (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        f"<title>{title}</title><h1>{title}</h1>"
        f"<p>HTTP {kind.status}. {html.escape(kind.description)}</p>"
        f"<p><code>type: {PROBLEM_BASE}{kind.slug}</code></p></html>"
    )


def problem_pages_router(catalogue: ProblemCatalogue) -> APIRouter:
    """``GET /problems`` and ``GET /problems/{slug}``: the pages that problem types point at."""
    router = APIRouter(tags=["problems"])

    @router.get("/problems", summary="Every problem type this server answers with")
    def list_problem_types() -> list[dict[str, Any]]:
        return [dataclasses.asdict(kind) for kind in catalogue]

    @router.get(
        "/problems/{slug}",
        summary="What one problem type means",
        response_class=HTMLResponse,
        responses={200: {"content": {"application/json": {}}}},
    )
    def describe_problem_type(
        slug: Annotated[str, Path(pattern=SLUG_PATTERN)], request: Request
    ) -> Response:
        kind = catalogue.describe(slug)
        if kind is None:  # the application's handler renders it as a not-found problem
            raise HTTPException(404, f"No problem type is named {slug!r}.")
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse(dataclasses.asdict(kind))
        return HTMLResponse(_page(kind))

    return router
