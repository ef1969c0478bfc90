"""The ULN batches API contract (docs/SERVICE.md "ULNs in bulk"): request and response models.
An outcome names the pupil by UPN only: names, dates of birth and postcodes stay in the files."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from s2s.contracts.base import Model, RequestModel
from s2s.contracts.transfers import UploadForm
from s2s.domain.uln_batches import BatchStatus, Outcome

BatchId = Annotated[str, Field(min_length=1, max_length=64, description="The batch's id")]
PageSize = Annotated[int, Field(ge=1, le=500, description="How many items a page holds")]


class CreateBatchRequest(RequestModel):
    filename: Annotated[
        str, Field(min_length=1, max_length=100, description="The CTF XML file from the MIS, e.g. ULN_request.xml")
    ]
    size_bytes: Annotated[
        int, Field(strict=True, ge=1, description="The exact size of the file in bytes (20 MiB at most)")
    ]
    sha256: (
        Annotated[
            str, Field(min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the file")
        ]
        | None
    ) = None


class BatchCreated(Model):
    batch_id: str
    status: BatchStatus
    upload: UploadForm
    upload_expires_at: str


class BatchCounts(Model):
    pupils: int = 0
    registered: int = 0
    verified: int = 0
    possible_matches: int = 0
    no_match: int = 0
    linked: int = 0
    data_errors: int = 0
    lrs_errors: int = 0
    matched: int = Field(default=0, description="Pupils with a ULN in the return CTF")


class BatchSummary(Model):
    batch_id: str
    filename: str
    size_bytes: int
    status: BatchStatus
    reason: Annotated[
        str | None,
        Field(
            description="Why a batch was rejected or failed: not_ctf, xml_invalid, source_not_sender, too_many_pupils, "
            "unexpected_object, no_pupils, lrs_deadline, lrs_job_failed, ..."
        ),
    ] = None
    reason_message: str | None = None
    created_at: str
    submitted_at: str | None = None
    ended_at: str | None = None
    expires_at: str
    upload_expires_at: str
    counts: BatchCounts


class PupilOutcome(Model):
    seq: Annotated[int, Field(description="The pupil's place in the file, from 1")]
    upn: str
    outcome: Outcome
    uln: Annotated[
        str | None, Field(description="The ULN to hold: registered, verified, or the master of a linked learner")
    ] = None
    lrs_code: str | None = None
    candidates: Annotated[int | None, Field(description="How many possible matches the LRS found")] = None
    master_uln: str | None = None
    fields: Annotated[list[str], Field(description="The fields of a data error")] = Field(default_factory=list)
    message: str


class BatchDetail(BatchSummary):
    outcomes: list[PupilOutcome]
    next_cursor: str | None = None


class BatchList(Model):
    items: list[BatchSummary]
    next_cursor: str | None = None


class ResultRequest(RequestModel):
    format: Annotated[Literal["ctf", "csv"], Field(description="ctf: the partial CTF for the MIS; csv: every pupil")]


class ResultLink(Model):
    url: Annotated[str, Field(description="GET within five minutes")]
    filename: str
    format: Literal["ctf", "csv"]
    expires_at: str
