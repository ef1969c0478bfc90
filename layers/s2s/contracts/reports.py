"""The reports and Lost Pupils Database API contract (docs/SERVICE.md §5, §8): request and response models.
The OpenAPI document comes from these."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from s2s.contracts.base import Model, RequestModel
from s2s.contracts.transfers import DestinationWarning, TransferSummary

GroupBy = Literal["month", "school"]
ReportFormat = Literal["json", "csv"]
Count = Annotated[int, Field(ge=0)]


class Metrics(Model):
    """The seven report metrics (docs/SERVICE.md §8) for one period, one school or the whole range."""

    sent: Annotated[Count, Field(description="Uploads from the LA's schools or the LA that became available")]
    received: Annotated[Count, Field(description="Files that became available addressed to its schools or the LA")]
    downloaded: Annotated[Count, Field(description="Received files downloaded for the first time")]
    not_downloaded: Annotated[Count, Field(description="Files received in the period that are still undownloaded now")]
    rejected: Annotated[Count, Field(description="Uploads refused by the landing check")]
    expired: Annotated[Count, Field(description="Received files that expired undownloaded")]
    lost_pupils: Annotated[Count, Field(description="Lost Pupils Database files sent")]


class MonthRow(Metrics):
    month: Annotated[str, Field(description="YYYY-MM")]
    period_from: Annotated[str, Field(description="First day of the month inside the range")]
    period_to: Annotated[str, Field(description="Last day of the month inside the range")]


class SchoolRow(Metrics):
    school: Annotated[str, Field(description="LAESTAB")]
    school_name: str | None = None


class _Report(Model):
    scope: Annotated[str, Field(description="The LA code, or `national`")]
    la: str | None = None
    date_from: Annotated[str, Field(description="First day of the range (YYYY-MM-DD)")]
    date_to: Annotated[str, Field(description="Last day of the range (YYYY-MM-DD)")]
    totals: Metrics


class MonthlyReport(_Report):
    """`group_by=month`: one row per calendar month of the range."""

    group_by: Literal["month"]
    rows: list[MonthRow]


class SchoolReport(_Report):
    """`group_by=school`: one row per school of the LA (or of the country)."""

    group_by: Literal["school"]
    rows: list[SchoolRow]


class UndownloadedRow(Model):
    transfer_id: str
    filename: str
    recipient: Annotated[str, Field(description="LAESTAB, or <LA>LLLL / <LA>XXXX for files addressed to the LA")]
    recipient_name: str | None = None
    sender: str
    sender_name: str
    available_at: str
    age_days: Count
    expires_at: str
    no_subscribers: Annotated[bool, Field(description="Nobody at the recipient gets notification emails")]


class UndownloadedReport(Model):
    la: str
    older_than_days: int
    items: list[UndownloadedRow]
    next_cursor: str | None = None


class LostPupilFile(TransferSummary):
    claimable: Annotated[bool, Field(description="Still live and unclaimed: an LA may claim it for one of its schools")]


class LostPupilList(Model):
    upn: str
    items: list[LostPupilFile]


class ClaimedFile(TransferSummary):
    warnings: Annotated[
        list[DestinationWarning],
        Field(description="`unknown_destination` when the establishment directory does not know the school"),
    ] = Field(default_factory=list)


class ClaimRequest(RequestModel):
    # No length bounds here: any destination that is not a 7-digit LAESTAB is `bad_destination`
    # (docs/SERVICE.md §5), not a generic validation error; the API's 16 KiB body limit bounds it.
    destination: Annotated[str, Field(description="LAESTAB of one of your LA's schools, e.g. 8234001")]
