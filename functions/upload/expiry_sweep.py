"""Scheduled sweep (hourly): mark expired transfers and delete their objects, remind recipients
of files about to expire that nobody downloaded, and publish events an earlier run left behind.
Expiry is also enforced at every read; this only makes the records and the bucket catch up."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from s2s import uploads
from s2s.log import bind, logger


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    bind(context)
    report = uploads.sweep()
    logger.info("sweep done", extra=asdict(report))
    return asdict(report)
