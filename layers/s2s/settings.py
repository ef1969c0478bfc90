"""Settings from the environment, read once on first use (never at import)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True, slots=True)
class Settings:
    table_name: str
    bucket_name: str
    topic_arn: str
    max_upload_bytes: int
    retention_days: int
    upload_url_seconds: int
    download_url_seconds: int
    portal_url: str
    sender_email: str
    lrs_endpoint: str
    lrs_secret_arn: str
    expiring_within_days: int
    daily_upload_count: int
    daily_upload_bytes: int
    cursor_key: str
    cursor_secret_arn: str


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


@cache
def get_settings() -> Settings:
    """The settings for this process. Tests that change the environment call `get_settings.cache_clear()`."""
    env = os.environ.get
    return Settings(
        table_name=env("TABLE_NAME", "s2s-transfers"),
        bucket_name=env("BUCKET_NAME", "s2s-files"),
        topic_arn=env("TOPIC_ARN", ""),
        max_upload_bytes=_int("MAX_UPLOAD_BYTES", 50 * 1024 * 1024),
        retention_days=_int("RETENTION_DAYS", 60),
        # The presigned POST must be used within 15 minutes at most (SPEC §5).
        upload_url_seconds=min(_int("UPLOAD_URL_SECONDS", 900), 900),
        download_url_seconds=min(_int("DOWNLOAD_URL_SECONDS", 300), 300),
        portal_url=env("PORTAL_URL", "http://127.0.0.1:3001").rstrip("/"),
        sender_email=env("SENDER_EMAIL", "no-reply@s2s.example"),
        lrs_endpoint=env("LRS_ENDPOINT", ""),
        lrs_secret_arn=env("LRS_SECRET_ARN", ""),
        expiring_within_days=_int("EXPIRING_WITHIN_DAYS", 7),
        daily_upload_count=_int("DAILY_UPLOAD_COUNT", 500),
        daily_upload_bytes=_int("DAILY_UPLOAD_BYTES", 2 * 1024 * 1024 * 1024),
        # The key that signs list cursors: CURSOR_KEY itself (local tools), else the secret named
        # by CURSOR_SECRET_ARN (AWS, the local stack and the tests), else one made per process.
        cursor_key=env("CURSOR_KEY", ""),
        cursor_secret_arn=env("CURSOR_SECRET_ARN", ""),
    )
