"""Hostile request parameters on the transfers API (issue 9): a list cursor is opaque to the
client but comes back from it, so a tampered cursor must be refused as invalid (422), never reach
DynamoDB as a malformed start key (500), and never move the query to another organisation's
partition."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.flows import upload_api
from support.helpers import call, school_claims
from support.records import SENDER

pytestmark = [pytest.mark.functional, pytest.mark.hardening]


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


# ---------------------------------------------------------------- signed cursors (issue 15)

CTF_ZIP_STEM = f"{SENDER}_CTF_8232345"


def own_start(org: str) -> dict[str, Any]:
    """A start key of the right shape in the caller's own outbox partition: exactly what the old,
    unsigned cursors held, so a hand-made one used to be accepted."""
    return {
        "PK": {"S": "T#made-up"},
        "SK": {"S": "META"},
        "GSI2PK": {"S": f"FROM#{org}"},
        "GSI2SK": {"S": "2026-01-01T00:00:00.000000Z#made-up"},
    }


def two_uploads() -> str:
    """Two upload tickets in the sender's outbox; the next_cursor of a one-item page."""
    for n in (1, 2):
        reply = call(
            upload_api(),
            "POST",
            "/transfers",
            claims=school_claims(SENDER),
            body={"filename": f"{CTF_ZIP_STEM}_{n:03d}.zip", "size_bytes": 1000},
        )
        assert reply.status == 201, reply.body
    page = call(upload_api(), "GET", "/transfers", claims=school_claims(SENDER), query={"box": "outbox", "limit": "1"})
    assert page.status == 200 and page.body["next_cursor"]
    return str(page.body["next_cursor"])


def test_a_hand_made_cursor_of_the_right_shape_is_422(aws: Any) -> None:
    # Given a cursor built the way the service used to build them, pointing into the caller's own list
    made = encode({"box": "outbox", "at": [own_start(SENDER)]})

    reply = list_outbox(made)

    assert (reply.status, reply.error) == (422, "validation_error")
    assert reply.body["details"] == [{"field": "cursor", "reason": "invalid"}]


def test_the_cursor_we_gave_out_still_pages(aws: Any) -> None:
    cursor = two_uploads()

    reply = list_outbox(cursor)

    assert reply.status == 200 and len(reply.body["items"]) == 1


def _altered(cursor: str) -> dict[str, str]:
    from s2s.adapters import cursors

    payload, _, signature = cursor.partition(".")
    state = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    state["at"] = [own_start(SENDER)]
    forged = base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":"), sort_keys=True).encode())
    return {
        "payload changed, signature kept": forged.decode().rstrip("=") + "." + signature,
        "signature cut short": payload + "." + signature[:-4],
        "signature of another cursor": cursors.encode_cursor({"box": "inbox", "at": [None]}).split(".")[0]
        + "."
        + signature,
        "no signature": payload,
        "empty signature": payload + ".",
        "two dots": cursor + ".x",
        "signature not base64": payload + ".***",
    }


def test_an_altered_cursor_is_422_never_500(aws: Any) -> None:
    cursor = two_uploads()

    for name, altered in _altered(cursor).items():
        reply = list_outbox(altered)
        assert (reply.status, reply.error) == (422, "validation_error"), name


def test_a_cursor_signed_with_another_key_is_422(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from s2s.adapters import cursors
    from s2s.runtime.settings import get_settings

    cursor = two_uploads()
    payload = cursor.split(".")[0]
    state = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    monkeypatch.setenv("CURSOR_KEY", "someone-else's-key")
    get_settings.cache_clear()
    resigned = cursors.encode_cursor(state)
    monkeypatch.delenv("CURSOR_KEY")
    get_settings.cache_clear()

    assert resigned != cursor
    assert (list_outbox(resigned).status, list_outbox(cursor).status) == (422, 200)


def test_the_cursor_key_is_the_templates_secret(aws: Any) -> None:
    import boto3
    from s2s.adapters import cursors
    from s2s.runtime.settings import get_settings

    arn = get_settings().cursor_secret_arn
    assert arn and arn == aws.cursor_secret_arn
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    assert cursors.cursor_key() == secret.encode() and len(secret) >= 32


def test_a_hand_made_report_cursor_is_422_not_500(aws: Any) -> None:
    import report_api
    from support.helpers import la_claims

    # The undownloaded report used the cursor's start key as given: a malformed one reached DynamoDB.
    made = encode({"la": "823", "days": 0, "cutoff": "2099-01-01T00:00:00Z", "at": {"PK": {"N": "1"}}})

    reply = call(
        report_api.lambda_handler, "GET", "/reports/undownloaded", claims=la_claims("823"), query={"cursor": made}
    )

    assert (reply.status, reply.error) == (422, "validation_error")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cursor=st.text(min_size=1, max_size=300))
def test_no_hand_made_cursor_is_ever_accepted_or_a_500(aws: Any, cursor: str) -> None:
    reply = list_outbox(cursor)

    assert reply.status == 422, (cursor, reply.body)
