"""The wheel as a new user gets it: built, installed into a fresh venv outside the checkout,
and ``orbit serve`` from there serves the dashboard and the workspace at ``/``.

The venv gets the locked versions (``requirements.lock`` as constraints, so pip's cache
answers) and nothing from the checkout: no ``ORBIT_WEB_DIR``, a working directory in a
temporary folder, and a check that ``orbit`` is imported from the venv's site-packages.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import httpx
import pytest

from tests.browser.conftest import (
    REPO,
    WEB_DIST,
    Api,
    OrbitServer,
    Page,
    expect,
    start_server,
)

LOCK = REPO / "requirements.lock"
INSTALL_TIMEOUT = 240
# Building and installing take about a minute on an idle machine, several on a busy one;
# the suite's 120 s default would count that against the test.
pytestmark = pytest.mark.timeout(600)


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        command,
        check=False,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
    )
    assert done.returncode == 0, f"{command} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def clean_env() -> dict[str, str]:
    """The environment without Orbit's settings or this venv's hold on ``sys.path``."""
    drop = ("ORBIT_", "VIRTUAL_ENV", "PYTHONPATH")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed; returns its ``bin`` directory."""
    if not (WEB_DIST / "index.html").is_file():
        pytest.fail(f"{WEB_DIST}/index.html is missing: run `make browser-setup` first")
    root = tmp_path_factory.mktemp("wheel")
    assert not root.is_relative_to(REPO)
    wheels = root / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    run([*pip, "wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels), str(REPO)], root)
    (wheel,) = wheels.glob("orbit_jobs-*.whl")
    venv.create(root / "venv", with_pip=True)
    bin_dir = root / "venv" / "bin"
    install = [str(bin_dir / "python"), "-m", "pip", "install", "--quiet"]
    run([*install, "--constraint", str(LOCK), str(wheel)], root, clean_env())
    location = run(
        [str(bin_dir / "python"), "-c", "import orbit.api.web as w; print(w.web_dir())"],
        root,
        clean_env(),
    )
    assert "site-packages" in location and not Path(location.strip()).is_relative_to(REPO)
    return bin_dir


def test_wheel_serves_the_pages(installed: Path, tmp_path: Path, page: Page) -> None:
    server: OrbitServer = start_server(
        tmp_path / "run", delay_ms=0, command=[str(installed / "orbit"), "serve"]
    )
    try:
        index = httpx.get(f"{server.base_url}/", timeout=10)
        assert index.status_code == 200 and '<div id="root">' in index.text, index.text[:300]
        project_id = Api(server).call("POST", "/projects", json={"name": "From the wheel"})["id"]

        page.goto(f"{server.base_url}/")
        expect(page.get_by_test_id("projects-list")).to_contain_text("From the wheel")
        page.goto(f"{server.base_url}/#/projects/{project_id}")
        expect(page.get_by_test_id("project-name")).to_have_text("From the wheel")
        page.get_by_test_id("nav-jobs").click()
        expect(page.get_by_test_id("jobs-dashboard")).to_be_visible()
    finally:
        server.stop()
