"""Subscriptions API: the signed-in user turns notification emails for their own organisation on
(PUT), off (DELETE) or looks (GET). The address always comes from the token, never from the body,
and the organisation is always the caller's own."""

from __future__ import annotations

from typing import Annotated, Any

from s2s import clock, store, subscriptions
from s2s.api import Api, Body, Response
from s2s.errors import Forbidden, InvalidRequest
from s2s.log import correlation_paths, logger, metrics, trace_handler
from s2s.principal import Principal
from s2s.snapstart import prepare as prepare_snapstart
from s2s.subscription_models import Subscription, SubscriptionRequest

app = Api()


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


@app.get("/subscriptions/me", summary="Your notification setting", tags=["subscriptions"])
def get_subscription() -> Subscription:
    principal = app.principal
    email = _subscriber(principal)
    return _describe(principal, email)


@app.put("/subscriptions/me", summary="Get emails for your organisation's files", tags=["subscriptions"])
def put_subscription(
    # No body, or JSON null: your own organisation.
    body: Annotated[SubscriptionRequest | None, Body()] = None,
) -> Subscription:
    principal = app.principal
    email = _subscriber(principal)
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
    tags=["subscriptions"],
    responses={204: {"description": "Unsubscribed (also when you were not subscribed)"}},
)
def delete_subscription() -> Response[None]:
    principal = app.principal
    email = _subscriber(principal)
    removed = subscriptions.unsubscribe(principal.org, email)
    logger.info("unsubscribed", extra={**principal.log_fields(), "removed": removed})
    return Response(status_code=204)


prepare_snapstart(("dynamodb",))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@trace_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
