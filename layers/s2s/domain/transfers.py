"""A transfer's life (docs/SERVICE.md §4) as plain data and rules: the record, who may see, download and
remove it, what the status is *now* (expiry is enforced at every read), and which report counters
each change moves. Nothing here talks to AWS."""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

from s2s.domain import clock
from s2s.domain.principal import Principal

Status = Literal["pending_upload", "available", "downloaded", "withdrawn", "removed", "rejected", "expired"]
STATUSES: tuple[Status, ...] = get_args(Status)
# Which transfers a list shows: addressed to you, sent by you, or (an LA) from or to its schools.
Box = Literal["inbox", "outbox", "la"]
# What a change of state tells subscribers (docs/SERVICE.md §6).
EventType = Literal[
    "transfer.available",
    "transfer.rejected",
    "transfer.downloaded",
    "transfer.expiring",
    "transfer.claimed",
]
EVENT_TYPES: tuple[EventType, ...] = get_args(EventType)
LIVE: tuple[Status, ...] = ("available", "downloaded")
TERMINAL: tuple[Status, ...] = ("withdrawn", "removed", "rejected", "expired")

# The state machine (docs/SERVICE.md §4): the statuses a transfer may move to, and from which.
# Every change is a conditional write on the stored status being one of these.
TRANSITIONS: dict[Status, tuple[Status, ...]] = {
    "available": ("pending_upload",),  # the landing check accepted the file
    "rejected": ("pending_upload",),  # the landing check refused it
    "downloaded": ("available",),  # the first download (later ones change nothing)
    "withdrawn": ("pending_upload", "available"),  # the sender, before any download
    "removed": ("available", "downloaded"),  # the recipient or its LA
    "expired": ("pending_upload", "available", "downloaded"),  # the retention ended
}


def may_move(old: Status, new: Status) -> bool:
    return old in TRANSITIONS.get(new, ())


# Changes that keep the status (or, for a claim, set it to `available` again) rather than move
# along the state machine, and the statuses in which each may be made.
IN_PLACE: dict[str, tuple[Status, ...]] = {
    "expiring_reminder": ("available",),  # the one reminder before expiry, never downloaded
    "claimed": LIVE,  # an unclaimed Lost Pupils file re-addressed to a school, available to it
}


class IllegalTransition(Exception):
    """A change the state machine does not have. A bug in the service, never a caller's mistake
    (so it is a 500): the services check what the caller may do before they change anything."""


def allowed_from(change: str, new: Status) -> tuple[Status, ...]:
    """The stored statuses a change may be written over: `TRANSITIONS[new]` for a move (whose
    audit action is the new status), `IN_PLACE[change]` for the others. The store writes every
    change on condition that the stored status is one of these."""
    if change in IN_PLACE:
        return IN_PLACE[change]
    if change != new or new not in TRANSITIONS:
        raise IllegalTransition(f"{change!r} to {new!r} is not a change of the state machine")
    return TRANSITIONS[new]


def move(transfer: Transfer, new: Status, **changes: Any) -> Transfer:
    """The transfer after moving to `new` (with `changes` to its other fields), if the state
    machine allows that move from its status; IllegalTransition otherwise."""
    if not may_move(transfer.status, new):
        raise IllegalTransition(f"a transfer cannot move from {transfer.status!r} to {new!r}")
    return replace(transfer, status=new, **changes)


def in_place(transfer: Transfer, change: str, **changes: Any) -> Transfer:
    """The transfer after a change that is not a move (`IN_PLACE`), if its status allows it."""
    if transfer.status not in IN_PLACE.get(change, ()):
        raise IllegalTransition(f"{change!r} cannot be made to a {transfer.status!r} transfer")
    return replace(transfer, **changes)


