"""The audit trail of calls to the Learning Records Service: one DynamoDB item per call.

Items sit under `PK = ULNAUDIT#<org>` with a sort key that orders them by time, so an
organisation's LRS activity reads back with one query. They hold who asked for what and what the
LRS said, never the learner's name, date of birth or postcode.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from s2s.adapters.aws import dynamodb
from s2s.runtime.settings import get_settings


@dataclass(frozen=True, slots=True)
class LrsAuditEntry:
    organisation: str
    user: str
    operation: str
    uln: str | None
    response_code: str | None
    http_status: int
    source_ip: str = ""


def audit_key(organisation: str, at: str) -> dict[str, str]:
    return {"PK": f"ULNAUDIT#{organisation}", "SK": f"{at}#{uuid.uuid4()}"}


def record_lrs_call(entry: LrsAuditEntry, *, at: datetime | None = None) -> dict[str, str]:
    """Write one audit item and return its key."""
    moment = (at or datetime.now(UTC)).astimezone(UTC)
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    key = audit_key(entry.organisation, stamp)
    item = {
        **{name: {"S": value} for name, value in key.items()},
        "type": {"S": "uln_audit"},
        "organisation": {"S": entry.organisation},
        "user": {"S": entry.user},
        "operation": {"S": entry.operation},
        "http_status": {"N": str(entry.http_status)},
        "at": {"S": stamp},
    }
    if entry.uln:
        item["uln"] = {"S": entry.uln}
    if entry.response_code:
        item["response_code"] = {"S": entry.response_code}
    if entry.source_ip:
        item["source_ip"] = {"S": entry.source_ip}
    dynamodb().put_item(TableName=get_settings().table_name, Item=item)
    return key
