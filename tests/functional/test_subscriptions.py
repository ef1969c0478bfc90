"""Subscriptions: the /subscriptions/me routes and s2s.adapters.subscriptions against moto (docs/SERVICE.md §5, §6)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3
import pytest
import subscriptions_api
from s2s.adapters import aws as aws_clients
from s2s.adapters import dynamo, organisations, subscriptions, transfers
from s2s.domain import clock
from s2s_cli.openapi import build_document
from support.helpers import call, dfe_claims, la_claims, school_claims

pytestmark = pytest.mark.functional

PATH = "/subscriptions/me"
SCHOOL = "8232345"


def sub(method: str, claims: dict[str, Any] | None, body: Any = None, raw_body: str | None = None) -> Any:
    return call(subscriptions_api.lambda_handler, method, PATH, claims=claims, body=body, raw_body=raw_body)


def profile(org: str) -> dict[str, Any]:
    item = (
        boto3.client("dynamodb", region_name="eu-west-2")
        .get_item(TableName=dynamo.table(), Key=dynamo.key(f"ORG#{org}", "PROFILE"))
        .get("Item")
    )
    return dynamo.from_item(item) if item else {}


# ---------------------------------------------------------------------------- the routes


def test_put_subscribes_the_signed_in_user_to_their_own_school(aws: Any) -> None:
    claims = school_claims(SCHOOL, email="Office@Riverside.School.Example", name="Riverside Academy")

    reply = sub("PUT", claims)

    assert reply.status == 200
    assert reply.body == {
        "organisation": SCHOOL,
        "organisation_name": "Riverside Academy",
        "email": "office@riverside.school.example",
        "subscribed": True,
        "subscriber_count": 1,
    }
    assert subscriptions.subscribers(SCHOOL) == ["office@riverside.school.example"]
    assert organisations.name(SCHOOL) == "Riverside Academy"


def test_get_reports_the_setting_and_the_count(aws: Any) -> None:
    assert sub("GET", school_claims(SCHOOL)).body["subscribed"] is False
    sub("PUT", school_claims(SCHOOL, email="a@school.example", sub="u1"))

    mine = sub("GET", school_claims(SCHOOL, email="a@school.example", sub="u1"))
    colleague = sub("GET", school_claims(SCHOOL, email="b@school.example", sub="u2"))

    assert mine.status == 200 and mine.body["subscribed"] is True
    assert colleague.body["subscribed"] is False
    assert colleague.body["subscriber_count"] == 1
    assert colleague.body["email"] == "b@school.example"


def test_get_is_one_dynamodb_round_trip(aws: Any) -> None:
    sub("PUT", school_claims(SCHOOL, email="a@school.example", sub="u1"))
    calls: list[str] = []
    client = aws_clients.dynamodb()
    client.meta.events.register(
        "before-call.dynamodb", lambda model, **_: calls.append(model.name), unique_id="count-calls"
    )
    try:
        reply = sub("GET", school_claims(SCHOOL, email="a@school.example", sub="u1"))
    finally:
        client.meta.events.unregister("before-call.dynamodb", unique_id="count-calls")

    assert (reply.body["subscribed"], reply.body["subscriber_count"]) == (True, 1)
    # The name, the count and the subscription come from one strongly consistent BatchGetItem.
    assert calls == ["BatchGetItem"]


def test_double_put_counts_once(aws: Any) -> None:
    claims = school_claims(SCHOOL, email="a@school.example")

    first, second = sub("PUT", claims), sub("PUT", claims)

    assert first.status == second.status == 200
    assert second.body["subscriber_count"] == 1
    assert subscriptions.subscriber_count(SCHOOL) == 1
    assert subscriptions.subscribers(SCHOOL) == ["a@school.example"]


def test_count_follows_several_users_and_removals(aws: Any) -> None:
    for n in range(3):
        sub("PUT", school_claims(SCHOOL, email=f"user{n}@school.example", sub=f"u{n}"))

    assert subscriptions.subscriber_count(SCHOOL) == 3
    assert sub("DELETE", school_claims(SCHOOL, email="user1@school.example", sub="u1")).status == 204
    assert sub("DELETE", school_claims(SCHOOL, email="user1@school.example", sub="u1")).status == 204

    assert subscriptions.subscriber_count(SCHOOL) == 2
    assert subscriptions.subscribers(SCHOOL) == ["user0@school.example", "user2@school.example"]


def test_delete_when_not_subscribed_is_204_and_counts_nothing(aws: Any) -> None:
    reply = sub("DELETE", school_claims(SCHOOL))

    assert reply.status == 204
    assert reply.body == ""
    assert subscriptions.subscriber_count(SCHOOL) == 0
    assert profile(SCHOOL).get("subscriber_count", 0) == 0


def test_put_naming_your_own_organisation_is_fine(aws: Any) -> None:
    reply = sub("PUT", school_claims(SCHOOL), body={"organisation": SCHOOL})

    assert reply.status == 200
    assert reply.body["subscribed"] is True


@pytest.mark.parametrize(
    ("claims", "other"),
    [
        (school_claims(SCHOOL), "8239999"),
        (school_claims(SCHOOL), "823LLLL"),  # a school cannot sign up for its LA's emails
        (la_claims("823"), "8232345"),  # nor an LA for one of its schools
        (la_claims("823"), "330LLLL"),
    ],
)
def test_a_user_who_tries_to_subscribe_another_organisation_gets_403(
    aws: Any, claims: dict[str, Any], other: str
) -> None:
    reply = sub("PUT", claims, body={"organisation": other})

    assert reply.status == 403
    assert reply.error == "not_your_organisation"
    assert subscriptions.subscriber_count(other) == 0
    assert subscriptions.subscribers(other) == []
    assert profile(other) == {}


def test_la_user_subscribes_to_the_la(aws: Any) -> None:
    reply = sub("PUT", la_claims("823"))

    assert reply.status == 200
    assert reply.body["organisation"] == "823LLLL"
    assert reply.body["organisation_name"] == "Central Bedfordshire"
    assert subscriptions.subscribers("823LLLL") == ["data@la823.gov.example"]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_dfe_users_get_403(aws: Any, method: str) -> None:
    reply = sub(method, dfe_claims())

    assert reply.status == 403
    assert reply.error == "role_not_allowed"
    assert subscriptions.subscriber_count("DFE") == 0


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("email", [None, "", "not-an-address"])
def test_token_without_a_usable_email_gets_422(aws: Any, method: str, email: str | None) -> None:
    claims = school_claims(SCHOOL)
    claims["email"] = email
    if email is None:
        del claims["email"]

    reply = sub(method, claims)

    assert reply.status == 422
    assert reply.error == "no_email"
    assert "email address" in reply.body["message"]
    assert subscriptions.subscriber_count(SCHOOL) == 0


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_no_token_gets_401(aws: Any, method: str) -> None:
    assert sub(method, None).status == 401


@pytest.mark.parametrize(
    ("body", "raw"),
    [
        (None, "not json"),
        ({"organisation": SCHOOL, "email": "someone@else.example"}, None),
        ({"organisation": 8232345}, None),
        ({"organisation": "x" * 21}, None),
    ],
)
def test_bad_bodies_get_422(aws: Any, body: Any, raw: str | None) -> None:
    reply = sub("PUT", school_claims(SCHOOL), body=body, raw_body=raw)

    assert reply.status == 422
    assert reply.error == "validation_error"
    assert subscriptions.subscribers(SCHOOL) == []


def test_openapi_documents_the_routes() -> None:
    doc = build_document()

    assert set(doc["paths"][PATH]) == {"get", "put", "delete"}
    schemas = doc["components"]["schemas"]
    assert set(schemas["Subscription"]["properties"]) == {
        "organisation",
        "organisation_name",
        "email",
        "subscribed",
        "subscriber_count",
    }
    assert "organisation" in schemas["SubscriptionRequest"]["properties"]


# ---------------------------------------------------------------------------- the module


def test_subscribe_and_unsubscribe_report_what_changed(aws: Any) -> None:
    assert subscriptions.subscribe("823LLLL", "A@LA.example", "u1", "Central Bedfordshire") is True
    assert subscriptions.subscribe("823LLLL", "a@la.example", "u1", "Central Bedfordshire") is False
    assert subscriptions.is_subscribed("823LLLL", "a@la.example")
    assert subscriptions.subscriber_count("823LLLL") == 1
    assert profile("823LLLL")["name"] == "Central Bedfordshire"

    assert subscriptions.unsubscribe("823LLLL", "a@la.example") is True
    assert subscriptions.unsubscribe("823LLLL", "a@la.example") is False
    assert not subscriptions.is_subscribed("823LLLL", "a@la.example")
    assert subscriptions.subscriber_count("823LLLL") == 0


def test_subscribe_keeps_a_known_name(aws: Any) -> None:
    organisations.remember_name(SCHOOL, "Riverside Academy", clock.now())

    subscriptions.subscribe(SCHOOL, "a@school.example", "u1", "Riverside (old name)")

    assert organisations.name(SCHOOL) == "Riverside Academy"


def test_a_damaged_zero_count_never_goes_negative(aws: Any) -> None:
    subscriptions.subscribe(SCHOOL, "a@school.example", "u1")
    boto3.client("dynamodb", region_name="eu-west-2").update_item(
        TableName=dynamo.table(),
        Key=dynamo.key(f"ORG#{SCHOOL}", "PROFILE"),
        UpdateExpression="SET subscriber_count = :z",
        ExpressionAttributeValues={":z": {"N": "0"}},
    )

    assert subscriptions.unsubscribe(SCHOOL, "a@school.example") is True

    assert subscriptions.subscriber_count(SCHOOL) == 0
    assert subscriptions.subscribers(SCHOOL) == []


def test_subscribers_pages_through_many(aws: Any) -> None:
    emails = [f"user{n:03d}@school.example" for n in range(30)]
    for n, email in enumerate(emails):
        subscriptions.subscribe(SCHOOL, email, f"u{n}")

    assert subscriptions.subscribers(SCHOOL) == emails
    assert subscriptions.subscriber_count(SCHOOL) == 30
    assert subscriptions.subscribers("8230000") == []


# ---------------------------------------------------------------------------- sending records


def sent_item(event_id: str, email: str) -> dict[str, Any]:
    item = boto3.client("dynamodb", region_name="eu-west-2").get_item(
        TableName=dynamo.table(), Key=dynamo.key(f"SENT#{event_id}", email)
    )["Item"]
    return dynamo.from_item(item)


def test_sending_record_lifecycle(aws: Any) -> None:
    event_id, email = "t1:transfer.available", "a@school.example"
    now = clock.now()

    first = subscriptions.claim_send(event_id, email, now=now)
    assert first.outcome == "claimed" and first.token
    assert subscriptions.claim_send(event_id, email, now=now).outcome == "in_progress"

    subscriptions.release_send(event_id, email, first.token)
    assert subscriptions.send_state(event_id, email) == "failed"
    retry = subscriptions.claim_send(event_id, email, now=now)
    assert retry.outcome == "claimed"

    subscriptions.mark_sent(event_id, email, "ses-message-1", now=now)
    assert subscriptions.claim_send(event_id, email, now=now + timedelta(days=1)).outcome == "already_sent"
    item = sent_item(event_id, email)
    assert item["state"] == "sent" and item["message_id"] == "ses-message-1"
    assert item["ttl"] == int((now + timedelta(days=subscriptions.SENT_RECORD_DAYS)).timestamp())


def test_a_stale_lease_can_be_taken_over_and_the_old_holder_cannot_release_it(aws: Any) -> None:
    event_id, email = "t1:transfer.expiring", "a@school.example"
    start = clock.now()
    dead = subscriptions.claim_send(event_id, email, now=start)

    assert subscriptions.claim_send(event_id, email, now=start + timedelta(seconds=30)).outcome == "in_progress"
    later = start + subscriptions.SENDING_LEASE + timedelta(seconds=1)
    alive = subscriptions.claim_send(event_id, email, now=later)
    assert alive.outcome == "claimed" and alive.token != dead.token

    subscriptions.release_send(event_id, email, dead.token)  # the old holder wakes up and fails

    assert subscriptions.send_state(event_id, email) == "sending"
    assert subscriptions.claim_send(event_id, email, now=later).outcome == "in_progress"


def test_mark_sent_writes_the_extra_items_in_the_same_transaction(aws: Any) -> None:
    event_id, email = "t9:transfer.available", "a@school.example"
    subscriptions.claim_send(event_id, email)
    audit = transfers.audit_put("t9", "email_sent", transfers.Actor.system("notify"), clock.now_iso(), {"to": email})

    subscriptions.mark_sent(event_id, email, "m-1", also=[audit])

    assert [a["details"]["to"] for a in transfers.audit_events("t9")] == [email]
    assert subscriptions.send_state(event_id, email) == "sent"
