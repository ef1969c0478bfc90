"""The one way the service talks to DynamoDB: one codec, queries on boto3's paginator, and small
helpers for GetItem, PutItem, UpdateItem, DeleteItem, BatchGetItem and TransactWriteItems.

The repositories (`s2s.adapters.transfers`, `organisations`, `reports`, `subscriptions`, ...) build
their requests from these; nothing else in the service imports the DynamoDB client.

- The codec is boto3's `TypeSerializer` / `TypeDeserializer`. Every number the service stores is
  a whole number, so a number read back is an `int` (a fraction stays a `Decimal`); a `float`
  given to `encode` is written as the `Decimal` of its shortest repr. Strings, booleans and
  integers, nearly every attribute on the hot path, are encoded by hand to the very same
  attribute values (`tests/unit/test_dynamo.py` proves them equal), since the serializer costs a
  tenth of a warm request there.
- `query` yields every item of a key condition, page after page; `query_pages` yields the pages
  themselves with the key each one stopped at, and `query_page` gives one page of at most `limit`
  items from an `ExclusiveStartKey`: what the API's cursors carry (signed in `s2s.adapters.cursors`).
- Failures come back as this module's exceptions, never botocore's: `ConditionFailed` (with the
  item as it was, when asked for) and `TransactionCancelled` (with DynamoDB's reason per item).
  Any other error is raised as it is; it is a 500 and the queues retry it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from s2s.adapters.aws import dynamodb
from s2s.runtime.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

AttributeValue = dict[str, Any]
RawItem = dict[str, AttributeValue]

# BatchGetItem may leave keys unprocessed under load; a few quick rounds, then a clear failure.
BATCH_ROUNDS = 5


class ConditionFailed(Exception):
    """A conditional write was refused. `old` is the item as it was, decoded, when the request
    asked for it (`return_old=True`) and there was one; else None."""

    def __init__(self, old: dict[str, Any] | None = None) -> None:
        super().__init__("the condition of the write was not met")
        self.old = old


class TransactionCancelled(Exception):
    """A TransactWriteItems was cancelled. `reasons` holds DynamoDB's code for each item, in the
    order they were given (`None` or "None" for an item that was fine)."""

    def __init__(self, reasons: Sequence[str | None]) -> None:
        super().__init__(f"the transaction was cancelled: {list(reasons)}")
        self.reasons = list(reasons)

    def failed(self, index: int) -> bool:
        """Whether the item at `index` is the one whose condition refused the transaction."""
        return index < len(self.reasons) and self.reasons[index] == "ConditionalCheckFailed"

    def failed_after(self, index: int) -> bool:
        """Whether any item from `index` on refused it on its condition."""
        return any(code == "ConditionalCheckFailed" for code in self.reasons[index:])


def table() -> str:
    return get_settings().table_name


# ---------------------------------------------------------------------------- the codec


def _serializer() -> Any:
    from boto3.dynamodb.types import TypeSerializer

    return TypeSerializer()


def _deserializer() -> Any:
    from boto3.dynamodb.types import TypeDeserializer

    return TypeDeserializer()


def encode(value: Any) -> AttributeValue:
    """One Python value as a DynamoDB attribute value (what `TypeSerializer` gives)."""
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, float):
        value = Decimal(repr(value))
    return dict(_serializer().serialize(value))


def _whole(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, list):
        return [_whole(v) for v in value]
    if isinstance(value, dict):
        return {k: _whole(v) for k, v in value.items()}
    if isinstance(value, set):
        return {_whole(v) for v in value}
    return value


def decode(value: AttributeValue) -> Any:
    """One attribute value as Python (numbers that are whole as `int`)."""
    return _whole(_deserializer().deserialize(value))


def to_item(data: Mapping[str, Any]) -> RawItem:
    """A whole item: attributes that are None are left out (DynamoDB has no use for them)."""
    return {k: encode(v) for k, v in data.items() if v is not None}


def from_item(raw: Mapping[str, Any]) -> dict[str, Any]:
    de = _deserializer()
    return {k: _whole(de.deserialize(v)) for k, v in raw.items()}


def encode_values(data: Mapping[str, Any]) -> RawItem:
    """`ExpressionAttributeValues` from plain values: `encode_values({":s": "available", ":v": 3})`."""
    return {k: encode(v) for k, v in data.items()}


def key(pk: str, sk: str) -> RawItem:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def start_key(item: Mapping[str, Any], index: str | None = None) -> RawItem:
    """The `ExclusiveStartKey` that continues a query just after `item` (a decoded item): the
    table's key, and the index's key too for a query on an index."""
    names = ["PK", "SK"] + ([f"{index}PK", f"{index}SK"] if index else [])
    return {name: encode(item[name]) for name in names}


# ---------------------------------------------------------------------------- queries


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a query: its items (decoded) and the key it stopped at (None on the last)."""

    items: list[dict[str, Any]]
    last_key: dict[str, Any] | None


