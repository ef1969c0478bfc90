"""The landing check (S3 ObjectCreated -> SQS -> landing_check) and the expiry sweep, against moto."""

from __future__ import annotations

import json
from datetime import timedelta

import boto3
import pytest
from s2s.adapters import aws as aws_clients
from s2s.domain import clock
from s2s.services import landing, sweep
from support.flows import (
    drain_landing,
    landing_handler,
    post_file,
    queued_events,
    send,
    sqs_event,
    start_upload,
    upload_api,
)
from support.helpers import FakeContext, call, sample_event, school_claims
from support.zipfactory import make_aes_zip, make_plain_zip

pytestmark = pytest.mark.functional

A, B = "8231234", "8232345"
CTF = f"{A}_CTF_{B}_001.zip"
ENTRY = f"{A}_CTF_{B}_001.XML"


@pytest.fixture(autouse=True)
def _clock():
    yield
    clock.reset()


def keys(aws, prefix: str = "") -> list[str]:
    s3 = boto3.client("s3")
    return [o["Key"] for o in s3.list_objects_v2(Bucket=aws.bucket, Prefix=prefix).get("Contents", [])]


def status_of(transfer_id: str) -> dict:
    return call(upload_api(), "GET", "/transfers/{id}", claims=school_claims(A), path_params={"id": transfer_id}).body


def s3_message(bucket: str, *object_keys: str, encoded: bool = True) -> dict:
    """An SQS record carrying one S3 notification with these keys (URL-encoded as S3 sends them)."""
    from urllib.parse import quote_plus

    event = sample_event("sqs_s3_object_created.json")
    body = json.loads(event["Records"][0]["body"])
    template = body["Records"][0]
    body["Records"] = []
    for key in object_keys:
        record = json.loads(json.dumps(template))
        record["s3"]["bucket"]["name"] = bucket
        record["s3"]["object"]["key"] = quote_plus(key, safe="") if encoded else key
        body["Records"].append(record)
    event["Records"][0]["body"] = json.dumps(body)
    return event


def upload_only(aws, data: bytes, filename: str = CTF, **extra) -> str:
    ticket = start_upload(school_claims(A), filename, len(data), **extra).body
    assert post_file(ticket, data) == 204
    return ticket["transfer_id"]


def test_a_good_upload_becomes_available_and_moves_to_the_stored_area(aws):
    transfer_id = upload_only(aws, make_aes_zip({ENTRY: b"<CTfile/>"}))
    assert drain_landing(aws) == []
    assert status_of(transfer_id)["status"] == "available"
    assert keys(aws, "incoming/") == []
    assert keys(aws, "stored/") == [f"stored/{transfer_id}/{CTF}"]
    (event,) = queued_events(aws)
    assert event["type"] == "transfer.available"
    assert event["_attributes"] == {"type": "transfer.available", "recipient": B}
    for field in ("transfer_id", "family", "source", "destination", "recipients", "occurred_at"):
        assert field in event


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (make_plain_zip({ENTRY: b"<CTfile/>"}), "not_encrypted"),
        (make_aes_zip({ENTRY: b"a", "extra.XML": b"b"}), "too_many_entries"),
        (make_aes_zip({"other.XML": b"a"}), "entry_name_mismatch"),
        (make_aes_zip({ENTRY: b"<CTfile/>"}, strength=128), "weak_encryption"),
        (b"PK\x03\x04 this is not really a zip file at all", "not_zip"),
    ],
)
def test_a_bad_upload_is_rejected_with_its_reason_and_deleted(aws, data, reason):
    transfer_id = upload_only(aws, data)
    assert drain_landing(aws) == []
    detail = status_of(transfer_id)
    assert (detail["status"], detail["reason"]) == ("rejected", reason)
    assert detail["reason_message"]
    assert keys(aws) == []
    (event,) = queued_events(aws)
    assert (event["type"], event["reason"], event["recipients"]) == ("transfer.rejected", reason, [A])
    # The recipient never sees a rejected upload.
    assert (
        call(upload_api(), "GET", "/transfers/{id}", claims=school_claims(B), path_params={"id": transfer_id}).status
        == 404
    )


def test_an_object_nobody_asked_for_is_deleted_as_a_security_event(aws, monkeypatch):
    logged: list[dict] = []
    monkeypatch.setattr(landing.logger, "warning", lambda message, extra=None: logged.append(extra or {}))
    s3 = boto3.client("s3")
    s3.put_object(Bucket=aws.bucket, Key="incoming/00000000-0000-4000-8000-000000000000/x.zip", Body=b"PK")
    s3.put_object(Bucket=aws.bucket, Key="incoming/loose.zip", Body=b"PK")
    assert drain_landing(aws) == []
    assert keys(aws) == []
    assert queued_events(aws) == []
    assert [e["security_event"] for e in logged] == ["unexpected_object", "unexpected_object"]


