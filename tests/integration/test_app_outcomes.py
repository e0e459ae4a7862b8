"""The app's side of "nothing lost, nothing leaked", on both databases: a batch whose
child disappears ends instead of waiting forever, parents have a timeout, and a worker
that lost its lease records no AI usage for the job.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from orbit.ai import CallRecord
from orbit.jobs import Fail, JobClient, JobContext, JobFilter, JobRegistry, JobStatus, SQLStore
from orbit.jobs.store.schema import jobs
from orbit.planning.registry import build_registry
from orbit.planning.schema import ai_calls
from orbit.planning.services import PlanningServices
from orbit.planning.tasks.batch import BatchProgress, execute_batch, summarise
from tests.conftest import async_wait_until
from tests.integration.conftest import app_settings
from tests.integration.test_app_tasks import seed_item, seed_project


@pytest.fixture
def services(db_url: str, store: SQLStore, tmp_path: Path) -> PlanningServices:
    return PlanningServices(app_settings(db_url, tmp_path), store.engine)


def claimed_context(store: SQLStore, job_type: str, input_data: dict[str, str]) -> JobContext:
    """The context a worker would hand to the handler of a freshly claimed job."""
    client = JobClient(store)
    job = client.enqueue(job_type, input_data)
    [running] = store.claim("w1", [job_type], 1, 30.0, job_ids=[job.id])
    return JobContext(running, store, client)


def usurp(store: SQLStore, job_id: uuid.UUID) -> None:
    """As if the lease expired and another worker claimed the job."""
    with store.engine.begin() as conn:
        conn.execute(sa.update(jobs).where(jobs.c.id == job_id).values(lease_token=uuid.uuid4()))


async def test_a_batch_whose_finished_child_was_deleted_counts_it_as_lost(
    store: SQLStore,
) -> None:
    project = seed_project(store.engine)
    tasks = [seed_item(store.engine, project, "task", f"T{i}", status="active") for i in range(2)]
    ctx = claimed_context(store, "batch_execution", {"project_id": str(project)})
    client = JobClient(store)
    parent = asyncio.create_task(execute_batch(ctx, str(project)))

    def children() -> list[uuid.UUID]:
        items = client.list(JobFilter(parent_id=ctx.job_id)).items
        return [c.id for c in items] if len(items) == 2 else []

    child_ids = await async_wait_until(children, what="the batch's children")
    for child_id in child_ids:  # no worker here: finish the children by hand
        [child] = store.claim("w2", ["task_execution"], 1, 30.0, job_ids=[child_id])
        store.complete(child.lease, {"execution_id": None})
    deleted = child_ids[0]
    client.delete(deleted)  # or pruned by retention while the parent waits
    summary = await asyncio.wait_for(parent, 10)
    assert (summary["executed"], summary["failed"]) == (1, 1)
    [lost] = [e for e in summary["executions"] if e["job_id"] == str(deleted)]
    assert lost["status"] == "lost"
    assert lost["error"] is not None and "no longer exists" in lost["error"]
    assert {e["task_id"] for e in summary["executions"]} == {str(t) for t in tasks}


def test_a_batch_parent_has_a_timeout(services: PlanningServices) -> None:
    registry = build_registry(services, JobRegistry())
    assert registry.get("batch_execution").timeout_seconds


def call_record() -> CallRecord:
    return CallRecord(
        provider="offline",
        model="offline",
        prompt_name="execution.run",
        operation="structured",
        tokens_in=3,
        tokens_out=5,
        latency_ms=1,
        ok=True,
    )


def usage_rows(store: SQLStore, job_id: uuid.UUID) -> int:
    with store.engine.connect() as conn:
        count = sa.select(sa.func.count()).select_from(ai_calls)
        return int(conn.execute(count.where(ai_calls.c.job_id == job_id)).scalar_one())


def test_ai_usage_is_recorded_only_under_the_jobs_lease(
    store: SQLStore, services: PlanningServices
) -> None:
    ctx = claimed_context(store, "task_execution", {"task_id": str(uuid.uuid4())})
    record = services.recorder(ctx)
    record(call_record())
    assert usage_rows(store, ctx.job_id) == 1
    usurp(store, ctx.job_id)
    record(call_record())  # a zombie's call: not recorded, and the job is not failed by it
    assert usage_rows(store, ctx.job_id) == 1
    assert store.get(ctx.job_id).status is JobStatus.RUNNING


def test_a_batch_whose_every_child_is_gone_fails_saying_so() -> None:
    gone = uuid.uuid4()
    progress = BatchProgress([gone])
    assert progress.update([]) == (100.0, "Task 1/1 executing...") and progress.complete
    with pytest.raises(Fail, match=f"child job {gone} no longer exists"):
        summarise([], [gone], ["t1"])
