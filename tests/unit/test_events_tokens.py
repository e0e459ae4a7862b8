"""Stream tokens: signed, short-lived, bound to the API token and to one stream."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from orbit.jobs.http import BearerTokenMiddleware, StreamTokens
from orbit.jobs.http.security import pop_query_param
from orbit.jobs.http.tokens import TokenCheck, job_target, project_target

JOB = job_target(uuid.UUID(int=1))


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_is_valid_until_it_expires() -> None:
    clock = Clock()
    tokens = StreamTokens(b"api-token", ttl_seconds=60, clock=clock)
    token, expires_in = tokens.issue(JOB)
    assert expires_in == 60
    assert tokens.verify(token, JOB)
    clock.now += 60
    assert tokens.verify(token, JOB)
    clock.now += 1
    assert tokens.check(token, JOB) is TokenCheck.INVALID


def test_the_default_lifetime_is_a_minute() -> None:
    assert StreamTokens(b"api-token").ttl_seconds == 60


def test_a_token_opens_only_the_stream_it_was_issued_for() -> None:
    tokens = StreamTokens(b"api-token")
    token, _ = tokens.issue(JOB)
    assert tokens.check(token, JOB) is TokenCheck.VALID
    assert tokens.check(token, job_target(uuid.UUID(int=2))) is TokenCheck.OTHER_STREAM
    assert tokens.check(token, project_target(uuid.UUID(int=1))) is TokenCheck.OTHER_STREAM
    expires, _, nonce, signature = token.split(".")
    retargeted = f"{expires}.{project_target(uuid.UUID(int=1))}.{nonce}.{signature}"
    assert tokens.check(retargeted, project_target(uuid.UUID(int=1))) is TokenCheck.INVALID


def test_tokens_are_unique_and_bound_to_the_secret() -> None:
    tokens = StreamTokens(b"api-token")
    first, _ = tokens.issue(JOB)
    second, _ = tokens.issue(JOB)
    assert first != second
    assert not StreamTokens(b"other-token").verify(first, JOB)


@pytest.mark.parametrize(
    "forged",
    ["", "x", "1.2", "..", "abc.def.ghi", "9999999999.nonce.", "9999999999.j.n.", "9" * 300],
)
def test_malformed_or_forged_tokens_are_refused(forged: str) -> None:
    assert StreamTokens(b"api-token").check(forged, JOB) is TokenCheck.INVALID


def test_a_changed_expiry_breaks_the_signature() -> None:
    tokens = StreamTokens(b"api-token")
    token, _ = tokens.issue(JOB)
    expires, target, nonce, signature = token.split(".")
    assert not tokens.verify(f"{int(expires) + 1}.{target}.{nonce}.{signature}", JOB)


def test_empty_secrets_and_lifetimes_are_rejected() -> None:
    with pytest.raises(ValueError):
        StreamTokens(b"")
    with pytest.raises(ValueError):
        StreamTokens(b"x", ttl_seconds=0)


def test_the_access_token_parameter_is_cut_out_of_the_query_string() -> None:
    scope = {"query_string": b"after=3&access_token=a.b.c&x=%20y&access_token=d"}
    assert pop_query_param(scope, b"access_token") == [b"a.b.c", b"d"]
    assert scope["query_string"] == b"after=3&x=%20y"
    untouched = {"query_string": b"after=3"}
    assert pop_query_param(untouched, b"access_token") == []
    assert untouched["query_string"] == b"after=3"


# -- the middleware: a token opens its own stream, at connect time, and nothing else ------


async def _ok(scope: Scope, receive: Receive, send: Send) -> None:
    await PlainTextResponse("streaming")(scope, receive, send)


@pytest.fixture
def guarded() -> tuple[TestClient, BearerTokenMiddleware, Clock]:
    clock = Clock()
    middleware = BearerTokenMiddleware(_ok, token="api-token", stream_token_seconds=60, clock=clock)
    return TestClient(middleware), middleware, clock  # type: ignore[arg-type]


def test_a_job_token_opens_that_job_stream_only(
    guarded: tuple[TestClient, BearerTokenMiddleware, Clock],
) -> None:
    http, middleware, _ = guarded
    job, other, project = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    token, _ = middleware.stream_tokens.issue(job_target(job))
    own = {"access_token": token}

    assert http.get(f"/api/v1/jobs/{job}/events", params=own).status_code == 200
    for url, params in (
        (f"/api/v1/jobs/{other}/events", own),
        ("/api/v1/jobs/events", {**own, "project_id": str(project)}),
    ):
        refused = http.get(url, params=params)
        assert refused.status_code == 403, url
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["type"] == "/problems/forbidden"
    assert http.get(f"/api/v1/jobs/{job}", params=own).status_code == 401


def test_a_project_token_opens_that_project_stream_only(
    guarded: tuple[TestClient, BearerTokenMiddleware, Clock],
) -> None:
    http, middleware, _ = guarded
    project, job = uuid.uuid4(), uuid.uuid4()
    token, _ = middleware.stream_tokens.issue(project_target(project))
    url = "/api/v1/jobs/events"

    opened = http.get(url, params={"project_id": str(project), "access_token": token})
    assert opened.status_code == 200
    assert (
        http.get(url, params={"project_id": str(uuid.uuid4()), "access_token": token}).status_code
        == 403
    )
    assert http.get(f"/api/v1/jobs/{job}/events", params={"access_token": token}).status_code == 403
    # Two project_ids: which one the route would read is not the token's business.
    twice = f"{url}?project_id={project}&project_id={uuid.uuid4()}&access_token={token}"
    assert http.get(twice).status_code == 401


def test_an_expired_stream_token_is_refused(
    guarded: tuple[TestClient, BearerTokenMiddleware, Clock],
) -> None:
    http, middleware, clock = guarded
    job = uuid.uuid4()
    token, expires_in = middleware.stream_tokens.issue(job_target(job))
    url = f"/api/v1/jobs/{job}/events"
    clock.now += expires_in
    assert http.get(url, params={"access_token": token}).status_code == 200
    clock.now += 1
    refused = http.get(url, params={"access_token": token})
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]
