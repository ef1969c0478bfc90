"""Events: what changed, for the notify function and anyone else who subscribes (docs/SERVICE.md
§6): a transfer's TransferEvents and a secure message's `message.received` (§11).

An event is written to the outbox in the same transaction as the change it reports, then
published; only a successful publish deletes it. If SNS fails, the event stays in the outbox and is
published again by the next delivery of the same S3 event or by the sweep, so nothing is lost.
Subscribers must expect an event more than once: `event_id` is stable for that purpose."""

from __future__ import annotations

from typing import Any

from s2s.adapters import events as outbox
from s2s.contracts.events import EventType, TransferEvent
from s2s.domain.transfers import Transfer
from s2s.runtime.log import logger


def recipients_for(event_type: EventType, t: Transfer) -> list[str]:
    """Organisations whose subscribers this event is for."""
    if event_type in ("transfer.rejected", "transfer.downloaded"):
        return [t.source]
    if t.is_lpd:
        return []  # nobody is addressed until an LA claims it for a school
    return [t.recipient_org]


def build_event(event_type: EventType, t: Transfer, occurred_at: str, **extra: Any) -> dict[str, Any]:
    """The TransferEvent for a change, as the outbox stores it and SNS carries it."""
    event: dict[str, Any] = {
        "event_id": f"{t.transfer_id}:{event_type}",
        "type": event_type,
        "transfer_id": t.transfer_id,
        "family": t.family,
        "file_type": t.file_type,
        "filename": t.filename,
        "source": t.source,
        "source_name": t.source_name,
        "destination": t.destination,
        "recipient_org": t.recipient_org,
        "recipients": recipients_for(event_type, t),
        "occurred_at": occurred_at,
        "expires_at": t.expires_at,
        "size_bytes": t.size_bytes,
        "sha256": t.sha256,
    }
    if event_type == "transfer.rejected":
        event.update({"reason": t.reason, "reason_message": t.reason_message, "suggestion": t.suggestion})
    event.update(extra)
    return TransferEvent.model_validate(event).to_message()


def _log_fields(event: dict[str, Any]) -> dict[str, Any]:
    """The event's type and the id of what it is about (a transfer's or a message's), for logs."""
    about = {name: event[name] for name in ("transfer_id", "message_id") if event.get(name)}
    return {"event_type": event["type"], **about}


def publish(event: dict[str, Any]) -> bool:
    """Publish one event, then remove it from the outbox. Raises if SNS fails (it stays queued).
    Returns False without publishing when a parallel run holds it or already published it."""
    subject = outbox.subject_of(event)
    if not outbox.lease(subject, event["type"]):
        return False
    try:
        outbox.publish(event)
    except Exception:
        outbox.release(subject, event["type"])
        raise
    outbox.delete(subject, event["type"])
    logger.info("event published", extra=_log_fields(event))
    return True


def flush(transfer_id: str) -> int:
    """Publish whatever this transfer still has in its outbox. Returns how many were sent."""
    return sum(publish(event) for event in outbox.pending_for(transfer_id))


def try_publish(event: dict[str, Any]) -> bool:
    """Publish now if we can; on failure leave it for the sweep (the change is already committed)."""
    try:
        return publish(event)
    except Exception as exc:
        logger.warning("event left in outbox", extra={**_log_fields(event), "error": type(exc).__name__})
        return False
