"""HTTP enqueue routes -> 202: latency, server CPU per request, and an open-loop mode.

Starts ``orbit serve`` on a free local port, then 20 keep-alive connections send POSTs.
The clients write raw HTTP/1.1 on asyncio streams: a full HTTP client library costs more
CPU per request than the server does, and on a 2-core machine it would measure itself.

Routes (``--route``, repeatable): ``jobs`` (``POST /api/v1/jobs``, a ``noop``) and
``send-message-async`` (the app's interview answer, on an interview whose first question
was asked). Modes:

* closed loop (default): back to back, then paced (think time 0-200 ms); the server's
  CPU time over the back-to-back run gives CPU ms per request and POSTs/s per core;
* ``--open RATE``: each client sends on a fixed schedule (``RATE`` in total, requests
  spread evenly) whatever the answers; latency counts from the scheduled send time, so
  a request that waits behind a slow one is charged for the wait (no coordinated
  omission). ``--no-worker`` serves without the embedded worker.

Example:
    $ .venv/bin/python -m bench.http_accept --route send-message-async --open 300
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.common import DIALECTS, fresh_database, percentile, summary_ms

CLIENTS = 20
PER_CLIENT = 100
PACE = 0.1  # seconds of think time between a client's requests, on average
OPEN_SECONDS = 10.0
ROUTES = ("jobs", "send-message-async")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(url: str, port: int, **env: str) -> subprocess.Popen[bytes]:
    """``orbit serve`` on ``url`` at ``port`` with extra ``ORBIT_*`` settings; waits for it."""
    settings = {"ORBIT_DATABASE_URL": url, "ORBIT_LOG_LEVEL": "WARNING", **env}
    command = [sys.executable, "-m", "orbit", "serve", "--port", str(port)]
    proc = subprocess.Popen(command, env={**os.environ, **settings})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


def request(path: str, body: dict[str, object]) -> bytes:
    raw = json.dumps(body).encode()
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(raw)}\r\n\r\n"
    ).encode() + raw


def route_request(route: str, port: int, url: str) -> bytes:
    """The request bytes of ``route``; sets up what it needs (an asked interview: a
    worker of its own asks the first question when the server has none)."""
    if route == "jobs":
        return request("/api/v1/jobs", {"job_type": "noop", "input_data": {}})
    worker = subprocess.Popen(
        [sys.executable, "-m", "orbit", "worker", "--job-type", "interview_message"],
        env={**os.environ, "ORBIT_DATABASE_URL": url, "ORBIT_LOG_LEVEL": "WARNING"},
    )
    try:
        return _asked_interview(port)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)


def _asked_interview(port: int) -> bytes:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=30) as api:
        project = api.post("/projects", json={"name": "Bench", "description": "A bench"}).json()
        interview = api.post("/interviews", json={"project_id": project["id"]}).json()
        deadline = time.monotonic() + 60
        while api.get(f"/jobs/{interview['job_id']}").json()["status"] != "completed":
            if time.monotonic() > deadline:
                raise SystemExit("the interview's first question never came")
            time.sleep(0.05)
    path = f"/api/v1/interviews/{interview['id']}/send-message-async"
    return request(path, {"content": "A recipe sharing app with meal planning."})


async def read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    await reader.readexactly(length)
    return status


async def client_loop(
    port: int, payload: bytes, samples: list[float], n: int = PER_CLIENT, pace: float = 0.0
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for _ in range(n):
            if pace:
                await asyncio.sleep(random.uniform(0, 2 * pace))
            started = time.perf_counter()
            writer.write(payload)
            status = await read_response(reader)
            samples.append(time.perf_counter() - started)
            assert status == 202, status
    finally:
        writer.close()


async def open_client(
    port: int, payload: bytes, interval: float, start: float, until: float, samples: list[float]
) -> None:
    """Send at ``start``, ``start + interval``, ...; latency from each scheduled time."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        scheduled = start
        while scheduled < until:
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            writer.write(payload)
            status = await read_response(reader)
            samples.append(time.perf_counter() - scheduled)
            assert status == 202, status
            scheduled += interval
    finally:
        writer.close()


async def closed(port: int, payload: bytes, pace: float = 0.0) -> list[float]:
    """Latencies of CLIENTS x PER_CLIENT requests; ``pace`` = mean think time per client."""
    samples: list[float] = []
    await asyncio.gather(*(client_loop(port, payload, [], 20) for _ in range(2)))  # warm up
    await asyncio.gather(*(client_loop(port, payload, samples, pace=pace) for _ in range(CLIENTS)))
    return samples


async def open_loop(port: int, payload: bytes, rate: float) -> tuple[list[float], float]:
    """Latencies at an offered ``rate``, and the rate actually answered."""
    await asyncio.gather(*(client_loop(port, payload, [], 20) for _ in range(2)))  # warm up
    interval = CLIENTS / rate
    start = time.perf_counter() + 0.2
    samples: list[float] = []
    await asyncio.gather(
        *(
            open_client(
                port,
                payload,
                interval,
                start + i * interval / CLIENTS,
                start + OPEN_SECONDS,
                samples,
            )
            for i in range(CLIENTS)
        )
    )
    return samples, len(samples) / (time.perf_counter() - start)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 1)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--dialect", choices=DIALECTS, action="append")
    parser.add_argument("--route", choices=ROUTES, action="append")
    parser.add_argument("--open", type=float, metavar="RATE", help="offered requests/s")
    parser.add_argument("--no-worker", action="store_true", help="no embedded worker")
    args = parser.parse_args()
    env = {"ORBIT_JOBS_MODULE": "bench.jobs:registry"}
    if args.no_worker:
        env["ORBIT_EMBEDDED_WORKER"] = "false"
    for dialect in args.dialect or DIALECTS:
        for route in args.route or ["jobs"]:
            with fresh_database(dialect) as url:
                port = free_port()
                server = start_server(url, port, **env)
                try:
                    payload = route_request(route, port, url)
                    label = f"http 202 {dialect:10s} {route}"
                    if args.open:
                        samples, got = asyncio.run(open_loop(port, payload, args.open))
                        print(
                            f"{label} open loop, offered {args.open:.0f}/s (answered "
                            f"{got:.0f}/s): {summary_ms(samples)}; "
                            f"p99.9 {percentile([s * 1000 for s in samples], 99.9):.1f} ms; "
                            f"load {load()}"
                        )
                        continue
                    before = cpu_seconds(server.pid)
                    started = time.perf_counter()
                    flat_out = asyncio.run(closed(port, payload))
                    elapsed = time.perf_counter() - started
                    cpu_ms = (cpu_seconds(server.pid) - before) * 1000 / (len(flat_out) + 40)
                    paced = asyncio.run(closed(port, payload, pace=PACE))
                finally:
                    server.send_signal(signal.SIGTERM)
                    server.wait(30)
            print(
                f"{label} back to back: {summary_ms(flat_out)}; "
                f"{(len(flat_out) + 40) / elapsed:.0f} req/s; server CPU {cpu_ms:.2f} ms/request "
                f"({1000 / cpu_ms:.0f} POSTs/s per core); load {load()}"
            )
            print(f"{label} paced ({CLIENTS / PACE:.0f} req/s): {summary_ms(paced)}")


if __name__ == "__main__":
    main()
