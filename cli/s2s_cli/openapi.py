"""The OpenAPI document of the whole HTTP API, merged from every function's resolver (the routes
come from template.yaml; the schemas from the pydantic models in the code).

`python -m s2s_cli.openapi --write` regenerates the committed copy served at GET /openapi.json;
`--check` fails when the committed copy has drifted from the code."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from s2s_cli.local.functions import load_module
from s2s_cli.local.template import ROOT, http_routes

DOCUMENT = ROOT / "functions" / "upload" / "openapi.json"

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message", "details"],
    "properties": {
        "error": {"type": "string", "description": "A stable code, e.g. bad_pattern, not_found"},
        "message": {"type": "string", "description": "A sentence for a person"},
        "details": {"type": "array", "items": {}},
        "suggestion": {"type": ["string", "null"], "description": "The corrected file name, when there is one"},
    },
}
GATEWAY_ERROR = {"type": "object", "properties": {"message": {"type": "string"}}}

_ERRORS = {
    "401": ("No or bad token (answered by API Gateway)", "GatewayError"),
    "403": ("Not allowed for this role or organisation", "Error"),
    "404": ("Unknown, or not visible to you", "Error"),
    "409": ("Wrong state", "Error"),
    "410": ("Expired, withdrawn or removed", "Error"),
    "413": ("Too large", "Error"),
    "422": ("Validation failed", "Error"),
    "429": ("Throttled", "Error"),
    "502": ("The Learning Records Service failed", "Error"),
    "503": ("The Learning Records Service is unavailable", "Error"),
    "504": ("The Learning Records Service did not answer in time", "Error"),
}


def build_document() -> dict[str, Any]:
    routes = http_routes()
    modules: dict[str, Any] = {}
    for route in routes:
        name = route.handler.rsplit(".", 1)[0]
        modules.setdefault(name, load_module(route.code_uri, name))
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA, "GatewayError": GATEWAY_ERROR}
    for name in sorted(modules):
        doc = json.loads(modules[name].app.get_openapi_json_schema(title="S2S", version="1"))
        for path, operations in doc.get("paths", {}).items():
            paths.setdefault(path, {}).update(operations)
        schemas.update(doc.get("components", {}).get("schemas", {}))
    declared = {(r.method.lower(), r.path): r for r in routes}
    for path, operations in paths.items():
        for method, operation in operations.items():
            if (method, path) not in declared:
                raise SystemExit(f"{method.upper()} {path} is in the code but not in template.yaml")
            operation["x-lambda-function"] = next(
                r.function for r in routes if (r.method.lower(), r.path) == (method, path)
            )
            responses = operation.setdefault("responses", {})
            # Powertools documents its own 422 shape; ours is the spec's error body.
            for status, (description, schema) in _ERRORS.items():
                responses[status] = {
                    "description": description,
                    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
                }
            if route.authorized:
                operation["security"] = [{"bearer": []}]
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "S2S - school to school secure file transfer",
            "version": "1.0.0",
            "description": "Send and receive CTFs, admissions and other files between schools and "
            "local authorities; ULN look-ups; LA reports. See SPEC.md.",
        },
        "paths": {p: paths[p] for p in sorted(paths)},
        "components": {
            "schemas": {k: schemas[k] for k in sorted(schemas)},
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "DfE Sign-in ID token",
                }
            },
        },
    }


def render() -> str:
    return json.dumps(build_document(), indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true")
    group.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    text = render()
    if args.write:
        DOCUMENT.write_text(text)
        print(f"wrote {DOCUMENT.relative_to(ROOT)}")
        return 0
    if DOCUMENT.read_text() != text:
        print("functions/upload/openapi.json is out of date: run `make openapi`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