def claimed_for(transfer: Transfer, school: str, *, la: str | None, by: str, at: str) -> Transfer:
    """An unclaimed Lost Pupils file re-addressed to `school` of the LA `la` by the LA `by` at
    `at`: a file that school received then. The file name stays as sent (docs/SERVICE.md §4)."""
    return in_place(
        transfer,
        "claimed",
        destination=school,
        dest_kind="school",
        dest_la=la,
        recipient_org=school,
        claimed_from=transfer.recipient_org,
        claimed_by=by,
        status="available",
        available_at=at,
        downloaded_at=None,
    )


# An object that lands this long after its upload URL expired was started in time (S3 checks the
# policy when the POST begins); later than this it is an unexpected object.
UPLOAD_GRACE = timedelta(minutes=10)
# A ticket nobody used shows as expired once the grace has passed too.
PENDING_EXPIRY_GRACE = timedelta(hours=1)

METRICS = ("sent", "received", "downloaded", "not_downloaded", "rejected", "expired", "lost_pupils")


@dataclass
class Transfer:
    """One file sent through S2S, as stored (one DynamoDB item)."""

    transfer_id: str
    filename: str
    family: str
    file_type: str
    source: str
    source_kind: str
    source_la: str
    source_name: str
    destination: str
    dest_kind: str
    dest_la: str | None
    recipient_org: str
    size_bytes: int
    status: Status
    created_at: str
    created_by: str
    upload_expires_at: str
    expires_at: str
    sha256: str | None = None
    upn: str | None = None
    available_at: str | None = None
    downloaded_at: str | None = None
    ended_at: str | None = None
    reason: str | None = None
    reason_message: str | None = None
    suggestion: str | None = None
    expiring_notified: bool = False
    claimed_from: str | None = None
    claimed_by: str | None = None
    version: int = 0

    @property
    def is_lpd(self) -> bool:
        return self.dest_kind in ("lpd_unknown", "lpd_outside") and self.claimed_from is None

    @property
    def incoming_key(self) -> str:
        return f"incoming/{self.transfer_id}/{self.filename}"

    @property
    def stored_key(self) -> str:
        return f"stored/{self.transfer_id}/{self.filename}"

    @property
    def stem(self) -> str:
        return self.filename.rsplit(".", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        # Every field is a plain value: a shallow copy is enough (asdict deep-copies).
        return {name: getattr(self, name) for name in _FIELD_NAMES}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transfer:
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        # The store leaves out attributes that are None (dest_la of a Lost Pupils file, say).
        for f in fields(cls):
            if f.name not in values and f.default is MISSING:
                values[f.name] = None
        values["size_bytes"] = int(values["size_bytes"])
        values["version"] = int(values.get("version") or 0)
        return cls(**values)


_FIELD_NAMES = tuple(f.name for f in fields(Transfer))


# ---------------------------------------------------------------------------- status now


def effective_status(transfer: Transfer, moment: datetime | None = None) -> Status:
    """The status as of now: a live file past `expires_at`, or a ticket never used, is expired
    even before the sweep has marked it."""
    moment = moment or clock.now()
    if transfer.status in LIVE and moment >= clock.parse(transfer.expires_at):
        return "expired"
    if transfer.status == "pending_upload" and moment >= (
        clock.parse(transfer.upload_expires_at) + PENDING_EXPIRY_GRACE
    ):
        return "expired"
    return transfer.status


# ---------------------------------------------------------------------------- who may do what


def _ever_available(transfer: Transfer) -> bool:
    return transfer.available_at is not None


def is_sender_side(principal: Principal, transfer: Transfer) -> bool:
    if principal.kind == "dfe":
        return False
    if transfer.source == principal.org:
        return True
    return principal.kind == "la" and transfer.source_la == principal.la


def is_recipient(principal: Principal, transfer: Transfer) -> bool:
    """The organisation the file is addressed to (not its LA)."""
    return principal.kind != "dfe" and transfer.recipient_org == principal.org


def is_recipient_side(principal: Principal, transfer: Transfer) -> bool:
    """The recipient, its LA, and for an unclaimed LPD file every LA; only once it was available."""
    if principal.kind == "dfe" or not _ever_available(transfer):
        return False
    if is_recipient(principal, transfer):
        return True
    if principal.kind != "la":
        return False
    if transfer.is_lpd:
        return True
    return transfer.dest_la == principal.la


def can_see(principal: Principal, transfer: Transfer) -> bool:
    return is_sender_side(principal, transfer) or is_recipient_side(principal, transfer)


def is_addressee(principal: Principal, transfer: Transfer) -> bool:
    """Whoever may download the file once it is available, whether or not it is yet: the
    organisation it is addressed to (an LA for `LLLL`/`XXXX` names), or any LA for an unclaimed
    Lost Pupils Database file."""
    if principal.kind == "dfe":
        return False
    if transfer.recipient_org == principal.org:
        return True
    return principal.kind == "la" and transfer.is_lpd


def can_download(principal: Principal, transfer: Transfer) -> bool:
    """The recipient; the LA for files addressed to the LA (`LLLL`, `XXXX`); any LA for LPD files.
    An LA sees its schools' files but does not download them."""
    if not is_recipient_side(principal, transfer):
        return False
    if is_recipient(principal, transfer):
        return True
    return principal.kind == "la" and transfer.is_lpd


def removal_status(principal: Principal, transfer: Transfer) -> Status | None:
    """`withdrawn` for the sender before any download, `removed` for the recipient or its LA, or
    None when this caller may not remove it at all."""
    if is_recipient_side(principal, transfer) and not transfer.is_lpd:
        return "removed"
    if transfer.source == principal.org:
        return "withdrawn"
    return None


# ---------------------------------------------------------------------------- privacy in the history

# What an audit event says about the person who acted. Shown only to that person's organisation
# (and its LA, for a school); everyone else sees the organisation, the action and the time.
PERSONAL_FIELDS = ("actor_user", "actor_email", "source_ip", "user_agent")
SYSTEM_ORG = "S2S"
_LAESTAB_DIGITS = frozenset("0123456789")


def sees_people_of(viewer: Principal, org: str) -> bool:
    """Whether `viewer` may see who in `org` acted, from which address and browser: its own
    organisation's people, and for an LA those of its own schools, as those schools see them."""
    if viewer.kind == "dfe" or not org:
        return False
    if org == viewer.org:
        return True
    is_school = len(org) == 7 and set(org) <= _LAESTAB_DIGITS
    return viewer.kind == "la" and is_school and org[:3] == viewer.la


def audit_view(viewer: Principal, event: dict[str, Any]) -> dict[str, Any]:
    """The one place that decides what `viewer` sees of one audit event (docs/SERVICE.md §4, privacy inside
    the history). `event` is the stored event (`s2s.adapters.transfers.audit_events`); the answer leaves out
    every personal field the viewer may not see rather than blanking it.

    - the service's own steps (landing check, sweep, emails) carry no person: shown as they are,
      except that an email names the organisation it went to, never the address;
    - an action of the viewer's own people, or for an LA of its schools' people: everything;
    - any other organisation's action: only `actor_org`, `action` and `at`."""
    base = {"action": event["action"], "at": event["at"], "actor_org": event["actor_org"]}
    if event["actor_org"] == SYSTEM_ORG:
        details = dict(event.get("details") or {})
        if event["action"].startswith("email"):
            details = {k: details[k] for k in ("type", "org") if k in details}
        return {**base, "actor_user": event.get("actor_user", ""), "details": details}
    if not sees_people_of(viewer, event["actor_org"]):
        return {**base, "details": {}}
    shown = {name: event.get(name, "") for name in PERSONAL_FIELDS}
    return {**base, **shown, "details": dict(event.get("details") or {})}


def receipt_view(viewer: Principal, event: dict[str, Any]) -> dict[str, Any]:
    """A download receipt (a `downloaded` audit event) as `viewer` may see it: the organisation and
    time always; the person, address and browser only under `audit_view`'s rule."""
    receipt: dict[str, Any] = {"at": event["at"], "organisation": event["actor_org"]}
    if sees_people_of(viewer, event["actor_org"]):
        receipt.update(
            {
                "user": event.get("actor_user", ""),
                "email": event.get("actor_email", ""),
                "source_ip": event.get("source_ip", ""),
                "user_agent": event.get("user_agent", ""),
            }
        )
    return receipt


# ---------------------------------------------------------------------------- report counters


@dataclass
class CounterDeltas:
    """Changes to per-day counters: (scope, day) -> metric -> delta. Scopes are `LA#823`,
    `SCHOOL#823#8231234` and `ALL` (national)."""

    deltas: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)

    def add(self, scope: str, day: str, metric: str, delta: int = 1) -> None:
        bucket = self.deltas.setdefault((scope, day), {})
        bucket[metric] = bucket.get(metric, 0) + delta

    def side(self, org: str, la: str | None, kind: str, day: str, metric: str, *, delta: int = 1) -> None:
        """Count for an organisation: its LA, and the school itself when it is one."""
        if la is None:
            return
        self.add(f"LA#{la}", day, metric, delta)
        if kind == "school":
            self.add(f"SCHOOL#{la}#{org}", day, metric, delta)


