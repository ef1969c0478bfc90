"""ULN batch worker: every message of UlnBatchQueue (docs/SERVICE.md "ULNs in bulk").

Two kinds of message arrive: S3's ObjectCreated notifications for `uln-batches/` (a school's file
landed; keys are URL-decoded here) and the worker's own next steps (`{"step": "submit" | "poll" |
"notify", "batch_id", "attempt"}`, sent with a delay for the polls). Each record is handled on its
own and a failure reports only that record (partial batch response), to be retried and, after the
queue's redrive limit, kept in its dead-letter queue. The use cases are s2s.services.uln_batch_jobs."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from s2s.runtime.batch import SQSRecord, process_batch
from s2s.runtime.log import logger, metrics, trace_handler
from s2s.runtime.snapstart import prepare as prepare_snapstart
from s2s.services import uln_batch_jobs


def handle_record(record: SQSRecord) -> list[str]:
    message = json.loads(record.body)
    if not isinstance(message, dict):
        raise ValueError("not a ULN batch message")
    if "step" in message:
        return [uln_batch_jobs.handle_step(message)]
    outcomes = []
    for s3_record in message.get("Records", []):
        if not str(s3_record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        s3 = s3_record["s3"]
        outcomes.append(uln_batch_jobs.handle_landed(s3["bucket"]["name"], unquote_plus(s3["object"]["key"])))
    if outcomes:
        logger.info("uln batch landed", extra={"outcomes": outcomes})
    return outcomes


prepare_snapstart(("s3", "dynamodb", "secrets"))


@logger.inject_lambda_context(clear_state=True)
@trace_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_batch(event, context, handle_record)
