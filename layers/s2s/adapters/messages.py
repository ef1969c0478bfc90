"""Secure messages in the one table, their bodies encrypted under the service's KMS key, and the
`message.received` event on the TransferEvents topic.

Item layout: `MSG#<id>` / `MSG`, one item per message, read with GetItem or Query only (never a
Scan). Its index keys reuse the table's overloaded indexes under partitions of their own, so no new
index is needed (CloudFormation adds one GSI per deploy) and nothing of the transfers' lists meets
a message:

- GSI1 `MSGTO#<recipient>`: the recipient's inbox, until the recipient deletes it;
- GSI2 `MSGFROM#<sender>`: the sender's sent box, until the sender deletes it;
- GSI3 `MSGTHREAD#<thread id>`: the thread (the id of its first message), oldest first;
- GSI4 `MSGXFER#<transfer id>`: the messages attached to a transfer;
- GSI5 `MSGUNREAD#<recipient>`: while nobody at the recipient has read it (the unread list and count).

Sort keys are `<sent at>#<id>`. `ttl` (the expiry plus a day) lets DynamoDB clean up later; expiry
itself is enforced in code at every read (410).

The per-day quota is the `messages` counter on `QUOTA#<org>` / `D#<day>` (beside the uploads'),
charged in the same transaction that writes the message, so parallel sends cannot overshoot it.

Encryption: the table is encrypted at rest under the KMS key already; a body is encrypted once
more, by KMS itself (Encrypt/Decrypt, the key never leaves KMS), so that reading the table (a
backup, an export, a person with dynamodb:GetItem alone) does not reveal it. KMS encrypts at most
4,096 bytes at a time, so the UTF-8 body is cut into parts of that size (a 10,000-character body is
at most ten). Every part is encrypted with an encryption context naming the message, both
organisations and the part's place (`3/4`): KMS authenticates the context with the ciphertext, so
a part copied into another message, another pair of organisations or another position fails to
decrypt instead of showing the wrong text. Decrypt names the key too, so a ciphertext under any
other key is refused. The subject is stored under the table's encryption only: lists show it, and
it never leaves the service except to the two organisations (no email, log or metric carries it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from s2s.adapters.aws import dynamodb, kms, sns
from s2s.domain import clock
from s2s.domain.messages import Message, Side
from s2s.runtime.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

SK = "MSG"
KMS_PART_BYTES = 4096  # the most KMS Encrypt takes in one call

# index -> (partition prefix, attribute holding the partition's value)
INBOX, SENT, THREAD, TRANSFER, UNREAD = "GSI1", "GSI2", "GSI3", "GSI4", "GSI5"
_PREFIX = {INBOX: "MSGTO#", SENT: "MSGFROM#", THREAD: "MSGTHREAD#", TRANSFER: "MSGXFER#", UNREAD: "MSGUNREAD#"}


class QuotaUsedUp(Exception):
    """The sending organisation has sent its messages for today."""


class MessageKeyMissing(RuntimeError):
    """MESSAGE_KEY_ID is not set: bodies cannot be encrypted or read."""


# ---------------------------------------------------------------------------- (de)serialising


def _serializer() -> Any:
    from boto3.dynamodb.types import TypeSerializer

    return TypeSerializer()


def _deserializer() -> Any:
    from boto3.dynamodb.types import TypeDeserializer

    return TypeDeserializer()


def _to_av(data: dict[str, Any]) -> dict[str, Any]:
    ser = _serializer()
    return {k: ser.serialize(v) for k, v in data.items() if v is not None}


def _from_av(item: dict[str, Any]) -> dict[str, Any]:
    de = _deserializer()
    return {k: de.deserialize(v) for k, v in item.items()}


def _table() -> str:
    return get_settings().table_name


def _key(message_id: str) -> dict[str, Any]:
    return {"PK": {"S": f"MSG#{message_id}"}, "SK": {"S": SK}}


def partition(index: str, value: str) -> str:
    return _PREFIX[index] + value


def _sort_key(m: Message) -> str:
    return f"{m.created_at}#{m.message_id}"


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def message_from(data: dict[str, Any]) -> Message:
    sides: tuple[Side, Side] = ("sender", "recipient")
    deleted = tuple(side for side in sides if data.get(f"deleted_by_{side}"))
    return Message(
        message_id=str(data["message_id"]),
        thread_id=str(data["thread_id"]),
        sender=str(data["sender"]),
        sender_name=str(data.get("sender_name") or ""),
        recipient=str(data["recipient"]),
        subject=str(data["subject"]),
        created_at=str(data["created_at"]),
        expires_at=str(data["expires_at"]),
        sent_by=str(data.get("sent_by") or ""),
        sent_by_email=str(data.get("sent_by_email") or ""),
        reply_to=data.get("reply_to"),
        transfer_id=data.get("transfer_id"),
        read_at=data.get("read_at"),
        read_by=data.get("read_by"),
        read_by_email=data.get("read_by_email"),
        deleted_by=deleted,
    )


def _parts_from(data: dict[str, Any]) -> list[bytes]:
    return [bytes(getattr(part, "value", part)) for part in data.get("body_parts") or []]


# ---------------------------------------------------------------------------- the body, under KMS


def _key_id() -> str:
    key_id = get_settings().message_key_id
    if not key_id:
        raise MessageKeyMissing("MESSAGE_KEY_ID is not set: this function cannot encrypt or read message bodies")
    return key_id


def _context(m: Message, part: int, parts: int) -> dict[str, str]:
    return {
        "s2s:purpose": "message-body",
        "s2s:message": m.message_id,
        "s2s:from": m.sender,
        "s2s:to": m.recipient,
        "s2s:part": f"{part}/{parts}",
    }


def _split(data: bytes) -> list[bytes]:
    return [data[i : i + KMS_PART_BYTES] for i in range(0, len(data), KMS_PART_BYTES)] or [b""]


def encrypt_body(m: Message, body: str) -> list[bytes]:
    """The body as KMS ciphertexts, one per 4,096 bytes of UTF-8."""
    key_id = _key_id()
    chunks = _split(body.encode("utf-8"))
    return [
        kms().encrypt(KeyId=key_id, Plaintext=chunk, EncryptionContext=_context(m, i + 1, len(chunks)))[
            "CiphertextBlob"
        ]
        for i, chunk in enumerate(chunks)
    ]


def decrypt_body(m: Message, parts: list[bytes]) -> str:
    key_id = _key_id()
    plain = b"".join(
        kms().decrypt(KeyId=key_id, CiphertextBlob=part, EncryptionContext=_context(m, i + 1, len(parts)))["Plaintext"]
        for i, part in enumerate(parts)
    )
    return plain.decode("utf-8")


# ---------------------------------------------------------------------------- writing


def _item(m: Message, parts: list[bytes]) -> dict[str, Any]:
    sort_key = _sort_key(m)
    data: dict[str, Any] = {
        "PK": f"MSG#{m.message_id}",
        "SK": SK,
        "kind": "message",
        "message_id": m.message_id,
        "thread_id": m.thread_id,
        "reply_to": m.reply_to,
        "transfer_id": m.transfer_id,
        "sender": m.sender,
        "sender_name": m.sender_name or None,
        "recipient": m.recipient,
        "subject": m.subject,
        "sent_by": m.sent_by or None,
        "sent_by_email": m.sent_by_email or None,
        "created_at": m.created_at,
        "expires_at": m.expires_at,
        "ttl": _epoch(clock.parse(m.expires_at) + timedelta(days=1)),
        "body_parts": parts,
        "GSI1PK": partition(INBOX, m.recipient),
        "GSI1SK": sort_key,
        "GSI2PK": partition(SENT, m.sender),
        "GSI2SK": sort_key,
        "GSI3PK": partition(THREAD, m.thread_id),
        "GSI3SK": sort_key,
        "GSI5PK": partition(UNREAD, m.recipient),
        "GSI5SK": sort_key,
    }
    if m.transfer_id:
        data.update({"GSI4PK": partition(TRANSFER, m.transfer_id), "GSI4SK": sort_key})
    return _to_av(data)


def quota_charge(org: str, at: datetime, max_count: int) -> TransactWriteItemTypeDef:
    """The conditional update that books one more message for `org` today."""
    return {
        "Update": {
            "TableName": _table(),
            "Key": {"PK": {"S": f"QUOTA#{org}"}, "SK": {"S": f"D#{clock.day(at)}"}},
            "UpdateExpression": "ADD messages :one SET #ttl = :ttl",
            "ConditionExpression": "attribute_not_exists(messages) OR messages < :max",
            "ExpressionAttributeNames": {"#ttl": "ttl"},
            "ExpressionAttributeValues": {
                ":one": {"N": "1"},
                ":max": {"N": str(max_count)},
                ":ttl": {"N": str(_epoch(at + timedelta(days=3)))},
            },
        }
    }


def create(m: Message, parts: list[bytes], at: datetime, max_per_day: int) -> None:
    """Write the message and charge the quota in one transaction; QuotaUsedUp when it is spent."""
    client = dynamodb()
    try:
        client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": _table(),
                        "Item": _item(m, parts),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
                quota_charge(m.sender, at, max_per_day),
            ]
        )
    except client.exceptions.TransactionCanceledException as exc:
        reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
        if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
            raise QuotaUsedUp(m.sender) from None
        raise RuntimeError(f"the message was not written: {reasons}") from None


def mark_read(m: Message, at: str, user: str, email: str) -> bool:
    """Record the recipient organisation's first read. False when someone there read it first."""
    client = dynamodb()
    try:
        client.update_item(
            TableName=_table(),
            Key=_key(m.message_id),
            UpdateExpression="SET read_at = :at, read_by = :user, read_by_email = :email REMOVE GSI5PK, GSI5SK",
            ConditionExpression="attribute_exists(PK) AND attribute_not_exists(read_at)",
            ExpressionAttributeValues={":at": {"S": at}, ":user": {"S": user}, ":email": {"S": email}},
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def delete_side(m: Message, side: Side) -> bool:
    """Take the message off one side (its box, and for the recipient its unread entry). When both
    sides have deleted it, the item goes, body and all. True when the item is gone."""
    client = dynamodb()
    remove = "GSI2PK, GSI2SK" if side == "sender" else "GSI1PK, GSI1SK, GSI5PK, GSI5SK"
    try:
        answer = client.update_item(
            TableName=_table(),
            Key=_key(m.message_id),
            UpdateExpression=f"SET deleted_by_{side} = :yes REMOVE {remove}",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues={":yes": {"BOOL": True}},
            ReturnValues="ALL_NEW",
        )
    except client.exceptions.ConditionalCheckFailedException:
        return True
    now = answer.get("Attributes", {})
    if not (now.get("deleted_by_sender", {}).get("BOOL") and now.get("deleted_by_recipient", {}).get("BOOL")):
        return False
    client.delete_item(TableName=_table(), Key=_key(m.message_id))
    return True


# ---------------------------------------------------------------------------- reading


def get(message_id: str) -> tuple[Message, list[bytes]] | None:
    item = dynamodb().get_item(TableName=_table(), Key=_key(message_id), ConsistentRead=True).get("Item")
    if not item:
        return None
    data = _from_av(item)
    return message_from(data), _parts_from(data)


def index_position(item: dict[str, Any], index: str) -> dict[str, Any]:
    """Where a page stopped: the key of its last item in `index`, as a start key for the next."""
    return {name: {"S": str(item[name]["S"])} for name in ("PK", "SK", f"{index}PK", f"{index}SK")}


def _query(
    index: str, value: str, *, newest_first: bool, now: str, start: dict[str, Any] | None, page_size: int
) -> Iterator[dict[str, Any]]:
    """The raw items of one index partition that have not expired, page by page (a paginator)."""
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "IndexName": index,
        "KeyConditionExpression": "#pk = :pk",
        "FilterExpression": "expires_at > :now",
        "ExpressionAttributeNames": {"#pk": f"{index}PK"},
        "ExpressionAttributeValues": {":pk": {"S": partition(index, value)}, ":now": {"S": now}},
        "ScanIndexForward": not newest_first,
        "PaginationConfig": {"PageSize": page_size},
    }
    if start:
        kwargs["ExclusiveStartKey"] = start
    for page in dynamodb().get_paginator("query").paginate(**kwargs):
        yield from page.get("Items", [])


