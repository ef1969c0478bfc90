"""The HTTP side shared by every API function: Powertools' `APIGatewayHttpResolver` with
validation on, the one error map, and the caller.

Routes are typed functions (`Annotated[..., Body()/Query()/Path()]` and a return annotation);
Powertools validates parameters and bodies with pydantic, checks every answer against its
declared model, and builds the OpenAPI document from the same types. Errors are answered here and
only here, in the shape of docs/SERVICE.md §5, `{"error", "message", "details"}`:

- a body over 16 KiB -> 413 before anything parses it; a body that is not JSON -> 415 when its
  Content-Type says another media type, 422 `validation_error` (`json_invalid`) otherwise;
- refused parameters or fields -> 422 naming every one of them; domain errors by class (`s2s.domain.errors.status_for`);
- anything unexpected, an answer that breaks its own model included -> 500 with a fixed sentence,
  the stack trace logged, never returned.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import importlib.util
import json
import sys
from collections.abc import Mapping
from typing import Any


def _lazy_package(name: str) -> Any:
    """Import the package `name` without running its `__init__` until a name only it defines is
    asked for. Powertools' `event_handler/__init__.py` imports every resolver it has (AppSync,
    Bedrock, VPC Lattice, ...) and asyncio; an HTTP API function needs `api_gateway` and the
    OpenAPI helpers, and skipping the rest takes about a third off importing the resolver
    (docs/BENCHMARKS.md). Returns the package module (the real one when already imported)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return importlib.import_module(name)
    package = importlib.util.module_from_spec(spec)
    package.__path__ = list(spec.submodule_search_locations)

    def __getattr__(attribute: str) -> Any:
        if importlib.util.find_spec(f"{name}.{attribute}") is not None:
            return importlib.import_module(f"{name}.{attribute}")  # `from package import submodule`
        del vars(package)["__getattr__"]
        spec.loader.exec_module(package)  # type: ignore[union-attr]  # the whole __init__, now
        return getattr(package, attribute)

    vars(package)["__getattr__"] = __getattr__  # PEP 562: asked only for names not yet defined
    sys.modules[name] = package
    return package


_event_handler = _lazy_package("aws_lambda_powertools.event_handler")

from aws_lambda_powertools.event_handler import api_gateway  # noqa: E402
from aws_lambda_powertools.event_handler.api_gateway import APIGatewayHttpResolver, Response  # noqa: E402

# What the package's own modules import from it (the resolvers of api_gateway), without the rest.
for _name in (
    "ALBResolver",
    "APIGatewayHttpResolver",
    "ApiGatewayResolver",
    "APIGatewayRestResolver",
    "CORSConfig",
    "Response",
):
    vars(_event_handler).setdefault(_name, getattr(api_gateway, _name))

