"""The stacks a project can be provisioned with, each a small scaffold that runs as is.

Every scaffold has a README, a ``.gitignore``, an entry point and one passing test.
In the templates ``__PROJECT_NAME__`` becomes the project's name (HTML-escaped in HTML
files), ``__PROJECT_NAME_LITERAL__`` a quoted string literal of it (valid in Python and
JavaScript) and ``__PROJECT_SLUG__`` a package-safe form of it.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
from collections.abc import Mapping

NAME = "__PROJECT_NAME__"
LITERAL = "__PROJECT_NAME_LITERAL__"
SLUG = "__PROJECT_SLUG__"
_PLACEHOLDER = re.compile("|".join(map(re.escape, (LITERAL, SLUG, NAME))))


@dataclasses.dataclass(frozen=True)
class Stack:
    """A project template: what it is and the files it starts with."""

    id: str
    name: str
    description: str
    files: Mapping[str, str]

    def summary(self) -> dict[str, object]:
        """How ``GET /stacks`` shows it."""
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "files": sorted(self.files),
        }

    def render(self, project_name: str) -> dict[str, str]:
        """The scaffold's files (path -> text) for a project called ``project_name``."""
        name = " ".join(project_name.split()) or "Project"
        values = {LITERAL: json.dumps(name), SLUG: project_slug(name)}
        rendered = {}
        for path, text in self.files.items():
            values[NAME] = html.escape(name) if path.endswith(".html") else name
            rendered[path] = _PLACEHOLDER.sub(lambda match: values[match[0]], text)
        return rendered


def project_slug(name: str) -> str:
    """A lower-case, dash-separated name usable as a package name."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:50] or "project"


_PYTHON_GITIGNORE = """__pycache__/
*.py[cod]
.venv/
.pytest_cache/
.ruff_cache/
dist/
*.egg-info/
.env
"""

_NODE_GITIGNORE = """node_modules/
npm-debug.log*
coverage/
dist/
.env
"""

PYTHON_FASTAPI = Stack(
    id="python-fastapi",
    name="Python + FastAPI",
    description="A FastAPI web API with a health endpoint and a pytest test.",
    files={
        "README.md": f"""# {NAME}

A FastAPI service.

```bash
python -m venv .venv && . .venv/bin/activate
pip install -e '.[dev]'
uvicorn app.main:app --reload   # http://127.0.0.1:8000/health
pytest
```
""",
        ".gitignore": _PYTHON_GITIGNORE,
        "pyproject.toml": f"""[project]
name = "{SLUG}"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["fastapi>=0.110", "uvicorn>=0.29"]

[project.optional-dependencies]
dev = ["pytest>=8", "httpx>=0.27"]

[tool.setuptools]
packages = ["app"]
""",
        "app/__init__.py": f'"""The {SLUG} application."""\n',
        "app/main.py": f'''"""The application entry point: ``uvicorn app.main:app``."""

from fastapi import FastAPI

app = FastAPI(title={LITERAL})


@app.get("/health")
def health() -> dict[str, str]:
    """Liveness check."""
    return {{"status": "ok"}}
''',
        "tests/test_main.py": """from fastapi.testclient import TestClient

from app.main import app


def test_health() -> None:
    response = TestClient(app).get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
""",
    },
)

NODE_EXPRESS = Stack(
    id="node-express",
    name="Node.js + Express",
    description="An Express web API with a health endpoint and a node:test test.",
    files={
        "README.md": f"""# {NAME}

An Express service.

```bash
npm install
npm start      # http://127.0.0.1:3000/health
npm test
```
""",
        ".gitignore": _NODE_GITIGNORE,
        "package.json": f"""{{
  "name": "{SLUG}",
  "version": "0.1.0",
  "private": true,
  "type": "module",
  "main": "src/server.js",
  "scripts": {{
    "start": "node src/server.js",
    "test": "node --test"
  }},
  "dependencies": {{
    "express": "^4.19.2"
  }}
}}
""",
        "src/app.js": """import express from "express";

export const app = express();
app.use(express.json());

app.get("/health", (_req, res) => {
  res.json({ status: "ok" });
});
""",
        "src/server.js": """import { app } from "./app.js";

const port = Number(process.env.PORT ?? 3000);
app.listen(port, () => {
  console.log(`listening on http://127.0.0.1:${port}`);
});
""",
        "test/app.test.js": """import assert from "node:assert/strict";
import { test } from "node:test";

import { app } from "../src/app.js";

test("GET /health answers ok", async () => {
  const server = app.listen(0);
  try {
    const { port } = server.address();
    const response = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: "ok" });
  } finally {
    server.close();
  }
});
""",
    },
)

STATIC_SITE = Stack(
    id="static-site",
    name="Static site",
    description="Plain HTML, CSS and JavaScript, with a node:test check of the page.",
    files={
        "README.md": f"""# {NAME}

A static website: open `index.html`, or serve the folder with
`python -m http.server`. Check it with `node --test`.
""",
        ".gitignore": _NODE_GITIGNORE,
        "index.html": f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{NAME}</title>
    <link rel="stylesheet" href="styles.css">
  </head>
  <body>
    <main>
      <h1>{NAME}</h1>
      <p id="greeting">Welcome.</p>
    </main>
    <script src="main.js" defer></script>
  </body>
</html>
""",
        "styles.css": """body {
  font-family: system-ui, sans-serif;
  margin: 0 auto;
  max-width: 40rem;
  padding: 2rem;
}
""",
        "main.js": """const today = new Date().toDateString();
document.getElementById("greeting").textContent = `Welcome, it is ${today}.`;
""",
        "test/site.test.mjs": """import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";

test("the page has its title, stylesheet and script", async () => {
  const html = await readFile(new URL("../index.html", import.meta.url), "utf8");
  assert.match(html, /<title>[^<]+<\\/title>/);
  assert.match(html, /href="styles.css"/);
  assert.match(html, /src="main.js"/);
});
""",
    },
)

STACKS: dict[str, Stack] = {
    stack.id: stack for stack in (PYTHON_FASTAPI, NODE_EXPRESS, STATIC_SITE)
}
"""Every stack, by id."""
