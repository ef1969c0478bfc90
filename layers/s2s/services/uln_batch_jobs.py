"""ULN batches, the processing (docs/SERVICE.md "ULNs in bulk"), one step per queue message:

1. `handle_landed`: the file landed under `uln-batches/` (S3 -> UlnBatchQueue). Checked like a
   transfer's upload (an issued key, the ticket's size, in time), then read twice as a stream: once
   to check the whole file (header, pupil count, well-formed) without storing anything, so a
   refused file leaves no rows and sends nothing; then pupil by pupil into DynamoDB rows, 25 at a
   time. Then step 2 in the same invocation.
2. `submit`: ONE LRS job per kind of pupil (`register` for those without a ULN, `verify` for those
   with one), streamed from the rows. Then a `poll` message with a delay.
3. `poll`: each job's output; incomplete answers come back later with a doubling delay (SQS
   DelaySeconds, never a sleeping Lambda); out-of-hours answers wait 15 minutes; past the
   deadline the batch is `failed`. When every job has answered, the outcomes are stored, the
   return CTF and the CSV are written to `uln-results/`, and the batch is `complete`.
4. `notify`: one email per subscriber of the organisation (once per batch and address, as notify
   does for transfers), with a portal link only.

A step that finds the batch already moved on does nothing, so a message delivered twice is
harmless. Every step leaves an audit event on the batch. Logs and metrics carry batch ids,
organisation codes, counts and LRS codes: never a pupil's name, date of birth or postcode."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import IO, Any

from s2s.adapters import files, ses, subscriptions
from s2s.adapters import uln_batches as repo
from s2s.adapters.lrs import LrsCredentials
from s2s.adapters.lrs_batch import (
    FAILED,
    INCOMPLETE,
    SUBMITTED,
    SUCCESSFUL,
    UNKNOWN_JOB,
    BatchClient,
    BatchLearner,
    Kind,
    read_output_code,
    read_results,
)
from s2s.adapters.transfers import Actor
from s2s.domain import clock, emails, errors
from s2s.domain.ctf_batch import BatchFileError, CtfBatchReader, ReturnPupil, Sender, scan, write_csv, write_return_ctf
from s2s.domain.lrs import is_credentials_refused
from s2s.domain.uln_batches import (
    KEY_PREFIX,
    OUT_OF_HOURS_DELAY_SECONDS,
    UPLOAD_GRACE,
    UlnBatch,
    in_place,
    move,
    outcome_for,
    poll_delay,
)
from s2s.runtime.log import Metric, count_by, logger
from s2s.runtime.settings import get_settings
from s2s.services import registration
from s2s.services.uln_batches import final_uln, pupil_outcome

ACTOR = Actor.system("uln-batch")
KINDS: tuple[Kind, ...] = ("register", "verify")
_TRANSIENT = frozenset({"lrs_unreachable", "lrs_http_error", "lrs_timeout", "lrs_malformed_answer"})


def lrs_credentials_for(org: str) -> LrsCredentials:
    """The LRS account a batch of `org` is sent under: the organisation's own registration
    (403 `lrs_not_registered` when it has none, which fails the batch with that reason)."""
    return registration.credentials_for(org)


def _log(event: str, batch: UlnBatch, **fields: Any) -> None:
    logger.info(event, extra={"batch_id": batch.batch_id, "org": batch.org, "status": batch.status, **fields})


# ---------------------------------------------------------------------------- queue messages


def enqueue(step: str, batch_id: str, *, attempt: int = 0, delay: int = 0) -> None:
    """The batch's next step as a message on its own queue, delivered after `delay` seconds."""
    url = get_settings().uln_batch_queue_url
    if not url:
        raise RuntimeError("ULN_BATCH_QUEUE_URL is not set: the batch cannot go on")
    repo.send_step(url, {"step": step, "batch_id": batch_id, "attempt": attempt}, delay)


def handle_step(message: dict[str, Any]) -> str:
    """One step message (see `enqueue`)."""
    step, batch_id = str(message.get("step")), str(message.get("batch_id", ""))
    attempt = int(message.get("attempt") or 0)
    batch = repo.get(batch_id)
    if batch is None:
        logger.warning("step for an unknown batch", extra={"step": step[:20], "batch_id": batch_id[:64]})
        return "ignored"
    if step == "submit":
        return submit(batch, attempt)
    if step == "poll":
        return poll(batch, attempt)
    if step == "notify":
        return notify(batch)
    logger.warning("unknown step", extra={"step": step[:20], "batch_id": batch_id})
    return "ignored"


