"""Structured-output modes: the wire schema, the shape in the prompt, the mode ladder."""

from __future__ import annotations

import logging

import pytest

from orbit.ai import PROMPT_SCHEMAS, ActivationDetails, AIModeRejected, StoriesDraft
from orbit.ai.modes import ModeChooser, describe_shape, pin, rejects_mode, wire_schema
from orbit.ai.retry import Failure

GRAMMAR_STRING_LIMIT = 1000
OPENAI = ("json_schema", "json_object", "prompt")
ANTHROPIC = ("tool_use", "prompt")


def test_the_wire_schema_is_inlined_strict_and_bounded() -> None:
    schema = wire_schema(StoriesDraft)
    assert "$defs" not in schema and "title" not in schema
    story = schema["properties"]["stories"]["items"]
    assert story["required"] == ["title", "description"]
    assert story["additionalProperties"] is False
    assert story["properties"]["title"]["maxLength"] == 80
    assert schema["properties"]["stories"]["maxItems"] == 4


def test_defaults_do_not_make_a_field_optional_on_the_wire() -> None:
    schema = wire_schema(ActivationDetails)
    assert schema["required"] == ["description", "acceptance_criteria", "notes"]
    assert "default" not in schema["properties"]["notes"]


@pytest.mark.parametrize("name", list(PROMPT_SCHEMAS))
def test_every_schema_is_flat_and_bounded(name: str) -> None:
    def walk(node: dict[str, object], depth: int) -> None:
        kind = node.get("type")
        if kind == "string":
            # llama.cpp expands a bound into nested grammar rules; past about 1000 its
            # grammar parser refuses and llama-cpp-python's server aborts.
            assert isinstance(node.get("maxLength"), int), name
            assert node["maxLength"] <= GRAMMAR_STRING_LIMIT, name
        if kind == "array":
            assert isinstance(node.get("maxItems"), int), name
            walk(node["items"], depth + 1)  # type: ignore[arg-type]
        if kind == "object":
            assert depth <= 2, f"{name} nests too deep"
            for sub in node["properties"].values():  # type: ignore[attr-defined]
                walk(sub, depth + 1)

    walk(wire_schema(PROMPT_SCHEMAS[name]), 0)


def test_the_shape_reads_like_an_example() -> None:
    shape = describe_shape(wire_schema(StoriesDraft))
    assert shape == (
        '{"stories": [{"title": "<text, at most 80 characters>", '
        '"description": "<text, at most 300 characters>"}, ... (1 to 4 items)]}'
    )


@pytest.mark.parametrize(
    ("ladder", "setting", "mode"),
    [
        (OPENAI, "json_schema", "json_schema"),
        (OPENAI, "json_object", "json_object"),
        (OPENAI, "prompt", "prompt"),
        (ANTHROPIC, "json_schema", "tool_use"),
        (ANTHROPIC, "json_object", "tool_use"),
        (ANTHROPIC, "prompt", "prompt"),
    ],
)
def test_an_explicit_setting_pins_one_mode(
    ladder: tuple[str, ...], setting: str, mode: str
) -> None:
    assert pin(ladder, setting) == mode  # type: ignore[arg-type]
    chooser = ModeChooser(ladder, setting, label="x")  # type: ignore[arg-type]
    assert chooser.current == mode
    assert not chooser.fall_back(mode, AIModeRejected("no", provider="x"))  # type: ignore[arg-type]


def test_auto_walks_down_the_ladder_once_per_refusal(caplog: pytest.LogCaptureFixture) -> None:
    chooser = ModeChooser(OPENAI, "auto", label="openai:m")  # type: ignore[arg-type]
    refusal = AIModeRejected("HTTP 422", provider="openai")
    with caplog.at_level(logging.INFO, logger="orbit.ai.modes"):
        assert chooser.fall_back("json_schema", refusal)
        assert chooser.fall_back("json_schema", refusal)  # a concurrent call, already moved on
        assert chooser.current == "json_object"
        chooser.confirm("json_object")
        chooser.confirm("json_object")
    assert caplog.text.count("uses mode json_object") == 1
    assert chooser.fall_back("json_object", refusal) and chooser.current == "prompt"
    assert not chooser.fall_back("prompt", refusal)


@pytest.mark.parametrize(
    ("failure", "is_mode"),
    [
        (Failure("status", "response_format json_schema not supported", 400), True),
        (Failure("status", "[{'loc': ('body', 'response_format', 'type')}]", 422), True),
        (Failure("status", "failed to parse grammar", 500), True),
        (Failure("status", "Requested tokens (2100) exceed context window of 2048", 400), False),
        (Failure("status", "invalid api key", 401), False),
        (Failure("status", "response_format is fine, you are rate limited", 429), False),
        (Failure("timeout"), False),
    ],
)
def test_what_counts_as_a_mode_refusal(failure: Failure, is_mode: bool) -> None:
    assert rejects_mode(failure) is is_mode
