"""The notification emails (docs/SERVICE.md §6), rendered from a TransferEvent: subject, plain text and HTML.

Pure functions: the caller passes the organisation names it knows and the portal URL. Every email
links to the transfer's page on the portal, never to a file: mail scanners open links, and a signed
URL in a mailbox outlives its purpose. Everything taken from the event (file and organisation names
are chosen by users) is HTML-escaped in the HTML part and stripped of control characters
everywhere, so a name can neither inject markup nor break a header."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import cache
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from s2s.domain import clock
from s2s.domain.naming import REASONS as NAMING_REASONS
from s2s.domain.transfers import EVENT_TYPES

SUPPORTED_TYPES = EVENT_TYPES  # every event has an email

# Recipient codes of files for a pupil whose new school is unknown (docs/SERVICE.md §2, §4).
_LPD_CODES = frozenset({"LPD", "XXXXXXX", "MMMMMMM"})

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")

_FAMILIES = {
    "ctf": "Common Transfer File (CTF)",
    "atf": "Admissions Transfer File (ATF)",
    "admissions": "admissions file",
    "generic": "file",
}

_REZIP = (
    "Zip the file again with AES-256 encryption (WinZip: 'AES 256-bit'; 7-Zip: 'AES-256'; or "
    "`s2s pack` for a CTF), then send the new zip. Tell the recipient the password another way, "
    "never in the same email."
)
_RENAME = (
    "Rename the file so that it follows the S2S naming rules (sender_TYPE_destination_number.zip, "
    "for example 8231234_CTF_8232345_001.zip), then send it again."
)

# reason code -> (what was wrong, in plain words; how to fix it)
REASONS: dict[str, tuple[str, str]] = {
    # the landing check (docs/SERVICE.md §3)
    "not_zip": (
        "The file is not a zip archive we could read: it may be damaged, cut short or not a zip at all.",
        _REZIP,
    ),
    "too_large": (
        "The file is larger than S2S accepts.",
        "Split the contents into smaller zip archives, each encrypted with AES-256, and send them separately.",
    ),
    "empty_archive": ("The zip archive has no files in it.", "Add the file you meant to send. " + _REZIP),
    "not_encrypted": ("The zip archive is not encrypted.", _REZIP),
    "mixed_encryption": ("Some of the files inside the zip archive are not encrypted.", _REZIP),
    "weak_encryption": (
        "The zip archive uses an old or weak kind of encryption (ZipCrypto, AES-128 or "
        "AES-192). S2S accepts AES-256 only.",
        _REZIP,
    ),
    "bad_entry_name": (
        "A file name inside the zip archive is not allowed (it points outside the archive, "
        "uses a backslash, or is a link).",
        "Put the files in a plain folder. " + _REZIP,
    ),
    "too_many_entries": (
        "The zip archive holds too many files. A CTF, ATF or admissions file must hold "
        "exactly one file; any other upload at most 100.",
        "Put only the one file in the zip (named like the zip, ending .XML). " + _REZIP,
    ),
    "zip_bomb": (
        "The zip archive would expand to far more data than it holds.",
        "Zip the original files again. " + _REZIP,
    ),
    "entry_name_mismatch": (
        "The file inside the zip archive does not have the same name as the zip.",
        "Name the file inside like the zip, ending .XML (for "
        "8231234_CTF_8232345_001.zip: 8231234_CTF_8232345_001.XML). " + _REZIP,
    ),
    "unexpected_object": (
        "The file that arrived is not the one the upload was started for (its size "
        "differs, or it arrived after the upload link had expired).",
        "Start the upload again from the beginning.",
    ),
    # the naming protocol (docs/SERVICE.md §2)
    "bad_extension": ("The file name does not end in .zip.", _RENAME),
    "bad_pattern": ("The file name does not follow the S2S naming rules.", _RENAME),
    "bad_source": (
        "The sender part at the start of the file name is not a school (7 digits) or a local "
        "authority (3 digits and LLLL).",
        _RENAME,
    ),
    "unknown_la": ("The local authority number in the file name is not one we know.", _RENAME),
    "bad_destination": (
        "The destination part of the file name is not a school, a local authority, or a Lost Pupils Database code.",
        _RENAME,
    ),
    "bad_sequence": ("The number at the end of the file name is not valid (001 to 999).", _RENAME),
    "source_not_sender": (
        "The sender in the file name is not your organisation.",
        "Use your own school or local authority number at the start of the file name.",
    ),
    "lpd_needs_upn": (
        "A file for the Lost Pupils Database needs the pupil's UPN.",
        "Send it again and give the pupil's UPN.",
    ),
    "bad_upn": (
        "The pupil's UPN is not valid (its check letter does not match).",
        "Check the UPN against the pupil's record and send the file again.",
    ),
}
_NAMING_REASONS = frozenset(NAMING_REASONS)


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


class UnsupportedEvent(ValueError):
    """An event this module has no email for (a newer type, or a malformed message)."""


# ---------------------------------------------------------------------------- small formatters


def clean(value: Any, limit: int = 300) -> str:
    """A user-controlled value made safe for any part of an email (no control characters)."""
    return _CONTROL.sub(" ", str(value if value is not None else "")).strip()[:limit]


@cache
def _uk_zone() -> tzinfo | None:
    try:
        return ZoneInfo("Europe/London")
    except (ZoneInfoNotFoundError, OSError):
        return None


def _clock_words(moment: datetime) -> str:
    if (moment.hour, moment.minute) == (0, 0):
        return "midnight"
    if (moment.hour, moment.minute) == (12, 0):
        return "midday"
    hour = moment.hour % 12 or 12
    suffix = "am" if moment.hour < 12 else "pm"
    return f"{hour}:{moment.minute:02d}{suffix}"


def plain_date(value: str) -> str:
    """'Friday 27 February 2026' (UK time) from an ISO UTC timestamp."""
    return _date_words(_local(value)[0])


def plain_time(value: str) -> str:
    """'2:05pm on Friday 27 February 2026 (UK time)', in the GOV.UK style."""
    moment, zone_label = _local(value)
    return f"{_clock_words(moment)} on {_date_words(moment)} ({zone_label})"


def _date_words(moment: datetime) -> str:
    return f"{moment:%A} {moment.day} {moment:%B %Y}"


def _local(value: str) -> tuple[datetime, str]:
    moment = clock.parse(value)
    zone = _uk_zone()
    if zone is None:
        # Without a time-zone database (a bare runtime) say plainly that the time is UTC.
        return moment.astimezone(UTC), "UTC"
    return moment.astimezone(zone), "UK time"


def human_size(size: Any) -> str:
    try:
        n = int(size)
    except (TypeError, ValueError):
        return ""
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n / (1024 * 1024):.1f} MB"


def message_link(portal_url: str, message_id: str) -> str:
    return f"{portal_url.rstrip('/')}/messages/{quote(str(message_id), safe='')}"


def portal_link(portal_url: str, transfer_id: str) -> str:
    return f"{portal_url.rstrip('/')}/transfers/{quote(str(transfer_id), safe='')}"


def org_label(org: str | None, names: Mapping[str, str], fallback_name: str | None = None) -> str:
    """'Oakfield Primary (8232345)', or the code alone when we know no name."""
    code = clean(org, 20)
    if code in _LPD_CODES:
        return "the Lost Pupils Database"
    name = clean(names.get(code) or fallback_name or "", 200)
    if not code:
        return name or "an unknown organisation"
    return f"{name} ({code})" if name and name != code else code


# ---------------------------------------------------------------------------- one body, two parts

# A body is a list of blocks rendered the same way into text and HTML:
# ("p", sentence) a paragraph; ("facts", [(label, value)]) a small table;
# ("h", heading); ("link", label, url) a call to action.
Block = tuple[Any, ...]


def _text(blocks: Sequence[Block]) -> str:
    out: list[str] = []
    for block in blocks:
        kind = block[0]
        if kind == "p":
            out.append(block[1])
        elif kind == "h":
            out.append(f"{block[1]}\n{'-' * len(block[1])}")
        elif kind == "facts":
            width = max(len(label) for label, _ in block[1])
            out.append("\n".join(f"{label + ':':<{width + 1}} {value}" for label, value in block[1]))
        elif kind == "link":
            out.append(f"{block[1]}:\n{block[2]}")
    return "\n\n".join(out) + "\n"


def _html(subject: str, blocks: Sequence[Block]) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en-GB"><head><meta charset="utf-8">',
        f"<title>{e(subject)}</title></head>",
        '<body style="font-family: Arial, sans-serif; font-size: 16px; line-height: 1.5; color: #0b0c0c;">',
    ]
    for block in blocks:
        kind = block[0]
        if kind == "p":
            parts.append(f"<p>{e(block[1])}</p>")
        elif kind == "h":
            parts.append(f'<h2 style="font-size: 19px;">{e(block[1])}</h2>')
        elif kind == "facts":
            rows = "".join(
                f'<tr><th scope="row" style="text-align: left; padding-right: 1em;">{e(label)}</th>'
                f"<td>{e(value)}</td></tr>"
                for label, value in block[1]
            )
            parts.append(f"<table>{rows}</table>")
        elif kind == "link":
            parts.append(f'<p><a href="{e(block[2], quote=True)}">{e(block[1])}</a></p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


_FOOTER: Block = (
    "p",
    "You get this email because you asked for S2S notifications for your organisation. "
    "To stop them, sign in to S2S and turn notifications off.",
)


def _finish(subject: str, blocks: list[Block]) -> Email:
    blocks = [*blocks, _FOOTER]
    return Email(subject=clean(subject, 200), text=_text(blocks), html=_html(subject, blocks))


# ---------------------------------------------------------------------------- the emails


def render(event: Mapping[str, Any], *, names: Mapping[str, str], portal_url: str) -> Email:
    """The email for one event. `names` maps organisation codes to display names (missing: the code
    is shown). Raises UnsupportedEvent for a type or shape we cannot render."""
    kind = event.get("type")
    if kind not in SUPPORTED_TYPES:
        raise UnsupportedEvent(f"no email for event type {clean(kind, 60)!r}")
    try:
        transfer_id = clean(event["transfer_id"], 64)
        filename = clean(event["filename"], 200)
        source = org_label(event.get("source"), names, event.get("source_name"))
        recipient = org_label(event.get("recipient_org") or event.get("destination"), names)
        link = portal_link(portal_url, transfer_id)
        occurred = plain_time(event["occurred_at"])
        expires = plain_time(event["expires_at"]) if event.get("expires_at") else None
    except (KeyError, TypeError, ValueError) as exc:
        raise UnsupportedEvent(f"event is missing or has a bad field: {exc.__class__.__name__}") from exc
    family = _FAMILIES.get(str(event.get("family")), "file")
    size = human_size(event.get("size_bytes"))
    facts: list[tuple[str, str]] = [("File", filename), ("Type", family[:1].upper() + family[1:])]
    if size:
        facts.append(("Size", size))

    if kind == "transfer.available":
        subject = f"A file is waiting for you: {filename} from {source}"
        blocks: list[Block] = [
            ("p", f"{source} has sent a {family} to {recipient} through S2S."),
            (
                "facts",
                [
                    *facts,
                    ("From", source),
                    ("To", recipient),
                    ("Sent", occurred),
                    *([("Available until", expires)] if expires else []),
                ],
            ),
            ("link", "Sign in to S2S to see and download it", link),
            (
                "p",
                "The file will be deleted automatically after the date above, whether or not it has been "
                "downloaded. If it was not meant for you, you can remove it in S2S.",
            ),
        ]
    elif kind == "transfer.claimed":
        claimed_by = event.get("claimed_by")
        by = org_label(claimed_by, names) if claimed_by else "Your local authority"
        subject = f"A file is waiting for you: {filename} (from the Lost Pupils Database)"
        blocks = [
            (
                "p",
                f"{by} has matched a {family} from {source} to {recipient} through the Lost Pupils "
                "Database. It is for a pupil who has joined your school.",
            ),
            (
                "facts",
                [
                    *facts,
                    ("From", source),
                    ("To", recipient),
                    ("Passed to you", occurred),
                    *([("Available until", expires)] if expires else []),
                ],
            ),
            ("link", "Sign in to S2S to see and download it", link),
        ]
    elif kind == "transfer.downloaded":
        by_org = event.get("downloaded_by")
        downloader = org_label(by_org, names) if by_org else recipient
        subject = f"Your file was downloaded: {filename}"
        blocks = [
            ("p", f"The {family} you sent to {recipient} has been downloaded by {downloader}."),
            ("facts", [*facts, ("To", recipient), ("First downloaded", occurred)]),
            ("link", "See the transfer and its download receipts in S2S", link),
        ]
    elif kind == "transfer.expiring":
        subject = f"Reminder: {filename} has not been downloaded" + (
            f" and will be deleted on {plain_date(event['expires_at'])}" if expires else ""
        )
        blocks = [
            (
                "p",
                f"A {family} from {source} addressed to {recipient} has not been downloaded yet."
                + (f" It will be deleted at {expires}." if expires else ""),
            ),
            (
                "facts",
                [
                    *facts,
                    ("From", source),
                    ("To", recipient),
                    *([("Deleted at", expires)] if expires else []),
                ],
            ),
            ("link", "Sign in to S2S to download it before then", link),
            ("p", "If the file is not for your organisation, remove it in S2S so the sender can be told."),
        ]
    else:  # transfer.rejected
        reason = clean(event.get("reason"), 60)
        what, fix = REASONS.get(
            reason,
            (
                "The file did not pass the checks.",
                "Check the file, zip it again with AES-256 encryption and send it "
                "again. If it keeps happening, contact the S2S helpdesk.",
            ),
        )
        suggestion = clean(event.get("suggestion"), 200)
        if reason in _NAMING_REASONS and suggestion:
            fix = f"Rename the file to {suggestion} and send it again."
        detail = clean(event.get("reason_message"), 500)
        subject = f"Your file was not accepted: {filename}"
        blocks = [
            (
                "p",
                f"The {family} {filename} that {source} sent to {recipient} was not accepted, so it was "
                "not delivered. Nothing was passed on to the recipient.",
            ),
            ("h", "What was wrong"),
            ("p", what),
            *([("p", f"The check said: {detail}")] if detail and detail != what else []),
            ("h", "How to fix it"),
            ("p", fix),
            *([("facts", [("Suggested name", suggestion)])] if suggestion else []),
            ("facts", [*facts, ("To", recipient), ("Refused", occurred)]),
            ("link", "See the details in S2S", link),
        ]
    return _finish(subject, blocks)


def render_message(event: Mapping[str, Any], *, names: Mapping[str, str], portal_url: str) -> Email:
    """The email for `message.received`: only that a secure message from an organisation is waiting,
    and a link to it on the portal. The event carries no subject or body, and neither does this."""
    try:
        message_id = clean(event["message_id"], 64)
        source = org_label(event.get("source"), names, event.get("source_name"))
        occurred = plain_time(event["occurred_at"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UnsupportedEvent(f"event is missing or has a bad field: {exc.__class__.__name__}") from exc
    subject = f"A secure message is waiting for you from {source}"
    blocks: list[Block] = [
        ("p", f"{source} has sent your organisation a secure message through S2S."),
        ("facts", [("From", source), ("Sent", occurred)]),
        ("link", "Sign in to S2S to read it", message_link(portal_url, message_id)),
        ("p", "For your security, what the message says is shown only in S2S, never in an email."),
    ]
    return _finish(subject, blocks)


# ---------------------------------------------------------------------------- ULN batches


def uln_batch_email(*, status: str, counts: Mapping[str, int], reason_message: str | None, link: str) -> Email:
    """A ULN batch ended (docs/SERVICE.md "ULNs in bulk"): counts and a portal link only. The email
    never names a pupil or the file (a file name may carry one), nor carries a download link."""
    if status == "complete":
        subject = "Your ULN batch has finished"
        blocks: list[Block] = [
            ("p", "The Learning Records Service has processed your batch of pupils."),
            (
                "facts",
                [
                    ("Pupils", str(counts.get("pupils", 0))),
                    ("Registered", str(counts.get("registered", 0))),
                    ("Verified", str(counts.get("verified", 0))),
                    ("Linked to another record", str(counts.get("linked", 0))),
                    ("Possible matches to check", str(counts.get("possible_matches", 0))),
                    ("No match", str(counts.get("no_match", 0))),
                    ("Data errors to correct", str(counts.get("data_errors", 0))),
                ],
            ),
            ("p", "Download the return file for your MIS, and the outcome of every pupil, from the batch's page."),
        ]
    else:
        subject = "Your ULN batch was refused" if status == "rejected" else "Your ULN batch could not be completed"
        blocks = [("p", clean(reason_message or "The batch could not be processed.", 400))]
    blocks.append(("link", "Open the batch in S2S", link))
    return _finish(subject, blocks)
