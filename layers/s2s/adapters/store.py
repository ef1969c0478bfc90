"""The one DynamoDB table: transfers, their audit trail, unsent events, report counters,
subscriptions and organisation profiles.

Item layout (PK / SK):
- `T#<id>` / `META`: the transfer. Indexes:
  GSI1 `TO#<recipient org>` (inbox, from `available` on; `TO#LPD` for unclaimed LPD files),
  GSI2 `FROM#<sender org>` (outbox, from creation),
  GSI3 `LA#<sender's LA>` (LA view, from creation),
  GSI4 `LA#<recipient's LA>` when it differs from the sender's (from `available` on), or
       `UPN#<upn>` for an LPD file (the Lost Pupils Database search),
  GSI5 `EXPDAY#<yyyy-mm-dd>` while the transfer can still expire (the expiry sweep's work list),
  GSI6 `UNDL#<recipient's LA>` while a received file is `available` (the undownloaded report).
- `T#<id>` / `A#<at>#<n>-<random>`: audit events (state changes, downloads, emails). They outlive the file.
- `T#<id>` / `OUTBOX#<type>`: an event written in the same transaction as the change it reports,
  deleted once published; GSI5 `OUTBOX` lets the sweep publish any that were left behind.
- `CNT#<scope>` / `D#<yyyy-mm-dd>`: report counters per LA (`LA#823`), national (`ALL`); per school
  as `CNT#LA#823#S` / `D#<day>#<laestab>`, so one query gives an LA's schools over a range.
- `ORG#<org>` / `PROFILE`, `ORG#<org>` / `SUB#<email>`: organisation names and subscribers.
- `QUOTA#<org>` / `D#<day>`: uploads started per organisation per day.
- `SWEEP` / `STATE`: the day of the last completed expiry sweep (how far back the next one looks).

Every change of state is one TransactWriteItems: the conditional update of the transfer, its audit
event, its outbox event and its counters, so a change is never half done and never counted twice.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import itertools
import json
import os
import secrets as secrets_module
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from s2s.adapters.aws import dynamodb
from s2s.domain import clock
from s2s.domain.errors import InvalidRequest
from s2s.domain.transfers import TERMINAL, CounterDeltas, Status, Transfer
from s2s.runtime.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

_counter = itertools.count()
META = "META"


class TransitionConflict(Exception):
    """The transfer was not in a state that allows this change (someone else got there first)."""


# ---------------------------------------------------------------------------- (de)serialising


def _serializer() -> Any:
    from boto3.dynamodb.types import TypeSerializer

    return TypeSerializer()


def _deserializer() -> Any:
    from boto3.dynamodb.types import TypeDeserializer

    return TypeDeserializer()


def _av(value: Any) -> dict[str, Any]:
    # The common cases by hand: boto3's TypeSerializer costs a tenth of a request on the hot path.
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    return _serializer().serialize(value)


def to_av(value: dict[str, Any]) -> dict[str, Any]:
    return {k: _av(v) for k, v in value.items() if v is not None}


def from_av(item: dict[str, Any]) -> dict[str, Any]:
    de = _deserializer()
    out = {k: de.deserialize(v) for k, v in item.items()}
    for key, value in out.items():
        # Numbers come back as Decimal; every number we store is a whole number.
        if type(value).__name__ == "Decimal":
            out[key] = int(value)
    return out


def table() -> str:
    return get_settings().table_name


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def transfer_key(transfer_id: str) -> dict[str, Any]:
    return key(f"T#{transfer_id}", META)


# ---------------------------------------------------------------------------- index keys


def index_keys(t: Transfer) -> dict[str, str | None]:
    """The GSI attributes this transfer should carry in its current state (None = absent)."""
    keys: dict[str, str | None] = {
        "GSI1PK": None,
        "GSI1SK": None,
        "GSI2PK": f"FROM#{t.source}",
        "GSI2SK": f"{t.created_at}#{t.transfer_id}",
        "GSI3PK": f"LA#{t.source_la}",
        "GSI3SK": f"{t.created_at}#{t.transfer_id}",
        "GSI4PK": None,
        "GSI4SK": None,
        "GSI5PK": None,
        "GSI5SK": None,
        "GSI6PK": None,
        "GSI6SK": None,
    }
    if t.available_at is not None:
        keys["GSI1PK"] = "TO#LPD" if t.is_lpd else f"TO#{t.recipient_org}"
        keys["GSI1SK"] = f"{t.available_at}#{t.transfer_id}"
        if t.dest_la and t.dest_la != t.source_la and not t.is_lpd:
            keys["GSI4PK"] = f"LA#{t.dest_la}"
            keys["GSI4SK"] = f"{t.available_at}#{t.transfer_id}"
    if t.status == "available" and t.available_at is not None and t.dest_la and not t.is_lpd:
        keys["GSI6PK"] = f"UNDL#{t.dest_la}"
        keys["GSI6SK"] = f"{t.available_at}#{t.transfer_id}"
    if t.is_lpd and t.upn and t.status not in ("pending_upload", "rejected"):
        keys["GSI4PK"] = f"UPN#{t.upn}"
        keys["GSI4SK"] = f"{t.available_at or t.created_at}#{t.transfer_id}"
    if t.status not in TERMINAL:
        from s2s.domain.transfers import PENDING_EXPIRY_GRACE

        due = (
            clock.parse(t.upload_expires_at) + PENDING_EXPIRY_GRACE
            if t.status == "pending_upload"
            else clock.parse(t.expires_at)
        )
        keys["GSI5PK"] = f"EXPDAY#{clock.day(due)}"
        keys["GSI5SK"] = f"{clock.iso(due)}#{t.transfer_id}"
    return keys


def transfer_item(t: Transfer) -> dict[str, Any]:
    data = t.to_dict()
    data.update({k: v for k, v in index_keys(t).items() if v is not None})
    data.update({"PK": f"T#{t.transfer_id}", "SK": META, "kind": "transfer"})
    return to_av(data)


# ---------------------------------------------------------------------------- audit and outbox


@dataclass(frozen=True)
class Actor:
    """Who did something, for the audit trail. `system` for the landing check and the sweep."""

    user: str
    org: str
    source_ip: str = ""
    user_agent: str = ""
    email: str = ""

    @classmethod
    def system(cls, name: str) -> Actor:
        return cls(user=name, org="S2S")


def audit_put(
    transfer_id: str, action: str, actor: Actor, at: str, details: dict[str, Any] | None = None
) -> TransactWriteItemTypeDef:
    item = {
        "PK": f"T#{transfer_id}",
        # Sorted by time, then by this container's counter; the random part keeps two containers
        # that write for the same transfer in the same microsecond from overwriting each other.
        "SK": f"A#{at}#{next(_counter) % 1_000_000:06d}-{secrets_module.token_hex(8)}",
        "kind": "audit",
        "action": action,
        "at": at,
        "actor_user": actor.user,
        "actor_org": actor.org,
        "actor_email": actor.email,
        "source_ip": actor.source_ip,
        "user_agent": actor.user_agent,
        "details": json.dumps(details or {}, sort_keys=True),
    }
    return {"Put": {"TableName": table(), "Item": to_av(item)}}


def write_audit(transfer_id: str, action: str, actor: Actor, details: dict[str, Any] | None = None) -> None:
    """An audit event outside a state change (for example an email sent)."""
    put = audit_put(transfer_id, action, actor, clock.now_iso(), details)["Put"]
    dynamodb().put_item(TableName=put["TableName"], Item=put["Item"])


def outbox_put(event: dict[str, Any]) -> TransactWriteItemTypeDef:
    item = {
        "PK": f"T#{event['transfer_id']}",
        "SK": f"OUTBOX#{event['type']}",
        "kind": "outbox",
        "GSI5PK": "OUTBOX",
        "GSI5SK": f"{event['occurred_at']}#{event['transfer_id']}",
        "event": json.dumps(event, sort_keys=True),
    }
    return {"Put": {"TableName": table(), "Item": to_av(item)}}


def lease_outbox(transfer_id: str, event_type: str, seconds: int = 60) -> bool:
    """Take the right to publish this outbox event for a while, so that parallel deliveries of
    the same S3 event publish it once. False when it is gone or someone else holds it."""
    at = clock.now()
    from datetime import timedelta

    try:
        dynamodb().update_item(
            TableName=table(),
            Key=key(f"T#{transfer_id}", f"OUTBOX#{event_type}"),
            UpdateExpression="SET leased_until = :until",
            ConditionExpression="attribute_exists(PK) AND (attribute_not_exists(leased_until) OR leased_until < :now)",
            ExpressionAttributeValues={
                ":until": {"S": clock.iso(at + timedelta(seconds=seconds))},
                ":now": {"S": clock.iso(at)},
            },
        )
    except dynamodb().exceptions.ConditionalCheckFailedException:
        return False
    return True


def release_outbox(transfer_id: str, event_type: str) -> None:
    """Give the lease back after a failed publish, so the next delivery can try at once."""
    try:
        dynamodb().update_item(
            TableName=table(),
            Key=key(f"T#{transfer_id}", f"OUTBOX#{event_type}"),
            UpdateExpression="REMOVE leased_until",
            ConditionExpression="attribute_exists(PK)",
        )
    except dynamodb().exceptions.ConditionalCheckFailedException:
        return


def delete_outbox(transfer_id: str, event_type: str) -> None:
    dynamodb().delete_item(TableName=table(), Key=key(f"T#{transfer_id}", f"OUTBOX#{event_type}"))


def outbox_for(transfer_id: str) -> list[dict[str, Any]]:
    resp = dynamodb().query(
        TableName=table(),
        KeyConditionExpression="PK = :pk AND begins_with(SK, :o)",
        ExpressionAttributeValues={":pk": {"S": f"T#{transfer_id}"}, ":o": {"S": "OUTBOX#"}},
    )
    return [json.loads(from_av(i)["event"]) for i in resp.get("Items", [])]


def outbox_older_than(at: str, limit: int = 100) -> list[dict[str, Any]]:
    resp = dynamodb().query(
        TableName=table(),
        IndexName="GSI5",
        KeyConditionExpression="GSI5PK = :o AND GSI5SK < :at",
        ExpressionAttributeValues={":o": {"S": "OUTBOX"}, ":at": {"S": at}},
        Limit=limit,
    )
    return [json.loads(from_av(i)["event"]) for i in resp.get("Items", [])]


# ---------------------------------------------------------------------------- counters


def counter_updates(deltas: CounterDeltas) -> list[TransactWriteItemTypeDef]:
    updates: list[TransactWriteItemTypeDef] = []
    for (scope, day), changes in sorted(deltas.deltas.items()):
        metrics = {m: d for m, d in changes.items() if d}
        if not metrics:
            continue
        if scope.startswith("SCHOOL#"):
            _, la, org = scope.split("#")
            item_key = key(f"CNT#LA#{la}#S", f"D#{day}#{org}")
            extra = {":org": {"S": org}, ":la": {"S": la}}
            set_expr = " SET org = :org, la = :la, #d = :day"
        else:
            item_key = key(f"CNT#{scope}", f"D#{day}")
            extra = {}
            set_expr = " SET #d = :day"
        names = {f"#m{i}": m for i, m in enumerate(metrics)}
        values = {f":v{i}": {"N": str(d)} for i, d in enumerate(metrics.values())}
        add = "ADD " + ", ".join(f"#m{i} :v{i}" for i in range(len(metrics)))
        updates.append(
            {
                "Update": {
                    "TableName": table(),
                    "Key": item_key,
                    "UpdateExpression": add + set_expr,
                    "ExpressionAttributeNames": {**names, "#d": "day"},
                    "ExpressionAttributeValues": {**values, **extra, ":day": {"S": day}},
                }
            }
        )
    return updates


# ---------------------------------------------------------------------------- transfers


def get_transfer(transfer_id: str, *, consistent: bool = True) -> Transfer | None:
    if not transfer_id or len(transfer_id) > 64:
        return None
    resp = dynamodb().get_item(TableName=table(), Key=transfer_key(transfer_id), ConsistentRead=consistent)
    item = resp.get("Item")
    return Transfer.from_dict(from_av(item)) if item else None


class ExtraConditionFailed(Exception):
    """One of the extra items of a transaction (for example the daily quota) refused it."""


def create_transfer(
    t: Transfer, actor: Actor, details: dict[str, Any] | None = None, extra: Iterable[TransactWriteItemTypeDef] = ()
) -> None:
    """Put a new transfer with its first audit event and any `extra` conditional items."""
    try:
        dynamodb().transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": table(),
                        "Item": transfer_item(t),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
                audit_put(t.transfer_id, "created", actor, t.created_at, details),
                *extra,
            ]
        )
    except dynamodb().exceptions.TransactionCanceledException as exc:
        reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
        if any(code == "ConditionalCheckFailed" for code in reasons[2:]):
            raise ExtraConditionFailed(t.transfer_id) from exc
        raise


def commit_change(
    before: Transfer,
    after: Transfer,
    *,
    allowed_from: Iterable[Status],
    action: str,
    actor: Actor,
    at: str,
    deltas: CounterDeltas | None = None,
    event: dict[str, Any] | None = None,
    audit_details: dict[str, Any] | None = None,
    extra_condition: str | None = None,
    extra_values: dict[str, Any] | None = None,
) -> None:
    """Write `after` over `before` in one transaction with its audit event, outbox event and
    counters, on condition that the stored status is one of `allowed_from` and the version is the
    one we read (so two racing changes cannot both win). Raises TransitionConflict otherwise."""
    after.version = before.version + 1
    statuses = list(allowed_from)
    values: dict[str, Any] = {f":s{i}": {"S": s} for i, s in enumerate(statuses)}
    values[":v"] = {"N": str(before.version)}
    condition = f"#status IN ({', '.join(values.keys() - {':v'})}) AND (attribute_not_exists(version) OR version = :v)"
    if extra_condition:
        condition += f" AND ({extra_condition})"
        values.update(extra_values or {})
    items: list[TransactWriteItemTypeDef] = [
        {
            "Put": {
                "TableName": table(),
                "Item": transfer_item(after),
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": values,
            }
        },
        audit_put(after.transfer_id, action, actor, at, audit_details),
    ]
    if event is not None:
        items.append(outbox_put(event))
    if deltas is not None:
        items.extend(counter_updates(deltas))
    try:
        dynamodb().transact_write_items(TransactItems=items)
    except dynamodb().exceptions.TransactionCanceledException as exc:
        reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
        if reasons and reasons[0] == "ConditionalCheckFailed":
            raise TransitionConflict(after.transfer_id) from exc
        raise


def record_download(t: Transfer, actor: Actor, at: str) -> None:
    """A download receipt (audit event), on condition that the file is still live and unexpired.
    Receipts are audit events only, so parallel downloads never contend on the transfer item."""
    dynamodb().transact_write_items(
        TransactItems=[
            {
                "ConditionCheck": {
                    "TableName": table(),
                    "Key": transfer_key(t.transfer_id),
                    "ConditionExpression": "#status IN (:a, :d) AND expires_at > :now",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {
                        ":a": {"S": "available"},
                        ":d": {"S": "downloaded"},
                        ":now": {"S": at},
                    },
                }
            },
            audit_put(
                t.transfer_id, "downloaded", actor, at, {"source_ip": actor.source_ip, "user_agent": actor.user_agent}
            ),
        ]
    )


def audit_events(transfer_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": table(),
        "KeyConditionExpression": "PK = :pk AND begins_with(SK, :a)",
        "ExpressionAttributeValues": {":pk": {"S": f"T#{transfer_id}"}, ":a": {"S": "A#"}},
    }
    while True:
        resp = dynamodb().query(**kwargs)
        for raw in resp.get("Items", []):
            data = from_av(raw)
            items.append(
                {
                    "action": data["action"],
                    "at": data["at"],
                    "actor_user": data["actor_user"],
                    "actor_org": data["actor_org"],
                    "actor_email": data.get("actor_email", ""),
                    "source_ip": data.get("source_ip", ""),
                    "user_agent": data.get("user_agent", ""),
                    "details": json.loads(data.get("details") or "{}"),
                }
            )
        if "LastEvaluatedKey" not in resp:
            return items
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


# ---------------------------------------------------------------------------- lists and cursors


# Cursors are opaque to callers and signed: a cursor we did not write (hand-made, altered, or
# signed with another key) is a 422 before anything in it is read, so its contents can never reach
# DynamoDB as a start key of someone else's choosing, nor crash a handler.
_CURSOR_SIG_BYTES = 32
_local_cursor_key: list[bytes] = []


def _bad_cursor() -> InvalidRequest:
    return InvalidRequest(
        "The cursor is not one we gave out. Ask for the first page again (leave out cursor).",
        details=[{"field": "cursor", "reason": "invalid"}],
    )


@functools.cache
def _secret_cursor_key(arn: str) -> bytes:
    from s2s.adapters.aws import secrets

    return secrets().get_secret_value(SecretId=arn)["SecretString"].encode("utf-8")


def cursor_key() -> bytes:
    """The HMAC key for cursors. In AWS it is the `CursorKey` secret, read once per container, so
    every container of every function signs with the same key."""
    settings = get_settings()
    if settings.cursor_key:
        return settings.cursor_key.encode("utf-8")
    if settings.cursor_secret_arn:
        return _secret_cursor_key(settings.cursor_secret_arn)
    if "AWS_LAMBDA_FUNCTION_NAME" in os.environ:
        # A per-container key would make the next page fail on another container: refuse loudly.
        raise RuntimeError("CURSOR_SECRET_ARN is not set: list cursors cannot be signed")
    if not _local_cursor_key:
        _local_cursor_key.append(secrets_module.token_bytes(32))
    return _local_cursor_key[0]


def _cursor_signature(payload: bytes) -> bytes:
    return hmac.new(cursor_key(), b"s2s-cursor-v1." + payload, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    if not text or not text.isascii() or len(text) % 4 == 1:
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode("ascii"))


def encode_cursor(state: dict[str, Any]) -> str:
    """`<payload>.<signature>`, both base64url: the list's position as JSON, and its HMAC-SHA256."""
    payload = json.dumps(state, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return f"{_b64(payload)}.{_b64(_cursor_signature(payload))}"


def decode_cursor(cursor: str) -> dict[str, Any]:
    """The state of a cursor we signed, or 422 `validation_error` (field `cursor`)."""
    body, dot, signature = cursor.partition(".")
    try:
        payload, given = _unb64(body), _unb64(signature)
    except (ValueError, binascii.Error):
        raise _bad_cursor() from None
    if not dot or len(given) != _CURSOR_SIG_BYTES or not hmac.compare_digest(given, _cursor_signature(payload)):
        raise _bad_cursor()
    try:
        state = json.loads(payload)
    except ValueError:
        raise _bad_cursor() from None
    if not isinstance(state, dict):
        raise _bad_cursor()
    return state


def query_index(
    index: str, pk_value: str, *, limit: int, start: dict[str, Any] | None
) -> tuple[list[Transfer], dict[str, Any] | None]:
    """Newest first, one page of transfers under one index partition."""
    pk_name = f"{index}PK"
    kwargs: dict[str, Any] = {
        "TableName": table(),
        "IndexName": index,
        "KeyConditionExpression": "#pk = :pk",
        "ExpressionAttributeNames": {"#pk": pk_name},
        "ExpressionAttributeValues": {":pk": {"S": pk_value}},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if start:
        kwargs["ExclusiveStartKey"] = start
    resp = dynamodb().query(**kwargs)
    transfers = [Transfer.from_dict(from_av(i)) for i in resp.get("Items", [])]
    return transfers, resp.get("LastEvaluatedKey")


def iter_index(
    index: str,
    pk_value: str,
    *,
    sk_from: str | None = None,
    sk_to: str | None = None,
    newest_first: bool = False,
    page: int = 100,
) -> Iterator[dict[str, Any]]:
    """Every item under one index partition (optionally a sort-key range), as plain dicts."""
    names = {"#pk": f"{index}PK", "#sk": f"{index}SK"}
    values: dict[str, Any] = {":pk": {"S": pk_value}}
    condition = "#pk = :pk"
    if sk_from is not None and sk_to is not None:
        condition += " AND #sk BETWEEN :a AND :b"
        values.update({":a": {"S": sk_from}, ":b": {"S": sk_to}})
    elif sk_to is not None:
        condition += " AND #sk <= :b"
        values[":b"] = {"S": sk_to}
    else:
        names.pop("#sk")
    kwargs: dict[str, Any] = {
        "TableName": table(),
        "IndexName": index,
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": not newest_first,
        "Limit": page,
    }
    while True:
        resp = dynamodb().query(**kwargs)
        for item in resp.get("Items", []):
            yield from_av(item)
        if "LastEvaluatedKey" not in resp:
            return
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


# ---------------------------------------------------------------------------- organisations


def org_name_update(org: str, name: str, at: datetime) -> TransactWriteItemTypeDef:
    """The update that keeps an organisation's display name (from its users' tokens)."""
    return {
        "Update": {
            "TableName": table(),
            "Key": key(f"ORG#{org}", "PROFILE"),
            "UpdateExpression": "SET #n = :n, seen_at = :at",
            "ExpressionAttributeNames": {"#n": "name"},
            "ExpressionAttributeValues": {":n": {"S": name[:200]}, ":at": {"S": clock.iso(at)}},
        }
    }


def remember_org_name(org: str, name: str, at: datetime) -> None:
    """Keep the organisation's display name for emails and reports."""
    if not name:
        return
    update = org_name_update(org, name, at)["Update"]
    dynamodb().update_item(**update)


def org_name(org: str) -> str | None:
    """The establishment directory's name for it, else its display name from its users' tokens."""
    from s2s.adapters.directory import org_names as directory_names

    return directory_names({org}).get(org) or org_profile(org)[0]


# BatchGetItem may leave keys unprocessed under load; a few quick rounds, then a clear failure.
_BATCH_ROUNDS = 5


def batch_get(keys: list[dict[str, Any]], *, projection: str, consistent: bool = False) -> list[dict[str, Any]]:
    """The items at these keys (at most 100) in one BatchGetItem, retrying what DynamoDB leaves
    unprocessed. `projection` may name `name` as `#n` (a reserved word)."""
    if not keys:
        return []
    request: dict[str, Any] = {
        table(): {
            "Keys": keys,
            "ConsistentRead": consistent,
            "ProjectionExpression": projection,
            **({"ExpressionAttributeNames": {"#n": "name"}} if "#n" in projection else {}),
        }
    }
    items: list[dict[str, Any]] = []
    for _ in range(_BATCH_ROUNDS):
        resp = dynamodb().batch_get_item(RequestItems=request)
        items.extend(resp.get("Responses", {}).get(table(), []))
        request = dict(resp.get("UnprocessedKeys") or {})
        if not request:
            return items
    raise RuntimeError("DynamoDB left keys unprocessed after several rounds")


def org_names(orgs: Iterable[str]) -> dict[str, str]:
    """Display names of these organisations: the establishment directory's, else as their users'
    tokens last gave them (one BatchGetItem for those); an organisation neither knows is absent."""
    from s2s.adapters.directory import org_names as directory_names

    wanted = sorted({org for org in orgs if org})[:100]
    found = directory_names(set(wanted))
    rest = [org for org in wanted if org not in found]
    items = batch_get([key(f"ORG#{org}", "PROFILE") for org in rest], projection="PK, #n")
    names = {str(item["PK"]["S"]).removeprefix("ORG#"): str(item["name"]["S"]) for item in items if "name" in item}
    return {**names, **found}


def org_profile(org: str) -> tuple[str | None, int]:
    """An organisation's display name and how many addresses get its emails, from its one
    `PROFILE` item (one GetItem for both)."""
    item = dynamodb().get_item(TableName=table(), Key=key(f"ORG#{org}", "PROFILE")).get("Item")
    return profile_fields(item)


def profile_fields(item: Mapping[str, Any] | None) -> tuple[str | None, int]:
    if not item:
        return None, 0
    name = str(item["name"]["S"]) if "name" in item else None
    count = max(int(item["subscriber_count"]["N"]), 0) if "subscriber_count" in item else 0
    return name, count


# ---------------------------------------------------------------------------- the sweep's watermark


def last_sweep_day() -> str | None:
    item = dynamodb().get_item(TableName=table(), Key=key("SWEEP", "STATE")).get("Item")
    return str(item["day"]["S"]) if item and "day" in item else None


def record_sweep_day(day: str) -> None:
    dynamodb().update_item(
        TableName=table(),
        Key=key("SWEEP", "STATE"),
        UpdateExpression="SET #d = :d",
        ExpressionAttributeNames={"#d": "day"},
        ExpressionAttributeValues={":d": {"S": day}},
    )
