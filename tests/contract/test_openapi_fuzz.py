"""schemathesis over the app's OpenAPI document: no request makes the server answer 5xx.

Every operation of the document is fuzzed with schema-shaped and malformed input, on
SQLite and PostgreSQL, with the bearer token off and on (then the requests carry it).
Each response must not be a server error and must match what the document says: its
status code, content type, headers and body schema (so problem+json bodies are checked
against ``Problem`` and 202 bodies against ``Accepted``).

The number of examples per operation is bounded (``ORBIT_FUZZ_EXAMPLES``, default 8) so
the whole file fits a CI run in about two minutes; raise it locally to dig deeper::

    ORBIT_FUZZ_EXAMPLES=200 .venv/bin/pytest -q tests/contract/test_openapi_fuzz.py

The project and jobs-wide event streams (``GET /api/v1/jobs/events``, ``GET /api/v1/events``)
are left out: for any filter each is an endless 200 stream, which a fuzzer's request cannot
finish reading. Their bad-input answers are tested in
``tests/integration/test_http_bad_input.py`` and ``test_sse.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from orbit.api import create_app
from orbit.jobs import JobContext, JobRegistry
from tests.integration.conftest import app_settings

TOKEN = "fuzz-token"
EXAMPLES = int(os.environ.get("ORBIT_FUZZ_EXAMPLES", "8"))
ENDLESS_STREAMS = {("GET", "/api/v1/jobs/events"), ("GET", "/api/v1/events")}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _registry() -> JobRegistry:
    registry = JobRegistry()

    @registry.job("echo")
    async def echo(ctx: JobContext, **input_data: Any) -> dict[str, Any]:
        return input_data

    return registry


@pytest.fixture(params=[None, TOKEN], ids=["auth-off", "auth-on"])
def live_api(
    request: pytest.FixtureRequest, db_url: str, tmp_path: Path
) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The app with its lifespan running (no worker: the fuzzer's jobs stay pending)."""
    token: str | None = request.param
    settings_ = app_settings(db_url, tmp_path, embedded_worker=False, api_token=token)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with TestClient(create_app(settings_, _registry()), raise_server_exceptions=False) as client:
        yield client, headers


def _operations(client: TestClient) -> list[Any]:
    document = client.app.openapi()  # type: ignore[attr-defined]
    results = list(schemathesis.openapi.from_dict(document).get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results)  # every operation of the document is usable
    return [op for op in operations if (op.method.upper(), op.path) not in ENDLESS_STREAMS]


def _fuzz(operation: Any, client: TestClient, headers: dict[str, str]) -> None:
    """Send ``EXAMPLES`` generated requests to ``operation`` and check every answer."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Case[Any]) -> None:
        kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
        kwargs.pop("cookies", None)  # TestClient keeps cookies per client, not per request
        response = client.request(**kwargs)
        assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text}"
        case.validate_response(response, checks=CHECKS, headers=headers)

    run()


def test_no_server_error_and_every_response_matches_the_document(
    live_api: tuple[TestClient, dict[str, str]],
) -> None:
    client, headers = live_api
    operations = _operations(client)
    assert len(operations) >= 30
    for operation in operations:
        _fuzz(operation, client, headers)
