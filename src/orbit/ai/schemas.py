"""Output schemas of the named AI operations.

Each structured prompt (see `orbit.ai.prompts.PROMPT_SCHEMAS`) is answered with
one of these models.  `TaskOutput.as_text` renders an output as plain text, which
is what the offline provider returns from `complete` and `stream`.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class TaskOutput(BaseModel):
    """Base class of every operation output."""

    def as_text(self) -> str:
        """A plain-text rendering for display or streaming."""
        return self.model_dump_json(indent=2)


class InterviewReply(TaskOutput):
    """The interviewer's next turn: a question, or a closing remark when ``done``."""

    message: str = Field(min_length=1)
    done: bool = False

    def as_text(self) -> str:
        return self.message


class EpicDraft(TaskOutput):
    """An epic derived from the interview."""

    title: str = Field(min_length=1, max_length=120)
    description: str = Field(min_length=1)

    def as_text(self) -> str:
        return f"{self.title}\n\n{self.description}"


class StoryDraft(BaseModel):
    """One user story of an epic."""

    title: str = Field(min_length=1, max_length=120)
    description: str = Field(min_length=1)


class StoriesDraft(TaskOutput):
    """The user stories of an epic."""

    stories: list[StoryDraft] = Field(min_length=1)

    def as_text(self) -> str:
        return "\n\n".join(
            f"{n}. {story.title}\n   {story.description}"
            for n, story in enumerate(self.stories, start=1)
        )


class TaskDraft(BaseModel):
    """One engineering task of a story."""

    title: str = Field(min_length=1, max_length=120)
    description: str = Field(min_length=1)


class TasksDraft(TaskOutput):
    """The engineering tasks of a story."""

    tasks: list[TaskDraft] = Field(min_length=1)

    def as_text(self) -> str:
        return "\n\n".join(
            f"{n}. {task.title}\n   {task.description}"
            for n, task in enumerate(self.tasks, start=1)
        )


class ActivationDetails(TaskOutput):
    """Details filled in when a backlog item is activated."""

    description: str = Field(min_length=1)
    acceptance_criteria: list[str] = Field(min_length=1)
    notes: list[str] = Field(default_factory=list)

    def as_text(self) -> str:
        lines = [self.description, "", "Acceptance criteria:"]
        lines += [f"- {item}" for item in self.acceptance_criteria]
        if self.notes:
            lines += ["", "Notes:", *(f"- {note}" for note in self.notes)]
        return "\n".join(lines)


class ExecutionResult(TaskOutput):
    """The result of executing a task: a plan and an implementation sketch."""

    summary: str = Field(min_length=1)
    steps: list[str] = Field(min_length=1)
    output: str = Field(min_length=1)

    def as_text(self) -> str:
        return f"{self.summary}\n\n{self.output}"


class CommitMessage(TaskOutput):
    """A Conventional Commits message."""

    subject: str = Field(min_length=1, max_length=100)
    body: str = ""

    def as_text(self) -> str:
        return f"{self.subject}\n\n{self.body}".strip()
