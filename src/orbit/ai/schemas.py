"""Output schemas of the named AI operations.

Each structured prompt (see `orbit.ai.prompts.PROMPT_SCHEMAS`) is answered with
one of these models.  `TaskOutput.as_text` renders an output as plain text, which
is what the offline provider returns from `complete` and `stream`.

The schemas are written for small models too: flat (one level of nesting at
most), every string and list bounded.  Servers that enforce a schema compile
these bounds into their grammar, so a reply cannot run on past them; the token
budgets in the prompts' front matter leave room for the largest valid reply.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

TITLE = 80
TEXT = 600
LINE = 160
MAX_ITEMS = 4
"""Stories per epic and tasks per story: each one costs a model call (tasks) or tokens."""

Line = Annotated[str, Field(min_length=1, max_length=LINE)]
"""One short list entry (an acceptance criterion, a note, a step)."""


class TaskOutput(BaseModel):
    """Base class of every operation output."""

    def as_text(self) -> str:
        """A plain-text rendering for display or streaming."""
        return self.model_dump_json(indent=2)


class InterviewReply(TaskOutput):
    """The interviewer's next turn: a question, or a closing remark when ``done``."""

    message: str = Field(min_length=1, max_length=400)
    done: bool = False

    def as_text(self) -> str:
        return self.message


class EpicDraft(TaskOutput):
    """An epic derived from the interview."""

    title: str = Field(min_length=1, max_length=TITLE)
    description: str = Field(min_length=1, max_length=TEXT)

    def as_text(self) -> str:
        return f"{self.title}\n\n{self.description}"


class StoryDraft(BaseModel):
    """One user story of an epic."""

    title: str = Field(min_length=1, max_length=TITLE)
    description: str = Field(min_length=1, max_length=300)


class StoriesDraft(TaskOutput):
    """The user stories of an epic."""

    stories: list[StoryDraft] = Field(min_length=1, max_length=MAX_ITEMS)

    def as_text(self) -> str:
        return "\n\n".join(
            f"{n}. {story.title}\n   {story.description}"
            for n, story in enumerate(self.stories, start=1)
        )


class TaskDraft(BaseModel):
    """One engineering task of a story."""

    title: str = Field(min_length=1, max_length=TITLE)
    description: str = Field(min_length=1, max_length=300)


class TasksDraft(TaskOutput):
    """The engineering tasks of a story."""

    tasks: list[TaskDraft] = Field(min_length=1, max_length=MAX_ITEMS)

    def as_text(self) -> str:
        return "\n\n".join(
            f"{n}. {task.title}\n   {task.description}"
            for n, task in enumerate(self.tasks, start=1)
        )


class ActivationDetails(TaskOutput):
    """Details filled in when a backlog item is activated."""

    description: str = Field(min_length=1, max_length=TEXT)
    acceptance_criteria: list[Line] = Field(min_length=1, max_length=5)
    notes: list[Line] = Field(default_factory=list, max_length=3)

    def as_text(self) -> str:
        lines = [self.description, "", "Acceptance criteria:"]
        lines += [f"- {item}" for item in self.acceptance_criteria]
        if self.notes:
            lines += ["", "Notes:", *(f"- {note}" for note in self.notes)]
        return "\n".join(lines)


class ExecutionResult(TaskOutput):
    """The result of executing a task: a plan and an implementation sketch."""

    summary: str = Field(min_length=1, max_length=300)
    steps: list[Line] = Field(min_length=1, max_length=5)
    output: str = Field(min_length=1, max_length=1000)

    def as_text(self) -> str:
        return f"{self.summary}\n\n{self.output}"


class CommitMessage(TaskOutput):
    """A Conventional Commits message."""

    subject: str = Field(min_length=1, max_length=100)
    body: str = Field(default="", max_length=300)

    def as_text(self) -> str:
        return f"{self.subject}\n\n{self.body}".strip()
