"""Prompts, structured-output parsing, retry policy, configuration and lazy imports."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from pydantic import ValidationError

from orbit.ai import (
    PROMPT_SCHEMAS,
    AIConfig,
    AIConfigError,
    AIModeRejected,
    AIPromptError,
    AIRequestRejected,
    AITimeout,
    AIUnavailable,
    EpicDraft,
    OfflineProvider,
    RetryPolicy,
    create_provider,
    render_prompt,
)
from orbit.ai.prompts import format_value, parse_template
from orbit.ai.retry import CallSite, Failure, call_with_retries, parse_retry_after, to_error
from orbit.ai.structured import OutputError, extract_json, parse_output

# -- prompts ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PROMPT_SCHEMAS))
def test_every_operation_has_a_system_and_user_template(name: str) -> None:
    variables = {"epic": "E", "story": "S", "item": "I", "task": "T", "title": "Add x"}
    prompt = render_prompt(name, **variables)
    assert prompt.name == name
    assert [m.role for m in prompt.messages] == ["system", "user"]
    assert all(m.content and "$" not in m.content for m in prompt.messages)


def test_render_prompt_formats_variables_and_keeps_the_originals() -> None:
    transcript = [{"question": "Who uses it?", "answer": "Home cooks"}]
    prompt = render_prompt("backlog.epic", idea="Recipes", transcript=transcript)
    user = prompt.messages[-1].content
    assert "question: Who uses it?\nanswer: Home cooks" in user
    assert "Recipes" in user
    assert prompt.variables["transcript"] == transcript


def test_missing_variable_and_unknown_prompt_are_prompt_errors() -> None:
    with pytest.raises(AIPromptError, match="needs variable 'story'"):
        render_prompt("backlog.tasks")
    with pytest.raises(AIPromptError, match=r"no prompt template named 'nope\.nothing'"):
        render_prompt("nope.nothing")
    with pytest.raises(AIPromptError, match="invalid prompt name"):
        render_prompt("../etc/passwd")


def test_parse_template_splits_sections_by_role() -> None:
    text = "intro\n[system]\nBe brief.\n[user]\nHi $name\n[assistant]\nHello\n"
    sections = [(role, body.strip()) for role, body in parse_template(text)]
    assert sections == [
        ("user", "intro"),
        ("system", "Be brief."),
        ("user", "Hi $name"),
        ("assistant", "Hello"),
    ]


def test_format_value_renders_lists_mappings_and_empties() -> None:
    assert format_value(["a", "b"]) == "- a\n- b"
    assert format_value({"title": "T", "criteria": ["x", "y"]}) == "title: T\ncriteria: x; y"
    assert format_value([]) == "(none)"
    assert format_value(None) == "(none)"
    assert format_value(EpicDraft(title="T", description="D")) == "title: T\ndescription: D"


# -- structured output --------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        '{"title": "T", "description": "D"}',
        'Here you go:\n```json\n{"title": "T", "description": "D"}\n```\nAnything else?',
        'Sure. {"title": "T", "description": "D"} Hope that helps.',
    ],
)
def test_parse_output_finds_the_json_in_a_reply(reply: str) -> None:
    assert parse_output(reply, EpicDraft) == EpicDraft(title="T", description="D")


def test_json_containing_code_fences_is_taken_whole() -> None:
    reply = '{"title": "T", "description": "```python\\nprint(1)\\n```"}'
    assert extract_json(reply) == reply


def test_parse_output_lists_every_problem() -> None:
    with pytest.raises(OutputError) as caught:
        parse_output('{"title": ""}', EpicDraft)
    assert "title: String should have at least 1 character" in str(caught.value)
    assert "description: Field required" in str(caught.value)
    with pytest.raises(OutputError, match="Invalid JSON"):
        parse_output("no json here", EpicDraft)


# -- retries --------------------------------------------------------------------------


def test_retry_delay_grows_exponentially_with_jitter_and_a_cap() -> None:
    policy = RetryPolicy(max_retries=5, backoff_seconds=1.0, backoff_max_seconds=3.0)
    assert 0.75 <= policy.delay(0) <= 1.0
    assert 1.5 <= policy.delay(1) <= 2.0
    assert 2.25 <= policy.delay(5) <= 3.0
    assert policy.delay(0, retry_after=2.5) == 2.5
    assert policy.delay(0, retry_after=60) == 60  # call_with_retries decides whether to wait


def test_retry_after_headers_are_parsed() -> None:
    assert parse_retry_after({"retry-after-ms": "250"}) == 0.25
    assert parse_retry_after({"retry-after": "2"}) == 2.0
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None
    assert parse_retry_after({}) is None


@pytest.mark.parametrize(
    ("failure", "retryable"),
    [
        (Failure("timeout"), True),
        (Failure("connection"), True),
        (Failure("status", status_code=429), True),
        (Failure("status", status_code=502), True),
        (Failure("status", status_code=400), False),
        (Failure("status", status_code=408), False),
        (Failure("status", status_code=409), False),
    ],
)
def test_only_transient_failures_are_retryable(failure: Failure, retryable: bool) -> None:
    assert failure.retryable is retryable


class Flaky(Exception):
    """A stand-in SDK error carrying the failure to report."""

    def __init__(self, failure: Failure) -> None:
        self.failure = failure


SITE = CallSite(provider="fake", model="m1", prompt_name="backlog.epic", timeout_seconds=1.5)


async def _call(
    failures: list[Failure], max_retries: int, *, deadline: float | None = None
) -> tuple[str, int]:
    remaining = list(failures)

    async def operation() -> str:
        if remaining:
            raise Flaky(remaining.pop(0))
        return "ok"

    def classify(exc: BaseException) -> Failure | None:
        return exc.failure if isinstance(exc, Flaky) else None

    policy = RetryPolicy(max_retries=max_retries, backoff_seconds=0.001, backoff_max_seconds=2)
    return await call_with_retries(
        operation, classify=classify, policy=policy, site=SITE, deadline=deadline
    )


async def test_call_with_retries_recovers_from_transient_failures() -> None:
    failures = [Failure("timeout"), Failure("status", "busy", 503)]
    assert await _call(failures, max_retries=2) == ("ok", 3)


async def test_call_with_retries_maps_final_failures_to_errors() -> None:
    with pytest.raises(
        AITimeout,
        match=r"^AI API call failed: backlog\.epic on m1: connection timeout: no response "
        r"within 1\.5s \(after 2 ",
    ):
        await _call([Failure("timeout")] * 2, max_retries=1)
    with pytest.raises(
        AIUnavailable, match=r"HTTP 429 Too Many Requests: quota \(after 3 attempts\)$"
    ):
        await _call([Failure("status", "quota", 429)] * 3, max_retries=2)
    with pytest.raises(
        AIRequestRejected, match=r"^AI API call failed: backlog\.epic on m1: HTTP 403 Forbidden$"
    ):
        await _call([Failure("status", "", 403)], max_retries=5)


async def test_short_retry_after_is_waited_out_and_long_one_is_handed_to_the_caller() -> None:
    assert await _call([Failure("status", "busy", 429, retry_after=0.01)], max_retries=1) == (
        "ok",
        2,
    )
    with pytest.raises(AIUnavailable) as caught:  # 500 s > backoff_max: no retry in the call
        await _call([Failure("status", "busy", 429, retry_after=500)], max_retries=3)
    assert caught.value.attempts == 1
    assert caught.value.retry_after == 120.0  # capped by CallSite.retry_after_max_seconds


async def test_a_retry_that_would_pass_the_deadline_is_not_attempted() -> None:
    deadline = asyncio.get_running_loop().time() + 0.5
    with pytest.raises(AIUnavailable) as caught:
        await _call([Failure("status", "busy", 503, retry_after=1.0)], 3, deadline=deadline)
    assert caught.value.attempts == 1 and caught.value.retry_after == 1.0


def test_a_refused_mode_is_not_retried_and_is_its_own_error() -> None:
    failure = Failure("mode", "response_format not supported", 400)
    assert not failure.retryable
    error = to_error(failure, SITE, 1)
    assert isinstance(error, AIModeRejected) and isinstance(error, AIRequestRejected)
    assert not error.retryable
    assert "rejected the structured-output mode: HTTP 400 Bad Request" in str(error)


async def test_unclassified_exceptions_propagate_unchanged() -> None:
    async def operation() -> str:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        await call_with_retries(
            operation,
            classify=lambda exc: None,
            policy=RetryPolicy(),
            site=SITE,
        )


# -- configuration and factory --------------------------------------------------------


def test_default_config_builds_the_offline_provider() -> None:
    provider = create_provider(AIConfig())
    assert isinstance(provider, OfflineProvider)
    assert provider.name == "offline" and provider.model == "orbit-offline-1"


def test_config_validates_its_fields() -> None:
    assert AIConfig(provider="anthropic").resolved_model == "claude-sonnet-4-6"
    assert AIConfig(provider="openai", model="llama3.1").resolved_model == "llama3.1"
    with pytest.raises(ValidationError):
        AIConfig(provider="gemini")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        AIConfig(timeout_seconds=0)
    assert "secret" not in repr(AIConfig(api_key="secret"))


async def test_local_openai_compatible_server_needs_no_key() -> None:
    config = AIConfig(provider="openai", base_url="http://127.0.0.1:11434/v1", model="llama3.1")
    provider = create_provider(config)
    await provider.aclose()
    assert provider.name == "openai" and provider.model == "llama3.1"


def test_missing_sdk_is_a_clear_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "anthropic", None)
    with pytest.raises(AIConfigError, match=r"pip install 'orbit\[anthropic\]'"):
        create_provider(AIConfig(provider="anthropic", api_key="key"))


def test_importing_orbit_ai_does_not_import_the_sdks() -> None:
    code = (
        "import sys, orbit.ai; "
        "print(sorted(m for m in ('openai', 'anthropic', 'httpx2') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


def test_settings_build_the_ai_config_from_orbit_ai_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from orbit.settings import Settings

    monkeypatch.setenv("ORBIT_AI_PROVIDER", "openai")
    monkeypatch.setenv("ORBIT_AI_STRUCTURED", "prompt")
    monkeypatch.setenv("ORBIT_AI_TEMPERATURE", "0.1")
    monkeypatch.setenv("ORBIT_AI_RETRY_AFTER_MAX_SECONDS", "30")
    config = Settings(_env_file=None).ai_config()  # type: ignore[call-arg]
    assert (config.provider, config.structured) == ("openai", "prompt")
    assert (config.temperature, config.retry_after_max_seconds) == (0.1, 30.0)
    monkeypatch.setenv("ORBIT_AI_STRUCTURED", "grammar")
    with pytest.raises(ValidationError):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_prompts_declare_a_token_budget() -> None:
    from orbit.ai.samples import sample_variables

    budgets = {
        name: render_prompt(name, **sample_variables(name)).max_tokens for name in PROMPT_SCHEMAS
    }
    assert budgets["backlog.epic"] == 200 and budgets["execution.run"] == 700
    assert all(100 <= budget <= 1000 for budget in budgets.values())
