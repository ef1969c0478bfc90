"""SQS batches with partial failures: each record is handled on its own, and only the records that
failed go back to the queue (the event source mapping has ReportBatchItemFailures on), to be
retried and, after the queue's maxReceiveCount, kept in its dead-letter queue. Nothing is dropped:
a record either succeeds or is reported.

A dozen lines rather than a library's batch utility, whose import alone cost a queue function a
noticeable share of its cold start (issue 10)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from s2s.log import logger


@dataclass(frozen=True, slots=True)
class SqsRecord:
    """What a handler reads of one SQS record."""

    message_id: str
    body: str
    receive_count: int

    @classmethod
    def from_event(cls, raw: Mapping[str, Any]) -> SqsRecord:
        attributes = raw.get("attributes") or {}
        return cls(
            message_id=str(raw["messageId"]),
            body=str(raw.get("body") or ""),
            receive_count=int(attributes.get("ApproximateReceiveCount") or 1),
        )


def process_batch(event: Mapping[str, Any], handle: Callable[[SqsRecord], Any]) -> dict[str, Any]:
    """`{"batchItemFailures": [...]}` naming every record whose handling raised."""
    failures: list[dict[str, str]] = []
    for raw in event.get("Records") or []:
        record = SqsRecord.from_event(raw)
        try:
            handle(record)
        except Exception:
            logger.exception(
                "record failed", extra={"message_id": record.message_id, "receive_count": record.receive_count}
            )
            failures.append({"itemIdentifier": record.message_id})
    return {"batchItemFailures": failures}


__all__ = ["SqsRecord", "process_batch"]
