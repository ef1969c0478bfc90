"""Notify: TransferEvents (SNS -> SQS, raw delivery) become emails through SES (docs/SERVICE.md §6).

Every record of a batch is handled on its own; a failure reports only that record (partial batch
response), so SQS retries it and, after the queue's redrive limit, moves it to the dead-letter
queue. A malformed message fails its own record every time and so ends in the DLQ without harming
the rest of its batch. Each email is sent once per event and address (s2s.adapters.subscriptions' sending
records), and each one sent is an audit event on the transfer, written atomically with the record.
The use case is s2s.services.notify."""

from __future__ import annotations

from typing import Any

from s2s.runtime.batch import SQSRecord, process_batch, receive_count
from s2s.runtime.log import logger, metrics, trace_handler
from s2s.runtime.snapstart import prepare as prepare_snapstart
from s2s.services.notify import MalformedEvent, Outcome, notify, parse_event


def handle_record(record: SQSRecord) -> Outcome:
    try:
        event = parse_event(record.body)
    except MalformedEvent as exc:
        logger.error(
            "malformed event",
            extra={
                "message_id": record.message_id,
                "why": str(exc),
                "receive_count": receive_count(record),
            },
        )
        raise
    return notify(event)


prepare_snapstart(("dynamodb", "ses"))


@logger.inject_lambda_context(clear_state=True)
@trace_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A batch in which every record failed is still answered with its list of failures rather
    than by failing the invocation: each record is retried on its own and malformed ones reach
    the DLQ."""
    return process_batch(event, context, handle_record)
