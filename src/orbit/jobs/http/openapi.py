"""Make an application's OpenAPI document describe what the server really answers.

FastAPI documents validation errors as its own ``HTTPValidationError`` in
``application/json`` and a route that returns ``accepted(job)`` as ``schema: {}``. The
jobs API answers every error as ``application/problem+json`` (``problems.py``) and every
202 of an enqueueing route with an ``Accepted`` body, so ``describe_contract`` rewrites
the generated document:

* every 4xx/5xx response: ``application/problem+json`` with the ``Problem`` schema;
* the errors an operation's shape implies: 404 with path parameters, 422 with input,
  413 with a body; on protected operations 401 and 503 (database unavailable);
* every protected operation: the ``bearerAuth`` scheme (the event
  streams also accept ``streamToken``, the ``?access_token=`` of ``tokens.py``, and answer
  403 to a token of another stream), so
  ``/docs`` can authorise; with ``token_required=False`` a request without one is allowed;
* every 202 with an empty schema: the ``Accepted`` model.

Example:
    >>> schema = describe_contract(get_openapi(...), protected_prefix="/api/v1")
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from orbit.jobs.http.problem_types import ProblemDetails
from orbit.jobs.http.problems import PROBLEM_MEDIA_TYPE
from orbit.jobs.http.schemas import Accepted

_REF = "#/components/schemas/{model}"
_FASTAPI_ERRORS = ("HTTPValidationError", "ValidationError")
_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})
BEARER = {"type": "http", "scheme": "bearer", "description": "The server's ORBIT_API_TOKEN."}
STREAM_TOKEN = {
    "type": "apiKey",
    "in": "query",
    "name": "access_token",
    "description": (
        "A stream token from POST /api/v1/auth/stream-token, for the one event stream it "
        "names (a job's or a project's); it must connect before it expires (60 s)."
    ),
}


def _add_model(components: dict[str, Any], model: type[BaseModel]) -> dict[str, str]:
    """Put ``model`` (and the models it uses) in ``components``; a reference to it."""
    schema = model.model_json_schema(ref_template=_REF)
    for name, nested in schema.pop("$defs", {}).items():
        components.setdefault(name, nested)
    name = str(schema.get("title", model.__name__))
    components.setdefault(name, schema)
    return {"$ref": _REF.format(model=name)}


def _is_error(code: str) -> bool:
    return code == "default" or code[:1] in ("4", "5")


def _problem_response(description: str, problem: dict[str, str]) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": problem}}}


def _rewrite_responses(
    responses: dict[str, Any], problem: dict[str, str], accepted: dict[str, str]
) -> None:
    for code, response in responses.items():
        if _is_error(code):
            description = response.get("description") or "Error"
            responses[code] = _problem_response(description, problem)
        elif code == "202":
            json_body = response.get("content", {}).get("application/json")
            if json_body is not None and not json_body.get("schema"):
                json_body["schema"] = accepted


def _add_implied_errors(operation: dict[str, Any], protected: bool) -> None:
    """The errors every operation of its shape can answer, whatever its route declares."""
    responses = operation.setdefault("responses", {})
    parameters = operation.get("parameters", [])
    implied: dict[str, str] = {}
    if any(p.get("in") == "path" for p in parameters):
        implied["404"] = "Nothing has that id."
    if parameters or "requestBody" in operation:
        implied["422"] = "Invalid request (the problem's errors list what and where)."
    if "requestBody" in operation:
        implied["413"] = "Request body too large."
    if protected:
        implied["401"] = "Missing or invalid bearer token."
        implied["503"] = "The database is unavailable for a moment (see Retry-After)."
    for code, description in implied.items():
        responses.setdefault(code, {"description": description})


def _security(path: str, token_required: bool) -> list[dict[str, list[str]]]:
    schemes: list[dict[str, list[str]]] = [{"bearerAuth": []}]
    if path.endswith("/events"):
        schemes.append({"streamToken": []})
    if not token_required:
        schemes.append({})  # this server was started without ORBIT_API_TOKEN
    return schemes


def _operations(schema: dict[str, Any]) -> Iterable[tuple[str, dict[str, Any]]]:
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method in _METHODS:
                yield path, operation


def _protected(path: str, prefix: str, open_paths: frozenset[str]) -> bool:
    return path not in open_paths and (path == prefix or path.startswith(prefix + "/"))


def describe_contract(
    schema: dict[str, Any],
    *,
    protected_prefix: str,
    open_paths: Iterable[str] = (),
    token_required: bool = True,
) -> dict[str, Any]:
    """``schema`` rewritten in place (and returned) to document problems, auth and 202s."""
    components = schema.setdefault("components", {})
    models = components.setdefault("schemas", {})
    problem = _add_model(models, ProblemDetails)
    accepted = _add_model(models, Accepted)
    components.setdefault("securitySchemes", {}).update(bearerAuth=BEARER, streamToken=STREAM_TOKEN)
    prefix, opened = protected_prefix.rstrip("/"), frozenset(open_paths)
    for path, operation in _operations(schema):
        protected = _protected(path, prefix, opened)
        if protected:
            operation["security"] = _security(path, token_required)
        _add_implied_errors(operation, protected)
        if protected and path.endswith("/events"):
            operation["responses"].setdefault(
                "403", {"description": "The stream token was issued for another stream."}
            )
        _rewrite_responses(operation["responses"], problem, accepted)
    for name in _FASTAPI_ERRORS:
        models.pop(name, None)
    return schema
