"""Output schemas of the named AI operations.

Each structured prompt (see `orbit.ai.prompts.PROMPT_SCHEMAS`) is answered with
one of these models.  `TaskOutput.as_text` renders an output as plain text, which
is what the offline provider returns from `complete` and `stream`.

The schemas are written for small models too: flat (one level of nesting at
most), every string and list bounded.  Servers that enforce a schema compile
these bounds into their grammar, so a reply cannot run on past them; the token
budgets in the prompts' front matter leave room for the largest valid reply.

A bound is advertised in the JSON Schema (``maxLength`` / ``maxItems``) and, on
this side, trimmed rather than refused (`Text`, `Items`): an unconstrained reply
(``prompt`` mode) or an offline answer built from a long user description is cut
at a word boundary, or loses its last list entries, instead of failing the job.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field

TITLE = 80
TEXT = 600
LINE = 160
MAX_ITEMS = 4
"""Stories per epic and tasks per story: each one costs a model call (tasks) or tokens."""


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, at a word boundary when there is one."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return cut[:space].rstrip() if space > limit // 2 else cut


def _clipper(limit: int) -> BeforeValidator:
    def trim(value: Any) -> Any:
        return clip(value, limit) if isinstance(value, str) else value

    return BeforeValidator(trim)


def _header(limit: int) -> BeforeValidator:
    def trim(value: Any) -> Any:
        return value[:limit] if isinstance(value, list) else value

    return BeforeValidator(trim)


Title = Annotated[str, Field(min_length=1, max_length=TITLE), _clipper(TITLE)]
Prose = Annotated[str, Field(min_length=1, max_length=TEXT), _clipper(TEXT)]
Brief = Annotated[str, Field(min_length=1, max_length=300), _clipper(300)]
Line = Annotated[str, Field(min_length=1, max_length=LINE), _clipper(LINE)]
"""One short list entry (an acceptance criterion, a note, a step)."""


class TaskOutput(BaseModel):
    """Base class of every operation output."""

    def as_text(self) -> str:
        """A plain-text rendering for display or streaming."""
        return self.model_dump_json(indent=2)


class InterviewReply(TaskOutput):
    """The interviewer's next turn: a question, or a closing remark when ``done``."""

    message: Annotated[str, Field(min_length=1, max_length=400), _clipper(400)]
    done: bool = False

    def as_text(self) -> str:
        return self.message


class EpicDraft(TaskOutput):
    """An epic derived from the interview."""

    title: Title
    description: Prose

    def as_text(self) -> str:
        return f"{self.title}\n\n{self.description}"


class StoryDraft(BaseModel):
    """One user story of an epic."""

    title: Title
    description: Brief


class StoriesDraft(TaskOutput):
    """The user stories of an epic."""

    stories: Annotated[
        list[StoryDraft], Field(min_length=1, max_length=MAX_ITEMS), _header(MAX_ITEMS)
    ]

    def as_text(self) -> str:
        return "\n\n".join(
            f"{n}. {story.title}\n   {story.description}"
            for n, story in enumerate(self.stories, start=1)
        )


class TaskDraft(BaseModel):
    """One engineering task of a story."""

    title: Title
    description: Brief


class TasksDraft(TaskOutput):
    """The engineering tasks of a story."""

    tasks: Annotated[list[TaskDraft], Field(min_length=1, max_length=MAX_ITEMS), _header(MAX_ITEMS)]

    def as_text(self) -> str:
        return "\n\n".join(
            f"{n}. {task.title}\n   {task.description}"
            for n, task in enumerate(self.tasks, start=1)
        )


class ActivationDetails(TaskOutput):
    """Details filled in when a backlog item is activated."""

    description: Prose
    acceptance_criteria: Annotated[list[Line], Field(min_length=1, max_length=5), _header(5)]
    notes: Annotated[list[Line], Field(max_length=3), _header(3)] = Field(default_factory=list)

    def as_text(self) -> str:
        lines = [self.description, "", "Acceptance criteria:"]
        lines += [f"- {item}" for item in self.acceptance_criteria]
        if self.notes:
            lines += ["", "Notes:", *(f"- {note}" for note in self.notes)]
        return "\n".join(lines)


class ExecutionResult(TaskOutput):
    """The result of executing a task: a plan and an implementation sketch."""

    summary: Brief
    steps: Annotated[list[Line], Field(min_length=1, max_length=5), _header(5)]
    output: Annotated[str, Field(min_length=1, max_length=1000), _clipper(1000)]

    def as_text(self) -> str:
        return f"{self.summary}\n\n{self.output}"


class CommitMessage(TaskOutput):
    """A Conventional Commits message."""

    subject: Annotated[str, Field(min_length=1, max_length=100), _clipper(100)]
    body: Annotated[str, Field(max_length=TEXT), _clipper(TEXT)] = ""

    def as_text(self) -> str:
        return f"{self.subject}\n\n{self.body}".strip()
