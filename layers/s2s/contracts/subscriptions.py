"""The subscriptions API contract (docs/SERVICE.md §5, §6): a user's notification setting for their
own organisation."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from s2s.contracts.base import Model, RequestModel


class SubscriptionRequest(RequestModel):
    """Optional body of PUT /subscriptions/me. Naming an organisation is allowed only to confirm
    that it is your own: you cannot subscribe anyone to another organisation's emails."""

    organisation: (
        Annotated[str, Field(max_length=20, description="Your organisation (LAESTAB or <LA>LLLL); defaults to it")]
        | None
    ) = None


class Subscription(Model):
    """The signed-in user's notification setting for their organisation."""

    organisation: Annotated[str, Field(description="LAESTAB for a school, <LA>LLLL for a local authority")]
    organisation_name: str
    email: Annotated[str, Field(description="The address from your sign-in")]
    subscribed: bool
    subscriber_count: Annotated[int, Field(ge=0, description="How many addresses get this organisation's emails")]
