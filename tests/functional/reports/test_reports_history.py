"""Property: for random histories of transfers between schools and LAs (school-, LA- and
LPD-addressed files, rejected uploads, downloads, withdrawals, removals, expiry and claims), run
through the real handlers, every report (by month and by school, each LA and national) equals a
brute-force recount of the same history from this test's own model of what happened."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from s2s.domain import clock
from s2s.runtime.settings import get_settings
from s2s.services import sweep
from support.helpers import dfe_claims, la_claims, school_claims

from .support import claim, download, remove, send_file, transfer, transfers_report, upn

pytestmark = [pytest.mark.functional, pytest.mark.slow]

METRICS = ("sent", "received", "downloaded", "not_downloaded", "rejected", "expired", "lost_pupils")
LAS = ("823", "330", "873")
SCHOOLS = ("8231001", "8231002", "3302001", "8733001")
SENDERS = (*SCHOOLS, "823LLLL", "330LLLL")
# Where a file can go: a school, an LA itself, an LA that will find the school, the LPD.
DESTINATIONS = (*SCHOOLS, "823LLLL", "330XXXX", "873LLLL", "XXXXXXX", "MMMMMMM", "XXXXXXX")
LIVE = ("available", "downloaded")
TERMINAL = ("withdrawn", "removed", "expired")


def claims_for(org: str) -> dict[str, Any]:
    return la_claims(org[:3]) if org.endswith("LLLL") else school_claims(org)


def kind_of(org: str) -> str:
    return "la" if not org.isdigit() else "school"


@dataclass
class ModelTransfer:
    """What this test believes happened to one file, independently of the service's counters."""

    tid: str
    source: str
    lpd: bool
    status: str
    day_sent: date | None = None
    day_rejected: date | None = None
    recipient: str | None = None  # who it is addressed to now (None: unclaimed LPD file)
    day_received: date | None = None
    day_downloaded: date | None = None
    day_expired: date | None = None
    expires_at: str = ""

    @property
    def source_la(self) -> str:
        return self.source[:3]


