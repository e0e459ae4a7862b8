"""``python -m bench.peers``: Orbit, SAQ, Procrastinate and Huey on one workload, in one run.

Prints the figures of every system side by side and, per database, Orbit against the
best peer of that database. ``--quick`` runs a small workload (a smoke run); the
figures then say little. The machine's load is printed before and after: on a shared
machine the figures are noisy.

Example:
    $ .venv/bin/python -m bench.peers --quick --systems orbit-sqlite
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import sqlalchemy as sa

from bench.common import PG_SERVER
from bench.peers.venv import peers_python, versions

ROOT = Path(__file__).resolve().parents[2]

SYSTEMS = {  # name -> (runner module, database, uses the peers venv)
    "orbit-sqlite": ("bench.peers.run_orbit", "sqlite", False),
    "huey-sqlite": ("bench.peers.run_huey", "sqlite", True),
    "orbit-postgresql": ("bench.peers.run_orbit", "postgresql", False),
    "saq-postgresql": ("bench.peers.run_saq", "postgresql", True),
    "procrastinate-postgresql": ("bench.peers.run_procrastinate", "postgresql", True),
}

ROWS = (  # figure key, label, higher is better, format
    ("enqueue_one", "enqueue one by one, jobs/s", True, "{:,.0f}"),
    ("enqueue_bulk", "bulk enqueue, jobs/s", True, "{:,.0f}"),
    ("drain_10", "drain, steady jobs/s (concurrency 10)", True, "{:,.0f}"),
    ("drain_8", "drain, steady jobs/s (concurrency 8)", True, "{:,.0f}"),
    ("pickup_p50_ms", "pickup p50 (idle worker -> client sees completed), ms", False, "{:.1f}"),
    ("progress_ms", "one progress update (a client polling), ms", False, "{:.2f}"),
    ("first_job_s", "first job done after the worker starts, s", False, "{:.2f}"),
)


@contextlib.contextmanager
def database(kind: str, system: str) -> Iterator[str]:
    """A fresh, empty database for one system, removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"bench-{system}-") as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    name = f"bench_{system.split('-', maxsplit=1)[0]}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_SERVER, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(PG_SERVER, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_system(system: str, python: Path, workload: list[str]) -> dict[str, float | None]:
    module, kind, _ = SYSTEMS[system]
    with database(kind, system) as url:
        path = os.environ.get("PYTHONPATH")
        env = {
            **os.environ,
            "BENCH_URL": url,
            "PYTHONPATH": str(ROOT) + (os.pathsep + path if path else ""),
        }
        proc = subprocess.run(
            [str(python), "-m", module, url, *workload],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    if proc.returncode != 0:
        raise SystemExit(f"{system} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def cell(value: float | None, fmt: str) -> str:
    return "—" if value is None else fmt.format(value)


def table(results: dict[str, dict[str, float | None]]) -> str:
    names = list(results)
    lines = ["| figure (same run) | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for key, label, _, fmt in ROWS:
        lines.append(f"| {label} | " + " | ".join(cell(results[n][key], fmt) for n in names) + " |")
    return "\n".join(lines)


def ratios(results: dict[str, dict[str, float | None]]) -> str:
    """Orbit against the best peer of the same database; > 1 means Orbit is ahead."""
    lines = []
    for kind in ("sqlite", "postgresql"):
        orbit = results.get(f"orbit-{kind}")
        peers = {n: r for n, r in results.items() if n.endswith(kind) and not n.startswith("orbit")}
        if orbit is None or not peers:
            continue
        for key, label, higher, _ in ROWS:
            mine = orbit[key]
            theirs = {n: r[key] for n, r in peers.items() if r[key] is not None}
            if mine is None or not theirs:
                continue
            best = (max if higher else min)(theirs, key=lambda n: theirs[n] or 0.0)
            ratio = mine / theirs[best] if higher else (theirs[best] or 0.0) / mine
            verdict = "ahead" if ratio >= 1 else "behind"
            lines.append(f"{kind:10s} {label}: Orbit {ratio:.2f}x {best} ({verdict})")
    return "\n".join(lines)


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated")
    parser.add_argument("--quick", action="store_true", help="500 jobs, 30 pickups, 50 updates")
    parser.add_argument("--jobs", type=int)
    parser.add_argument("--pickups", type=int)
    parser.add_argument("--updates", type=int)
    args = parser.parse_args()
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = sorted(set(systems) - set(SYSTEMS))
    if unknown:
        parser.error(f"unknown systems {unknown}; choose from {sorted(SYSTEMS)}")
    quick = (500, 30, 50) if args.quick else (5000, 200, 200)
    jobs, pickups, updates = (
        args.jobs or quick[0],
        args.pickups or quick[1],
        args.updates or quick[2],
    )
    workload = ["--jobs", str(jobs), "--pickups", str(pickups), "--updates", str(updates)]
    peers = peers_python() if any(SYSTEMS[s][2] for s in systems) else None
    print(f"# load before: {load()}", flush=True)
    print(f"# workload: {jobs} no-op jobs, {pickups} pickups, {updates} progress updates")
    if peers is not None:
        print(f"# peers: {json.dumps(versions(peers))}", flush=True)
    results = {}
    for system in systems:
        python = peers if SYSTEMS[system][2] else Path(sys.executable)
        assert python is not None
        print(f"# running {system}", file=sys.stderr, flush=True)
        results[system] = run_system(system, python, workload)
    print(f"# load after: {load()}")
    print(table(results))
    print(ratios(results))


if __name__ == "__main__":
    main()
