"""Secure messages, the use cases (docs/SERVICE.md, "Secure messages"): send, list a box, read a
message with its thread (the recipient organisation's first read is its read receipt), delete from
your own side, and the messages attached to a transfer.

Only the two organisations of a message see it: anyone else, their LAs and the DfE included, gets
the same 404 as for an id that does not exist. A message expires with the retention period: from
then on it is 410 and its body is never decrypted again. Logs name messages by id and
organisations by code; a subject or a body is never logged, counted or put in an event."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from s2s.adapters import cursors, organisations, transfers
from s2s.adapters import messages as repo
from s2s.contracts.events import MessageEvent
from s2s.domain import clock
from s2s.domain.errors import Forbidden, Gone, InvalidRequest, NotFound, Throttled, TooLarge
from s2s.domain.messages import (
    BODY_MAX,
    MESSAGE_RECEIVED,
    Box,
    Message,
    as_principal,
    is_expired,
    is_unread_for,
    normalise_body,
    receipt_view,
    sender_view,
    side_of,
    thread_problem,
)
from s2s.domain.principal import Principal
from s2s.domain.transfers import can_see
from s2s.runtime.log import Metric, count, logger
from s2s.runtime.settings import get_settings
from s2s.services import outbox as events
from s2s.services.quotas import seconds_until_tomorrow


def _require_school_or_la(principal: Principal) -> None:
    if principal.kind == "dfe":
        raise Forbidden(
            "Secure messages are between schools and local authorities: DfE users see reports only.",
            code="forbidden_role",
        )


def _not_found() -> NotFound:
    return NotFound("There is no message with that id for your organisation.", code="not_found")


def _visible(principal: Principal, message_id: str) -> tuple[Message, list[bytes]]:
    found = repo.get(message_id)
    if found is None or side_of(principal, found[0]) is None:
        raise _not_found()
    return found


# ---------------------------------------------------------------------------- what a caller sees


def _names(messages: list[Message]) -> dict[str, str]:
    orgs = {m.recipient for m in messages} | {m.sender for m in messages}
    return organisations.names(orgs) if orgs else {}


def summary(principal: Principal, m: Message, names: dict[str, str]) -> dict[str, Any]:
    expired = is_expired(m)
    receipt = receipt_view(principal, m)
    if receipt is not None:
        receipt["organisation_name"] = names.get(m.recipient)
    return {
        "message_id": m.message_id,
        "thread_id": m.thread_id,
        "reply_to": m.reply_to,
        "transfer_id": m.transfer_id,
        "sender": m.sender,
        "sender_name": names.get(m.sender) or m.sender_name or None,
        "recipient": m.recipient,
        "recipient_name": names.get(m.recipient),
        "subject": None if expired else m.subject,
        "sent_at": m.created_at,
        "expires_at": m.expires_at,
        "expired": expired,
        "direction": "sent" if principal.org == m.sender else "received",
        "unread": is_unread_for(principal, m) and not expired,
        **sender_view(principal, m),
        "read": receipt,
    }


def _view(principal: Principal, m: Message, parts: list[bytes], names: dict[str, str]) -> dict[str, Any]:
    shown = summary(principal, m, names)
    shown["body"] = None if shown["expired"] else repo.decrypt_body(m, parts)
    return shown


# ---------------------------------------------------------------------------- send


def _problem(field: str, reason: str, message: str) -> dict[str, str]:
    return {"field": field, "reason": reason, "message": message}


def send(
    principal: Principal,
    *,
    to: str,
    subject: str,
    body: str,
    transfer_id: str | None = None,
    reply_to: str | None = None,
) -> dict[str, Any]:
    """Send a message (201). 422 naming every bad field, 413 for a body over the limit, 429 when the
    organisation has sent its messages for today."""
    _require_school_or_la(principal)
    body = normalise_body(body)
    if len(body) > BODY_MAX:
        raise TooLarge(
            f"The message is {len(body):,} characters long; a message may hold at most {BODY_MAX:,}. "
            "Send it as two messages, or put the details in a file and send that.",
            code="message_too_long",
            details=[_problem("body", "too_long", f"at most {BODY_MAX} characters")],
        )
    problems: list[dict[str, str]] = []
    if to == principal.org:
        problems.append(_problem("to", "self", "is your own organisation: write to another school or LA"))
    thread_id: str | None = None
    if reply_to is not None:
        parent = repo.get(reply_to)
        if parent is None or side_of(principal, parent[0]) is None:
            problems.append(_problem("reply_to", "unknown_message", "is not a message your organisation can see"))
        elif thread_problem(parent[0], principal.org, to):
            problems.append(
                _problem(
                    "reply_to",
                    "other_organisations",
                    "belongs to a thread between other organisations: a reply goes to the same organisation",
                )
            )
        else:
            thread_id = parent[0].thread_id
    if transfer_id is not None:
        t = transfers.get_transfer(transfer_id, consistent=False)
        if t is None or not can_see(principal, t):
            problems.append(_problem("transfer_id", "unknown_transfer", "is not a transfer your organisation can see"))
        elif not can_see(as_principal(to), t):
            problems.append(
                _problem("transfer_id", "not_shared", "is a transfer the organisation you are writing to cannot see")
            )
    if problems:
        text = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        raise InvalidRequest(f"The message was not sent: {text}", details=problems)

    settings = get_settings()
    now = clock.now()
    message_id = uuid.uuid4().hex
    m = Message(
        message_id=message_id,
        thread_id=thread_id or message_id,
        sender=principal.org,
        sender_name=principal.org_name,
        recipient=to,
        subject=subject,
        created_at=clock.iso(now),
        expires_at=clock.iso(now + timedelta(days=settings.retention_days)),
        sent_by=principal.user_id,
        sent_by_email=principal.email or "",
        reply_to=reply_to,
        transfer_id=transfer_id,
    )
    parts = repo.encrypt_body(m, body)
    event = received_event(m)
    try:
        repo.create(m, parts, now, settings.daily_message_count, event)
    except repo.QuotaUsedUp:
        raise Throttled(
            f"Your organisation has sent {settings.daily_message_count} messages today, the most it may send in "
            "a day. Try again tomorrow, or contact the S2S helpdesk if you need more.",
            retry_after=seconds_until_tomorrow(now),
            code="message_quota",
        ) from None
    organisations.remember_name(principal.org, principal.org_name, now)
    count(Metric.MESSAGES_SENT)
    logger.info(
        "message sent",
        extra={**principal.log_fields(), "message_id": message_id, "thread_id": m.thread_id, "to": to},
    )
    # Stored with its event in the outbox: if SNS fails now, the sweep publishes it (at least once).
    events.try_publish(event)
    return {**summary(principal, m, _names([m])), "body": body}  # the text we have: no Decrypt


def received_event(m: Message) -> dict[str, Any]:
    """The `message.received` event for notify: who wrote to whom and the message's id, never its
    subject or body (the topic, its queues and their DLQs never hold them)."""
    event = {
        "event_id": f"{m.message_id}:{MESSAGE_RECEIVED}",
        "type": MESSAGE_RECEIVED,
        "message_id": m.message_id,
        "recipients": [m.recipient],
        "source": m.sender,
        "source_name": m.sender_name,
        "occurred_at": m.created_at,
    }
    MessageEvent.model_validate(event)  # what notify will read
    return event


# ---------------------------------------------------------------------------- read


def read(principal: Principal, message_id: str) -> dict[str, Any]:
    """The message and its thread. Every unread message of the thread addressed to the caller's
    organisation is read now (its read receipt). 404 for anyone but the two organisations, 410 once
    it has expired."""
    m, _ = _visible(principal, message_id)
    if is_expired(m):
        raise Gone(
            "This message has expired: messages are kept for the retention period and cannot be read after it.",
            code="message_expired",
        )
    entries = [(e, parts) for e, parts in repo.thread(m.thread_id) if side_of(principal, e) is not None]
    at = clock.now_iso()
    shown: list[tuple[Message, list[bytes]]] = []
    for entry, parts in entries:
        current = (entry, parts)
        if is_unread_for(principal, entry) and not is_expired(entry):
            if repo.mark_read(entry, at, principal.user_id, principal.email or ""):
                logger.info("message read", extra={**principal.log_fields(), "message_id": entry.message_id})
            current = repo.get(entry.message_id) or current
        shown.append(current)
    names = _names([e for e, _ in shown])
    thread = [_view(principal, e, parts, names) for e, parts in shown]
    this = next((v for v in thread if v["message_id"] == message_id), None)
    if this is None:  # deleted from both sides between the two reads
        raise _not_found()
    return {"message": this, "thread": thread}


# ---------------------------------------------------------------------------- lists


def _valid_position(position: Any, index: str, value: str) -> bool:
    if not isinstance(position, dict) or set(position) != {"PK", "SK", f"{index}PK", f"{index}SK"}:
        return False
    if not all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in position.values()):
        return False
    return bool(position[f"{index}PK"]["S"] == repo.partition(index, value))


def _bad_cursor(sentence: str) -> InvalidRequest:
    return InvalidRequest(sentence, details=[{"field": "cursor", "reason": "invalid"}])


def list_box(principal: Principal, *, box: Box, unread: bool, limit: int, cursor: str | None) -> dict[str, Any]:
    """One page of the inbox (optionally unread only) or the sent box, newest first, and the
    organisation's unread count."""
    _require_school_or_la(principal)
    if unread and box != "inbox":
        raise InvalidRequest(
            "unread=true lists the inbox only.",
            details=[_problem("unread", "inbox_only", "applies to box=inbox only")],
        )
    index = (repo.UNREAD if unread else repo.INBOX) if box == "inbox" else repo.SENT
    start = None
    if cursor:
        state = cursors.decode_cursor(cursor)
        if state.get("list") != f"messages:{box}:{int(unread)}":
            raise _bad_cursor("The cursor belongs to another list. Ask for the first page again (leave out cursor).")
        start = state.get("at")
        if not _valid_position(start, index, principal.org):
            raise _bad_cursor("The cursor is not one we gave out. Ask for the first page again (leave out cursor).")
    now = clock.now_iso()
    found, next_start = repo.page(index, principal.org, limit=limit, start=start, now=now)
    names = _names(found)
    next_cursor = (
        cursors.encode_cursor({"list": f"messages:{box}:{int(unread)}", "at": next_start}) if next_start else None
    )
    return {
        "messages": [summary(principal, m, names) for m in found],
        "next_cursor": next_cursor,
        "unread_count": repo.count_unread(principal.org, now),
    }


def for_transfer(principal: Principal, transfer_id: str) -> dict[str, Any]:
    """The messages attached to a transfer, for a caller who may see the transfer and is one of a
    message's two organisations (an LA sees its schools' files, not their messages)."""
    _require_school_or_la(principal)
    t = transfers.get_transfer(transfer_id, consistent=False)
    if t is None or not can_see(principal, t):
        raise NotFound("There is no transfer with that id for your organisation.", code="not_found")
    found = [m for m in repo.for_transfer(transfer_id, clock.now_iso()) if side_of(principal, m) is not None]
    names = _names(found)
    return {"transfer_id": transfer_id, "messages": [summary(principal, m, names) for m in found]}


# ---------------------------------------------------------------------------- delete


def delete(principal: Principal, message_id: str) -> None:
    """Remove the message from the caller's side only; the other organisation keeps its copy."""
    m, _ = _visible(principal, message_id)
    side = side_of(principal, m)
    assert side is not None
    gone = repo.delete_side(m, side)
    logger.info(
        "message deleted", extra={**principal.log_fields(), "message_id": message_id, "side": side, "gone": gone}
    )
