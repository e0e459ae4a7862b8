"""``orbit worker --app module:registry``: the engine alone, on an empty database.

The worker migrates only the engine's tables, imports nothing of the Orbit application,
and runs the registry's jobs; both dialects, each on a database nobody migrated.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from orbit.jobs import JobClient, JobStatus, open_store
from orbit.planning.schema import metadata as planning_metadata
from tests.conftest import DIALECTS, PG_SERVER, wait_until

ROOT = Path(__file__).resolve().parents[2]
ORBIT = Path(sys.executable).parent / "orbit"
APP = "tests.integration.engine_jobs:registry"
DEADLINE = 30


@pytest.fixture(params=DIALECTS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database no migration has touched."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'host.db'}"
        return
    name = f"orbit_engine_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_SERVER, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield sa.make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(PG_SERVER, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def tables(url: str) -> set[str]:
    store = open_store(url)
    try:
        return set(sa.inspect(store.engine).get_table_names())
    finally:
        store.close()


def test_engine_only_worker_runs_its_registry_without_the_apps_tables(
    empty_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    env = {**os.environ, "ORBIT_DATABASE_URL": empty_url, "ORBIT_LOG_LEVEL": "INFO"}
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [str(ORBIT), "worker", "--app", APP, "--queue", "default"],
            cwd=ROOT,
            env=env,
            stderr=sink,
            stdout=subprocess.DEVNULL,
        )
    try:
        wait_until(lambda: "jobs" in tables(empty_url), timeout=DEADLINE, what="engine migrated")
        store = open_store(empty_url)
        try:
            client = JobClient(store)
            elsewhere = client.enqueue("engine_echo", {"text": "no"}, queue="elsewhere")
            job = client.enqueue("engine_echo", {"text": "hi"})
            done = client.wait_sync(job.id, timeout=DEADLINE)
            assert client.get(elsewhere.id).status is JobStatus.PENDING, "not its queue"
        finally:
            store.close()
        assert done.status is JobStatus.COMPLETED, log.read_text()
        assert done.result == {"text": "hi", "pid": proc.pid, "app_modules": []}
        found = tables(empty_url)
        app_tables = {t.name for t in planning_metadata.sorted_tables}
        assert app_tables and not app_tables & found, f"the app's tables were created: {found}"
        assert {"jobs", "job_events"} <= found
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(DEADLINE)
    assert code == 0, log.read_text()


def test_engine_only_worker_refuses_a_jobs_module_beside_it(empty_url: str) -> None:
    done = subprocess.run(
        [str(ORBIT), "worker", "--app", APP, "--jobs-module", APP],
        cwd=ROOT,
        env={**os.environ, "ORBIT_DATABASE_URL": empty_url},
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=False,
    )
    assert done.returncode == 2 and "--app runs one registry" in done.stderr, done.stderr
    assert "jobs" not in tables(empty_url)
