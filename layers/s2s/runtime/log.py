"""Logging, metrics and (optionally) tracing for every function: Powertools' `Logger` and `Metrics`.

- `logger`: one JSON object per line, with `cold_start`, the function's request id and, for the
  API, the correlation id of the HTTP request. Its level comes from Lambda's own log level
  (template.yaml's `LoggingConfig.ApplicationLogLevel`, which Lambda passes as
  `AWS_LAMBDA_LOG_LEVEL`), else `LOG_LEVEL`. The logger is `logging.getLogger("s2s")`, so tests
  read it with `caplog`.
- `metrics`: CloudWatch embedded metric format, namespace `S2S` (the names are `Metric` below),
  flushed once per invocation by `@metrics.log_metrics` on each handler.
- Tracing is off unless the stack's `Tracing` parameter turns it on (`S2S_TRACING=true`): the
  X-Ray SDK costs a cold start even when a `Tracer` is disabled, so it is not even imported then.

Rules that hold for every line and metric (docs/SERVICE.md §4): never a token, password, presigned
URL, email address or learner detail; callers pass identifiers, codes and counts only. Events are
never logged whole."""

from __future__ import annotations

import functools
import logging
import os
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.logging import Logger, correlation_paths
from aws_lambda_powertools.metrics import Metrics, MetricUnit, single_metric

SERVICE = "s2s"
NAMESPACE = "S2S"

F = TypeVar("F", bound=Callable[..., Any])

logger = Logger(service=SERVICE, level=os.environ.get("LOG_LEVEL") or None, use_rfc3339=True)
# The Lambda runtime puts its own handler on the root logger; one line per record is enough.
logger._logger.propagate = "AWS_LAMBDA_FUNCTION_NAME" not in os.environ
# The AWS SDK logs whole requests and answers at DEBUG: a message body on its way to KMS, a presigned
# POST's fields, an LRS password read from Secrets Manager. A deployer who sets the stack's log level
# to DEBUG gets our own lines at DEBUG, never the SDK's.
for _sdk in ("botocore", "boto3", "s3transfer", "urllib3"):
    logging.getLogger(_sdk).setLevel(logging.WARNING)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
# An invocation that counted nothing (most API reads) is normal, not worth a warning per request.
warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)


class Metric:
    """Every metric S2S emits (namespace `S2S`), so the template's alarms and dashboard and the
    code name them the same way."""

    UPLOADS_STARTED = "UploadsStarted"
    FILES_ACCEPTED = "FilesAccepted"
    FILES_REJECTED = "FilesRejected"  # dimension `reason` (not_zip, not_encrypted, ...)
    DOWNLOADS = "Downloads"
    EMAILS_SENT = "EmailsSent"
    EMAILS_FAILED = "EmailsFailed"
    ULN_CALLS = "UlnCalls"  # dimensions `operation` and `outcome` (answered, refused, failed)
    LRS_LATENCY = "LrsLatency"
    SWEEP_EXPIRED = "SweepExpired"
    ULN_BATCHES = "UlnBatches"  # dimensions `outcome` (complete, rejected, failed) and `reason`
    MESSAGES_SENT = "MessagesSent"
    DIRECTORY_LOAD_REFUSED = "DirectoryLoadRefused"  # dimension `reason` (load_much_smaller, unreadable_file, ...)


def count(name: str, value: int = 1) -> None:
    """Add to a metric of this invocation (flushed when the handler returns)."""
    if value:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def count_by(name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count, **dimensions: str) -> None:
    """A metric with its own dimensions (e.g. a rejection by reason), written at once."""
    with single_metric(name=name, unit=unit, value=value, namespace=NAMESPACE) as metric:
        metric.add_dimension(name="service", value=SERVICE)
        for key, dimension in dimensions.items():
            metric.add_dimension(name=key, value=dimension[:250])


def _tracing_on() -> bool:
    return os.environ.get("S2S_TRACING", "").lower() == "true"


@functools.cache
def _tracer() -> Any:
    from aws_lambda_powertools.tracing import Tracer  # the X-Ray SDK comes with it

    return Tracer(service=SERVICE)


def trace_handler(handler: F) -> F:
    """`Tracer.capture_lambda_handler` when the stack turned tracing on; the handler itself when
    not, without importing the X-Ray SDK. Responses carry presigned URLs: never in a trace."""
    if not _tracing_on():
        return handler
    traced: F = _tracer().capture_lambda_handler(handler, capture_response=False)
    return traced


__all__ = [
    "NAMESPACE",
    "SERVICE",
    "Metric",
    "MetricUnit",
    "correlation_paths",
    "count",
    "count_by",
    "logger",
    "metrics",
    "trace_handler",
]
