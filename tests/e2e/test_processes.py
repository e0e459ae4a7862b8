"""Real worker processes on both databases: concurrency, SIGKILL recovery, poison jobs."""

from __future__ import annotations

import collections
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator

import httpx
import pytest
import sqlalchemy as sa

from orbit.jobs import JobClient, JobSpec, JobStatus, SQLStore, open_store
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
    assert reclaimed[0]["error_code"] == "worker_lost"


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
    assert failed.error_code == "worker_lost"
    assert len(runs()) == 2


# -- the change feed: one database watcher per process ---------------------------------------

LISTENERS = (
    "SELECT count(*) FROM pg_stat_activity "
    "WHERE datname = current_database() AND query ILIKE 'LISTEN%'"
)


def _listen_sessions(store: SQLStore) -> int:
    # An idle LISTEN-ing session shows its last statement, "LISTEN orbit_changes".
    with store.engine.connect() as conn:
        return int(conn.execute(sa.text(LISTENERS)).scalar_one())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _orbit(db_url: str, *args: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ORBIT_DATABASE_URL": db_url,
        "ORBIT_JOBS_MODULE": "tests.e2e.feed_jobs:registry",
        "ORBIT_API_TOKEN": "",
    }
    orbit = os.path.join(os.path.dirname(sys.executable), "orbit")
    return subprocess.Popen([orbit, *args], cwd=os.getcwd(), env=env)


def _follow(url: str, job_id: str, seen: dict[str, threading.Event], done: threading.Event) -> None:
    """Follow one job's SSE stream (subscribed once its snapshot arrives) until it ends."""
    with (
        httpx.Client(timeout=httpx.Timeout(30.0)) as http,
        http.stream("GET", f"{url}/api/v1/jobs/{job_id}/events") as response,
    ):
        for line in response.iter_lines():
            if line == "event: snapshot":
                seen[job_id].set()
            if line == "event: end" or done.is_set():
                return


def test_one_listen_connection_per_process(
    request: pytest.FixtureRequest, _pg_migrated: str
) -> None:
    """`orbit serve` (embedded worker) with 20 SSE subscribers holds exactly one LISTEN
    session; a standalone `orbit worker` beside it adds exactly one more."""
    db_url = _pg_migrated
    store = open_store(db_url)
    request.addfinalizer(store.close)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = _orbit(db_url, "serve", "--port", str(port), "--concurrency", "30")
    procs = [server]
    done = threading.Event()
    try:
        wait_until(lambda: _healthy(url), timeout=60, what="orbit serve to answer")
        with httpx.Client(base_url=url, timeout=10) as http:
            ids = [_enqueue_hold(http) for _ in range(20)]
            seen = {job_id: threading.Event() for job_id in ids}
            streams = [
                threading.Thread(target=_follow, args=(url, job_id, seen, done), daemon=True)
                for job_id in ids
            ]
            for thread in streams:
                thread.start()
            wait_until(
                lambda: all(e.is_set() for e in seen.values()),
                timeout=60,
                what="every stream to send its snapshot",
            )
            assert _listen_sessions(store) == 1
            procs.append(_orbit(db_url, "worker", "--concurrency", "1"))
            wait_until(lambda: _listen_sessions(store) == 2, timeout=60, what="a second LISTEN")
            assert _listen_sessions(store) == 2
            for job_id in ids:
                assert http.post(f"/api/v1/jobs/{job_id}/cancel").status_code == 202
            for thread in streams:
                thread.join(30)  # each stream ends once the feed tells it the job ended
            assert not any(thread.is_alive() for thread in streams)
    finally:
        done.set()
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _enqueue_hold(http: httpx.Client) -> str:
    response = http.post("/api/v1/jobs", json={"job_type": "hold"})
    assert response.status_code == 202, response.text
    return str(response.json()["job_id"])
