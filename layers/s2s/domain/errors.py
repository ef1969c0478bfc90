"""Domain errors. Each carries a stable `code` and a human sentence; none knows about HTTP.

`s2s.runtime.http` maps the classes to status codes in one place."""

from __future__ import annotations

from typing import Any


class S2SError(Exception):
    """Base of every error the service reports to a caller."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None, details: list[Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details: list[Any] = details or []


class InvalidRequest(S2SError):
    """Fields that fail validation (422)."""

    code = "validation_error"


class NamingError(InvalidRequest):
    """A file name that breaks the naming protocol (422), with an optional suggested name."""

    def __init__(self, code: str, message: str, suggestion: str | None = None) -> None:
        super().__init__(message, code=code)
        self.suggestion = suggestion


class ClosedDestination(NamingError):
    """A file addressed to an establishment the directory knows as closed (422), naming its
    successor (when the links know one) and the file renamed for it as `suggestion`."""

    def __init__(self, message: str, *, successor: str | None, suggestion: str | None, field: str = "filename") -> None:
        super().__init__("closed_destination", message, suggestion)
        self.successor = successor
        self.field = field


class NotAuthenticated(S2SError):
    """No usable identity (401)."""

    code = "unauthorized"


class Forbidden(S2SError):
    """Known caller, not allowed (403)."""

    code = "forbidden"


class NotFound(S2SError):
    """Unknown, or not visible to this caller (404)."""

    code = "not_found"


class Conflict(S2SError):
    """Wrong state for this action (409)."""

    code = "conflict"


class Gone(S2SError):
    """Expired, withdrawn or removed (410)."""

    code = "gone"


class TooLarge(S2SError):
    """Over a size limit (413)."""

    code = "too_large"


class UnsupportedMediaType(S2SError):
    """A body in a media type the route does not read (it reads JSON)."""

    code = "unsupported_media_type"


class Throttled(S2SError):
    """Over a rate or quota (429)."""

    code = "throttled"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class UpstreamError(S2SError):
    """The Learning Records Service failed (502)."""

    code = "lrs_error"


class UpstreamUnavailable(S2SError):
    """The Learning Records Service is closed or overloaded (503)."""

    code = "lrs_unavailable"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class UpstreamTimeout(S2SError):
    """The Learning Records Service did not answer in time (504)."""

    code = "lrs_timeout"


_STATUS: list[tuple[type[S2SError], int]] = [
    (NamingError, 422),
    (InvalidRequest, 422),
    (NotAuthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (Gone, 410),
    (TooLarge, 413),
    (UnsupportedMediaType, 415),
    (Throttled, 429),
    (UpstreamError, 502),
    (UpstreamUnavailable, 503),
    (UpstreamTimeout, 504),
]


def status_for(exc: S2SError) -> int:
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 500
