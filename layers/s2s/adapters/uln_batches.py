"""ULN batches in the one DynamoDB table (docs/SERVICE.md "ULNs in bulk").

Item layout (PK / SK), all under `ULNB#<batch id>`:
- `META`: the batch (`s2s.domain.uln_batches.UlnBatch`); GSI2 `ULNBATCHES#<org>` / `<created>#<id>`
  lists an organisation's batches newest first. `ttl` at the end of the retention period.
- `P#<seq>#D`: one pupil as read from the file (UPN, names, date of birth, LRS gender, postcode,
  the ULN the file gave, and which job it goes to). `ttl` as the batch.
- `P#<seq>#O`: that pupil's outcome (written at validation for a data error, else from the LRS
  output). A pupil's two items sort together, so one Query in key order reads pupils in file order.
- `A#<at>#<random>`: audit events (every step). No `ttl`: they outlive the file and its results.

Reads are GetItem and Query through boto3's paginator, never a Scan; values go through boto3's
TypeSerializer/TypeDeserializer (`s2s.adapters.store.to_av` / `from_av`). Rows are written 25 at a
time with BatchWriteItem, unprocessed items retried, so a 5,000-pupil file is 200 requests.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from s2s.adapters.aws import dynamodb, s3
from s2s.adapters.store import Actor, from_av, key, table, to_av
from s2s.domain import clock
from s2s.domain.uln_batches import UlnBatch

MAX_BATCH_WRITE = 25


class BatchChanged(Exception):
    """The batch was not in a state that allows this change (another delivery got there first)."""


def _pk(batch_id: str) -> str:
    return f"ULNB#{batch_id}"


def _ttl(batch: UlnBatch) -> int:
    return int(clock.parse(batch.expires_at).timestamp())


def _meta_item(batch: UlnBatch) -> dict[str, Any]:
    values = batch.to_dict()
    values.update(
        {
            "PK": _pk(batch.batch_id),
            "SK": "META",
            "type": "uln_batch",
            "GSI2PK": f"ULNBATCHES#{batch.org}",
            "GSI2SK": f"{batch.created_at}#{batch.batch_id}",
            "ttl": _ttl(batch),
        }
    )
    return to_av(values)


def audit_item(batch_id: str, action: str, actor: Actor, details: dict[str, Any] | None = None) -> dict[str, Any]:
    at = clock.now_iso()
    values: dict[str, Any] = {
        "PK": _pk(batch_id),
        "SK": f"A#{at}#{uuid.uuid4().hex[:8]}",
        "type": "uln_batch_audit",
        "action": action,
        "at": at,
        "actor_user": actor.user,
        "actor_org": actor.org,
        "source_ip": actor.source_ip or None,
        "details": details or None,
    }
    return to_av(values)


def create(batch: UlnBatch, actor: Actor, details: dict[str, Any]) -> None:
    """The new batch and its `created` audit event, in one transaction."""
    dynamodb().transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": table(),
                    "Item": _meta_item(batch),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
            {"Put": {"TableName": table(), "Item": audit_item(batch.batch_id, "created", actor, details)}},
        ]
    )


def get(batch_id: str) -> UlnBatch | None:
    resp = dynamodb().get_item(TableName=table(), Key=key(_pk(batch_id), "META"), ConsistentRead=True)
    item = resp.get("Item")
    return UlnBatch.from_dict(from_av(item)) if item else None


def save(
    batch: UlnBatch,
    *,
    allowed_from: Iterable[str],
    action: str,
    actor: Actor,
    details: dict[str, Any] | None = None,
) -> None:
    """Write the batch as it is now, if its stored status is one of `allowed_from`, with an audit
    event, in one transaction. Raises `BatchChanged` when the status moved on meanwhile."""
    allowed = sorted(set(allowed_from))
    names = {f":s{i}": {"S": status} for i, status in enumerate(allowed)}
    client = dynamodb()
    try:
        client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": table(),
                        "Item": _meta_item(batch),
                        "ConditionExpression": f"#status IN ({', '.join(names)})",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": names,
                    }
                },
                {"Put": {"TableName": table(), "Item": audit_item(batch.batch_id, action, actor, details)}},
            ]
        )
    except client.exceptions.TransactionCanceledException as exc:
        raise BatchChanged(batch.batch_id) from exc


def audit(batch_id: str, action: str, actor: Actor, details: dict[str, Any] | None = None) -> None:
    dynamodb().put_item(TableName=table(), Item=audit_item(batch_id, action, actor, details))


def audit_events(batch_id: str) -> list[dict[str, Any]]:
    paginator = dynamodb().get_paginator("query")
    events: list[dict[str, Any]] = []
    for page in paginator.paginate(
        TableName=table(),
        KeyConditionExpression="PK = :pk AND begins_with(SK, :a)",
        ExpressionAttributeValues={":pk": {"S": _pk(batch_id)}, ":a": {"S": "A#"}},
    ):
        events.extend(from_av(item) for item in page.get("Items", []))
    return events


def list_for_org(org: str, *, limit: int, start: dict[str, Any] | None) -> tuple[list[UlnBatch], dict[str, Any] | None]:
    """One page of an organisation's batches, newest first."""
    kwargs: dict[str, Any] = {
        "TableName": table(),
        "IndexName": "GSI2",
        "KeyConditionExpression": "GSI2PK = :pk",
        "ExpressionAttributeValues": {":pk": {"S": f"ULNBATCHES#{org}"}},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if start:
        kwargs["ExclusiveStartKey"] = start
    resp = dynamodb().query(**kwargs)
    return [UlnBatch.from_dict(from_av(i)) for i in resp.get("Items", [])], resp.get("LastEvaluatedKey")


# ---------------------------------------------------------------------------- pupils


def _seq(seq: int) -> str:
    return f"{seq:05d}"


def _row(batch: UlnBatch, seq: int, row: str, values: dict[str, Any]) -> dict[str, Any]:
    suffix = "D" if row == "pupil" else "O"
    keys = {"PK": _pk(batch.batch_id), "SK": f"P#{_seq(seq)}#{suffix}", "row": row, "seq": seq, "ttl": _ttl(batch)}
    return to_av({**values, **keys})


def pupil_item(batch: UlnBatch, seq: int, values: dict[str, Any]) -> dict[str, Any]:
    return _row(batch, seq, "pupil", values)


def outcome_item(batch: UlnBatch, seq: int, values: dict[str, Any]) -> dict[str, Any]:
    return _row(batch, seq, "outcome", values)


class RowWriter:
    """Puts items 25 at a time (BatchWriteItem), retrying what DynamoDB left unprocessed."""

    def __init__(self) -> None:
        self._pending: list[dict[str, Any]] = []
        self.requests = 0

    def put(self, item: dict[str, Any]) -> None:
        self._pending.append({"PutRequest": {"Item": item}})
        if len(self._pending) == MAX_BATCH_WRITE:
            self.flush()

    def flush(self) -> None:
        requests, self._pending = self._pending, []
        pause = 0.05
        while requests:
            self.requests += 1
            resp = dynamodb().batch_write_item(RequestItems={table(): requests})  # type: ignore[dict-item]
            requests = [dict(r) for r in resp.get("UnprocessedItems", {}).get(table(), [])]
            if requests:
                time.sleep(pause)
                pause = min(pause * 2, 2.0)

    def __enter__(self) -> RowWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.flush()


@dataclass
class PupilRow:
    seq: int
    pupil: dict[str, Any]
    outcome: dict[str, Any] | None


def _query_rows(batch_id: str, sk_from: str, sk_to: str) -> Iterator[dict[str, Any]]:
    paginator = dynamodb().get_paginator("query")
    for page in paginator.paginate(
        TableName=table(),
        KeyConditionExpression="PK = :pk AND SK BETWEEN :a AND :b",
        ExpressionAttributeValues={":pk": {"S": _pk(batch_id)}, ":a": {"S": sk_from}, ":b": {"S": sk_to}},
        PaginationConfig={"PageSize": 40},
    ):
        for item in page.get("Items", []):
            yield from_av(item)


def rows(batch_id: str, first: int = 1, last: int = 99999) -> Iterator[PupilRow]:
    """Pupils `first`..`last` in file order, each with its outcome when there is one."""
    current: PupilRow | None = None
    for item in _query_rows(batch_id, f"P#{_seq(first)}#", f"P#{_seq(last)}#~"):
        seq = int(item.pop("seq"))
        kind = str(item.pop("row", "pupil"))
        for name in ("PK", "SK", "ttl"):
            item.pop(name, None)
        if current is None or current.seq != seq:
            if current is not None:
                yield current
            current = PupilRow(seq, {}, None)
        if kind == "pupil":
            current.pupil = item
        else:
            current.outcome = item
    if current is not None:
        yield current


# ---------------------------------------------------------------------------- result files

_READ_LIMIT = 64 * 1024


class _SmallReads:
    """A seekable file whose reads return at most 64 KiB: botocore hashes and checksums a body in
    1 MiB reads, and this keeps a return file's upload from holding a megabyte of it at a time."""

    def __init__(self, body: IO[bytes]) -> None:
        self._body = body

    def read(self, size: int = -1) -> bytes:
        return self._body.read(_READ_LIMIT if size is None or size < 0 or size > _READ_LIMIT else size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._body.seek(offset, whence)

    def tell(self) -> int:
        return self._body.tell()


def put_result_file(bucket: str, key: str, body: IO[bytes], content_type: str) -> None:
    """One PutObject streamed from `body` (the return CTF or CSV, a few MB at most)."""
    length = body.seek(0, 2)
    body.seek(0)
    s3().put_object(
        Bucket=bucket,
        Key=key,
        Body=_SmallReads(body),  # type: ignore[arg-type]
        ContentLength=length,
        ContentType=content_type,
    )
