"""What a caller does to a transfer (docs/SERVICE.md §4): download it (a presigned GET, after the
receipt is recorded; the first download marks it `downloaded` and tells the sender) and remove it
(the sender withdraws, the recipient or its LA removes). Each is a conditional change through the
state machine; if someone changed the transfer first, it is read again and decided again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from s2s.adapters import files, transfers
from s2s.adapters.transfers import Actor, TransitionConflict
from s2s.domain import clock
from s2s.domain.errors import Conflict, Forbidden, Gone
from s2s.domain.principal import Principal
from s2s.domain.transfers import (
    LIVE,
    TERMINAL,
    Status,
    Transfer,
    can_download,
    counter_deltas,
    effective_status,
    is_addressee,
    move,
    removal_status,
)
from s2s.runtime.log import logger
from s2s.runtime.settings import get_settings
from s2s.services import outbox as events
from s2s.services.queries import visible_transfer

ATTEMPTS = 3


def _with_retries(transfer_id: str, attempt: Callable[[Transfer], Any], principal: Principal) -> Any:
    """Run a conditional change; if someone else changed the transfer first, read it again and
    decide again (at most three times)."""
    for _ in range(ATTEMPTS):
        t = visible_transfer(principal, transfer_id)
        try:
            return attempt(t)
        except TransitionConflict:
            continue
    raise Conflict("The transfer changed while we were updating it. Try again.", code="conflict")


def request_download(principal: Principal, origin: dict[str, str], transfer_id: str) -> dict[str, str]:
    """A presigned GET of at most 5 minutes, after recording the download. The first download
    marks the transfer `downloaded` and tells the sender."""
    settings = get_settings()
    actor = Actor.of(principal, origin)
    first_event: list[dict[str, Any]] = []

    def attempt(t: Transfer) -> Transfer:
        # The addressee that can see a file before it reached them (it is also the sender, or the
        # sender's LA) is told it is not available yet, not that it may not download it.
        early_addressee = t.available_at is None and is_addressee(principal, t)
        if not can_download(principal, t) and not early_addressee:
            raise Forbidden("Only the organisation the file is addressed to can download it.", code="not_recipient")
        status = effective_status(t)
        if status in TERMINAL and status != "rejected":
            raise Gone(f"This file is no longer available: it was {status}.", code=status)
        if status not in LIVE:
            raise Conflict(
                f"This file cannot be downloaded yet: it is {status.replace('_', ' ')}.", code="not_available"
            )
        at = clock.now()
        details = {"source_ip": actor.source_ip, "user_agent": actor.user_agent}
        if t.status == "available":
            after = move(t, "downloaded", downloaded_at=clock.iso(at))
            event = events.build_event("transfer.downloaded", after, clock.iso(at), downloaded_by=principal.org)
            transfers.commit_change(
                t,
                after,
                action="downloaded",
                actor=actor,
                at=clock.iso(at),
                deltas=counter_deltas(t, "downloaded", at),
                event=event,
                audit_details=details,
                extra_condition="expires_at > :now",
                extra_values={":now": clock.iso(at)},
            )
            first_event.append(event)
        else:
            transfers.record_download(t, actor, clock.iso(at))
        return t

    t: Transfer = _with_retries(transfer_id, attempt, principal)
    for event in first_event:
        events.try_publish(event)
    expires = clock.now() + timedelta(seconds=settings.download_url_seconds)
    url = files.presigned_get(settings.bucket_name, t.stored_key, t.filename, settings.download_url_seconds)
    logger.info("download issued", extra={"transfer_id": transfer_id, **principal.log_fields()})
    return {"url": url, "expires_at": clock.iso(expires)}


def remove(principal: Principal, origin: dict[str, str], transfer_id: str) -> Status:
    """The sender withdraws before any download; the recipient or its LA removes. The object goes,
    the record and its audit trail stay."""
    actor = Actor.of(principal, origin)

    def attempt(t: Transfer) -> tuple[Status, Transfer]:
        new = removal_status(principal, t)
        if new is None:
            raise Forbidden("Only the sender, the recipient or the recipient's LA can remove a file.", code="forbidden")
        status = effective_status(t)
        if status in TERMINAL:
            raise Gone(f"This file is already {status}.", code=status)
        if new == "withdrawn" and status == "downloaded":
            raise Conflict(
                "The recipient has already downloaded this file, so it cannot be withdrawn. Ask them to remove it.",
                code="already_downloaded",
            )
        at = clock.now()
        after = move(t, new, ended_at=clock.iso(at))
        transfers.commit_change(t, after, action=new, actor=actor, at=clock.iso(at), deltas=counter_deltas(t, new, at))
        return new, t

    # The object keys do not change with the status: no need to read the transfer again.
    new_status, t = _with_retries(transfer_id, attempt, principal)
    bucket = get_settings().bucket_name
    for key in (t.stored_key, t.incoming_key):
        files.delete(bucket, key)
    return new_status
