"""``GET /projects`` latency while 150 clients follow one project's event stream.

Starts ``orbit serve`` (embedded worker, offline AI), opens an interview on a project and
times ``GET /api/v1/projects`` first with no stream open, then with 150 subscribers of
``GET /api/v1/jobs/events?project_id=`` (raw sockets on a background loop). Every tenth
request sends an interview answer, so the project's jobs write events (streamed tokens,
progress, status) and wake every subscriber while the requests are timed. Prints
p50/p95/p99/max for both, and how many streams were open.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time

import httpx

from bench.common import dialect_args, fresh_database, summary_ms
from bench.http_accept import free_port, start_server

SUBSCRIBERS = 150
REQUESTS = 300


class Subscribers:
    """``count`` project streams held open on a loop of their own, read and discarded."""

    def __init__(self, port: int, project_id: str, count: int) -> None:
        self._request = (
            f"GET /api/v1/jobs/events?project_id={project_id} HTTP/1.1\r\n"
            "Host: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()
        self._port, self._count = port, count
        self.open = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._tasks: list[asyncio.Task[None]] = []

    async def _follow(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self._port)
        writer.write(self._request)
        head = await reader.readuntil(b"\r\n\r\n")
        assert b" 200 " in head.split(b"\r\n", 1)[0], head
        self.open += 1
        try:
            while await reader.read(65536):
                pass
        finally:
            self.open -= 1
            writer.close()

    def __enter__(self) -> Subscribers:
        self._thread.start()

        async def start() -> None:
            self._tasks = [asyncio.create_task(self._follow()) for _ in range(self._count)]

        asyncio.run_coroutine_threadsafe(start(), self._loop).result()
        deadline = time.monotonic() + 30
        while self.open < self._count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            for task in self._tasks:
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.gather(*self._tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def interview(api: httpx.Client) -> tuple[str, str]:
    project = api.post("/projects", json={"name": "Bench", "description": "A bench"}).json()
    started = api.post("/interviews", json={"project_id": project["id"]}).json()
    while api.get(f"/jobs/{started['job_id']}").json()["status"] in ("pending", "running"):
        time.sleep(0.05)  # the first question is a job; answer once it is asked
    return str(project["id"]), str(started["id"])


def timed(api: httpx.Client, interview_id: str) -> list[float]:
    samples: list[float] = []
    for i in range(REQUESTS):
        if i % 10 == 0:
            answer = f"/interviews/{interview_id}/send-message-async"
            api.post(answer, json={"content": "Meal plans and shopping lists."})
        started = time.perf_counter()
        response = api.get("/projects")
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    return samples


def main() -> None:
    args = dialect_args(__doc__ or "")
    for dialect in args.dialects:
        with fresh_database(dialect) as url:
            port = free_port()
            server = start_server(url, port)
            try:
                with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=30) as api:
                    project_id, interview_id = interview(api)
                    alone = timed(api, interview_id)
                    with Subscribers(port, project_id, SUBSCRIBERS) as streams:
                        opened = streams.open
                        followed = timed(api, interview_id)
            finally:
                server.send_signal(signal.SIGTERM)
                server.wait(60)
        for label, samples in (("no streams", alone), (f"{opened} project streams", followed)):
            worst = max(samples) * 1000
            print(
                f"GET /projects {dialect:10s} {label:19s} {summary_ms(samples)}, max {worst:.1f} ms"
            )


if __name__ == "__main__":
    main()
