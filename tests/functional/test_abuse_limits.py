"""Abuse limits (issue 9): the per-organisation daily upload quota (count and bytes) answers 429
with Retry-After and `quota_exceeded`, holds under parallel requests, and leaves no record; a
request body over 16 KiB is refused with 413 before any parsing, on every API function; a file
over the upload limit is refused before a ticket is issued."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import lost_pupils_api
import pytest
import report_api
import subscriptions_api
import uln_api
import upload_api
from s2s.domain import clock, errors
from s2s.domain.principal import principal_from_claims
from s2s.runtime.http import MAX_BODY_BYTES
from s2s.runtime.settings import get_settings
from s2s.services import tickets
from support.flows import start_upload
from support.helpers import call, la_claims, school_claims
from support.records import GOOD_NAME, SENDER, bucket_keys, outbox_of, table_items

pytestmark = [pytest.mark.functional, pytest.mark.hardening]

OTHER_SCHOOL = "8233456"


@pytest.fixture
def quota(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    def set_quota(count: int = 500, size: int = 2 * 1024**3) -> None:
        monkeypatch.setenv("DAILY_UPLOAD_COUNT", str(count))
        monkeypatch.setenv("DAILY_UPLOAD_BYTES", str(size))
        get_settings.cache_clear()

    yield set_quota
    get_settings.cache_clear()


def name(n: int, sender: str = SENDER) -> str:
    return f"{sender}_CTF_8232345_{n:03d}.zip"


def quota_items(aws: Any) -> list[dict[str, Any]]:
    return [i for i in table_items(aws) if i["PK"]["S"].startswith("QUOTA#")]


def test_the_fourth_upload_of_the_day_is_refused_with_retry_after(aws: Any, quota: Any) -> None:
    quota(count=3)
    claims = school_claims(SENDER)
    for n in range(1, 4):
        assert start_upload(claims, name(n), 1024).status == 201

    reply = start_upload(claims, name(4), 1024)

    assert reply.status == 429
    assert reply.error == "quota_exceeded"
    assert reply.body["message"]
    retry_after = int(reply.headers["retry-after"])
    assert 1 <= retry_after <= 24 * 3600
    # Nothing of the refused upload is kept; the count stays at the limit.
    assert len(outbox_of(aws, SENDER)) == 3
    [item] = quota_items(aws)
    assert int(item["uploads"]["N"]) == 3
    assert bucket_keys(aws) == []


def test_the_quota_is_per_organisation_and_per_day(aws: Any, quota: Any) -> None:
    quota(count=1)
    assert start_upload(school_claims(SENDER), name(1), 1024).status == 201
    assert start_upload(school_claims(SENDER), name(2), 1024).status == 429

    # another school is not affected
    assert start_upload(school_claims(OTHER_SCHOOL), name(1, OTHER_SCHOOL), 1024).status == 201

    # and tomorrow the school may send again (Retry-After pointed at midnight UTC)
    retry_after = int(start_upload(school_claims(SENDER), name(3), 1024).headers["retry-after"])
    clock.travel(timedelta(seconds=retry_after + 1))
    assert start_upload(school_claims(SENDER), name(4), 1024).status == 201


def test_the_bytes_quota(aws: Any, quota: Any) -> None:
    quota(size=10_000)
    claims = school_claims(SENDER)
    assert start_upload(claims, name(1), 6_000).status == 201

    over = start_upload(claims, name(2), 4_001)
    assert (over.status, over.error) == (429, "quota_exceeded")
    assert int(over.headers["retry-after"]) >= 1

    # exactly what is left still fits
    assert start_upload(claims, name(3), 4_000).status == 201
    assert start_upload(claims, name(4), 22).status == 429
    [item] = quota_items(aws)
    assert (int(item["uploads"]["N"]), int(item["upload_bytes"]["N"])) == (2, 10_000)


def test_parallel_uploads_cannot_overshoot_the_quota(aws: Any, quota: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.core.botocore_stubber import BotocoreStubber

    # moto is not thread-safe inside one request; make each request atomic, as DynamoDB is.
    lock = threading.Lock()
    real = BotocoreStubber.__call__
    monkeypatch.setattr(BotocoreStubber, "__call__", lambda self, *a, **k: _locked(lock, real, self, *a, **k))
    quota(count=3)
    principal = principal_from_claims(school_claims(SENDER))
    barrier = threading.Barrier(10)

    def one(n: int) -> str:
        barrier.wait()
        try:
            tickets.issue_upload_ticket(principal, {}, filename=name(n), size_bytes=1024)
        except errors.Throttled as exc:
            return exc.code
        return "issued"

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(one, range(1, 11)))

    assert sorted(results) == ["issued"] * 3 + ["quota_exceeded"] * 7
    assert len(outbox_of(aws, SENDER)) == 3


def _locked(lock: threading.Lock, fn: Any, *args: Any, **kwargs: Any) -> Any:
    with lock:
        return fn(*args, **kwargs)


def test_a_file_over_the_upload_limit_is_refused_before_a_ticket(aws: Any) -> None:
    reply = start_upload(school_claims(SENDER), GOOD_NAME, get_settings().max_upload_bytes + 1)

    assert (reply.status, reply.error) == (413, "too_large")
    assert table_items(aws) == []


# ---------------------------------------------------------------------------- request bodies

ROUTES = [
    (upload_api.lambda_handler, "POST", "/transfers", None, school_claims(SENDER)),
    (upload_api.lambda_handler, "POST", "/transfers/{id}/download", {"id": "x"}, school_claims(SENDER)),
    (upload_api.lambda_handler, "DELETE", "/transfers/{id}", {"id": "x"}, school_claims(SENDER)),
    (subscriptions_api.lambda_handler, "PUT", "/subscriptions/me", None, school_claims(SENDER)),
    (lost_pupils_api.lambda_handler, "POST", "/lost-pupils/{id}/claim", {"id": "x"}, la_claims("823")),
    (uln_api.lambda_handler, "POST", "/uln/learners", None, school_claims(SENDER)),
    (uln_api.lambda_handler, "POST", "/uln/learners/search", None, school_claims(SENDER)),
    (report_api.lambda_handler, "GET", "/reports/undownloaded", None, la_claims("823")),
]


@pytest.mark.parametrize(
    ("handler", "method", "path", "params", "claims"), ROUTES, ids=[f"{r[1]} {r[2]}" for r in ROUTES]
)
def test_a_body_over_16_kib_is_refused_before_parsing(
    aws: Any, handler: Any, method: str, path: str, params: dict[str, str] | None, claims: dict[str, Any]
) -> None:
    # A body that is valid JSON for the route except for one huge field.
    body = json.dumps({"filename": GOOD_NAME, "size_bytes": 1024, "padding": "x" * MAX_BODY_BYTES})

    reply = call(handler, method, path, claims=claims, path_params=params, raw_body=body)

    assert (reply.status, reply.error) == (413, "body_too_large")
    assert table_items(aws) == []


def test_a_body_of_exactly_16_kib_is_parsed(aws: Any) -> None:
    head = json.dumps({"filename": GOOD_NAME, "size_bytes": 1024, "sha256": None})
    body = head[:-1] + " " * (MAX_BODY_BYTES - len(head)) + "}"
    assert len(body.encode()) == MAX_BODY_BYTES

    reply = call(upload_api.lambda_handler, "POST", "/transfers", claims=school_claims(SENDER), raw_body=body)

    assert reply.status == 201, reply.body


def test_a_body_over_16_kib_in_multibyte_characters_is_refused(aws: Any) -> None:
    body = json.dumps({"filename": GOOD_NAME, "size_bytes": 1024, "upn": "€" * 6000}, ensure_ascii=False)
    assert len(body) < MAX_BODY_BYTES < len(body.encode())

    reply = call(upload_api.lambda_handler, "POST", "/transfers", claims=school_claims(SENDER), raw_body=body)

    assert (reply.status, reply.error) == (413, "body_too_large")