from aws_lambda_powertools.event_handler.exceptions import NotFoundError  # noqa: E402
from aws_lambda_powertools.event_handler.openapi.exceptions import (  # noqa: E402
    RequestValidationError,
    ResponseValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query  # noqa: E402

from s2s.contracts.base import problems  # noqa: E402
from s2s.domain import errors  # noqa: E402
from s2s.domain.errors import status_for  # noqa: E402
from s2s.domain.principal import Principal, principal_from_claims  # noqa: E402
from s2s.runtime.log import logger  # noqa: E402

# Requests larger than this are refused before any parsing (413). Upload bodies never come
# through the API: files go straight to S3 with the presigned POST.
MAX_BODY_BYTES = 16 * 1024
JSON = "application/json"

INTERNAL_ERROR = "Something went wrong on our side. Please try again."


def error_response(
    status: int, code: str, message: str, details: list[Any] | None = None, headers: Mapping[str, str] | None = None
) -> Response[Any]:
    body = {"error": code, "message": message, "details": details or []}
    return Response(status_code=status, content_type=JSON, body=body, headers=dict(headers or {}))


def domain_error_response(exc: errors.S2SError) -> Response[Any]:
    status = status_for(exc)
    headers = {}
    if isinstance(exc, errors.Throttled | errors.UpstreamUnavailable):
        headers["Retry-After"] = str(exc.retry_after)
    details = list(exc.details)
    body: dict[str, Any] = {"error": exc.code, "message": exc.message, "details": details}
    if isinstance(exc, errors.NamingError) and exc.suggestion:
        details.append({"field": "filename", "reason": exc.code, "suggestion": exc.suggestion})
        body["suggestion"] = exc.suggestion
    if status >= 500:
        logger.warning("upstream failure", extra={"error": exc.code})
    return Response(status_code=status, content_type=JSON, body=body, headers=headers)


def _header(headers: Mapping[str, Any] | None, name: str) -> tuple[str | None, str]:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return key, str(value)
    return None, ""


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == JSON or (media.startswith("application/") and media.endswith("+json"))


def _render(response: Response[Any]) -> dict[str, Any]:
    return {
        "statusCode": response.status_code,
        "headers": {"Content-Type": JSON, **{k: str(v) for k, v in response.headers.items()}},
        "body": json.dumps(response.body),
        "isBase64Encoded": False,
    }


def before_parsing(
    event: Mapping[str, Any], max_body_bytes: int = MAX_BODY_BYTES
) -> tuple[dict[str, Any] | None, Response[Any] | None]:
    """What must be refused before a body is parsed (size, media type, bytes that are not UTF-8),
    and otherwise the event with its body as JSON text: base64 decoded and a `+json` media type
    named `application/json`, as Powertools reads JSON bodies."""
    raw = event.get("body")
    if not isinstance(raw, str) or raw == "":
        return dict(event), None
    encoded = bool(event.get("isBase64Encoded"))
    size = len(raw) * 3 // 4 if encoded else len(raw.encode("utf-8", "surrogatepass"))
    if size > max_body_bytes:
        return None, error_response(413, "body_too_large", f"The request body is over {max_body_bytes} bytes.")
    headers = dict(event.get("headers") or {})
    key, content_type = _header(headers, "content-type")
    if content_type and not _is_json(content_type):
        media = content_type.split(";", 1)[0].strip()[:100]
        return None, error_response(415, "unsupported_media_type", f"Send the body as {JSON}, not {media}.")
    if key is not None:
        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"} | {"content-type": JSON}
    not_json = error_response(
        422,
        "validation_error",
        "The request is not valid: body: is not valid JSON",
        problems([{"type": "json_invalid", "loc": ("body",)}]),
    )
    try:
        text = base64.b64decode(raw, validate=True).decode("utf-8") if encoded else raw
        text.encode("utf-8")  # lone surrogates
    except (binascii.Error, ValueError):
        return None, not_json
    if text.lstrip().startswith("[") and _is_array(text):
        # Every body of this API is an object. Powertools reads a list where one value is expected
        # as its first item (meant for repeated query parameters), so an array is refused here.
        detail = {"field": "body", "reason": "model_attributes_type", "message": "must be a JSON object, not an array"}
        return None, error_response(
            422, "validation_error", "The request is not valid: body: must be a JSON object", [detail]
        )
    return {**event, "headers": headers, "body": text, "isBase64Encoded": False}, None


def _is_array(text: str) -> bool:
    try:
        return isinstance(json.loads(text), list)
    except ValueError:
        return False  # not JSON at all: Powertools answers json_invalid


class Api(APIGatewayHttpResolver):
    """One function's routes and `resolve`, its Lambda entry point, with the error map registered."""

    def __init__(self, *, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        super().__init__(enable_validation=True, response_validation_error_http_code=500)
        self.max_body_bytes = max_body_bytes  # a function whose bodies may be larger says so
        self.exception_handler(errors.S2SError)(domain_error_response)
        self.exception_handler(RequestValidationError)(_refused)
        self.exception_handler(NotFoundError)(_no_route)
        self.exception_handler(ResponseValidationError)(_unexpected)
        self.exception_handler(Exception)(_unexpected)

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        checked, refused = before_parsing(event, self.max_body_bytes)
        if refused is not None or checked is None:
            return _render(refused or error_response(500, "internal_error", INTERNAL_ERROR))
        answer = super().resolve(checked, context)
        if answer.get("body") is None or answer.get("statusCode") == 204:
            answer["body"] = ""  # a 204 (or any answer without a body) has no media type either
            answer["headers"] = {k: v for k, v in (answer.get("headers") or {}).items() if k.lower() != "content-type"}
        return answer

    # ------------------------------------------------------------------ the request, for routes

    @property
    def principal(self) -> Principal:
        """The caller, from the claims the JWT authorizer verified. 401 when there are none."""
        context = self.current_event.raw_event.get("requestContext") or {}
        claims = ((context.get("authorizer") or {}).get("jwt") or {}).get("claims")
        if not claims:
            raise errors.NotAuthenticated("Sign in first: this route needs a bearer token.")
        return principal_from_claims(claims)

    @property
    def origin(self) -> dict[str, str]:
        """Where the request came from, for the audit trail."""
        http = (self.current_event.raw_event.get("requestContext") or {}).get("http") or {}
        return {"source_ip": http.get("sourceIp") or "", "user_agent": (http.get("userAgent") or "")[:256]}


def _refused(exc: RequestValidationError) -> Response[Any]:
    details = problems(exc.errors())
    text = "; ".join(f"{d['field']}: {d['message']}" for d in details[:5])
    return error_response(422, "validation_error", f"The request is not valid: {text}", details)


def _no_route(exc: NotFoundError) -> Response[Any]:
    return error_response(404, "not_found", "There is no such route.")


def _unexpected(exc: Exception) -> Response[Any]:
    logger.exception("unhandled error")
    return error_response(500, "internal_error", INTERNAL_ERROR)


__all__ = ["JSON", "MAX_BODY_BYTES", "Api", "Body", "Path", "Query", "Response", "error_response", "status_for"]
