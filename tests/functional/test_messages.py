"""Secure messages against moto: every route and status, the thread rule, the per-transfer list,
who sees what (school A, school B, A's LA, another LA, the DfE), read receipts, expiry, the quota and
the body limit, the encryption of bodies, the email and the logs (docs/SERVICE.md, "Secure messages")."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import boto3
import messages_api
import notify_events
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from s2s.adapters import dynamo, organisations, subscriptions, transfers
from s2s.adapters import messages as repo
from s2s.domain import clock
from support.factories import transfer
from support.flows import drain
from support.helpers import Reply, call, dfe_claims, la_claims, school_claims

pytestmark = pytest.mark.functional

A, B, C = "8231234", "8232345", "3301111"  # A and B in LA 823; C in Birmingham (330)
A_LA, OTHER_LA = "823", "330"
SUBJECT = "Password for 8231234_CTF_8232345_001.zip"
BODY = "The password is tangerine-walrus-42.\nPlease confirm when you have it."
VIEWERS = {
    "school A": school_claims(A),
    "school B": school_claims(B),
    "A's LA": la_claims(A_LA),
    "another LA": la_claims(OTHER_LA),
    "another school": school_claims(C),
    "DfE": dfe_claims(),
}


def api(method: str, path: str, claims: dict[str, Any] | None, **kwargs: Any) -> Reply:
    return call(messages_api.lambda_handler, method, path, claims=claims, **kwargs)


def send(claims: dict[str, Any], to: str, subject: str = SUBJECT, body: str = BODY, **extra: Any) -> Reply:
    return api("POST", "/messages", claims, body={"to": to, "subject": subject, "body": body, **extra})


def read(claims: dict[str, Any], message_id: str) -> Reply:
    return api("GET", "/messages/{id}", claims, path_params={"id": message_id})


def listing(claims: dict[str, Any], **query: str) -> Reply:
    return api("GET", "/messages", claims, query=query or None)


def sent_id(reply: Reply) -> str:
    assert reply.status == 201, reply.body
    return str(reply.body["message_id"])


def put_transfer(**overrides: Any) -> str:
    fields: dict[str, Any] = {
        "created_at": clock.now_iso(),
        "available_at": clock.now_iso(),
        "expires_at": clock.iso(clock.now() + timedelta(days=60)),
    }
    t = transfer(**(fields | overrides))
    dynamo.put(transfers.transfer_item(t))
    return t.transfer_id


def raw_item(message_id: str) -> dict[str, Any] | None:
    return boto3.client("dynamodb").get_item(TableName=dynamo.table(), Key=repo._key(message_id)).get("Item")


# ---------------------------------------------------------------------------- send and read


def test_a_message_is_sent_with_201_and_the_recipient_reads_it_with_its_thread(aws: Any) -> None:
    organisations.remember_name(B, "Riverside Academy", clock.now())
    reply = send(school_claims(A, name="Oakfield Primary"), B)

    assert reply.status == 201
    sent = reply.body
    assert sent["sender"] == A and sent["recipient"] == B and sent["direction"] == "sent"
    assert sent["subject"] == SUBJECT and sent["body"] == BODY
    assert sent["sender_name"] == "Oakfield Primary" and sent["recipient_name"] == "Riverside Academy"
    assert sent["thread_id"] == sent["message_id"] and sent["read"] is None and sent["unread"] is False
    assert sent["sent_by"] == f"user-{A}"

    got = read(school_claims(B), sent["message_id"])

    assert got.status == 200
    assert got.body["message"]["body"] == BODY and got.body["message"]["direction"] == "received"
    assert [m["message_id"] for m in got.body["thread"]] == [sent["message_id"]]
    assert got.body["message"]["sent_by"] is None and got.body["message"]["sent_by_email"] is None  # A's people


def test_windows_line_ends_are_kept_as_newlines(aws: Any) -> None:
    message_id = sent_id(send(school_claims(A), B, body="line one\r\nline two\rline three"))

    assert read(school_claims(B), message_id).body["message"]["body"] == "line one\nline two\nline three"


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"subject": "s", "body": "b"}, "to", "missing"),
        ({"to": "12345", "subject": "s", "body": "b"}, "to", "value_error"),
        ({"to": "999LLLL", "subject": "s", "body": "b"}, "to", "value_error"),
        ({"to": B, "subject": "", "body": "b"}, "subject", "string_too_short"),
        ({"to": B, "subject": "x" * 121, "body": "b"}, "subject", "string_too_long"),
        ({"to": B, "subject": "two\nlines", "body": "b"}, "subject", "value_error"),
        ({"to": B, "subject": "evil \u202etxt.exe", "body": "b"}, "subject", "value_error"),
        ({"to": B, "subject": "   ", "body": "b"}, "subject", "value_error"),
        ({"to": B, "subject": "s", "body": ""}, "body", "string_too_short"),
        ({"to": B, "subject": "s", "body": "bell \x07"}, "body", "value_error"),
        ({"to": B, "subject": "s", "body": "b", "cc": A}, "cc", "extra_forbidden"),
        ({"to": B, "subject": "s", "body": "b", "reply_to": ""}, "reply_to", "string_too_short"),
    ],
)
def test_each_bad_field_is_a_422_naming_it(aws: Any, body: dict[str, Any], field: str, reason: str) -> None:
    reply = api("POST", "/messages", school_claims(A), body=body)

    assert reply.status == 422 and reply.error == "validation_error"
    assert {"field": field, "reason": reason} in [{k: d[k] for k in ("field", "reason")} for d in reply.body["details"]]


def test_every_bad_field_is_named_at_once(aws: Any) -> None:
    reply = api("POST", "/messages", school_claims(A), body={"to": "nope", "subject": "", "body": ""})

    assert reply.status == 422
    assert {d["field"] for d in reply.body["details"]} == {"to", "subject", "body"}


def test_writing_to_your_own_organisation_is_a_422(aws: Any) -> None:
    reply = send(school_claims(A), A)

    assert reply.status == 422 and reply.body["details"][0]["field"] == "to"
    assert reply.body["details"][0]["reason"] == "self"


def test_a_body_over_ten_thousand_characters_is_a_413_and_ten_thousand_is_sent(aws: Any) -> None:
    too_long = send(school_claims(A), B, body="é" * 10_001)
    assert too_long.status == 413 and too_long.error == "message_too_long"

    # 10,000 two-byte characters, JSON-escaped by the client: 60 KB, over the other routes' 16 KiB.
    at_limit = send(school_claims(A), B, body="é" * 10_000)
    assert at_limit.status == 201
    assert read(school_claims(B), at_limit.body["message_id"]).body["message"]["body"] == "é" * 10_000


def test_a_request_over_the_functions_limit_is_refused_before_parsing(aws: Any) -> None:
    reply = api("POST", "/messages", school_claims(A), raw_body=json.dumps({"to": B, "body": "x" * 140_000}))

    assert reply.status == 413 and reply.error == "body_too_large"


def test_the_dfe_cannot_send_or_list(aws: Any) -> None:
    assert send(dfe_claims(), B).status == 403
    assert listing(dfe_claims()).status == 403


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/messages"),
        ("GET", "/messages"),
        ("GET", "/messages/{id}"),
        ("DELETE", "/messages/{id}"),
        ("GET", "/transfers/{id}/messages"),
    ],
)
def test_every_route_needs_a_token(aws: Any, method: str, path: str) -> None:
    body = {"to": B, "subject": SUBJECT, "body": BODY} if method == "POST" else None
    reply = api(method, path, None, body=body, path_params={"id": "0" * 32} if "{id}" in path else None)

    assert reply.status == 401 and reply.error == "unauthorized"


def test_an_unknown_message_is_a_404(aws: Any) -> None:
    assert read(school_claims(A), "0" * 32).status == 404
    assert api("DELETE", "/messages/{id}", school_claims(A), path_params={"id": "0" * 32}).status == 404


# ---------------------------------------------------------------------------- who sees a message


@pytest.mark.parametrize(
    ("viewer", "status"),
    [
        ("school A", 200),
        ("school B", 200),
        ("A's LA", 404),
        ("another LA", 404),
        ("another school", 404),
        ("DfE", 404),
    ],
)
def test_only_the_two_organisations_see_a_message(aws: Any, viewer: str, status: int) -> None:
    message_id = sent_id(send(school_claims(A), B))
    claims = VIEWERS[viewer]

    assert read(claims, message_id).status == status
    if status == 404:
        assert read(claims, message_id).body == read(claims, "f" * 32).body  # the same as no message at all
        assert api("DELETE", "/messages/{id}", claims, path_params={"id": message_id}).status == 404
        assert send(claims, A, reply_to=message_id).status in (403, 422)
        if viewer != "DfE":
            for box in ("inbox", "sent"):
                assert listing(claims, box=box).body["messages"] == []
    assert read(school_claims(B), message_id).body["message"]["body"] == BODY  # still there for B


def test_an_la_message_is_between_the_la_and_its_correspondent_only(aws: Any) -> None:
    message_id = sent_id(send(la_claims(A_LA), B))

    assert read(school_claims(B), message_id).status == 200
    assert read(school_claims(A), message_id).status == 404  # another school of the same LA
    assert read(la_claims(OTHER_LA), message_id).status == 404
    assert listing(la_claims(A_LA), box="sent").body["messages"][0]["message_id"] == message_id


# ---------------------------------------------------------------------------- read receipts


def test_the_first_read_is_the_receipt_the_sender_sees_as_organisation_and_time(aws: Any) -> None:
    organisations.remember_name(B, "Riverside Academy", clock.now())
    message_id = sent_id(send(school_claims(A), B))
    reader = school_claims(B, sub="user-b-reader", email="reader@b.school.example")
    assert read(school_claims(A), message_id).body["message"]["read"] is None  # the sender reading is no receipt

    read(reader, message_id)
    read(school_claims(B, sub="user-b-colleague", email="colleague@b.school.example"), message_id)

    for_sender = read(school_claims(A), message_id).body["message"]["read"]
    assert set(for_sender) == {"organisation", "organisation_name", "read_at", "read_by", "read_by_email"}
    assert for_sender["organisation"] == B and for_sender["organisation_name"] == "Riverside Academy"
    assert for_sender["read_by"] is None and for_sender["read_by_email"] is None
    for_recipient = read(school_claims(B), message_id).body["message"]["read"]
    assert for_recipient["read_by"] == "user-b-reader" and for_recipient["read_by_email"] == "reader@b.school.example"
    assert for_recipient["read_at"] == for_sender["read_at"]
    sent_box = listing(school_claims(A), box="sent").body["messages"][0]
    assert sent_box["read"]["read_at"] == for_sender["read_at"] and sent_box["read"]["read_by"] is None


def test_unread_lists_and_counts_until_someone_reads(aws: Any) -> None:
    first = sent_id(send(school_claims(A), B, subject="one"))
    second = sent_id(send(la_claims(A_LA), B, subject="two"))

    inbox = listing(school_claims(B))
    assert inbox.body["unread_count"] == 2 and all(m["unread"] for m in inbox.body["messages"])
    assert [m["message_id"] for m in listing(school_claims(B), unread="true").body["messages"]] == [second, first]

    read(school_claims(B), first)

    assert [m["message_id"] for m in listing(school_claims(B), unread="true").body["messages"]] == [second]
    assert listing(school_claims(B)).body["unread_count"] == 1
    assert listing(school_claims(A), box="sent").body["unread_count"] == 0  # A's own inbox is empty
    assert listing(school_claims(B), box="sent", unread="true").status == 422


# ---------------------------------------------------------------------------- threads


def test_a_reply_joins_the_thread_and_reading_shows_it_oldest_first(aws: Any) -> None:
    first = sent_id(send(school_claims(A), B))
    reply = send(school_claims(B), A, subject="Re: password", body="Got it, thanks.", reply_to=first)
    assert reply.status == 201 and reply.body["thread_id"] == first and reply.body["reply_to"] == first
    again = sent_id(send(school_claims(A), B, subject="Re: Re", body="Good.", reply_to=reply.body["message_id"]))

    thread = read(school_claims(A), first).body["thread"]

    assert [m["message_id"] for m in thread] == [first, reply.body["message_id"], again]
    assert [m["body"] for m in thread] == [BODY, "Got it, thanks.", "Good."]
    assert [m["direction"] for m in thread] == ["sent", "received", "sent"]


def test_a_reply_must_stay_between_the_same_two_organisations(aws: Any) -> None:
    first = sent_id(send(school_claims(A), B))

    elsewhere = send(school_claims(A), C, reply_to=first)
    outsider = send(school_claims(C), A, reply_to=first)

    assert elsewhere.status == 422
    assert elsewhere.body["details"][0] == {
        "field": "reply_to",
        "reason": "other_organisations",
        "message": elsewhere.body["details"][0]["message"],
    }
    assert outsider.status == 422 and outsider.body["details"][0]["reason"] == "unknown_message"
    assert send(school_claims(A), B, reply_to="f" * 32).body["details"][0]["reason"] == "unknown_message"


# ---------------------------------------------------------------------------- about a transfer


def test_messages_about_a_transfer_are_listed_on_it_for_the_two_organisations(aws: Any) -> None:
    transfer_id = put_transfer()
    about = sent_id(send(school_claims(A), B, transfer_id=transfer_id))
    sent_id(send(school_claims(A), B, subject="unrelated"))
    answer = sent_id(send(school_claims(B), A, body="Thanks", reply_to=about, transfer_id=transfer_id))

    def on_transfer(claims: dict[str, Any]) -> Reply:
        return api("GET", "/transfers/{id}/messages", claims, path_params={"id": transfer_id})

    for claims in (school_claims(A), school_claims(B)):
        listed = on_transfer(claims)
        assert listed.status == 200
        assert [m["message_id"] for m in listed.body["messages"]] == [about, answer]
        assert all(m["transfer_id"] == transfer_id for m in listed.body["messages"])
        assert all("body" not in m for m in listed.body["messages"])
    assert on_transfer(la_claims(A_LA)).body["messages"] == []  # the LA sees the file, not the messages
    assert on_transfer(la_claims(OTHER_LA)).status == 404
    assert on_transfer(school_claims(C)).status == 404
    assert on_transfer(dfe_claims()).status == 403


def test_a_transfer_must_be_one_both_organisations_can_see(aws: Any) -> None:
    pending = put_transfer(transfer_id="1" * 32, status="pending_upload", available_at=None)
    visible = put_transfer(transfer_id="2" * 32)

    not_shared = send(school_claims(A), B, transfer_id=pending)  # B cannot see it before it is available
    not_mine = send(school_claims(C), A, transfer_id=visible)
    other_party = send(school_claims(A), C, transfer_id=visible)

    assert not_shared.status == 422 and not_shared.body["details"][0]["reason"] == "not_shared"
    assert not_mine.status == 422 and not_mine.body["details"][0]["reason"] == "unknown_transfer"
    assert other_party.status == 422 and other_party.body["details"][0]["reason"] == "not_shared"
    assert send(school_claims(A), "823LLLL", transfer_id=visible).status == 201  # A's LA sees A's files


# ---------------------------------------------------------------------------- delete


def test_delete_takes_a_message_off_the_callers_side_only(aws: Any) -> None:
    message_id = sent_id(send(school_claims(A), B))

    gone = api("DELETE", "/messages/{id}", school_claims(B), path_params={"id": message_id})

    assert gone.status == 204 and gone.body == ""
    assert read(school_claims(B), message_id).status == 404
    assert listing(school_claims(B)).body == {"messages": [], "next_cursor": None, "unread_count": 0}
    assert read(school_claims(A), message_id).body["message"]["body"] == BODY
    assert raw_item(message_id) is not None

    assert api("DELETE", "/messages/{id}", school_claims(A), path_params={"id": message_id}).status == 204
    assert raw_item(message_id) is None  # both sides deleted it: the body is gone too
    assert read(school_claims(A), message_id).status == 404


# ---------------------------------------------------------------------------- expiry


def test_a_message_expires_with_the_retention_period(aws: Any) -> None:
    message_id = sent_id(send(school_claims(A), B))
    item = raw_item(message_id)
    assert item is not None
    expires = clock.parse(item["expires_at"]["S"])
    assert expires - clock.parse(item["created_at"]["S"]) == timedelta(days=60)
    assert int(item["ttl"]["N"]) == int((expires + timedelta(days=1)).timestamp())  # DynamoDB cleans up later

    clock.travel(timedelta(days=59, hours=23))
    assert read(school_claims(B), message_id).status == 200
    clock.travel(timedelta(hours=1))

    for claims in (school_claims(A), school_claims(B)):
        expired = read(claims, message_id)
        assert expired.status == 410 and expired.error == "message_expired"
    assert read(la_claims(A_LA), message_id).status == 404  # still nothing at all for anyone else
    assert listing(school_claims(B)).body["messages"] == [] and listing(school_claims(B)).body["unread_count"] == 0
    assert send(school_claims(B), A, reply_to=message_id).status == 201  # a reply may still start from it
    assert api("DELETE", "/messages/{id}", school_claims(B), path_params={"id": message_id}).status == 204
    assert read(school_claims(B), message_id).status == 404  # deleted: gone, not just expired


def test_an_expired_message_in_a_thread_shows_no_subject_or_body(aws: Any) -> None:
    first = sent_id(send(school_claims(A), B))
    clock.travel(timedelta(days=30))
    later = sent_id(send(school_claims(B), A, subject="Re", body="Answer", reply_to=first))
    clock.travel(timedelta(days=31))

    thread = read(school_claims(A), later).body["thread"]

    assert thread[0]["message_id"] == first and thread[0]["expired"] is True
    assert thread[0]["subject"] is None and thread[0]["body"] is None
    assert thread[1]["body"] == "Answer"


# ---------------------------------------------------------------------------- the quota


def test_the_daily_quota_is_a_429_with_retry_after_until_tomorrow(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from s2s.runtime.settings import get_settings

    monkeypatch.setenv("DAILY_MESSAGE_COUNT", "2")
    get_settings.cache_clear()
    start = clock.now()
    clock.travel(start.replace(hour=10, minute=0, second=0, microsecond=0) - start)  # 10:00 today
    assert send(school_claims(A), B).status == 201
    assert send(school_claims(A), C).status == 201

    over = send(school_claims(A), B)

    assert over.status == 429 and over.error == "message_quota"
    assert 14 * 3600 - 300 < int(over.headers["retry-after"]) <= 14 * 3600  # until midnight UTC
    assert send(school_claims(B), A).status == 201  # another organisation's quota is its own
    assert [m["subject"] for m in listing(school_claims(A), box="sent").body["messages"]] == [SUBJECT, SUBJECT]
    clock.travel(timedelta(hours=14))
    assert send(school_claims(A), B).status == 201


# ---------------------------------------------------------------------------- pages


def test_lists_are_paginated_with_signed_cursors(aws: Any) -> None:
    ids = [sent_id(send(school_claims(A), B, subject=f"n{n}")) for n in range(3)]

    first = listing(school_claims(B), limit="2")
    second = listing(school_claims(B), limit="2", cursor=first.body["next_cursor"])

    assert [m["message_id"] for m in first.body["messages"]] == ids[::-1][:2]
    assert [m["message_id"] for m in second.body["messages"]] == ids[:1] and second.body["next_cursor"] is None
    assert listing(school_claims(B), box="sent", cursor=first.body["next_cursor"]).status == 422
    assert listing(school_claims(A), limit="2", cursor=first.body["next_cursor"]).status == 422  # B's, not A's
    assert listing(school_claims(B), cursor="forged.cursor").status == 422
    assert listing(school_claims(B), limit="0").status == 422
    assert listing(school_claims(B), box="outbox").status == 422


# ---------------------------------------------------------------------------- the body at rest


def test_bodies_are_stored_as_kms_ciphertext_bound_to_the_message(aws: Any) -> None:
    long_body = "Pupil notes. " + "ü" * 9_000
    first = sent_id(send(school_claims(A), B, body=long_body))
    other = sent_id(send(school_claims(A), B, body="another"))
    item = raw_item(first)
    assert item is not None

    stored = json.dumps(item, default=str)
    assert "Pupil notes" not in stored and "ü" not in stored and "\\u00fc" not in stored
    assert len(item["body_parts"]["L"]) == 5  # 18,013 bytes of UTF-8 in parts of at most 4,096

    found = repo.get(first)
    assert found is not None
    message, parts = found
    assert repo.decrypt_body(message, parts) == long_body
    moved = repo.get(other)
    assert moved is not None
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match="InvalidCiphertext"):
        repo.decrypt_body(moved[0], parts)  # another message's context: KMS refuses
    with pytest.raises(ClientError, match="InvalidCiphertext"):
        repo.decrypt_body(message, parts[::-1])  # the parts out of order


# ---------------------------------------------------------------------------- the email


def _ses_sent() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-2"].sent_messages)


def test_the_email_says_only_that_a_message_is_waiting_once_per_address(aws: Any) -> None:
    organisations.remember_name(A, "Oakfield Primary", clock.now())
    for n, address in enumerate(("office@b.school.example", "head@b.school.example")):
        subscriptions.subscribe(B, address, f"user-b-{n}", "Riverside Academy")
    subscriptions.subscribe(A, "office@a.school.example", "user-a", "Oakfield Primary")
    message_id = sent_id(send(school_claims(A, name="Oakfield Primary"), B))
    queue = aws.queue_urls["NotifyQueue"]
    raw = boto3.client("sqs").receive_message(QueueUrl=queue, VisibilityTimeout=0)["Messages"][0]["Body"]
    event = json.loads(raw)
    assert event["type"] == "message.received" and event["recipients"] == [B]
    assert SUBJECT not in raw and "tangerine" not in raw  # nor on the topic, nor in a DLQ

    assert drain(queue, notify_events.lambda_handler) == []
    boto3.client("sqs").send_message(QueueUrl=queue, MessageBody=raw)  # delivered twice
    assert drain(queue, notify_events.lambda_handler) == []

    emails = _ses_sent()
    assert sorted(a for e in emails for a in e.destinations["ToAddresses"]) == [
        "head@b.school.example",
        "office@b.school.example",
    ]
    for email in emails:
        everything = f"{email.subject}\n{email.body}"
        assert "Oakfield Primary (8231234)" in email.subject
        assert f"http://portal.test/messages/{message_id}" in email.body
        assert SUBJECT not in everything and "8232345_001" not in everything
        assert "tangerine" not in everything and "confirm" not in everything


def test_a_failed_email_is_retried_and_sent_once(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from s2s.adapters import aws as aws_clients

    subscriptions.subscribe(B, "office@b.school.example", "user-b", "Riverside Academy")
    sent_id(send(school_claims(A), B))
    queue = aws.queue_urls["NotifyQueue"]
    real = aws_clients.ses()

    class Failing:
        def send_email(self, **kwargs: Any) -> Any:
            raise RuntimeError("SES is down")

    monkeypatch.setattr(aws_clients, "ses", Failing)
    assert len(drain(queue, notify_events.lambda_handler, rounds=1)) == 1  # reported failed: SQS retries it
    monkeypatch.setattr(aws_clients, "ses", lambda: real)
    assert drain(queue, notify_events.lambda_handler) == []
    assert len(_ses_sent()) == 1


def test_a_malformed_message_event_fails_its_record_for_the_dlq(aws: Any) -> None:
    queue = aws.queue_urls["NotifyQueue"]
    broken = {"type": "message.received", "recipients": [B], "source": A, "occurred_at": clock.now_iso()}
    boto3.client("sqs").send_message(QueueUrl=queue, MessageBody=json.dumps(broken))  # no message_id

    assert len(drain(queue, notify_events.lambda_handler, rounds=1)) == 1  # retried, then the DLQ
    assert _ses_sent() == []


def test_the_message_is_kept_when_its_event_cannot_be_published(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from s2s.adapters import aws as aws_clients

    def sns_down(**_: Any) -> None:
        raise RuntimeError("SNS is down")

    monkeypatch.setattr(aws_clients.sns(), "publish", sns_down)

    message_id = sent_id(send(school_claims(A), B))

    assert read(school_claims(B), message_id).body["message"]["body"] == BODY  # in B's inbox
    # and its email waits in the outbox for the sweep (tests/functional/test_message_outbox.py)
    waiting = boto3.client("dynamodb").get_item(
        TableName=dynamo.table(), Key=dynamo.key(f"MSG#{message_id}", "OUTBOX#message.received")
    )
    assert "Item" in waiting


# ---------------------------------------------------------------------------- the logs


def test_a_whole_exchange_logs_no_subject_and_no_body(
    aws: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    subscriptions.subscribe(B, "office@b.school.example", "user-b", "Riverside Academy")
    transfer_id = put_transfer()
    with caplog.at_level(logging.DEBUG):
        first = sent_id(send(school_claims(A), B, transfer_id=transfer_id))
        drain(aws.queue_urls["NotifyQueue"], notify_events.lambda_handler)
        listing(school_claims(B))
        read(school_claims(B), first)
        answer = sent_id(send(school_claims(B), A, subject="Re: the secret", body="Received: walrus", reply_to=first))
        read(school_claims(A), answer)
        api("GET", "/transfers/{id}/messages", school_claims(A), path_params={"id": transfer_id})
        api("DELETE", "/messages/{id}", school_claims(A), path_params={"id": first})
        send(school_claims(A), B, body="x" * 10_001)  # refused
        send(school_claims(A), B, subject="bad\nsubject tangerine")  # refused

    # Everything S2S and Powertools logged, at DEBUG too. The AWS SDK's own wire logs (botocore, moto)
    # are left out: they print whole requests whatever the service, and only at DEBUG.
    ours = [r for r in caplog.records if not r.name.startswith(("botocore", "moto", "urllib3"))]
    logged = capsys.readouterr()
    everything = logged.out + logged.err + "\n".join(json.dumps(vars(r), default=str) for r in ours)
    assert "message sent" in everything and "message read" in everything  # the logs were captured
    for secret in ("tangerine", "walrus", "Password for", "the secret", "confirm when"):
        assert secret not in everything, secret
