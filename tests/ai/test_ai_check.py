"""``orbit ai check``: a table of what works, and a non-zero exit when something does not."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner, Result

from orbit.ai.probe import OPERATIONS
from orbit.cli.main import build_app
from tests.ai.fake_llm_server import FakeLLMServer, Reply


def run_check(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], *args: str) -> Result:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return CliRunner().invoke(build_app(), ["ai", "check", *args], catch_exceptions=False)


def test_offline_check_passes_every_operation(monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_check(monkeypatch, {"ORBIT_AI_PROVIDER": "offline"}, "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["operation"], r["kind"]) for r in rows] == list(OPERATIONS)
    assert all(r["ok"] and r["usage_reported"] for r in rows)


def test_a_failing_operation_makes_the_check_fail(
    monkeypatch: pytest.MonkeyPatch, llm_server: FakeLLMServer
) -> None:
    llm_server.push(Reply(text="not json at all"), Reply(text="still not json"))
    env = {
        "ORBIT_AI_PROVIDER": "openai",
        "ORBIT_AI_BASE_URL": f"{llm_server.url}/v1",
        "ORBIT_AI_MODEL": "fake-model",
        "ORBIT_AI_MAX_RETRIES": "0",
    }
    result = run_check(monkeypatch, env, "-o", "backlog.epic")
    assert result.exit_code == 1
    assert "backlog.epic" in result.stdout and "FAILED" in result.stdout
    assert "json_schema" in result.stdout
    assert "AI returned invalid EpicDraft output for prompt 'backlog.epic' on fake-model" in (
        result.stderr
    )


def test_an_unknown_operation_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_check(monkeypatch, {"ORBIT_AI_PROVIDER": "offline"}, "-o", "backlog.nope")
    assert result.exit_code == 2
    assert "unknown operation backlog.nope" in result.stderr
