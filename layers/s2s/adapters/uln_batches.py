"""ULN batches in the one DynamoDB table (docs/SERVICE.md "ULNs in bulk").

Item layout (PK / SK), all under `ULNB#<batch id>`:
- `META`: the batch (`s2s.domain.uln_batches.UlnBatch`); GSI2 `ULNBATCHES#<org>` / `<created>#<id>`
  lists an organisation's batches newest first. `ttl` at the end of the retention period.
- `P#<seq>#D`: one pupil as read from the file (UPN, names, date of birth, LRS gender, postcode,
  the ULN the file gave, and which job it goes to). `ttl` as the batch.
- `P#<seq>#O`: that pupil's outcome (written at validation for a data error, else from the LRS
  output). A pupil's two items sort together, so one Query in key order reads pupils in file order.
- `A#<at>#<random>`: audit events (every step). No `ttl`: they outlive the file and its results.

Reads are GetItem and Query through boto3's paginator, never a Scan, and values go through the one
codec, all by way of `s2s.adapters.dynamo`. Rows are written 25 at a time with BatchWriteItem,
unprocessed items retried, so a 5,000-pupil file is 200 requests; they are read 40 at a time, so
memory holds a small page whatever the batch.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from s2s.adapters import dynamo
from s2s.adapters.aws import s3, sqs
from s2s.adapters.transfers import Actor
from s2s.domain import clock
from s2s.domain.uln_batches import UlnBatch, allowed_from

PAGE_ITEMS = 40


class BatchChanged(Exception):
    """The batch was not in a state that allows this change (another delivery got there first)."""


def _pk(batch_id: str) -> str:
    return f"ULNB#{batch_id}"


def _ttl(batch: UlnBatch) -> int:
    return int(clock.parse(batch.expires_at).timestamp())


def _meta(batch: UlnBatch) -> dict[str, Any]:
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
    return values


def _audit(batch_id: str, action: str, actor: Actor, details: dict[str, Any] | None) -> dict[str, Any]:
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
    return values


def audit_op(batch_id: str, action: str, actor: Actor, details: dict[str, Any] | None = None) -> Any:
    """The Put of one audit event, for a transaction (e.g. with an email's sending record)."""
    return dynamo.put_op(_audit(batch_id, action, actor, details))


def _meta_put(batch: UlnBatch, condition: str, values: dict[str, Any] | None = None) -> Any:
    names = {"#status": "status"} if values else None
    return dynamo.put_op(_meta(batch), condition=condition, names=names, values=values)


def create(batch: UlnBatch, actor: Actor, details: dict[str, Any]) -> None:
    """The new batch and its `created` audit event, in one transaction."""
    dynamo.transact(
        [
            _meta_put(batch, "attribute_not_exists(PK)"),
            audit_op(batch.batch_id, "created", actor, details),
        ]
    )


def get(batch_id: str) -> UlnBatch | None:
    item = dynamo.get(dynamo.key(_pk(batch_id), "META"))
    return UlnBatch.from_dict(item) if item else None


def save(batch: UlnBatch, *, change: str, actor: Actor, details: dict[str, Any] | None = None) -> None:
    """Write the batch as it is after `change` (a move's change is its new status), with the
    change's audit event, in one transaction, on condition that the stored status is one the state
    machine allows the change from. Raises `BatchChanged` when the status moved on meanwhile."""
    allowed = sorted(allowed_from(change, batch.status))
    values = {f":s{i}": status for i, status in enumerate(allowed)}
    put = _meta_put(batch, f"#status IN ({', '.join(values)})", values)
    try:
        dynamo.transact([put, audit_op(batch.batch_id, change, actor, details)])
    except dynamo.TransactionCancelled as exc:
        raise BatchChanged(batch.batch_id) from exc


def audit(batch_id: str, action: str, actor: Actor, details: dict[str, Any] | None = None) -> None:
    dynamo.put(_audit(batch_id, action, actor, details))


def audit_events(batch_id: str) -> list[dict[str, Any]]:
    return list(dynamo.query("PK = :pk AND begins_with(SK, :a)", {":pk": _pk(batch_id), ":a": "A#"}))


def list_for_org(org: str, *, limit: int, start: dict[str, Any] | None) -> tuple[list[UlnBatch], dict[str, Any] | None]:
    """One page of an organisation's batches, newest first."""
    page = dynamo.query_page(
        "GSI2PK = :pk", {":pk": f"ULNBATCHES#{org}"}, limit=limit, start=start, index="GSI2", newest_first=True
    )
    return [UlnBatch.from_dict(i) for i in page.items], page.last_key


# ---------------------------------------------------------------------------- pupils


def _seq(seq: int) -> str:
    return f"{seq:05d}"


def _row(batch: UlnBatch, seq: int, row: str, values: dict[str, Any]) -> dict[str, Any]:
    suffix = "D" if row == "pupil" else "O"
    keys = {"PK": _pk(batch.batch_id), "SK": f"P#{_seq(seq)}#{suffix}", "row": row, "seq": seq, "ttl": _ttl(batch)}
    return dynamo.to_item({**values, **keys})


def pupil_item(batch: UlnBatch, seq: int, values: dict[str, Any]) -> dict[str, Any]:
    return _row(batch, seq, "pupil", values)


def outcome_item(batch: UlnBatch, seq: int, values: dict[str, Any]) -> dict[str, Any]:
    return _row(batch, seq, "outcome", values)


class RowWriter:
    """Puts items 25 at a time (BatchWriteItem), retrying what DynamoDB left unprocessed."""

    def __init__(self) -> None:
        self._pending: list[dynamo.RawItem] = []
        self.requests = 0

    def put(self, item: dynamo.RawItem) -> None:
        self._pending.append(item)
        if len(self._pending) == dynamo.BATCH_WRITE_ITEMS:
            self.flush()

    def flush(self) -> None:
        items, self._pending = self._pending, []
        if items:
            self.requests += dynamo.batch_put(items)

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
    return dynamo.query(
        "PK = :pk AND SK BETWEEN :a AND :b", {":pk": _pk(batch_id), ":a": sk_from, ":b": sk_to}, page_size=PAGE_ITEMS
    )


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


def open_file(bucket: str, key: str, etag: str) -> IO[bytes]:
    """The landed file as a stream (S3's body reads like a binary file), pinned to `etag`."""
    body: Any = s3().get_object(Bucket=bucket, Key=key, IfMatch=etag)["Body"]
    return body


# ---------------------------------------------------------------------------- the worker's queue


def send_step(queue_url: str, message: dict[str, Any], delay_seconds: int) -> None:
    """A next step for the worker, delivered after `delay_seconds` (SQS allows 0 to 900)."""
    import json

    sqs().send_message(
        QueueUrl=queue_url, MessageBody=json.dumps(message), DelaySeconds=max(0, min(900, delay_seconds))
    )
