"""Job handlers that activate backlog items and execute tasks.

Each handler reports progress, asks the AI layer for its answer and saves it in one
``ctx.step``, so a re-run after a crash returns the saved result instead of writing twice.
A missing item or one in the wrong state fails the job at once (``Fail``), without retries.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import uuid
from typing import Any

import sqlalchemy as sa
from fastapi.encoders import jsonable_encoder
from sqlalchemy.engine import Connection, Engine

from orbit.ai import ActivationDetails, CallRecord, CallRecorder, ExecutionResult, render_prompt
from orbit.jobs import Fail, JobContext, JobRegistry
from orbit.planning.failures import ai_failures
from orbit.planning.records import one_or_none, parse_id, reading, utcnow
from orbit.planning.schema import KINDS, backlog_items, projects
from orbit.planning.services import PlanningServices
from orbit.planning.tasks import data as task_data
from orbit.planning.tasks.batch import BATCH_TIMEOUT_SECONDS, execute_batch

SAVE_STEP = "save"
ACTIVATION_JOB_TYPES = {kind: f"{kind}_activation" for kind in KINDS}


def brief(row: dict[str, Any] | None) -> dict[str, Any]:
    """What the prompts need to know about an item: kind, title, description."""
    if row is None:
        return {}
    return {"kind": row["kind"], "title": row["title"], "description": row["description"]}


def load_subject(engine: Engine, item_id: uuid.UUID) -> dict[str, Any]:
    """The item, its parent and its project, read in one transaction; ``Fail`` if missing."""
    with reading(engine) as conn:
        item = one_or_none(conn, backlog_items, item_id)
        if item is None:
            raise Fail(f"backlog item {item_id} not found", code="not_found")
        parent = one_or_none(conn, backlog_items, item["parent_id"]) if item["parent_id"] else None
        project = one_or_none(conn, projects, item["project_id"])
    return {"item": item, "parent": parent, "project": project or {}}


# -- activation ----------------------------------------------------------------------------


def save_activation(
    conn: Connection, item_id: uuid.UUID, details: ActivationDetails, job_id: uuid.UUID
) -> Any:
    """Write the AI's details and make the item ``active``; ``Fail`` if it moved on."""
    item = one_or_none(conn, backlog_items, item_id)
    if item is None:
        raise Fail(f"backlog item {item_id} was deleted", code="not_found")
    merged = {
        **(item["details"] or {}),
        "acceptance_criteria": details.acceptance_criteria,
        "notes": details.notes,
        "activation_job_id": str(job_id),
    }
    updated = conn.execute(
        sa.update(backlog_items)
        .where(backlog_items.c.id == item_id, backlog_items.c.status == "suggested")
        .values(
            description=details.description, details=merged, status="active", updated_at=utcnow()
        )
    )
    if updated.rowcount != 1:
        raise Fail(f"backlog item {item_id} is no longer suggested")
    return jsonable_encoder(task_data.item_view(task_data.load_item(conn, item_id)))


async def activate_item(ctx: JobContext, services: PlanningServices, item_id: str) -> Any:
    """``<kind>_activation``: fill in an item's details with the AI and make it active."""
    item_uuid = parse_id(item_id, "backlog item")
    saved = await ctx.checkpoint(SAVE_STEP)
    if saved is None:
        subject = await asyncio.to_thread(load_subject, services.engine, item_uuid)
        item = subject["item"]
        if reason := task_data.activation_refusal(item):
            raise Fail(reason)
        await ctx.progress(10, f"Activating {item['kind']}...")
        prompt = render_prompt(
            "activation.fill",
            item=brief(item),
            parent=brief(subject["parent"]),
            context=subject["project"].get("description") or "",
        )
        details = await services.ai_for(ctx).structured(prompt, ActivationDetails)
        await ctx.progress(90, "Saving details...")
        write = functools.partial(
            save_activation, item_id=item_uuid, details=details, job_id=ctx.job_id
        )
        saved = await ctx.step(SAVE_STEP, write)
    await ctx.progress(100, "Activated")
    return saved


