"""Uploads started per organisation per day: `QUOTA#<org>` / `D#<day>`, charged in the same
transaction that creates the transfer, so parallel requests cannot overshoot the limit; DynamoDB's
TTL removes the item after three days."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from s2s.adapters import dynamo
from s2s.domain import clock

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef


def charge(org: str, size_bytes: int, at: datetime, *, max_count: int, max_bytes: int) -> TransactWriteItemTypeDef:
    """The conditional update that books one more upload of `size_bytes` for `org` on `at`'s day,
    refused when the day already has `max_count` uploads or the bytes would pass `max_bytes`."""
    return dynamo.update_op(
        dynamo.key(f"QUOTA#{org}", f"D#{clock.day(at)}"),
        "ADD uploads :one, upload_bytes :size SET #ttl = :ttl",
        condition="attribute_not_exists(uploads) OR (uploads < :max_count AND upload_bytes <= :room)",
        names={"#ttl": "ttl"},
        values={
            ":one": 1,
            ":size": size_bytes,
            ":max_count": max_count,
            ":room": max_bytes - size_bytes,
            ":ttl": int((at + timedelta(days=3)).timestamp()),
        },
    )
