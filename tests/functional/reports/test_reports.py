"""GET /reports/transfers and GET /reports/undownloaded through the real handlers: who may see
what, date ranges, CSV parsed back, and the undownloaded list (oldest first, pages, names, files
nobody will be told about, expiry enforced at read)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from s2s.adapters import subscriptions
from s2s.domain import clock
from support.helpers import dfe_claims, la_claims, school_claims

from .support import download, send_file, transfers_report, undownloaded

pytestmark = pytest.mark.functional

METRICS = ["sent", "received", "downloaded", "not_downloaded", "rejected", "expired", "lost_pupils"]


@pytest.fixture
def activity(aws: Any) -> dict[str, str]:
    """823's schools send two files to each other and one to 330; one of them is downloaded."""
    a, b = school_claims("8231001"), school_claims("8231002")
    ids = {
        "a_to_b": send_file(aws, a, "8231001_CTF_8231002_001"),
        "b_to_a": send_file(aws, b, "8231002_CTF_8231001_001"),
        "a_to_330": send_file(aws, a, "8231001_CTF_3302001_001"),
        "rejected": send_file(aws, a, "8231001_CTF_8231002_002", encrypted=False),
    }
    assert download(b, ids["a_to_b"]).status == 200
    return ids


def _year() -> dict[str, str]:
    today = clock.now().date()
    return {"from": f"{today.year}-01-01", "to": today.isoformat()}


# ---------------------------------------------------------------------------- who may see what


@pytest.mark.parametrize(
    ("claims", "query", "status", "error"),
    [
        (school_claims("8231001"), {}, 403, "forbidden_role"),
        (la_claims("823"), {"la": "330"}, 403, "not_your_la"),
        (la_claims("823"), {"la": "82"}, 422, "validation_error"),
        (dfe_claims(), {"la": "999"}, 422, "unknown_la"),
        (dfe_claims(), {"group_by": "school"}, 422, "validation_error"),
        (la_claims("823"), {"from": "2026-05-01", "to": "2026-04-30"}, 422, "validation_error"),
        (la_claims("823"), {"from": "2023-01-01", "to": "2026-01-01"}, 422, "validation_error"),
        (la_claims("823"), {"from": "2026-02-30"}, 422, "validation_error"),
        (la_claims("823"), {"group_by": "week"}, 422, "validation_error"),
        (la_claims("823"), {"format": "xlsx"}, 422, "validation_error"),
    ],
)
def test_transfers_report_refusals(
    aws: Any, claims: dict[str, Any], query: dict[str, str], status: int, error: str
) -> None:
    reply = transfers_report(claims, **query)
    assert (reply.status, reply.error) == (status, error), reply.body


def test_three_years_to_the_day_is_allowed(aws: Any) -> None:
    reply = transfers_report(la_claims("823"), **{"from": "2023-01-01", "to": "2025-12-31"})
    assert reply.status == 200, reply.body
    assert len(reply.body["rows"]) == 36


def test_la_report_defaults_to_its_own_la_and_counts_its_schools(activity: dict[str, str]) -> None:
    reply = transfers_report(la_claims("823"), **_year())
    assert reply.status == 200, reply.body
    assert reply.body["scope"] == "823" and reply.body["group_by"] == "month"
    assert reply.body["totals"] == {
        "sent": 3,
        "received": 2,
        "downloaded": 1,
        "not_downloaded": 1,
        "rejected": 1,
        "expired": 0,
        "lost_pupils": 0,
    }
    # One row per month of the range, activity or not.
    assert len(reply.body["rows"]) == clock.now().month
    assert sum(r["sent"] for r in reply.body["rows"][:-1]) == 0


def test_dfe_sees_any_la_and_the_country(activity: dict[str, str]) -> None:
    la_330 = transfers_report(dfe_claims(), la="330", **_year())
    national = transfers_report(dfe_claims(), **_year())
    assert la_330.status == national.status == 200
    assert la_330.body["totals"]["received"] == 1 and la_330.body["totals"]["sent"] == 0
    assert national.body["scope"] == "national"
    assert national.body["totals"] == {
        "sent": 3,
        "received": 3,
        "downloaded": 1,
        "not_downloaded": 2,
        "rejected": 1,
        "expired": 0,
        "lost_pupils": 0,
    }


def test_by_school_sums_each_school_with_its_name(activity: dict[str, str]) -> None:
    reply = transfers_report(la_claims("823"), group_by="school", **_year())
    assert reply.status == 200, reply.body
    rows = {r["school"]: r for r in reply.body["rows"]}
    assert list(rows) == ["8231001", "8231002"]
    assert rows["8231001"]["school_name"] == "School 8231001"
    assert {m: rows["8231001"][m] for m in METRICS} == {
        "sent": 2,
        "received": 1,
        "downloaded": 0,
        "not_downloaded": 1,
        "rejected": 1,
        "expired": 0,
        "lost_pupils": 0,
    }
    assert {m: rows["8231002"][m] for m in METRICS} == {
        "sent": 1,
        "received": 1,
        "downloaded": 1,
        "not_downloaded": 0,
        "rejected": 0,
        "expired": 0,
        "lost_pupils": 0,
    }


def test_a_range_before_the_activity_is_all_zero(activity: dict[str, str]) -> None:
    today = clock.now().date()
    before = today - timedelta(days=1)
    reply = transfers_report(
        la_claims("823"),
        **{"from": (today - timedelta(days=40)).isoformat(), "to": before.isoformat()},
        group_by="school",
    )
    assert reply.status == 200
    assert reply.body["rows"] == [] and set(reply.body["totals"].values()) == {0}


# ---------------------------------------------------------------------------- CSV


