"""The Lost Pupils Database (docs/SERVICE.md §2, §4, §5): CTF files sent to `XXXXXXX` (destination unknown)
or `MMMMMMM` (independent school or outside England and Wales). Every LA may search them by UPN and
download them; an LA claims one for one of its own schools, which re-addresses the file there.

A claim is one conditional, version-checked change (transfers.commit_change): of two LAs claiming the
same file at once exactly one wins. The claimed file becomes a file that school received today
(counters, inbox, undownloaded report, `transfer.claimed` to its subscribers)."""

from __future__ import annotations

from typing import Any

from s2s.adapters import transfers
from s2s.adapters.transfers import Actor, TransitionConflict
from s2s.domain import clock
from s2s.domain.errors import Conflict, Forbidden, Gone, InvalidRequest, NotFound
from s2s.domain.identifiers import is_laestab, is_valid_upn
from s2s.domain.principal import Principal
from s2s.domain.transfers import LIVE, TERMINAL, Transfer, can_see, claim_deltas, claimed_for, effective_status
from s2s.runtime.log import logger
from s2s.services import outbox as events
from s2s.services.queries import summary

# Enough for any one pupil: a UPN is one child, and each LPD file carries exactly one.
MAX_FILES_PER_UPN = 200


def _require_la(principal: Principal) -> None:
    if principal.kind != "la":
        raise Forbidden("The Lost Pupils Database is for local authority users.", code="forbidden_role")


def normalise_upn(upn: str) -> str:
    """The UPN as given, if it is one; any other form (length, characters, case, check letter) is
    422 `bad_upn` (docs/SERVICE.md §2)."""
    if not is_valid_upn(upn):
        from s2s.domain.naming import upn_refusal

        raise InvalidRequest(
            "That is not a valid UPN. " + upn_refusal(upn),
            code="bad_upn",
            details=[{"field": "upn", "reason": "bad_upn"}],
        )
    return upn


def search(principal: Principal, upn: str) -> tuple[str, list[dict[str, Any]]]:
    """Metadata of every LPD file for this UPN, from any LA, newest first, with its status now.
    Claimed files have left the database (they belong to a school) and are not listed."""
    _require_la(principal)
    value = normalise_upn(upn)
    found: list[dict[str, Any]] = []
    for t in transfers.lost_pupil_files(value):
        if not t.is_lpd or not can_see(principal, t):
            continue
        shown = summary(principal, t)
        found.append({**shown, "claimable": shown["status"] in LIVE})
        if len(found) >= MAX_FILES_PER_UPN:
            break
    return value, found


def _check_destination(principal: Principal, destination: str) -> str:
    school = destination.strip()
    if not is_laestab(school):
        raise InvalidRequest(
            "The destination is a school's 7-digit LAESTAB, for example 8234001.",
            code="bad_destination",
            details=[{"field": "destination", "reason": "bad_laestab"}],
        )
    from s2s.domain.naming import known_la

    if not known_la(school[:3]):
        raise InvalidRequest(
            f"{school[:3]} (the start of {school}) is not a local authority code S2S knows. Check the "
            "school's LAESTAB: 3 digits of LA code and 4 of establishment number.",
            code="unknown_la",
            details=[{"field": "destination", "reason": "unknown_la"}],
        )
    if school[:3] != principal.la:
        raise Forbidden(
            f"{school} is not one of your LA's schools: an LA claims files only for its own schools.",
            code="not_your_school",
        )
    return school


def _claimable(principal: Principal, t: Transfer | None) -> Transfer:
    """The transfer if this LA may claim it now; otherwise the error that says why not."""
    if t is None or not can_see(principal, t):
        raise NotFound("There is no Lost Pupils Database file with that id.", code="not_found")
    if t.claimed_from is not None:
        raise Conflict(f"This file was already claimed for {t.recipient_org}.", code="already_claimed")
    if not t.is_lpd:
        raise Conflict("This file is not in the Lost Pupils Database.", code="not_lost_pupil")
    status = effective_status(t)
    if status in TERMINAL and status != "rejected":
        raise Gone(f"This file is no longer available: it was {status}.", code=status)
    if status not in LIVE:
        raise Conflict(f"This file cannot be claimed: it is {status.replace('_', ' ')}.", code="not_available")
    return t


def claim(principal: Principal, origin: dict[str, str], transfer_id: str, destination: str) -> dict[str, Any]:
    """Re-address an unclaimed LPD file to one of the claiming LA's schools. Returns the file as
    the LA now sees it."""
    _require_la(principal)
    school = _check_destination(principal, destination)
    t = _claimable(principal, transfers.get_transfer(transfer_id))
    actor = Actor.of(principal, origin)
    at = clock.now()
    at_iso = clock.iso(at)
    after = claimed_for(t, school, la=principal.la, by=principal.org, at=at_iso)
    event = events.build_event("transfer.claimed", after, at_iso, claimed_by=principal.org)
    try:
        transfers.commit_change(
            t,
            after,
            action="claimed",
            actor=actor,
            at=at_iso,
            deltas=claim_deltas(after, at),
            event=event,
            audit_details={
                "destination": school,
                "previous_destination": t.destination,
                "claimed_from": t.recipient_org,
                "claimed_by": principal.org,
            },
            extra_condition="expires_at > :now",
            extra_values={":now": at_iso},
        )
    except TransitionConflict as exc:
        # Someone changed it first (another LA's claim, the sender's withdrawal, the sweep): say
        # what it is now; if it still looks claimable, the caller may simply try again.
        now = transfers.get_transfer(transfer_id)
        if now is not None and now.claimed_from is not None:
            # The loser of a race saw the file a moment ago, so saying it was claimed leaks nothing.
            raise Conflict("Another local authority claimed this file first.", code="already_claimed") from exc
        _claimable(principal, now)
        raise Conflict("The file changed while we were claiming it. Try again.", code="conflict") from exc
    events.try_publish(event)
    logger.info(
        "lost pupil file claimed",
        extra={"transfer_id": transfer_id, "destination": school, **principal.log_fields()},
    )
    return summary(principal, after)
