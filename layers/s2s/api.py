"""The HTTP side shared by every API function: one resolver factory, one error map, the caller.

Domain errors (s2s.errors) become the spec's body `{"error", "message", "details"}` here and only
here. A 5xx never carries internals: unexpected exceptions are logged with a stack trace and
answered with a fixed sentence."""

from __future__ import annotations

import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from s2s import errors
from s2s.principal import Principal, principal_from_claims

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

logger = Logger(service="s2s")

# Requests larger than this are refused before any parsing (413). Upload bodies never come
# through the API: files go straight to S3 with the presigned POST.
MAX_BODY_BYTES = 16 * 1024

_STATUS: list[tuple[type[errors.S2SError], int]] = [
    (errors.NamingError, 422),
    (errors.InvalidRequest, 422),
    (errors.NotAuthenticated, 401),
    (errors.Forbidden, 403),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.Gone, 410),
    (errors.TooLarge, 413),
    (errors.Throttled, 429),
    (errors.UpstreamError, 502),
    (errors.UpstreamUnavailable, 503),
    (errors.UpstreamTimeout, 504),
]


def status_for(exc: errors.S2SError) -> int:
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def error_response(
    status: int, code: str, message: str, details: list[Any] | None = None, headers: dict[str, str] | None = None
) -> Response[str]:
    body = {"error": code, "message": message, "details": details or []}
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body),
        headers=headers or {},
    )


def _details(exc: errors.S2SError) -> list[Any]:
    details = list(exc.details)
    if isinstance(exc, errors.NamingError) and exc.suggestion:
        details.append({"field": "filename", "reason": exc.code, "suggestion": exc.suggestion})
    return details


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ()) if part not in ("body", "query", "path")]
        if err.get("type") == "json_invalid":
            loc = []
        details.append(
            {
                "field": ".".join(loc) or "body",
                "reason": err.get("type", "invalid"),
                "message": err.get("msg", "is not valid"),
            }
        )
    return details


class _Resolver(APIGatewayHttpResolver):
    """Refuses oversized bodies before any parsing or validation (413)."""

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        body = event.get("body")
        if isinstance(body, str) and len(body.encode("utf-8")) > MAX_BODY_BYTES:
            return {
                "statusCode": 413,
                "headers": {"Content-Type": "application/json"},
                "isBase64Encoded": False,
                "body": json.dumps(
                    {
                        "error": "body_too_large",
                        "details": [],
                        "message": f"The request body is over {MAX_BODY_BYTES} bytes.",
                    }
                ),
            }
        return super().resolve(event, context)


def make_resolver() -> APIGatewayHttpResolver:
    """A resolver with validation on and the spec's error map installed."""
    app = _Resolver(enable_validation=True)

    @app.exception_handler(errors.S2SError)
    def _domain_error(exc: errors.S2SError) -> Response[str]:
        status = status_for(exc)
        headers = {}
        if isinstance(exc, errors.Throttled | errors.UpstreamUnavailable):
            headers["Retry-After"] = str(exc.retry_after)
        body: dict[str, Any] = {"error": exc.code, "message": exc.message, "details": _details(exc)}
        if isinstance(exc, errors.NamingError) and exc.suggestion:
            body["suggestion"] = exc.suggestion
        if status >= 500:
            logger.warning("upstream failure", extra={"error": exc.code})
        return Response(status_code=status, content_type="application/json", body=json.dumps(body), headers=headers)

    @app.exception_handler(RequestValidationError)
    def _validation_error(exc: RequestValidationError) -> Response[str]:
        details = _validation_details(exc)
        message = "The request is not valid: " + "; ".join(f"{d['field']}: {d['message']}" for d in details[:5])
        return error_response(422, "validation_error", message, details)

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response[str]:
        logger.exception("unhandled error")
        return error_response(500, "internal_error", "Something went wrong on our side. Please try again.")

    @app.not_found
    def _no_route(exc: Exception) -> Response[str]:
        return error_response(404, "not_found", "There is no such route.")

    return app


def current_principal(app: APIGatewayHttpResolver) -> Principal:
    """The caller, from the claims the JWT authorizer verified. 401 when there are none."""
    event: APIGatewayProxyEventV2 = app.current_event
    authorizer = event.request_context.authorizer
    claims = authorizer.jwt_claim if authorizer is not None else None
    if not claims:
        raise errors.NotAuthenticated("Sign in first: this route needs a bearer token.")
    return principal_from_claims(claims)


def request_origin(app: APIGatewayHttpResolver) -> dict[str, str]:
    """Where a request came from, for the audit trail."""
    http = app.current_event.request_context.http
    return {"source_ip": http.source_ip or "", "user_agent": (http.user_agent or "")[:256]}


__all__ = ["HTTPStatus", "current_principal", "make_resolver", "request_origin"]
