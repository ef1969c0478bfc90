"""Subscriptions API: the signed-in user turns notification emails for their own organisation on
(PUT), off (DELETE) or looks (GET). The address always comes from the token, never from the body,
and the organisation is always the caller's own."""

from __future__ import annotations

from typing import Annotated, Any

from msgspec import Meta
from s2s import clock, store, subscriptions
from s2s.api import App, Reply, Request
from s2s.errors import Forbidden, InvalidRequest
from s2s.log import logger
from s2s.models import Model
from s2s.principal import Principal

app = App()


class SubscriptionRequest(Model, forbid_unknown_fields=True, kw_only=True):
    """Optional body of PUT /subscriptions/me. Naming an organisation is allowed only to confirm
    that it is your own: you cannot subscribe anyone to another organisation's emails."""

    organisation: (
        Annotated[str, Meta(max_length=20, description="Your organisation (LAESTAB or <LA>LLLL); defaults to it")]
        | None
    ) = None


class Subscription(Model, kw_only=True):
    """The signed-in user's notification setting for their organisation."""

    organisation: Annotated[str, Meta(description="LAESTAB for a school, <LA>LLLL for a local authority")]
    organisation_name: str
    email: Annotated[str, Meta(description="The address from your sign-in")]
    subscribed: bool
    subscriber_count: Annotated[int, Meta(ge=0, description="How many addresses get this organisation's emails")]


def _subscriber(principal: Principal) -> str:
    """The caller's address, refusing the DfE (no files, no notifications) and tokens without one."""
    if principal.kind == "dfe":
        raise Forbidden(
            "Notifications are for schools and local authorities: DfE users get reports only.",
            code="role_not_allowed",
        )
    if not principal.email:
        raise InvalidRequest(
            "Your sign-in has no usable email address, so notifications cannot be sent to you. Add an email "
            "address to your DfE Sign-in account, sign in again, and try once more.",
            code="no_email",
            details=[{"field": "email", "reason": "missing"}],
        )
    return principal.email


def _describe(principal: Principal, email: str) -> Subscription:
    org = principal.org
    now = subscriptions.setting(org, email)
    return Subscription(
        organisation=org,
        organisation_name=now.org_name or principal.org_name or org,
        email=email,
        subscribed=now.subscribed,
        subscriber_count=now.subscriber_count,
    )


@app.get("/subscriptions/me", summary="Your notification setting", tags=("subscriptions",), response=Subscription)
def get_subscription(request: Request) -> Subscription:
    principal = request.principal
    email = _subscriber(principal)
    return _describe(principal, email)


@app.put(
    "/subscriptions/me",
    summary="Get emails for your organisation's files",
    tags=("subscriptions",),
    body=SubscriptionRequest | None,  # no body, or JSON null: your own organisation
    body_required=False,
    response=Subscription,
)
def put_subscription(request: Request) -> Subscription:
    principal = request.principal
    email = _subscriber(principal)
    body: SubscriptionRequest | None = request.body
    if body is not None and body.organisation not in (None, principal.org):
        raise Forbidden(
            "You can only subscribe to your own organisation's notifications.", code="not_your_organisation"
        )
    store.remember_org_name(principal.org, principal.org_name, clock.now())
    added = subscriptions.subscribe(principal.org, email, principal.user_id, principal.org_name)
    logger.info("subscribed", extra={**principal.log_fields(), "added": added})
    return _describe(principal, email)


@app.delete(
    "/subscriptions/me",
    summary="Stop emails for your organisation's files",
    tags=("subscriptions",),
    status=204,
    responses={204: "Unsubscribed (also when you were not subscribed)"},
)
def delete_subscription(request: Request) -> Reply:
    principal = request.principal
    email = _subscriber(principal)
    removed = subscriptions.unsubscribe(principal.org, email)
    logger.info("unsubscribed", extra={**principal.log_fields(), "removed": removed})
    return Reply(204)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
