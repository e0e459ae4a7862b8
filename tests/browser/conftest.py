"""Browser tests: Debian's Chromium, driven by Playwright, against a real ``orbit serve``.

Each server is a subprocess on a free port with its own SQLite file, the offline AI
provider slowed down by ``ORBIT_OFFLINE_DELAY_MS`` so progress is visible, and the built
client from ``web/dist``. ``make browser-setup`` installs Chromium and Playwright and
builds the client; nothing here downloads a browser.

Screenshots go to the test's ``tmp_path``; with ``ORBIT_SCREENSHOTS_DIR=docs/screenshots``
they also refresh the copies the README shows.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
WEB_DIST = REPO / "web" / "dist"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FAST_DELAY_MS = 250
"""Interview replies stream over about this long; a backlog takes about 1.5 s."""
SLOW_DELAY_MS = 1200
"""A backlog generation takes about 7 s: long enough to watch, reload and cancel."""
STARTUP_SECONDS = 30.0

try:
    from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
except ImportError as exc:  # reported as a failure by the `browser` fixture, not a skip
    MISSING_PLAYWRIGHT: ImportError | None = exc
    if not TYPE_CHECKING:
        Browser = BrowserContext = Page = Any
        expect = sync_playwright = None
else:
    MISSING_PLAYWRIGHT = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclasses.dataclass
class OrbitServer:
    """A running ``orbit serve`` subprocess."""

    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    token: str | None = None

    @property
    def api(self) -> str:
        return f"{self.base_url}/api/v1"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_server(
    workdir: Path, delay_ms: int, token: str | None = None, command: list[str] | None = None
) -> OrbitServer:
    """Start ``orbit serve`` on a free port and wait until it answers ``/health``.

    ``command`` (an installed ``orbit serve``) replaces this checkout's; it then finds the
    web pages on its own, so ``ORBIT_WEB_DIR`` is not set.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    drop = ("ORBIT_", "VIRTUAL_ENV", "PYTHONPATH") if command else ("ORBIT_",)
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(
        {
            "ORBIT_DATABASE_URL": f"sqlite:///{workdir / 'orbit.db'}",
            "ORBIT_OFFLINE_DELAY_MS": str(delay_ms),
            "ORBIT_AI_PROVIDER": "offline",
            "ORBIT_PROJECTS_DIR": str(workdir / "projects"),
            "ORBIT_SHUTDOWN_GRACE_SECONDS": "1",
            "ORBIT_LOG_LEVEL": "WARNING",
        }
    )
    if command is None:
        env["ORBIT_WEB_DIR"] = str(WEB_DIST)
    if token:
        env["ORBIT_API_TOKEN"] = token
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*(command or [sys.executable, "-m", "orbit", "serve"]), "--port", str(port)],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = OrbitServer(f"http://127.0.0.1:{port}", process, log_path, token)
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        if process.poll() is not None:
            pytest.fail(f"orbit serve exited with {process.returncode}:\n{server.log()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.base_url}/health", timeout=1).status_code == 200:
                return server
        if time.monotonic() > deadline:
            server.stop()
            pytest.fail(f"orbit serve did not answer within {STARTUP_SECONDS}s:\n{server.log()}")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def web_dist() -> Path:
    """The built client; the browser tests need it (``make browser-setup`` builds it)."""
    if not (WEB_DIST / "index.html").is_file():
        pytest.fail(f"{WEB_DIST}/index.html is missing: run `make browser-setup` first")
    return WEB_DIST


@pytest.fixture(scope="session")
def fast_server(web_dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrbitServer]:
    server = start_server(tmp_path_factory.mktemp("fast"), FAST_DELAY_MS)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def slow_server(web_dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrbitServer]:
    server = start_server(tmp_path_factory.mktemp("slow"), SLOW_DELAY_MS)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def token_server(web_dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrbitServer]:
    server = start_server(tmp_path_factory.mktemp("token"), FAST_DELAY_MS, token="browser-s3cret")
    yield server
    server.stop()


