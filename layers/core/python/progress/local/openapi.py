"""The OpenAPI 3.1 document of the internal admin API, generated from its code.

    python -m progress.local.openapi           # (re)write schemas/openapi/admin-api.json
    python -m progress.local.openapi --check   # exit 1 if the committed document is stale

Powertools builds the document from the routes of ``functions/admin_api/handler.py`` and the
pydantic models of ``progress.edge.admin_api``. Two corrections follow, because the handler
answers differently from Powertools' defaults: request validation errors are 400 with the
service's error document (Powertools documents 422 ``HTTPValidationError``; 422 here means an
Idempotency-Key reused with another body), and every operation needs HTTP Basic credentials.
"""

from __future__ import annotations

import argparse
import difflib
import importlib.util
import json
import sys
from typing import Any

from progress.local.server import REPO_ROOT

DOCUMENT = REPO_ROOT / "schemas" / "openapi" / "admin-api.json"
TITLE = "progress internal admin API"
VERSION = "1.0.0"


def _app() -> Any:
    path = REPO_ROOT / "functions" / "admin_api" / "handler.py"
    spec = importlib.util.spec_from_file_location("functions.admin_api.handler", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def document() -> dict[str, Any]:
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBase

    app = _app()
    doc: dict[str, Any] = json.loads(
        app.get_openapi_json_schema(
            title=TITLE,
            version=VERSION,
            description=(
                "Tenants, credentials, learners, attempts, completions, transcripts, compliance"
                " exports and dead letters. Lists are cursor-paginated ({items, next}); every"
                " POST/PUT/DELETE honours an Idempotency-Key header."
            ),
            security_schemes={"basic": HTTPBase(scheme="basic")},
            security=[{"basic": []}],
        )
    )
    for operations in doc["paths"].values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            auto = responses.get("422", {}).get("content", {}).get("application/json", {})
            if auto.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                del responses["422"]
    # Powertools' validation-error schemas: dropped when no operation refers to them any more.
    paths = json.dumps(doc["paths"])
    schemas = doc.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ResponseValidationError"):
        if f"/{name}" not in paths:
            schemas.pop(name, None)
    if "/ValidationError" not in json.dumps(doc):
        schemas.pop("ValidationError", None)
    return doc


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if the document is stale")
    args = parser.parse_args(argv)
    fresh = render()
    if args.check:
        committed = DOCUMENT.read_text() if DOCUMENT.exists() else ""
        if committed != fresh:
            diff = difflib.unified_diff(
                committed.splitlines(), fresh.splitlines(), str(DOCUMENT), "generated", lineterm=""
            )
            print("\n".join(list(diff)[:80]), file=sys.stderr)
            print(f"{DOCUMENT}: stale; run `make openapi` and commit it", file=sys.stderr)
            return 1
        print(f"{DOCUMENT}: up to date")
        return 0
    DOCUMENT.parent.mkdir(parents=True, exist_ok=True)
    DOCUMENT.write_text(fresh)
    print(f"{DOCUMENT}: written ({len(fresh)} bytes, {len(document()['paths'])} paths)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
