"""What the `s2s` client prints for people: local, readable times (`3 Dec 2026 09:58`), sizes,
statuses and a transfer's history in words, and who may see whose people in that history.

The privacy rule is the service's (each organisation sees the details of its own people's
actions; another organisation's appear only as that organisation, the action and the time; an
email in the history names the organisation it went to, never the address; an LA sees its own
schools' people). The API already applies it; the client applies it again to whatever it was
sent, as the portal does (`portal/history.js`)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

STATUS_WORDS = {
    "pending_upload": "Waiting for upload",
    "available": "Ready to download",
    "downloaded": "Downloaded",
    "withdrawn": "Withdrawn by the sender",
    "removed": "Removed",
    "rejected": "Rejected",
    "expired": "Expired",
}
SYSTEM = "S2S"
_SCHOOL = re.compile(r"^[0-9]{7}$")
_EMAIL_ABOUT = {
    "transfer.available": "a file is ready",
    "transfer.rejected": "the file was rejected",
    "transfer.downloaded": "the file was downloaded",
    "transfer.expiring": "the file expires soon",
    "transfer.claimed": "a file was claimed",
}


def parse_time(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def when(iso: str | None) -> str:
    """`3 Dec 2026 09:58` in this machine's time zone; empty for no time."""
    if not iso:
        return ""
    moment = parse_time(iso).astimezone()
    return f"{moment.day} {moment:%b %Y %H:%M}"


def day(iso: str | None) -> str:
    if not iso:
        return ""
    moment = parse_time(iso).astimezone()
    return f"{moment.day} {moment:%b %Y}"


def size(n: int | None) -> str:
    if n is None:
        return ""
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / (1024 * 1024):.1f} MB"


def status(name: str | None) -> str:
    return STATUS_WORDS.get(name or "", name or "")


# ------------------------------------------------------------------------------------------ viewer


@dataclass(frozen=True)
class Viewer:
    """Who the token says is asking: enough to apply the privacy rule and say "You"."""

    kind: str
    org: str
    la: str
    user: str
    expires: int | None


def token_claims(token: str | None) -> dict[str, Any]:
    """The token's claims, read without checking the signature (the service checks it): only to
    say who is asking and when the token expires. {} for something that is not a JWT."""
    if not token or token.count(".") != 2:
        return {}
    payload = token.split(".")[1]
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, binascii.Error):
        return {}
    return data if isinstance(data, dict) else {}


def viewer(token: str | None) -> Viewer:
    claims = token_claims(token)
    expires = claims.get("exp") if isinstance(claims.get("exp"), int | float) else None
    org: Any = claims.get("organisation") or {}
    if isinstance(org, str):
        try:
            org = json.loads(org)
        except ValueError:
            org = {}
    if not isinstance(org, dict):
        org = {}
    category = org.get("category")
    category = category.get("id") if isinstance(category, dict) else category
    la_part = org.get("localAuthority")
    la = str(la_part.get("code") or "") if isinstance(la_part, dict) else ""
    user = str(claims.get("sub") or "")
    exp = int(expires) if expires is not None else None
    if str(category) == "001":
        return Viewer("school", f"{la}{org.get('establishmentNumber') or ''}", la, user, exp)
    if str(category) == "002":
        return Viewer("la", f"{la}LLLL", la, user, exp)
    if str(category) == "011":
        return Viewer("dfe", "DFE", "", user, exp)
    return Viewer("unknown", "", "", user, exp)


def may_show_people(who: Viewer, actor_org: str | None) -> bool:
    if not actor_org or not who.org:
        return False
    if actor_org == who.org:
        return True
    return who.kind == "la" and bool(who.la) and bool(_SCHOOL.match(actor_org)) and actor_org.startswith(who.la)


# ------------------------------------------------------------------------------------------ history


def org_label(code: str | None, names: dict[str, str]) -> str:
    if not code:
        return ""
    if code == SYSTEM:
        return "S2S"
    if code in names:
        return f"{names[code]} ({code})" if names[code] != code else code
    if _SCHOOL.match(code):
        return f"school {code}"
    if re.match(r"^[0-9]{3}LLLL$", code):
        return f"LA {code[:3]}"
    return code


