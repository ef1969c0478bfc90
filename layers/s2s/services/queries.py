"""Reading transfers (docs/SERVICE.md §3, §4): the inbox, outbox and LA lists, one transfer's page
with its history and receipts, and the summary every answer shows of a transfer. What a caller may
see is decided here, by the domain's rules; the reads are `s2s.adapters.transfers`."""

from __future__ import annotations

from typing import Any

from s2s.adapters import cursors, organisations, transfers
from s2s.domain.errors import Forbidden, InvalidRequest, NotFound
from s2s.domain.principal import Principal
from s2s.domain.transfers import (
    LIVE,
    SYSTEM_ORG,
    Box,
    Status,
    Transfer,
    audit_view,
    can_download,
    can_see,
    effective_status,
    is_recipient_side,
    is_sender_side,
    receipt_view,
)


def require_transfer_user(principal: Principal) -> None:
    """Schools and LAs send and receive transfers; DfE users see reports only."""
    if principal.kind == "dfe":
        raise Forbidden("DfE users see reports only, not transfers.", code="forbidden_role")


def visible_transfer(principal: Principal, transfer_id: str) -> Transfer:
    """The transfer if this caller may see it; 404 otherwise, whether or not it exists."""
    require_transfer_user(principal)
    t = transfers.get_transfer(transfer_id)
    if t is None or not can_see(principal, t):
        raise NotFound("There is no transfer with that id for your organisation.", code="not_found")
    return t


def transfer_page(principal: Principal, transfer_id: str) -> dict[str, Any]:
    """`GET /transfers/{id}`: the transfer as `describe` shows it, if this caller may see it."""
    return describe(principal, visible_transfer(principal, transfer_id))


def describe(principal: Principal, t: Transfer) -> dict[str, Any]:
    """What a caller sees of a transfer: metadata, status now, audit events and receipts, each
    event through `audit_view` (who acted is shown only to their own organisation and its LA)."""
    audit = transfers.audit_events(t.transfer_id)
    receipts = [receipt_view(principal, a) for a in audit if a["action"] == "downloaded"]
    if not is_sender_side(principal, t):
        # The recipient side sees the file's life from the moment it reached them.
        audit = [a for a in audit if a["action"] not in ("created",)]
    events = [audit_view(principal, a) for a in audit]
    names = organisations.names(_organisations_mentioned(t, events))
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
    """A transfer as this caller sees it in a list, with its status now."""
    status = effective_status(t)
    return {
        "transfer_id": t.transfer_id,
        "filename": t.filename,
        "family": t.family,
        "file_type": t.file_type,
        "source": t.source,
        "source_name": t.source_name,
        "destination": t.destination,
        "recipient": t.recipient_org,
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


def list_transfers(
    principal: Principal, *, box: Box, status: Status | None, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page, newest first. For the LA view the two index partitions (from and to the LA's
    schools) are merged; the cursor carries where each one stopped."""
    require_transfer_user(principal)
    if box == "la" and principal.kind != "la":
        raise Forbidden("Only local authority users have the LA view.", code="forbidden_role")
    streams = transfers.box_partitions(box, principal.org, principal.la)
    state = cursors.decode_cursor(cursor) if cursor else {}
    if state and (state.get("box") != box or len(state.get("at", [])) != len(streams)):
        raise InvalidRequest("The cursor belongs to another list.", details=[{"field": "cursor", "reason": "invalid"}])
    starts: list[Any] = state.get("at") or [None] * len(streams)
    for (index, pk), start in zip(streams, starts, strict=True):
        if not transfers.is_position(start, index, pk):
            raise InvalidRequest(
                "The cursor is not one we gave out.", details=[{"field": "cursor", "reason": "invalid"}]
            )
    iters = [
        transfers.newest_first(index, pk, start, page=min(limit + 1, 100)) if start != "done" else iter(())
        for (index, pk), start in zip(streams, starts, strict=True)
    ]
    heads = [next(it, None) for it in iters]
    positions = list(starts)
    out: list[dict[str, Any]] = []
    while len(out) < limit:
        live = [i for i, h in enumerate(heads) if h is not None]
        if not live:
            break
        i = max(live, key=lambda j: heads[j].sort_key)  # type: ignore[union-attr]
        head = heads[i]
        assert head is not None
        positions[i] = head.position
        heads[i] = next(iters[i], None)
        t = head.transfer
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
        next_cursor = cursors.encode_cursor({"box": box, "at": positions})
    return out, next_cursor
