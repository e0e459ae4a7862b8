"""Every AI operation against llama.cpp's server and a small instruct model on 127.0.0.1."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from orbit.ai import (
    PROMPT_SCHEMAS,
    AIInvalidOutput,
    BaseProvider,
    CallRecord,
    create_provider,
    render_prompt,
)
from orbit.ai.calls import estimate_tokens
from orbit.ai.samples import sample_variables
from orbit.cli.main import build_app
from tests.llm.conftest import real_config
from tests.llm.llama_server import MODEL_ALIAS, LlamaServer

CONSTRAINED = ("json_schema", "json_object")


async def test_auto_picks_a_mode_the_server_enforces(
    real_provider: BaseProvider, records: list[CallRecord]
) -> None:
    prompt = render_prompt("backlog.epic", **sample_variables("backlog.epic"))

    epic = await real_provider.structured(prompt, PROMPT_SCHEMAS["backlog.epic"])

    assert epic.title.strip()
    assert real_provider.structured_mode in CONSTRAINED
    ok = [r for r in records if r.ok]
    assert ok and all(r.mode in CONSTRAINED for r in ok)
    assert ok[0].model == MODEL_ALIAS


async def test_prompt_mode_ends_in_valid_output_or_a_clear_error(
    llama: LlamaServer, records: list[CallRecord]
) -> None:
    provider = create_provider(real_config(llama, structured="prompt"), recorder=records.append)
    prompt = render_prompt("backlog.stories", **sample_variables("backlog.stories"))
    try:
        stories = await provider.structured(prompt, PROMPT_SCHEMAS["backlog.stories"])
    except AIInvalidOutput as exc:
        message = str(exc)
        assert "StoriesDraft" in message and "'backlog.stories'" in message
        assert MODEL_ALIAS in message and exc.errors
    else:
        assert stories.stories  # type: ignore[attr-defined]
    finally:
        await provider.aclose()
    assert records and all(r.mode == "prompt" for r in records)


async def test_a_stream_records_tokens_even_when_the_server_reports_no_usage(
    real_provider: BaseProvider, records: list[CallRecord]
) -> None:
    prompt = render_prompt("interview.next_question", **sample_variables("interview.next_question"))

    async with real_provider.stream(prompt) as stream:
        completion = await stream.collect()

    assert completion.text.strip()
    [record] = records
    assert record.ok and record.tokens_out > 0 and record.tokens_in > 0
    if record.estimated:  # the documented rule, not zero
        assert record.tokens_out == estimate_tokens(completion.text)


def test_orbit_ai_check_passes_and_every_schema_the_app_uses_validates(
    llama: LlamaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "ORBIT_AI_PROVIDER": "openai",
        "ORBIT_AI_BASE_URL": llama.url,
        "ORBIT_AI_MODEL": MODEL_ALIAS,
        "ORBIT_AI_TIMEOUT_SECONDS": "120",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)

    result = CliRunner().invoke(build_app(), ["ai", "check", "--json"], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    # A structured row is ok only when its reply validated against the operation's schema.
    assert {r["operation"] for r in rows if r["kind"] == "structured"} == set(PROMPT_SCHEMAS)
    assert all(r["ok"] and r["tokens_out"] > 0 for r in rows), rows
    assert all(r["mode"] in CONSTRAINED for r in rows if r["kind"] == "structured")