def name_book(detail: dict[str, Any]) -> dict[str, str]:
    """Display names of the organisations a transfer mentions, as the API gives them."""
    names = {str(k): str(v) for k, v in (detail.get("names") or {}).items() if v}
    if detail.get("source_name"):
        names[detail["source"]] = detail["source_name"]
    if detail.get("recipient_name"):
        names[detail["recipient"]] = detail["recipient_name"]
    return names


def history(detail: dict[str, Any], who: Viewer) -> list[tuple[str, str, str]]:
    """(when, what happened, who) for each audit event, oldest first, in words."""
    names = name_book(detail)
    rows = []
    for event in sorted(detail.get("audit") or [], key=lambda e: str(e.get("at") or "")):
        org = org_label(event.get("actor_org"), names)
        details = event.get("details") or {}
        action = str(event.get("action") or "")
        what = {
            "created": f"Upload started by {org}",
            "available": "Checked and accepted",
            "rejected": "Checked and rejected (see Reason above)",
            "downloaded": f"Downloaded by {org}",
            "withdrawn": f"Withdrawn by {org}",
            "removed": f"Removed by {org}",
            "expired": "Expired and deleted",
            "expiring_reminder": "Reminder due: the file expires soon",
            "claimed": f"Claimed by {org} for {org_label(details.get('destination'), names)}",
        }.get(action)
        if action == "email_sent":
            about = _EMAIL_ABOUT.get(str(details.get("type")))
            # The organisation, never the address.
            what = f"Email sent to {org_label(details.get('org'), names) or 'the recipient'}" + (
                f": {about}" if about else ""
            )
        if what is None:
            what = action.replace("_", " ").capitalize()
        rows.append((when(event.get("at")), what, _who(event, who, names)))
    return rows


def _who(event: dict[str, Any], who: Viewer, names: dict[str, str]) -> str:
    actor_org = event.get("actor_org")
    if actor_org == SYSTEM:
        return "S2S"
    org = org_label(actor_org, names)
    if not may_show_people(who, actor_org):
        return org
    person = "you" if event.get("actor_user") and event.get("actor_user") == who.user else event.get("actor_user")
    device = ", ".join(str(v) for v in (event.get("source_ip"), event.get("user_agent")) if v)
    text = ", ".join(str(v) for v in (person, org) if v)
    return text + (f" (from {device})" if device else "")


def receipts(detail: dict[str, Any], who: Viewer) -> list[tuple[str, str]]:
    names = name_book(detail)
    rows = []
    for receipt in detail.get("downloads") or []:
        org = org_label(receipt.get("organisation"), names)
        person = receipt.get("user") if may_show_people(who, receipt.get("organisation")) else None
        if person and person == who.user:
            person = "you"
        rows.append((when(receipt.get("at")), f"{person}, {org}" if person else org))
    return rows


def _label(code: str | None, name: str | None) -> str:
    return org_label(code, {code: name} if code and name else {})


def read_receipt(message: dict[str, Any]) -> str:
    """'Read by 8232345 at 10:02 on 1 Jun' (who there only for your own organisation), or 'Not read yet'."""
    receipt = message.get("read")
    if not receipt:
        return "Not read yet" if message.get("direction") == "sent" else ""
    org = _label(receipt.get("organisation"), receipt.get("organisation_name"))
    by = f" ({receipt['read_by_email']})" if receipt.get("read_by_email") else ""
    return f"Read by {org}{by}, {when(receipt.get('read_at'))}"


def message_lines(message: dict[str, Any]) -> list[str]:
    """One message of a thread as text: who, when, the subject, the body."""
    sender = _label(message.get("sender"), message.get("sender_name"))
    recipient = _label(message.get("recipient"), message.get("recipient_name"))
    lines = [f"From:    {sender}", f"To:      {recipient}", f"Sent:    {when(message.get('sent_at'))}"]
    if message.get("transfer_id"):
        lines.append(f"About:   transfer {message['transfer_id']}")
    receipt = read_receipt(message)
    if receipt:
        lines.append(f"Receipt: {receipt}")
    if message.get("expired"):
        return [*lines, "", "(This message has expired and can no longer be read.)"]
    return [*lines, f"Subject: {message.get('subject') or ''}", "", str(message.get("body") or "")]
