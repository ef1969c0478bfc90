"""Who gets notification emails for an organisation, and which emails have already gone out.

Subscribers are `ORG#<org>` / `SUB#<email>` items; the organisation's `PROFILE` item carries
`subscriber_count`, changed in the same transaction as the subscription item and only when that
item really appears or disappears, so a repeated PUT or DELETE never miscounts. The report reads
`subscriber_count` (one GetItem, with the name) to flag organisations nobody would hear from.

Sending records are `SENT#<event_id>` / `<email>` with a `ttl`. An email is sent at most once per
event and address even when SQS delivers the message twice, and a failed send never leaves a record
that would suppress the retry:

1. `claim_send` writes a `sending` lease on condition that there is no record, or the record is
   `failed`, or it is a `sending` lease older than `SENDING_LEASE` (its holder died mid-send).
2. The caller sends through SES, then `mark_sent` (the record stays until its TTL) or, when SES
   fails, `release_send` marks it `failed` so the retried message may claim it again.

Only PutItem and UpdateItem are used for these records (the notify function may not delete).
The one window left is a process that dies after SES accepted the email and before `mark_sent`:
its lease goes stale and the retry sends again. A duplicate is better than a lost notice.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from s2s.adapters.aws import dynamodb
from s2s.adapters.store import batch_get, from_av, key, org_profile, profile_fields, table, to_av
from s2s.domain import clock

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

# How long a record of a sent email is kept: far longer than SQS keeps a message (4 days) so any
# redelivery finds it; DynamoDB's TTL removes it afterwards.
SENT_RECORD_DAYS = 14
# A `sending` lease older than this belongs to an invocation that has died: longer than the notify
# function's 30-second timeout, so a live sender is never overtaken, and shorter than the queue's
# 180-second visibility timeout, so the redelivered message can take over at once.
SENDING_LEASE = timedelta(seconds=120)

ClaimOutcome = Literal["claimed", "already_sent", "in_progress"]


def _org_pk(org: str) -> str:
    return f"ORG#{org}"


def normalise_email(email: str) -> str:
    return email.strip().lower()


# ---------------------------------------------------------------------------- subscribers


def _cancelled(exc: Exception) -> list[str | None]:
    response: dict[str, Any] = getattr(exc, "response", {})
    return [r.get("Code") for r in response.get("CancellationReasons", [])]


def subscribe(org: str, email: str, user_id: str, org_name: str | None = None) -> bool:
    """Add `email` to `org`'s subscribers. True when it was added, False when it already was."""
    email = normalise_email(email)
    now = clock.now_iso()
    item = {
        "PK": _org_pk(org),
        "SK": f"SUB#{email}",
        "kind": "subscription",
        "org": org,
        "email": email,
        "user_id": user_id,
        "subscribed_at": now,
    }
    profile_values: dict[str, Any] = {":one": {"N": "1"}, ":org": {"S": org}}
    profile_set = "SET org = :org"
    if org_name:
        # Keep a name the profile already has (store.remember_org_name refreshes it from tokens).
        profile_set += ", #n = if_not_exists(#n, :n)"
        profile_values[":n"] = {"S": org_name[:200]}
    profile_update: dict[str, Any] = {
        "TableName": table(),
        "Key": key(_org_pk(org), "PROFILE"),
        "UpdateExpression": f"ADD subscriber_count :one {profile_set}",
        "ExpressionAttributeValues": profile_values,
    }
    if org_name:
        profile_update["ExpressionAttributeNames"] = {"#n": "name"}
    try:
        dynamodb().transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": table(),
                        "Item": to_av(item),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
                {"Update": profile_update},  # type: ignore[typeddict-item]
            ]
        )
    except dynamodb().exceptions.TransactionCanceledException as exc:
        if _cancelled(exc)[:1] == ["ConditionalCheckFailed"]:
            return False
        raise
    return True


def unsubscribe(org: str, email: str) -> bool:
    """Remove `email` from `org`'s subscribers. True when it was removed, False when it was not there."""
    email = normalise_email(email)
    try:
        dynamodb().transact_write_items(
            TransactItems=[
                {
                    "Delete": {
                        "TableName": table(),
                        "Key": key(_org_pk(org), f"SUB#{email}"),
                        "ConditionExpression": "attribute_exists(PK)",
                    }
                },
                {
                    "Update": {
                        "TableName": table(),
                        "Key": key(_org_pk(org), "PROFILE"),
                        "UpdateExpression": "ADD subscriber_count :minus",
                        # Never below zero, even if the count was damaged by hand.
                        "ConditionExpression": "subscriber_count > :zero",
                        "ExpressionAttributeValues": {":minus": {"N": "-1"}, ":zero": {"N": "0"}},
                    }
                },
            ]
        )
    except dynamodb().exceptions.TransactionCanceledException as exc:
        reasons = _cancelled(exc)
        if reasons[:1] == ["ConditionalCheckFailed"]:
            return False
        if reasons[1:2] == ["ConditionalCheckFailed"]:
            # The subscription exists but the count says zero: remove it and leave the count at 0.
            dynamodb().transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": table(),
                            "Key": key(_org_pk(org), f"SUB#{email}"),
                            "ConditionExpression": "attribute_exists(PK)",
                        }
                    },
                ]
            )
            return True
        raise
    return True


def is_subscribed(org: str, email: str) -> bool:
    resp = dynamodb().get_item(
        TableName=table(),
        Key=key(_org_pk(org), f"SUB#{normalise_email(email)}"),
        ConsistentRead=True,
        ProjectionExpression="PK",
    )
    return "Item" in resp


