"""``batch_execution``: execute every waiting task of a project as child jobs.

The parent checkpoints which tasks it will run, enqueues one ``task_execution`` child per
task (idempotent: a re-run parent finds the same children) and follows them, reporting
"Task i/n executing..." with the mean of the children's progress. Cancelling the parent
cancels the children that have not finished.

A child that no longer exists (deleted, or pruned by retention before the parent read its
outcome) counts as lost: finished, and failed in the summary, so the parent never waits
for it. Each attempt of the parent also has a timeout (``BATCH_TIMEOUT_SECONDS``); a
retried parent finds its children again and follows them on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection

from orbit.jobs import (
    Cancelled,
    Fail,
    InvalidTransition,
    Job,
    JobContext,
    JobStatus,
)
from orbit.planning.records import parse_id
from orbit.planning.tasks import data as task_data

log = logging.getLogger("orbit.planning")

FOLLOW_RECHECK_SECONDS = 1.0
"""Longest sleep between looks at the children and at the parent's cancel flag (the
worker sets the flag after its own check, so a wake-up may come before it)."""
PLAN_STEP = "plan"
BATCH_TIMEOUT_SECONDS = 3600.0
"""How long one attempt of a batch may follow its children (each child has its own)."""
LOST = "lost"
"""The status a summary gives a child that no longer exists."""


def lost_error(child_id: uuid.UUID) -> str:
    """The summary's error for a child that no longer exists."""
    return f"child job {child_id} no longer exists (deleted or pruned before its outcome was read)"


@dataclasses.dataclass
class BatchProgress:
    """The parent's view of its children: never lets percent or position go backwards."""

    child_ids: list[uuid.UUID]
    best: dict[uuid.UUID, float] = dataclasses.field(default_factory=dict)
    percent: float = 0.0
    finished: int = 0

    def update(self, children: Sequence[Job]) -> tuple[float, str]:
        """Fold in the children's latest state; the parent's (percent, message)."""
        by_id = {child.id: child for child in children}
        done = 0
        for child_id in self.child_ids:
            child = by_id.get(child_id)
            if child is None:  # gone: lost, it will never finish now
                seen, done = 100.0, done + 1
            else:
                seen = 100.0 if child.finished else child.progress_percent or 0.0
                done += child.finished
            self.best[child_id] = max(self.best.get(child_id, 0.0), seen)
        total = len(self.child_ids)
        mean = round(sum(self.best.values()) / total, 1)
        self.percent = max(self.percent, mean)
        self.finished = max(self.finished, done)
        return self.percent, f"Task {min(total, self.finished + 1)}/{total} executing..."

    @property
    def complete(self) -> bool:
        """True once every child finished."""
        return self.finished == len(self.child_ids)


def plan(conn: Connection, project_id: uuid.UUID) -> list[str]:
    """The tasks this batch runs, fixed at its first run (checkpointed)."""
    return [str(task_id) for task_id in task_data.pending_tasks(conn, project_id)]


async def enqueue_children(ctx: JobContext, task_ids: list[str]) -> list[uuid.UUID]:
    """One ``task_execution`` child per task, keyed by the task (a re-run finds them)."""
    children = []
    for task_id in task_ids:
        child = await ctx.enqueue_child("task_execution", {"task_id": task_id}, key=task_id)
        children.append(child.id)
    return children


async def follow(ctx: JobContext, progress: BatchProgress, last: tuple[float, str]) -> list[Job]:
    """Report the children's progress until all of them finished; their final state.

    ``last`` is the progress already reported, so it is not written twice. Woken by the
    change feed whenever a child (or the parent) changes; no timer poll.
    """
    async with await ctx.subscribe([*progress.child_ids, ctx.job_id]) as changes:
        while True:
            children = await ctx.children()
            current = progress.update(children)
            if progress.complete:
                return children
            if current != last:
                await ctx.progress(*current)
                last = current
            ctx.raise_if_cancelled()
            await changes.wait(FOLLOW_RECHECK_SECONDS)


async def cancel_children(ctx: JobContext) -> None:
    """Cancel the unfinished children, but only when a client cancelled the parent.

    A worker shutting down interrupts the parent too; then the children keep their state
    and the resumed parent follows them again.
    """
    parent = await ctx.get_job(ctx.job_id)
    if parent.cancel_requested_at is None:
        return
    for child in await ctx.children():
        if child.finished:
            continue
        try:
            await ctx.cancel(child.id)
        except InvalidTransition:
            log.debug("child %s finished before it could be cancelled", child.id)


def execution_entry(child_id: uuid.UUID, child: Job | None, task_id: str | None) -> dict[str, Any]:
    """One child's line in the batch's result (``child`` is ``None`` when it is gone)."""
    if child is None:
        return {
            "task_id": task_id,
            "job_id": str(child_id),
            "status": LOST,
            "execution_id": None,
            "error": lost_error(child_id),
        }
    result = child.result if isinstance(child.result, dict) else {}
    return {
        "task_id": child.input_data.get("task_id"),
        "job_id": str(child.id),
        "status": child.status.value,
        "execution_id": result.get("execution_id"),
        "error": child.error,
    }


def summarise(
    children: list[Job], child_ids: list[uuid.UUID], task_ids: Sequence[str] = ()
) -> dict[str, Any]:
    """The batch's result; ``Fail`` when every child failed (or was lost).

    ``task_ids`` (in the order of ``child_ids``) names the task of a child that is gone.
    """
    by_id = {child.id: child for child in children}
    tasks = dict(zip(child_ids, task_ids, strict=False))
    executions = [execution_entry(c, by_id.get(c), tasks.get(c)) for c in child_ids]
    executed = sum(1 for e in executions if e["status"] == JobStatus.COMPLETED.value)
    failed = len(executions) - executed
    if executed == 0:
        raise Fail(f"all {failed} task executions failed; first error: {executions[0]['error']}")
    return {"success": True, "executed": executed, "failed": failed, "executions": executions}


async def execute_batch(ctx: JobContext, project_id: str) -> dict[str, Any]:
    """``batch_execution``: run the project's waiting tasks as children and follow them."""
    project_uuid = parse_id(project_id, "project")
    task_ids = await ctx.step(PLAN_STEP, lambda conn: plan(conn, project_uuid))
    if not task_ids:
        raise Fail(f"project {project_id} has no active tasks waiting for execution")
    total = len(task_ids)
    start = (0.0, f"Task 1/{total} executing...")
    await ctx.progress(*start)
    try:
        child_ids = await enqueue_children(ctx, task_ids)
        children = await follow(ctx, BatchProgress(child_ids), start)
    except (asyncio.CancelledError, Cancelled):
        await cancel_children(ctx)
        raise
    summary = summarise(children, child_ids, task_ids)
    await ctx.progress(100, f"Batch complete: {summary['executed']}/{total} tasks executed")
    return summary
