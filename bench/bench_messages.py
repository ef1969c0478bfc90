"""Secure messages, warm, in-process against moto: the median time of a handler call against the
median time of the AWS calls the same route cannot avoid, made directly with boto3 (the message's
GetItem and Query and the body's KMS Decrypt for a read; KMS Encrypt, the TransactWriteItems of
the message and its quota, and the SNS Publish for a send). The ratio is what routing,
validation, the rules, the receipts and serialisation add. Information only: there is no target."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
from moto import mock_aws
from s2s.adapters import aws as s2s_aws
from s2s.runtime.settings import get_settings
from s2s_cli.local.template import create_resources

from bench.bench_warm import ENV, REGION, _caller, _environment, _handler, _quiet_logs
from bench.common import Row, format_seconds, median_time, school_claims

CALLS = 40
A, B = "8234001", "8234002"
BODY = "The password is tangerine-walrus-42. " * 20  # about 740 characters: one KMS part


def _rows(clients: dict[str, Any], names: Any) -> list[Row]:
    handler = _handler("notify", "messages_api")
    _quiet_logs()
    settings = get_settings()
    table, key_id, dynamodb, kms, sns = (
        settings.table_name,
        settings.message_key_id,
        clients["dynamodb"],
        clients["kms"],
        clients["sns"],
    )
    send = _caller(
        handler, "POST", "/messages", 201, claims=school_claims(A), body={"to": B, "subject": "s", "body": BODY}
    )
    first = json.loads(send()["body"])
    read = _caller(
        handler, "GET", "/messages/{id}", 200, claims=school_claims(B), path_params={"id": first["message_id"]}
    )
    read()  # the first read records the receipt; what follows are the reads after it
    context = {"s2s:purpose": "message-body", "s2s:message": "m", "s2s:from": A, "s2s:to": B, "s2s:part": "1/1"}
    blob = kms.encrypt(KeyId=key_id, Plaintext=BODY.encode(), EncryptionContext=context)["CiphertextBlob"]
    message_key = {"PK": {"S": f"MSG#{first['message_id']}"}, "SK": {"S": "MSG"}}

    def bare_read() -> None:
        dynamodb.get_item(TableName=table, Key=message_key, ConsistentRead=True)
        dynamodb.query(
            TableName=table,
            IndexName="GSI3",
            KeyConditionExpression="GSI3PK = :pk",
            ExpressionAttributeValues={":pk": {"S": f"MSGTHREAD#{first['message_id']}"}},
        )
        kms.decrypt(KeyId=key_id, CiphertextBlob=blob, EncryptionContext=context)

    def bare_send() -> None:
        new = uuid.uuid4().hex
        ciphertext = kms.encrypt(KeyId=key_id, Plaintext=BODY.encode(), EncryptionContext=context)["CiphertextBlob"]
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": table,
                        "Item": {
                            "PK": {"S": f"MSG#{new}"},
                            "SK": {"S": "MSG"},
                            "subject": {"S": "s"},
                            "body_parts": {"L": [{"B": ciphertext}]},
                            "GSI1PK": {"S": f"MSGTO#{B}"},
                            "GSI1SK": {"S": new},
                        },
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"PK": {"S": f"QUOTA#{A}"}, "SK": {"S": "D#2026-12-03"}},
                        "UpdateExpression": "ADD messages :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
            ]
        )
        sns.publish(TopicArn=names.topic_arn, Message=json.dumps({"type": "message.received", "message_id": new}))

    rows = []
    for name, ours, bare in (("GET /messages/{id}", read, bare_read), ("POST /messages", send, bare_send)):
        ours(), bare()
        ours_time, bare_time = median_time(ours, CALLS), median_time(bare, CALLS)
        rows.append(
            Row(
                f"warm {name} (handler vs its bare SDK calls)",
                format_seconds(ours_time),
                format_seconds(bare_time),
                ours_time / bare_time,
                "info",
                None,
            )
        )
    return rows


def run() -> list[Row]:
    with _environment({**ENV, "DAILY_MESSAGE_COUNT": "1000000"}), mock_aws():
        clients = {name: boto3.client(name, region_name=REGION) for name in ("dynamodb", "s3", "sns", "sqs", "kms")}
        names = create_resources(
            dynamodb=clients["dynamodb"],
            s3=clients["s3"],
            sns=clients["sns"],
            sqs=clients["sqs"],
            secrets=boto3.client("secretsmanager", region_name=REGION),
            kms=clients["kms"],
        )
        with _environment(names.environment()):
            s2s_aws.reset_clients()
            get_settings.cache_clear()
            try:
                return _rows(clients, names)
            finally:
                s2s_aws.reset_clients()
                get_settings.cache_clear()
