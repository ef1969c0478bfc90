"""Signed list cursors. A cursor is opaque to callers: `<payload>.<signature>`, both base64url, the
list's position as JSON and its HMAC-SHA256. A cursor we did not write (hand-made, altered, or
signed with another key) is a 422 before anything in it is read, so its contents can never reach
DynamoDB as a start key of someone else's choosing, nor crash a handler."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import os
import secrets as secrets_module
from typing import Any

from s2s.domain.errors import InvalidRequest
from s2s.runtime.settings import get_settings

_CURSOR_SIG_BYTES = 32
_local_cursor_key: list[bytes] = []


def _bad_cursor() -> InvalidRequest:
    return InvalidRequest(
        "The cursor is not one we gave out. Ask for the first page again (leave out cursor).",
        details=[{"field": "cursor", "reason": "invalid"}],
    )


@functools.cache
def _secret_cursor_key(arn: str) -> bytes:
    from s2s.adapters.aws import secrets

    return secrets().get_secret_value(SecretId=arn)["SecretString"].encode("utf-8")


def cursor_key() -> bytes:
    """The HMAC key for cursors. In AWS it is the `CursorKey` secret, read once per container, so
    every container of every function signs with the same key."""
    settings = get_settings()
    if settings.cursor_key:
        return settings.cursor_key.encode("utf-8")
    if settings.cursor_secret_arn:
        return _secret_cursor_key(settings.cursor_secret_arn)
    if "AWS_LAMBDA_FUNCTION_NAME" in os.environ:
        # A per-container key would make the next page fail on another container: refuse loudly.
        raise RuntimeError("CURSOR_SECRET_ARN is not set: list cursors cannot be signed")
    if not _local_cursor_key:
        _local_cursor_key.append(secrets_module.token_bytes(32))
    return _local_cursor_key[0]


def _cursor_signature(payload: bytes) -> bytes:
    return hmac.new(cursor_key(), b"s2s-cursor-v1." + payload, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    if not text or not text.isascii() or len(text) % 4 == 1:
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode("ascii"))


def encode_cursor(state: dict[str, Any]) -> str:
    """`<payload>.<signature>`, both base64url: the list's position as JSON, and its HMAC-SHA256."""
    payload = json.dumps(state, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return f"{_b64(payload)}.{_b64(_cursor_signature(payload))}"


def decode_cursor(cursor: str) -> dict[str, Any]:
    """The state of a cursor we signed, or 422 `validation_error` (field `cursor`)."""
    body, dot, signature = cursor.partition(".")
    try:
        payload, given = _unb64(body), _unb64(signature)
    except (ValueError, binascii.Error):
        raise _bad_cursor() from None
    if not dot or len(given) != _CURSOR_SIG_BYTES or not hmac.compare_digest(given, _cursor_signature(payload)):
        raise _bad_cursor()
    try:
        state = json.loads(payload)
    except ValueError:
        raise _bad_cursor() from None
    if not isinstance(state, dict):
        raise _bad_cursor()
    return state
