"""One factory per record the service keeps, with every field a real one would have."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from s2s.domain.principal import Principal
from s2s.domain.transfers import Transfer

SCHOOL_A, SCHOOL_B = "8231234", "8232345"


def transfer(**overrides: Any) -> Transfer:
    """A CTF from Oakfield Primary (8231234) to Riverside (8232345), both in LA 823, available
    since 2026-06-01 09:01 and expiring 60 days later; `overrides` replace any field."""
    t = Transfer(
        transfer_id="0f3c9a6e2b7d4c1a8e5f0a9b8c7d6e5f",
        filename=f"{SCHOOL_A}_CTF_{SCHOOL_B}_001.zip",
        family="ctf",
        file_type="CTF",
        source=SCHOOL_A,
        source_kind="school",
        source_la="823",
        source_name="Oakfield Primary",
        destination=SCHOOL_B,
        dest_kind="school",
        dest_la="823",
        recipient_org=SCHOOL_B,
        size_bytes=48_213,
        status="available",
        created_at="2026-06-01T09:00:00.000000Z",
        created_by=f"user-{SCHOOL_A}",
        upload_expires_at="2026-06-01T09:15:00.000000Z",
        expires_at="2026-07-31T13:05:00.000000Z",
        sha256="ab" * 32,
        available_at="2026-06-01T09:01:00.000000Z",
    )
    return replace(t, **overrides)


def school(laestab: str) -> Principal:
    return Principal(
        kind="school",
        user_id=f"user-{laestab}",
        email=None,
        org_name=f"School {laestab}",
        la=laestab[:3],
        laestab=laestab,
    )


def la(code: str) -> Principal:
    return Principal(kind="la", user_id=f"user-la-{code}", email=None, org_name=f"LA {code}", la=code, laestab=None)


def dfe() -> Principal:
    return Principal(
        kind="dfe", user_id="user-dfe", email=None, org_name="Department for Education", la=None, laestab=None
    )
