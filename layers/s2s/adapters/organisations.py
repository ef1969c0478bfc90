"""Organisations: one `ORG#<org>` / `PROFILE` item each, with the display name its users' tokens
last gave (for emails, reports and a transfer's page) and `subscriber_count`, kept by
`s2s.adapters.subscriptions` in the same transaction as each subscription item."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from s2s.adapters import dynamo
from s2s.domain import clock

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

PROFILE = "PROFILE"
NAME_CHARS = 200


def pk(org: str) -> str:
    return f"ORG#{org}"


def profile_key(org: str) -> dynamo.RawItem:
    return dynamo.key(pk(org), PROFILE)


def name_update(org: str, name: str, at: datetime) -> TransactWriteItemTypeDef:
    """The update that keeps an organisation's display name (from its users' tokens)."""
    return dynamo.update_op(
        profile_key(org),
        "SET #n = :n, seen_at = :at",
        names={"#n": "name"},
        values={":n": name[:NAME_CHARS], ":at": clock.iso(at)},
    )


def remember_name(org: str, name: str, at: datetime) -> None:
    """Keep the organisation's display name for emails and reports."""
    if not name:
        return
    dynamo.update(
        profile_key(org),
        "SET #n = :n, seen_at = :at",
        names={"#n": "name"},
        values={":n": name[:NAME_CHARS], ":at": clock.iso(at)},
    )


def name(org: str) -> str | None:
    return profile(org)[0]


def names(orgs: Iterable[str]) -> dict[str, str]:
    """Display names of these organisations, as their users' tokens last gave them (one
    BatchGetItem); an organisation nobody from it has used S2S as is simply absent."""
    wanted = sorted({org for org in orgs if org})[:100]
    items = dynamo.batch_get([profile_key(org) for org in wanted], projection="PK, #n", names={"#n": "name"})
    return {str(item["PK"]).removeprefix("ORG#"): str(item["name"]) for item in items if "name" in item}


def profile(org: str) -> tuple[str | None, int]:
    """An organisation's display name and how many addresses get its emails, from its one
    `PROFILE` item (one GetItem for both)."""
    return profile_fields(dynamo.get(profile_key(org), consistent=False))


def profile_fields(item: Mapping[str, Any] | None) -> tuple[str | None, int]:
    """(name, subscriber count) of a decoded `PROFILE` item, or (None, 0) when there is none."""
    if not item:
        return None, 0
    shown = str(item["name"]) if "name" in item else None
    count = max(int(item["subscriber_count"]), 0) if "subscriber_count" in item else 0
    return shown, count
