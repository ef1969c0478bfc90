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


def _everything(region: str) -> dict[str, object]:
    """What a test can see of moto's state, resource by resource and item by item."""
    ddb, s3, sqs = boto3.client("dynamodb", region), boto3.client("s3", region), boto3.client("sqs", region)
    sns, sm, kms = boto3.client("sns", region), boto3.client("secretsmanager", region), boto3.client("kms", region)
    ses = boto3.client("ses", region)
    tables = ddb.list_tables()["TableNames"]
    buckets = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    queues = sqs.list_queues().get("QueueUrls", [])
    return {
        "tables": {t: ddb.describe_table(TableName=t)["Table"]["ItemCount"] for t in tables},
        "items": {t: ddb.scan(TableName=t)["Items"] for t in tables},
        "objects": {b: [o["Key"] for o in s3.list_objects_v2(Bucket=b).get("Contents", [])] for b in buckets},
        "notifications": {
            b: s3.get_bucket_notification_configuration(Bucket=b).get("QueueConfigurations") for b in buckets
        },
        "queues": {
            q: sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["ApproximateNumberOfMessages", "RedrivePolicy"])[
                "Attributes"
            ]
            for q in queues
        },
        "topics": [t["TopicArn"] for t in sns.list_topics()["Topics"]],
        "subscriptions": sorted(s["Endpoint"] for s in sns.list_subscriptions()["Subscriptions"]),
        "secrets": sorted(s["Name"] for s in sm.list_secrets()["SecretList"]),
        "keys": sorted(k["KeyId"] for k in kms.list_keys()["Keys"]),
        "identities": ses.list_identities()["Identities"],
        "sent": ses.get_send_quota()["SentLast24Hours"],
    }


def test_each_test_starts_from_the_same_resources_and_sees_nothing_an_earlier_test_wrote():
    """The `aws` fixture copies one set of resources into every test's moto (support/moto_baseline.py):
    a restored set must equal what creating them gives, and what a test writes, in any service,
    must be gone for the next."""
    from moto import mock_aws
    from support.moto_baseline import Baseline, create_all

    region, sender = "eu-west-2", "no-reply@s2s.test"
    baseline = Baseline()
    with mock_aws():
        names = create_all(region, sender)
        created = _everything(region)
        baseline.save(names)
        # A test's writes, in every service the fixture sets up.
        boto3.client("dynamodb", region).put_item(TableName=names.table, Item={"PK": {"S": "X"}, "SK": {"S": "Y"}})
        boto3.client("s3", region).put_object(Bucket=names.bucket, Key="stored/x/file.zip", Body=b"x")
        boto3.client("s3", region).create_bucket(
            Bucket="another-bucket", CreateBucketConfiguration={"LocationConstraint": region}
        )
        boto3.client("sqs", region).send_message(QueueUrl=names.queue_urls["NotifyQueue"], MessageBody="{}")
        boto3.client("secretsmanager", region).create_secret(Name="s2s/lrs/8231234", SecretString="{}")
        boto3.client("kms", region).create_key(Description="another")
        boto3.client("ses", region).send_email(
            Source=sender,
            Destination={"ToAddresses": ["office@school.example"]},
            Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}},
        )
        assert _everything(region) != created
    with mock_aws():
        restored = baseline.restore()
        assert restored == names and restored is not names
        assert _everything(region) == created
        # The copy works like the original: S3 notifies the landing queue, SNS delivers to SQS.
        boto3.client("s3", region).put_object(Bucket=restored.bucket, Key="incoming/a/b.zip", Body=b"x")
        boto3.client("sns", region).publish(TopicArn=restored.topic_arn, Message="{}")
        after = _everything(region)["queues"]
        assert isinstance(after, dict)
        assert int(after[restored.queue_urls["LandingQueue"]]["ApproximateNumberOfMessages"]) == 2  # + the test event
        assert int(after[restored.queue_urls["NotifyQueue"]]["ApproximateNumberOfMessages"]) == 1
    with mock_aws():
        baseline.restore()
        assert _everything(region) == created  # the writes to the last copy did not reach the saved state
