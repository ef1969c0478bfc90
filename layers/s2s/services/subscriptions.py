"""Subscriptions, the use case (docs/SERVICE.md §5, §6): the signed-in user turns notification
emails for their own organisation on or off, or looks. The address always comes from the token,
never from a body, and the organisation is always the caller's own."""

from __future__ import annotations

from s2s.adapters import organisations, subscriptions
from s2s.contracts.subscriptions import Subscription
from s2s.domain import clock
from s2s.domain.errors import Forbidden, InvalidRequest
from s2s.domain.principal import Principal
from s2s.runtime.log import logger


def subscriber(principal: Principal) -> str:
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


def describe(principal: Principal, email: str) -> Subscription:
    org = principal.org
    now = subscriptions.setting(org, email)
    return Subscription(
        organisation=org,
        organisation_name=now.org_name or principal.org_name or org,
        email=email,
        subscribed=now.subscribed,
        subscriber_count=now.subscriber_count,
    )


def current(principal: Principal) -> Subscription:
    return describe(principal, subscriber(principal))


def subscribe(principal: Principal, organisation: str | None) -> Subscription:
    """Subscribe the caller's address to their organisation's emails; naming another is refused."""
    email = subscriber(principal)
    if organisation not in (None, principal.org):
        raise Forbidden(
            "You can only subscribe to your own organisation's notifications.", code="not_your_organisation"
        )
    organisations.remember_name(principal.org, principal.org_name, clock.now())
    added = subscriptions.subscribe(principal.org, email, principal.user_id, principal.org_name)
    logger.info("subscribed", extra={**principal.log_fields(), "added": added})
    return describe(principal, email)


def unsubscribe(principal: Principal) -> None:
    email = subscriber(principal)
    removed = subscriptions.unsubscribe(principal.org, email)
    logger.info("unsubscribed", extra={**principal.log_fields(), "removed": removed})