def _query_params(
    key_condition: str,
    values: Mapping[str, Any],
    *,
    index: str | None,
    names: Mapping[str, str] | None,
    newest_first: bool,
    projection: str | None,
    consistent: bool,
    limit: int | None,
    start: Mapping[str, Any] | None,
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "TableName": table(),
        "KeyConditionExpression": key_condition,
        "ExpressionAttributeValues": encode_values(values),
        "ScanIndexForward": not newest_first,
    }
    if index:
        params["IndexName"] = index
    if names:
        params["ExpressionAttributeNames"] = dict(names)
    if projection:
        params["ProjectionExpression"] = projection
    if consistent:
        params["ConsistentRead"] = True
    if limit is not None:
        params["Limit"] = limit
    if start:
        params["ExclusiveStartKey"] = dict(start)
    return params


def query_pages(
    key_condition: str,
    values: Mapping[str, Any],
    *,
    index: str | None = None,
    names: Mapping[str, str] | None = None,
    newest_first: bool = False,
    projection: str | None = None,
    consistent: bool = False,
    page_size: int | None = None,
    start: Mapping[str, Any] | None = None,
) -> Iterator[Page]:
    """Every page of a query, read lazily from the paginator (the next page is fetched only when
    the caller asks for it). `page_size` is DynamoDB's `Limit` per request; `start` an
    `ExclusiveStartKey` to continue from."""
    params = _query_params(
        key_condition,
        values,
        index=index,
        names=names,
        newest_first=newest_first,
        projection=projection,
        consistent=consistent,
        limit=page_size,
        start=start,
    )
    for page in dynamodb().get_paginator("query").paginate(**params):
        yield Page([from_item(raw) for raw in page.get("Items", [])], page.get("LastEvaluatedKey"))


def query(
    key_condition: str,
    values: Mapping[str, Any],
    *,
    index: str | None = None,
    names: Mapping[str, str] | None = None,
    newest_first: bool = False,
    projection: str | None = None,
    consistent: bool = False,
    page_size: int | None = None,
    start: Mapping[str, Any] | None = None,
) -> Iterator[dict[str, Any]]:
    """Every item of a query (decoded), across as many pages as it takes, lazily."""
    for page in query_pages(
        key_condition,
        values,
        index=index,
        names=names,
        newest_first=newest_first,
        projection=projection,
        consistent=consistent,
        page_size=page_size,
        start=start,
    ):
        yield from page.items


def query_page(
    key_condition: str,
    values: Mapping[str, Any],
    *,
    limit: int,
    start: Mapping[str, Any] | None = None,
    index: str | None = None,
    names: Mapping[str, str] | None = None,
    newest_first: bool = False,
    projection: str | None = None,
) -> Page:
    """One request: at most `limit` items from `start`, and where the next page begins."""
    return next(
        query_pages(
            key_condition,
            values,
            index=index,
            names=names,
            newest_first=newest_first,
            projection=projection,
            page_size=limit,
            start=start,
        )
    )


# ---------------------------------------------------------------------------- single items


def get(
    item_key: RawItem,
    *,
    consistent: bool = True,
    projection: str | None = None,
    names: Mapping[str, str] | None = None,
) -> dict[str, Any] | None:
    """The item at `item_key` (decoded), or None."""
    params: dict[str, Any] = {"TableName": table(), "Key": item_key, "ConsistentRead": consistent}
    if projection:
        params["ProjectionExpression"] = projection
    if names:
        params["ExpressionAttributeNames"] = dict(names)
    raw = dynamodb().get_item(**params).get("Item")
    return from_item(raw) if raw else None


def _write_params(
    condition: str | None, names: Mapping[str, str] | None, values: Mapping[str, Any] | None
) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if condition:
        params["ConditionExpression"] = condition
    if names:
        params["ExpressionAttributeNames"] = dict(names)
    if values:
        params["ExpressionAttributeValues"] = encode_values(values)
    return params


def _condition_failed(call: Any, params: dict[str, Any]) -> Any:
    client = dynamodb()
    try:
        return call(**params)
    except client.exceptions.ConditionalCheckFailedException as exc:
        response: dict[str, Any] = dict(exc.response)
        old = response.get("Item")
        raise ConditionFailed(from_item(old) if old else None) from exc


