"""The peers' own venv: pinned versions, created once and cached by those versions."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

PEERS = (
    "saq[postgres]==0.26.4",
    "procrastinate==3.10.0",
    "huey==3.5.4",
    "psycopg[binary,pool]==3.3.9",
)
"""What the peers venv holds (checked against the package index's names and versions)."""

CACHE = Path(os.environ.get("ORBIT_BENCH_PEERS_CACHE", "~/.cache/orbit-bench-peers")).expanduser()


def peers_python() -> Path:
    """The interpreter of the peers venv, creating the venv first when it is missing."""
    version = f"py{sys.version_info.major}.{sys.version_info.minor}"
    key = hashlib.sha256("\n".join((version, *PEERS)).encode()).hexdigest()[:12]
    home = CACHE / f"{version}-{key}"
    python = home / "bin" / "python"
    marker = home / ".complete"
    if marker.exists():
        return python
    print(f"# creating the peers venv in {home}", file=sys.stderr, flush=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--clear", str(home)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *PEERS],
        check=True,
    )
    marker.write_text("\n".join(PEERS) + "\n")
    return python


def versions(python: Path) -> dict[str, str]:
    """The installed versions of the peers, as that interpreter reports them."""
    code = (
        "import importlib.metadata as m, json;"
        "print(json.dumps({n: m.version(n) for n in ('saq', 'procrastinate', 'huey', 'psycopg')}))"
    )
    import json

    out = subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout))
