"""Run every benchmark, one after another, on both databases; prints each figure."""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = (
    "bench.enqueue",
    "bench.status_read",
    "bench.drain",
    "bench.pickup",
    "bench.progress",
    "bench.http_accept",
    "bench.app_latency",
    "bench.progress_latency",
    "bench.worker_startup",
)


def main() -> None:
    failed = 0
    for module in BENCHMARKS:
        print(f"# python -m {module}", flush=True)
        failed += subprocess.run([sys.executable, "-m", module], check=False).returncode != 0
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
