"""POST latency of the app's endpoints while 20 backlog generations run.

Starts ``orbit serve`` (embedded worker, concurrency 25, offline AI slowed to 600 ms a
call so each generation takes several seconds), enqueues 20 backlog generations, then
times enqueueing requests (new project, interview answer, epic generation) while the
generations are still running; prints p50/p95/p99 and how many generations were running.
"""

from __future__ import annotations

import signal
import time

import httpx

from bench.common import dialect_args, fresh_database, summary_ms
from bench.http_accept import free_port, start_server

GENERATIONS = 20
REQUESTS = 150


def answered_interview(api: httpx.Client) -> str:
    project = api.post("/projects", json={"name": "Bench", "description": "A bench"}).json()
    interview = api.post("/interviews", json={"project_id": project["id"]}).json()
    while api.get(f"/jobs/{interview['job_id']}").json()["status"] in ("pending", "running"):
        time.sleep(0.05)  # the first question is a job; answer once it is asked
    api.post(
        f"/interviews/{interview['id']}/send-message",
        json={"content": "A recipe sharing app with meal planning and shopping lists."},
    )
    return str(interview["id"])


def measure(api: httpx.Client) -> tuple[list[float], int]:
    interview = answered_interview(api)
    jobs = [
        api.post(f"/interviews/{interview}/generate-prompts-async").json()["job_id"]
        for _ in range(GENERATIONS)
    ]
    running_at_start = sum(api.get(f"/jobs/{j}").json()["status"] == "running" for j in jobs)
    samples: list[float] = []
    calls = (
        lambda: api.post("/projects", json={"name": "x"}),
        lambda: api.post(f"/interviews/{interview}/send-message-async", json={"content": "ok"}),
        lambda: api.post(f"/backlog/interview/{interview}/generate-epic"),
    )
    for i in range(REQUESTS):
        started = time.perf_counter()
        response = calls[i % len(calls)]()
        samples.append(time.perf_counter() - started)
        assert response.status_code in (201, 202), response.text
    running = sum(api.get(f"/jobs/{j}").json()["status"] == "running" for j in jobs)
    return samples, min(running_at_start, running)


def main() -> None:
    args = dialect_args(__doc__ or "")
    for dialect in args.dialects:
        with fresh_database(dialect) as url:
            port = free_port()
            server = start_server(url, port, ORBIT_OFFLINE_DELAY_MS="600", ORBIT_CONCURRENCY="25")
            try:
                with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=30) as api:
                    samples, running = measure(api)
            finally:
                server.send_signal(signal.SIGTERM)
                server.wait(60)
        print(
            f"app POST {dialect:10s} {summary_ms(samples)}; "
            f"{running}/{GENERATIONS} generations running from first to last request"
        )


if __name__ == "__main__":
    main()
