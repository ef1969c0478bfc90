"""Drive the service the way AWS would, in-process against moto: start an upload through the
API, POST the file with the presigned form, and deliver the queued S3 events to the landing
check (and SNS events to any consumer) as Lambda's SQS integration does."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import requests
from support import events
from support.helpers import FakeContext, Reply, call


def upload_api() -> Any:
    import upload_api as module

    return module.lambda_handler


def landing_handler() -> Any:
    import landing_check

    return landing_check.lambda_handler


def start_upload(claims: dict[str, Any], filename: str, size: int, **extra: Any) -> Reply:
    return call(
        upload_api(), "POST", "/transfers", claims=claims, body={"filename": filename, "size_bytes": size, **extra}
    )


def post_file(ticket: dict[str, Any], data: bytes, filename: str = "file.zip") -> int:
    form = ticket["upload"]
    response = requests.post(form["url"], data=form["fields"], files={"file": (filename, data)}, timeout=30)
    return response.status_code


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The batch Lambda's SQS integration builds from messages received from `queue_arn`."""
    return events.sqs_event(
        *(
            events.sqs_record(
                m["Body"],
                message_id=m["MessageId"],
                receipt_handle=m["ReceiptHandle"],
                receive_count=m.get("Attributes", {}).get("ApproximateReceiveCount", "1"),
                queue_arn=queue_arn,
                message_attributes={k: v.get("StringValue") for k, v in m.get("MessageAttributes", {}).items()},
                md5=m.get("MD5OfBody", ""),
            )
            for m in messages
        )
    )


def drain(queue_url: str, handler: Callable[[dict[str, Any], Any], Any], *, rounds: int = 10) -> list[str]:
    """Deliver every queued message to `handler` in batches of up to 10, deleting what succeeded,
    like the Lambda event source mapping. Returns the ids of messages reported as failed."""
    sqs = boto3.client("sqs")
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    failed: list[str] = []
    for _ in range(rounds):
        messages = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            AttributeNames=["All"],
            VisibilityTimeout=0,
        ).get("Messages", [])
        if not messages:
            break
        result = handler(sqs_event(messages, arn), FakeContext()) or {}
        failures = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        failed.extend(failures)
        for m in messages:
            if m["MessageId"] not in failures:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
        if failures:
            break
    return failed


def drain_landing(aws: Any) -> list[str]:
    return drain(aws.queue_urls["LandingQueue"], landing_handler())


def queued_events(aws: Any) -> list[dict[str, Any]]:
    """Every TransferEvents message waiting in the notify queue (and removes them)."""
    sqs = boto3.client("sqs")
    url = aws.queue_urls["NotifyQueue"]
    found = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get(
            "Messages", []
        )
        if not messages:
            return found
        for m in messages:
            event = json.loads(m["Body"])
            event["_attributes"] = {k: v["StringValue"] for k, v in m.get("MessageAttributes", {}).items()}
            found.append(event)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def send(aws: Any, claims: dict[str, Any], filename: str, data: bytes, **extra: Any) -> dict[str, Any]:
    """Upload and run the landing check; returns the transfer as its sender sees it."""
    reply = start_upload(claims, filename, len(data), **extra)
    assert reply.status == 201, reply.body
    assert post_file(reply.body, data) == 204
    assert drain_landing(aws) == []
    detail = call(upload_api(), "GET", "/transfers/{id}", claims=claims, path_params={"id": reply.body["transfer_id"]})
    assert detail.status == 200, detail.body
    return detail.body  # type: ignore[no-any-return]
