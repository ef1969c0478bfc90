"""Starting an upload (docs/SERVICE.md §3, §5), `POST /transfers`: check the name, sender, size
and UPN, record a `pending_upload` transfer with its first audit event and the day's quota in one
transaction, and presign a POST that can only create exactly this key with exactly this size."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from s2s.adapters import files, organisations, transfers
from s2s.adapters.transfers import Actor
from s2s.domain import clock
from s2s.domain.errors import InvalidRequest, Throttled, TooLarge
from s2s.domain.principal import Principal
from s2s.domain.transfers import Transfer
from s2s.runtime.settings import get_settings
from s2s.services import quotas
from s2s.services.queries import require_transfer_user

MIN_ZIP_BYTES = 22  # an empty zip is its end record alone


@dataclass(frozen=True)
class UploadTicket:
    transfer: Transfer
    url: str
    fields: dict[str, str]


def issue_upload_ticket(
    principal: Principal,
    origin: dict[str, str],
    *,
    filename: str,
    size_bytes: int,
    sha256: str | None = None,
    upn: str | None = None,
) -> UploadTicket:
    """Check the name, sender, size and UPN; record a `pending_upload` transfer; presign a POST
    that can only create exactly this key with exactly this size, within 15 minutes."""
    from s2s.domain.naming import check_upload_name

    require_transfer_user(principal)
    settings = get_settings()
    upn = upn or None  # checked as given: a lower-case or padded UPN is `bad_upn` (docs/SERVICE.md §2)
    parsed = check_upload_name(filename, principal.org, upn)
    if size_bytes > settings.max_upload_bytes:
        raise TooLarge(
            f"The file is {size_bytes} bytes; the most S2S accepts is {settings.max_upload_bytes} bytes. "
            "Split the pupils over several files.",
            code="too_large",
        )
    if size_bytes < MIN_ZIP_BYTES:
        raise InvalidRequest(
            "A zip file is at least 22 bytes.", details=[{"field": "size_bytes", "reason": "too_small"}]
        )
    now = clock.now()
    quota_charge = quotas.charge(principal.org, size_bytes, now)
    created = clock.iso(now)
    transfer = Transfer(
        transfer_id=str(uuid.uuid4()),
        filename=parsed.filename,
        family=parsed.family,
        file_type=parsed.file_type,
        source=parsed.source,
        source_kind=parsed.source_kind,
        source_la=parsed.source_la,
        source_name=principal.org_name,
        destination=parsed.destination,
        dest_kind=parsed.dest_kind,
        dest_la=parsed.dest_la,
        recipient_org=parsed.recipient_org,
        size_bytes=size_bytes,
        status="pending_upload",
        created_at=created,
        created_by=principal.user_id,
        upload_expires_at=clock.iso(now + timedelta(seconds=settings.upload_url_seconds)),
        expires_at=clock.iso(now + timedelta(days=settings.retention_days)),
        sha256=sha256,
        upn=upn if parsed.is_lpd else None,
    )
    try:
        transfers.create_transfer(
            transfer,
            Actor.of(principal, origin),
            {"filename": transfer.filename, "size_bytes": size_bytes},
            extra=[*quota_charge, organisations.name_update(principal.org, principal.org_name, now)],
        )
    except transfers.ExtraConditionFailed as exc:
        raise Throttled(
            "Your organisation has reached today's upload limit. Try again tomorrow, or ask the S2S "
            "helpdesk to raise it.",
            retry_after=quotas.seconds_until_tomorrow(now),
            code="quota_exceeded",
        ) from exc
    url, fields = files.presigned_post(
        settings.bucket_name, transfer.incoming_key, size_bytes, settings.upload_url_seconds
    )
    # No log line here: the `created` audit event records who started which upload, from where.
    return UploadTicket(transfer, url, fields)
