"""The expiry sweep (docs/SERVICE.md §4, §6, §11), hourly: mark what has expired (deleting its
objects), remind recipients of files expiring soon that were never downloaded, and publish the
events still in the outbox that an earlier run could not: transfers' and secure messages'
(`message.received`, which it publishes as stored: it never reads a message, let alone its body).
Its work lists are the transfers due each day and the outbox index (never a Scan)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from s2s.adapters import events as outbox
from s2s.adapters import files, transfers
from s2s.adapters.transfers import Actor, TransitionConflict
from s2s.domain import clock
from s2s.domain.transfers import TERMINAL, Transfer, counter_deltas, effective_status, in_place, move
from s2s.runtime.settings import get_settings
from s2s.services import outbox as events

ACTOR = Actor.system("expiry-sweep")


@dataclass
class SweepReport:
    expired: int = 0
    reminded: int = 0
    republished: int = 0


def _expire(t: Transfer) -> bool:
    at = clock.now()
    after = move(t, "expired", ended_at=clock.iso(at))
    try:
        transfers.commit_change(
            t, after, action="expired", actor=ACTOR, at=clock.iso(at), deltas=counter_deltas(t, "expired", at)
        )
    except TransitionConflict:
        return False
    bucket = get_settings().bucket_name
    for key in (t.stored_key, t.incoming_key):
        files.delete(bucket, key)
    return True


def _remind(t: Transfer) -> bool:
    at = clock.now()
    after = in_place(t, "expiring_reminder", expiring_notified=True)
    event = events.build_event("transfer.expiring", after, clock.iso(at))
    try:
        transfers.commit_change(
            t,
            after,
            action="expiring_reminder",
            actor=ACTOR,
            at=clock.iso(at),
            event=event,
            extra_condition="attribute_not_exists(expiring_notified) OR expiring_notified = :f",
            extra_values={":f": False},
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
        last = transfers.last_sweep_day()
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
        for t in transfers.due_on(day, until=now_iso):
            if effective_status(t, now) == "expired" and t.status not in TERMINAL and _expire(t):
                report.expired += 1
    for offset in reminder_days:
        day = clock.day(now + timedelta(days=offset))
        for t in transfers.due_on(day):
            if (
                t.status == "available"
                and not t.expiring_notified
                and effective_status(t, now) == "available"
                and clock.parse(t.expires_at) <= now + timedelta(days=settings.expiring_within_days)
                and _remind(t)
            ):
                report.reminded += 1
    for event in outbox.pending_older_than(clock.iso(now - timedelta(minutes=1))):
        if events.try_publish(event):
            report.republished += 1
    transfers.record_sweep_day(clock.day(now))
    return report