def test_an_object_of_another_size_is_rejected_as_unexpected(aws):
    data = make_aes_zip({ENTRY: b"<CTfile/>"})
    ticket = start_upload(school_claims(A), CTF, len(data) + 10).body  # moto does not enforce the policy
    post_file(ticket, data)
    drain_landing(aws)
    detail = status_of(ticket["transfer_id"])
    assert (detail["status"], detail["reason"]) == ("rejected", "unexpected_object")
    assert keys(aws) == []


def test_an_object_landing_after_the_ticket_expired_is_unexpected(aws):
    data = make_aes_zip({ENTRY: b"<CTfile/>"})
    ticket = start_upload(school_claims(A), CTF, len(data)).body
    # Make the ticket look issued long ago by moving its expiry into the past.
    from dataclasses import replace

    from s2s.adapters import dynamo, transfers

    t = transfers.get_transfer(ticket["transfer_id"])
    assert t is not None
    old = replace(t, upload_expires_at=clock.iso(clock.now() - timedelta(hours=1)), version=t.version + 1)
    dynamo.put(transfers.transfer_item(old))  # written over the record, as a test-only back-dating
    post_file(ticket, data)
    drain_landing(aws)
    detail = status_of(ticket["transfer_id"])
    assert (detail["status"], detail["reason"]) == ("rejected", "unexpected_object")


def test_the_same_event_five_times_gives_one_transition_and_one_event(aws):
    transfer_id = upload_only(aws, make_aes_zip({ENTRY: b"<CTfile/>"}))
    sqs = boto3.client("sqs")
    (message,) = sqs.receive_message(
        QueueUrl=aws.queue_urls["LandingQueue"], MaxNumberOfMessages=10, AttributeNames=["All"]
    )["Messages"][-1:]
    event = sqs_event([message], "arn:aws:sqs:eu-west-2:123456789012:s2s-LandingQueue")
    for _ in range(5):
        assert landing_handler()(event, FakeContext())["batchItemFailures"] == []
    detail = status_of(transfer_id)
    assert detail["status"] == "available"
    assert [a["action"] for a in detail["audit"]].count("available") == 1
    assert [e["type"] for e in queued_events(aws)] == ["transfer.available"]


def test_one_message_with_several_records_handles_every_record(aws):
    first = upload_only(aws, make_aes_zip({ENTRY: b"1"}))
    second_name = f"{A}_CTF_{B}_002.zip"
    second = upload_only(aws, make_plain_zip({f"{A}_CTF_{B}_002.XML": b"2"}), filename=second_name)
    boto3.client("sqs").purge_queue(QueueUrl=aws.queue_urls["LandingQueue"])
    event = s3_message(aws.bucket, f"incoming/{first}/{CTF}", f"incoming/{second}/{second_name}")
    result = landing_handler()(event, FakeContext())
    assert result["batchItemFailures"] == []
    assert status_of(first)["status"] == "available"
    assert status_of(second)["status"] == "rejected"


def test_url_encoded_keys_are_decoded(aws):
    transfer_id = upload_only(aws, make_aes_zip({ENTRY: b"1"}))
    boto3.client("sqs").purge_queue(QueueUrl=aws.queue_urls["LandingQueue"])
    # "+" is a space in S3's encoding: a key with a space is not ours and must not match ours.
    spaced = s3_message(aws.bucket, f"incoming/{transfer_id}/{CTF}".replace(CTF, "a+b.zip"), encoded=False)
    boto3.client("s3").put_object(Bucket=aws.bucket, Key=f"incoming/{transfer_id}/a b.zip", Body=b"PK")
    assert landing_handler()(spaced, FakeContext())["batchItemFailures"] == []
    assert f"incoming/{transfer_id}/a b.zip" not in keys(aws)
    encoded = s3_message(aws.bucket, f"incoming/{transfer_id}/{CTF}")
    assert "%2F" in json.loads(encoded["Records"][0]["body"])["Records"][0]["s3"]["object"]["key"]
    assert landing_handler()(encoded, FakeContext())["batchItemFailures"] == []
    assert status_of(transfer_id)["status"] == "available"


def test_a_failure_reports_only_its_own_message(aws, monkeypatch):
    good = upload_only(aws, make_aes_zip({ENTRY: b"1"}))
    boto3.client("sqs").purge_queue(QueueUrl=aws.queue_urls["LandingQueue"])
    ok = s3_message(aws.bucket, f"incoming/{good}/{CTF}")
    bad = s3_message(aws.bucket, "incoming/x/y.zip")
    bad["Records"][0]["messageId"] = "bad-message"
    bad["Records"][0]["body"] = "{not json"
    result = landing_handler()({"Records": ok["Records"] + bad["Records"]}, FakeContext())
    assert result["batchItemFailures"] == [{"itemIdentifier": "bad-message"}]
    assert status_of(good)["status"] == "available"


