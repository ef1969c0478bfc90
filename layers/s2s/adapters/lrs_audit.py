"""The audit trail of calls to the Learning Records Service: one DynamoDB item per call.

Items sit under `PK = ULNAUDIT#<org>` with a sort key that orders them by time, so an
organisation's LRS activity reads back with one query. They hold who asked for what and what the
LRS said, never the learner's name, date of birth or postcode.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from s2s.adapters import dynamo


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
    item: dict[str, object] = {
        **key,
        "type": "uln_audit",
        "organisation": entry.organisation,
        "user": entry.user,
        "operation": entry.operation,
        "http_status": entry.http_status,
        "at": stamp,
    }
    optional = {"uln": entry.uln, "response_code": entry.response_code, "source_ip": entry.source_ip}
    item.update({name: value for name, value in optional.items() if value})
    dynamo.put(item)
    return key
