"""Fixtures for HTTP-level tests of the Orbit app: a live app with its embedded worker."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from orbit.api import create_app
from orbit.jobs import JobClient
from orbit.settings import Settings
from tests.ai.fake_llm_server import FakeLLMServer


def app_settings(db_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for a test app: fast worker timings, offline AI, a private projects dir."""
    values: dict[str, Any] = {
        "database_url": db_url,
        "poll_seconds": 0.2,
        "cancel_poll_seconds": 0.1,
        "reap_seconds": 0.5,
        "projects_dir": str(tmp_path / "projects"),
        "ai_provider": "offline",
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def app_client(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    """A running app (embedded worker on) on a migrated database, both dialects."""
    with TestClient(create_app(app_settings(db_url, tmp_path))) as client:
        yield client


FAKE_MODEL = "fake-model"


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[FakeLLMServer]:
    """A fake OpenAI-compatible API, for the faults a real server won't produce on demand."""
    server = FakeLLMServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def remote_client(db_url: str, tmp_path: Path, fake_llm: FakeLLMServer) -> Iterator[TestClient]:
    """The app talking to the fake OpenAI-compatible API, without in-provider retries."""
    fake_llm.reset()
    settings = app_settings(
        db_url,
        tmp_path,
        ai_provider="openai",
        ai_model=FAKE_MODEL,
        ai_base_url=f"{fake_llm.url}/v1",
        ai_api_key="test-key",
        ai_max_retries=0,
        ai_timeout_seconds=5,
    )
    with TestClient(create_app(settings)) as client:
        yield client
    fake_llm.reset()


def poll_job(
    client: TestClient, job_id: str, timeout: float = 30.0, interval: float = 0.005
) -> tuple[dict[str, Any], list[tuple[float | None, str | None]]]:
    """Poll ``GET /api/v1/jobs/{id}`` as a client would until the job finishes.

    Returns the final job and every distinct (percent, message) the poller saw, in order.
    """
    seen: list[tuple[float | None, str | None]] = []
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/api/v1/jobs/{job_id}")
        assert response.status_code == 200, response.text
        job = response.json()
        step = (job["progress_percent"], job["progress_message"])
        if job["status"] == "running" and (not seen or seen[-1] != step):
            seen.append(step)
        if job["status"] in ("completed", "failed", "cancelled"):
            return job, seen
        if time.monotonic() > deadline:
            pytest.fail(f"job {job_id} still {job['status']} after {timeout}s")
        time.sleep(interval)


def progress_messages(client: TestClient, job_id: str) -> list[tuple[float | None, str | None]]:
    """Every progress update the job recorded, from its event log (nothing is missed)."""
    jobs: JobClient = client.app.state.client  # type: ignore[attr-defined]
    return [
        (e.payload["percent"], e.payload["message"])
        for e in jobs.events(uuid.UUID(job_id))
        if e.kind == "progress"
    ]
