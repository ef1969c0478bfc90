"""The HTTP side shared by every API function: a small router for API Gateway HTTP API (payload
2.0) events, the one error map, the caller, and the OpenAPI description of each route.

Why not a framework: a Lambda's cold start is mostly imports, and Powertools' event handler with
pydantic cost an API function 150-200 ms of the ~250 ms a bare boto3 start takes (issue 10). This
router is the part S2S uses: routes by API Gateway's `routeKey`, path and query parameters and
JSON bodies validated into msgspec models (`s2s.models`), return values checked against the
route's response model, and errors answered as SPEC §5 says, `{"error", "message", "details"}`,
here and only here:

- a body over 16 KiB -> 413 before anything parses it; a body that is not JSON -> 415 when its
  Content-Type says another media type, 422 `validation_error` (`json_invalid`) otherwise;
- a refused parameter or field -> 422 naming it; domain errors by class (`_STATUS`);
- anything unexpected -> 500 with a fixed sentence, the stack trace logged, never returned.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from s2s import errors
from s2s.log import bind, logger
from s2s.models import convert, decode_json
from s2s.principal import Principal, principal_from_claims

# Requests larger than this are refused before any parsing (413). Upload bodies never come
# through the API: files go straight to S3 with the presigned POST.
MAX_BODY_BYTES = 16 * 1024
JSON = "application/json"

_STATUS: list[tuple[type[errors.S2SError], int]] = [
    (errors.NamingError, 422),
    (errors.InvalidRequest, 422),
    (errors.NotAuthenticated, 401),
    (errors.Forbidden, 403),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.Gone, 410),
    (errors.TooLarge, 413),
    (errors.UnsupportedMediaType, 415),
    (errors.Throttled, 429),
    (errors.UpstreamError, 502),
    (errors.UpstreamUnavailable, 503),
    (errors.UpstreamTimeout, 504),
]

_encode = msgspec.json.Encoder().encode


def status_for(exc: errors.S2SError) -> int:
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 500


@dataclass(slots=True)
class Reply:
    """An answer with a status, a body (text, or JSON-encoded for anything else) and headers."""

    status: int
    body: Any = None
    content_type: str | None = JSON
    headers: dict[str, str] = field(default_factory=dict)


def error_reply(
    status: int, code: str, message: str, details: list[Any] | None = None, headers: dict[str, str] | None = None
) -> Reply:
    return Reply(status, {"error": code, "message": message, "details": details or []}, JSON, headers or {})


def _domain_reply(exc: errors.S2SError) -> Reply:
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
    return Reply(status, body, JSON, headers)


class Request:
    """One request as a handler sees it: validated `body`, `query` and `params` (path), the caller
    and where the call came from."""

    __slots__ = ("_principal", "body", "event", "params", "query")

    def __init__(self, event: Mapping[str, Any], body: Any, query: Any, params: Any) -> None:
        self.event = event
        self.body = body
        self.query = query
        self.params = params
        self._principal: Principal | None = None

    @property
    def principal(self) -> Principal:
        """The caller, from the claims the JWT authorizer verified. 401 when there are none."""
        if self._principal is None:
            authorizer = self.event.get("requestContext", {}).get("authorizer") or {}
            claims = (authorizer.get("jwt") or {}).get("claims")
            if not claims:
                raise errors.NotAuthenticated("Sign in first: this route needs a bearer token.")
            self._principal = principal_from_claims(claims)
        return self._principal

    @property
    def origin(self) -> dict[str, str]:
        """Where the request came from, for the audit trail."""
        http = self.event.get("requestContext", {}).get("http") or {}
        return {"source_ip": http.get("sourceIp") or "", "user_agent": (http.get("userAgent") or "")[:256]}


@dataclass(frozen=True, slots=True)
class Route:
    """One operation: what it accepts, what it answers, and how the OpenAPI document shows it."""

    method: str
    path: str  # API Gateway form, /transfers/{id}
    handler: Callable[[Request], Any]
    summary: str
    tags: tuple[str, ...]
    status: int
    body: Any  # a model type, or None for no body
    body_required: bool
    query: Any  # a model type whose fields are the query parameters, or None
    params: Any  # a model type whose fields are the path parameters, or None
    response: Any  # the success body's model (a type, a tuple of types for "one of"), or None
    responses: Mapping[int, str]  # other documented statuses and what they mean
    content: Mapping[str, Any]  # other media types of the success body, e.g. text/csv
    documented: bool
    pattern: re.Pattern[str]

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


def _pattern(path: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", path)
    regex = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{regex}$")


def _header(event: Mapping[str, Any], name: str) -> str:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return ""


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == JSON or (media.startswith("application/") and media.endswith("+json"))


class App:
    """The routes of one function and `resolve`, its Lambda entry point."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        tags: tuple[str, ...] = (),
        status: int = 200,
        body: Any = None,
        body_required: bool = True,
        query: Any = None,
        params: Any = None,
        response: Any = None,
        responses: Mapping[int, str] | None = None,
        content: Mapping[str, Any] | None = None,
        documented: bool = True,
    ) -> Callable[[Callable[[Request], Any]], Callable[[Request], Any]]:
        def register(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
            route = Route(
                method.upper(),
                path,
                handler,
                summary,
                tags,
                status,
                body,
                body_required,
                query,
                params,
                response,
                responses or {},
                content or {},
                documented,
                _pattern(path),
            )
            if route.key in self.routes:
                raise ValueError(f"{route.key} is declared twice")
            self.routes[route.key] = route
            return handler

        return register

    def get(self, path: str, **kwargs: Any) -> Callable[[Callable[[Request], Any]], Callable[[Request], Any]]:
        return self.route("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Callable[[Callable[[Request], Any]], Callable[[Request], Any]]:
        return self.route("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Callable[[Callable[[Request], Any]], Callable[[Request], Any]]:
        return self.route("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Callable[[Callable[[Request], Any]], Callable[[Request], Any]]:
        return self.route("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Callable[[Callable[[Request], Any]], Callable[[Request], Any]]:
        return self.route("DELETE", path, **kwargs)

    # ------------------------------------------------------------------------------ dispatch

    def _find(self, event: Mapping[str, Any]) -> tuple[Route, dict[str, str]] | None:
        route = self.routes.get(event.get("routeKey") or "")
        if route is not None:
            params = event.get("pathParameters") or {}
            if params or "{" not in route.path:
                return route, params
        http = event.get("requestContext", {}).get("http") or {}
        method = str(http.get("method") or "").upper()
        path = event.get("rawPath") or http.get("path") or ""
        for candidate in self.routes.values():
            if candidate.method == method and (match := candidate.pattern.match(path)):
                return candidate, match.groupdict()
        return None

    def _body(self, route: Route, event: Mapping[str, Any]) -> Any:
        raw: str | bytes | None = event.get("body")
        if raw is None or raw == "":
            if route.body_required:
                raise errors.InvalidRequest(
                    "The request is not valid: body: a JSON body is required",
                    details=[{"field": "body", "reason": "missing", "message": "a JSON body is required"}],
                )
            return None
        content_type = _header(event, "content-type")
        if content_type and not _is_json(content_type):
            raise errors.UnsupportedMediaType(
                f"Send the body as {JSON}, not {content_type.split(';', 1)[0].strip()[:100]}.",
            )
        if event.get("isBase64Encoded"):
            try:
                raw = base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError):
                raw = b"\xff"  # not base64: refused below as not JSON
        return decode_json(raw, route.body)

    def _call(self, route: Route, event: Mapping[str, Any], path_params: Mapping[str, str]) -> Reply:
        body = self._body(route, event) if route.body is not None else None
        query = _query(event, route.query) if route.query else None
        params = convert(dict(path_params), route.params, strict=False) if route.params else None
        result = route.handler(Request(event, body, query, params))
        if isinstance(result, Reply):
            return result
        response = route.response
        if isinstance(result, dict) and isinstance(response, type) and issubclass(response, msgspec.Struct):
            # The answer is checked against the documented model, so a response never drifts
            # from the OpenAPI document.
            result = msgspec.convert(result, response)
        return Reply(route.status, result)

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        bind(context, (event.get("requestContext") or {}).get("requestId"))
        try:
            return _render(self._dispatch(event))  # encoding the answer can fail too
        except errors.S2SError as exc:
            return _render(_domain_reply(exc))
        except Exception:
            logger.exception("unhandled error")
            return _render(error_reply(500, "internal_error", "Something went wrong on our side. Please try again."))

    def _dispatch(self, event: Mapping[str, Any]) -> Reply:
        body = event.get("body")
        if isinstance(body, str) and len(body) > MAX_BODY_BYTES // 4 and _size(body, event) > MAX_BODY_BYTES:
            return error_reply(413, "body_too_large", f"The request body is over {MAX_BODY_BYTES} bytes.")
        found = self._find(event)
        if found is None:
            return error_reply(404, "not_found", "There is no such route.")
        route, path_params = found
        return self._call(route, event, path_params)


def _query(event: Mapping[str, Any], model: Any) -> Any:
    """The query string as `model`. Values are read laxly (they are all strings), except that
    msgspec's lax mode would read the text `null` as "not given" for an optional parameter: no
    parameter of ours takes it, so it is refused like any other wrong value."""
    values = event.get("queryStringParameters") or {}
    nulls = [name for name, value in values.items() if value == "null"]
    if nulls:
        raise errors.InvalidRequest(
            f"The request is not valid: {nulls[0]}: null is not a value for this parameter",
            details=[{"field": n, "reason": "type", "message": "null is not a value"} for n in nulls],
        )
    return convert(values, model, strict=False)


def _size(body: str, event: Mapping[str, Any]) -> int:
    if event.get("isBase64Encoded"):
        return len(body) * 3 // 4
    return len(body.encode("utf-8", "surrogatepass"))


def _render(reply: Reply) -> dict[str, Any]:
    headers = dict(reply.headers)
    if reply.status == 204 or reply.body is None:
        text = ""
    else:
        if reply.content_type:
            headers["Content-Type"] = reply.content_type
        text = reply.body if isinstance(reply.body, str) else _encode(reply.body).decode("utf-8")
    return {"statusCode": reply.status, "headers": headers, "body": text, "isBase64Encoded": False}


__all__ = ["JSON", "MAX_BODY_BYTES", "App", "Reply", "Request", "Route", "error_reply", "status_for"]
