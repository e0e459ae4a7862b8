"""The committed OpenAPI document (``web/openapi.json``) matches the app.

The web client's wire types (``web/src/lib/generated/openapi.ts``) are generated from that
file, so a route or schema change that is not re-exported would leave them out of date.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "export-openapi.py"
SNAPSHOT = ROOT / "web" / "openapi.json"
REGENERATE = ".venv/bin/python scripts/export-openapi.py && (cd web && npm run gen:types)"


def _export_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("export_openapi", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _changed_paths(old: object, new: object, at: str = "") -> list[str]:
    """Where two JSON documents differ (the first few), to point at the drift."""
    if isinstance(old, dict) and isinstance(new, dict):
        found: list[str] = []
        for key in sorted(set(old) | set(new)):
            if key not in old or key not in new:
                found.append(f"{at}/{key}")
            else:
                found.extend(_changed_paths(old[key], new[key], f"{at}/{key}"))
        return found
    return [] if old == new else [at or "/"]


def test_committed_openapi_document_matches_the_app() -> None:
    export = _export_script()
    current = export.render(export.build_schema())

    assert SNAPSHOT.exists(), f"{SNAPSHOT.relative_to(ROOT)} is missing; run: {REGENERATE}"
    committed = SNAPSHOT.read_text(encoding="utf-8")
    if committed != current:
        changed = _changed_paths(json.loads(committed), json.loads(current))[:10]
        raise AssertionError(
            f"{SNAPSHOT.relative_to(ROOT)} is out of date with the app's OpenAPI schema "
            f"(differs at: {', '.join(changed) or 'formatting'}); run: {REGENERATE}"
        )
