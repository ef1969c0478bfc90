"""The one builder of SQS events, as Lambda's SQS integration hands a batch to a function."""

from __future__ import annotations

from typing import Any

REGION = "eu-west-2"


def sqs_record(
    body: str,
    *,
    message_id: str = "msg-0",
    receipt_handle: str | None = None,
    receive_count: int | str = 1,
    queue_arn: str = f"arn:aws:sqs:{REGION}:123456789012:s2s-NotifyQueue",
    message_attributes: dict[str, str] | None = None,
    md5: str = "",
) -> dict[str, Any]:
    """One record: `body` as sent, string message attributes as SQS passes them on."""
    return {
        "messageId": message_id,
        "receiptHandle": receipt_handle or f"receipt-{message_id}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "0",
            "SenderId": "s2s",
            "ApproximateFirstReceiveTimestamp": "0",
        },
        "messageAttributes": {
            name: {"stringValue": value, "stringListValues": [], "binaryListValues": [], "dataType": "String"}
            for name, value in (message_attributes or {}).items()
        },
        "md5OfBody": md5,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def sqs_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}
