"""docs/library.md's Python blocks, run in order as one program, on both databases: the
documented snippets (typed enqueue, waits, queues, error codes, periodic, bulk) work."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "library.md"


def program() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) >= 6, "the page lost its snippets"
    return "\n\n".join(blocks)


def test_the_library_page_runs_as_written(db_url: str, tmp_path: Path) -> None:
    script = tmp_path / "library_page.py"
    script.write_text(program())
    env = {**os.environ, "DATABASE_URL": db_url}
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "job 'thumbnail': got an unexpected keyword argument 'height'",
        "card declined for order A1",
        "pruned 7 finished jobs",
    ]
