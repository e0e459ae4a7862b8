"""Progress latency end to end: a worker's store write until an SSE client receives it.

A real uvicorn server (a subprocess on 127.0.0.1, a free port, embedded worker off) serves
a fresh database. This process plays the worker and the browser: it claims a job and
records progress N times, 10-30 ms apart, while httpx clients follow the job's stream
(``/jobs/{id}/events``) and its project's stream (``/jobs/events?project_id=``).
Latency = the moment a client parsed the event - the moment just before the store write.
The worker is another process than the server, as in production (``orbit worker``): on
SQLite the server notices through ``PRAGMA data_version``, on PostgreSQL through NOTIFY.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import threading
import time
import uuid

import httpx

from bench.common import DIALECTS, fresh_database, opened, percentile
from orbit.jobs import JobSpec

UPDATES = 200


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(url: str, port: int) -> None:
    """The server process."""
    import uvicorn

    from orbit.api import create_app
    from orbit.settings import Settings

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=url, embedded_worker=False, migrate_on_start=False
    )
    uvicorn.run(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )


def start_server(url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.progress_latency", "--serve", url, "--port", str(port)],
        env={**os.environ, "ORBIT_TELEMETRY": "false"},
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise SystemExit("the server did not start")
        time.sleep(0.05)


class Follower(threading.Thread):
    """Reads one event stream; records when each ``#i`` progress message arrived."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.received: dict[int, float] = {}
        self.ready = threading.Event()

    def run(self) -> None:
        with (
            httpx.Client(timeout=httpx.Timeout(30.0)) as client,
            client.stream("GET", self.url) as response,
        ):
            event = ""
            for line in response.iter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event == "progress":
                    arrived = time.perf_counter()
                    marker = line.split('"message":"#', 1)
                    if len(marker) == 2:
                        self.received[int(marker[1].split('"', 1)[0])] = arrived
                elif line.startswith("data:") and event == "snapshot":
                    self.ready.set()
                elif event == "status" and '"completed"' in line:
                    return


def measure(url: str, updates: int) -> dict[str, list[float]]:
    proc, base = start_server(url)
    try:
        with opened(url) as store:
            project = uuid.uuid4()
            job = store.enqueue(JobSpec("bench_latency", project_id=project))
            (claimed,) = store.claim("bench-worker", None, 1, 600, job_ids=[job.id])
            followers = {
                "job stream": Follower(f"{base}/api/v1/jobs/{job.id}/events"),
                "project stream": Follower(f"{base}/api/v1/jobs/events?project_id={project}"),
            }
            for follower in followers.values():
                follower.start()
                if not follower.ready.wait(30):
                    raise SystemExit("no snapshot")
            pace = random.Random(1)
            written: dict[int, float] = {}
            for i in range(updates):
                time.sleep(pace.uniform(0.010, 0.030))
                written[i] = time.perf_counter()
                store.progress(claimed.lease, i * 100 / updates, f"#{i}")
            store.complete(claimed.lease, {"updates": updates})
            for follower in followers.values():
                follower.join(30)
        return {
            name: [f.received[i] - written[i] for i in written if i in f.received]
            for name, f in followers.items()
        }
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dialect", choices=DIALECTS, action="append")
    parser.add_argument("--updates", type=int, default=UPDATES)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    for dialect in args.dialect or DIALECTS:
        with fresh_database(dialect) as url:
            results = measure(url, args.updates)
        for name, samples in results.items():
            ms = [s * 1000 for s in samples]
            lost = args.updates - len(ms)
            print(
                f"latency  {dialect:10s} {name:14s} p50 {percentile(ms, 50):.2f} ms, "
                f"p95 {percentile(ms, 95):.2f} ms, p99 {percentile(ms, 99):.2f} ms, "
                f"max {max(ms):.2f} ms (n={len(ms)}, missing {lost})"
            )


if __name__ == "__main__":
    main()
