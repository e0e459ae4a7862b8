"""Build hook: the wheel carries the built web pages as ``orbit/api/web_dist``.

Everything else about the distribution is declared in ``pyproject.toml``. The pages are
built by ``npm run build`` (``make wheel`` runs it first) into ``web/dist``; building a
wheel copies that directory into the package so that ``orbit serve`` from an installed
wheel serves them at ``/``. An sdist carries ``web/dist`` (see ``MANIFEST.in``), so a wheel
built from it has the pages too. A build without ``web/dist`` fails rather than shipping
a server whose ``/`` only says the pages are missing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
WEB_DIST = HERE / "web" / "dist"
PACKAGED = Path("orbit") / "api" / "web_dist"
ALLOW_MISSING = "ORBIT_BUILD_WITHOUT_WEB"


class BuildWithWeb(build_py):
    """``build_py`` that also copies ``web/dist`` into the built package."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install serves the checkout's web/dist
            return
        if not (WEB_DIST / "index.html").is_file():
            if os.environ.get(ALLOW_MISSING):
                return
            raise SystemExit(
                f"{WEB_DIST / 'index.html'} is missing: run `make wheel` "
                f"(or `cd web && npm ci && npm run build`) first, or set {ALLOW_MISSING}=1"
            )
        target = Path(self.build_lib) / PACKAGED
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(WEB_DIST, target)


setup(cmdclass={"build_py": BuildWithWeb})