# ---------------------------------------------------------------------------- endings


def _end(batch: UlnBatch, status: str, reason: str | None, message: str | None) -> str:
    after = move(batch, status, reason=reason, reason_message=message, ended_at=clock.now_iso())
    try:
        repo.save(after, change=status, actor=ACTOR, details={"reason": reason} | after.counts)
    except repo.BatchChanged:
        return "duplicate"
    count_by(Metric.ULN_BATCHES, outcome=status, reason=reason or "none")
    _log("uln batch ended", after, reason=reason, counts=after.counts)
    enqueue("notify", batch.batch_id)
    return status


def fail(batch: UlnBatch, reason: str, message: str) -> str:
    return _end(batch, "failed", reason, message)


def _delete_quietly(key: str) -> None:
    files.delete(get_settings().bucket_name, key)


def _security_event(what: str, **fields: Any) -> None:
    logger.warning("security event", extra={"security_event": what, **fields})


# ---------------------------------------------------------------------------- 1. the file landed


def handle_landed(bucket: str, key: str) -> str:
    settings = get_settings()
    if bucket != settings.bucket_name:
        _security_event("foreign_bucket", bucket=bucket[:100])
        return "ignored"
    if not key.startswith(KEY_PREFIX):
        _security_event("unexpected_object", key=key[:300], why=f"outside {KEY_PREFIX}")
        return "ignored"
    parts = key.split("/")
    batch = repo.get(parts[1]) if len(parts) == 3 and parts[1] else None
    if batch is None or batch.filename != parts[2]:
        _security_event("unexpected_object", key=key[:300], why="no ULN batch was started for this key")
        _delete_quietly(key)
        return "unexpected_object"
    if batch.status != "pending_upload":
        return "duplicate"  # a repeated event: the first delivery decided the batch
    head = files.head(bucket, key)
    if head is None:
        return "missing"  # another delivery of this event is handling it
    late = head.last_modified > clock.parse(batch.upload_expires_at) + UPLOAD_GRACE
    if head.size != batch.size_bytes or late:
        why = "upload ticket expired" if late else "size differs from the upload ticket"
        _security_event("unexpected_object", batch_id=batch.batch_id, why=why)
        outcome = _reject(
            batch,
            "unexpected_object",
            f"The file that arrived does not match the batch that was started ({why}). Start the batch again.",
        )
        _delete_quietly(key)
        return outcome
    deadline = clock.now() + timedelta(hours=settings.uln_batch_deadline_hours)
    checking = move(batch, "validating", deadline_at=clock.iso(deadline))
    try:
        repo.save(checking, change="validating", actor=ACTOR)
    except repo.BatchChanged:
        return "duplicate"
    return _validate(checking, head.etag)


def _reject(batch: UlnBatch, reason: str, message: str) -> str:
    count_by(Metric.FILES_REJECTED, reason=f"uln_{reason}")
    return _end(batch, "rejected", reason, message)


def _sender(batch: UlnBatch) -> Sender:
    return Sender(batch.org_kind, batch.la, batch.estab or None)


def _stream(batch: UlnBatch, etag: str) -> IO[bytes]:
    return repo.open_file(get_settings().bucket_name, batch.key, etag)


