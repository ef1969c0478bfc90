"""The TransferEvent contract (docs/SERVICE.md §6): what changed, as published on the
TransferEvents topic by the functions that change a transfer and read by notify and any other
subscriber. One model for both ends, so producer and consumer cannot drift apart.

Subscribers must expect an event more than once (`event_id` is stable for that purpose) and
types they do not know: `type` is any text, and a consumer skips the types it has no use for."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, model_validator

from s2s.contracts.base import Model
from s2s.domain.transfers import EVENT_TYPES, EventType

Text = Annotated[str, Field(min_length=1)]


class TransferEvent(Model):
    event_id: str = ""  # "<transfer_id>:<type>" when the producer leaves it out
    type: Annotated[Text, Field(description="transfer.available, .rejected, .downloaded, .expiring or .claimed")]
    transfer_id: Text
    recipients: Annotated[list[Text], Field(description="Organisations whose subscribers the event is for")]
    family: str
    file_type: str
    filename: str
    source: str
    source_name: str
    destination: str
    recipient_org: str
    occurred_at: str
    expires_at: str
    size_bytes: int
    sha256: str | None = None
    reason: str | None = None  # transfer.rejected
    reason_message: str | None = None
    suggestion: str | None = None
    downloaded_by: str | None = None  # transfer.downloaded
    claimed_by: str | None = None  # transfer.claimed

    @model_validator(mode="after")
    def _stable_id(self) -> Self:
        if not self.event_id:
            self.event_id = f"{self.transfer_id}:{self.type}"
        return self

    def to_message(self) -> dict[str, object]:
        """The event as published: the fields its producer set, nulls included."""
        return self.model_dump(exclude_unset=True) | {"event_id": self.event_id}


class MessageEvent(Model):
    """`message.received`: a secure message is waiting for `recipients`. Who wrote and the message's
    id only: the subject and the body never travel on the topic (nor, so, in a queue or a DLQ)."""

    event_id: str = ""  # "<message_id>:message.received"
    type: Annotated[Text, Field(description="message.received")]
    message_id: Text
    recipients: Annotated[list[Text], Field(min_length=1, description="The organisation the message is for")]
    source: Annotated[Text, Field(description="The organisation that sent it")]
    source_name: str = ""
    occurred_at: Text

    @model_validator(mode="after")
    def _stable_id(self) -> Self:
        if not self.event_id:
            self.event_id = f"{self.message_id}:{self.type}"
        return self


__all__ = ["EVENT_TYPES", "EventType", "MessageEvent", "TransferEvent"]