class History:
    """Drives the service and keeps the model in step."""

    def __init__(self, aws: Any) -> None:
        self.aws = aws
        self.files: list[ModelTransfer] = []
        self.named: set[str] = set()  # organisations that started an upload (their name is known)
        self.sequence = 0
        self.pupils = 0

    def today(self) -> date:
        return clock.now().date()

    # ------------------------------------------------------------------ operations

    def upload(self, sender_i: int, dest_i: int, encrypted: bool) -> None:
        sender = SENDERS[sender_i % len(SENDERS)]
        choices = [
            d
            for d in DESTINATIONS
            if d != sender and not (kind_of(sender) == "la" and d[:3] == sender[:3] and not d.isdigit())
        ]
        dest = choices[dest_i % len(choices)]
        self.sequence += 1
        stem = f"{sender}_CTF_{dest}_{self.sequence:03d}"
        lpd = dest in ("XXXXXXX", "MMMMMMM")
        pupil = None
        if lpd:
            self.pupils += 1
            pupil = upn(self.pupils)
        tid = send_file(self.aws, claims_for(sender), stem, encrypted=encrypted, pupil=pupil)
        self.named.add(sender)
        f = ModelTransfer(tid=tid, source=sender, lpd=lpd, status="available" if encrypted else "rejected")
        if encrypted:
            f.day_sent = self.today()
            if not lpd:
                f.recipient = f"{dest[:3]}LLLL" if dest.endswith("XXXX") else dest
                f.day_received = self.today()
            detail = transfer(claims_for(sender), tid)
            assert detail.status == 200 and detail.body["status"] == "available", detail.body
            f.expires_at = detail.body["expires_at"]
        else:
            f.day_rejected = self.today()
        self.files.append(f)

    def _pick(self, i: int, want: Any) -> ModelTransfer | None:
        pool = [f for f in self.files if want(f)]
        return pool[i % len(pool)] if pool else None

    def download(self, i: int) -> None:
        f = self._pick(i, lambda f: f.day_sent is not None)
        if f is None:
            return
        who = f.recipient or "873LLLL"  # any LA may download an unclaimed LPD file
        reply = download(claims_for(who), f.tid)
        if f.status in LIVE:
            assert reply.status == 200, reply.body
            if f.status == "available":
                f.status = "downloaded"
                if f.recipient is not None:
                    f.day_downloaded = self.today()
        else:
            assert reply.status == 410, reply.body

    def _removal(self, actor: str, f: ModelTransfer) -> str | None:
        recipient_side = actor == f.recipient or (
            kind_of(actor) == "la" and f.recipient is not None and f.recipient[:3] == actor[:3]
        )
        if recipient_side and not (f.lpd and f.recipient is None):
            return "removed"
        if actor == f.source:
            return "withdrawn"
        return None

    def remove(self, i: int, by_sender: bool) -> None:
        f = self._pick(i, lambda f: f.day_sent is not None)
        if f is None:
            return
        actor = f.source if by_sender else (f.recipient or "873LLLL")
        if kind_of(actor) == "la" and by_sender:
            return  # an LA sender is also its schools' LA: covered by recipient removals
        new = self._removal(actor, f)
        reply = remove(claims_for(actor), f.tid)
        if new is None:
            assert reply.status == 403, reply.body
        elif f.status in TERMINAL:
            assert reply.status == 410, reply.body
        elif new == "withdrawn" and f.status == "downloaded":
            assert reply.status == 409, reply.body
        else:
            assert reply.status == 204, reply.body
            f.status = new

    def claim(self, i: int, la_i: int) -> None:
        f = self._pick(i, lambda f: f.lpd and f.day_sent is not None)
        if f is None:
            return
        la = LAS[la_i % len(LAS)]
        school = next(s for s in SCHOOLS if s.startswith(la))
        reply = claim(la_claims(la), f.tid, school)
        if f.recipient is not None:
            sees = la in (f.source_la, f.recipient[:3])
            assert reply.status == (409 if sees else 404), reply.body
        elif f.status in TERMINAL:
            assert reply.status == 410, reply.body
        else:
            assert reply.status == 200, reply.body
            f.recipient, f.status, f.day_received = school, "available", self.today()

    def travel(self, days: int) -> None:
        """Move on in hops of at most a week with the daily sweep after each, as in production."""
        while days > 0:
            hop = min(days, 7)
            clock.travel(timedelta(days=hop))
            days -= hop
            sweep.sweep()
            now = clock.now_iso()
            for f in self.files:
                if f.status in LIVE and now >= f.expires_at:
                    if f.status == "available" and f.recipient is not None:
                        f.day_expired = self.today()
                    f.status = "expired"

    # ------------------------------------------------------------------ the recount

    def expected(self, start: date, end: date) -> dict[tuple[str, str, str], int]:
        """(scope, period or school, metric) -> count, scope being an LA code, `S<la>` for its
        schools, or `national`; period a YYYY-MM month."""
        out: dict[tuple[str, str, str], int] = {}

        def count(org: str, day: date | None, metric: str) -> None:
            if day is None or not start <= day <= end:
                return
            month = day.strftime("%Y-%m")
            for key in ((org[:3], month), ("national", month)) + (
                ((f"S{org[:3]}", org),) if kind_of(org) == "school" else ()
            ):
                out[(*key, metric)] = out.get((*key, metric), 0) + 1

        for f in self.files:
            count(f.source, f.day_sent, "sent")
            count(f.source, f.day_rejected, "rejected")
            if f.lpd:
                count(f.source, f.day_sent, "lost_pupils")
            if f.recipient is not None:
                count(f.recipient, f.day_received, "received")
                count(f.recipient, f.day_downloaded, "downloaded")
                count(f.recipient, f.day_expired, "expired")
                if f.status == "available":
                    count(f.recipient, f.day_received, "not_downloaded")
        return out

    def check_reports(self, start: date, end: date) -> None:
        expected = self.expected(start, end)
        query = {"from": start.isoformat(), "to": end.isoformat()}
        scopes: list[tuple[str, dict[str, Any], dict[str, str]]] = [("national", dfe_claims(), {})]
        scopes += [(la, la_claims(la), {}) for la in LAS]
        scopes += [(la, dfe_claims(), {"la": la}) for la in LAS[:1]]
        for scope, who, extra in scopes:
            reply = transfers_report(who, **query, **extra)
            assert reply.status == 200, reply.body
            for row in reply.body["rows"]:
                for metric in METRICS:
                    assert row[metric] == expected.get((scope, row["month"], metric), 0), (scope, row, metric)
            months = {k[1] for k in expected if k[0] == scope}
            assert months <= {row["month"] for row in reply.body["rows"]}
        for la in LAS:
            reply = transfers_report(la_claims(la), group_by="school", **query)
            assert reply.status == 200, reply.body
            schools = sorted({k[1] for k, v in expected.items() if k[0] == f"S{la}" and v})
            assert [row["school"] for row in reply.body["rows"]] == schools
            for row in reply.body["rows"]:
                assert row["school_name"] == (f"School {row['school']}" if row["school"] in self.named else None)
                for metric in METRICS:
                    assert row[metric] == expected.get((f"S{la}", row["school"], metric), 0), (la, row, metric)


def _empty_table() -> None:
    client = boto3.client("dynamodb")
    table = get_settings().table_name
    for page in client.get_paginator("scan").paginate(TableName=table, ProjectionExpression="PK, SK"):
        for item in page["Items"]:
            client.delete_item(TableName=table, Key={"PK": item["PK"], "SK": item["SK"]})


index = st.integers(min_value=0, max_value=50)
claim_op = st.tuples(st.just("claim"), index, index)
upload = st.tuples(st.just("upload"), index, index, st.sampled_from([True, True, False]))
operation = st.one_of(
    upload,
    upload,
    st.tuples(st.just("download"), index),
    st.tuples(st.just("remove"), index, st.booleans()),
    claim_op,
    claim_op,
    st.tuples(st.just("travel"), st.sampled_from([1, 4, 30, 61])),
)


# 10 histories in the suite (about 13 s); `make fuzz` runs 200.
@settings(
    max_examples=int(os.environ.get("S2S_REPORT_EXAMPLES", "10")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operation, min_size=3, max_size=12), split=st.floats(min_value=0.0, max_value=1.0))
def test_reports_equal_a_recount_of_the_history(aws: Any, ops: list[tuple[Any, ...]], split: float) -> None:
    # Given an empty service at a fixed moment
    clock.reset()
    _empty_table()
    history = History(aws)
    start = history.today()
    try:
        # When the history happens through the real handlers
        for op, *args in ops:
            getattr(history, op)(*args)
        end = history.today()
        # Then every report equals the recount, over the whole history and over a later part of it
        for metric in sorted({k[2] for k, v in history.expected(start, end).items() if v}):
            event(f"counted {metric}")
        if any(f.lpd and f.recipient for f in history.files):
            event("claimed")
        history.check_reports(start, end)
        middle = start + timedelta(days=int((end - start).days * split))
        history.check_reports(middle, end)
    finally:
        clock.reset()
