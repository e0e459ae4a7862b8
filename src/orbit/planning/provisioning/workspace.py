"""A project's workspace on disk: scaffold files and a git repository, both idempotent.

Running any of these again after a crash or a repeated request is safe: files that exist
are kept as they are (a developer may have edited them), ``git init`` re-initialises
harmlessly and the initial commit is made only while the repository has none.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from orbit.jobs import Fail

GIT_IDENTITY = ("-c", "user.name=Orbit", "-c", "user.email=orbit@localhost")
GIT_OPTIONS = (*GIT_IDENTITY, "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main")
INITIAL_COMMIT = "Initial commit: {stack} scaffold"


def write_scaffold(root: Path, files: Mapping[str, str]) -> list[str]:
    """Create the files that are missing under ``root``; the paths it created.

    Each file is written to a temporary name and renamed into place, so a crash never
    leaves a half-written file that a later run would take as existing.
    """
    root.mkdir(parents=True, exist_ok=True)
    created = []
    for relative, text in sorted(files.items()):
        path = root / relative
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
        created.append(relative)
    return created


async def git(root: Path, *args: str, check: bool = True) -> tuple[int, str]:
    """Run ``git args`` in ``root`` without blocking the loop; (exit code, output)."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1"}
    try:
        process = await asyncio.create_subprocess_exec(
            "git",
            *GIT_OPTIONS,
            *args,
            cwd=root,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
    except FileNotFoundError:
        raise Fail("git is not installed on the worker") from None
    output, _ = await process.communicate()
    text = output.decode(errors="replace").strip()
    code = process.returncode if process.returncode is not None else -1
    if check and code != 0:
        raise RuntimeError(f"git {' '.join(args)} failed ({code}): {text}")
    return code, text


async def init_repository(root: Path, files: Sequence[str], stack: str) -> str:
    """Make ``root`` a git repository whose first commit holds ``files``; HEAD's id."""
    await git(root, "init", "--quiet")
    has_head, _ = await git(root, "rev-parse", "--verify", "--quiet", "HEAD", check=False)
    if has_head != 0:
        await git(root, "add", "--", *files)
        await git(
            root, "commit", "--quiet", "--no-verify", "-m", INITIAL_COMMIT.format(stack=stack)
        )
    _, head = await git(root, "rev-parse", "HEAD")
    return head
