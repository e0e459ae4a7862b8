"""Bulk verbs: cancel or delete the pending jobs a filter selects; prune refuses unfinished
statuses instead of ignoring them. Both databases."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from orbit.jobs import JobClient, JobFilter, JobStatus, SQLStore

S = JobStatus


def test_cancel_pending_cancels_only_the_selected_pending_jobs(store: SQLStore) -> None:
    client = JobClient(store)
    project = uuid.uuid4()
    mine = [client.enqueue("a", project_id=project).id for _ in range(3)]
    other_type = client.enqueue("b", project_id=project)
    other_project = client.enqueue("a")
    running = client.enqueue("a", project_id=project)
    store.claim("w", None, 1, 300, job_ids=[running.id])
    cancelled = client.cancel_pending(JobFilter(job_type="a", project_id=project))
    assert sorted(cancelled) == sorted(mine)
    assert {client.get(i).status for i in mine} == {S.CANCELLED}
    assert client.get(other_type.id).status is S.PENDING
    assert client.get(other_project.id).status is S.PENDING
    assert client.get(running.id).status is S.RUNNING, "a claimed job is not pending"
    last = client.events(mine[0])[-1]
    assert (last.kind, last.payload["status"], last.seq) == ("status", "cancelled", 2)
    assert client.cancel_pending(JobFilter(job_type="a", project_id=project)) == []


def test_delete_pending_deletes_only_pending_jobs(store: SQLStore) -> None:
    client = JobClient(store)
    doomed = [client.enqueue("a").id for _ in range(2)]
    kept = client.enqueue("b")
    done = client.enqueue("a")
    (lease,) = store.claim("w", None, 1, 300, job_ids=[done.id])
    store.complete(lease.lease, None)
    assert client.delete_pending(JobFilter(job_type="a")) == 2
    assert all(client.events(i) == [] for i in doomed), "their events went with them"
    remaining = {j.id: j.status for j in client.list().items}
    assert remaining == {kept.id: S.PENDING, done.id: S.COMPLETED}


def test_bulk_verbs_refuse_a_status_filter_other_than_pending(store: SQLStore) -> None:
    client = JobClient(store)
    with pytest.raises(ValueError, match="pending jobs only"):
        client.cancel_pending(JobFilter(status=S.RUNNING))
    with pytest.raises(ValueError, match="pending jobs only"):
        client.delete_pending(JobFilter(status=S.FAILED))


def test_prune_refuses_unfinished_statuses_and_says_what_to_use(store: SQLStore) -> None:
    client = JobClient(store)
    client.enqueue("a")
    with pytest.raises(ValueError, match="finished jobs only, not pending, running"):
        client.prune(dt.timedelta(0), [S.RUNNING, S.PENDING, S.FAILED])
    assert client.count_by_status()[S.PENDING] == 1
