"""Transfers API: presigned uploads, inbox/outbox/LA lists, a transfer's page, downloads, removal,
and the OpenAPI document of the whole service."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.openapi.params import Path as PathParam
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from s2s import uploads
from s2s.api import current_principal, make_resolver, request_origin
from s2s.transfer_models import (
    CreateTransferRequest,
    CreateTransferResponse,
    DownloadLink,
    StatusName,
    TransferDetail,
    TransferList,
    UploadForm,
)

logger = Logger(service="s2s")
app = make_resolver()
OPENAPI_DOCUMENT = Path(__file__).with_name("openapi.json")


@app.post(
    "/transfers",
    summary="Start an upload",
    tags=["transfers"],
    responses={
        201: {
            "description": "Upload ticket",
            "content": {"application/json": {"model": CreateTransferResponse}},
        }
    },
)
def create_transfer(request: Annotated[CreateTransferRequest, Body()]) -> Response[str]:
    # The body is built from the model and serialised once here; validating it again on the way
    # out would cost a third of the request (the issue's 3x presign budget). Documented above.
    principal = current_principal(app)
    ticket = uploads.issue_upload_ticket(
        principal,
        request_origin(app),
        filename=request.filename,
        size_bytes=request.size_bytes,
        sha256=request.sha256,
        upn=request.upn,
    )
    t = ticket.transfer
    body = CreateTransferResponse(
        transfer_id=t.transfer_id,
        status=t.status,
        family=t.family,
        source=t.source,
        destination=t.destination,
        upload=UploadForm(url=ticket.url, fields=ticket.fields),
        upload_expires_at=t.upload_expires_at,
        expires_at=t.expires_at,
    )
    return Response(status_code=201, content_type="application/json", body=body.model_dump_json())


@app.get("/transfers", summary="List transfers", tags=["transfers"])
def list_transfers(
    box: Annotated[
        Literal["inbox", "outbox", "la"],
        Query(description="inbox: addressed to you; outbox: sent by you; la: from or to your LA's schools"),
    ] = "inbox",
    status: Annotated[StatusName | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> TransferList:
    principal = current_principal(app)
    items, next_cursor = uploads.list_transfers(principal, box=box, status=status, limit=limit, cursor=cursor)
    return TransferList.model_validate({"items": items, "next_cursor": next_cursor})


@app.get("/transfers/<id>", summary="A transfer, its audit trail and download receipts", tags=["transfers"])
def get_transfer(id: Annotated[str, PathParam(max_length=64)]) -> TransferDetail:
    principal = current_principal(app)
    t = uploads.visible_transfer(principal, id)
    return TransferDetail.model_validate(uploads.describe(principal, t))


@app.post("/transfers/<id>/download", summary="A short-lived download link", tags=["transfers"])
def download_transfer(id: Annotated[str, PathParam(max_length=64)]) -> DownloadLink:
    principal = current_principal(app)
    return DownloadLink.model_validate(uploads.request_download(principal, request_origin(app), id))


@app.delete(
    "/transfers/<id>",
    summary="Withdraw (sender) or remove (recipient) a file",
    tags=["transfers"],
    responses={204: {"description": "Removed"}},
)
def delete_transfer(id: Annotated[str, PathParam(max_length=64)]) -> Response[str]:
    principal = current_principal(app)
    uploads.remove(principal, request_origin(app), id)
    return Response(status_code=204, body="")


@app.get("/openapi.json", summary="This API's OpenAPI document", tags=["meta"], include_in_schema=False)
def openapi_document() -> Response[str]:
    return Response(status_code=200, content_type="application/json", body=_openapi_text())


@cache
def _openapi_text() -> str:
    return OPENAPI_DOCUMENT.read_text()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


__all__ = ["app", "lambda_handler"]