def subscribers(org: str) -> list[str]:
    """Every subscribed address of `org`, sorted."""
    emails: list[str] = []
    kwargs: dict[str, Any] = {
        "TableName": table(),
        "KeyConditionExpression": "PK = :pk AND begins_with(SK, :s)",
        "ExpressionAttributeValues": {":pk": {"S": _org_pk(org)}, ":s": {"S": "SUB#"}},
        "ProjectionExpression": "email",
    }
    while True:
        resp = dynamodb().query(**kwargs)
        emails.extend(str(from_av(item)["email"]) for item in resp.get("Items", []))
        if "LastEvaluatedKey" not in resp:
            return sorted(emails)
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def subscriber_count(org: str) -> int:
    """How many addresses get `org`'s emails (0 for an organisation nobody has subscribed to)."""
    return org_profile(org)[1]


@dataclass(frozen=True, slots=True)
class Setting:
    """What `GET /subscriptions/me` shows: the organisation's name and subscriber count, and
    whether this address is one of them."""

    org_name: str | None
    subscriber_count: int
    subscribed: bool


def setting(org: str, email: str) -> Setting:
    """The organisation's profile and this address's subscription in one strongly consistent
    BatchGetItem (one round trip instead of three reads)."""
    keys = [key(_org_pk(org), "PROFILE"), key(_org_pk(org), f"SUB#{normalise_email(email)}")]
    items = batch_get(keys, projection="SK, #n, subscriber_count", consistent=True)
    by_sk = {str(item["SK"]["S"]): item for item in items}
    name, count = profile_fields(by_sk.get("PROFILE"))
    return Setting(name, count, any(sk.startswith("SUB#") for sk in by_sk))


# ---------------------------------------------------------------------------- sending records


@dataclass(frozen=True)
class SendClaim:
    """The outcome of `claim_send`; `token` identifies our lease when we hold one."""

    outcome: ClaimOutcome
    token: str = ""


def _sent_key(event_id: str, email: str) -> dict[str, Any]:
    return key(f"SENT#{event_id}", normalise_email(email))


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def claim_send(event_id: str, email: str, now: datetime | None = None) -> SendClaim:
    """Take the right to send this event's email to `email` (see the module docstring)."""
    now = now or clock.now()
    token = uuid.uuid4().hex
    item = {
        "PK": {"S": f"SENT#{event_id}"},
        "SK": {"S": normalise_email(email)},
        "kind": {"S": "email_send"},
        "state": {"S": "sending"},
        "token": {"S": token},
        "started_at": {"N": str(_epoch(now))},
        "ttl": {"N": str(_epoch(now + timedelta(days=SENT_RECORD_DAYS)))},
    }
    client = dynamodb()
    try:
        client.put_item(
            TableName=table(),
            Item=item,
            ConditionExpression="attribute_not_exists(PK) OR #state = :failed "
            "OR (#state = :sending AND started_at < :stale)",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={
                ":failed": {"S": "failed"},
                ":sending": {"S": "sending"},
                ":stale": {"N": str(_epoch(now - SENDING_LEASE))},
            },
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except client.exceptions.ConditionalCheckFailedException as exc:
        response: dict[str, Any] = dict(exc.response)
        old: dict[str, Any] = (
            response.get("Item")
            or client.get_item(TableName=table(), Key=_sent_key(event_id, email), ConsistentRead=True).get("Item")
            or {}
        )
        state = old.get("state", {}).get("S")
        return SendClaim("already_sent" if state == "sent" else "in_progress")
    return SendClaim("claimed", token)


def mark_sent(
    event_id: str,
    email: str,
    message_id: str,
    *,
    also: Sequence[TransactWriteItemTypeDef] = (),
    now: datetime | None = None,
) -> None:
    """The email went out: keep the record (until its TTL) so no redelivery sends it again. `also`
    (the audit event of the email) is written in the same transaction, so the record and the audit
    trail never disagree."""
    now = now or clock.now()
    update: TransactWriteItemTypeDef = {
        "Update": {
            "TableName": table(),
            "Key": _sent_key(event_id, email),
            "UpdateExpression": "SET #state = :sent, message_id = :m, sent_at = :at REMOVE #token",
            "ExpressionAttributeNames": {"#state": "state", "#token": "token"},
            "ExpressionAttributeValues": {
                ":sent": {"S": "sent"},
                ":m": {"S": message_id},
                ":at": {"S": clock.iso(now)},
            },
        }
    }
    dynamodb().transact_write_items(TransactItems=[update, *also])


def release_send(event_id: str, email: str, token: str) -> None:
    """Sending failed: mark our lease `failed` so the retry may claim it. Someone else's lease (ours
    went stale and was taken over) is left alone."""
    client = dynamodb()
    try:
        client.update_item(
            TableName=table(),
            Key=_sent_key(event_id, email),
            UpdateExpression="SET #state = :failed",
            ConditionExpression="#state = :sending AND #token = :token",
            ExpressionAttributeNames={"#state": "state", "#token": "token"},
            ExpressionAttributeValues={
                ":failed": {"S": "failed"},
                ":sending": {"S": "sending"},
                ":token": {"S": token},
            },
        )
    except client.exceptions.ConditionalCheckFailedException:
        return


def send_state(event_id: str, email: str) -> str | None:
    """`sending`, `sent`, `failed`, or None when there is no record (for tests and support)."""
    resp = dynamodb().get_item(TableName=table(), Key=_sent_key(event_id, email), ConsistentRead=True)
    item = resp.get("Item")
    return str(item["state"]["S"]) if item else None