# Module scope, not session: Playwright's sync API keeps an event loop running on the
# main thread while it is open, which would break every asyncio test collected after it.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if MISSING_PLAYWRIGHT is not None:
        pytest.fail(f"{MISSING_PLAYWRIGHT}: run `make browser-setup` first")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run `make browser-setup` first")
    expect.set_options(timeout=20_000)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile (cookies, local storage) per test."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(20_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A page that fails the test on an uncaught script error."""
    errors: list[str] = []
    tab = context.new_page()
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture
def shoot(tmp_path: Path) -> Any:
    """``shoot(page, name)``: a full-page screenshot in ``tmp_path``, copied for the docs."""
    # Screenshots stay in tmp_path; ORBIT_SCREENSHOTS_DIR=docs/screenshots refreshes the
    # README's copies (a plain test run must not rewrite tracked files).
    configured = os.environ.get("ORBIT_SCREENSHOTS_DIR")
    target: Path | None = Path(configured) if configured else None

    def take(tab: Page, name: str) -> Path:
        path = tmp_path / f"{name}.png"
        tab.screenshot(path=str(path), full_page=True, animations="disabled")
        if target is not None:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target / path.name)
        return path

    return take


class Api:
    """Just enough of the HTTP API to prepare a test's data."""

    def __init__(self, server: OrbitServer) -> None:
        headers = {"Authorization": f"Bearer {server.token}"} if server.token else {}
        self.http = httpx.Client(base_url=server.api, headers=headers, timeout=30)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def wait_job(self, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            job: dict[str, Any] = self.call("GET", f"/jobs/{job_id}")
            if job["status"] in ("completed", "failed", "cancelled"):
                return job
            assert time.monotonic() < deadline, f"job {job_id} still {job['status']}"
            time.sleep(0.05)

    def project_with_interview(self, name: str) -> tuple[str, str]:
        """A project whose interview has one answer: ready for backlog generation."""
        project = self.call(
            "POST", "/projects", json={"name": name, "description": "A recipe sharing app"}
        )
        interview = self.call("POST", "/interviews", json={"project_id": project["id"]})
        assert self.wait_job(interview["job_id"])["status"] == "completed"  # the first question
        accepted = self.call(
            "POST",
            f"/interviews/{interview['id']}/send-message-async",
            json={"content": "Home cooks who share recipes and plan their weekly meals"},
        )
        assert self.wait_job(accepted["job_id"])["status"] == "completed"
        return project["id"], interview["id"]

    def generate_backlog(self, interview_id: str) -> str:
        accepted = self.call("POST", f"/interviews/{interview_id}/generate-prompts-async")
        return str(accepted["job_id"])


RECORDER = """
([name, selector]) => {
  const samples = [];
  window[name] = samples;
  const read = () => {
    const el = document.querySelector(selector);
    if (!el) return;
    const bar = el.querySelector('[role=progressbar]');
    const entry = {
      value: bar ? bar.getAttribute('aria-valuenow') : null,
      status: el.getAttribute('data-status'),
      mode: el.getAttribute('data-mode'),
      job: el.getAttribute('data-job-id'),
      message: el.querySelector('.orbit-progress__message')?.textContent ?? null,
    };
    const last = samples[samples.length - 1];
    if (!last || ['value', 'status', 'mode', 'job', 'message'].some((k) => last[k] !== entry[k])) {
      samples.push(entry);
    }
  };
  new MutationObserver(read).observe(document.body, {
    subtree: true, childList: true, attributes: true, characterData: true,
  });
  read();
}
"""
"""Records every change of a job tracker (``data-testid`` wrapper of a ProgressBar)."""


def record_tracker(tab: Page, test_id: str, name: str = "__samples") -> None:
    tab.evaluate(RECORDER, [name, f'[data-testid="{test_id}"]'])


def samples(tab: Page, name: str = "__samples") -> list[dict[str, Any]]:
    return list(tab.evaluate(f"window[{name!r}] || []"))


def assert_monotonic_to_100(recorded: list[dict[str, Any]]) -> list[int]:
    """The bar's values over time: never decreasing, ending at 100; returns them."""
    values = [int(s["value"]) for s in recorded if s["value"] is not None]
    assert values, f"the bar never showed a value: {recorded}"
    assert values == sorted(values), f"the bar went backwards: {values}"
    assert values[-1] == 100, f"the bar ended at {values[-1]}: {values}"
    return values
