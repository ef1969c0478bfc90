"""s2s.adapters.dynamo: the one codec and the paginator-based queries. No moto: a botocore
Stubber checks the exact requests (Limit, ExclusiveStartKey, the pages followed) and answers them."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer
from botocore.stub import Stubber
from hypothesis import given
from hypothesis import strategies as st
from s2s.adapters import dynamo

pytestmark = pytest.mark.unit

TABLE = "s2s-test"


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    monkeypatch.setattr(dynamo, "table", lambda: TABLE)
    client = boto3.client("dynamodb", region_name="eu-west-2")
    monkeypatch.setattr(dynamo, "dynamodb", lambda: client)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


# ---------------------------------------------------------------------------- the codec


scalars = st.one_of(st.text(max_size=20), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30))


@given(value=scalars)
def test_the_hand_encoded_scalars_are_exactly_what_the_type_serializer_gives(value: Any) -> None:
    assert dynamo.encode(value) == TypeSerializer().serialize(value)


@given(
    value=st.recursive(
        scalars | st.none() | st.binary(max_size=8),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
        max_leaves=10,
    )
)
def test_every_value_round_trips_with_whole_numbers_as_int(value: Any) -> None:
    back = dynamo.decode(dynamo.encode(value))
    assert back == value
    assert "Decimal" not in repr(back)


def test_fractions_stay_decimal_and_floats_are_stored_as_their_decimal() -> None:
    assert dynamo.decode({"N": "1.5"}) == Decimal("1.5")
    assert dynamo.encode(0.1) == {"N": "0.1"}
    assert dynamo.decode({"N": "10"}) == 10 and isinstance(dynamo.decode({"N": "10"}), int)
    assert dynamo.decode({"NS": ["1", "2.5"]}) == {1, Decimal("2.5")}


def test_an_item_leaves_out_none_and_reads_back_as_plain_values() -> None:
    raw = dynamo.to_item({"PK": "T#1", "size_bytes": 22, "expiring_notified": False, "upn": None})
    assert raw == {"PK": {"S": "T#1"}, "size_bytes": {"N": "22"}, "expiring_notified": {"BOOL": False}}
    assert dynamo.from_item(raw) == {"PK": "T#1", "size_bytes": 22, "expiring_notified": False}


def test_the_start_key_of_an_index_query_carries_both_keys() -> None:
    item = {"PK": "T#1", "SK": "META", "GSI1PK": "TO#8231234", "GSI1SK": "2026#1", "filename": "x"}
    assert dynamo.start_key(item, "GSI1") == {
        "PK": {"S": "T#1"},
        "SK": {"S": "META"},
        "GSI1PK": {"S": "TO#8231234"},
        "GSI1SK": {"S": "2026#1"},
    }
    assert dynamo.start_key(item) == dynamo.key("T#1", "META")


# ---------------------------------------------------------------------------- queries


def _query_request(**extra: Any) -> dict[str, Any]:
    return {
        "TableName": TABLE,
        "KeyConditionExpression": "PK = :pk",
        "ExpressionAttributeValues": {":pk": {"S": "ORG#1"}},
        "ScanIndexForward": True,
        **extra,
    }


def test_query_follows_every_page_through_the_paginator(stub: Stubber) -> None:
    first_stop = dynamo.key("ORG#1", "SUB#b")
    stub.add_response(
        "query",
        {"Items": [{"n": {"N": "1"}}, {"n": {"N": "2"}}], "LastEvaluatedKey": first_stop},
        _query_request(Limit=2),
    )
    stub.add_response("query", {"Items": [{"n": {"N": "3"}}]}, _query_request(Limit=2, ExclusiveStartKey=first_stop))
    items = list(dynamo.query("PK = :pk", {":pk": "ORG#1"}, page_size=2))
    assert [i["n"] for i in items] == [1, 2, 3]


def test_query_pages_are_read_lazily(stub: Stubber) -> None:
    stop = dynamo.key("ORG#1", "SUB#a")
    stub.add_response("query", {"Items": [{"n": {"N": "1"}}], "LastEvaluatedKey": stop}, _query_request(Limit=1))
    pages = dynamo.query_pages("PK = :pk", {":pk": "ORG#1"}, page_size=1)
    first = next(pages)
    assert first == dynamo.Page([{"n": 1}], stop)  # the second page was never asked for


def test_one_page_starts_from_a_cursor_key_and_says_where_the_next_begins(stub: Stubber) -> None:
    start = {"PK": {"S": "T#1"}, "SK": {"S": "META"}, "GSI2PK": {"S": "FROM#1"}, "GSI2SK": {"S": "b"}}
    stop = {"PK": {"S": "T#2"}, "SK": {"S": "META"}, "GSI2PK": {"S": "FROM#1"}, "GSI2SK": {"S": "a"}}
    stub.add_response(
        "query",
        {"Items": [{"PK": {"S": "T#2"}}], "LastEvaluatedKey": stop},
        {
            "TableName": TABLE,
            "IndexName": "GSI2",
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": "GSI2PK"},
            "ExpressionAttributeValues": {":pk": {"S": "FROM#1"}},
            "ScanIndexForward": False,
            "Limit": 1,
            "ExclusiveStartKey": start,
        },
    )
    page = dynamo.query_page(
        "#pk = :pk", {":pk": "FROM#1"}, index="GSI2", names={"#pk": "GSI2PK"}, newest_first=True, limit=1, start=start
    )
    assert page.items == [{"PK": "T#2"}] and page.last_key == stop


def test_the_last_page_has_no_next_key(stub: Stubber) -> None:
    stub.add_response("query", {"Items": []}, _query_request(Limit=5))
    assert dynamo.query_page("PK = :pk", {":pk": "ORG#1"}, limit=5) == dynamo.Page([], None)


# ---------------------------------------------------------------------------- writes and their failures


def test_a_refused_condition_is_our_exception_with_the_old_item(stub: Stubber) -> None:
    stub.add_client_error(
        "put_item",
        service_error_code="ConditionalCheckFailedException",
        http_status_code=400,
        modeled_fields={"Item": {"state": {"S": "sent"}}},
    )
    with pytest.raises(dynamo.ConditionFailed) as caught:
        dynamo.put({"PK": "SENT#1", "SK": "a@b"}, condition="attribute_not_exists(PK)", return_old=True)
    assert caught.value.old == {"state": "sent"}
    assert not any(type(c).__module__.startswith("botocore") for c in type(caught.value).__mro__)


def test_update_sends_encoded_values(stub: Stubber) -> None:
    stub.add_response(
        "update_item",
        {},
        {
            "TableName": TABLE,
            "Key": dynamo.key("SWEEP", "STATE"),
            "UpdateExpression": "SET #d = :d",
            "ExpressionAttributeNames": {"#d": "day"},
            "ExpressionAttributeValues": {":d": {"S": "2026-12-03"}},
        },
    )
    dynamo.update(dynamo.key("SWEEP", "STATE"), "SET #d = :d", names={"#d": "day"}, values={":d": "2026-12-03"})


def test_a_cancelled_transaction_names_the_item_that_refused_it(stub: Stubber) -> None:
    stub.add_client_error(
        "transact_write_items",
        service_error_code="TransactionCanceledException",
        http_status_code=400,
        modeled_fields={"CancellationReasons": [{"Code": "None"}, {"Code": "ConditionalCheckFailed"}]},
    )
    ops = [
        dynamo.put_op({"PK": "a", "SK": "b"}),
        dynamo.update_op(dynamo.key("c", "d"), "ADD n :one", values={":one": 1}),
    ]
    with pytest.raises(dynamo.TransactionCancelled) as caught:
        dynamo.transact(ops)
    assert caught.value.reasons == ["None", "ConditionalCheckFailed"]
    assert caught.value.failed(1) and not caught.value.failed(0) and caught.value.failed_after(1)


def test_batch_get_retries_what_dynamodb_left_unprocessed(stub: Stubber) -> None:
    keys = [dynamo.key("ORG#1", "PROFILE"), dynamo.key("ORG#2", "PROFILE")]
    request = {
        "Keys": keys,
        "ConsistentRead": False,
        "ProjectionExpression": "PK, #n",
        "ExpressionAttributeNames": {"#n": "name"},
    }
    left = {**request, "Keys": keys[1:]}
    stub.add_response(
        "batch_get_item",
        {"Responses": {TABLE: [{"PK": {"S": "ORG#1"}, "name": {"S": "One"}}]}, "UnprocessedKeys": {TABLE: left}},
        {"RequestItems": {TABLE: request}},
    )
    stub.add_response(
        "batch_get_item",
        {"Responses": {TABLE: [{"PK": {"S": "ORG#2"}, "name": {"S": "Two"}}]}},
        {"RequestItems": {TABLE: left}},
    )
    got = dynamo.batch_get(keys, projection="PK, #n", names={"#n": "name"})
    assert got == [{"PK": "ORG#1", "name": "One"}, {"PK": "ORG#2", "name": "Two"}]
