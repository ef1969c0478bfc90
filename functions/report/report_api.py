"""Reports API (SPEC §5, §8): transfers per month or per school for an LA or the country, as JSON
or CSV, and the files still waiting to be downloaded. Read only: this function may Query and
GetItem, nothing else."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from s2s import reports
from s2s.api import current_principal, make_resolver
from s2s.report_models import GroupBy, ReportFormat, TransfersReport, UndownloadedReport

logger = Logger(service="s2s")
app = make_resolver()

_LA = Query(min_length=3, max_length=3, description="3-digit LA code; LA users may leave it out")


@app.get(
    "/reports/transfers",
    summary="Transfers per month or per school",
    tags=["reports"],
    responses={
        200: {
            "description": "The report",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/TransfersReport"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
def transfers_report(
    la: Annotated[str | None, _LA] = None,
    date_from: Annotated[date | None, Query(alias="from", description="First day (YYYY-MM-DD)")] = None,
    date_to: Annotated[date | None, Query(alias="to", description="Last day (YYYY-MM-DD)")] = None,
    group_by: Annotated[GroupBy, Query()] = "month",
    format: Annotated[ReportFormat, Query()] = "json",
) -> Response[Any]:
    principal = current_principal(app)
    report = reports.transfers_report(principal, la=la, date_from=date_from, date_to=date_to, group_by=group_by)
    logger.info(
        "transfers report",
        extra={
            **principal.log_fields(),
            "scope": report["scope"],
            "group_by": group_by,
            "rows": len(report["rows"]),
        },
    )
    if format == "csv":
        return Response(
            status_code=200,
            content_type="text/csv; charset=utf-8",
            body=reports.csv_text(report),
            headers={"Content-Disposition": f'attachment; filename="{reports.csv_filename(report)}"'},
        )
    body = TransfersReport.model_validate(report)
    return Response(status_code=200, content_type="application/json", body=body)


@app.get("/reports/undownloaded", summary="Received files not yet downloaded, oldest first", tags=["reports"])
def undownloaded_report(
    la: Annotated[
        str | None, Query(min_length=3, max_length=3, description="3-digit LA code; required for DfE users")
    ] = None,
    older_than_days: Annotated[int, Query(ge=0, le=3650)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> UndownloadedReport:
    principal = current_principal(app)
    scope_la, rows, next_cursor = reports.undownloaded(
        principal, la=la, older_than_days=older_than_days, limit=limit, cursor=cursor
    )
    return UndownloadedReport.model_validate(
        {"la": scope_la, "older_than_days": older_than_days, "items": rows, "next_cursor": next_cursor}
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
