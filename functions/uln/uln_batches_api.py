"""ULN batch routes (docs/SERVICE.md "ULNs in bulk"): start a batch (a presigned POST for the CTF
XML file), list the organisation's batches, follow one with its pupils' outcomes, and a
five-minute link to a return file. Schools and local authorities only. The processing happens in
uln_batch_worker.py once the file lands; the use cases are s2s.services.uln_batches."""

from __future__ import annotations

from typing import Annotated, Any

from s2s.contracts.transfers import Cursor, UploadForm
from s2s.contracts.uln_batches import (
    BatchCreated,
    BatchDetail,
    BatchId,
    BatchList,
    CreateBatchRequest,
    PageSize,
    ResultLink,
    ResultRequest,
)
from s2s.runtime.http import JSON, Api, Body, Path, Query, Response
from s2s.runtime.log import correlation_paths, logger, metrics, trace_handler
from s2s.runtime.snapstart import prepare as prepare_snapstart
from s2s.services import uln_batches as service

app = Api()


@app.post(
    "/uln/batches",
    summary="Start a ULN batch: upload a CTF of the pupils to register or verify",
    tags=["uln"],
    responses={201: {"description": "Upload ticket", "content": {"application/json": {"model": BatchCreated}}}},
)
def create_batch(body: Annotated[CreateBatchRequest, Body()]) -> Response[BatchCreated]:
    batch, url, fields = service.issue_batch_ticket(
        app.principal, app.origin, filename=body.filename, size_bytes=body.size_bytes, sha256=body.sha256
    )
    answer = BatchCreated(
        batch_id=batch.batch_id,
        status="pending_upload",
        upload=UploadForm(url=url, fields=fields),
        upload_expires_at=batch.upload_expires_at,
    )
    return Response(status_code=201, content_type=JSON, body=answer)


@app.get("/uln/batches", summary="Your organisation's ULN batches, newest first", tags=["uln"])
def list_batches(
    limit: Annotated[PageSize, Query()] = 50,
    cursor: Annotated[Cursor | None, Query()] = None,
) -> BatchList:
    items, next_cursor = service.list_batches(app.principal, limit=limit, cursor=cursor)
    return BatchList.model_validate({"items": items, "next_cursor": next_cursor})


@app.get("/uln/batches/<id>", summary="A ULN batch: counts and its pupils' outcomes, a page at a time", tags=["uln"])
def get_batch(
    id: Annotated[BatchId, Path()],
    limit: Annotated[PageSize, Query()] = 100,
    cursor: Annotated[Cursor | None, Query()] = None,
) -> BatchDetail:
    summary, outcomes, next_cursor = service.describe(app.principal, id, limit=limit, cursor=cursor)
    return BatchDetail.model_validate({**summary, "outcomes": outcomes, "next_cursor": next_cursor})


@app.post("/uln/batches/<id>/result", summary="A five-minute link to a batch's return CTF or CSV", tags=["uln"])
def batch_result(id: Annotated[BatchId, Path()], body: Annotated[ResultRequest, Body()]) -> ResultLink:
    return ResultLink.model_validate(service.result_link(app.principal, app.origin, id, body.format))


prepare_snapstart(("dynamodb", "s3", "secrets"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@trace_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
