"""Reads `template.yaml` so that tests and the local stack create exactly the resources, routes
and event sources the template declares, never a second hand-written list that can drift."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from secrets import token_urlsafe
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation's short-form tags as {"Fn::X": value}."""


def _cfn_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


@cache
def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open() as handle:
        return yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


def resource(logical_id: str, template: dict[str, Any] | None = None) -> dict[str, Any]:
    return (template or load_template())["Resources"][logical_id]


def parameter_default(name: str, template: dict[str, Any] | None = None) -> Any:
    return (template or load_template())["Parameters"][name]["Default"]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str
    code_uri: str
    handler: str
    authorized: bool


@dataclass(frozen=True)
class QueueConsumer:
    function: str
    queue: str  # logical id of the queue
    code_uri: str
    handler: str
    batch_size: int


@dataclass(frozen=True)
class Schedule:
    function: str
    code_uri: str
    handler: str
    expression: str


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}


def http_routes(template: dict[str, Any] | None = None) -> list[Route]:
    template = template or load_template()
    routes = []
    for name, fn in _functions(template).items():
        props = fn["Properties"]
        for event in props.get("Events", {}).values():
            if event["Type"] != "HttpApi":
                continue
            ev = event["Properties"]
            auth = ev.get("Auth", {}).get("Authorizer") != "NONE"
            routes.append(Route(ev["Method"].upper(), ev["Path"], name, props["CodeUri"], props["Handler"], auth))
    return routes


def queue_consumers(template: dict[str, Any] | None = None) -> list[QueueConsumer]:
    template = template or load_template()
    consumers = []
    for name, fn in _functions(template).items():
        props = fn["Properties"]
        for event in props.get("Events", {}).values():
            if event["Type"] == "SQS":
                queue = event["Properties"]["Queue"]["Fn::GetAtt"][0]
                consumers.append(
                    QueueConsumer(
                        name, queue, props["CodeUri"], props["Handler"], int(event["Properties"].get("BatchSize", 10))
                    )
                )
    return consumers


def schedules(template: dict[str, Any] | None = None) -> list[Schedule]:
    template = template or load_template()
    found = []
    for name, fn in _functions(template).items():
        props = fn["Properties"]
        for event in props.get("Events", {}).values():
            if event["Type"] in ("Schedule", "ScheduleV2"):
                found.append(
                    Schedule(name, props["CodeUri"], props["Handler"], event["Properties"]["ScheduleExpression"])
                )
    return found


@dataclass
class LocalResources:
    """Names of what `create_resources` made, and the environment the handlers read."""

    table: str = "s2s-transfers"
    bucket: str = "s2s-files"
    topic_name: str = "s2s-TransferEvents"
    topic_arn: str = ""
    queue_urls: dict[str, str] = field(default_factory=dict)  # logical id -> url
    cursor_secret_arn: str = ""
    # The role the ULN function assumes per organisation, and where registrations are kept, as the
    # template names them for a stack called s2s in moto's account (tests/template checks this).
    lrs_org_role_arn: str = "arn:aws:iam::123456789012:role/s2s-lrs-org-access"
    lrs_secret_prefix: str = "s2s/lrs/"  # noqa: S105 - a name, not a password
    message_key_id: str = ""  # the FilesKey moto made, which message bodies are encrypted under

    def environment(self) -> dict[str, str]:
        env = {
            "TABLE_NAME": self.table,
            "BUCKET_NAME": self.bucket,
            "TOPIC_ARN": self.topic_arn,
            "LRS_ORG_ROLE_ARN": self.lrs_org_role_arn,
            "LRS_SECRET_PREFIX": self.lrs_secret_prefix,
        }
        if self.cursor_secret_arn:
            env["CURSOR_SECRET_ARN"] = self.cursor_secret_arn
        if "UlnBatchQueue" in self.queue_urls:
            env["ULN_BATCH_QUEUE_URL"] = self.queue_urls["UlnBatchQueue"]
        if self.message_key_id:
            env["MESSAGE_KEY_ID"] = self.message_key_id
        return env


def _table_properties(props: dict[str, Any]) -> dict[str, Any]:
    return {
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "GlobalSecondaryIndexes": props["GlobalSecondaryIndexes"],
        "BillingMode": props["BillingMode"],
    }


