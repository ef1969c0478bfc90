"""The landing check (docs/SERVICE.md §5): decide what an object that appeared under `incoming/`
is, exactly once per transfer. A file that passes is copied to `stored/` and the transfer becomes
`available`; one that fails is `rejected` with the reason; anything else is discarded."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from s2s.adapters import files, transfers
from s2s.adapters.transfers import Actor, TransitionConflict
from s2s.domain import clock
from s2s.domain.transfers import LIVE, UPLOAD_GRACE, Transfer, counter_deltas, move
from s2s.runtime.log import Metric, count, count_by, logger
from s2s.runtime.settings import get_settings
from s2s.services import outbox as events

Outcome = Literal["available", "rejected", "unexpected_object", "duplicate", "ignored", "missing"]


def _security_event(what: str, **fields: Any) -> None:
    logger.warning("security event", extra={"security_event": what, **fields})


def _reject(t: Transfer, reason: str, message: str, actor: Actor) -> None:
    at = clock.now()
    after = move(t, "rejected", reason=reason, reason_message=message, ended_at=clock.iso(at))
    event = events.build_event("transfer.rejected", after, clock.iso(at))
    transfers.commit_change(
        t,
        after,
        action="rejected",
        actor=actor,
        at=clock.iso(at),
        deltas=counter_deltas(t, "rejected", at),
        event=event,
        audit_details={"reason": reason},
    )
    count_by(Metric.FILES_REJECTED, reason=reason)


def _accept(t: Transfer, actor: Actor, details: dict[str, Any]) -> None:
    at = clock.now()
    after = move(
        t,
        "available",
        available_at=clock.iso(at),
        expires_at=clock.iso(at + timedelta(days=get_settings().retention_days)),
    )
    event = events.build_event("transfer.available", after, clock.iso(at))
    transfers.commit_change(
        t,
        after,
        action="available",
        actor=actor,
        at=clock.iso(at),
        deltas=counter_deltas(t, "available", at),
        event=event,
        audit_details=details,
    )
    count(Metric.FILES_ACCEPTED)


def handle_landed_object(bucket: str, key: str) -> Outcome:
    """Decide what an object that appeared under `incoming/` is, exactly once per transfer.

    Safe to run any number of times for the same object, in parallel: the state change is
    conditional, the object is copied only if it is still the one we inspected (ETag), and the
    event stays in the outbox until it is published."""
    settings = get_settings()
    actor = Actor.system("landing-check")
    if bucket != settings.bucket_name:
        _security_event("foreign_bucket", bucket=bucket)
        return "ignored"
    if not key.startswith("incoming/"):
        # Never delete what we did not receive: an event naming a stored file (a misconfigured
        # notification, or a forged message) must not remove a recipient's file.
        _security_event("unexpected_object", key=key[:300], why="outside incoming/")
        return "ignored"
    parts = key.split("/")
    if len(parts) != 3 or parts[0] != "incoming" or not parts[1] or not parts[2]:
        _security_event("unexpected_object", key=key[:300], why="key shape")
        files.delete(bucket, key)
        return "unexpected_object"
    _, transfer_id, filename = parts
    t = transfers.get_transfer(transfer_id)
    if t is None or t.filename != filename:
        _security_event("unexpected_object", key=key[:300], why="no upload was issued for this key")
        files.delete(bucket, key)
        return "unexpected_object"
    if t.status != "pending_upload":
        # A repeated event, or a second POST with the same (still valid) form: the first object
        # decided the transfer; this one is discarded. Publish anything an earlier run left.
        files.delete(bucket, key)
        events.flush(transfer_id)
        return "duplicate"
    head = files.head(bucket, key)
    if head is None:
        return "missing"  # another delivery of this event is handling it
    late = head.last_modified > clock.parse(t.upload_expires_at) + UPLOAD_GRACE
    if head.size != t.size_bytes or late:
        why = "size differs from the upload ticket" if head.size != t.size_bytes else "upload ticket expired"
        _security_event("unexpected_object", transfer_id=transfer_id, why=why)
        try:
            _reject(
                t,
                "unexpected_object",
                f"The file that arrived does not match the upload that was started ({why}). Send it again.",
                actor,
            )
        except TransitionConflict:
            return "duplicate"
        files.delete(bucket, key)
        events.flush(transfer_id)
        return "unexpected_object"

    from s2s.domain.naming import parse_filename
    from s2s.domain.zipcheck import inspect_archive

    parsed = parse_filename(t.filename)
    verdict = inspect_archive(
        files.reader(bucket, key, head.size, head.etag),
        expected_size=t.size_bytes,
        max_upload_bytes=settings.max_upload_bytes,
        single_entry_name=parsed.expected_entry_name if parsed.single_entry else None,
    )
    logger.info(
        "landing check",
        extra={
            "transfer_id": transfer_id,
            "ok": verdict.ok,
            "reason": verdict.reason,
            "bytes_read": verdict.bytes_read,
            "entries": verdict.entries,
        },
    )
    try:
        if verdict.ok:
            # Copy only the object we inspected: a replacement posted meanwhile fails the ETag match.
            files.copy_if_unchanged(bucket, key, t.stored_key, head.etag)
            _accept(t, actor, {"entries": verdict.entries, "bytes_read": verdict.bytes_read})
            outcome: Outcome = "available"
        else:
            _reject(t, verdict.reason or "not_zip", verdict.message, actor)
            outcome = "rejected"
    except TransitionConflict:
        outcome = "duplicate"
        if verdict.ok:
            _drop_stored_copy_unless_live(bucket, t)
    files.delete(bucket, key)
    # Raise if SNS is down: the queue redelivers, this run finds the outbox and publishes it.
    events.flush(transfer_id)
    return outcome


def _drop_stored_copy_unless_live(bucket: str, t: Transfer) -> None:
    """After the copy to `stored/`, the transfer changed first: a withdrawal (or the sweep) raced
    this landing check. Its own deletes may have run before our copy landed, so look again and
    delete the copy unless another delivery of this event made the transfer available."""
    now = transfers.get_transfer(t.transfer_id)
    if now is None or now.status not in LIVE:
        files.delete(bucket, t.stored_key)