def page(
    index: str, value: str, *, limit: int, start: dict[str, Any] | None, now: str
) -> tuple[list[Message], dict[str, Any] | None]:
    """One page of a box, newest first, and where the next one starts (None at the end)."""
    raw: list[dict[str, Any]] = []
    for item in _query(index, value, newest_first=True, now=now, start=start, page_size=min(limit + 1, 100)):
        raw.append(item)
        if len(raw) > limit:
            break
    more = len(raw) > limit
    raw = raw[:limit]
    next_start = index_position(raw[-1], index) if more and raw else None
    return [message_from(_from_av(item)) for item in raw], next_start


def count_unread(org: str, now: str) -> int:
    """How many messages nobody at `org` has read (and that have not expired)."""
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "IndexName": UNREAD,
        "KeyConditionExpression": "GSI5PK = :pk",
        "FilterExpression": "expires_at > :now",
        "ExpressionAttributeValues": {":pk": {"S": partition(UNREAD, org)}, ":now": {"S": now}},
        "Select": "COUNT",
    }
    return sum(int(p.get("Count", 0)) for p in dynamodb().get_paginator("query").paginate(**kwargs))


def thread(thread_id: str) -> list[tuple[Message, list[bytes]]]:
    """Every message of a thread still stored, oldest first, expired ones included (shown as expired)."""
    out = []
    for item in _query(THREAD, thread_id, newest_first=False, now="", start=None, page_size=100):
        data = _from_av(item)
        out.append((message_from(data), _parts_from(data)))
    return out


def for_transfer(transfer_id: str, now: str) -> list[Message]:
    """The messages attached to a transfer that have not expired, oldest first."""
    return [
        message_from(_from_av(item))
        for item in _query(TRANSFER, transfer_id, newest_first=False, now=now, start=None, page_size=100)
    ]


# ---------------------------------------------------------------------------- the event


def publish_received(event: dict[str, Any]) -> None:
    """`message.received` on the TransferEvents topic, for notify. It carries who wrote to whom and
    the message's id: never the subject or the body."""
    recipients = event.get("recipients") or []
    sns().publish(
        TopicArn=get_settings().topic_arn,
        Message=json.dumps(event, sort_keys=True),
        MessageAttributes={
            "type": {"DataType": "String", "StringValue": event["type"]},
            "recipient": {"DataType": "String", "StringValue": ",".join(recipients) or "none"},
        },
    )
