"""What the hardening tests look at: everything a request left behind (transfer records, audit
items, S3 objects, queued messages), so a test can prove that a refusal stored nothing."""

from __future__ import annotations

from typing import Any

import boto3

SENDER = "8231234"
RECIPIENT = "8232345"
GOOD_NAME = f"{SENDER}_CTF_{RECIPIENT}_001.zip"


def table_items(aws: Any) -> list[dict[str, Any]]:
    """Every item in the table (the test tables are tiny)."""
    ddb = boto3.client("dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": aws.table}
    while True:
        resp = ddb.scan(**kwargs)
        items.extend(resp.get("Items", []))
        if "LastEvaluatedKey" not in resp:
            return items
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def transfer_items(aws: Any) -> list[dict[str, Any]]:
    return [i for i in table_items(aws) if i["PK"]["S"].startswith("T#")]


def outbox_of(aws: Any, org: str) -> list[dict[str, Any]]:
    """What the sender's outbox index (GSI2 FROM#<org>) holds."""
    resp = boto3.client("dynamodb").query(
        TableName=aws.table,
        IndexName="GSI2",
        KeyConditionExpression="GSI2PK = :pk",
        ExpressionAttributeValues={":pk": {"S": f"FROM#{org}"}},
    )
    return list(resp.get("Items", []))


def bucket_keys(aws: Any, prefix: str = "") -> list[str]:
    s3 = boto3.client("s3")
    resp = s3.list_objects_v2(Bucket=aws.bucket, Prefix=prefix)
    return [o["Key"] for o in resp.get("Contents", [])]


def queue_depth(aws: Any, logical: str) -> int:
    sqs = boto3.client("sqs")
    attrs = sqs.get_queue_attributes(
        QueueUrl=aws.queue_urls[logical],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def as_lambda_would(handler: Any) -> Any:
    """Invoke an SQS handler the way the Lambda event source mapping sees it: a handler that
    raises fails every message of the batch, which all become visible again."""

    def invoke(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = handler(event, context)
        except Exception:
            return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}
        return result

    return invoke


def deliver_landing(aws: Any) -> list[str]:
    """flows.drain_landing, with a wholly failed batch counted as failed messages."""
    from support.flows import drain, landing_handler

    return drain(aws.queue_urls["LandingQueue"], as_lambda_would(landing_handler()))
