"""Transfers end to end (docs/SERVICE.md §3-§5): upload tickets, the landing check, lists, downloads, removal
and the expiry sweep. Plain functions over the store, S3 and the event outbox; the handlers in
functions/upload only translate HTTP and SQS into these calls."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, Literal

from s2s.adapters import store
from s2s.adapters.aws import s3
from s2s.adapters.store import Actor, TransitionConflict
from s2s.domain import clock
from s2s.domain.errors import Conflict, Forbidden, Gone, InvalidRequest, NotFound, Throttled, TooLarge
from s2s.domain.principal import Principal
from s2s.domain.transfers import (
    LIVE,
    SYSTEM_ORG,
    TERMINAL,
    UPLOAD_GRACE,
    Box,
    Status,
    Transfer,
    audit_view,
    can_download,
    can_see,
    counter_deltas,
    effective_status,
    is_addressee,
    is_recipient_side,
    is_sender_side,
    receipt_view,
    removal_status,
)
from s2s.runtime.log import Metric, count, count_by, logger
from s2s.runtime.settings import get_settings
from s2s.services import directory
from s2s.services import outbox as events

MIN_ZIP_BYTES = 22  # an empty zip is its end record alone


def _require_sender_or_recipient(principal: Principal) -> None:
    if principal.kind == "dfe":
        raise Forbidden("DfE users see reports only, not transfers.", code="forbidden_role")


def actor_for(principal: Principal, origin: dict[str, str]) -> Actor:
    return Actor(
        user=principal.user_id,
        org=principal.org,
        email=principal.email or "",
        source_ip=origin.get("source_ip", ""),
        user_agent=origin.get("user_agent", ""),
    )


# ---------------------------------------------------------------------------- upload tickets


@dataclass(frozen=True)
class UploadTicket:
    transfer: Transfer
    url: str
    fields: dict[str, str]
    warnings: tuple[
        directory.DestinationWarning, ...
    ] = ()  # what the directory says of the destination (docs/SERVICE.md §11)


def issue_upload_ticket(
    principal: Principal,
    origin: dict[str, str],
    *,
    filename: str,
    size_bytes: int,
    sha256: str | None = None,
    upn: str | None = None,
) -> UploadTicket:
    """Check the name, sender, size and UPN; record a `pending_upload` transfer; presign a POST
    that can only create exactly this key with exactly this size, within 15 minutes."""
    from s2s.domain.naming import check_upload_name

    _require_sender_or_recipient(principal)
    settings = get_settings()
    upn = upn or None  # checked as given: a lower-case or padded UPN is `bad_upn` (docs/SERVICE.md §2)
    parsed = check_upload_name(filename, principal.org, upn)
    warnings = directory.check_destination(parsed)  # 422 closed_destination, or unknown_destination
    if size_bytes > settings.max_upload_bytes:
        raise TooLarge(
            f"The file is {size_bytes} bytes; the most S2S accepts is {settings.max_upload_bytes} bytes. "
            "Split the pupils over several files.",
            code="too_large",
        )
    if size_bytes < MIN_ZIP_BYTES:
        raise InvalidRequest(
            "A zip file is at least 22 bytes.", details=[{"field": "size_bytes", "reason": "too_small"}]
        )
    from s2s.services import quotas

    now = clock.now()
    quota_charge = quotas.charge(principal.org, size_bytes, now)
    created = clock.iso(now)
    transfer = Transfer(
        transfer_id=str(uuid.uuid4()),
        filename=parsed.filename,
        family=parsed.family,
        file_type=parsed.file_type,
        source=parsed.source,
        source_kind=parsed.source_kind,
        source_la=parsed.source_la,
        source_name=principal.org_name,
        destination=parsed.destination,
        dest_kind=parsed.dest_kind,
        dest_la=parsed.dest_la,
        recipient_org=parsed.recipient_org,
        size_bytes=size_bytes,
        status="pending_upload",
        created_at=created,
        created_by=principal.user_id,
        upload_expires_at=clock.iso(now + timedelta(seconds=settings.upload_url_seconds)),
        expires_at=clock.iso(now + timedelta(days=settings.retention_days)),
        sha256=sha256,
        upn=upn if parsed.is_lpd else None,
    )
    actor = actor_for(principal, origin)
    try:
        store.create_transfer(
            transfer,
            actor,
            {"filename": transfer.filename, "size_bytes": size_bytes},
            extra=[*quota_charge, store.org_name_update(principal.org, principal.org_name, now)],
        )
    except store.ExtraConditionFailed as exc:
        raise Throttled(
            "Your organisation has reached today's upload limit. Try again tomorrow, or ask the S2S "
            "helpdesk to raise it.",
            retry_after=quotas.seconds_until_tomorrow(now),
            code="quota_exceeded",
        ) from exc
    post = s3().generate_presigned_post(
        Bucket=settings.bucket_name,
        Key=transfer.incoming_key,
        Conditions=[["content-length-range", size_bytes, size_bytes]],
        ExpiresIn=settings.upload_url_seconds,
    )
    # No log line here: the `created` audit event records who started which upload, from where.
    return UploadTicket(transfer, post["url"], dict(post["fields"]), tuple(warnings))


# ---------------------------------------------------------------------------- landing check


Outcome = Literal["available", "rejected", "unexpected_object", "duplicate", "ignored", "missing"]


def _security_event(what: str, **fields: Any) -> None:
    logger.warning("security event", extra={"security_event": what, **fields})


def _delete_quietly(bucket: str, key: str) -> None:
    s3().delete_object(Bucket=bucket, Key=key)


def _reject(t: Transfer, reason: str, message: str, actor: Actor) -> None:
    at = clock.now()
    after = replace(t, status="rejected", reason=reason, reason_message=message, ended_at=clock.iso(at))
    event = events.build_event("transfer.rejected", after, clock.iso(at))
    store.commit_change(
        t,
        after,
        allowed_from=("pending_upload",),
        action="rejected",
        actor=actor,
        at=clock.iso(at),
        deltas=counter_deltas(t, "rejected", at),
        event=event,
        audit_details={"reason": reason},
    )
    count_by(Metric.FILES_REJECTED, reason=reason)


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
        _delete_quietly(bucket, key)
        return "unexpected_object"
    _, transfer_id, filename = parts
    t = store.get_transfer(transfer_id)
    if t is None or t.filename != filename:
        _security_event("unexpected_object", key=key[:300], why="no upload was issued for this key")
        _delete_quietly(bucket, key)
        return "unexpected_object"
    if t.status != "pending_upload":
        # A repeated event, or a second POST with the same (still valid) form: the first object
        # decided the transfer; this one is discarded. Publish anything an earlier run left.
        _delete_quietly(bucket, key)
        events.flush(transfer_id)
        return "duplicate"
    try:
        head = s3().head_object(Bucket=bucket, Key=key)
    except s3().exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return "missing"  # another delivery of this event is handling it
        raise
    size = int(head["ContentLength"])
    landed_at = head["LastModified"]
    late = landed_at > clock.parse(t.upload_expires_at) + UPLOAD_GRACE
    if size != t.size_bytes or late:
        why = "size differs from the upload ticket" if size != t.size_bytes else "upload ticket expired"
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
        _delete_quietly(bucket, key)
        events.flush(transfer_id)
        return "unexpected_object"

    from s2s.adapters.ranged import S3RangedReader
    from s2s.domain.naming import parse_filename
    from s2s.domain.zipcheck import inspect_archive

    parsed = parse_filename(t.filename)
    reader = S3RangedReader(s3(), bucket, key, size=size, etag=head["ETag"])
    verdict = inspect_archive(
        reader,
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
            s3().copy_object(
                Bucket=bucket,
                Key=t.stored_key,
                CopySource={"Bucket": bucket, "Key": key},
                CopySourceIfMatch=head["ETag"],
                MetadataDirective="COPY",
            )
            at = clock.now()
            after = replace(
                t,
                status="available",
                available_at=clock.iso(at),
                expires_at=clock.iso(at + timedelta(days=settings.retention_days)),
            )
            event = events.build_event("transfer.available", after, clock.iso(at))
            store.commit_change(
                t,
                after,
                allowed_from=("pending_upload",),
                action="available",
                actor=actor,
                at=clock.iso(at),
                deltas=counter_deltas(t, "available", at),
                event=event,
                audit_details={"entries": verdict.entries, "bytes_read": verdict.bytes_read},
            )
            count(Metric.FILES_ACCEPTED)
            outcome: Outcome = "available"
        else:
            _reject(t, verdict.reason or "not_zip", verdict.message, actor)
            outcome = "rejected"
    except TransitionConflict:
        outcome = "duplicate"
        if verdict.ok:
            _drop_stored_copy_unless_live(bucket, t)
    _delete_quietly(bucket, key)
    # Raise if SNS is down: the queue redelivers, this run finds the outbox and publishes it.
    events.flush(transfer_id)
    return outcome


def _drop_stored_copy_unless_live(bucket: str, t: Transfer) -> None:
    """After the copy to `stored/`, the transfer changed first: a withdrawal (or the sweep) raced
    this landing check. Its own deletes may have run before our copy landed, so look again and
    delete the copy unless another delivery of this event made the transfer available."""
    now = store.get_transfer(t.transfer_id)
    if now is None or now.status not in LIVE:
        _delete_quietly(bucket, t.stored_key)


# ---------------------------------------------------------------------------- reading


def visible_transfer(principal: Principal, transfer_id: str) -> Transfer:
    """The transfer if this caller may see it; 404 otherwise, whether or not it exists."""
    _require_sender_or_recipient(principal)
    t = store.get_transfer(transfer_id)
    if t is None or not can_see(principal, t):
        raise NotFound("There is no transfer with that id for your organisation.", code="not_found")
    return t


def describe(principal: Principal, t: Transfer) -> dict[str, Any]:
    """What a caller sees of a transfer: metadata, status now, audit events and receipts, each
    event through `audit_view` (who acted is shown only to their own organisation and its LA)."""
    audit = store.audit_events(t.transfer_id)
    receipts = [receipt_view(principal, a) for a in audit if a["action"] == "downloaded"]
    if not is_sender_side(principal, t):
        # The recipient side sees the file's life from the moment it reached them.
        audit = [a for a in audit if a["action"] not in ("created",)]
    events = [audit_view(principal, a) for a in audit]
    names = store.org_names(_organisations_mentioned(t, events))
    return {
        **summary(principal, t),
        "recipient_name": names.get(t.recipient_org),
        "names": names,
        "audit": events,
        "downloads": receipts,
    }


def _organisations_mentioned(t: Transfer, events: list[dict[str, Any]]) -> set[str]:
    """Every organisation a transfer's page names: its two ends, whoever acted, whoever an email
    went to and the school an LPD file was claimed for."""
    orgs = {t.source, t.recipient_org}
    for event in events:
        orgs.add(event["actor_org"])
        details = event.get("details") or {}
        orgs.update(str(details[k]) for k in ("org", "destination", "previous_destination") if details.get(k))
    orgs.discard(SYSTEM_ORG)
    return orgs


def summary(principal: Principal, t: Transfer) -> dict[str, Any]:
    status = effective_status(t)
    return {
        "transfer_id": t.transfer_id,
        "filename": t.filename,
        "family": t.family,
        "file_type": t.file_type,
        "source": t.source,
        # Names from the establishment directory first, else as the sender's sign-in gave them.
        "source_name": directory.names([t.source]).get(t.source) or t.source_name,
        "destination": t.destination,
        "recipient": t.recipient_org,
        "recipient_name": directory.names([t.recipient_org]).get(t.recipient_org),
        "size_bytes": t.size_bytes,
        "sha256": t.sha256,
        "upn": t.upn if principal.kind == "la" or is_sender_side(principal, t) else None,
        "status": status,
        "reason": t.reason if status == "rejected" else None,
        "reason_message": t.reason_message if status == "rejected" else None,
        "created_at": t.created_at,
        "available_at": t.available_at,
        "downloaded_at": t.downloaded_at,
        "expires_at": t.expires_at,
        "upload_expires_at": t.upload_expires_at if status == "pending_upload" else None,
        "lost_pupil": t.is_lpd,
        "direction": "sent"
        if is_sender_side(principal, t) and not is_recipient_side(principal, t)
        else ("received" if not is_sender_side(principal, t) else "both"),
        "can_download": can_download(principal, t) and status in LIVE,
    }


def _streams_for(principal: Principal, box: Box) -> list[tuple[str, str]]:
    if box == "inbox":
        return [("GSI1", f"TO#{principal.org}")]
    if box == "outbox":
        return [("GSI2", f"FROM#{principal.org}")]
    if principal.kind != "la":
        raise Forbidden("Only local authority users have the LA view.", code="forbidden_role")
    return [("GSI3", f"LA#{principal.la}"), ("GSI4", f"LA#{principal.la}")]


def _index_key(item: dict[str, Any], index: str) -> dict[str, Any]:
    return {
        "PK": {"S": item["PK"]},
        "SK": {"S": item["SK"]},
        f"{index}PK": {"S": item[f"{index}PK"]},
        f"{index}SK": {"S": item[f"{index}SK"]},
    }


def _stream(index: str, pk: str, start: dict[str, Any] | None, page: int) -> Iterator[dict[str, Any]]:
    kwargs: dict[str, Any] = {
        "TableName": store.table(),
        "IndexName": index,
        "KeyConditionExpression": "#pk = :pk",
        "ExpressionAttributeNames": {"#pk": f"{index}PK"},
        "ExpressionAttributeValues": {":pk": {"S": pk}},
        "ScanIndexForward": False,
        "Limit": page,
    }
    if start:
        kwargs["ExclusiveStartKey"] = start
    from s2s.adapters.aws import dynamodb

    while True:
        resp = dynamodb().query(**kwargs)
        for raw in resp.get("Items", []):
            yield store.from_av(raw)
        if "LastEvaluatedKey" not in resp:
            return
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def _valid_position(position: Any, index: str, pk: str) -> bool:
    """A cursor position is one we wrote: nothing yet, the end, or a start key in this partition."""
    if position is None or position == "done":
        return True
    names = {"PK", "SK", f"{index}PK", f"{index}SK"}
    if not isinstance(position, dict) or set(position) != names:
        return False
    if not all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in position.values()):
        return False
    return bool(position[f"{index}PK"]["S"] == pk)


def list_transfers(
    principal: Principal, *, box: Box, status: Status | None, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page, newest first. For the LA view the two index partitions (from and to the LA's
    schools) are merged; the cursor carries where each one stopped."""
    _require_sender_or_recipient(principal)
    streams = _streams_for(principal, box)
    state = store.decode_cursor(cursor) if cursor else {}
    if state and (state.get("box") != box or len(state.get("at", [])) != len(streams)):
        raise InvalidRequest("The cursor belongs to another list.", details=[{"field": "cursor", "reason": "invalid"}])
    starts: list[Any] = state.get("at") or [None] * len(streams)
    for (index, pk), start in zip(streams, starts, strict=True):
        if not _valid_position(start, index, pk):
            raise InvalidRequest(
                "The cursor is not one we gave out.", details=[{"field": "cursor", "reason": "invalid"}]
            )
    iters = [
        _stream(index, pk, start, page=min(limit + 1, 100)) if start != "done" else iter(())
        for (index, pk), start in zip(streams, starts, strict=True)
    ]
    heads: list[dict[str, Any] | None] = [next(it, None) for it in iters]
    positions = list(starts)
    out: list[dict[str, Any]] = []
    while len(out) < limit:
        live = [i for i, h in enumerate(heads) if h is not None]
        if not live:
            break
        i = max(live, key=lambda j: heads[j][f"{streams[j][0]}SK"])  # type: ignore[index]
        item = heads[i]
        assert item is not None
        positions[i] = _index_key(item, streams[i][0])
        heads[i] = next(iters[i], None)
        t = Transfer.from_dict(item)
        if not can_see(principal, t):
            continue
        if status is not None and effective_status(t) != status:
            continue
        out.append(summary(principal, t))
    for i, h in enumerate(heads):
        if h is None:
            positions[i] = "done"
    next_cursor = None
    if any(h is not None for h in heads):
        next_cursor = store.encode_cursor({"box": box, "at": positions})
    return out, next_cursor


