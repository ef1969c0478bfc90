"""Transfers API: presigned uploads, inbox/outbox/LA lists, a transfer's page, downloads, removal,
and the OpenAPI document of the whole service."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from s2s import uploads
from s2s.api import App, Reply, Request
from s2s.transfer_models import (
    CreateTransferRequest,
    CreateTransferResponse,
    DownloadLink,
    ListQuery,
    TransferDetail,
    TransferList,
    TransferPath,
    UploadForm,
)

app = App()
OPENAPI_DOCUMENT = Path(__file__).with_name("openapi.json")


@app.post(
    "/transfers",
    summary="Start an upload",
    tags=("transfers",),
    status=201,
    body=CreateTransferRequest,
    response=CreateTransferResponse,
    responses={201: "Upload ticket"},
)
def create_transfer(request: Request) -> CreateTransferResponse:
    body: CreateTransferRequest = request.body
    ticket = uploads.issue_upload_ticket(
        request.principal,
        request.origin,
        filename=body.filename,
        size_bytes=body.size_bytes,
        sha256=body.sha256,
        upn=body.upn,
    )
    t = ticket.transfer
    return CreateTransferResponse(
        transfer_id=t.transfer_id,
        status=t.status,
        family=t.family,
        source=t.source,
        destination=t.destination,
        upload=UploadForm(url=ticket.url, fields=ticket.fields),
        upload_expires_at=t.upload_expires_at,
        expires_at=t.expires_at,
    )


@app.get("/transfers", summary="List transfers", tags=("transfers",), query=ListQuery, response=TransferList)
def list_transfers(request: Request) -> dict[str, Any]:
    q: ListQuery = request.query
    items, next_cursor = uploads.list_transfers(
        request.principal, box=q.box, status=q.status, limit=q.limit, cursor=q.cursor
    )
    return {"items": items, "next_cursor": next_cursor}


@app.get(
    "/transfers/{id}",
    summary="A transfer, its audit trail and download receipts",
    tags=("transfers",),
    params=TransferPath,
    response=TransferDetail,
)
def get_transfer(request: Request) -> dict[str, Any]:
    principal = request.principal
    t = uploads.visible_transfer(principal, request.params.id)
    return uploads.describe(principal, t)


@app.post(
    "/transfers/{id}/download",
    summary="A short-lived download link",
    tags=("transfers",),
    params=TransferPath,
    response=DownloadLink,
)
def download_transfer(request: Request) -> dict[str, Any]:
    return uploads.request_download(request.principal, request.origin, request.params.id)


@app.delete(
    "/transfers/{id}",
    summary="Withdraw (sender) or remove (recipient) a file",
    tags=("transfers",),
    status=204,
    params=TransferPath,
    responses={204: "Removed"},
)
def delete_transfer(request: Request) -> Reply:
    uploads.remove(request.principal, request.origin, request.params.id)
    return Reply(204)


@app.get("/openapi.json", summary="This API's OpenAPI document", tags=("meta",), documented=False)
def openapi_document(request: Request) -> Reply:
    return Reply(200, _openapi_text())


@cache
def _openapi_text() -> str:
    return OPENAPI_DOCUMENT.read_text()


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)


__all__ = ["app", "lambda_handler"]
