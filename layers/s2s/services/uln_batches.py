"""ULN batches, the API's use cases (docs/SERVICE.md "ULNs in bulk"): start a batch (a presigned
POST pinned to its key and size), list an organisation's batches, read one with its pupils'
outcomes page by page, and a five-minute link to a return file. Schools and local authorities
only; a batch is visible to its own organisation only (404 for anyone else, whether or not it
exists). The processing is `s2s.services.uln_batch_jobs`.

Nothing here logs or returns a pupil's name, date of birth or postcode: outcomes name the UPN."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

from s2s.adapters import files
from s2s.adapters import uln_batches as repo
from s2s.adapters.cursors import decode_cursor, encode_cursor
from s2s.adapters.transfers import Actor
from s2s.domain import clock
from s2s.domain.ctf_batch import MAX_FILE_BYTES
from s2s.domain.errors import Conflict, Forbidden, Gone, InvalidRequest, NotFound, TooLarge
from s2s.domain.principal import Principal
from s2s.domain.uln_batches import UlnBatch, effective_status
from s2s.runtime.settings import get_settings
from s2s.services import registration

# A name a MIS writes: letters, digits, spaces, dots, hyphens, underscores, brackets; ends .xml.
_FILENAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._()\-]{0,95}\.[xX][mM][lL]", re.ASCII)


def _check_role(principal: Principal) -> None:
    """A school or LA with its own LRS registration: every ULN route needs one (403
    `lrs_not_registered`, with how to register)."""
    if principal.kind not in ("school", "la"):
        raise Forbidden("Only schools and local authorities can use the ULN service.", code="role_not_allowed")
    registration.credentials_for(principal)


def issue_batch_ticket(
    principal: Principal, origin: dict[str, str], *, filename: str, size_bytes: int, sha256: str | None
) -> tuple[UlnBatch, str, dict[str, str]]:
    """Record a `pending_upload` batch and presign a POST that can create only its key, with
    exactly `size_bytes`, within the upload window."""
    _check_role(principal)
    if not _FILENAME.fullmatch(filename):
        raise InvalidRequest(
            "The file must be the CTF XML file from your MIS (a name ending .xml, up to 100 letters, digits, "
            "spaces, dots, hyphens, underscores or brackets). Do not zip it.",
            details=[{"field": "filename", "reason": "not_xml"}],
        )
    if size_bytes > MAX_FILE_BYTES:
        raise TooLarge(
            f"The file is {size_bytes} bytes; a ULN batch is at most {MAX_FILE_BYTES} bytes (20 MiB). "
            "Export fewer pupils per file.",
            code="too_large",
        )
    settings = get_settings()
    now = clock.now()
    batch = UlnBatch(
        batch_id=str(uuid.uuid4()),
        org=principal.org,
        org_kind=principal.kind,
        la=principal.la or "",
        filename=filename,
        size_bytes=size_bytes,
        sha256=sha256,
        status="pending_upload",
        created_at=clock.iso(now),
        created_by=principal.user_id,
        upload_expires_at=clock.iso(now + timedelta(seconds=settings.upload_url_seconds)),
        expires_at=clock.iso(now + timedelta(days=settings.retention_days)),
        estab=principal.laestab[3:] if principal.laestab else "",
        lea=principal.la or "",
    )
    repo.create(batch, Actor.of(principal, origin), {"filename": filename, "size_bytes": size_bytes})
    url, fields = files.presigned_post(settings.bucket_name, batch.key, size_bytes, settings.upload_url_seconds)
    return batch, url, fields


def visible_batch(principal: Principal, batch_id: str) -> UlnBatch:
    _check_role(principal)
    batch = repo.get(batch_id)
    if batch is None or batch.org != principal.org:
        raise NotFound("There is no ULN batch with that id for your organisation.", code="not_found")
    return batch


def summary(batch: UlnBatch) -> dict[str, Any]:
    counts = {"pupils": 0, **batch.counts}
    return {
        "batch_id": batch.batch_id,
        "filename": batch.filename,
        "size_bytes": batch.size_bytes,
        "status": effective_status(batch, clock.now(), clock.parse),
        "reason": batch.reason,
        "reason_message": batch.reason_message,
        "created_at": batch.created_at,
        "submitted_at": batch.submitted_at,
        "ended_at": batch.ended_at,
        "expires_at": batch.expires_at,
        "upload_expires_at": batch.upload_expires_at,
        "counts": counts,
    }


def list_batches(principal: Principal, *, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    _check_role(principal)
    start = None
    if cursor:
        state = decode_cursor(cursor)
        if state.get("o") != principal.org or not isinstance(state.get("k"), dict):
            raise InvalidRequest(
                "The cursor is not one we gave out. Ask for the first page again (leave out cursor).",
                details=[{"field": "cursor", "reason": "invalid"}],
            )
        start = state["k"]
    batches, last = repo.list_for_org(principal.org, limit=limit, start=start)
    next_cursor = encode_cursor({"o": principal.org, "k": last}) if last else None
    return [summary(b) for b in batches], next_cursor


def pupil_outcome(row: repo.PupilRow) -> dict[str, Any]:
    """What the API shows of one pupil: the UPN and its outcome, never names, birth date or postcode."""
    outcome = row.outcome or {}
    return {
        "seq": row.seq,
        "upn": row.pupil.get("upn", ""),
        "outcome": outcome.get("outcome", "pending"),
        "uln": final_uln(row),
        "lrs_code": outcome.get("lrs_code"),
        "candidates": outcome.get("candidates"),
        "master_uln": outcome.get("master_uln"),
        "fields": list(outcome.get("fields") or []),
        "message": outcome.get("message") or "Waiting for the LRS.",
    }


def final_uln(row: repo.PupilRow) -> str | None:
    """The ULN the school should hold for this pupil, if the LRS gave or confirmed one."""
    outcome = row.outcome or {}
    if outcome.get("outcome") == "linked":
        return outcome.get("master_uln") or outcome.get("uln")
    if outcome.get("outcome") in ("registered", "verified"):
        return outcome.get("uln") or row.pupil.get("uln")
    return None


def describe(
    principal: Principal, batch_id: str, *, limit: int, cursor: str | None
) -> tuple[dict[str, Any], list[dict[str, Any]], str | None]:
    """The batch, one page of its pupils' outcomes in file order, and the next page's cursor."""
    batch = visible_batch(principal, batch_id)
    first = 1
    if cursor:
        state = decode_cursor(cursor)
        if state.get("b") != batch_id or not isinstance(state.get("s"), int) or state["s"] < 1:
            raise InvalidRequest(
                "The cursor is not one we gave out. Ask for the first page again (leave out cursor).",
                details=[{"field": "cursor", "reason": "invalid"}],
            )
        first = state["s"]
    pupils = batch.counts.get("pupils", 0)
    outcomes: list[dict[str, Any]] = []
    if pupils and batch.status not in ("pending_upload", "rejected"):
        last = min(pupils, first + limit - 1)
        outcomes = [pupil_outcome(row) for row in repo.rows(batch_id, first, last)]
        next_cursor = encode_cursor({"b": batch_id, "s": last + 1}) if last < pupils else None
    else:
        next_cursor = None
    return summary(batch), outcomes, next_cursor


def result_link(principal: Principal, origin: dict[str, str], batch_id: str, fmt: str) -> dict[str, str]:
    """A five-minute link to the return CTF or the CSV of a complete batch."""
    batch = visible_batch(principal, batch_id)
    status = effective_status(batch, clock.now(), clock.parse)
    if status == "expired":
        raise Gone("This batch's files have passed the retention period and were deleted.", code="expired")
    if status != "complete":
        raise Conflict(
            "The batch has not finished yet: its return files are made when the LRS has answered for every pupil.",
            code="batch_not_complete",
        )
    settings = get_settings()
    seconds = settings.download_url_seconds
    filename = batch.result_filename(fmt)
    url = files.presigned_get(settings.bucket_name, batch.result_key(fmt), filename, seconds)
    repo.audit(batch_id, "result_link", Actor.of(principal, origin), {"format": fmt})
    return {
        "url": url,
        "filename": filename,
        "format": fmt,
        "expires_at": clock.iso(clock.now() + timedelta(seconds=seconds)),
    }
