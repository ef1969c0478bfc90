"""Landing check: every object created under incoming/ arrives here (S3 -> SQS -> Lambda).

Each SQS record may hold several S3 records; every one is handled, keys are URL-decoded, and a
failure reports only its own SQS message for a retry (partial batch response). Handling is
idempotent, so a message delivered twice, or five times in parallel, decides a transfer once."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from s2s.runtime.batch import SQSRecord, process_batch
from s2s.runtime.log import logger, metrics, trace_handler
from s2s.runtime.snapstart import prepare as prepare_snapstart
from s2s.services import landing


def s3_objects(body: str) -> list[tuple[str, str]]:
    """(bucket, key) for every ObjectCreated record in an S3 notification. S3's own test event
    has no Records and yields nothing."""
    message = json.loads(body)
    objects = []
    for record in message.get("Records", []):
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        s3 = record["s3"]
        objects.append((s3["bucket"]["name"], unquote_plus(s3["object"]["key"])))
    return objects


def handle_record(record: SQSRecord) -> list[str]:
    outcomes: list[str] = []
    for bucket, key in s3_objects(record.body):
        outcomes.append(landing.handle_landed_object(bucket, key))
    return outcomes


prepare_snapstart(("s3", "dynamodb", "sns"))


@logger.inject_lambda_context(clear_state=True)
@trace_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_batch(event, context, handle_record)
