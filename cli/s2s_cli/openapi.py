"""The OpenAPI document of the whole HTTP API, built from every function's routes (`s2s.api.App`:
the routes must match template.yaml; the schemas come from the msgspec models in the code).

`python -m s2s_cli.openapi --write` regenerates the committed copy served at GET /openapi.json;
`--check` fails when the committed copy has drifted from the code."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import msgspec
from s2s.api import App, Route

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


REF = "#/components/schemas/{name}"


def _types(route: Route) -> list[Any]:
    """Every model a route's document needs, the success body's alternatives included."""
    found = [route.body, route.query, route.params]
    found.extend(route.response if isinstance(route.response, tuple) else [route.response])
    return [t for t in found if t is not None]


def _schema(kind: Any) -> dict[str, Any]:
    """A reference to a model, or a union's `anyOf`/`oneOf` of references."""
    if isinstance(kind, tuple):
        return {"oneOf": [_schema(k) for k in kind]}
    (schema,), _ = msgspec.json.schema_components([kind], ref_template=REF)
    return schema


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional parameter's schema without its `null` alternative: a parameter is absent or
    has a value, it is never null."""
    alternatives = schema.get("anyOf", [])
    if len(alternatives) != 2 or {"type": "null"} not in alternatives:
        return dict(schema)
    inner = next(a for a in alternatives if a != {"type": "null"})
    rest = {k: v for k, v in schema.items() if k != "anyOf" and not (k == "default" and v is None)}
    return {**inner, **rest}


def _parameters(kind: Any, where: str, components: dict[str, Any]) -> list[dict[str, Any]]:
    """One parameter per field of a query or path model (its schema inlined)."""
    model = components[kind.__name__]
    required = set(model.get("required", []))
    out = []
    for name, declared in model["properties"].items():
        schema = _not_null(declared)
        description = schema.pop("description", None)
        parameter: dict[str, Any] = {"name": name, "in": where, "required": where == "path" or name in required}
        if description:
            parameter["description"] = description
        parameter["schema"] = schema
        out.append(parameter)
    return out


def _operation(route: Route, components: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": route.summary, "operationId": route.handler.__name__}
    if route.tags:
        operation["tags"] = list(route.tags)
    parameters = []
    if route.params is not None:
        parameters += _parameters(route.params, "path", components)
    if route.query is not None:
        parameters += _parameters(route.query, "query", components)
    if parameters:
        operation["parameters"] = parameters
    if route.body is not None:
        operation["requestBody"] = {
            "required": route.body_required,
            "content": {"application/json": {"schema": _schema(route.body)}},
        }
    responses: dict[str, Any] = {}
    success: dict[str, Any] = {"description": route.responses.get(route.status, "Success")}
    if route.response is not None:
        success["content"] = {"application/json": {"schema": _schema(route.response)}, **route.content}
    responses[str(route.status)] = success
    for status, description in route.responses.items():
        if status == route.status:
            continue
        other: dict[str, Any] = {"description": description}
        if "content" in success and 200 <= status < 300:  # another success, same body (e.g. 200 and 201)
            other["content"] = success["content"]
        responses[str(status)] = other
    for code, (description, schema) in _ERRORS.items():
        responses[code] = {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
        }
    operation["responses"] = responses
    return operation


def build_document() -> dict[str, Any]:
    routes = http_routes()
    apps: dict[str, App] = {}
    for declared_route in routes:
        name = declared_route.handler.rsplit(".", 1)[0]
        if name not in apps:
            apps[name] = load_module(declared_route.code_uri, name).app
    declared = {(r.method, r.path): r for r in routes}
    documented = [r for app in apps.values() for r in app.routes.values() if r.documented]
    every_type = sorted({t for r in documented for t in _types(r)}, key=str)
    _, components = msgspec.json.schema_components(every_type, ref_template=REF)
    paths: dict[str, Any] = {}
    for route in documented:
        if (route.method, route.path) not in declared:
            raise SystemExit(f"{route.key} is in the code but not in template.yaml")
        operation = _operation(route, components)
        operation["x-lambda-function"] = declared[(route.method, route.path)].function
        if declared[(route.method, route.path)].authorized:
            operation["security"] = [{"bearer": []}]
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    # Query and path models become parameters; they are not schemas of their own.
    parameter_models = {t.__name__ for r in documented for t in (r.query, r.params) if t is not None}
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA, "GatewayError": GATEWAY_ERROR}
    schemas.update({k: v for k, v in components.items() if k not in parameter_models})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "S2S - school to school secure file transfer",
            "version": "1.0.0",
            "description": "Send and receive CTFs, admissions and other files between schools and "
            "local authorities; ULN look-ups; LA reports. See SPEC.md.",
        },
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