# ---------------------------------------------------------------------------- changes


def _with_retries(transfer_id: str, attempt: Callable[[Transfer], Any], principal: Principal) -> Any:
    """Run a conditional change; if someone else changed the transfer first, read it again and
    decide again (at most three times)."""
    for _ in range(3):
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
    actor = actor_for(principal, origin)
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
            after = replace(t, status="downloaded", downloaded_at=clock.iso(at))
            event = events.build_event("transfer.downloaded", after, clock.iso(at), downloaded_by=principal.org)
            store.commit_change(
                t,
                after,
                allowed_from=("available",),
                action="downloaded",
                actor=actor,
                at=clock.iso(at),
                deltas=counter_deltas(t, "downloaded", at),
                event=event,
                audit_details=details,
                extra_condition="expires_at > :now",
                extra_values={":now": {"S": clock.iso(at)}},
            )
            first_event.append(event)
        else:
            try:
                store.record_download(t, actor, clock.iso(at))
            except store.dynamodb().exceptions.TransactionCanceledException as exc:
                raise TransitionConflict(t.transfer_id) from exc
        return t

    t: Transfer = _with_retries(transfer_id, attempt, principal)
    for event in first_event:
        events.try_publish(event)
    expires = clock.now() + timedelta(seconds=settings.download_url_seconds)
    url = s3().generate_presigned_url(
        "get_object",
        Params={
            "Bucket": settings.bucket_name,
            "Key": t.stored_key,
            "ResponseContentDisposition": f'attachment; filename="{t.filename}"',
        },
        ExpiresIn=settings.download_url_seconds,
    )
    logger.info("download issued", extra={"transfer_id": transfer_id, **principal.log_fields()})
    return {"url": url, "expires_at": clock.iso(expires)}


