"""``mount_web(app, settings)``: serve the built web client (``web/dist``) at ``/``.

The pages are a single-page application with hash routes, so the server only has to hand
out ``index.html`` and its assets; any other GET that is not the API's and does not name
a file (a deep link, a bookmark) gets ``index.html`` too. Paths the API owns (``/api``, ``/docs``,
``/redoc``, ``/openapi.json``, ``/health``) are never shadowed: an unknown one is a 404
problem, as before.

The directory is ``settings.web_dir`` (``ORBIT_WEB_DIR``) when set, else the pages the
wheel ships (``orbit/api/web_dist``, copied there by the build), else ``web/dist`` of the
source checkout. Files are looked up on every request, so building the client while the
server runs works; when it has no ``index.html``, ``/`` answers a short page saying how to
build it.

Example:
    >>> app = create_app(settings)  # mount_web(app, settings) runs last in create_app
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.convertors import Convertor, register_url_convertor

from orbit.settings import Settings

PACKAGED_WEB_DIR = Path(__file__).resolve().parent / "web_dist"
"""Where an installed wheel keeps the pages (see ``setup.py``)."""
CHECKOUT_WEB_DIR = Path(__file__).resolve().parents[3] / "web" / "dist"
"""Where ``npm run build`` puts them in a source checkout (and an editable install)."""
RESERVED_PREFIXES = ("api", "docs", "redoc", "openapi.json", "health")
"""First path segments the web client never answers for."""
_RESERVED_PATTERN = "|".join(prefix.replace(".", r"\.") for prefix in RESERVED_PREFIXES)

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

NOT_BUILT = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Orbit</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>Orbit</h1>
<p>The API is running (see <a href="/docs">/docs</a>), but the web pages are not built:
no <code>index.html</code> in <code>{directory}</code>.</p>
<p>Build them with <code>make run</code> (which builds them when missing), or
<code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>, then reload this page.</p>
</body>
</html>
"""


class WebPath(Convertor[str]):
    """A path that is not the API's: routes using it never match ``/api/...`` and the like.

    Leaving those paths unmatched (rather than answering 404 for them) keeps the API's own
    404 and 405 answers exactly as they are without the web client.
    """

    regex = rf"(?!(?:{_RESERVED_PATTERN})(?:/|$)).*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


def web_dir(settings: Settings | None = None) -> Path:
    """Where the built client lives: ``settings.web_dir``, the wheel's pages, or the checkout's."""
    configured = settings.web_dir if settings is not None else None
    if configured:
        return Path(configured).expanduser().resolve()
    if (PACKAGED_WEB_DIR / "index.html").is_file():
        return PACKAGED_WEB_DIR
    return CHECKOUT_WEB_DIR


def is_reserved(path: str) -> bool:
    """True for paths of the API and its documentation (``path`` without the leading /)."""
    first = path.split("/", 1)[0]
    return first in RESERVED_PREFIXES


def looks_like_file(path: str) -> bool:
    """True when the last segment has an extension (``app.js``, ``favicon.ico``).

    Such a request wants that file, so a missing one is a 404 rather than ``index.html``;
    routes of the client (``projects/42``) have no extension.
    """
    return "." in path.rsplit("/", 1)[-1]


def resolve_file(root: Path, path: str) -> Path | None:
    """The file ``path`` names inside ``root``, or None (missing, a directory, or outside)."""
    if not path or "\x00" in path:
        return None
    candidate = (root / path).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


def _index(root: Path) -> Response:
    index = root / "index.html"
    if not index.is_file():
        return HTMLResponse(NOT_BUILT.format(directory=html.escape(str(root))))
    return FileResponse(index, media_type="text/html", headers={"Cache-Control": REVALIDATE})


def mount_web(app: FastAPI, settings: Settings | None = None) -> None:
    """Serve the web client at ``/``; call it after every API router is included."""
    root = web_dir(settings)
    register_url_convertor("webpath", WebPath())  # idempotent: the same name, the same type

    async def web_client(path: str = "") -> Response:
        if is_reserved(path):  # unreachable through WebPath; kept as the last line of defence
            raise HTTPException(status_code=404)
        found = resolve_file(root, path)
        if found is not None:
            hashed = path.startswith("assets/")
            headers = {"Cache-Control": IMMUTABLE if hashed else REVALIDATE}
            return FileResponse(found, headers=headers)
        if looks_like_file(path):
            raise HTTPException(status_code=404)  # e.g. a stale asset: no HTML in its place
        return _index(root)

    app.add_api_route(
        "/", web_client, methods=["GET", "HEAD"], include_in_schema=False, name="web_index"
    )
    app.add_api_route(
        "/{path:webpath}",
        web_client,
        methods=["GET", "HEAD"],
        include_in_schema=False,
        name="web_client",
    )