def put(
    data: Mapping[str, Any],
    *,
    condition: str | None = None,
    names: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
    return_old: bool = False,
) -> None:
    """PutItem of a plain item; raises ConditionFailed (with the old item if `return_old`)."""
    params = {"TableName": table(), "Item": to_item(data), **_write_params(condition, names, values)}
    if return_old:
        params["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    _condition_failed(dynamodb().put_item, params)


def update(
    item_key: RawItem,
    expression: str,
    *,
    condition: str | None = None,
    names: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
) -> None:
    """UpdateItem; raises ConditionFailed."""
    params = {
        "TableName": table(),
        "Key": item_key,
        "UpdateExpression": expression,
        **_write_params(condition, names, values),
    }
    _condition_failed(dynamodb().update_item, params)


def delete(item_key: RawItem, *, condition: str | None = None) -> None:
    """DeleteItem; raises ConditionFailed."""
    _condition_failed(
        dynamodb().delete_item, {"TableName": table(), "Key": item_key, **_write_params(condition, None, None)}
    )


# ---------------------------------------------------------------------------- transactions


def _op(kind: str, body: dict[str, Any]) -> TransactWriteItemTypeDef:
    return cast("TransactWriteItemTypeDef", {kind: body})


def put_op(
    data: Mapping[str, Any],
    *,
    condition: str | None = None,
    names: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
) -> TransactWriteItemTypeDef:
    """A Put for `transact`."""
    return _op("Put", {"TableName": table(), "Item": to_item(data), **_write_params(condition, names, values)})


def update_op(
    item_key: RawItem,
    expression: str,
    *,
    condition: str | None = None,
    names: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
) -> TransactWriteItemTypeDef:
    """An Update for `transact`."""
    body = {"TableName": table(), "Key": item_key, "UpdateExpression": expression}
    return _op("Update", {**body, **_write_params(condition, names, values)})


def delete_op(item_key: RawItem, *, condition: str | None = None) -> TransactWriteItemTypeDef:
    """A Delete for `transact`."""
    return _op("Delete", {"TableName": table(), "Key": item_key, **_write_params(condition, None, None)})


def check_op(
    item_key: RawItem,
    condition: str,
    *,
    names: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
) -> TransactWriteItemTypeDef:
    """A ConditionCheck for `transact`."""
    return _op("ConditionCheck", {"TableName": table(), "Key": item_key, **_write_params(condition, names, values)})


def transact(items: Sequence[TransactWriteItemTypeDef]) -> None:
    """One TransactWriteItems: all of `items` or none. Raises TransactionCancelled."""
    client = dynamodb()
    try:
        client.transact_write_items(TransactItems=list(items))
    except client.exceptions.TransactionCanceledException as exc:
        response: dict[str, Any] = dict(exc.response)
        reasons = [r.get("Code") for r in response.get("CancellationReasons", [])]
        raise TransactionCancelled(reasons) from exc


def batch_get(
    keys: Sequence[RawItem], *, projection: str, names: Mapping[str, str] | None = None, consistent: bool = False
) -> list[dict[str, Any]]:
    """The items at these keys (at most 100, decoded) in one BatchGetItem, retrying what DynamoDB
    leaves unprocessed."""
    if not keys:
        return []
    request: dict[str, Any] = {
        table(): {
            "Keys": list(keys),
            "ConsistentRead": consistent,
            "ProjectionExpression": projection,
            **({"ExpressionAttributeNames": dict(names)} if names else {}),
        }
    }
    items: list[dict[str, Any]] = []
    for _ in range(BATCH_ROUNDS):
        resp = dynamodb().batch_get_item(RequestItems=request)
        items.extend(from_item(raw) for raw in resp.get("Responses", {}).get(table(), []))
        request = dict(resp.get("UnprocessedKeys") or {})
        if not request:
            return items
    raise RuntimeError("DynamoDB left keys unprocessed after several rounds")


# At most this many items per BatchWriteItem (DynamoDB's limit).
BATCH_WRITE_ITEMS = 25


def batch_put(items: Sequence[RawItem]) -> int:
    """Put up to 25 encoded items in one BatchWriteItem, retrying what DynamoDB leaves unprocessed
    with a short backoff; how many requests it took."""
    import time

    requests: list[Any] = [{"PutRequest": {"Item": item}} for item in items]
    pause, sent = 0.05, 0
    for _ in range(BATCH_ROUNDS * 2):
        if not requests:
            return sent
        sent += 1
        resp = dynamodb().batch_write_item(RequestItems={table(): requests})
        requests = list((resp.get("UnprocessedItems") or {}).get(table(), []))
        if requests:
            time.sleep(pause)
            pause = min(pause * 2, 2.0)
    if requests:
        raise RuntimeError("DynamoDB left items unprocessed after several rounds")
    return sent
