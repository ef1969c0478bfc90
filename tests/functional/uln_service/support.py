"""Helpers for the ULN service tests: call the handler as a school, read the audit trail."""

from __future__ import annotations

import os
from typing import Any

import boto3
import uln_api
from support.helpers import Reply, call, school_claims

SCHOOL = "8231234"


def uln_call(method: str, path: str, *, claims: dict[str, Any] | None = None, **kwargs: Any) -> Reply:
    return call(uln_api.lambda_handler, method, path, claims=claims or school_claims(SCHOOL), **kwargs)


def audit_items(org: str = SCHOOL) -> list[dict[str, Any]]:
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    return table.query(KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": f"ULNAUDIT#{org}"})["Items"]
