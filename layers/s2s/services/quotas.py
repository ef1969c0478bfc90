"""Per-organisation daily upload quota (count and bytes): charged in the same transaction that
creates the transfer, so parallel requests cannot overshoot it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from s2s.adapters import quotas
from s2s.runtime.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef


def charge(org: str, size_bytes: int, at: datetime) -> list[TransactWriteItemTypeDef]:
    """The conditional update that books one more upload of `size_bytes` for `org` today."""
    settings = get_settings()
    return [
        quotas.charge(org, size_bytes, at, max_count=settings.daily_upload_count, max_bytes=settings.daily_upload_bytes)
    ]


def seconds_until_tomorrow(at: datetime) -> int:
    tomorrow = (at + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((tomorrow - at).total_seconds()))


def fits_alone(size_bytes: int) -> bool:
    return size_bytes <= get_settings().daily_upload_bytes
