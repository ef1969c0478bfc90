"""Transfers API: presigned uploads, inbox/outbox/LA lists, a transfer's page, downloads, removal,
and the OpenAPI document of the whole service (docs/SERVICE.md §5)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated, Any

from s2s.contracts.transfers import (
    Box,
    CreateTransferRequest,
    CreateTransferResponse,
    Cursor,
    DownloadLink,
    Limit,
    Status,
    TransferDetail,
    TransferId,
    TransferList,
    UploadForm,
)
from s2s.runtime.http import JSON, Api, Body, Query, Response
from s2s.runtime.http import Path as PathParam
from s2s.runtime.log import Metric, correlation_paths, count, logger, metrics, trace_handler
from s2s.runtime.snapstart import prepare as prepare_snapstart
from s2s.services import actions, queries, tickets

app = Api()
OPENAPI_DOCUMENT = Path(__file__).with_name("openapi.json")


@app.post(
    "/transfers",
    summary="Start an upload",
    tags=["transfers"],
    responses={
        201: {"description": "Upload ticket", "content": {"application/json": {"model": CreateTransferResponse}}}
    },
)
def create_transfer(body: Annotated[CreateTransferRequest, Body()]) -> Response[CreateTransferResponse]:
    ticket = tickets.issue_upload_ticket(
        app.principal,
        app.origin,
        filename=body.filename,
        size_bytes=body.size_bytes,
        sha256=body.sha256,
        upn=body.upn,
    )
    count(Metric.UPLOADS_STARTED)
    t = ticket.transfer
    answer = CreateTransferResponse(
        transfer_id=t.transfer_id,
        status=t.status,
        family=t.family,
        source=t.source,
        destination=t.destination,
        upload=UploadForm(url=ticket.url, fields=ticket.fields),
        upload_expires_at=t.upload_expires_at,
        expires_at=t.expires_at,
    )
    return Response(status_code=201, content_type=JSON, body=answer)


@app.get("/transfers", summary="List transfers", tags=["transfers"])
def list_transfers(
    box: Annotated[
        Box, Query(description="inbox: addressed to you; outbox: sent by you; la: from or to your LA's schools")
    ] = "inbox",
    status: Annotated[Status | None, Query()] = None,
    limit: Annotated[Limit, Query()] = 50,
    cursor: Annotated[Cursor | None, Query()] = None,
) -> TransferList:
    items, next_cursor = queries.list_transfers(app.principal, box=box, status=status, limit=limit, cursor=cursor)
    return TransferList.model_validate({"items": items, "next_cursor": next_cursor})


@app.get("/transfers/<id>", summary="A transfer, its audit trail and download receipts", tags=["transfers"])
def get_transfer(id: Annotated[TransferId, PathParam()]) -> TransferDetail:
    return TransferDetail.model_validate(queries.transfer_page(app.principal, id))


@app.post("/transfers/<id>/download", summary="A short-lived download link", tags=["transfers"])
def download_transfer(id: Annotated[TransferId, PathParam()]) -> DownloadLink:
    link = DownloadLink.model_validate(actions.request_download(app.principal, app.origin, id))
    count(Metric.DOWNLOADS)
    return link


@app.delete(
    "/transfers/<id>",
    summary="Withdraw (sender) or remove (recipient) a file",
    tags=["transfers"],
    responses={204: {"description": "Removed"}},
)
def delete_transfer(id: Annotated[TransferId, PathParam()]) -> Response[None]:
    actions.remove(app.principal, app.origin, id)
    return Response(status_code=204)


@app.get("/openapi.json", summary="This API's OpenAPI document", include_in_schema=False)
def openapi_document() -> Response[str]:
    return Response(status_code=200, content_type=JSON, body=_openapi_text())


@cache
def _openapi_text() -> str:
    return OPENAPI_DOCUMENT.read_text()


prepare_snapstart(("s3", "dynamodb", "sns"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@trace_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)


__all__ = ["app", "lambda_handler"]