def test_s3_test_events_are_ignored(aws):
    event = sample_event("sqs_s3_object_created.json")
    event["Records"][0]["body"] = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})
    assert landing_handler()(event, FakeContext())["batchItemFailures"] == []


# ---------------------------------------------------------------- expiry sweep


def test_sweep_expires_files_deletes_objects_and_counts_once(aws):
    t = send(aws, school_claims(A), CTF, make_aes_zip({ENTRY: b"1"}))
    unused = start_upload(school_claims(A), f"{A}_CTF_{B}_002.zip", 100).body["transfer_id"]
    clock.travel(timedelta(hours=2))  # the hourly sweep: a ticket nobody used expires
    assert sweep.sweep().expired == 1
    assert status_of(unused)["status"] == "expired"
    clock.travel(timedelta(days=60))
    assert sweep.sweep().expired == 1
    assert status_of(t["transfer_id"])["status"] == "expired"
    assert status_of(unused)["status"] == "expired"
    assert keys(aws) == []
    assert sweep.sweep().expired == 0
    audit = [a["action"] for a in status_of(t["transfer_id"])["audit"]]
    assert audit.count("expired") == 1


def test_sweep_reminds_recipients_once_of_files_expiring_within_seven_days(aws):
    t = send(aws, school_claims(A), CTF, make_aes_zip({ENTRY: b"1"}))
    downloaded = send(aws, school_claims(A), f"{A}_CTF_{B}_002.zip", make_aes_zip({f"{A}_CTF_{B}_002.XML": b"2"}))
    call(
        upload_api(),
        "POST",
        "/transfers/{id}/download",
        claims=school_claims(B),
        path_params={"id": downloaded["transfer_id"]},
    )
    queued_events(aws)
    clock.travel(timedelta(days=50))
    assert sweep.sweep().reminded == 0
    clock.travel(timedelta(days=5))
    assert sweep.sweep().reminded == 1
    assert sweep.sweep().reminded == 0
    events = queued_events(aws)
    assert [(e["type"], e["transfer_id"], e["recipients"]) for e in events] == [
        ("transfer.expiring", t["transfer_id"], [B])
    ]


def test_later_sweeps_of_a_day_read_only_the_last_day_of_the_reminder_window(aws):
    now = clock.now()
    clock.travel(now.replace(hour=12, minute=0) + timedelta(days=1) - now)  # uploads at noon
    t = send(aws, school_claims(A), CTF, make_aes_zip({ENTRY: b"1"}))
    queued_events(aws)
    queries: list[str] = []
    client = aws_clients.dynamodb()
    client.meta.events.register(
        "provide-client-params.dynamodb.Query",
        lambda params, **_: queries.append(next(iter(params["ExpressionAttributeValues"].values()))["S"]),
        unique_id="sweep-queries",
    )
    try:
        clock.travel(timedelta(days=53, hours=-2))  # 10:00, seven days before it expires at noon
        assert sweep.sweep().reminded == 0  # not due for two more hours
        first = list(queries)
        queries.clear()
        clock.travel(timedelta(hours=3))  # 13:00 the same day: now it is due
        assert sweep.sweep().reminded == 1
        later = list(queries)
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb.Query", unique_id="sweep-queries")

    expiry = clock.parse(t["expires_at"])
    expiry_day = clock.day(expiry)
    window = [f"EXPDAY#{clock.day(expiry - timedelta(days=n))}" for n in range(7, -1, -1)]
    # The day's first run (the first ever, so it also looks back a whole retention period): the
    # whole reminder window, today to seven days ahead, then the outbox.
    assert first[-9:] == [*window, "OUTBOX"]
    # An hour later: the same 2 days of expiries, then only the window's last day, the outbox.
    today, yesterday = clock.day(clock.now()), clock.day(clock.now() - timedelta(days=1))
    assert later == [f"EXPDAY#{yesterday}", f"EXPDAY#{today}", f"EXPDAY#{expiry_day}", "OUTBOX"]
    assert [e["type"] for e in queued_events(aws)] == ["transfer.expiring"]


def test_sweep_handler_runs_from_the_schedule(aws):
    import expiry_sweep

    result = expiry_sweep.lambda_handler({"source": "aws.scheduler"}, FakeContext())
    assert result == {"expired": 0, "reminded": 0, "republished": 0}
