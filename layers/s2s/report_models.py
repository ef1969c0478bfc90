"""The reports and Lost Pupils Database API contract (SPEC §5, §8): request and response models.
The OpenAPI document comes from these."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from s2s.models import Model
from s2s.transfer_models import TransferSummary

GroupBy = Literal["month", "school"]
ReportFormat = Literal["json", "csv"]


class Metrics(Model):
    """The seven report metrics (SPEC §8) for one period, one school or the whole range."""

    sent: int = Field(ge=0, description="Uploads from the LA's schools or the LA that became available")
    received: int = Field(ge=0, description="Files that became available addressed to its schools or the LA")
    downloaded: int = Field(ge=0, description="Received files downloaded for the first time")
    not_downloaded: int = Field(ge=0, description="Files received in the period that are still undownloaded now")
    rejected: int = Field(ge=0, description="Uploads refused by the landing check")
    expired: int = Field(ge=0, description="Received files that expired undownloaded")
    lost_pupils: int = Field(ge=0, description="Lost Pupils Database files sent")


class MonthRow(Metrics):
    month: str = Field(description="YYYY-MM")
    period_from: str = Field(description="First day of the month inside the range")
    period_to: str = Field(description="Last day of the month inside the range")


class SchoolRow(Metrics):
    school: str = Field(description="LAESTAB")
    school_name: str | None = None


class TransfersReport(Model):
    scope: str = Field(description="The LA code, or `national`")
    la: str | None = None
    date_from: str = Field(description="First day of the range (YYYY-MM-DD)")
    date_to: str = Field(description="Last day of the range (YYYY-MM-DD)")
    group_by: GroupBy
    rows: list[MonthRow] | list[SchoolRow]
    totals: Metrics


class UndownloadedRow(Model):
    transfer_id: str
    filename: str
    recipient: str = Field(description="LAESTAB, or <LA>LLLL / <LA>XXXX for files addressed to the LA")
    recipient_name: str | None = None
    sender: str
    sender_name: str
    available_at: str
    age_days: int = Field(ge=0)
    expires_at: str
    no_subscribers: bool = Field(description="Nobody at the recipient gets notification emails")


class UndownloadedReport(Model):
    la: str
    older_than_days: int
    items: list[UndownloadedRow]
    next_cursor: str | None = None


class LostPupilFile(TransferSummary):
    claimable: bool = Field(description="Still live and unclaimed: an LA may claim it for one of its schools")


class LostPupilList(Model):
    upn: str
    items: list[LostPupilFile]


class ClaimRequest(Model):
    model_config = ConfigDict(extra="forbid")

    destination: Annotated[
        str,
        Field(min_length=1, max_length=20, description="LAESTAB of one of your LA's schools, e.g. 8234001"),
    ]
