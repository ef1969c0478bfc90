"""Landing check: every object created under incoming/ arrives here (S3 -> SQS -> Lambda).

Each SQS record may hold several S3 records; every one is handled, keys are URL-decoded, and a
failure reports only its own SQS message for a retry (partial batch response). Handling is
idempotent, so a message delivered twice, or five times in parallel, decides a transfer once."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from s2s import uploads

logger = Logger(service="s2s")
# A batch whose every record failed is reported like any other, not raised as a function error.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


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
        outcomes.append(uploads.handle_landed_object(bucket, key))
    return outcomes


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
    )
