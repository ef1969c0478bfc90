"""The transfers API contract: request and response models. The OpenAPI document comes from these."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from s2s.models import Model

StatusName = Literal["pending_upload", "available", "downloaded", "withdrawn", "removed", "rejected", "expired"]
Box = Literal["inbox", "outbox", "la"]
TransferId = Annotated[str, Meta(min_length=1, max_length=64, description="The transfer's id")]
Cursor = Annotated[str, Meta(max_length=2000, description="next_cursor of the previous page")]


class CreateTransferRequest(Model, forbid_unknown_fields=True, kw_only=True):
    filename: Annotated[
        str, Meta(min_length=1, max_length=255, description="The file name, e.g. 8231234_CTF_8232345_001.zip")
    ]
    size_bytes: Annotated[int, Meta(ge=1, description="The exact size of the zip in bytes")]
    sha256: (
        Annotated[
            str,
            # min/max length as well as the pattern: JSON Schema's `$` (and msgspec's, which uses
            # re.search) accepts a trailing newline, so the length is what pins 64 characters.
            Meta(
                min_length=64,
                max_length=64,
                pattern=r"^[0-9a-f]{64}$",
                description="SHA-256 of the zip: exactly 64 lower-case hex characters; shown to the recipient",
            ),
        ]
        | None
    ) = None
    upn: (
        Annotated[
            str,
            # No length bound: every malformed UPN is `bad_upn` (SPEC §2), checked by the service.
            Meta(
                description="The pupil's UPN (13 characters, capital letters and digits); required for "
                "XXXXXXX and MMMMMMM (Lost Pupils) files"
            ),
        ]
        | None
    ) = None


class UploadForm(Model, kw_only=True):
    url: Annotated[str, Meta(description="POST the file here as multipart/form-data with these fields first")]
    fields: dict[str, str]


class CreateTransferResponse(Model, kw_only=True):
    transfer_id: str
    status: StatusName
    family: str
    source: str
    destination: str
    upload: UploadForm
    upload_expires_at: str
    expires_at: str


class ListQuery(Model, kw_only=True):
    box: Annotated[
        Box, Meta(description="inbox: addressed to you; outbox: sent by you; la: from or to your LA's schools")
    ] = "inbox"
    status: StatusName | None = None
    limit: Annotated[int, Meta(ge=1, le=100)] = 50
    cursor: Cursor | None = None


class TransferPath(Model, kw_only=True):
    id: TransferId


class TransferSummary(Model, kw_only=True):
    transfer_id: str
    filename: str
    family: str
    file_type: str
    source: str
    source_name: str
    destination: str
    recipient: str
    size_bytes: int
    sha256: str | None = None
    upn: str | None = None
    status: StatusName
    reason: str | None = None
    reason_message: str | None = None
    created_at: str
    available_at: str | None = None
    downloaded_at: str | None = None
    expires_at: str
    upload_expires_at: str | None = None
    lost_pupil: bool
    direction: Literal["sent", "received", "both"]
    can_download: bool


class TransferList(Model, kw_only=True):
    items: list[TransferSummary]
    next_cursor: str | None = None


# Privacy inside the history (SPEC §4): the person behind an action (user, email, IP, browser) is
# shown only to their own organisation and, for a school, its LA. For anyone else these fields are
# absent from the answer (left out, never null or blank).
_PERSONAL = "Absent unless the action was by your own organisation (or, for an LA, one of its schools)"


class AuditEvent(Model, kw_only=True):
    action: str
    at: str
    actor_org: Annotated[str, Meta(description="The organisation that acted, or S2S for the service's own steps")]
    actor_user: Annotated[str, Meta(description=_PERSONAL + "; the step's name for S2S")] | UnsetType = UNSET
    actor_email: Annotated[str, Meta(description=_PERSONAL)] | UnsetType = UNSET
    source_ip: Annotated[str, Meta(description=_PERSONAL)] | UnsetType = UNSET
    user_agent: Annotated[str, Meta(description=_PERSONAL)] | UnsetType = UNSET
    details: Annotated[
        dict[str, Any],
        Meta(
            description="What the action was about; empty for another organisation's action. An email names "
            "the organisation it went to (`org`), never the address"
        ),
    ] = msgspec.field(default_factory=dict)


class DownloadReceipt(Model, kw_only=True):
    at: str
    organisation: str
    user: Annotated[str, Meta(description=_PERSONAL)] | UnsetType = UNSET
    email: Annotated[str, Meta(description=_PERSONAL)] | UnsetType = UNSET
    source_ip: Annotated[str, Meta(description=_PERSONAL)] | UnsetType = UNSET
    user_agent: Annotated[str, Meta(description=_PERSONAL)] | UnsetType = UNSET


class TransferDetail(TransferSummary, kw_only=True):
    recipient_name: Annotated[
        str | None, Meta(description="The recipient's name, when someone from it has used S2S")
    ] = None
    names: Annotated[
        dict[str, str],
        Meta(
            description="Display names of the organisations this transfer mentions (its two ends, who acted, "
            "who was emailed), as their users' sign-in last gave them; an organisation not yet seen is absent"
        ),
    ] = msgspec.field(default_factory=dict)
    audit: list[AuditEvent]
    downloads: list[DownloadReceipt]


class DownloadLink(Model, kw_only=True):
    url: Annotated[str, Meta(description="A presigned GET, valid for at most 5 minutes; never share it")]
    expires_at: str
