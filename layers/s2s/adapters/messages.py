"""Secure messages in the one table, their bodies encrypted under the service's KMS key, each
written with its `message.received` event in the outbox (`s2s.adapters.events`).

Item layout: `MSG#<id>` / `MSG`, one item per message, read with GetItem or Query only (never a
Scan), through `s2s.adapters.dynamo` (its codec and the paginator). Its index keys reuse the
table's overloaded indexes under partitions of their own, so no new index is needed
(CloudFormation adds one GSI per deploy) and nothing of the transfers' lists meets a message:

- GSI1 `MSGTO#<recipient>`: the recipient's inbox, until the recipient deletes it;
- GSI2 `MSGFROM#<sender>`: the sender's sent box, until the sender deletes it;
- GSI3 `MSGTHREAD#<thread id>`: the thread (the id of its first message), oldest first;
- GSI4 `MSGXFER#<transfer id>`: the messages attached to a transfer;
- GSI5 `MSGUNREAD#<recipient>`: while nobody at the recipient has read it (the unread list and count).

Sort keys are `<sent at>#<id>`. `ttl` (the expiry plus a day) lets DynamoDB clean up later; expiry
itself is enforced in code at every read (410).

The per-day quota is the `messages` counter on `QUOTA#<org>` / `D#<day>` (beside the uploads'),
charged in the same transaction that writes the message, so parallel sends cannot overshoot it.
The same transaction writes the message's `message.received` event to the outbox
(`MSG#<id>` / `OUTBOX#message.received`): a message is never stored without the event that
emails its recipient, and the event goes out once SNS takes it (at send time or by the sweep).

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

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from s2s.adapters import dynamo
from s2s.adapters.aws import kms
from s2s.adapters.events import outbox_put
from s2s.domain import clock
from s2s.domain.messages import Message, Side
from s2s.runtime.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

SK = "MSG"
KMS_PART_BYTES = 4096  # the most KMS Encrypt takes in one call

# index -> the prefix of its partitions that hold messages
INBOX, SENT, THREAD, TRANSFER, UNREAD = "GSI1", "GSI2", "GSI3", "GSI4", "GSI5"
_PREFIX = {INBOX: "MSGTO#", SENT: "MSGFROM#", THREAD: "MSGTHREAD#", TRANSFER: "MSGXFER#", UNREAD: "MSGUNREAD#"}


class QuotaUsedUp(Exception):
    """The sending organisation has sent its messages for today."""


class MessageKeyMissing(RuntimeError):
    """MESSAGE_KEY_ID is not set: bodies cannot be encrypted or read."""


def _key(message_id: str) -> dynamo.RawItem:
    return dynamo.key(f"MSG#{message_id}", SK)


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
    # boto3 reads binary attributes as `Binary`, whose `value` is the bytes.
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
    return data


def quota_charge(org: str, at: datetime, max_count: int) -> TransactWriteItemTypeDef:
    """The conditional update that books one more message for `org` today (beside the uploads'
    counters on the same item)."""
    return dynamo.update_op(
        dynamo.key(f"QUOTA#{org}", f"D#{clock.day(at)}"),
        "ADD messages :one SET #ttl = :ttl",
        condition="attribute_not_exists(messages) OR messages < :max",
        names={"#ttl": "ttl"},
        values={":one": 1, ":max": max_count, ":ttl": _epoch(at + timedelta(days=3))},
    )


def create(m: Message, parts: list[bytes], at: datetime, max_per_day: int, event: dict[str, Any]) -> None:
    """Write the message, charge the quota and put its `message.received` event in the outbox, in
    one transaction; QuotaUsedUp when the quota is spent (and then nothing is written)."""
    if event.get("message_id") != m.message_id:
        raise ValueError("the event is not this message's")
    try:
        dynamo.transact(
            [
                dynamo.put_op(_item(m, parts), condition="attribute_not_exists(PK)"),
                quota_charge(m.sender, at, max_per_day),
                outbox_put(event),
            ]
        )
    except dynamo.TransactionCancelled as exc:
        if exc.failed(1):
            raise QuotaUsedUp(m.sender) from None
        raise


def mark_read(m: Message, at: str, user: str, email: str) -> bool:
    """Record the recipient organisation's first read. False when someone there read it first."""
    try:
        dynamo.update(
            _key(m.message_id),
            "SET read_at = :at, read_by = :user, read_by_email = :email REMOVE GSI5PK, GSI5SK",
            condition="attribute_exists(PK) AND attribute_not_exists(read_at)",
            values={":at": at, ":user": user, ":email": email},
        )
    except dynamo.ConditionFailed:
        return False
    return True


def delete_side(m: Message, side: Side) -> bool:
    """Take the message off one side (its box, and for the recipient its unread entry). When both
    sides have deleted it, the item goes, body and all. True when the item is gone."""
    remove = "GSI2PK, GSI2SK" if side == "sender" else "GSI1PK, GSI1SK, GSI5PK, GSI5SK"
    try:
        dynamo.update(
            _key(m.message_id),
            f"SET deleted_by_{side} = :yes REMOVE {remove}",
            condition="attribute_exists(PK)",
            values={":yes": True},
        )
        dynamo.delete(
            _key(m.message_id),
            condition="attribute_exists(deleted_by_sender) AND attribute_exists(deleted_by_recipient)",
        )
    except dynamo.ConditionFailed:
        return False
    return True


# ---------------------------------------------------------------------------- reading


def get(message_id: str) -> tuple[Message, list[bytes]] | None:
    data = dynamo.get(_key(message_id), consistent=True)
    if data is None:
        return None
    return message_from(data), _parts_from(data)


def _live(
    index: str, value: str, *, newest_first: bool, now: str, start: dict[str, Any] | None, page_size: int
) -> Iterator[dict[str, Any]]:
    """The items of one index partition that have not expired (`now` empty: all of them), lazily."""
    for item in dynamo.query(
        f"{index}PK = :pk",
        {":pk": partition(index, value)},
        index=index,
        newest_first=newest_first,
        page_size=page_size,
        start=start,
    ):
        if not now or str(item["expires_at"]) > now:
            yield item


def page(
    index: str, value: str, *, limit: int, start: dict[str, Any] | None, now: str
) -> tuple[list[Message], dict[str, Any] | None]:
    """One page of a box, newest first, and where the next one starts (None at the end)."""
    items: list[dict[str, Any]] = []
    for item in _live(index, value, newest_first=True, now=now, start=start, page_size=min(limit + 1, 100)):
        items.append(item)
        if len(items) > limit:
            break
    more = len(items) > limit
    items = items[:limit]
    next_start = dynamo.start_key(items[-1], index) if more and items else None
    return [message_from(item) for item in items], next_start


def count_unread(org: str, now: str) -> int:
    """How many messages nobody at `org` has read (and that have not expired)."""
    return sum(
        1
        for item in dynamo.query(
            "GSI5PK = :pk", {":pk": partition(UNREAD, org)}, index=UNREAD, projection="expires_at", page_size=100
        )
        if str(item["expires_at"]) > now
    )


def thread(thread_id: str) -> list[tuple[Message, list[bytes]]]:
    """Every message of a thread still stored, oldest first, expired ones included (shown as expired)."""
    out = []
    for data in _live(THREAD, thread_id, newest_first=False, now="", start=None, page_size=100):
        out.append((message_from(data), _parts_from(data)))
    return out


def for_transfer(transfer_id: str, now: str) -> list[Message]:
    """The messages attached to a transfer that have not expired, oldest first."""
    return [
        message_from(item)
        for item in _live(TRANSFER, transfer_id, newest_first=False, now=now, start=None, page_size=100)
    ]
