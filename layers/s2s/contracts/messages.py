"""The secure messages API contract (docs/SERVICE.md, "Secure messages"): the request and the answers.
The OpenAPI document comes from these and the routes' signatures.

A subject or a field that breaks a rule is a 422 naming every bad field; a body over 10,000
characters is a 413 (`message_too_long`, checked by the service), so that a client can tell "too
much" from "wrong"."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from s2s.contracts.base import Model, RequestModel
from s2s.domain.messages import BODY_MAX, SUBJECT_MAX, recipient_problem, text_problem

MessageId = Annotated[str, Field(min_length=1, max_length=64, description="The message's id")]

_REASONS = {
    "bad_recipient": "must be a school's LAESTAB (7 digits) or a local authority as <LA>LLLL",
    "unknown_la": "names a local authority number we do not know",
    "hidden_characters": "holds characters that hide or reorder text",
    "control_characters": "must be plain text (no control characters; a subject on one line)",
    "blank": "must not be blank",
}


def _refuse(reason: str | None) -> None:
    if reason is not None:
        raise ValueError(f"{_REASONS[reason]} ({reason})")


class SendMessageRequest(RequestModel):
    """Body of POST /messages."""

    to: Annotated[
        str,
        Field(
            min_length=1, max_length=20, description="The organisation: a LAESTAB, or <LA>LLLL for a local authority"
        ),
    ]
    # repr=False: Powertools logs the parsed request at DEBUG; a subject or body must never be in it.
    subject: Annotated[
        str, Field(min_length=1, max_length=SUBJECT_MAX, repr=False, description="Plain text on one line")
    ]
    body: Annotated[
        str,
        Field(
            min_length=1,
            repr=False,
            description=f"Plain text, 1 to {BODY_MAX} characters (over that: 413 message_too_long). Stored "
            "encrypted; never in an email, a log or a metric",
        ),
    ]
    transfer_id: (
        Annotated[str, Field(min_length=1, max_length=64, description="A transfer both organisations can see")] | None
    ) = None
    reply_to: (
        Annotated[
            str,
            Field(
                min_length=1, max_length=64, description="A message of the thread, between the same two organisations"
            ),
        ]
        | None
    ) = None

    @field_validator("to")
    @classmethod
    def _recipient(cls, value: str) -> str:
        _refuse(recipient_problem(value))
        return value

    @field_validator("subject")
    @classmethod
    def _subject(cls, value: str) -> str:
        _refuse(text_problem(value, one_line=True))
        return value.strip()

    @field_validator("body")
    @classmethod
    def _body(cls, value: str) -> str:
        _refuse(text_problem(value, one_line=False))
        return value


class ReadReceipt(Model):
    """The recipient organisation's first read. Who read it is shown to that organisation only."""

    organisation: str
    organisation_name: str | None = None
    read_at: str
    read_by: Annotated[str | None, Field(description="Absent unless you are the organisation that read it")] = None
    read_by_email: str | None = None


class MessageSummary(Model):
    """A message in a list: never its body."""

    message_id: str
    thread_id: str
    reply_to: str | None = None
    transfer_id: str | None = None
    sender: Annotated[str, Field(description="The sending organisation")]
    sender_name: str | None = None
    recipient: Annotated[str, Field(description="The organisation it is for")]
    recipient_name: str | None = None
    subject: Annotated[str | None, Field(description="Null once the message has expired")] = None
    sent_at: str
    expires_at: str
    expired: bool = False
    direction: Literal["sent", "received"]
    unread: Annotated[bool, Field(description="Received and not yet read by your organisation")]
    sent_by: Annotated[str | None, Field(description="Who sent it: your own organisation's messages only")] = None
    sent_by_email: str | None = None
    read: ReadReceipt | None = None


class MessageView(MessageSummary):
    """A message with its body (null once it has expired)."""

    body: str | None = None


class MessageThread(Model):
    """GET /messages/{id}: the message and its whole thread, oldest first (the message included;
    messages you deleted left out)."""

    message: MessageView
    thread: list[MessageView]


class MessageList(Model):
    messages: list[MessageSummary]
    next_cursor: str | None = None
    unread_count: Annotated[int, Field(ge=0, description="Messages your organisation has received and not read")]


class TransferMessages(Model):
    """The messages attached to a transfer that your organisation sent or received, oldest first."""

    transfer_id: str
    messages: list[MessageSummary]


__all__ = [
    "MessageId",
    "MessageList",
    "MessageSummary",
    "MessageThread",
    "MessageView",
    "ReadReceipt",
    "SendMessageRequest",
    "TransferMessages",
]
