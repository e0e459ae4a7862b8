"""The ``backlog_generation`` job: an epic, its stories and their tasks, written resumably.

One handler, four modes (``input_data["mode"]``):

* ``full`` (``interview_id``): epic → stories → tasks, with the seeds' progress schedule
  (10 "Generating Epic from interview..." ... 100 "Backlog generation complete");
* ``epic`` (``interview_id``), ``stories`` (``epic_id``), ``tasks`` (``story_id``): one
  level each.

Every write is a checkpointed step (``ctx.step``), committed together with its rows:

* ``epic``: the epic row;
* ``stories``: the stories the AI proposed (no rows yet; kept so that a re-run writes
  the same ones even when the model would answer differently the second time);
* ``story:<i>``: story ``i``;
* ``tasks:<i>``: the tasks of story ``i``.

A worker killed mid-way is replaced by another that skips the finished steps (and their
AI calls and progress messages) and carries on: no duplicates, nothing half-written.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy.engine import Connection

from orbit.ai import EpicDraft, StoriesDraft, TasksDraft, render_prompt
from orbit.jobs import Fail, JobContext, JobRegistry
from orbit.planning.backlog.data import insert_items, load_item
from orbit.planning.errors import NotFound
from orbit.planning.failures import ai_failures, missing_as_failure
from orbit.planning.interviews.data import InterviewContext, load_context
from orbit.planning.projects.data import load_project, project_idea
from orbit.planning.records import reading
from orbit.planning.services import PlanningServices

JOB_TYPE = "backlog_generation"
TIMEOUT_SECONDS = 3600

SchemaT = TypeVar("SchemaT", bound=BaseModel)
T = TypeVar("T")
Item = dict[str, str]


@dataclasses.dataclass(frozen=True)
class Span:
    """Where the per-item progress of a stage runs: item ``i`` of ``n`` starts at ``at``."""

    start: float
    end: float

    def at(self, index: int, count: int) -> float:
        """The percent at which item ``index`` (1-based) of ``count`` starts."""
        return round(self.start + (self.end - self.start) * (index - 1) / count, 1)


@dataclasses.dataclass(frozen=True)
class Origin:
    """Where generated items belong."""

    project_id: uuid.UUID
    interview_id: uuid.UUID | None


def plural(count: int, noun: str) -> str:
    """``"5 stories"``, ``"1 story"``, ``"3 tasks"``."""
    if count == 1:
        return f"1 {noun}"
    return f"{count} {noun[:-1]}ies" if noun.endswith("y") else f"{count} {noun}s"


def fields(item: dict[str, Any]) -> dict[str, str]:
    """An item's title and description, as the prompts take them."""
    return {
        "title": str(item.get("title") or ""),
        "description": str(item.get("description") or ""),
    }


# -- what a run reads (in a thread; a missing row raises NotFound) --------------------------


def read_interview(services: PlanningServices, interview_id: uuid.UUID) -> InterviewContext:
    """The interview to generate from; it must have at least one answer."""
    with reading(services.engine) as conn:
        context = load_context(conn, interview_id)
    if context.answers == 0:
        raise Fail(f"interview {interview_id} has no answers yet")
    return context


