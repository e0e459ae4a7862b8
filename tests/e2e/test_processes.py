"""Real worker processes on both databases: concurrency, SIGKILL recovery, poison jobs."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from orbit.jobs import JobClient, JobSpec, JobStatus, SQLStore
from tests.conftest import wait_until
from tests.e2e.worker_process import RUNS_DDL

S = JobStatus
pytestmark = pytest.mark.slow


@pytest.fixture
def runs(store: SQLStore) -> Callable[[], list[tuple[str, int]]]:
    with store.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS e2e_runs"))
        conn.execute(sa.text(RUNS_DDL))

    def read() -> list[tuple[str, int]]:
        with store.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text("SELECT job_id, pid FROM e2e_runs"))]

    return read


@pytest.fixture
def spawn(db_url: str) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.worker_process", db_url, *args],
            cwd=os.getcwd(),
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def test_four_processes_run_two_thousand_jobs_exactly_once(
    store: SQLStore, runs: Callable[[], list[tuple[str, int]]], spawn: Callable[..., object]
) -> None:
    client = JobClient(store)
    ids = client.enqueue_many([JobSpec("record_run", {"n": i}) for i in range(2000)])
    workers = [spawn("--concurrency", "16") for _ in range(4)]
    wait_until(
        lambda: store.count_by_status()[S.COMPLETED] == 2000,
        timeout=120,
        interval=0.2,
        what="2,000 jobs completed",
    )
    counts = store.count_by_status()
    assert counts[S.PENDING] == counts[S.RUNNING] == counts[S.FAILED] == 0
    per_job = collections.Counter(job_id for job_id, _ in runs())
    assert set(per_job) == {str(i) for i in ids}
    assert set(per_job.values()) == {1}, "a handler ran more than once"
    pids = {pid for _, pid in runs()}
    assert len(pids) >= 2, "work was not shared between processes"
    for proc in workers:
        proc.send_signal(signal.SIGTERM)  # type: ignore[attr-defined]
    for proc in workers:
        assert proc.wait(15) == 0  # type: ignore[attr-defined]


LEASE_ARGS = ("--lease", "1", "--heartbeat", "0.2", "--reap", "0.2")


def test_sigkilled_worker_job_completes_elsewhere_on_second_attempt(
    store: SQLStore,
    runs: Callable[[], list[tuple[str, int]]],
    spawn: Callable[..., subprocess.Popen[bytes]],
) -> None:
    client = JobClient(store)
    job = client.enqueue("stall_first_attempt", max_attempts=3)
    victim = spawn(*LEASE_ARGS)
    wait_until(lambda: client.get(job.id).progress_percent == 10, timeout=20, what="job running")
    victim.kill()
    victim.wait(10)
    assert client.get(job.id).status is S.RUNNING  # nobody has noticed yet
    rescuer = spawn(*LEASE_ARGS)
    done = wait_until(lambda: (j := client.get(job.id)).finished and j, timeout=30, what="rescue")
    assert done.status is S.COMPLETED and done.attempts == 2
    assert done.result["attempt"] == 2 and done.result["pid"] == rescuer.pid
    assert len(runs()) == 2
    reclaimed = [e.payload for e in client.events(job.id) if e.payload.get("reason") == "reclaimed"]
    assert reclaimed and reclaimed[0]["error"] == "worker lost: lease expired"


def test_a_job_that_kills_every_worker_ends_failed(
    store: SQLStore,
    runs: Callable[[], list[tuple[str, int]]],
    spawn: Callable[..., subprocess.Popen[bytes]],
) -> None:
    client = JobClient(store)
    job = client.enqueue("kill_worker", max_attempts=2)
    spawn(*LEASE_ARGS, "--job-type", "record_run")  # survives: only reaps
    for _ in range(5):
        if client.get(job.id).finished:
            break
        victim = spawn(*LEASE_ARGS, "--job-type", "kill_worker")
        assert victim.wait(30) == -signal.SIGKILL
        wait_until(
            lambda: client.get(job.id).status is not S.RUNNING,
            timeout=20,
            what="lease expiry and reclaim",
        )
    failed = client.get(job.id)
    assert failed.status is S.FAILED and failed.attempts == 2
    assert failed.error == "worker lost: lease expired after 2 of 2 attempts"
    assert len(runs()) == 2