def remove(principal: Principal, origin: dict[str, str], transfer_id: str) -> Status:
    """The sender withdraws before any download; the recipient or its LA removes. The object goes,
    the record and its audit trail stay."""
    actor = actor_for(principal, origin)

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
        after = replace(t, status=new, ended_at=clock.iso(at))
        allowed: tuple[Status, ...] = ("pending_upload", "available") if new == "withdrawn" else LIVE
        store.commit_change(
            t, after, allowed_from=allowed, action=new, actor=actor, at=clock.iso(at), deltas=counter_deltas(t, new, at)
        )
        return new, t

    # The object keys do not change with the status: no need to read the transfer again.
    new_status, t = _with_retries(transfer_id, attempt, principal)
    settings = get_settings()
    for key in (t.stored_key, t.incoming_key):
        _delete_quietly(settings.bucket_name, key)
    return new_status


# ---------------------------------------------------------------------------- expiry sweep


@dataclass
class SweepReport:
    expired: int = 0
    reminded: int = 0
    republished: int = 0


def _expire(t: Transfer) -> bool:
    at = clock.now()
    after = replace(t, status="expired", ended_at=clock.iso(at))
    try:
        store.commit_change(
            t,
            after,
            allowed_from=("pending_upload", "available", "downloaded"),
            action="expired",
            actor=Actor.system("expiry-sweep"),
            at=clock.iso(at),
            deltas=counter_deltas(t, "expired", at),
        )
    except TransitionConflict:
        return False
    settings = get_settings()
    for key in (t.stored_key, t.incoming_key):
        _delete_quietly(settings.bucket_name, key)
    return True