def create_resources(
    *,
    dynamodb: DynamoDBClient,
    s3: S3Client,
    sns: SNSClient,
    sqs: SQSClient,
    secrets: SecretsManagerClient,
    names: LocalResources | None = None,
    template: dict[str, Any] | None = None,
    kms: Any = None,
) -> LocalResources:
    """Create the table, bucket, queues (with their redrive), topic, subscriptions and the
    S3 notification from the template's own properties."""
    template = template or load_template()
    names = names or LocalResources()
    res = template["Resources"]

    table = res["TransfersTable"]["Properties"]
    dynamodb.create_table(TableName=names.table, **_table_properties(table))
    ttl = table.get("TimeToLiveSpecification")
    if ttl:
        dynamodb.update_time_to_live(TableName=names.table, TimeToLiveSpecification=ttl)

    region = s3.meta.region_name
    if region == "us-east-1":
        s3.create_bucket(Bucket=names.bucket)
    else:
        s3.create_bucket(Bucket=names.bucket, CreateBucketConfiguration={"LocationConstraint": region})  # type: ignore[typeddict-item]
    bucket = res["FilesBucket"]["Properties"]
    pab = bucket["PublicAccessBlockConfiguration"]
    s3.put_public_access_block(Bucket=names.bucket, PublicAccessBlockConfiguration=pab)
    cors = bucket["CorsConfiguration"]["CorsRules"]
    s3.put_bucket_cors(
        Bucket=names.bucket,
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedOrigins": ["*"],
                    "AllowedMethods": r["AllowedMethods"],
                    "AllowedHeaders": r["AllowedHeaders"],
                    "MaxAgeSeconds": r["MaxAge"],
                }
                for r in cors
            ]
        },
    )

    # Queues: dead-letter queues first, then the queues that redrive into them.
    queue_arns: dict[str, str] = {}
    queues = {k: v for k, v in res.items() if v["Type"] == "AWS::SQS::Queue"}
    ordered = sorted(queues, key=lambda k: "RedrivePolicy" in queues[k].get("Properties", {}))
    for logical in ordered:
        props = queues[logical].get("Properties", {})
        attributes = {"VisibilityTimeout": str(props.get("VisibilityTimeout", 30))}
        redrive = props.get("RedrivePolicy")
        if redrive:
            dlq = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": queue_arns[dlq], "maxReceiveCount": str(redrive["maxReceiveCount"])}
            )
        url = sqs.create_queue(QueueName=f"s2s-{logical}", Attributes=attributes)["QueueUrl"]  # type: ignore[arg-type]
        names.queue_urls[logical] = url
        queue_arns[logical] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]

    notifications = bucket["NotificationConfiguration"]["QueueConfigurations"]
    s3.put_bucket_notification_configuration(
        Bucket=names.bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": queue_arns[n["Queue"]["Fn::GetAtt"][0]],
                    "Events": [n["Event"]],
                    "Filter": {"Key": {"FilterRules": n["Filter"]["S3Key"]["Rules"]}},
                }
                for n in notifications
            ]
        },
    )

    names.topic_arn = sns.create_topic(Name=names.topic_name)["TopicArn"]
    for sub in (v for v in res.values() if v["Type"] == "AWS::SNS::Subscription"):
        props = sub["Properties"]
        sns.subscribe(
            TopicArn=names.topic_arn,
            Protocol=props["Protocol"],
            Endpoint=queue_arns[props["Endpoint"]["Fn::GetAtt"][0]],
            Attributes={"RawMessageDelivery": str(props.get("RawMessageDelivery", False)).lower()},
        )

    if "CursorKey" in res:
        # A fresh key each time, as GenerateSecretString makes one at deploy.
        length = int(res["CursorKey"]["Properties"]["GenerateSecretString"].get("PasswordLength", 64))
        names.cursor_secret_arn = secrets.create_secret(
            Name="s2s-cursor-key", SecretString=token_urlsafe(length)[:length]
        )["ARN"]
    if kms is not None and "FilesKey" in res:
        from s2s_cli.local.calls import LOCAL_KEYS

        key_id = kms.create_key(Description=res["FilesKey"]["Properties"].get("Description", ""))["KeyMetadata"][
            "KeyId"
        ]
        LOCAL_KEYS[key_id] = "FilesKey"
        names.message_key_id = key_id
    return names
