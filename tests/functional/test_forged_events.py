"""Forged, misrouted or replayed S3 events reaching the landing check (issue 9): the landing
queue only accepts S3's notifications for `incoming/`, but the check must not rely on that. An
event for another bucket is ignored, an object under `incoming/` that no ticket asked for is
deleted, and nothing outside `incoming/` is ever deleted because an event named it."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote_plus

import boto3
import landing_check
import pytest
from s2s.adapters import transfers
from support.flows import post_file, start_upload
from support.helpers import FakeContext, sample_event, school_claims
from support.records import GOOD_NAME, SENDER, bucket_keys
from support.zipfactory import make_aes_zip

pytestmark = [pytest.mark.functional, pytest.mark.hardening]

GOOD_ZIP = make_aes_zip({GOOD_NAME.removesuffix(".zip") + ".XML": b"<CTfile/>"})


def s3_event(bucket: str, key: str) -> dict[str, Any]:
    """An SQS batch holding one S3 ObjectCreated notification for `key` (URL-encoded, as S3 sends it)."""
    event = sample_event("sqs_s3_object_created.json")
    body = json.loads(event["Records"][0]["body"])
    body["Records"][0]["s3"]["bucket"]["name"] = bucket
    body["Records"][0]["s3"]["object"]["key"] = quote_plus(key, safe="/")
    event["Records"][0]["body"] = json.dumps(body)
    return event


def deliver(bucket: str, key: str) -> dict[str, Any]:
    return landing_check.lambda_handler(s3_event(bucket, key), FakeContext())


@pytest.fixture
def available(aws: Any) -> str:
    ticket = start_upload(school_claims(SENDER), GOOD_NAME, len(GOOD_ZIP))
    assert post_file(ticket.body, GOOD_ZIP) == 204
    transfer_id = str(ticket.body["transfer_id"])
    boto3.client("sqs").purge_queue(QueueUrl=aws.queue_urls["LandingQueue"])
    assert deliver(aws.bucket, f"incoming/{transfer_id}/{GOOD_NAME}") == {"batchItemFailures": []}
    t = transfers.get_transfer(transfer_id)
    assert t is not None and t.status == "available"
    return transfer_id


def test_an_event_for_another_bucket_is_ignored(aws: Any, available: str) -> None:
    assert deliver("someone-elses-bucket", f"incoming/{available}/{GOOD_NAME}") == {"batchItemFailures": []}
    assert bucket_keys(aws) == [f"stored/{available}/{GOOD_NAME}"]


def test_a_replayed_event_after_the_decision_changes_nothing(aws: Any, available: str) -> None:
    for _ in range(3):
        assert deliver(aws.bucket, f"incoming/{available}/{GOOD_NAME}") == {"batchItemFailures": []}
    t = transfers.get_transfer(available)
    assert t is not None and t.status == "available" and t.version == 1
    assert bucket_keys(aws) == [f"stored/{available}/{GOOD_NAME}"]


@pytest.mark.parametrize("key", ["incoming/not-a-ticket/x.zip", "incoming/only-two-parts", "incoming/a/b/c.zip"])
def test_an_object_under_incoming_that_no_ticket_asked_for_is_deleted(aws: Any, key: str) -> None:
    boto3.client("s3").put_object(Bucket=aws.bucket, Key=key, Body=b"PK")
    boto3.client("sqs").purge_queue(QueueUrl=aws.queue_urls["LandingQueue"])

    assert deliver(aws.bucket, key) == {"batchItemFailures": []}

    assert bucket_keys(aws) == []


@pytest.mark.parametrize("where", ["stored", "portal", ""])
def test_an_event_naming_an_object_outside_incoming_never_deletes_it(aws: Any, available: str, where: str) -> None:
    s3 = boto3.client("s3")
    key = f"{where}/{available}/{GOOD_NAME}" if where else GOOD_NAME
    if where != "stored":
        s3.put_object(Bucket=aws.bucket, Key=key, Body=b"kept")
    before = bucket_keys(aws)

    deliver(aws.bucket, key)

    assert bucket_keys(aws) == before
