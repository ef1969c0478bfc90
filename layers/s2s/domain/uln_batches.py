"""A ULN batch's life and its pupils' outcomes (docs/SERVICE.md "ULNs in bulk"), as plain data.

Status: `pending_upload` -> `validating` (the file landed; it is being read and its pupils
submitted) -> `submitted` (the LRS jobs are running) -> `complete`; or `rejected` (the file was
refused as a whole), `failed` (the LRS failed the job, or the deadline passed), `expired` (the
upload never came, or the retention period is over).

A pupil's outcome comes from the LRS code of its result (`outcome_for`): registered, verified,
possible_matches (with how many candidates), no_match, linked (with the master ULN), data_error
(our checks, naming the field, or the LRS's `WSRC0015`), or pending while the job runs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

BatchStatus = Literal["pending_upload", "validating", "submitted", "complete", "rejected", "failed", "expired"]
TERMINAL: frozenset[str] = frozenset({"complete", "rejected", "failed", "expired"})
Outcome = Literal[
    "registered", "verified", "possible_matches", "no_match", "linked", "data_error", "lrs_error", "pending"
]
OUTCOMES: tuple[str, ...] = (
    "registered",
    "verified",
    "possible_matches",
    "no_match",
    "linked",
    "data_error",
    "lrs_error",
    "pending",
)
# Outcomes that give the school a ULN to import.
MATCHED: frozenset[str] = frozenset({"registered", "verified", "linked"})

KEY_PREFIX = "uln-batches/"
RESULTS_PREFIX = "uln-results/"
UPLOAD_GRACE = timedelta(minutes=2)
# The LRS runs batches until 18:00 and then overnight: a job that has not finished in two days
# will not finish. Polls back off from `poll_seconds` to SQS's longest delay (15 minutes).
MAX_POLL_DELAY_SECONDS = 900
OUT_OF_HOURS_DELAY_SECONDS = 900


# The state machine: the statuses each status may be reached from, and the changes that keep the
# status (with the statuses they may be made in). The repository writes every change on condition
# that the stored status is one of these, so two deliveries of one message cannot both act.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "validating": ("pending_upload",),  # the file landed and matches its ticket
    "submitted": ("validating",),  # every LRS job is submitted
    "complete": ("validating", "submitted"),  # every job answered (or nothing was left to send)
    "rejected": ("pending_upload", "validating"),  # the file was refused as a whole
    "failed": ("validating", "submitted"),  # the LRS failed the job, or the deadline passed
}
IN_PLACE: dict[str, tuple[str, ...]] = {
    "validated": ("validating",),  # the pupils are stored
    "job_submitted": ("validating",),  # one job is with the LRS
    "polled": ("submitted",),  # an output was not ready yet
    "job_output_read": ("submitted",),  # one job's outcomes are stored
}


class IllegalTransition(Exception):
    """A change the state machine does not have: a bug, never a caller's mistake."""


def allowed_from(change: str, new: str) -> tuple[str, ...]:
    """The stored statuses `change` may be written over (a move's change is its new status)."""
    table = TRANSITIONS if change == new else IN_PLACE
    return table.get(change, ())


def move(batch: UlnBatch, new: str, **changes: Any) -> UlnBatch:
    if batch.status not in TRANSITIONS.get(new, ()):
        raise IllegalTransition(f"a ULN batch cannot move from {batch.status!r} to {new!r}")
    return replace(batch, status=new, **changes)


def in_place(batch: UlnBatch, change: str, **changes: Any) -> UlnBatch:
    if batch.status not in IN_PLACE.get(change, ()):
        raise IllegalTransition(f"{change!r} cannot be made to a {batch.status!r} ULN batch")
    return replace(batch, **changes)


def poll_delay(attempt: int, base_seconds: int) -> int:
    """Seconds before poll number `attempt` (1, 2, ...): doubling from `base_seconds`, capped."""
    return int(min(MAX_POLL_DELAY_SECONDS, base_seconds * 2 ** max(0, attempt - 1)))


