"""Secure messages between two organisations (docs/SERVICE.md, "Secure messages"): the rules as plain
functions, no AWS.

- who may be written to: a school (LAESTAB, 7 digits) or a local authority (`<LA>LLLL`) of a known
  LA, never your own organisation;
- what a subject and a body may hold: plain text (a subject on one line), 1-120 and 1-10,000
  characters;
- the thread rule: a reply belongs to the thread of the message it answers, and that message must
  be between the same two organisations;
- who sees a message: its two organisations, each until it deletes the message from its own side;
  nobody else (not their LAs, not the DfE);
- read receipts under the history's privacy rule: the sender's organisation sees that the
  recipient organisation read the message and when, never who there read it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from s2s.domain import clock
from s2s.domain.naming import known_la
from s2s.domain.principal import Principal
from s2s.domain.transfers import sees_people_of

SUBJECT_MAX = 120
BODY_MAX = 10_000

MESSAGE_RECEIVED = "message.received"

Side = Literal["sender", "recipient"]
Box = Literal["inbox", "sent"]

_ORG = re.compile(r"^(?:[0-9]{7}|[0-9]{3}LLLL)$", re.ASCII)
# Characters that reorder or hide text (Trojan Source), or end a line where a line cannot end.
_INVISIBLE = frozenset(
    "\u200b\u200c\u200d\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
)
_BODY_CONTROLS_ALLOWED = frozenset("\n\r\t")


def recipient_problem(to: str) -> str | None:
    """Why `to` cannot receive a message (a reason code), or None. Who sends is checked apart."""
    if not _ORG.fullmatch(to):
        return "bad_recipient"
    if not known_la(to[:3]):
        return "unknown_la"
    return None


def text_problem(value: str, *, one_line: bool) -> str | None:
    """Why `value` is not plain text for a subject (`one_line`) or a body, or None."""
    for char in value:
        if char in _INVISIBLE:
            return "hidden_characters"
        if unicodedata.category(char) in ("Cc", "Cs", "Co") and (one_line or char not in _BODY_CONTROLS_ALLOWED):
            return "control_characters"
    if not value.strip():
        return "blank"
    return None


def normalise_body(body: str) -> str:
    """Line ends as `\\n`, whatever the sender's system wrote."""
    return body.replace("\r\n", "\n").replace("\r", "\n")


@dataclass(frozen=True, slots=True)
class Message:
    """One message as stored, without its body (which is kept encrypted, apart)."""

    message_id: str
    thread_id: str
    sender: str
    sender_name: str
    recipient: str
    subject: str
    created_at: str
    expires_at: str
    sent_by: str = ""
    sent_by_email: str = ""
    reply_to: str | None = None
    transfer_id: str | None = None
    read_at: str | None = None
    read_by: str | None = None
    read_by_email: str | None = None
    deleted_by: tuple[Side, ...] = field(default_factory=tuple)

    @property
    def orgs(self) -> frozenset[str]:
        return frozenset((self.sender, self.recipient))


def side_of(principal: Principal, message: Message) -> Side | None:
    """The caller's side of the message, or None when the message is not theirs to see: only its
    two organisations see it, each until it deletes it from its own side."""
    if principal.kind == "dfe":
        return None
    side: Side | None = None
    if principal.org == message.sender:
        side = "sender"
    elif principal.org == message.recipient:
        side = "recipient"
    if side is None or side in message.deleted_by:
        return None
    return side


def is_expired(message: Message, moment: datetime | None = None) -> bool:
    return clock.parse(message.expires_at) <= (moment or clock.now())


def thread_problem(parent: Message, sender: str, recipient: str) -> str | None:
    """The thread rule: a reply joins the thread of the message it answers only between the same two
    organisations. None when it may, else a reason code."""
    if parent.orgs != frozenset((sender, recipient)):
        return "other_organisations"
    return None


def is_unread_for(principal: Principal, message: Message) -> bool:
    return principal.org == message.recipient and message.read_at is None


def receipt_view(viewer: Principal, message: Message) -> dict[str, str | None] | None:
    """The read receipt as `viewer` may see it: the organisation and the time for everyone who sees
    the message; who read it only for that organisation's own people (docs/SERVICE.md §4)."""
    if message.read_at is None:
        return None
    receipt: dict[str, str | None] = {"organisation": message.recipient, "read_at": message.read_at}
    if sees_people_of(viewer, message.recipient) and viewer.org == message.recipient:
        receipt.update({"read_by": message.read_by, "read_by_email": message.read_by_email})
    return receipt


def sender_view(viewer: Principal, message: Message) -> dict[str, str | None]:
    """Who sent it: the person only for the sender's own organisation."""
    if viewer.org == message.sender:
        return {"sent_by": message.sent_by, "sent_by_email": message.sent_by_email}
    return {"sent_by": None, "sent_by_email": None}


def as_principal(org: str) -> Principal:
    """An organisation as a caller, to ask whether it may see a transfer (its LA code from its code)."""
    if org.endswith("LLLL"):
        return Principal("la", "", None, "", org[:3], None)
    return Principal("school", "", None, "", org[:3], org)


__all__ = [
    "BODY_MAX",
    "MESSAGE_RECEIVED",
    "SUBJECT_MAX",
    "Box",
    "Message",
    "Side",
    "as_principal",
    "is_expired",
    "is_unread_for",
    "normalise_body",
    "receipt_view",
    "recipient_problem",
    "sender_view",
    "side_of",
    "text_problem",
    "thread_problem",
]
