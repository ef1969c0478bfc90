"""Subscriptions API: the signed-in user turns notification emails for their own organisation on
(PUT), off (DELETE) or looks (GET). The address always comes from the token, never from the body,
and the organisation is always the caller's own."""

from __future__ import annotations

from typing import Annotated, Any

from s2s.contracts.subscriptions import Subscription, SubscriptionRequest
from s2s.runtime.http import Api, Body, Response
from s2s.runtime.log import correlation_paths, logger, metrics, trace_handler
from s2s.runtime.snapstart import prepare as prepare_snapstart
from s2s.services import subscriptions

app = Api()


@app.get("/subscriptions/me", summary="Your notification setting", tags=["subscriptions"])
def get_subscription() -> Subscription:
    return subscriptions.current(app.principal)


@app.put("/subscriptions/me", summary="Get emails for your organisation's files", tags=["subscriptions"])
def put_subscription(
    # No body, or JSON null: your own organisation.
    body: Annotated[SubscriptionRequest | None, Body()] = None,
) -> Subscription:
    return subscriptions.subscribe(app.principal, body.organisation if body is not None else None)


@app.delete(
    "/subscriptions/me",
    summary="Stop emails for your organisation's files",
    tags=["subscriptions"],
    responses={204: {"description": "Unsubscribed (also when you were not subscribed)"}},
)
def delete_subscription() -> Response[None]:
    subscriptions.unsubscribe(app.principal)
    return Response(status_code=204)


prepare_snapstart(("dynamodb",))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@trace_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