def read_epic(
    services: PlanningServices, epic_id: uuid.UUID
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The epic and the prompt variables (idea, transcript) of its interview."""
    with reading(services.engine) as conn:
        epic = load_item(conn, epic_id, "epic")
        return epic, prompt_variables(conn, epic)


def read_story(services: PlanningServices, story_id: uuid.UUID) -> tuple[dict[str, Any], Item]:
    """The story and its epic's title and description."""
    with reading(services.engine) as conn:
        story = load_item(conn, story_id, "story")
        parent = load_item(conn, story["parent_id"]) if story["parent_id"] else {}
        return story, fields(parent)


def prompt_variables(conn: Connection, item: dict[str, Any]) -> dict[str, Any]:
    """``idea`` and ``transcript`` for an item: from its interview, else from its project."""
    if item["interview_id"] is not None:
        try:
            return load_context(conn, item["interview_id"]).prompt_variables()
        except NotFound:
            pass  # the interview was deleted; the project still describes the product
    return {"idea": project_idea(load_project(conn, item["project_id"])), "transcript": []}


# -- the run ----------------------------------------------------------------------------------


class BacklogGeneration:
    """One run of a ``backlog_generation`` job."""

    def __init__(self, ctx: JobContext, services: PlanningServices) -> None:
        self.ctx = ctx
        self.services = services
        self.ai = services.ai_for(ctx)

    async def read(self, load: Callable[..., T], *args: Any) -> T:
        """Run ``load(services, *args)`` off the loop; a vanished row fails the job."""
        with missing_as_failure():
            return await asyncio.to_thread(load, self.services, *args)

    async def ask(self, prompt_name: str, schema: type[SchemaT], **variables: Any) -> SchemaT:
        """A structured AI call (its errors: ``ai_failures``, around the whole job)."""
        return await self.ai.structured(render_prompt(prompt_name, **variables), schema)

    async def write(
        self,
        step: str,
        drafts: Sequence[BaseModel | dict[str, Any]],
        kind: str,
        origin: Origin,
        parent_id: uuid.UUID | None,
    ) -> list[Item]:
        """Insert ``drafts`` as ``kind`` items in checkpointed step ``step``."""

        def insert(conn: Connection) -> list[Item]:
            return insert_items(
                conn,
                drafts,
                kind=kind,
                project_id=origin.project_id,
                interview_id=origin.interview_id,
                parent_id=parent_id,
                job_id=self.ctx.job_id,
            )

        return list(await self.ctx.step(step, insert))

    # -- stages ---------------------------------------------------------------------------

    async def epic(self, context: InterviewContext, created_at: float) -> Item:
        """The epic from the interview (step ``epic``)."""
        saved = await self.ctx.checkpoint("epic")
        if saved is not None:
            return dict(saved[0])
        await self.ctx.progress(10, "Generating Epic from interview...")
        draft = await self.ask("backlog.epic", EpicDraft, **context.prompt_variables())
        origin = Origin(context.project_id, context.interview_id)
        epic = (await self.write("epic", [draft], "epic", origin, None))[0]
        await self.ctx.progress(created_at, f"Epic created: {epic['title']}")
        return epic

    async def story_drafts(
        self, epic: Item, variables: dict[str, Any], percent: float
    ) -> list[dict[str, Any]]:
        """The stories the AI proposes for the epic (step ``stories``; no rows)."""
        saved = await self.ctx.checkpoint("stories")
        if saved is not None:
            return list(saved)
        await self.ctx.progress(percent, "Decomposing Epic into Stories...")
        draft = await self.ask("backlog.stories", StoriesDraft, epic=fields(epic), **variables)
        proposed = [story.model_dump() for story in draft.stories]
        return list(await self.ctx.step("stories", lambda conn: proposed))

    async def stories(
        self, epic: Item, origin: Origin, variables: dict[str, Any], plan: tuple[float, Span]
    ) -> tuple[list[Item], bool]:
        """Write the proposed stories one step each; also says whether any was written now."""
        start, span = plan
        drafts = await self.story_drafts(epic, variables, start)
        count, written, wrote = len(drafts), [], False
        for index, draft in enumerate(drafts, start=1):
            step = f"story:{index}"
            saved = await self.ctx.checkpoint(step)
            if saved is None:
                message = f"Generating Stories {index}/{count}..."
                await self.ctx.progress(span.at(index, count), message)
                saved = await self.write(step, [draft], "story", origin, uuid.UUID(epic["id"]))
                wrote = True
            written.append(dict(saved[0]))
        return written, wrote

    async def tasks(self, epic: Item, story: Item, origin: Origin, step: str) -> list[Item]:
        """The tasks of one story (step ``step``)."""
        saved = await self.ctx.checkpoint(step)
        if saved is not None:
            return list(saved)
        draft = await self.ask("backlog.tasks", TasksDraft, epic=fields(epic), story=fields(story))
        return await self.write(step, draft.tasks, "task", origin, uuid.UUID(story["id"]))

    async def all_tasks(self, epic: Item, stories: list[Item], origin: Origin) -> int:
        """Tasks for every story (steps ``tasks:<i>``), 65 → 100; returns how many exist."""
        count, total, started = len(stories), 0, False
        for index, story in enumerate(stories, start=1):
            step = f"tasks:{index}"
            if await self.ctx.checkpoint(step) is None:
                if not started:
                    await self.ctx.progress(65, "Decomposing Stories into Tasks...")
                    started = True
                message = f"Generating Tasks for Story {index}/{count}..."
                await self.ctx.progress(Span(70, 100).at(index, count), message)
            total += len(await self.tasks(epic, story, origin, step))
        return total

    # -- modes ----------------------------------------------------------------------------

    async def full(self, interview_id: uuid.UUID) -> dict[str, Any]:
        """Epic → stories → tasks from an interview."""
        context = await self.read(read_interview, interview_id)
        origin = Origin(context.project_id, context.interview_id)
        epic = await self.epic(context, created_at=30)
        variables = context.prompt_variables()
        stories, wrote = await self.stories(epic, origin, variables, (35, Span(40, 60)))
        if wrote:
            await self.ctx.progress(60, f"Stories created: {plural(len(stories), 'story')}")
        tasks = await self.all_tasks(epic, stories, origin)
        await self.ctx.progress(100, "Backlog generation complete")
        return {
            "success": True,
            "epic_created": epic,
            "stories_created": len(stories),
            "tasks_created": tasks,
        }

    async def epic_only(self, interview_id: uuid.UUID) -> dict[str, Any]:
        """Just the epic."""
        context = await self.read(read_interview, interview_id)
        epic = await self.epic(context, created_at=100)
        return {"success": True, "epic_created": epic}

    async def stories_only(self, epic_id: uuid.UUID) -> dict[str, Any]:
        """Stories for an existing epic."""
        epic_row, variables = await self.read(read_epic, epic_id)
        origin = Origin(epic_row["project_id"], epic_row["interview_id"])
        epic = {"id": str(epic_row["id"]), **fields(epic_row)}
        stories, _ = await self.stories(epic, origin, variables, (10, Span(20, 100)))
        await self.ctx.progress(100, f"Stories created: {plural(len(stories), 'story')}")
        return {"success": True, "stories_created": len(stories), "stories": stories}

    async def tasks_only(self, story_id: uuid.UUID) -> dict[str, Any]:
        """Tasks for an existing story."""
        story_row, epic = await self.read(read_story, story_id)
        origin = Origin(story_row["project_id"], story_row["interview_id"])
        story = {"id": str(story_row["id"]), **fields(story_row)}
        await self.ctx.progress(10, f"Generating Tasks for Story: {story['title']}...")
        tasks = await self.tasks(epic, story, origin, "tasks:1")
        await self.ctx.progress(100, f"Tasks created: {plural(len(tasks), 'task')}")
        return {"success": True, "tasks_created": len(tasks), "tasks": tasks}


async def generate_backlog(
    ctx: JobContext, services: PlanningServices, mode: str, ids: dict[str, str | None]
) -> dict[str, Any]:
    """Run ``backlog_generation`` in ``mode`` on the id that mode needs."""
    run = BacklogGeneration(ctx, services)
    modes = {
        "full": ("interview_id", run.full),
        "epic": ("interview_id", run.epic_only),
        "stories": ("epic_id", run.stories_only),
        "tasks": ("story_id", run.tasks_only),
    }
    if mode not in modes:
        raise Fail(
            f"unknown backlog_generation mode {mode!r}; expected one of {sorted(modes)}",
            code="invalid_input",
        )
    key, handle = modes[mode]
    try:
        target = uuid.UUID(str(ids.get(key)))
    except ValueError:
        raise Fail(f"mode {mode!r} needs {key} (a UUID), got {ids.get(key)!r}") from None
    return await handle(target)


def register(registry: JobRegistry, services: PlanningServices) -> None:
    """Register the ``backlog_generation`` handler, bound to ``services``."""

    @registry.job(JOB_TYPE, max_attempts=3, timeout_seconds=TIMEOUT_SECONDS)
    async def backlog_generation(
        ctx: JobContext, /, mode: str, **ids: str | None
    ) -> dict[str, Any]:
        with ai_failures(JOB_TYPE, services):
            return await generate_backlog(ctx, services, mode, ids)
