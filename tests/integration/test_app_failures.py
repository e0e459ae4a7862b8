"""One failure policy for every AI job type, against a fake model API that fails on demand.

A rejected request (401) or output that stays invalid fails the job after one attempt
with a message naming what was wrong, the operation and the model; a transient failure
(503) is retried by the job and then succeeds. Activation, execution and commit messages
are covered here (interview replies and backlog generation in their own test files).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from orbit.ai import (
    AIConfigError,
    AIError,
    AIInvalidOutput,
    AIModeRejected,
    AIOutputTruncated,
    AIPromptError,
    AIRequestRejected,
    AITimeout,
    AIUnavailable,
)
from orbit.jobs import Fail, Retry
from orbit.planning.failures import decision
from tests.ai.fake_llm_server import FakeLLMServer, Reply
from tests.integration.conftest import FAKE_MODEL, poll_job
from tests.integration.test_app_tasks import seed_execution, seed_item, seed_project

MODEL = FAKE_MODEL


def operations(client: TestClient) -> dict[str, tuple[str, dict[str, Any] | None]]:
    """For each AI job type: the route that starts it on freshly seeded rows (and its body)."""
    project = seed_project(client)
    suggested = seed_item(client, project, "task", "Recipe search")
    active = seed_item(client, project, "task", "Recipe photos", status="active")
    executed = seed_item(client, project, "task", "Recipe tags", status="active")
    seed_execution(client, executed, "Tagged recipes.\n\nDetails")
    return {
        "task_activation": (f"/api/v1/tasks/{suggested}/activate", None),
        "task_execution": (f"/api/v1/tasks/{active}/execute", None),
        "commit_generation": (f"/api/v1/commits/auto-generate/{executed}", None),
        "commit_generation (manual)": (
            f"/api/v1/commits/generate-manual/{project}",
            {"description": "Add recipe tags"},
        ),
    }


def run(client: TestClient, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == 202, response.text
    job, _ = poll_job(client, response.json()["job_id"])
    return job


OPERATIONS = [
    "task_activation",
    "task_execution",
    "commit_generation",
    "commit_generation (manual)",
]


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_rejected_request_fails_after_one_attempt(
    remote_client: TestClient, fake_llm: FakeLLMServer, operation: str
) -> None:
    path, body = operations(remote_client)[operation]
    fake_llm.push(Reply.error(401, "invalid api key"))
    job = run(remote_client, path, body)
    assert job["status"] == "failed" and job["attempts"] == 1, job
    assert job["error"].startswith("AI API call failed:")
    assert "invalid api key" in job["error"]
    assert job["error"].endswith(f"({job['job_type']})")
    assert job["error"].count(MODEL) == 1, job["error"]  # the model, named once
    assert job["error_code"] == "ai_auth"
    assert len(fake_llm.requests) == 1  # no second try: a bad key stays bad


@pytest.mark.parametrize("operation", OPERATIONS)
def test_output_that_stays_invalid_fails_after_one_attempt(
    remote_client: TestClient, fake_llm: FakeLLMServer, operation: str
) -> None:
    path, body = operations(remote_client)[operation]
    # Nothing scripted: every reply is the fake's plain-text greeting, never valid JSON.
    job = run(remote_client, path, body)
    assert job["status"] == "failed" and job["attempts"] == 1, job
    assert job["error"].startswith("AI returned invalid ")
    assert job["error"].endswith(f"({job['job_type']})")
    assert job["error"].count(MODEL) == 1, job["error"]  # the model, named once
    assert job["error_code"] == "ai_invalid_output"


def test_a_transient_failure_is_retried_and_then_succeeds(
    remote_client: TestClient, fake_llm: FakeLLMServer
) -> None:
    path, body = operations(remote_client)["commit_generation (manual)"]
    fake_llm.push(
        Reply.error(503, "overloaded", **{"Retry-After": "0"}),
        Reply(text='{"subject": "feat: add recipe tags", "body": "Tags on recipes."}'),
    )
    job = run(remote_client, path, body)
    assert job["status"] == "completed" and job["attempts"] == 2, job
    assert job["result"]["message"] == "feat: add recipe tags"


def test_the_decision_per_kind_of_error() -> None:
    unavailable = AIUnavailable("HTTP 429: slow down", provider="openai", status_code=429)
    unavailable.retry_after = 7.5  # type: ignore[attr-defined]  # set by providers that read Retry-After
    transient = decision(unavailable, "backlog_generation", "m")
    assert isinstance(transient, Retry) and transient.after == 7.5
    assert (
        transient.reason == "AI API call failed: HTTP 429: slow down (backlog_generation, model m)"
    )
    plain = decision(AIUnavailable("timeout", provider="openai"), "interview_message", "m")
    assert isinstance(plain, Retry) and plain.after is None  # the job type's backoff decides
    for permanent in (
        AIRequestRejected("HTTP 403: forbidden", provider="openai", status_code=403),
        AIInvalidOutput(
            prompt_name="backlog.epic", schema_name="EpicDraft", errors=["title"], raw_output=""
        ),
    ):
        failed = decision(permanent, "backlog_generation", "m")
        assert isinstance(failed, Fail)
        assert failed.message == f"{permanent} (backlog_generation, model m)"
    named = AIRequestRejected("HTTP 401: bad key", provider="openai", model="smollm2")
    assert decision(named, "commit_generation", "smollm2").message == f"{named} (commit_generation)"
    assert str(decision(named, "commit_generation", "smollm2").message).count("smollm2") == 1


def _invalid(kind: type[AIInvalidOutput] = AIInvalidOutput) -> AIInvalidOutput:
    return kind(prompt_name="backlog.epic", schema_name="EpicDraft", errors=["x"], raw_output="")


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (_invalid(), "ai_invalid_output"),
        (_invalid(AIOutputTruncated), "ai_output_truncated"),
        (AIRequestRejected("HTTP 401", provider="openai", status_code=401), "ai_auth"),
        (AIRequestRejected("HTTP 403", provider="openai", status_code=403), "ai_auth"),
        (AIRequestRejected("HTTP 400", provider="openai", status_code=400), "ai_bad_request"),
        (AIModeRejected("HTTP 422", provider="openai", status_code=422), "ai_bad_request"),
        (AIUnavailable("HTTP 429", provider="openai", status_code=429), "ai_rate_limited"),
        (AIUnavailable("HTTP 503", provider="openai", status_code=503), "ai_unavailable"),
        (AIUnavailable("connection refused", provider="openai"), "ai_unavailable"),
        (AITimeout("no reply in 60s", provider="openai"), "ai_timeout"),
        (AIConfigError("no SDK"), "ai_config"),
        (AIPromptError("no prompt x"), "ai_prompt"),
        (AIError("something else"), "ai_error"),
    ],
)
def test_each_kind_of_ai_error_fails_or_retries_with_its_code(error: AIError, code: str) -> None:
    signal = decision(error, "backlog_generation", "m")
    assert signal.code == code
