"""Scheduled sweep (hourly): mark expired transfers and delete their objects, remind recipients
of files about to expire that nobody downloaded, and publish events an earlier run left behind.
Expiry is also enforced at every read; this only makes the records and the bucket catch up."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from s2s import uploads

logger = Logger(service="s2s")


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = uploads.sweep()
    logger.info("sweep done", extra=asdict(report))
    return asdict(report)
