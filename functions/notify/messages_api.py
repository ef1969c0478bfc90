"""Secure messages API: send, the inbox and sent box, a message with its thread, delete from your
side, and the messages attached to a transfer (docs/SERVICE.md, "Secure messages"). The use cases are
s2s.services.messages; bodies are encrypted under the KMS key and never logged."""

from __future__ import annotations

from typing import Annotated, Any

from s2s.contracts.messages import (
    MessageId,
    MessageList,
    MessageThread,
    MessageView,
    SendMessageRequest,
    TransferMessages,
)
from s2s.contracts.transfers import Cursor, Limit, TransferId
from s2s.domain.messages import Box
from s2s.runtime.http import JSON, Api, Body, Query, Response
from s2s.runtime.http import Path as PathParam
from s2s.runtime.log import correlation_paths, logger, metrics, trace_handler
from s2s.runtime.snapstart import prepare as prepare_snapstart
from s2s.services import messages

# A 10,000-character body may be 120 KB of JSON once every character is escaped (\ud83d\ude00);
# anything larger is refused before it is parsed.
MESSAGE_REQUEST_BYTES = 128 * 1024

app = Api(max_body_bytes=MESSAGE_REQUEST_BYTES)


@app.post(
    "/messages",
    summary="Send a secure message",
    tags=["messages"],
    responses={201: {"description": "Sent", "content": {"application/json": {"model": MessageView}}}},
)
def send_message(body: Annotated[SendMessageRequest, Body()]) -> Response[MessageView]:
    sent = messages.send(
        app.principal,
        to=body.to,
        subject=body.subject,
        body=body.body,
        transfer_id=body.transfer_id,
        reply_to=body.reply_to,
    )
    return Response(status_code=201, content_type=JSON, body=MessageView.model_validate(sent))


@app.get("/messages", summary="Your messages: the inbox or the sent box", tags=["messages"])
def list_messages(
    box: Annotated[Box, Query(description="inbox: sent to your organisation; sent: sent by it")] = "inbox",
    unread: Annotated[bool, Query(description="Only messages nobody at your organisation has read")] = False,
    limit: Annotated[Limit, Query()] = 50,
    cursor: Annotated[Cursor | None, Query()] = None,
) -> MessageList:
    page = messages.list_box(app.principal, box=box, unread=unread, limit=limit, cursor=cursor)
    return MessageList.model_validate(page)


@app.get("/messages/<id>", summary="A message and its thread (reading it records the read receipt)", tags=["messages"])
def read_message(id: Annotated[MessageId, PathParam()]) -> MessageThread:
    return MessageThread.model_validate(messages.read(app.principal, id))


@app.delete(
    "/messages/<id>",
    summary="Delete a message from your organisation's side",
    tags=["messages"],
    responses={204: {"description": "Deleted from your side; the other organisation keeps its copy"}},
)
def delete_message(id: Annotated[MessageId, PathParam()]) -> Response[None]:
    messages.delete(app.principal, id)
    return Response(status_code=204)


@app.get("/transfers/<id>/messages", summary="The messages about a transfer", tags=["messages"])
def transfer_messages(id: Annotated[TransferId, PathParam()]) -> TransferMessages:
    return TransferMessages.model_validate(messages.for_transfer(app.principal, id))


prepare_snapstart(("dynamodb", "kms", "sns"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@trace_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)


__all__ = ["app", "lambda_handler"]
