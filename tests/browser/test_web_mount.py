"""``mount_web``: the built client at ``/`` without shadowing the API (no browser needed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from orbit.api import create_app
from orbit.settings import Settings


def make_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, web: Path) -> TestClient:
    monkeypatch.setenv("ORBIT_WEB_DIR", str(web))  # read by Settings, not at import
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'orbit.db'}")  # type: ignore[call-arg]
    assert settings.web_dir == str(web)
    return TestClient(create_app(settings))  # no lifespan: the web routes need no state


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    web = tmp_path / "dist"
    (web / "assets").mkdir(parents=True)
    (web / "index.html").write_text("<!doctype html><title>Orbit</title><div id=root></div>")
    (web / "assets" / "index-abc123.js").write_text("console.log('orbit')")
    (web / "favicon.svg").write_text("<svg/>")
    return web


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dist: Path) -> Iterator[TestClient]:
    yield make_client(tmp_path, monkeypatch, dist)


def test_serves_index_and_assets(client: TestClient) -> None:
    index = client.get("/")
    assert index.status_code == 200
    assert "<div id=root>" in index.text
    assert index.headers["content-type"].startswith("text/html")
    assert index.headers["cache-control"] == "no-cache"

    asset = client.get("/assets/index-abc123.js")
    assert asset.status_code == 200
    assert asset.text == "console.log('orbit')"
    assert "immutable" in asset.headers["cache-control"]
    assert client.get("/favicon.svg").text == "<svg/>"
    assert client.head("/").status_code == 200


def test_spa_fallback_for_other_paths(client: TestClient) -> None:
    for path in ("/projects/42", "/jobs", "/a/b/c?x=1"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "<div id=root>" in response.text
    assert client.get("/assets/index-gone.js").status_code == 404  # no HTML for a stale asset
    assert client.get("/favicon.ico").status_code == 404


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_never_shadows_the_api(client: TestClient, method: str) -> None:
    response = client.request(method, "/api/v1/no-such-route")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_docs_and_health_still_answer(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/api/v1/health").json() == {"status": "ok"}
    assert "swagger" in client.get("/docs").text.lower()
    schema = client.get("/openapi.json").json()
    assert "/" not in schema["paths"]
    # The API, and the problem-type pages its errors link to (``type: /problems/<slug>``).
    assert all(path.startswith(("/api/", "/problems")) for path in schema["paths"])
    assert client.get("/docs/nothing").status_code == 404


def test_never_serves_files_outside_the_directory(client: TestClient, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("TOP-SECRET-42")
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt"):
        response = client.get(path)
        assert "TOP-SECRET-42" not in response.text, path


def test_explains_how_to_build_when_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(tmp_path, monkeypatch, tmp_path / "nowhere")
    response = client.get("/")
    assert response.status_code == 200
    assert "npm run build" in response.text
    assert "make run" in response.text
    assert client.get("/projects/1").status_code == 200
    assert client.get("/api/v1/health").json() == {"status": "ok"}
