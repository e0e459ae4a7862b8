"""Code sketches for the offline "execution.run" answer.

`task_kind` classifies a task title (data model, API, UI, tests, other) and
`code_sketch` returns a short fenced code block for that kind, with names
derived from the task ("save recipes" -> ``save_recipes``, ``Recipe``).
"""

from __future__ import annotations

from orbit.ai.keyphrases import singular, slug, starts_with_verb

_KIND_HINTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("test", ("test", "coverage")),
    ("model", ("data model", "model", "schema", "migration", "entity", "database")),
    ("api", ("api", "endpoint", "route", "backend")),
    ("ui", ("user interface", "ui", "screen", "page", "component", "frontend")),
)


_TECHNICAL = frozenset({"api", "interface", "ui", "model", "service", "endpoint", "endpoints"})


def task_kind(title: str) -> str:
    """``"model"``, ``"api"``, ``"ui"``, ``"test"`` or ``"service"``."""
    words = f" {title.lower()} "
    for kind, hints in _KIND_HINTS:
        if any(f" {hint} " in words or f" {hint}s " in words for hint in hints):
            return kind
    return "service"


def class_name(thing: str) -> str:
    """A singular CamelCase class name: "shopping lists" -> "ShoppingList"."""
    words = slug(thing, " ", 3).split()
    if words:
        words[-1] = singular(words[-1])
    return "".join(word.capitalize() for word in words) or "Item"


def core_action(feature: str) -> str:
    """The user-facing action inside a task title.

    "implement the api to save recipes" -> "save recipes";
    "cover save recipes with end-to-end tests" -> "save recipes".
    """
    text = feature.replace('"', "").lower()
    head, separator, tail = text.partition(" to ")
    if separator and any(word in _TECHNICAL for word in head.split()):
        text = tail
    tokens = text.split()
    if len(tokens) > 2 and tokens[0] in {"cover", "test"} and starts_with_verb(tokens[1]):
        tokens = tokens[1:]
    for index, token in enumerate(tokens):
        if index and token in {"for", "with", "from", "by", "in", "on", "at", "into"}:
            tokens = tokens[:index]
            break
    return " ".join(tokens)


def code_sketch(kind: str, feature: str, thing: str) -> str:
    """A fenced code block sketching the implementation of a task."""
    name = slug(core_action(feature))
    cls = class_name(thing)
    table = slug(thing, "_", 3)
    if kind == "model":
        body = _MODEL
    elif kind == "api":
        body = _API
    elif kind == "ui":
        return (
            "```tsx\n"
            + _UI.format(cls=cls, name=name, table=table, route=slug(thing, "-", 3))
            + "```"
        )
    elif kind == "test":
        body = _TEST
    else:
        body = _SERVICE
    return "```python\n" + body.format(cls=cls, name=name, table=table) + "```"


_MODEL = '''from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass
class {cls}:
    """One row of the `{table}` table."""

    id: int
    owner_id: int
    title: str
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
'''

_API = '''from fastapi import APIRouter, Depends, HTTPException

router = APIRouter(prefix="/{table}", tags=["{table}"])


@router.post("", status_code=201)
async def {name}(payload: {cls}In, user: User = Depends(current_user)) -> {cls}Out:
    """Validate the request, then delegate to the service layer."""
    if not payload.title.strip():
        raise HTTPException(status_code=422, detail="title must not be empty")
    return await service.{name}(user, payload)
'''

_UI = """export function {cls}Panel() {{
  const {{ data, error, isLoading }} = useQuery(["{route}"], api.list_{table});
  if (isLoading) return <Spinner />;
  if (error) return <ErrorBanner error={{error}} />;
  if (!data.length) return <EmptyState action="{name}" />;
  return <{cls}List items={{data}} />;
}}
"""

_TEST = """import pytest


async def test_{name}_happy_path(client, user):
    response = await client.post("/{table}", json={{"title": "Example"}}, auth=user)
    assert response.status_code == 201


@pytest.mark.parametrize("title", ["", "   "])
async def test_{name}_rejects_blank_title(client, user, title):
    response = await client.post("/{table}", json={{"title": title}}, auth=user)
    assert response.status_code == 422
"""

_SERVICE = '''async def {name}(user: User, request: {cls}Request) -> {cls}:
    """Apply the change for `user`; raise a domain error instead of returning None."""
    current = await repository.get_{table}(user.id)
    updated = current.apply(request)
    await repository.save(updated)
    return updated
'''
