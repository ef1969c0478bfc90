"""The reports and Lost Pupils Database API contract (SPEC §5, §8): request and response models.
The OpenAPI document comes from these."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from s2s.models import Model
from s2s.transfer_models import Cursor, TransferId, TransferSummary

GroupBy = Literal["month", "school"]
ReportFormat = Literal["json", "csv"]
Count = Annotated[int, Meta(ge=0)]


class TransfersReportQuery(Model, kw_only=True):
    la: (
        Annotated[str, Meta(min_length=3, max_length=3, description="3-digit LA code; LA users may leave it out")]
        | None
    ) = None
    date_from: Annotated[date, Meta(description="First day (YYYY-MM-DD)")] | None = msgspec.field(
        default=None, name="from"
    )
    date_to: Annotated[date, Meta(description="Last day (YYYY-MM-DD)")] | None = msgspec.field(default=None, name="to")
    group_by: GroupBy = "month"
    format: ReportFormat = "json"


class UndownloadedQuery(Model, kw_only=True):
    la: (
        Annotated[str, Meta(min_length=3, max_length=3, description="3-digit LA code; required for DfE users")] | None
    ) = None
    older_than_days: Annotated[int, Meta(ge=0, le=3650)] = 0
    limit: Annotated[int, Meta(ge=1, le=100)] = 50
    cursor: Cursor | None = None


class Metrics(Model, kw_only=True):
    """The seven report metrics (SPEC §8) for one period, one school or the whole range."""

    sent: Annotated[Count, Meta(description="Uploads from the LA's schools or the LA that became available")]
    received: Annotated[Count, Meta(description="Files that became available addressed to its schools or the LA")]
    downloaded: Annotated[Count, Meta(description="Received files downloaded for the first time")]
    not_downloaded: Annotated[Count, Meta(description="Files received in the period that are still undownloaded now")]
    rejected: Annotated[Count, Meta(description="Uploads refused by the landing check")]
    expired: Annotated[Count, Meta(description="Received files that expired undownloaded")]
    lost_pupils: Annotated[Count, Meta(description="Lost Pupils Database files sent")]


class MonthRow(Metrics, kw_only=True):
    month: Annotated[str, Meta(description="YYYY-MM")]
    period_from: Annotated[str, Meta(description="First day of the month inside the range")]
    period_to: Annotated[str, Meta(description="Last day of the month inside the range")]


class SchoolRow(Metrics, kw_only=True):
    school: Annotated[str, Meta(description="LAESTAB")]
    school_name: str | None = None


class _Report(Model, kw_only=True):
    scope: Annotated[str, Meta(description="The LA code, or `national`")]
    la: str | None = None
    date_from: Annotated[str, Meta(description="First day of the range (YYYY-MM-DD)")]
    date_to: Annotated[str, Meta(description="Last day of the range (YYYY-MM-DD)")]
    totals: Metrics


class MonthlyReport(_Report, kw_only=True):
    """`group_by=month`: one row per calendar month of the range."""

    group_by: Literal["month"]
    rows: list[MonthRow]


class SchoolReport(_Report, kw_only=True):
    """`group_by=school`: one row per school of the LA (or of the country)."""

    group_by: Literal["school"]
    rows: list[SchoolRow]


class UndownloadedRow(Model, kw_only=True):
    transfer_id: str
    filename: str
    recipient: Annotated[str, Meta(description="LAESTAB, or <LA>LLLL / <LA>XXXX for files addressed to the LA")]
    recipient_name: str | None = None
    sender: str
    sender_name: str
    available_at: str
    age_days: Count
    expires_at: str
    no_subscribers: Annotated[bool, Meta(description="Nobody at the recipient gets notification emails")]


class UndownloadedReport(Model, kw_only=True):
    la: str
    older_than_days: int
    items: list[UndownloadedRow]
    next_cursor: str | None = None


class LostPupilQuery(Model, kw_only=True):
    # Any malformed UPN is `bad_upn` (SPEC §2), checked by the service, so no length bounds here.
    upn: Annotated[str, Meta(description="The pupil's UPN: 13 characters, capital letters and digits")]


class LostPupilFile(TransferSummary, kw_only=True):
    claimable: Annotated[bool, Meta(description="Still live and unclaimed: an LA may claim it for one of its schools")]


class LostPupilList(Model, kw_only=True):
    upn: str
    items: list[LostPupilFile]


class ClaimPath(Model, kw_only=True):
    id: TransferId


class ClaimRequest(Model, forbid_unknown_fields=True, kw_only=True):
    # No length bounds here: any destination that is not a 7-digit LAESTAB is `bad_destination`
    # (SPEC §5), not a generic validation error; the API's 16 KiB body limit bounds it.
    destination: Annotated[str, Meta(description="LAESTAB of one of your LA's schools, e.g. 8234001")]
