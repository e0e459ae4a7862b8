"""Interview data: interviews, their messages, and the transcript the AI prompts take.

A transcript is the list of ``{"question", "answer"}`` pairs of an interview: each user
message answers the assistant message before it. The backlog prompts and the interviewer
prompt (``interview.next_question``) all read it, with the project as the product idea.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orbit.jobs import first_row
from orbit.planning.errors import NotFound
from orbit.planning.projects.data import load_project, project_idea
from orbit.planning.records import new_id, one_or_not_found, utcnow
from orbit.planning.schema import interview_messages, interviews

MESSAGE_FIELDS = ("id", "role", "content", "created_at")


@dataclasses.dataclass(frozen=True)
class InterviewContext:
    """An interview with its project and messages (in order)."""

    interview: dict[str, Any]
    project: dict[str, Any]
    messages: list[dict[str, Any]]

    @property
    def interview_id(self) -> uuid.UUID:
        """The interview's id."""
        return uuid.UUID(str(self.interview["id"]))

    @property
    def project_id(self) -> uuid.UUID:
        """The id of the interview's project."""
        return uuid.UUID(str(self.project["id"]))

    @property
    def idea(self) -> str:
        """The product idea the prompts start from (the project)."""
        return project_idea(self.project)

    @property
    def answers(self) -> int:
        """How many answers the user gave so far."""
        return sum(1 for message in self.messages if message["role"] == "user")

    def transcript(self, answer: str | None = None) -> list[dict[str, str]]:
        """The question/answer pairs, plus ``answer`` to the last question when given."""
        turns = [(m["role"], m["content"]) for m in self.messages]
        if answer is not None:
            turns.append(("user", answer))
        return transcript_of(turns)

    def prompt_variables(self, answer: str | None = None) -> dict[str, Any]:
        """``idea`` and ``transcript``, as the interview and backlog prompts take them."""
        return {"idea": self.idea, "transcript": self.transcript(answer)}


def transcript_of(turns: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    """Pair each user turn with the assistant turn before it (unanswered ones are left out)."""
    pairs: list[dict[str, str]] = []
    question = ""
    for role, content in turns:
        if role == "assistant":
            question = content
        else:
            pairs.append({"question": question, "answer": content})
            question = ""
    return pairs


def load_interview(conn: Connection, interview_id: uuid.UUID) -> dict[str, Any]:
    """The interview, or ``NotFound``."""
    return one_or_not_found(conn, interviews, interview_id, "interview")


def messages_of(conn: Connection, interview_id: uuid.UUID) -> list[dict[str, Any]]:
    """The interview's messages in order."""
    query = (
        sa.select(interview_messages)
        .where(interview_messages.c.interview_id == interview_id)
        .order_by(interview_messages.c.position)
    )
    return [dict(row._mapping) for row in conn.execute(query)]


_ANSWER_TARGET = sa.select(
    interviews.c.project_id,
    sa.exists().where(interview_messages.c.interview_id == interviews.c.id),
).where(interviews.c.id == sa.bindparam("interview_id", type_=interviews.c.id.type))


def answer_target(lone_reads: sa.Engine, interview_id: uuid.UUID) -> tuple[uuid.UUID, bool]:
    """The interview's project, and whether it has a message yet, in one statement
    (``NotFound`` if unknown): what enqueueing an answer needs, whatever its length."""
    row = first_row(lone_reads, _ANSWER_TARGET, {"interview_id": interview_id})
    if row is None:
        raise NotFound("interview", interview_id)
    return row[0], bool(row[1])


def load_context(conn: Connection, interview_id: uuid.UUID) -> InterviewContext:
    """The interview, its project and its messages; ``NotFound`` if unknown."""
    interview = load_interview(conn, interview_id)
    project = load_project(conn, interview["project_id"])
    return InterviewContext(interview, project, messages_of(conn, interview_id))


def message_view(message: dict[str, Any]) -> dict[str, Any]:
    """A message as clients see it: ``{id, role, content, created_at}``."""
    return {key: message[key] for key in MESSAGE_FIELDS}


def interview_view(interview: dict[str, Any], messages: list[dict[str, Any]]) -> dict[str, Any]:
    """An interview as clients see it, with its messages."""
    return {
        "id": interview["id"],
        "project_id": interview["project_id"],
        "created_at": interview["created_at"],
        "messages": [message_view(m) for m in messages],
    }


def create_interview(conn: Connection, project_id: uuid.UUID) -> dict[str, Any]:
    """Insert an interview with no messages yet; returns its view."""
    interview = {"id": new_id(), "project_id": project_id, "created_at": utcnow()}
    conn.execute(sa.insert(interviews), interview)
    return interview_view(interview, [])


def delete_interview(conn: Connection, interview_id: uuid.UUID) -> None:
    """Remove an interview and its messages."""
    conn.execute(
        sa.delete(interview_messages).where(interview_messages.c.interview_id == interview_id)
    )
    conn.execute(sa.delete(interviews).where(interviews.c.id == interview_id))


def append_messages(
    conn: Connection,
    interview_id: uuid.UUID,
    turns: Sequence[tuple[str, str]],
    job_id: uuid.UUID | None = None,
) -> list[dict[str, Any]]:
    """Append ``(role, content)`` messages after the interview's last one; returns them."""
    # Lock the interview row so two appends to one interview (the synchronous route and a
    # job, say) take turns instead of both picking the next position (PostgreSQL; SQLite
    # write transactions are serial already and ignore FOR UPDATE).
    conn.execute(
        sa.select(interviews.c.id).where(interviews.c.id == interview_id).with_for_update()
    )
    last = conn.execute(
        sa.select(sa.func.max(interview_messages.c.position)).where(
            interview_messages.c.interview_id == interview_id
        )
    ).scalar()
    start = -1 if last is None else int(last)
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "interview_id": interview_id,
            "position": start + offset,
            "role": role,
            "content": content,
            "job_id": job_id,
            "created_at": now,
        }
        for offset, (role, content) in enumerate(turns, start=1)
    ]
    if rows:
        conn.execute(sa.insert(interview_messages), rows)
    return rows
