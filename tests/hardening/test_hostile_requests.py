"""Hostile request parameters on the transfers API (issue 9): a list cursor is opaque to the
client but comes back from it, so a tampered cursor must be refused as invalid (422), never reach
DynamoDB as a malformed start key (500), and never move the query to another organisation's
partition."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from flows import upload_api
from hardening.support import SENDER
from helpers import call, school_claims

pytestmark = pytest.mark.functional


def encode(state: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")


def foreign_start(org: str) -> dict[str, Any]:
    """A start key that points into another organisation's outbox partition."""
    return {"PK": {"S": "T#x"}, "SK": {"S": "META"}, "GSI2PK": {"S": f"FROM#{org}"}, "GSI2SK": {"S": "9999"}}


WELL_FORMED_BUT_REFUSED = {
    "not base64": "%%%",
    "not json": base64.urlsafe_b64encode(b"{not json").decode(),
    "a list": encode([1, 2]),
    "another box": encode({"box": "inbox", "at": [None]}),
    "two streams for one": encode({"box": "outbox", "at": [None, None]}),
}
TAMPERED = {
    "start key of the wrong shape": encode({"box": "outbox", "at": [{"foo": "bar"}]}),
    "start key a string": encode({"box": "outbox", "at": ["x"]}),
    "start key a number": encode({"box": "outbox", "at": [5]}),
    "start key in another organisation's partition": encode({"box": "outbox", "at": [foreign_start("8239999")]}),
}


def list_outbox(cursor: str) -> Any:
    return call(
        upload_api(), "GET", "/transfers", claims=school_claims(SENDER), query={"box": "outbox", "cursor": cursor}
    )


@pytest.mark.parametrize("cursor", list(WELL_FORMED_BUT_REFUSED.values()), ids=list(WELL_FORMED_BUT_REFUSED))
def test_a_cursor_that_is_not_ours_is_422(aws: Any, cursor: str) -> None:
    reply = list_outbox(cursor)

    assert (reply.status, reply.error) == (422, "validation_error")


@pytest.mark.parametrize("cursor", list(TAMPERED.values()), ids=list(TAMPERED))
def test_a_tampered_cursor_is_422_not_500(aws: Any, cursor: str) -> None:
    reply = list_outbox(cursor)

    assert (reply.status, reply.error) == (422, "validation_error")