def _remind(t: Transfer) -> bool:
    at = clock.now()
    after = replace(t, expiring_notified=True)
    event = events.build_event("transfer.expiring", after, clock.iso(at))
    try:
        store.commit_change(
            t,
            after,
            allowed_from=("available",),
            action="expiring_reminder",
            actor=Actor.system("expiry-sweep"),
            at=clock.iso(at),
            event=event,
            extra_condition="attribute_not_exists(expiring_notified) OR expiring_notified = :f",
            extra_values={":f": {"BOOL": False}},
        )
    except TransitionConflict:
        return False
    events.try_publish(event)
    return True


def sweep(lookback_days: int | None = None) -> SweepReport:
    """Mark what has expired (deleting objects), remind recipients of files expiring within the
    window that were never downloaded, and publish events an earlier run could not.

    It looks back to the day before the last completed sweep (a whole retention period when
    there was none), so a sweep that did not run for weeks still catches up, and an hourly one
    reads two days of its work list. The day's first run reads the whole reminder window; later
    runs that day read only its last day, where files keep becoming due."""
    settings = get_settings()
    now = clock.now()
    window = settings.expiring_within_days
    reminder_days = range(window + 1)
    if lookback_days is None:
        full = max(7, settings.retention_days + 1)
        last = store.last_sweep_day()
        since = (now.date() - date.fromisoformat(last)).days + 1 if last else full
        lookback_days = min(max(since, 1), full)
        if last == clock.day(now) and settings.retention_days > window:
            # Today's first run read the whole window. Since then only files on its last day can
            # have become due (due is exact to the minute); no file enters an earlier day later,
            # since an expiry is fixed at upload, more than the window ahead.
            reminder_days = range(window, window + 1)
    report = SweepReport()
    now_iso = clock.iso(now)
    for offset in range(-lookback_days, 1):
        day = clock.day(now + timedelta(days=offset))
        for item in store.iter_index("GSI5", f"EXPDAY#{day}", sk_to=now_iso + "\uffff"):
            t = Transfer.from_dict(item)
            if effective_status(t, now) == "expired" and t.status not in TERMINAL and _expire(t):
                report.expired += 1
    for offset in reminder_days:
        day = clock.day(now + timedelta(days=offset))
        for item in store.iter_index("GSI5", f"EXPDAY#{day}"):
            t = Transfer.from_dict(item)
            if (
                t.status == "available"
                and not t.expiring_notified
                and effective_status(t, now) == "available"
                and clock.parse(t.expires_at) <= now + timedelta(days=settings.expiring_within_days)
                and _remind(t)
            ):
                report.reminded += 1
    for event in store.outbox_older_than(clock.iso(now - timedelta(minutes=1))):
        if events.try_publish(event):
            report.republished += 1
    store.record_sweep_day(clock.day(now))
    return report
