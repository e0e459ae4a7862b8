"""Write the server's OpenAPI document to ``web/openapi.json``.

The web client's wire types are generated from that file (``cd web && npm run gen:types``);
``tests/unit/test_openapi_snapshot.py`` fails when it no longer matches the app.

Usage: ``.venv/bin/python scripts/export-openapi.py``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "web" / "openapi.json"


def build_schema() -> dict[str, Any]:
    """The app's OpenAPI document, built without running its lifespan."""
    from orbit.api import create_app
    from orbit.settings import Settings

    app = create_app(Settings(_env_file=None))
    return app.openapi()


def render(schema: dict[str, Any]) -> str:
    """The committed text: sorted keys, two-space indent, trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> int:
    OUTPUT.write_text(render(build_schema()), encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
