"""A throwaway PostgreSQL cluster for tests that stop or restart the server.

The suite's shared server (127.0.0.1:5432) is never restarted: other test runs use it.
``ThrowawayCluster`` runs ``initdb`` into a temporary directory and ``pg_ctl`` on a free
port of its own, durability switched off (it is thrown away). The binaries come from
``ORBIT_TEST_PG_BIN`` or ``/usr/lib/postgresql/15/bin``; when they are missing the test
fails (never skips: CI must run it). As root, the server runs as the ``postgres`` user
(PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import psycopg
import pytest

PG_BIN = Path(os.environ.get("ORBIT_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThrowawayCluster:
    """``initdb`` + ``pg_ctl`` in ``root``, listening on 127.0.0.1:``port`` (trust auth)."""

    def __init__(self, root: Path) -> None:
        for tool in ("initdb", "pg_ctl"):
            if not (PG_BIN / tool).exists():
                pytest.fail(f"{PG_BIN / tool} is missing: the database-restart test needs it")
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self._as_postgres: list[str] = []
        if os.geteuid() == 0:
            self._as_postgres = ["runuser", "-u", "postgres", "--"]
            shutil.chown(root, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            [*self._as_postgres, str(PG_BIN / tool), *args],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=60,
        )
        if done.returncode:
            raise RuntimeError(f"{tool} {' '.join(args)} failed: {done.stderr.decode()}")

    def _ctl(self, action: str, *args: str) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        log = str(self.root / "server.log")
        self._run("pg_ctl", action, "-D", str(self.data), "-l", log, "-o", options, "-w", *args)

    def start(self) -> None:
        self._ctl("start")
        self.wait_ready()

    def stop(self) -> None:
        self._ctl("stop", "-m", "fast")

    def restart(self) -> None:
        """Stop (fast: every session is terminated) and start again."""
        self._ctl("restart", "-m", "fast")
        self.wait_ready()

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(self.url, connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
