"""The transfers API contract (docs/SERVICE.md §5): request and response models. The OpenAPI
document comes from these and the routes' signatures."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from s2s.contracts.base import Model, RequestModel
from s2s.domain.directory import DestinationWarning
from s2s.domain.transfers import Box, Status

TransferId = Annotated[str, Field(min_length=1, max_length=64, description="The transfer's id")]
Cursor = Annotated[str, Field(max_length=2000, description="next_cursor of the previous page")]
Limit = Annotated[int, Field(ge=1, le=100, description="How many items a page holds")]
WARNINGS = (
    "What the establishment directory says of the destination: `unknown_destination` when it does not know "
    "the LAESTAB (a new school may not be listed yet; check the number). A closed school is refused instead (422 "
    "`closed_destination`, with its successor and the renamed file as `suggestion`)"
)


class CreateTransferRequest(RequestModel):
    filename: Annotated[
        str, Field(min_length=1, max_length=255, description="The file name, e.g. 8231234_CTF_8232345_001.zip")
    ]
    size_bytes: Annotated[int, Field(strict=True, ge=1, description="The exact size of the zip in bytes")]
    sha256: (
        Annotated[
            str,
            # min/max length as well as the pattern: JSON Schema's `$` accepts a trailing newline, so
            # the length is what pins 64 characters.
            Field(
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
            # No length bound: every malformed UPN is `bad_upn` (docs/SERVICE.md §2), checked by the service.
            Field(
                description="The pupil's UPN (13 characters, capital letters and digits); required for "
                "XXXXXXX and MMMMMMM (Lost Pupils) files"
            ),
        ]
        | None
    ) = None


class UploadForm(Model):
    url: Annotated[str, Field(description="POST the file here as multipart/form-data with these fields first")]
    fields: dict[str, str]


class CreateTransferResponse(Model):
    transfer_id: str
    status: Status
    family: str
    source: str
    destination: str
    upload: UploadForm
    upload_expires_at: str
    expires_at: str
    warnings: Annotated[list[DestinationWarning], Field(description=WARNINGS)] = Field(default_factory=list)


class TransferSummary(Model):
    transfer_id: str
    filename: str
    family: str
    file_type: str
    source: str
    source_name: str
    destination: str
    recipient: str
    recipient_name: Annotated[
        str | None, Field(description="The recipient's name from the directory, or as its users' sign-in gave it")
    ] = None
    size_bytes: int
    sha256: str | None = None
    upn: str | None = None
    status: Status
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


class TransferList(Model):
    items: list[TransferSummary]
    next_cursor: str | None = None


# Privacy inside the history (docs/SERVICE.md §4): the person behind an action (user, email, IP,
# browser) is shown only to their own organisation and, for a school, its LA. For anyone else these
# fields are absent from the answer (left out, never null or blank).
_PERSONAL = "Absent unless the action was by your own organisation (or, for an LA, one of its schools)"


def _absent(value: object) -> bool:
    return value is None


def _personal(description: str = _PERSONAL) -> Any:
    """A personal field: optional, and left out of the answer when it is not given."""
    return Field(default=None, description=description, exclude_if=_absent)


class AuditEvent(Model):
    action: str
    at: str
    actor_org: Annotated[str, Field(description="The organisation that acted, or S2S for the service's own steps")]
    actor_user: str | None = _personal(_PERSONAL + "; the step's name for S2S")
    actor_email: str | None = _personal()
    source_ip: str | None = _personal()
    user_agent: str | None = _personal()
    details: Annotated[
        dict[str, Any],
        Field(
            description="What the action was about; empty for another organisation's action. An email names "
            "the organisation it went to (`org`), never the address"
        ),
    ] = Field(default_factory=dict)


class DownloadReceipt(Model):
    at: str
    organisation: str
    user: str | None = _personal()
    email: str | None = _personal()
    source_ip: str | None = _personal()
    user_agent: str | None = _personal()


class TransferDetail(TransferSummary):
    names: Annotated[
        dict[str, str],
        Field(
            description="Display names of the organisations this transfer mentions (its two ends, who acted, "
            "who was emailed): the establishment directory's, else as their users' sign-in last gave them; an "
            "organisation neither knows is absent"
        ),
    ] = Field(default_factory=dict)
    audit: list[AuditEvent]
    downloads: list[DownloadReceipt]


class DownloadLink(Model):
    url: Annotated[str, Field(description="A presigned GET, valid for at most 5 minutes; never share it")]
    expires_at: str


__all__ = [
    "AuditEvent",
    "Box",
    "CreateTransferRequest",
    "CreateTransferResponse",
    "Cursor",
    "DestinationWarning",
    "DownloadLink",
    "DownloadReceipt",
    "Limit",
    "Status",
    "TransferDetail",
    "TransferId",
    "TransferList",
    "TransferSummary",
    "UploadForm",
]