_SENTENCES = {
    "registered": "The LRS registered this pupil; the ULN is theirs.",
    "registered_existing": "The LRS already held this pupil with these details; the ULN is theirs.",
    "verified": "The LRS confirmed this pupil's ULN.",
    "possible_matches": "The LRS found possible matches. Check the pupil's details, then search for them on the "
    "ULN page and choose the right learner.",
    "too_many": "The LRS found too many possible matches. Add or correct the pupil's details and send them again.",
    "no_match": "The LRS has no learner with this ULN and these details. Check the ULN, names and date of birth.",
    "linked": "This ULN was merged into another learner's record: use the master ULN.",
    "insufficient": "The LRS needs more details for this pupil (for example the postcode).",
    "lrs_error": "The LRS could not process this pupil. Send them again in a later batch.",
}


def outcome_for(kind: str, code: str) -> tuple[str, str]:
    """(outcome, sentence) for one learner's LRS code in a `register` or `verify` job."""
    if code == "WSRC0005":
        return "registered", _SENTENCES["registered"]
    if code == "WSRC0021":
        return "registered", _SENTENCES["registered_existing"]
    if code == "WSRC0004":
        return ("verified", _SENTENCES["verified"]) if kind == "verify" else ("registered", _SENTENCES["registered"])
    if code == "WSRC0003":
        return "possible_matches", _SENTENCES["possible_matches"]
    if code == "WSRC0002":
        return "possible_matches", _SENTENCES["too_many"]
    if code in ("WSRC0001", "WSRC0019"):
        return "no_match", _SENTENCES["no_match"]
    if code in ("WSRC0022", "WSRC0013"):
        return "linked", _SENTENCES["linked"]
    if code == "WSRC0015":
        return "data_error", _SENTENCES["insufficient"]
    return "lrs_error", _SENTENCES["lrs_error"]


@dataclass
class UlnBatch:
    """One batch file and where it is. `jobs` maps `register`/`verify` to the LRS job id;
    `jobs_done` lists the kinds whose output has been read."""

    batch_id: str
    org: str
    org_kind: str
    la: str
    filename: str
    size_bytes: int
    status: str
    created_at: str
    created_by: str
    upload_expires_at: str
    expires_at: str
    deadline_at: str = ""
    sha256: str | None = None
    reason: str | None = None
    reason_message: str | None = None
    ended_at: str | None = None
    submitted_at: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    to_send: dict[str, int] = field(default_factory=dict)
    jobs: dict[str, str] = field(default_factory=dict)
    jobs_done: list[str] = field(default_factory=list)
    polls: int = 0
    ctf_version: str = ""
    school_name: str = ""
    academic_year: str = ""
    lea: str = ""
    estab: str = ""

    @property
    def key(self) -> str:
        return f"{KEY_PREFIX}{self.batch_id}/{self.filename}"

    def result_key(self, fmt: str) -> str:
        return f"{RESULTS_PREFIX}{self.batch_id}/{self.result_filename(fmt)}"

    def result_filename(self, fmt: str) -> str:
        stem = self.filename.rsplit(".", 1)[0]
        return f"{stem}_ULNs.xml" if fmt == "ctf" else f"{stem}_outcomes.csv"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> UlnBatch:
        known = cls.__dataclass_fields__
        data = {k: v for k, v in values.items() if k in known}
        data["counts"] = {k: int(v) for k, v in (data.get("counts") or {}).items()}
        data["to_send"] = {k: int(v) for k, v in (data.get("to_send") or {}).items()}
        data["jobs_done"] = sorted(data.get("jobs_done") or [])
        return cls(**data)


def effective_status(batch: UlnBatch, now: datetime, parse: Any) -> str:
    """The status a caller sees now: an upload that never came, or a batch past its retention, is expired."""
    if batch.status == "pending_upload" and now > parse(batch.upload_expires_at) + UPLOAD_GRACE:
        return "expired"
    if now > parse(batch.expires_at):
        return "expired"
    return batch.status
