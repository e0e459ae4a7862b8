"""``orbit jobs cancel`` by filter, ``orbit jobs enqueue``, ``orbit jobs stats`` and
``orbit workers`` on both databases."""

from __future__ import annotations

import uuid

from orbit.jobs import JobClient, JobStatus, SQLStore
from tests.integration.test_cli import as_json, orbit

S = JobStatus
APP = "tests.integration.engine_jobs:registry"


def test_cancel_by_filter_cancels_the_selected_pending_jobs(db_url: str, store: SQLStore) -> None:
    client = JobClient(store)
    chosen = [client.enqueue("a").id for _ in range(2)]
    other = client.enqueue("b")
    result = orbit(db_url, "jobs", "cancel", "--status", "pending", "--job-type", "a", "--json")
    assert sorted(as_json(result)["cancelled"]) == sorted(str(i) for i in chosen)  # type: ignore[index]
    assert {client.get(i).status for i in chosen} == {S.CANCELLED}
    assert client.get(other.id).status is S.PENDING
    single = as_json(orbit(db_url, "jobs", "cancel", str(other.id), "--json"))
    assert single["status"] == "cancelled"  # type: ignore[index]


def test_cancel_refuses_running_in_bulk_and_needs_an_id_or_a_filter(db_url: str) -> None:
    running = orbit(db_url, "jobs", "cancel", "--status", "running")
    assert running.exit_code == 2 and "only pending jobs" in running.stderr
    neither = orbit(db_url, "jobs", "cancel")
    assert neither.exit_code == 2 and "either JOB_ID or filters" in neither.stderr
    both = orbit(db_url, "jobs", "cancel", str(uuid.uuid4()), "--job-type", "a")
    assert both.exit_code == 2


def test_enqueue_applies_the_registrys_defaults_and_checks_its_input(
    db_url: str, store: SQLStore
) -> None:
    args = ("jobs", "enqueue", "engine_echo", "--input", '{"text": "hi"}', "--priority", "4")
    job = as_json(orbit(db_url, *args, "--app", APP, "--queue", "q1", "--json"))
    assert job["input_data"] == {"text": "hi"} and job["priority"] == 4  # type: ignore[index]
    assert job["queue"] == "q1"  # type: ignore[index]
    assert job["max_attempts"] == 2, "the engine_echo registry's default"  # type: ignore[index]
    plain = orbit(db_url, "jobs", "enqueue", "interview_message", "--input", "{}")
    assert plain.exit_code == 0, plain.stderr
    app_job = JobClient(store).get(uuid.UUID(plain.stdout.strip()))
    assert app_job.timeout_seconds == 600, "the Orbit app's interview_message default"
    for bad in ("[1]", "{nope"):
        refused = orbit(db_url, "jobs", "enqueue", "x", "--input", bad)
        assert refused.exit_code == 2 and "--input" in refused.stderr


def test_stats_counts_jobs_by_status(db_url: str, store: SQLStore) -> None:
    client = JobClient(store)
    for _ in range(3):
        client.enqueue("a")
    client.cancel(client.enqueue("b").id)
    counts = as_json(orbit(db_url, "jobs", "stats", "--json"))
    assert counts == {  # type: ignore[comparison-overlap]
        "pending": 3,
        "running": 0,
        "completed": 0,
        "failed": 0,
        "cancelled": 1,
        "total": 4,
    }
    only_b = as_json(orbit(db_url, "jobs", "stats", "--job-type", "b", "--json"))
    assert only_b["total"] == 1  # type: ignore[index]


def test_workers_lists_the_lease_holders_of_running_jobs(db_url: str, store: SQLStore) -> None:
    client = JobClient(store)
    ids = [client.enqueue("a").id for _ in range(3)]
    store.claim("worker-1", None, 2, 300, job_ids=ids[:2])
    store.claim("worker-2", None, 1, -1, job_ids=ids[2:])  # its lease already expired
    listed = as_json(orbit(db_url, "workers", "--json"))
    found = {w["worker_id"]: w for w in listed["workers"]}  # type: ignore[index]
    assert (found["worker-1"]["running_jobs"], found["worker-1"]["alive"]) == (2, True)
    assert (found["worker-2"]["running_jobs"], found["worker-2"]["alive"]) == (1, False)
    assert "not listed" in listed["note"]  # type: ignore[index]


def test_delete_by_filter_deletes_the_selected_pending_jobs(db_url: str, store: SQLStore) -> None:
    client = JobClient(store)
    chosen = [client.enqueue("a").id for _ in range(2)]
    other = client.enqueue("b")
    running = client.enqueue("a")
    store.claim("w", None, 1, 300, job_ids=[running.id])
    result = orbit(db_url, "jobs", "delete", "--status", "pending", "--type", "a", "--json")
    assert result.exit_code == 0, result.stderr
    assert as_json(result) == {"deleted": 2}
    assert "deleted 2 pending job(s)" in result.stderr
    remaining = {j.id for j in client.list().items}
    assert remaining == {other.id, running.id} and not remaining & set(chosen)


def test_delete_refuses_other_statuses_in_bulk_and_needs_an_id_or_a_filter(db_url: str) -> None:
    failed = orbit(db_url, "jobs", "delete", "--status", "failed")
    assert failed.exit_code == 2 and "only pending jobs" in failed.stderr
    assert "orbit jobs prune" in failed.stderr
    neither = orbit(db_url, "jobs", "delete")
    assert neither.exit_code == 2 and "either JOB_ID or filters" in neither.stderr
    both = orbit(db_url, "jobs", "delete", str(uuid.uuid4()), "--type", "a")
    assert both.exit_code == 2


def test_show_prints_the_error_code_beside_the_error(db_url: str, store: SQLStore) -> None:
    client = JobClient(store)
    job = client.enqueue("a")
    (claimed,) = store.claim("w", None, 1, 300, job_ids=[job.id])
    store.fail(claimed.lease, "the key was refused", code="ai_auth")
    document = as_json(orbit(db_url, "jobs", "show", str(job.id), "--json"))
    assert document["error_code"] == "ai_auth"  # type: ignore[index]
    assert document["events"][-1]["payload"]["error_code"] == "ai_auth"  # type: ignore[index]
    table = orbit(db_url, "jobs", "show", str(job.id)).stdout
    lines = table.splitlines()
    error_line = next(i for i, line in enumerate(lines) if line.startswith("error "))
    assert lines[error_line + 1].split() == ["error_code", "ai_auth"]
    listing = orbit(db_url, "jobs", "list").stdout
    assert "ai_auth: the key was refused" in listing
