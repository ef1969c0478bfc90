"""Cached boto3 clients, created on first use so that importing a handler costs nothing.

Retries use botocore's own `standard` mode. `reset_clients()` is for tests that start a new moto
backend or change the endpoint."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_ses import SESClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient


@cache
def _client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    config = client_config()
    if service == "s3":
        # Virtual-hosted addressing with SigV4 is what presigned POSTs and GETs need in every region.
        config = config.merge(Config(signature_version="s3v4", s3={"addressing_style": "auto"}))
    return boto3.client(service, config=config)  # type: ignore[call-overload]


def s3() -> S3Client:
    return _client("s3")


def dynamodb() -> DynamoDBClient:
    return _client("dynamodb")


def sns() -> SNSClient:
    return _client("sns")


def ses() -> SESClient:
    return _client("ses")


def sqs() -> SQSClient:
    return _client("sqs")


def kms() -> Any:  # no mypy_boto3_kms stubs in the dev dependencies
    return _client("kms")


def secrets() -> SecretsManagerClient:
    return _client("secretsmanager")


def sts() -> Any:
    return _client("sts")


def client_config() -> Any:
    """The retry and timeout settings every client here uses (for clients made with other credentials)."""
    from botocore.config import Config

    return Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=3, read_timeout=10)


def reset_clients() -> None:
    _client.cache_clear()