def _recipient_kind(transfer: Transfer) -> str:
    return "school" if transfer.dest_kind == "school" else "la"


def counter_deltas(transfer: Transfer, new_status: Status, at: datetime) -> CounterDeltas:
    """What a change of `transfer` (as it was before) to `new_status` at `at` does to the counters.

    `not_downloaded` counts, on the day a file was received, those still undownloaded now: +1 on
    receipt, -1 on that same day's counter when it is downloaded, removed, withdrawn or expires."""
    out = CounterDeltas()
    today = clock.day(at)
    old = transfer.status
    receipt_day = clock.day(clock.parse(transfer.available_at)) if transfer.available_at else None
    recipient_counts = not transfer.is_lpd

    if new_status == "available" and old == "pending_upload":
        out.side(transfer.source, transfer.source_la, transfer.source_kind, today, "sent")
        out.add("ALL", today, "sent")
        if transfer.is_lpd:
            out.side(transfer.source, transfer.source_la, transfer.source_kind, today, "lost_pupils")
            out.add("ALL", today, "lost_pupils")
        else:
            out.side(transfer.recipient_org, transfer.dest_la, _recipient_kind(transfer), today, "received")
            out.side(transfer.recipient_org, transfer.dest_la, _recipient_kind(transfer), today, "not_downloaded")
            out.add("ALL", today, "received")
            out.add("ALL", today, "not_downloaded")
    elif new_status == "rejected" and old == "pending_upload":
        out.side(transfer.source, transfer.source_la, transfer.source_kind, today, "rejected")
        out.add("ALL", today, "rejected")
    elif old == "available" and recipient_counts and receipt_day is not None:
        kind = _recipient_kind(transfer)
        if new_status in ("downloaded", "removed", "withdrawn", "expired"):
            out.side(transfer.recipient_org, transfer.dest_la, kind, receipt_day, "not_downloaded", delta=-1)
            out.add("ALL", receipt_day, "not_downloaded", -1)
        if new_status == "downloaded":
            out.side(transfer.recipient_org, transfer.dest_la, kind, today, "downloaded")
            out.add("ALL", today, "downloaded")
        if new_status == "expired":
            out.side(transfer.recipient_org, transfer.dest_la, kind, today, "expired")
            out.add("ALL", today, "expired")
    return out


def claim_deltas(transfer: Transfer, at: datetime) -> CounterDeltas:
    """An LPD file claimed for a school becomes a file that school received today (`transfer` is
    the record after the claim: addressed to the school, available again)."""
    out = CounterDeltas()
    today = clock.day(at)
    for metric in ("received", "not_downloaded"):
        out.side(transfer.recipient_org, transfer.dest_la, "school", today, metric)
        out.add("ALL", today, metric)
    return out
