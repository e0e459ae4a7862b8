"""Offline answers for activation, execution and commit-message operations.

Pure functions of the prompt variables: an activated item gets a sharper
description and testable acceptance criteria, an executed task gets a plan and
a code sketch matching its kind (data model, API, UI, tests, ...), and a commit
message follows Conventional Commits, inferring type and scope from the text
and the diff.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from typing import Any

from orbit.ai.keyphrases import (
    as_action,
    base_verb,
    capitalize,
    clean_phrase,
    first_sentence,
    object_of,
    slug,
    starts_with_verb,
)
from orbit.ai.offline_sketches import code_sketch, task_kind
from orbit.ai.schemas import ActivationDetails, CommitMessage, ExecutionResult

_COMMIT_TYPES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE))
    for kind, pattern in (
        ("fix", r"fix(?:es|ed)?|bug|crash(?:es|ed)?|broken|regression"),
        ("docs", r"docs?|documentation|document|readme|guide"),
        ("test", r"tests?|coverage"),
        ("refactor", r"refactor\w*|clean ?up|rename[sd]?|simplif\w+"),
        ("perf", r"perf|performance|faster|speed up|latency|optimi[sz]\w*"),
        ("ci", r"ci|pipeline|workflow"),
        ("build", r"dependency|dependencies|packaging|dockerfile"),
    )
)
_DIFF_FILE = re.compile(r"^(?:\+\+\+ b/|diff --git a/)(\S+)", re.MULTILINE)
_SCOPE_SKIP = {"src", "lib", "app", "tests", "test", "pkg", "internal", "a", "b", "."}


def _field(value: Any, key: str) -> str:
    item = value.get(key) if isinstance(value, Mapping) else getattr(value, key, None)
    if isinstance(item, list | tuple):
        return "\n".join(str(entry) for entry in item)
    return str(item or "")


def _feature(title: str) -> tuple[str, str, str]:
    """(feature, thing, action) of a title: "Save recipes" -> (save recipes, recipes, ...)."""
    feature = as_action(clean_phrase(title, max_words=10) or title).lower()
    thing = object_of(feature)
    action = feature if starts_with_verb(feature) else f"use {feature}"
    return feature, thing, action


# -- activation --------------------------------------------------------------------


def fill_activation(variables: Mapping[str, Any]) -> ActivationDetails:
    """Description, acceptance criteria and notes for an item being activated."""
    item = variables.get("item") or {}
    kind = (_field(item, "kind") or "story").lower()
    title = _field(item, "title") or "this item"
    description = _field(item, "description")
    _, thing, action = _feature(title)
    scope, out_of_scope = {
        "epic": (
            f"Scope: the stories that together let users {action}; each ships on its own.",
            "Out of scope: anything the first release does not need.",
        ),
        "task": (
            "Scope: only the change this task names.",
            "Out of scope: follow-up work, which becomes new tasks.",
        ),
    }.get(
        kind,
        (
            f"Scope: everything a user needs to {action}: data, API, interface and tests.",
            f"Out of scope: changes unrelated to {thing}.",
        ),
    )
    summary = first_sentence(description, 400) or f"{capitalize(title)}."
    text = "\n\n".join((summary, scope, out_of_scope))
    notes = []
    if parent := _field(variables.get("parent"), "title"):
        notes.append(f"Part of: {parent}.")
    if context := str(variables.get("context") or "").strip():
        notes.append(f"Context: {first_sentence(context)}")
    return ActivationDetails(
        description=text, acceptance_criteria=_criteria(kind, title, thing, action), notes=notes
    )


def _criteria(kind: str, title: str, thing: str, action: str) -> list[str]:
    if kind == "epic":
        return [
            "Every story of the epic is done, reviewed and released.",
            f"A new user can {action} without help or documentation.",
            "The success metric from the interview is measured and visible on a dashboard.",
        ]
    if kind == "task":
        criteria = [
            f'The change described in "{title}" is implemented and reviewed.',
            "New code is covered by unit tests that pass in CI.",
            "Existing tests, lint and type checks still pass.",
        ]
        extra = {
            "model": "The migration applies and rolls back cleanly.",
            "api": "Invalid input is rejected with a 4xx status and a clear message.",
            "ui": "Empty, loading and error states are shown and keyboard accessible.",
        }.get(task_kind(title))
        return [*criteria, extra] if extra else criteria
    return [
        f"Given a signed-in user, when they {action}, then the result is saved and shown "
        "immediately.",
        f"Given invalid or missing input, when they try to {action}, then a clear error is "
        "shown and nothing is saved.",
        f"Given a page reload, the {thing} are still there and only visible to their owner.",
        "Automated tests cover the happy path and the failure cases.",
    ]


# -- execution ---------------------------------------------------------------------


def run_task(variables: Mapping[str, Any]) -> ExecutionResult:
    """A summary, ordered steps and a Markdown plan with a code sketch for a task."""
    task = variables.get("task") or {}
    title = _field(task, "title") or (task if isinstance(task, str) else "the task")
    description = _field(task, "description")
    story = _field(variables.get("story"), "title")
    feature, thing, _ = _feature(title)
    kind = task_kind(title)
    where = f' for the story "{story}"' if story else ""
    detail = f" {first_sentence(description)}" if description else ""
    summary = f'Implement "{title}"{where}.{detail}'
    steps = _steps(kind, thing)
    criteria = _field(task, "acceptance_criteria")
    sections = [
        "## Plan",
        "\n".join(f"{n}. {step}" for n, step in enumerate(steps, start=1)),
        "## Code sketch",
        code_sketch(kind, feature, thing),
    ]
    if criteria:
        sections += ["## Acceptance", "\n".join(f"- {line}" for line in criteria.splitlines())]
    return ExecutionResult(summary=summary, steps=steps, output="\n\n".join(sections))


def _steps(kind: str, thing: str) -> list[str]:
    plans = {
        "model": [
            f"Define the {thing} entity and its fields.",
            "Write the migration, including indexes for the expected queries.",
            "Add repository functions for create, read, update and delete.",
            "Unit-test the constraints and the repository.",
        ],
        "api": [
            f"Define request and response schemas for {thing}.",
            "Add the route with validation and permission checks.",
            "Call the service layer and map domain errors to HTTP statuses.",
            "Add API tests for success, validation errors and authorisation.",
        ],
        "ui": [
            f"Sketch the {thing} screen states: empty, loading, filled and error.",
            "Build the component and wire it to the API client.",
            "Handle validation errors inline and confirm successful actions.",
            "Add component tests and check keyboard accessibility.",
        ],
        "test": [
            f"List the scenarios for {thing}: happy path, invalid input, permissions.",
            "Create fixtures and factories for the test data.",
            "Write the tests and make them pass locally.",
            "Run them in CI and fix flaky timing with explicit waits.",
        ],
    }
    return plans.get(
        kind,
        [
            f"Read the existing code that touches {thing}.",
            "Implement the change in the service layer behind a small, typed function.",
            "Expose it where it is needed and handle failures explicitly.",
            "Add tests and update the documentation.",
        ],
    )


# -- commit message ----------------------------------------------------------------


def write_commit(variables: Mapping[str, Any]) -> CommitMessage:
    """A Conventional Commits message from a title, a description and/or a diff."""
    title = str(variables.get("title") or "").strip()
    description = str(variables.get("description") or "").strip()
    diff = str(variables.get("diff") or "")
    files = list(dict.fromkeys(_DIFF_FILE.findall(diff)))
    summary_source = title or first_sentence(description) or "update code"
    kind = _commit_type(summary_source, description, files)
    scope = slug(str(variables.get("scope") or "") or _scope(files) or "", "-", 2)
    summary = _imperative(summary_source)
    if kind == "fix" and summary.startswith("fix "):
        summary = summary[4:]
    prefix = f"{kind}({scope}): " if scope != "item" else f"{kind}: "
    subject = prefix + _shorten(summary, 72 - len(prefix))
    return CommitMessage(subject=subject, body=_commit_body(description, diff, files))


def _commit_type(title: str, description: str, files: list[str]) -> str:
    if files and all(f.endswith((".md", ".rst", ".txt")) for f in files):
        return "docs"
    if files and all("test" in f for f in files):
        return "test"
    for text in (title, description):
        for kind, pattern in _COMMIT_TYPES:
            if pattern.search(text):
                return kind
    return "feat"


def _scope(files: list[str]) -> str:
    for path in files:
        parts = [p for p in path.split("/")[:-1] if p not in _SCOPE_SKIP]
        if parts:
            return parts[-1]
    return ""


def _imperative(text: str) -> str:
    summary = clean_phrase(first_sentence(text), max_words=14)
    head, _, rest = summary.partition(" ")
    verb = base_verb(head, ("ing", "ed", "es", "s"))
    if verb is not None:
        summary = f"{verb} {rest}".strip()
    return (summary[:1].lower() + summary[1:]).rstrip(".") or "update code"


def _shorten(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    return text[:width].rsplit(" ", 1)[0].rstrip(",;:")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _commit_body(description: str, diff: str, files: list[str]) -> str:
    parts = []
    if description:
        parts.append(textwrap.fill(" ".join(description.split()), width=72))
    if files:
        added = sum(1 for line in diff.splitlines() if line.startswith("+") and line[:3] != "+++")
        removed = sum(1 for line in diff.splitlines() if line.startswith("-") and line[:3] != "---")
        listing = "\n".join(f"- {path}" for path in files[:10])
        stats = f"{_count(len(files), 'file')}, {_count(added, 'insertion')}(+), " + (
            f"{_count(removed, 'deletion')}(-)"
        )
        parts.append(f"Changed: {stats}\n{listing}")
    return "\n\n".join(parts)
