"""Fault injection (issue 9): the adapters fail the way AWS fails, and no change is lost or half
done. Failures are injected on the very clients the service uses (s2s.adapters.aws's cached clients), so
the code under test is unchanged:

- SNS publish fails after the landing check committed `available`: the SQS message is reported
  failed, and the redelivery (or the sweep) publishes the event from the outbox, exactly once;
- an HTTP-path event (the first download) with SNS down: the download still succeeds and the
  sweep publishes the event a minute later;
- DynamoDB throttles a transaction: botocore retries it, or the whole transition is retried by
  the queue, and status, counters and audit agree;
- SES is down: the notification reaches the notify DLQ, and a redrive delivers the email."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import boto3
import notify_events
import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.exceptions import ClientError
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.botocore_stubber import MockRawResponse
from moto.ses.models import ses_backends
from s2s.adapters import aws as aws_clients
from s2s.adapters import subscriptions, transfers
from s2s.domain import clock
from s2s.services import sweep
from support.flows import drain, post_file, queued_events, start_upload, upload_api
from support.helpers import call, school_claims
from support.records import GOOD_NAME, RECIPIENT, SENDER, bucket_keys, deliver_landing, table_items
from support.zipfactory import make_aes_zip

pytestmark = [pytest.mark.functional, pytest.mark.hardening]

GOOD_ZIP = make_aes_zip({GOOD_NAME.removesuffix(".zip") + ".XML": b"<CTfile/>"})


class Flaky:
    """Make one method of a real client raise `times` times, then behave."""

    def __init__(self, real: Callable[..., Any], times: int, code: str, operation: str) -> None:
        self.real, self.times, self.code, self.operation = real, times, code, operation
        self.calls = 0

    def __call__(self, **kwargs: Any) -> Any:
        self.calls += 1
        if self.times > 0:
            self.times -= 1
            raise ClientError({"Error": {"Code": self.code, "Message": "injected failure"}}, self.operation)
        return self.real(**kwargs)


def flaky(monkeypatch: pytest.MonkeyPatch, client: Any, method: str, times: int, code: str) -> Flaky:
    wrapper = Flaky(getattr(client, method), times, code, method)
    monkeypatch.setattr(client, method, wrapper)
    return wrapper


def start_and_land(aws: Any) -> str:
    """Start an upload of a good CTF and POST it (the landing check has not run yet)."""
    ticket = start_upload(school_claims(SENDER), GOOD_NAME, len(GOOD_ZIP))
    assert ticket.status == 201, ticket.body
    assert post_file(ticket.body, GOOD_ZIP) == 204
    return str(ticket.body["transfer_id"])


def actions(transfer_id: str) -> list[str]:
    return [a["action"] for a in transfers.audit_events(transfer_id)]


def national(aws: Any) -> dict[str, int]:
    """The national counters, summed over days."""
    totals: dict[str, int] = {}
    for item in table_items(aws):
        if item["PK"]["S"] == "CNT#ALL":
            for name, value in item.items():
                if "N" in value:
                    totals[name] = totals.get(name, 0) + int(value["N"])
    return totals


def outbox(aws: Any) -> list[str]:
    return [i["SK"]["S"] for i in table_items(aws) if i["SK"]["S"].startswith("OUTBOX#")]


# ---------------------------------------------------------------------------- SNS


def test_sns_down_after_available_the_landing_message_is_retried_and_the_event_published_once(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    transfer_id = start_and_land(aws)
    publish = flaky(monkeypatch, aws_clients.sns(), "publish", times=3, code="InternalError")

    # When SNS fails three times in a row, each delivery of the S3 event is reported failed
    for _ in range(3):
        assert len(deliver_landing(aws)) == 1
        # the transfer is already available and its event waits in the outbox
        t = transfers.get_transfer(transfer_id)
        assert t is not None and t.status == "available"
        assert outbox(aws) == ["OUTBOX#transfer.available"]
        assert queued_events(aws) == []

    # Then the next delivery publishes it, and the queue is done with the message
    assert deliver_landing(aws) == []
    events = queued_events(aws)
    assert [(e["type"], e["transfer_id"]) for e in events] == [("transfer.available", transfer_id)]
    assert outbox(aws) == []
    assert publish.calls == 4
    # and the transition happened once
    assert actions(transfer_id).count("available") == 1
    assert national(aws)["sent"] == 1
    assert bucket_keys(aws) == [f"stored/{transfer_id}/{GOOD_NAME}"]


def test_sns_down_and_the_message_given_up_the_sweep_publishes_the_event(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    transfer_id = start_and_land(aws)
    flaky(monkeypatch, aws_clients.sns(), "publish", times=1, code="InternalError")
    assert len(deliver_landing(aws)) == 1
    # The landing message is lost (say it went to the DLQ and nobody redrove it)
    boto3.client("sqs").purge_queue(QueueUrl=aws.queue_urls["LandingQueue"])

    assert sweep.sweep().republished == 0  # younger than a minute: the queue may still retry
    clock.travel(timedelta(minutes=2))
    assert sweep.sweep().republished == 1
    assert sweep.sweep().republished == 0

    assert [(e["type"], e["transfer_id"]) for e in queued_events(aws)] == [("transfer.available", transfer_id)]
    assert outbox(aws) == []


def test_sns_down_during_the_first_download_the_download_works_and_the_sweep_tells_the_sender(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    transfer_id = start_and_land(aws)
    assert deliver_landing(aws) == []
    assert [e["type"] for e in queued_events(aws)] == ["transfer.available"]
    flaky(monkeypatch, aws_clients.sns(), "publish", times=10, code="InternalError")

    reply = call(
        upload_api(),
        "POST",
        "/transfers/{id}/download",
        claims=school_claims(RECIPIENT),
        path_params={"id": transfer_id},
    )

    assert reply.status == 200, reply.body
    assert reply.body["url"]
    t = transfers.get_transfer(transfer_id)
    assert t is not None and t.status == "downloaded"
    assert outbox(aws) == ["OUTBOX#transfer.downloaded"]
    assert queued_events(aws) == []

    monkeypatch.undo()  # SNS is back
    clock.travel(timedelta(minutes=2))
    assert sweep.sweep().republished == 1
    events = queued_events(aws)
    assert [(e["type"], e["recipients"]) for e in events] == [("transfer.downloaded", [SENDER])]
    assert outbox(aws) == []


# ---------------------------------------------------------------------------- DynamoDB


def _throttle_at_the_wire(client: Any, operation: str, times: int, error_type: str) -> list[int]:
    """Answer the next `times` calls of `operation` with a 400 `error_type`, below botocore's
    retry handler (as DynamoDB would), so botocore's own retries are exercised."""
    seen: list[int] = []

    def handler(request: Any, **_: Any) -> AWSResponse | None:
        seen.append(1)
        if len(seen) > times:
            return None  # moto answers
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{error_type}", "message": "Throttled"})
        headers = HTTPHeaders()
        headers["Content-Type"] = "application/x-amz-json-1.0"
        return AWSResponse(request.url, 400, headers, MockRawResponse(body))

    client.meta.events.register_first(f"before-send.dynamodb.{operation}", handler)
    return seen