# -- execution -----------------------------------------------------------------------------


@dataclasses.dataclass
class CallTally:
    """A call recorder that forwards every call and adds up what they cost."""

    forward: CallRecorder
    default_model: str
    calls: list[CallRecord] = dataclasses.field(default_factory=list)

    def __call__(self, call: CallRecord) -> None:
        self.calls.append(call)
        self.forward(call)

    def usage(self) -> dict[str, Any]:
        """The model that answered and the tokens every call of this job used."""
        answered = [call.model for call in self.calls if call.ok]
        return {
            "model": answered[-1] if answered else self.default_model,
            "tokens_in": sum(call.tokens_in for call in self.calls),
            "tokens_out": sum(call.tokens_out for call in self.calls),
        }


def task_brief(item: dict[str, Any]) -> dict[str, Any]:
    """The task as the execution prompt sees it, acceptance criteria included."""
    details = item["details"] or {}
    return {**brief(item), "acceptance_criteria": details.get("acceptance_criteria", [])}


async def run_execution(
    services: PlanningServices, ctx: JobContext, subject: dict[str, Any]
) -> dict[str, Any]:
    """Ask the AI to carry out the task: output, model, tokens (all calls) and summary."""
    provider = services.provider
    tally = CallTally(services.recorder(ctx), provider.model)
    prompt = render_prompt(
        "execution.run", task=task_brief(subject["item"]), story=brief(subject["parent"])
    )
    result = await provider.with_recorder(tally).structured(prompt, ExecutionResult)
    return {"output": result.as_text(), **tally.usage(), "summary": result.summary}


def save_execution(
    conn: Connection, item_id: uuid.UUID, values: dict[str, Any], job_id: uuid.UUID
) -> Any:
    """Store the execution; the step's result is what the job returns."""
    row = {key: values[key] for key in ("output", "model", "tokens_in", "tokens_out")}
    execution_id = task_data.insert_execution(conn, item_id, row, job_id)
    return jsonable_encoder({"execution_id": execution_id, "task_id": item_id, **values})


async def execute_task(ctx: JobContext, services: PlanningServices, task_id: str) -> Any:
    """``task_execution``: run an active task or subtask with the AI and store the output."""
    item_uuid = parse_id(task_id, "task")
    await ctx.progress(10, "Preparing task...")
    saved = await ctx.checkpoint(SAVE_STEP)
    if saved is None:
        subject = await asyncio.to_thread(load_subject, services.engine, item_uuid)
        if reason := task_data.execution_refusal(subject["item"]):
            raise Fail(reason)
        await ctx.progress(30, "Calling AI model...")
        values = await run_execution(services, ctx, subject)
        await ctx.progress(80, "Saving execution...")
        write = functools.partial(
            save_execution, item_id=item_uuid, values=values, job_id=ctx.job_id
        )
        saved = await ctx.step(SAVE_STEP, write)
    await ctx.progress(100, "Execution complete")
    return {"success": True, **saved}


def register(registry: JobRegistry, services: PlanningServices) -> None:
    """Register the activation, execution and batch handlers."""

    async def activation(ctx: JobContext, item_id: str) -> Any:
        with ai_failures(ctx.job.job_type, services):
            return await activate_item(ctx, services, item_id)

    async def task_execution(ctx: JobContext, task_id: str) -> Any:
        with ai_failures("task_execution", services):
            return await execute_task(ctx, services, task_id)

    async def batch_execution(ctx: JobContext, project_id: str) -> Any:
        return await execute_batch(ctx, project_id)

    for job_type in ACTIVATION_JOB_TYPES.values():
        registry.job(job_type, max_attempts=3, timeout_seconds=600)(activation)
    registry.job("task_execution", max_attempts=3, timeout_seconds=600)(task_execution)
    registry.job("batch_execution", max_attempts=3, timeout_seconds=BATCH_TIMEOUT_SECONDS)(
        batch_execution
    )
