"""The moto fixture builds what the template declares."""

import json
from urllib.parse import unquote_plus

import boto3
import pytest

pytestmark = pytest.mark.functional


def test_resources_follow_the_template(aws):
    ddb = boto3.client("dynamodb")
    table = ddb.describe_table(TableName=aws.table)["Table"]
    assert {i["IndexName"] for i in table["GlobalSecondaryIndexes"]} == {"GSI1", "GSI2", "GSI3", "GSI4", "GSI5", "GSI6"}
    sqs = boto3.client("sqs")
    for logical in ("LandingQueue", "NotifyQueue"):
        attrs = sqs.get_queue_attributes(QueueUrl=aws.queue_urls[logical], AttributeNames=["RedrivePolicy"])
        assert "deadLetterTargetArn" in attrs["Attributes"]["RedrivePolicy"]


def test_object_created_in_incoming_reaches_the_landing_queue(aws):
    s3 = boto3.client("s3")
    s3.put_object(Bucket=aws.bucket, Key="incoming/abc/8231234_CTF_8232345_001.zip", Body=b"x")
    s3.put_object(Bucket=aws.bucket, Key="stored/abc/elsewhere.zip", Body=b"x")
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=aws.queue_urls["LandingQueue"], MaxNumberOfMessages=10)["Messages"]
    # moto, like S3, sends the key URL-encoded; there is also an s3:TestEvent with no Records.
    keys = [unquote_plus(r["s3"]["object"]["key"]) for m in messages for r in json.loads(m["Body"]).get("Records", [])]
    assert keys == ["incoming/abc/8231234_CTF_8232345_001.zip"]


def test_topic_delivers_raw_messages_to_the_notify_queue(aws):
    sns = boto3.client("sns")
    sns.publish(
        TopicArn=aws.topic_arn,
        Message='{"type": "transfer.available"}',
        MessageAttributes={"type": {"DataType": "String", "StringValue": "transfer.available"}},
    )
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=aws.queue_urls["NotifyQueue"], MessageAttributeNames=["All"])["Messages"]
    assert messages[0]["Body"] == '{"type": "transfer.available"}'
    assert messages[0]["MessageAttributes"]["type"]["StringValue"] == "transfer.available"