def _validate(batch: UlnBatch, etag: str) -> str:
    today = clock.now().date()
    try:
        header, pupils = scan(_stream(batch, etag), _sender(batch), today=today)
    except BatchFileError as refused:
        _log("uln batch refused", batch, reason=refused.reason)
        outcome = _reject(batch, refused.reason, refused.message)
        _delete_quietly(batch.key)
        return outcome
    if pupils == 0:
        outcome = _reject(batch, "no_pupils", "The file holds no pupils. Export the pupils you want ULNs for.")
        _delete_quietly(batch.key)
        return outcome
    counts = {"pupils": 0, "data_errors": 0}
    to_send = {"register": 0, "verify": 0}
    reader = CtfBatchReader(_stream(batch, etag), _sender(batch), today=today)
    with repo.RowWriter() as writer:
        for pupil in reader.pupils():
            counts["pupils"] += 1
            job = None if pupil.problems else ("verify" if pupil.uln else "register")
            writer.put(
                repo.pupil_item(
                    batch,
                    pupil.seq,
                    {
                        "upn": pupil.upn,
                        "surname": pupil.surname,
                        "forename": pupil.forename,
                        "dob": pupil.dob,
                        "sex": pupil.sex,
                        "postcode": pupil.postcode,
                        "uln": pupil.uln,
                        "job": job,
                    },
                )
            )
            if job:
                to_send[job] += 1
                continue
            counts["data_errors"] += 1
            fields = [p.field for p in pupil.problems]
            writer.put(
                repo.outcome_item(
                    batch,
                    pupil.seq,
                    {
                        "outcome": "data_error",
                        "fields": fields,
                        "message": "Correct in the MIS and send again: "
                        + "; ".join(f"{p.field} {p.message}" for p in pupil.problems)
                        + ".",
                    },
                )
            )
    read = in_place(
        batch,
        "validated",
        counts=counts,
        to_send=to_send,
        ctf_version=header.ctf_version,
        school_name=header.school_name,
        academic_year=header.academic_year,
        lea=header.source_lea,
        estab=header.source_estab,
    )
    try:
        repo.save(read, change="validated", actor=ACTOR, details={**counts, **to_send})
    except repo.BatchChanged:
        return "duplicate"
    _log("uln batch read", read, counts=counts, to_send=to_send, writes=writer.requests)
    return submit(read, 0)


# ---------------------------------------------------------------------------- 2. submit


def _client(batch: UlnBatch) -> BatchClient:
    return BatchClient(get_settings().lrs_endpoint, lrs_credentials_for(batch.org))


def _learners(batch: UlnBatch, kind: Kind) -> Iterator[BatchLearner]:
    for row in repo.rows(batch.batch_id, 1, batch.counts.get("pupils", 0)):
        pupil = row.pupil
        if pupil.get("job") != kind or row.outcome is not None:
            continue
        yield BatchLearner(
            reference=str(row.seq),
            given_name=str(pupil["forename"]),
            family_name=str(pupil["surname"]),
            date_of_birth=str(pupil["dob"]),
            gender=int(pupil["sex"]),
            postcode=str(pupil["postcode"]),
            uln=pupil.get("uln"),
        )


def _past_deadline(batch: UlnBatch) -> bool:
    return bool(batch.deadline_at) and clock.now() > clock.parse(batch.deadline_at)


def _deadline_failure(batch: UlnBatch) -> str:
    hours = get_settings().uln_batch_deadline_hours
    return fail(
        batch,
        "lrs_deadline",
        f"The LRS did not finish this batch within {hours} hours. Send the file again as a new batch.",
    )


def _wait(batch: UlnBatch, step: str, attempt: int, delay: int, why: str) -> str:
    repo.audit(batch.batch_id, "waiting", ACTOR, {"step": step, "why": why, "delay_seconds": delay})
    enqueue(step, batch.batch_id, attempt=attempt, delay=delay)
    _log("uln batch waiting", batch, step=step, why=why, delay_seconds=delay)
    return "waiting"


def _lrs_trouble(batch: UlnBatch, step: str, attempt: int, exc: errors.S2SError) -> str:
    """Out of hours and transport failures wait and try again; anything else fails the batch."""
    if isinstance(exc, errors.UpstreamUnavailable):
        return _wait(batch, step, attempt, OUT_OF_HOURS_DELAY_SECONDS, exc.code)
    if isinstance(exc, errors.UpstreamTimeout) or exc.code in _TRANSIENT:
        return _wait(batch, step, attempt + 1, poll_delay(attempt + 1, get_settings().uln_batch_poll_seconds), exc.code)
    if is_credentials_refused(exc):
        registration.mark_refused(batch.org)
    return fail(batch, exc.code, exc.message)


