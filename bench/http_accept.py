"""HTTP ``POST /api/v1/jobs`` -> 202 latency under 20 concurrent clients.

Starts ``orbit serve`` (embedded worker on, so jobs run while requests arrive) on a free
local port, then 20 keep-alive connections each send requests back to back; prints
p50/p95/p99. The clients write raw HTTP/1.1 on asyncio streams: a full HTTP client
library costs more CPU per request than the server does, and on a 2-core machine it
would measure itself.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time

import httpx

from bench.common import dialect_args, fresh_database, summary_ms

CLIENTS = 20
PER_CLIENT = 100
PACE = 0.1  # seconds of think time between a client's requests, on average


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(url: str, port: int, **env: str) -> subprocess.Popen[bytes]:
    """``orbit serve`` on ``url`` at ``port`` with extra ``ORBIT_*`` settings; waits for it."""
    settings = {"ORBIT_DATABASE_URL": url, "ORBIT_LOG_LEVEL": "WARNING", **env}
    command = [sys.executable, "-m", "orbit", "serve", "--port", str(port)]
    proc = subprocess.Popen(command, env={**os.environ, **settings})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


BODY = b'{"job_type": "noop", "input_data": {}}'
REQUEST = (
    b"POST /api/v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY
)


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


async def client_loop(port: int, samples: list[float], pace: float = 0.0) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for _ in range(PER_CLIENT):
            if pace:
                await asyncio.sleep(random.uniform(0, 2 * pace))
            started = time.perf_counter()
            writer.write(REQUEST)
            status = await read_response(reader)
            samples.append(time.perf_counter() - started)
            assert status == 202, status
    finally:
        writer.close()


async def measure(port: int, pace: float = 0.0) -> list[float]:
    """Latencies of CLIENTS x PER_CLIENT requests; ``pace`` = mean think time per client."""
    samples: list[float] = []
    await asyncio.gather(*(client_loop(port, []) for _ in range(2)))  # warm up
    await asyncio.gather(*(client_loop(port, samples, pace) for _ in range(CLIENTS)))
    return samples


def main() -> None:
    args = dialect_args(__doc__ or "")
    for dialect in args.dialects:
        with fresh_database(dialect) as url:
            port = free_port()
            server = start_server(url, port, ORBIT_JOBS_MODULE="bench.jobs:registry")
            try:
                flat_out = asyncio.run(measure(port))
                paced = asyncio.run(measure(port, pace=PACE))
            finally:
                server.send_signal(signal.SIGTERM)
                server.wait(30)
        print(f"http 202 {dialect:10s} back to back: {summary_ms(flat_out)}")
        print(f"http 202 {dialect:10s} paced ({CLIENTS / PACE:.0f} req/s): {summary_ms(paced)}")


if __name__ == "__main__":
    main()
