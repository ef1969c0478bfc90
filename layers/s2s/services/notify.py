"""Notify, the use case (docs/SERVICE.md §6): a TransferEvent becomes one email per subscriber of
each organisation it is for, sent once per event and address however often it is delivered.

Why not Powertools' idempotency utility for the once-per-address rule: it records that a whole
function call completed, in a table of its own, and cannot put anything else in that write. Here
the sending record and the transfer's `email_sent` audit item go into the same DynamoDB
transaction (s2s.adapters.subscriptions), so an email is never recorded as sent without its audit
line, nor audited twice; and the lease is per address, so one failed address is retried without
sending again to the others. Those guarantees would be lost, so the claim/mark/release records stay.

Logs carry event types, transfer ids, organisation codes and counts: never addresses."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from s2s.adapters import organisations, ses, subscriptions, transfers
from s2s.contracts.events import MessageEvent, TransferEvent
from s2s.domain import clock, emails
from s2s.domain.messages import MESSAGE_RECEIVED
from s2s.runtime.log import Metric, count, logger
from s2s.runtime.settings import get_settings

ACTOR = transfers.Actor.system("notify")


class MalformedEvent(ValueError):
    """The message is not a TransferEvent we can read. Retrying will not help: it ends in the DLQ."""


class EmailsNotSent(Exception):
    """Some emails of this event were not sent (SES failed, or another delivery is sending them);
    the record fails so that SQS delivers it again. Those already sent are skipped next time."""


@dataclass
class Outcome:
    """What one event led to (counts only, for logs and tests)."""

    sent: int = 0
    duplicates: int = 0
    failed: int = 0
    organisations: list[str] = field(default_factory=list)


def _event_type(body: str) -> object:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data.get("type") if isinstance(data, dict) else None


def parse_event(body: str) -> dict[str, Any]:
    """The TransferEvent (or MessageEvent) in an SQS body (raw SNS delivery: the body is the event JSON)."""
    model: type[TransferEvent] | type[MessageEvent] = (
        MessageEvent if _event_type(body) == MESSAGE_RECEIVED else TransferEvent
    )
    try:
        event = model.model_validate_json(body)
    except ValidationError as exc:
        # Field names and error kinds only: the values may be anything a producer sent.
        problems = sorted({f"{'.'.join(map(str, e['loc'])) or 'body'} {e['type']}" for e in exc.errors()})
        raise MalformedEvent(f"not a {model.__name__}: {', '.join(problems)[:300]}") from None
    return event.model_dump()


def organisation_names(event: dict[str, Any]) -> dict[str, str]:
    """Display names for every organisation the email mentions; unknown ones are left out (the
    email shows the code). The sender's name travels in the event."""
    names: dict[str, str] = {}
    codes = {
        event.get("recipient_org"),
        event.get("destination"),
        event.get("downloaded_by"),
        event.get("claimed_by"),
        *event["recipients"],
    }
    for code in sorted(c for c in codes if isinstance(c, str) and c):
        name = organisations.name(code)
        if name:
            names[code] = name
    source, source_name = event.get("source"), event.get("source_name")
    if isinstance(source, str) and isinstance(source_name, str) and source_name:
        names[source] = source_name
    return names


def send_once(event: dict[str, Any], org: str, address: str, email: emails.Email) -> bool:
    """Send `email` to `address` unless this event's email to it has gone already. True when sent
    now. Raises when SES fails (the sending record is released for the retry) or when another
    delivery of the same message holds the record."""
    event_id = event["event_id"]
    claim = subscriptions.claim_send(event_id, address)
    if claim.outcome == "already_sent":
        return False
    if claim.outcome == "in_progress":
        raise EmailsNotSent("another delivery of this event is sending this email")
    settings = get_settings()
    try:
        message_id = ses.send_email(settings.sender_email, address, email.subject, email.text, email.html)
    except Exception:
        subscriptions.release_send(event_id, address, claim.token)
        raise
    also = []
    if event.get("transfer_id"):  # a message's email has no transfer to audit it on
        also.append(
            transfers.audit_put(
                event["transfer_id"],
                "email_sent",
                ACTOR,
                clock.now_iso(),
                {
                    "type": event["type"],
                    "org": org,
                    "to": address,
                    "message_id": message_id,
                },
            )
        )
    subscriptions.mark_sent(event_id, address, message_id, also=also)
    return True


def notify(event: dict[str, Any]) -> Outcome:
    """Email every subscriber of every recipient organisation of `event`, once each."""
    outcome = Outcome(organisations=list(event["recipients"]))
    if event["type"] not in emails.SUPPORTED_TYPES and event["type"] != MESSAGE_RECEIVED:
        logger.warning("event type without an email", extra={"event_type": event["type"][:60]})
        return outcome
    render = emails.render_message if event["type"] == MESSAGE_RECEIVED else emails.render
    try:
        email = render(event, names=organisation_names(event), portal_url=get_settings().portal_url)
    except emails.UnsupportedEvent as exc:
        raise MalformedEvent(str(exc)) from exc
    for org in event["recipients"]:
        for address in subscriptions.subscribers(org):
            try:
                if send_once(event, org, address, email):
                    outcome.sent += 1
                    count(Metric.EMAILS_SENT)
                else:
                    outcome.duplicates += 1
            except Exception:  # the others still get theirs; this record is retried
                outcome.failed += 1
                count(Metric.EMAILS_FAILED)
                logger.warning(
                    "email not sent",
                    exc_info=True,
                    extra={
                        "event_type": event["type"],
                        "transfer_id": event.get("transfer_id"),
                        "message_id": event.get("message_id"),
                        "org": org,
                    },
                )
    logger.info(
        "notified",
        extra={
            "event_type": event["type"],
            "transfer_id": event.get("transfer_id"),
            "message_id": event.get("message_id"),
            "orgs": outcome.organisations,
            "sent": outcome.sent,
            "duplicates": outcome.duplicates,
            "failed": outcome.failed,
        },
    )
    if outcome.failed:
        raise EmailsNotSent(f"{outcome.failed} email(s) not sent for {event['event_id']}")
    return outcome
