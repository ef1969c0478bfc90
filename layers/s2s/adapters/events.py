"""Events on their way out: the outbox items and the SNS topic (TransferEvents).

An event is an `OUTBOX#<type>` item in the partition of what it is about, its subject: `T#<id>` for
a transfer's event, `MSG#<id>` for a secure message's `message.received` (beside the message's own
`MSG` item). It is written in the same transaction as the change it reports (`outbox_put`), with
GSI5 `OUTBOX` so the sweep finds any left behind. A publisher takes a short lease on it first, so
parallel publishers (deliveries of the same S3 event, a send and the sweep) publish it once, and
deletes it only after SNS accepted it."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from s2s.adapters import dynamo
from s2s.adapters.aws import sns
from s2s.domain import clock
from s2s.domain.messages import MESSAGE_RECEIVED
from s2s.runtime.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef


def subject_of(event: dict[str, Any]) -> str:
    """The partition of what `event` is about: `MSG#<message id>` for `message.received`, else
    `T#<transfer id>` (a transfer's event, keyed as it always was)."""
    if event["type"] == MESSAGE_RECEIVED:
        return f"MSG#{event['message_id']}"
    return f"T#{event['transfer_id']}"


def _key(subject: str, event_type: str) -> dynamo.RawItem:
    return dynamo.key(subject, f"OUTBOX#{event_type}")


def outbox_put(event: dict[str, Any]) -> TransactWriteItemTypeDef:
    """The outbox item of `event`, for the transaction of the change it reports."""
    subject = subject_of(event)
    return dynamo.put_op(
        {
            "PK": subject,
            "SK": f"OUTBOX#{event['type']}",
            "kind": "outbox",
            "GSI5PK": "OUTBOX",
            "GSI5SK": f"{event['occurred_at']}#{subject.partition('#')[2]}",
            "event": json.dumps(event, sort_keys=True),
        }
    )


def lease(subject: str, event_type: str, seconds: int = 60) -> bool:
    """Take the right to publish this outbox event for a while. False when it is gone or someone
    else holds it."""
    at = clock.now()
    try:
        dynamo.update(
            _key(subject, event_type),
            "SET leased_until = :until",
            condition="attribute_exists(PK) AND (attribute_not_exists(leased_until) OR leased_until < :now)",
            values={":until": clock.iso(at + timedelta(seconds=seconds)), ":now": clock.iso(at)},
        )
    except dynamo.ConditionFailed:
        return False
    return True


def release(subject: str, event_type: str) -> None:
    """Give the lease back after a failed publish, so the next delivery can try at once."""
    try:
        dynamo.update(_key(subject, event_type), "REMOVE leased_until", condition="attribute_exists(PK)")
    except dynamo.ConditionFailed:
        return


def delete(subject: str, event_type: str) -> None:
    dynamo.delete(_key(subject, event_type))


def pending_for(transfer_id: str) -> list[dict[str, Any]]:
    """Every event this transfer still has in its outbox."""
    items = dynamo.query("PK = :pk AND begins_with(SK, :o)", {":pk": f"T#{transfer_id}", ":o": "OUTBOX#"})
    return [json.loads(item["event"]) for item in items]


def pending_older_than(at: str, limit: int = 100) -> list[dict[str, Any]]:
    """Up to `limit` events (transfers' and messages'), oldest first, written before `at` and not
    published since."""
    page = dynamo.query_page("GSI5PK = :o AND GSI5SK < :at", {":o": "OUTBOX", ":at": at}, index="GSI5", limit=limit)
    return [json.loads(item["event"]) for item in page.items]


def publish(event: dict[str, Any]) -> None:
    """Put `event` on the TransferEvents topic, with the attributes subscribers filter on."""
    recipients = event.get("recipients") or []
    sns().publish(
        TopicArn=get_settings().topic_arn,
        Message=json.dumps(event, sort_keys=True),
        MessageAttributes={
            "type": {"DataType": "String", "StringValue": event["type"]},
            "recipient": {"DataType": "String", "StringValue": ",".join(recipients) or "none"},
        },
    )
