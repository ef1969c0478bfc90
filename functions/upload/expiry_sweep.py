"""Scheduled sweep (hourly): mark expired transfers and delete their objects, remind recipients
of files about to expire that nobody downloaded, and publish the events an earlier run left in the
outbox (transfers' and secure messages'). Expiry is also enforced at every read; this only makes
the records and the bucket catch up."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from s2s.runtime.log import Metric, count, logger, metrics, trace_handler
from s2s.runtime.snapstart import prepare as prepare_snapstart
from s2s.services import sweep

prepare_snapstart(("s3", "dynamodb", "sns"))


@logger.inject_lambda_context(clear_state=True)
@trace_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    report = sweep.sweep()
    count(Metric.SWEEP_EXPIRED, report.expired)
    logger.info("sweep done", extra=asdict(report))
    return asdict(report)