@pytest.mark.parametrize("group_by", ["month", "school"])
def test_csv_parses_back_to_the_json_report(activity: dict[str, str], group_by: str) -> None:
    query = {**_year(), "group_by": group_by}
    as_json = transfers_report(la_claims("823"), **query)
    as_csv = transfers_report(la_claims("823"), **query, format="csv")
    assert as_csv.status == 200
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    grouping = "-schools" if group_by == "school" else ""
    assert as_csv.headers["content-disposition"] == (
        f'attachment; filename="s2s-transfers-823{grouping}-{query["from"]}-{query["to"]}.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(as_csv.body)))
    keys = ["month", "period_from", "period_to"] if group_by == "month" else ["school", "school_name"]
    assert list(rows[0].keys()) == [*keys, *METRICS]
    assert len(rows) == len(as_json.body["rows"])
    for parsed, original in zip(rows, as_json.body["rows"], strict=True):
        assert {m: int(parsed[m]) for m in METRICS} == {m: original[m] for m in METRICS}
        assert all(parsed[k] == (original[k] or "") for k in keys)


def test_csv_school_names_cannot_start_a_formula(aws: Any) -> None:
    hostile = school_claims("8231003", name='=HYPERLINK("http://x")')
    send_file(aws, hostile, "8231003_CTF_8231001_001")
    reply = transfers_report(la_claims("823"), group_by="school", format="csv", **_year())
    rows = {r["school"]: r for r in csv.DictReader(io.StringIO(reply.body))}
    assert rows["8231003"]["school_name"].startswith("'=")


# ---------------------------------------------------------------------------- undownloaded


def test_undownloaded_lists_the_las_waiting_files_oldest_first_with_names_and_silence(aws: Any) -> None:
    a = school_claims("8231001")
    subscriptions.subscribe("8231002", "office@8231002.school.example", "u1")
    first = send_file(aws, a, "8231001_CTF_8231002_001")
    clock.travel(timedelta(days=3))
    to_la = send_file(aws, school_claims("3302001"), "3302001_CTF_823XXXX_001")
    done = send_file(aws, a, "8231001_CTF_8231002_002")
    assert download(school_claims("8231002"), done).status == 200
    send_file(aws, school_claims("8231002"), "8231002_CTF_3302001_001")  # to another LA: not 823's

    reply = undownloaded(la_claims("823"))
    assert reply.status == 200, reply.body
    items = reply.body["items"]
    assert [i["transfer_id"] for i in items] == [first, to_la]
    assert items[0] | {"available_at": None, "expires_at": None} == {
        "transfer_id": first,
        "filename": "8231001_CTF_8231002_001.zip",
        "recipient": "8231002",
        "recipient_name": "School 8231002",
        "sender": "8231001",
        "sender_name": "School 8231001",
        "available_at": None,
        "age_days": 3,
        "expires_at": None,
        "no_subscribers": False,
    }
    assert items[1]["recipient"] == "823LLLL" and items[1]["no_subscribers"] is True
    assert items[1]["age_days"] == 0
    assert reply.body["next_cursor"] is None

    older = undownloaded(la_claims("823"), older_than_days="2")
    assert [i["transfer_id"] for i in older.body["items"]] == [first]


def test_undownloaded_pages_with_a_cursor(aws: Any) -> None:
    a = school_claims("8231001")
    sent = []
    for n in range(1, 6):
        sent.append(send_file(aws, a, f"8231001_CTF_8231002_{n:03d}"))
        clock.travel(timedelta(minutes=1))
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = undownloaded(la_claims("823"), **query)
        assert page.status == 200, page.body
        assert len(page.body["items"]) <= 2
        seen += [i["transfer_id"] for i in page.body["items"]]
        cursor = page.body["next_cursor"]
        if cursor is None:
            break
    assert seen == sent


def test_undownloaded_enforces_expiry_at_read(aws: Any) -> None:
    send_file(aws, school_claims("8231001"), "8231001_CTF_8231002_001")
    clock.travel(timedelta(days=61))  # past expires_at, and the sweep has not run
    reply = undownloaded(la_claims("823"))
    assert reply.status == 200 and reply.body["items"] == []


@pytest.mark.parametrize(
    ("claims", "query", "status", "error"),
    [
        (school_claims("8231001"), {}, 403, "forbidden_role"),
        (la_claims("823"), {"la": "330"}, 403, "not_your_la"),
        (dfe_claims(), {}, 422, "validation_error"),
        (la_claims("823"), {"older_than_days": "-1"}, 422, "validation_error"),
        (la_claims("823"), {"cursor": "not-a-cursor"}, 422, "validation_error"),
    ],
)
def test_undownloaded_refusals(
    aws: Any, claims: dict[str, Any], query: dict[str, str], status: int, error: str
) -> None:
    reply = undownloaded(claims, **query)
    assert (reply.status, reply.error) == (status, error), reply.body


def test_dfe_lists_any_las_undownloaded_files(aws: Any) -> None:
    tid = send_file(aws, school_claims("8231001"), "8231001_CTF_3302001_001")
    reply = undownloaded(dfe_claims(), la="330")
    assert reply.status == 200 and [i["transfer_id"] for i in reply.body["items"]] == [tid]


def test_a_cursor_from_another_la_is_refused(aws: Any) -> None:
    a = school_claims("8231001")
    for n in (1, 2):
        send_file(aws, a, f"8231001_CTF_3302001_{n:03d}")
    page = undownloaded(dfe_claims(), la="330", limit="1")
    assert page.body["next_cursor"]
    reply = undownloaded(dfe_claims(), la="823", cursor=page.body["next_cursor"])
    assert (reply.status, reply.error) == (422, "validation_error")
