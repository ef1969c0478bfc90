"""The OpenAPI document of the whole HTTP API, from Powertools (`get_openapi_json_schema` of each
function's resolver: the schemas come from the pydantic models and the routes' typed signatures),
merged into one document and checked against template.yaml's routes.

Powertools documents its own error bodies (`HTTPValidationError`, `ResponseValidationError`);
S2S answers every error in one shape (docs/SERVICE.md §5), so those are replaced by `Error` and
the statuses each route can answer. Optional query parameters lose their `null` alternative: a
parameter is absent or has a value, it is never null.

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
    "415": ("The body is not JSON", "Error"),
    "422": ("Validation failed", "Error"),
    "429": ("Throttled", "Error"),
    "502": ("The Learning Records Service failed", "Error"),
    "503": ("The Learning Records Service is unavailable", "Error"),
    "504": ("The Learning Records Service did not answer in time", "Error"),
}


TITLE = "S2S - school to school secure file transfer"
VERSION = "1.0.0"
DESCRIPTION = (
    "Send and receive CTFs, admissions and other files between schools and local authorities; "
    "ULN look-ups; LA reports. See docs/SERVICE.md."
)
POWERTOOLS_SCHEMAS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional parameter's schema without its `null` alternative."""
    alternatives = schema.get("anyOf", [])
    if len(alternatives) != 2 or {"type": "null"} not in alternatives:
        return dict(schema)
    inner = next(a for a in alternatives if a != {"type": "null"})
    rest = {k: v for k, v in schema.items() if k != "anyOf" and not (k == "default" and v is None)}
    return {**inner, **rest}


def _operation(operation: dict[str, Any], function: str, authorized: bool) -> dict[str, Any]:
    out = dict(operation)
    if "parameters" in out:
        out["parameters"] = [{**p, "schema": _not_null(p["schema"])} for p in out["parameters"]]
    responses = {
        code: response
        for code, response in out.get("responses", {}).items()
        if not (code in ("422", "500") and "Validation Error" in response.get("description", ""))
    }
    for code, response in list(responses.items()):
        if code == "204":
            responses[code] = {"description": response.get("description", "No content")}
    for code, (description, schema) in _ERRORS.items():
        responses[code] = {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
        }
    out["responses"] = dict(sorted(responses.items()))
    out["x-lambda-function"] = function
    if authorized:
        out["security"] = [{"bearer": []}]
    return out


def build_document() -> dict[str, Any]:
    routes = http_routes()
    declared = {(r.method.lower(), r.path): r for r in routes}
    modules: dict[str, Any] = {}
    for declared_route in routes:
        name = declared_route.handler.rsplit(".", 1)[0]
        if name not in modules:
            modules[name] = load_module(declared_route.code_uri, name).app
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA, "GatewayError": GATEWAY_ERROR}
    for app in modules.values():
        document = json.loads(app.get_openapi_json_schema(title=TITLE, version=VERSION))
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            if name in POWERTOOLS_SCHEMAS:
                continue
            if name in schemas and schemas[name] != schema:
                raise SystemExit(f"two functions define the schema {name} differently")
            schemas[name] = schema
        for path, operations in document.get("paths", {}).items():
            for method, operation in operations.items():
                route = declared.get((method, path))
                if route is None:
                    raise SystemExit(f"{method.upper()} {path} is in the code but not in template.yaml")
                paths.setdefault(path, {})[method] = _operation(operation, route.function, route.authorized)
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION, "description": DESCRIPTION},
        "paths": {p: dict(sorted(paths[p].items())) for p in sorted(paths)},
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