def test_dynamodb_throttling_is_retried_by_botocore_and_the_transition_is_whole(aws: Any) -> None:
    transfer_id = start_and_land(aws)
    attempts = _throttle_at_the_wire(
        aws_clients.dynamodb(), "TransactWriteItems", 2, "ProvisionedThroughputExceededException"
    )

    assert deliver_landing(aws) == []

    assert len(attempts) >= 3  # two throttled, then the one that went through
    t = transfers.get_transfer(transfer_id)
    assert t is not None and t.status == "available" and t.version == 1
    assert actions(transfer_id) == ["created", "available"]
    assert national(aws)["sent"] == 1 and national(aws)["received"] == 1
    assert [e["type"] for e in queued_events(aws)] == ["transfer.available"]


def test_transaction_cancelled_by_throttling_is_retried_by_the_queue_and_applied_once(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    transfer_id = start_and_land(aws)
    ddb = aws_clients.dynamodb()
    real = ddb.transact_write_items
    cancelled = {"left": 1}

    def cancel_once(**kwargs: Any) -> Any:
        if cancelled["left"] and any(
            "Put" in i and i["Put"]["Item"]["SK"]["S"] == "META" for i in kwargs["TransactItems"]
        ):
            cancelled["left"] -= 1
            error: Any = {
                "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
                "CancellationReasons": [{"Code": "ThrottlingError"}] + [{"Code": "None"}] * 3,
            }
            raise ddb.exceptions.TransactionCanceledException(error, "TransactWriteItems")
        return real(**kwargs)

    monkeypatch.setattr(ddb, "transact_write_items", cancel_once)

    # The first delivery fails as a whole: nothing of the transition is written
    assert len(deliver_landing(aws)) == 1
    t = transfers.get_transfer(transfer_id)
    assert t is not None and t.status == "pending_upload"
    assert actions(transfer_id) == ["created"]
    assert "sent" not in national(aws)
    assert outbox(aws) == []

    # The redelivery applies it once
    assert deliver_landing(aws) == []
    t = transfers.get_transfer(transfer_id)
    assert t is not None and t.status == "available" and t.version == 1
    assert actions(transfer_id) == ["created", "available"]
    assert national(aws)["sent"] == 1
    assert [e["type"] for e in queued_events(aws)] == ["transfer.available"]
    assert bucket_keys(aws) == [f"stored/{transfer_id}/{GOOD_NAME}"]


# ---------------------------------------------------------------------------- SES


def _move(aws: Any, source: str, target: str) -> int:
    """Redrive: move every message from one queue to another, keeping body and attributes."""
    sqs = boto3.client("sqs")
    moved = 0
    while True:
        messages = sqs.receive_message(
            QueueUrl=aws.queue_urls[source], MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=30
        ).get("Messages", [])
        if not messages:
            return moved
        for m in messages:
            sqs.send_message(
                QueueUrl=aws.queue_urls[target], MessageBody=m["Body"], MessageAttributes=m.get("MessageAttributes", {})
            )
            sqs.delete_message(QueueUrl=aws.queue_urls[source], ReceiptHandle=m["ReceiptHandle"])
            moved += 1


def _deliver_notify(aws: Any, max_passes: int) -> int:
    """Run the notify consumer until its queue is empty; returns how many passes failed."""
    failed_passes = 0
    for _ in range(max_passes):
        failed = drain(aws.queue_urls["NotifyQueue"], notify_events.lambda_handler, rounds=1)
        if not failed:
            return failed_passes
        failed_passes += 1
    return failed_passes


def test_ses_down_the_email_reaches_the_dlq_and_a_redrive_delivers_it(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscriptions.subscribe(RECIPIENT, "office@8232345.school.example", "user-8232345", "Riverside Academy")
    transfer_id = start_and_land(aws)
    assert deliver_landing(aws) == []
    sqs = boto3.client("sqs")
    redrive = json.loads(
        sqs.get_queue_attributes(QueueUrl=aws.queue_urls["NotifyQueue"], AttributeNames=["RedrivePolicy"])[
            "Attributes"
        ]["RedrivePolicy"]
    )
    ses = aws_clients.ses()
    send = flaky(monkeypatch, ses, "send_email", times=1000, code="ServiceUnavailable")

    # When SES is down, every delivery fails until the queue gives the message to its DLQ
    failed_passes = _deliver_notify(aws, max_passes=int(redrive["maxReceiveCount"]) + 2)
    assert failed_passes == int(redrive["maxReceiveCount"])
    assert send.calls == failed_passes
    dlq = sqs.receive_message(
        QueueUrl=aws.queue_urls["NotifyDeadLetterQueue"], MaxNumberOfMessages=10, VisibilityTimeout=0
    ).get("Messages", [])
    assert [json.loads(m["Body"])["transfer_id"] for m in dlq] == [transfer_id]
    assert transfers.audit_events(transfer_id)[-1]["action"] == "available"  # no email recorded as sent

    # When SES is back and the DLQ is redriven, the email goes out once
    monkeypatch.setattr(ses, "send_email", send.real)
    assert _move(aws, "NotifyDeadLetterQueue", "NotifyQueue") == 1
    assert _deliver_notify(aws, max_passes=3) == 0
    sent = ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-2"].sent_messages
    assert [m.destinations["ToAddresses"] for m in sent] == [["office@8232345.school.example"]]
    assert sqs.receive_message(QueueUrl=aws.queue_urls["NotifyDeadLetterQueue"]).get("Messages", []) == []
