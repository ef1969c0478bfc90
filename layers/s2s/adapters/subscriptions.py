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

from s2s.adapters import dynamo, organisations
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
    return organisations.pk(org)


def _sub_key(org: str, email: str) -> dynamo.RawItem:
    return dynamo.key(_org_pk(org), f"SUB#{normalise_email(email)}")


def normalise_email(email: str) -> str:
    return email.strip().lower()


# ---------------------------------------------------------------------------- subscribers


def subscribe(org: str, email: str, user_id: str, org_name: str | None = None) -> bool:
    """Add `email` to `org`'s subscribers. True when it was added, False when it already was."""
    email = normalise_email(email)
    item = {
        "PK": _org_pk(org),
        "SK": f"SUB#{email}",
        "kind": "subscription",
        "org": org,
        "email": email,
        "user_id": user_id,
        "subscribed_at": clock.now_iso(),
    }
    profile_values: dict[str, Any] = {":one": 1, ":org": org}
    profile_set = "SET org = :org"
    if org_name:
        # Keep a name the profile already has (organisations.remember_name refreshes it from tokens).
        profile_set += ", #n = if_not_exists(#n, :n)"
        profile_values[":n"] = org_name[: organisations.NAME_CHARS]
    try:
        dynamo.transact(
            [
                dynamo.put_op(item, condition="attribute_not_exists(PK)"),
                dynamo.update_op(
                    organisations.profile_key(org),
                    f"ADD subscriber_count :one {profile_set}",
                    names={"#n": "name"} if org_name else None,
                    values=profile_values,
                ),
            ]
        )
    except dynamo.TransactionCancelled as exc:
        if exc.failed(0):
            return False
        raise
    return True


def unsubscribe(org: str, email: str) -> bool:
    """Remove `email` from `org`'s subscribers. True when it was removed, False when it was not there."""
    remove = dynamo.delete_op(_sub_key(org, email), condition="attribute_exists(PK)")
    try:
        dynamo.transact(
            [
                remove,
                dynamo.update_op(
                    organisations.profile_key(org),
                    "ADD subscriber_count :minus",
                    # Never below zero, even if the count was damaged by hand.
                    condition="subscriber_count > :zero",
                    values={":minus": -1, ":zero": 0},
                ),
            ]
        )
    except dynamo.TransactionCancelled as exc:
        if exc.failed(0):
            return False
        if exc.failed(1):
            # The subscription exists but the count says zero: remove it and leave the count at 0.
            dynamo.transact([remove])
            return True
        raise
    return True


def is_subscribed(org: str, email: str) -> bool:
    return dynamo.get(_sub_key(org, email), consistent=True, projection="PK") is not None


def subscribers(org: str) -> list[str]:
    """Every subscribed address of `org`, sorted."""
    items = dynamo.query("PK = :pk AND begins_with(SK, :s)", {":pk": _org_pk(org), ":s": "SUB#"}, projection="email")
    return sorted(str(item["email"]) for item in items)


def subscriber_count(org: str) -> int:
    """How many addresses get `org`'s emails (0 for an organisation nobody has subscribed to)."""
    return organisations.profile(org)[1]


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
    keys = [organisations.profile_key(org), _sub_key(org, email)]
    items = dynamo.batch_get(keys, projection="SK, #n, subscriber_count", names={"#n": "name"}, consistent=True)
    by_sk = {str(item["SK"]): item for item in items}
    name, count = organisations.profile_fields(by_sk.get(organisations.PROFILE))
    return Setting(name, count, any(sk.startswith("SUB#") for sk in by_sk))


# ---------------------------------------------------------------------------- sending records


@dataclass(frozen=True)
class SendClaim:
    """The outcome of `claim_send`; `token` identifies our lease when we hold one."""

    outcome: ClaimOutcome
    token: str = ""


def _sent_key(event_id: str, email: str) -> dynamo.RawItem:
    return dynamo.key(f"SENT#{event_id}", normalise_email(email))


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def claim_send(event_id: str, email: str, now: datetime | None = None) -> SendClaim:
    """Take the right to send this event's email to `email` (see the module docstring)."""
    now = now or clock.now()
    token = uuid.uuid4().hex
    item = {
        "PK": f"SENT#{event_id}",
        "SK": normalise_email(email),
        "kind": "email_send",
        "state": "sending",
        "token": token,
        "started_at": _epoch(now),
        "ttl": _epoch(now + timedelta(days=SENT_RECORD_DAYS)),
    }
    try:
        dynamo.put(
            item,
            condition="attribute_not_exists(PK) OR #state = :failed OR (#state = :sending AND started_at < :stale)",
            names={"#state": "state"},
            values={":failed": "failed", ":sending": "sending", ":stale": _epoch(now - SENDING_LEASE)},
            return_old=True,
        )
    except dynamo.ConditionFailed as refused:
        old = refused.old or dynamo.get(_sent_key(event_id, email), consistent=True) or {}
        return SendClaim("already_sent" if old.get("state") == "sent" else "in_progress")
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
    update = dynamo.update_op(
        _sent_key(event_id, email),
        "SET #state = :sent, message_id = :m, sent_at = :at REMOVE #token",
        names={"#state": "state", "#token": "token"},
        values={":sent": "sent", ":m": message_id, ":at": clock.iso(now)},
    )
    dynamo.transact([update, *also])


def release_send(event_id: str, email: str, token: str) -> None:
    """Sending failed: mark our lease `failed` so the retry may claim it. Someone else's lease (ours
    went stale and was taken over) is left alone."""
    try:
        dynamo.update(
            _sent_key(event_id, email),
            "SET #state = :failed",
            condition="#state = :sending AND #token = :token",
            names={"#state": "state", "#token": "token"},
            values={":failed": "failed", ":sending": "sending", ":token": token},
        )
    except dynamo.ConditionFailed:
        return


def send_state(event_id: str, email: str) -> str | None:
    """`sending`, `sent`, `failed`, or None when there is no record (for tests and support)."""
    item = dynamo.get(_sent_key(event_id, email), consistent=True)
    return str(item["state"]) if item else None
