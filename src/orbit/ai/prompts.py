"""Prompt templates: loading, rendering, and the registry of named operations.

Templates live in ``orbit/ai/prompts/<name>.md`` and are read with
`importlib.resources`.  A template may start with front matter between two
``---`` lines, ``key: value`` per line; ``max_tokens`` is the operation's output
budget (`Prompt.max_tokens`, see `DEFAULT_MAX_TOKENS`).  The rest is split
into chat messages by lines that read exactly ``[system]``, ``[user]`` or
``[assistant]``; each section is a
`string.Template` (``$variable`` / ``${variable}``, ``$$`` for a dollar sign).

Variables may be strings, numbers, lists, mappings or pydantic models; they are
rendered as readable text (see `format_value`; empty values read ``(none)``)
while `Prompt.variables` keeps the original values, which the offline provider
works from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from string import Template
from typing import Any, Literal, get_args

from pydantic import BaseModel

from orbit.ai.errors import AIPromptError
from orbit.ai.schemas import (
    ActivationDetails,
    CommitMessage,
    EpicDraft,
    ExecutionResult,
    InterviewReply,
    StoriesDraft,
    TasksDraft,
)

Role = Literal["system", "user", "assistant"]

_SECTION = re.compile(r"^\[(system|user|assistant)\]\s*$", re.MULTILINE)
_NAME = re.compile(r"^_?[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)

DEFAULT_MAX_TOKENS = 512
"""The output budget of a prompt whose template declares none."""


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message."""

    role: Role
    content: str


@dataclass(frozen=True)
class Prompt:
    """A named operation with its rendered messages and the variables behind them.

    Network providers only send ``messages`` (with at most ``max_tokens`` of
    output); the offline provider answers from ``name`` and ``variables``.
    """

    name: str
    messages: tuple[Message, ...]
    variables: Mapping[str, Any] = field(default_factory=dict)
    max_tokens: int = DEFAULT_MAX_TOKENS


PROMPT_SCHEMAS: dict[str, type[BaseModel]] = {
    "interview.next_question": InterviewReply,
    "backlog.epic": EpicDraft,
    "backlog.stories": StoriesDraft,
    "backlog.tasks": TasksDraft,
    "activation.fill": ActivationDetails,
    "execution.run": ExecutionResult,
    "commit.message": CommitMessage,
}
"""The output schema of every named operation."""

PROMPT_DEFAULTS: dict[str, dict[str, Any]] = {
    "interview.next_question": {"idea": "", "transcript": []},
    "backlog.epic": {"idea": "", "transcript": []},
    "backlog.stories": {"idea": "", "transcript": []},
    "backlog.tasks": {"epic": {}},
    "activation.fill": {"parent": {}, "context": ""},
    "execution.run": {"story": {}},
    "commit.message": {"description": "", "diff": "", "scope": ""},
}
"""Optional variables of each operation and their default values."""


def render_prompt(name: str, /, **variables: Any) -> Prompt:
    """Render template ``name`` with ``variables`` (plus the operation's defaults)."""
    merged = {**PROMPT_DEFAULTS.get(name, {}), **variables}
    text_values = {key: format_value(value) for key, value in merged.items()}
    meta, text = split_front_matter(load_template(name))
    messages = []
    for role, body in parse_template(text):
        try:
            content = Template(body).substitute(text_values).strip()
        except KeyError as exc:
            raise AIPromptError(f"prompt {name!r} needs variable {exc.args[0]!r}") from exc
        except ValueError as exc:
            raise AIPromptError(f"prompt {name!r} has a malformed placeholder: {exc}") from exc
        messages.append(Message(role, content))
    budget = meta.get("max_tokens", str(DEFAULT_MAX_TOKENS))
    if not budget.isdigit() or int(budget) < 1:
        raise AIPromptError(f"prompt {name!r} has an invalid max_tokens {budget!r}")
    return Prompt(name=name, messages=tuple(messages), variables=merged, max_tokens=int(budget))


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """``({key: value}, rest)`` of a template; no front matter gives an empty mapping."""
    match = _FRONT_MATTER.match(text)
    if match is None:
        return {}, text
    meta = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep:
            meta[key.strip()] = value.strip()
    return meta, text[match.end() :]


def render_text(name: str, /, **variables: Any) -> str:
    """Render a single-section template (such as ``_structured``) to plain text."""
    return "\n\n".join(m.content for m in render_prompt(name, **variables).messages)


@cache
def load_template(name: str) -> str:
    """The raw text of template ``name`` (cached)."""
    if not _NAME.match(name):
        raise AIPromptError(f"invalid prompt name {name!r}")
    resource = resources.files("orbit.ai").joinpath("prompts", f"{name}.md")
    try:
        return resource.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise AIPromptError(f"no prompt template named {name!r}") from exc


def parse_template(text: str) -> list[tuple[Role, str]]:
    """Split template text into ``(role, body)`` sections; text before any marker is ``user``."""
    sections: list[tuple[Role, str]] = []
    markers = list(_SECTION.finditer(text))
    preamble = text[: markers[0].start()] if markers else text
    if preamble.strip():
        sections.append(("user", preamble))
    roles: tuple[Role, ...] = get_args(Role)
    for index, marker in enumerate(markers):
        end = markers[index + 1].start() if index + 1 < len(markers) else len(text)
        role = next(r for r in roles if r == marker.group(1))
        sections.append((role, text[marker.end() : end]))
    return sections


def format_value(value: Any) -> str:
    """Render a variable for a template: lists as bullets, mappings as ``key: value``."""
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if value is None or (isinstance(value, str | list | tuple | Mapping) and not value):
        text = "(none)"
    elif isinstance(value, Mapping):
        text = "\n".join(f"{key}: {_inline(item)}" for key, item in value.items())
    elif isinstance(value, list | tuple):
        if all(isinstance(item, Mapping | BaseModel) for item in value):
            text = "\n\n".join(format_value(item) for item in value)
        else:
            text = "\n".join(f"- {_inline(item)}" for item in value)
    else:
        text = str(value)
    return text


def _inline(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "; ".join(_inline(item) for item in value)
    return format_value(value).replace("\n", "\n  ")
