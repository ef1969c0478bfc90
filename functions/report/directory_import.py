"""The directory import in AWS (docs/SERVICE.md §12): an object put under `directory/` in the files
bucket (an S3 notification, through DirectoryQueue) imports the newest establishments file there
with the newest links file. The import is idempotent (the same files give the same load), so a
repeated delivery changes nothing."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from s2s.runtime.batch import SQSRecord, process_batch
from s2s.runtime.log import logger, metrics, trace_handler
from s2s.services import directory


def handle_record(record: SQSRecord) -> None:
    body = json.loads(record.body)
    for s3_record in body.get("Records", []):  # an s3:TestEvent has none
        if not str(s3_record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        s3 = s3_record["s3"]
        result = directory.import_from_bucket(s3["bucket"]["name"], unquote_plus(s3["object"]["key"]))
        if result is not None:
            logger.info(
                "directory import",
                extra={
                    "outcome": result.outcome,
                    "version": result.version,
                    "refused": result.report.get("refused"),
                    "code": result.report.get("code"),
                    "establishments": result.report.get("establishments"),
                    "current_establishments": result.report.get("current_establishments"),
                },
            )


@logger.inject_lambda_context(clear_state=True)
@trace_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_batch(event, context, handle_record)