def submit(batch: UlnBatch, attempt: int) -> str:
    if batch.status != "validating":
        return "duplicate"
    if _past_deadline(batch):
        return _deadline_failure(batch)
    client = None
    for kind in KINDS:
        count = batch.to_send.get(kind, 0)
        if not count or kind in batch.jobs:
            continue
        try:
            client = client or _client(batch)
            answer = client.submit(kind, _learners(batch, kind), count)
        except errors.S2SError as exc:
            return _lrs_trouble(batch, "submit", attempt, exc)
        if answer.response_code != SUBMITTED or not answer.job_id:
            return fail(
                batch,
                "lrs_refused_job",
                f"The LRS refused the batch ({answer.response_code}). Send the file again; if it happens again, "
                "contact the S2S helpdesk.",
            )
        batch = in_place(batch, "job_submitted", jobs={**batch.jobs, kind: answer.job_id})
        try:
            repo.save(
                batch,
                change="job_submitted",
                actor=ACTOR,
                details={"kind": kind, "job_id": answer.job_id, "learners": count},
            )
        except repo.BatchChanged:
            return "duplicate"
        _log("uln batch job submitted", batch, kind=kind, job_id=answer.job_id, learners=count)
    if not batch.jobs:
        return finish(batch)  # every pupil had a data error: nothing to send
    submitted = move(batch, "submitted", submitted_at=clock.now_iso())
    try:
        repo.save(submitted, change="submitted", actor=ACTOR, details=dict(batch.jobs))
    except repo.BatchChanged:
        return "duplicate"
    enqueue("poll", batch.batch_id, attempt=1, delay=poll_delay(1, get_settings().uln_batch_poll_seconds))
    return "submitted"


# ---------------------------------------------------------------------------- 3. poll


def _store_results(batch: UlnBatch, kind: Kind, answer: IO[bytes]) -> int:
    pupils = batch.counts.get("pupils", 0)
    stored = 0
    with repo.RowWriter() as writer:
        for result in read_results(answer):
            if not result.reference.isdigit() or not 1 <= int(result.reference) <= pupils:
                continue  # not one of ours: never let an answer write outside this batch's rows
            outcome, sentence = outcome_for(kind, result.response_code)
            values: dict[str, Any] = {
                "outcome": outcome,
                "lrs_code": result.response_code,
                "uln": result.uln,
                "master_uln": result.master_uln,
                "candidates": result.candidates,
                "message": sentence,
            }
            if outcome == "data_error":
                values["fields"] = ["lrs"]
            writer.put(repo.outcome_item(batch, int(result.reference), values))
            stored += 1
    return stored


def poll(batch: UlnBatch, attempt: int) -> str:
    if batch.status != "submitted":
        return "duplicate"
    if _past_deadline(batch):
        return _deadline_failure(batch)
    client = _client(batch)
    waiting: list[str] = []
    for kind in KINDS:
        job_id = batch.jobs.get(kind)
        if not job_id or kind in batch.jobs_done:
            continue
        try:
            with client.output(kind, job_id) as answer:
                code = read_output_code(answer)
                if code == SUCCESSFUL:
                    stored = _store_results(batch, kind, answer)
        except errors.S2SError as exc:
            return _lrs_trouble(batch, "poll", attempt, exc)
        if code == INCOMPLETE:
            waiting.append(kind)
            continue
        if code == SUCCESSFUL:
            batch = in_place(batch, "job_output_read", jobs_done=sorted({*batch.jobs_done, kind}))
            try:
                repo.save(
                    batch,
                    change="job_output_read",
                    actor=ACTOR,
                    details={"kind": kind, "job_id": job_id, "results": stored},
                )
            except repo.BatchChanged:
                return "duplicate"
            continue
        if code == FAILED:
            return fail(batch, "lrs_job_failed", "The LRS could not process this batch. Send the file again.")
        if code == UNKNOWN_JOB:
            return fail(batch, "lrs_unknown_job", "The LRS no longer knows this batch's job. Send the file again.")
        return fail(batch, "lrs_unexpected_answer", f"The LRS gave an answer S2S does not understand ({code[:12]}).")
    if waiting:
        batch = in_place(batch, "polled", polls=attempt)
        delay = poll_delay(attempt + 1, get_settings().uln_batch_poll_seconds)
        try:
            repo.save(
                batch,
                change="polled",
                actor=ACTOR,
                details={"attempt": attempt, "waiting": waiting, "next_in_seconds": delay},
            )
        except repo.BatchChanged:
            return "duplicate"
        enqueue("poll", batch.batch_id, attempt=attempt + 1, delay=delay)
        return "polling"
    return finish(batch)


