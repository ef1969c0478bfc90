"""SQS batches with partial failures, through Powertools' `BatchProcessor`: each record is handled
on its own, and only the records that failed go back to the queue (the event source mapping has
ReportBatchItemFailures on), to be retried and, after the queue's maxReceiveCount, kept in its
dead-letter queue. Nothing is dropped: a record either succeeds or is reported.

A batch in which every record failed is answered with its list of failures, not by failing the
invocation (`raise_on_entire_batch_failure=False`): each record is retried on its own, and a
poison message reaches the DLQ without dragging the rest of its batch there."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from s2s.runtime.log import logger

__all__ = ["SQSRecord", "process_batch", "receive_count"]


def receive_count(record: SQSRecord) -> int:
    return int(record.attributes.approximate_receive_count or 1)


def process_batch(event: Mapping[str, Any], context: Any, handle: Callable[[SQSRecord], Any]) -> dict[str, Any]:
    """`{"batchItemFailures": [...]}` naming every record whose handling raised; each failure is
    logged with its message id and receive count (never its body)."""

    def one(record: SQSRecord) -> Any:
        try:
            return handle(record)
        except Exception:
            logger.exception(
                "record failed", extra={"message_id": record.message_id, "receive_count": receive_count(record)}
            )
            raise

    if not event.get("Records"):
        return {"batchItemFailures": []}  # Powertools refuses an empty batch; there is nothing to do
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    answer = process_partial_response(event=dict(event), record_handler=one, processor=processor, context=context)
    return dict(answer)
