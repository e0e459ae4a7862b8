"""``orbit worker`` starts fast: the command line loads only the command it runs, and the
engine-only worker loads neither the web stack, the Orbit app nor Alembic (when the
schema is already current); on SQLite it loads no PostgreSQL driver either."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import migrate_all

HEAVY = (
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "alembic",
    "orbit.ai",
    "orbit.api",
    "orbit.planning",
    "orbit.jobs.http",
)
# psycopg alone is ~80 ms of a worker's start; SQLAlchemy's own postgresql dialect module
# is not listed: declaring the tables' PostgreSQL-only options (JSONB, partial indexes)
# loads it on every database.
POSTGRES_DRIVER = ("psycopg", "psycopg_binary", "orbit.jobs.store.postgres")

PROBE = """
import sys
from orbit.cli.main import build_app
from orbit.jobs import migrate, open_store
build_app({command!r})
store = open_store({url!r})
migrate.upgrade(store.engine)  # already current: answered without Alembic
store.close()
print(",".join(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def loaded_after(command: str, url: str, modules: tuple[str, ...] = HEAVY) -> list[str]:
    code = PROBE.format(command=command, url=url, heavy=modules)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    return [m for m in out.split(",") if m]


def test_the_worker_command_loads_no_web_stack_no_app_and_no_alembic(db_url: str) -> None:
    assert loaded_after("worker", db_url) == []


def test_the_worker_command_on_sqlite_loads_no_postgresql_driver(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'orbit.db'}"
    migrate_all(url)
    assert loaded_after("worker", url, POSTGRES_DRIVER) == []


def test_the_full_command_tree_still_has_every_command(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from orbit.cli.main import build_app

    result = CliRunner().invoke(build_app(), ["--help"])
    for command in ("serve", "worker", "db", "jobs", "ai", "workers", "demo"):
        assert command in result.output