# ---------------------------------------------------------------------------- results


def _spool() -> IO[bytes]:
    return tempfile.SpooledTemporaryFile(max_size=64 * 1024)


def _csv_rows(batch: UlnBatch, counts: dict[str, int]) -> Iterator[dict[str, Any]]:
    for row in repo.rows(batch.batch_id, 1, batch.counts.get("pupils", 0)):
        shown = pupil_outcome(row)
        outcome = shown["outcome"]
        key = {"data_error": "data_errors", "lrs_error": "lrs_errors"}.get(outcome, outcome)
        counts[key] = counts.get(key, 0) + 1
        yield {
            "upn": shown["upn"],
            "surname": row.pupil.get("surname"),
            "forename": row.pupil.get("forename"),
            "date_of_birth": row.pupil.get("dob"),
            "outcome": outcome,
            "uln": shown["uln"],
            "lrs_code": shown["lrs_code"],
            "candidates": shown["candidates"],
            "master_uln": shown["master_uln"],
            "fields": " ".join(shown["fields"]),
            "message": shown["message"],
        }


def _matched(batch: UlnBatch) -> Iterator[ReturnPupil]:
    for row in repo.rows(batch.batch_id, 1, batch.counts.get("pupils", 0)):
        uln = final_uln(row)
        if not uln:
            continue
        pupil = row.pupil
        yield ReturnPupil(
            upn=str(pupil["upn"]),
            uln=str(uln),
            surname=str(pupil["surname"]),
            forename=str(pupil["forename"]),
            dob=str(pupil["dob"]),
            sex=int(pupil["sex"]) if pupil.get("sex") is not None else None,
        )


def _put(key: str, body: IO[bytes], content_type: str) -> None:
    repo.put_result_file(get_settings().bucket_name, key, body, content_type)


def finish(batch: UlnBatch) -> str:
    """Write the return CTF and the CSV, count the outcomes, and mark the batch complete."""
    counts: dict[str, int] = {"pupils": batch.counts.get("pupils", 0)}
    with _spool() as out:
        write_csv(out, _csv_rows(batch, counts))
        _put(batch.result_key("csv"), out, "text/csv; charset=utf-8")
    with _spool() as out:
        matched = write_return_ctf(
            out,
            school_lea=batch.lea,
            school_estab=batch.estab,
            school_name=batch.school_name,
            ctf_version=batch.ctf_version,
            academic_year=batch.academic_year,
            written_at=clock.now().strftime("%Y-%m-%dT%H:%M:%S"),
            pupils=_matched(batch),
        )
        _put(batch.result_key("ctf"), out, "application/xml")
    counts["matched"] = matched
    counts.pop("pending", None)
    return _end(replace(batch, counts=counts), "complete", None, None)


# ---------------------------------------------------------------------------- 4. notify


class EmailsNotSent(Exception):
    """Some of the batch's emails were not sent: the message fails and SQS delivers it again."""


def notify(batch: UlnBatch) -> str:
    if batch.status not in ("complete", "failed", "rejected"):
        return "ignored"
    settings = get_settings()
    link = f"{settings.portal_url}/uln/batches/{batch.batch_id}"
    email = emails.uln_batch_email(
        status=batch.status, counts=batch.counts, reason_message=batch.reason_message, link=link
    )
    event_id = f"ulnbatch:{batch.batch_id}:{batch.status}"
    sent = failed = 0
    for address in subscriptions.subscribers(batch.org):
        claim = subscriptions.claim_send(event_id, address)
        if claim.outcome == "already_sent":
            continue
        if claim.outcome == "in_progress":
            failed += 1
            continue
        try:
            message_id = ses.send_email(settings.sender_email, address, email.subject, email.text, email.html)
        except Exception:
            subscriptions.release_send(event_id, address, claim.token)
            failed += 1
            count_by(Metric.EMAILS_FAILED)
            continue
        audit = repo.audit_op(batch.batch_id, "email_sent", ACTOR, {"to": address, "message_id": message_id})
        subscriptions.mark_sent(event_id, address, message_id, also=[audit])
        sent += 1
    _log("uln batch notified", batch, sent=sent, failed=failed)
    if failed:
        raise EmailsNotSent(f"{failed} email(s) not sent for batch {batch.batch_id}")
    return "notified"
