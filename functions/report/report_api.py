"""Reports API (SPEC §5, §8): transfers per month or per school for an LA or the country, as JSON
or CSV, and the files still waiting to be downloaded. Read only: this function may Query and
GetItem, nothing else."""

from __future__ import annotations

from typing import Any

import msgspec
from s2s import reports
from s2s.api import App, Reply, Request
from s2s.log import logger
from s2s.report_models import (
    MonthlyReport,
    SchoolReport,
    TransfersReportQuery,
    UndownloadedQuery,
    UndownloadedReport,
)

app = App()


@app.get(
    "/reports/transfers",
    summary="Transfers per month or per school",
    tags=("reports",),
    query=TransfersReportQuery,
    response=(MonthlyReport, SchoolReport),
    content={"text/csv": {"schema": {"type": "string"}}},
)
def transfers_report(request: Request) -> Reply:
    principal = request.principal
    q: TransfersReportQuery = request.query
    report = reports.transfers_report(principal, la=q.la, date_from=q.date_from, date_to=q.date_to, group_by=q.group_by)
    logger.info(
        "transfers report",
        extra={**principal.log_fields(), "scope": report["scope"], "group_by": q.group_by, "rows": len(report["rows"])},
    )
    if q.format == "csv":
        return Reply(
            200,
            reports.csv_text(report),
            "text/csv; charset=utf-8",
            {"Content-Disposition": f'attachment; filename="{reports.csv_filename(report)}"'},
        )
    # Checked against its model like every answer: a mismatch is our bug, a 500, never a 422.
    model = MonthlyReport if q.group_by == "month" else SchoolReport
    return Reply(200, msgspec.convert(report, model))


@app.get(
    "/reports/undownloaded",
    summary="Received files not yet downloaded, oldest first",
    tags=("reports",),
    query=UndownloadedQuery,
    response=UndownloadedReport,
)
def undownloaded_report(request: Request) -> dict[str, Any]:
    q: UndownloadedQuery = request.query
    scope_la, rows, next_cursor = reports.undownloaded(
        request.principal, la=q.la, older_than_days=q.older_than_days, limit=q.limit, cursor=q.cursor
    )
    return {"la": scope_la, "older_than_days": q.older_than_days, "items": rows, "next_cursor": next_cursor}


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
