"""Reports API (docs/SERVICE.md §5, §8): transfers per month or per school for an LA or the
country, as JSON or CSV, and the files still waiting to be downloaded. Read only: this function
may Query and GetItem, nothing else."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field
from s2s.contracts.base import IsoDate
from s2s.contracts.reports import GroupBy, MonthlyReport, ReportFormat, SchoolReport, UndownloadedReport
from s2s.contracts.transfers import Cursor, Limit
from s2s.runtime.http import JSON, Api, Query, Response
from s2s.runtime.log import correlation_paths, logger, metrics, trace_handler
from s2s.runtime.snapstart import prepare as prepare_snapstart
from s2s.services import reports

app = Api()

LaCode = Annotated[str, Field(min_length=3, max_length=3)]


@app.get(
    "/reports/transfers",
    summary="Transfers per month or per school",
    tags=["reports"],
    responses={
        200: {
            "description": "The report",
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {"$ref": "#/components/schemas/MonthlyReport"},
                            {"$ref": "#/components/schemas/SchoolReport"},
                        ]
                    }
                },
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
def transfers_report(
    la: Annotated[LaCode | None, Query(description="3-digit LA code; LA users may leave it out")] = None,
    date_from: Annotated[IsoDate | None, Query(alias="from", description="First day (YYYY-MM-DD)")] = None,
    date_to: Annotated[IsoDate | None, Query(alias="to", description="Last day (YYYY-MM-DD)")] = None,
    group_by: Annotated[GroupBy, Query()] = "month",
    format: Annotated[ReportFormat, Query()] = "json",
) -> Response[MonthlyReport | SchoolReport | str]:
    principal = app.principal
    report = reports.transfers_report(principal, la=la, date_from=date_from, date_to=date_to, group_by=group_by)
    logger.info(
        "transfers report",
        extra={**principal.log_fields(), "scope": report["scope"], "group_by": group_by, "rows": len(report["rows"])},
    )
    if format == "csv":
        return Response(
            status_code=200,
            content_type="text/csv; charset=utf-8",
            body=reports.csv_text(report),
            headers={"Content-Disposition": f'attachment; filename="{reports.csv_filename(report)}"'},
        )
    # Checked against its model like every answer: a mismatch is our bug, a 500, never a 422.
    model = MonthlyReport if group_by == "month" else SchoolReport
    return Response(status_code=200, content_type=JSON, body=model.model_validate(report))


@app.get("/reports/undownloaded", summary="Received files not yet downloaded, oldest first", tags=["reports"])
def undownloaded_report(
    la: Annotated[LaCode | None, Query(description="3-digit LA code; required for DfE users")] = None,
    older_than_days: Annotated[int, Query(ge=0, le=3650)] = 0,
    limit: Annotated[Limit, Query()] = 50,
    cursor: Annotated[Cursor | None, Query()] = None,
) -> UndownloadedReport:
    scope_la, rows, next_cursor = reports.undownloaded(
        app.principal, la=la, older_than_days=older_than_days, limit=limit, cursor=cursor
    )
    return UndownloadedReport.model_validate(
        {"la": scope_la, "older_than_days": older_than_days, "items": rows, "next_cursor": next_cursor}
    )


prepare_snapstart(("dynamodb",))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@trace_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
