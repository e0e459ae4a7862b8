"""Worker start-up: ``orbit worker`` launched with one job already queued (the peers method's
phase 1, ``bench/peers/method.py``).

Each launch: one ``noop`` job is enqueued, then ``orbit worker --app
bench.peers.orbit_jobs:registry --concurrency 10`` starts; the figure is the time from
``Popen`` to the client seeing the job completed through ``JobClient.get``, polled every
1 ms. The worker is then stopped with SIGTERM. ``--jobs`` is the number of launches (one
job each); one more launch first warms the disk cache and is not counted.

Also printed: the CPU time (user + sys) of each whole worker process, a steadier figure
than wall time on a loaded machine, and the 1-minute load before and after.

``make setup`` compiles Orbit's bytecode once, as installing a wheel does. Where there
is none (an edited module, a checkout set up otherwise) and ``PYTHONDONTWRITEBYTECODE``
keeps Python from writing it, Orbit's own modules are compiled at every start, and the
line says so.
"""

from __future__ import annotations

import importlib.util
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import dialect_args, fresh_database, opened, percentile
from bench.peers.method import POLL_SECONDS, python_path_env, stop_worker
from orbit.jobs import JobClient, JobStatus

LAUNCHES = 10
DEADLINE_SECONDS = 60.0


def worker_command(url: str) -> list[str]:
    """``orbit worker`` as a user runs it: the console script beside this interpreter."""
    orbit = Path(sys.executable).with_name("orbit")
    prefix = [str(orbit)] if orbit.exists() else [sys.executable, "-m", "orbit.cli.main"]
    return [
        *prefix,
        "worker",
        "--app",
        "bench.peers.orbit_jobs:registry",
        "--database-url",
        url,
        "--concurrency",
        "10",
    ]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def launch(client: JobClient, url: str) -> tuple[float, float]:
    """One launch: (Popen -> the client sees completed, the worker's CPU seconds)."""
    job_id = client.enqueue("noop").id
    cpu_before = _children_cpu()
    with tempfile.TemporaryFile() as log:  # the worker's log, read only when it fails
        started = time.perf_counter()
        proc = subprocess.Popen(
            worker_command(url), env=python_path_env(), stdout=subprocess.DEVNULL, stderr=log
        )
        try:
            deadline = time.monotonic() + DEADLINE_SECONDS
            while client.get(job_id).status is not JobStatus.COMPLETED:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise SystemExit(f"worker failed:\n{log.read().decode(errors='replace')}")
                time.sleep(POLL_SECONDS)
            elapsed = time.perf_counter() - started
        finally:
            stop_worker(proc)
    return elapsed, _children_cpu() - cpu_before


def bytecode_note() -> str:
    """Says so when Orbit's own modules have no current bytecode and cannot get any."""
    if not os.environ.get("PYTHONDONTWRITEBYTECODE") or os.environ.get("PYTHONPYCACHEPREFIX"):
        return ""
    import orbit.jobs.worker.runner as probe  # one module the worker always imports

    source = Path(probe.__file__)
    cached = Path(importlib.util.cache_from_source(str(source)))
    if cached.exists() and cached.stat().st_mtime >= source.stat().st_mtime:
        return ""
    return "; PYTHONDONTWRITEBYTECODE set and no bytecode: orbit compiled at every start"


def main() -> None:
    args = dialect_args(__doc__ or "", jobs=LAUNCHES)
    for dialect in args.dialects:
        with fresh_database(dialect) as url, opened(url) as store:
            client = JobClient(store)
            launch(client, url)  # warm: page cache, bytecode cache when one is written
            load_before = os.getloadavg()[0]
            runs = [launch(client, url) for _ in range(args.jobs)]
            load_after = os.getloadavg()[0]
        wall = [w for w, _ in runs]
        cpu = [c for _, c in runs]
        print(
            f"worker start {dialect:10s} Popen -> client sees completed: "
            f"p50 {percentile(wall, 50):.3f} s, min {min(wall):.3f} s, "
            f"mean {statistics.fmean(wall):.3f} s (n={len(wall)}); "
            f"worker CPU p50 {percentile(cpu, 50):.3f} s; "
            f"load {load_before:.2f} -> {load_after:.2f}{bytecode_note()}"
        )


if __name__ == "__main__":
    main()
