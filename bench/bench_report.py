"""Report cost does not grow with the number of transfers (docs/SERVICE.md §8): a one-year report for an LA
with 1,000 transfers and one with 50,000, over the same days and the same number of schools, read
the same number of DynamoDB items (one per LA-day, or one per school-day plus one name per school).

The counters come from the code path every state change uses (transfers.counter_deltas for each
file becoming available, being downloaded or refused), summed per LA-day and school-day and written
as the items counters.updates leaves behind: pushing 50,000 files through the handlers would
measure moto, not the report.
The test tests/functional/reports/test_reports_reads.py uses the same seeding and counting."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bench.common import Row, format_seconds, timeit

SCHOOLS = 20
REPORT_YEAR = 2025
DEFAULT_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "eu-west-2",
    "AWS_REGION": "eu-west-2",
    "LOG_LEVEL": "WARNING",
    # Settings have no defaults for these (s2s.runtime.settings): set as the local stack sets them.
    "PORTAL_URL": "http://portal.test",
    "SENDER_EMAIL": "no-reply@s2s.test",
}


def _schools(la: str) -> list[str]:
    return [f"{la}{n:04d}" for n in range(1001, 1001 + SCHOOLS)]


def _synthetic(la: str, i: int, day: date) -> Any:
    """Transfer i on `day`: from one of the LA's schools to the next one, the pair fixed by the day,
    so any number of transfers touches the same school-days."""
    from s2s.domain import clock
    from s2s.domain.transfers import Transfer

    schools = _schools(la)
    source = schools[day.toordinal() % SCHOOLS]
    dest = schools[(day.toordinal() + 1) % SCHOOLS]
    at = clock.iso(datetime(day.year, day.month, day.day, 9, tzinfo=UTC))
    return Transfer(
        transfer_id=f"bench-{la}-{i}",
        filename=f"{source}_CTF_{dest}_001.zip",
        family="ctf",
        file_type="CTF",
        source=source,
        source_kind="school",
        source_la=la,
        source_name=f"School {source}",
        destination=dest,
        dest_kind="school",
        dest_la=la,
        recipient_org=dest,
        size_bytes=1000,
        status="pending_upload",
        created_at=at,
        created_by="bench",
        upload_expires_at=at,
        expires_at=at,
    )


def seed(la: str, transfers: int, year: int = REPORT_YEAR) -> None:
    """Counters for `transfers` files in LA `la` spread over every day of `year` (9 in 10 become
    available, half of those are downloaded the same day, 1 in 10 is refused), and school names."""
    from dataclasses import replace

    from s2s.adapters import dynamo, organisations
    from s2s.adapters.aws import dynamodb
    from s2s.domain import clock
    from s2s.domain.transfers import CounterDeltas, counter_deltas

    start = date(year, 1, 1)
    days = (date(year + 1, 1, 1) - start).days
    total = CounterDeltas()
    for i in range(transfers):
        day = start + timedelta(days=i % days)
        t = _synthetic(la, i, day)
        at = datetime(day.year, day.month, day.day, 10, tzinfo=UTC)
        steps = [counter_deltas(t, "rejected", at)] if i % 10 == 9 else [counter_deltas(t, "available", at)]
        if i % 10 < 5:
            available = replace(t, status="available", available_at=clock.iso(at))
            steps.append(counter_deltas(available, "downloaded", at + timedelta(hours=1)))
        for step in steps:
            for (scope, d), metrics in step.deltas.items():
                for metric, delta in metrics.items():
                    total.add(scope, d, metric, delta)
    # Written as whole items in the shape counters.updates gives them (ADD into a new item is
    # the value itself), 25 to a request: moto takes ~16 ms per UpdateItem on a table with six
    # indexes, and this is setup, not what is measured.
    items = [
        _counter_item(scope, d, metrics)
        for (scope, d), metrics in sorted(total.deltas.items())
        if scope != "ALL" and any(metrics.values())
    ]
    for n in range(0, len(items), 25):
        dynamodb().batch_write_item(
            RequestItems={dynamo.table(): [{"PutRequest": {"Item": item}} for item in items[n : n + 25]]}
        )
    for school in _schools(la):
        organisations.remember_name(school, f"School {school}", datetime(year, 1, 1, tzinfo=UTC))


def _counter_item(scope: str, day: str, metrics: dict[str, int]) -> dict[str, Any]:
    """The item `counters.updates` leaves behind for one (scope, day) on an empty table."""
    from s2s.adapters import dynamo

    values: dict[str, Any] = {m: d for m, d in metrics.items() if d}
    if scope.startswith("SCHOOL#"):
        _, la, org = scope.split("#")
        item = {"PK": f"CNT#LA#{la}#S", "SK": f"D#{day}#{org}", "org": org, "la": la, "day": day, **values}
    else:
        item = {"PK": f"CNT#{scope}", "SK": f"D#{day}", "day": day, **values}
    return dynamo.to_item(item)


class CountingClient:
    """A DynamoDB client that counts the items each read touched: Query's ScannedCount (what
    DynamoDB bills, before any filter) and one per GetItem. Scans are refused outright."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.items = 0
        self.requests = 0

    def query(self, **kwargs: Any) -> Any:
        resp = self._client.query(**kwargs)
        self.requests += 1
        self.items += int(resp.get("ScannedCount", len(resp.get("Items", []))))
        return resp

    def get_paginator(self, operation: str) -> Any:
        if operation != "query":
            raise AssertionError(f"the report function may not page through {operation}")
        return _CountingPaginator(self, self._client.get_paginator("query"))

    def count_page(self, page: Any) -> None:
        self.requests += 1
        self.items += int(page.get("ScannedCount", len(page.get("Items", []))))

    def get_item(self, **kwargs: Any) -> Any:
        self.requests += 1
        self.items += 1
        return self._client.get_item(**kwargs)

    def scan(self, **kwargs: Any) -> Any:
        raise AssertionError("reports never scan")

    def __getattr__(self, name: str) -> Any:
        if name in ("batch_get_item", "put_item", "update_item", "delete_item", "transact_write_items"):
            raise AssertionError(f"the report function may not call {name}")
        return getattr(self._client, name)


class _CountingPaginator:
    """The real Query paginator, counting every page it reads (s2s.adapters.dynamo queries through it)."""

    def __init__(self, counter: CountingClient, paginator: Any) -> None:
        self._counter, self._paginator = counter, paginator

    def paginate(self, **kwargs: Any) -> Iterator[Any]:
        for page in self._paginator.paginate(**kwargs):
            self._counter.count_page(page)
            yield page


@contextmanager
def counting_reads() -> Iterator[CountingClient]:
    """Every DynamoDB call the report code makes goes through one CountingClient meanwhile."""
    from s2s.adapters import dynamo
    from s2s.adapters.aws import dynamodb

    counter = CountingClient(dynamodb())
    modules = (dynamo,)
    saved = [m.dynamodb for m in modules]  # type: ignore[attr-defined]
    for m in modules:
        m.dynamodb = lambda: counter  # type: ignore[attr-defined]
    try:
        yield counter
    finally:
        for m, original in zip(modules, saved, strict=True):
            m.dynamodb = original  # type: ignore[attr-defined]


def year_report(la: str, group_by: str, year: int = REPORT_YEAR) -> dict[str, Any]:
    """The one-year report as the DfE asks for it, through the real handler."""
    import json

    import report_api
    from support.helpers import FakeContext, dfe_claims, http_event

    query = {"la": la, "from": f"{year}-01-01", "to": f"{year}-12-31", "group_by": group_by}
    response = report_api.lambda_handler(
        http_event("GET", "/reports/transfers", claims=dfe_claims(), query=query), FakeContext()
    )
    assert response["statusCode"] == 200, response["body"]
    return json.loads(response["body"])  # type: ignore[no-any-return]


def measure(la: str, group_by: str) -> tuple[int, dict[str, Any]]:
    with counting_reads() as counter:
        body = year_report(la, group_by)
    return counter.items, body


def run() -> list[Row]:
    import sys
    from pathlib import Path

    import boto3
    from moto import mock_aws

    root = Path(__file__).resolve().parents[1]
    for folder in ("layers", "cli", "functions/report", "tests"):
        if str(root / folder) not in sys.path:
            sys.path.insert(0, str(root / folder))  # the benchmark runs outside pytest's pythonpath
    for key, value in DEFAULT_ENV.items():
        os.environ.setdefault(key, value)
    from s2s.adapters.aws import reset_clients
    from s2s.runtime.settings import get_settings
    from s2s_cli.local.template import create_resources

    rows: list[Row] = []
    with mock_aws():
        region = DEFAULT_ENV["AWS_DEFAULT_REGION"]
        names = create_resources(
            dynamodb=boto3.client("dynamodb", region_name=region),
            s3=boto3.client("s3", region_name=region),
            sns=boto3.client("sns", region_name=region),
            sqs=boto3.client("sqs", region_name=region),
            secrets=boto3.client("secretsmanager", region_name=region),
        )
        os.environ.update(names.environment())
        reset_clients()
        get_settings.cache_clear()
        seed("823", 1_000)
        seed("330", 50_000)
        for group_by in ("month", "school"):
            small_reads, small = measure("823", group_by)
            large_reads, large = measure("330", group_by)
            assert small["totals"]["sent"] == 900 and large["totals"]["sent"] == 45_000
            small_time = timeit(lambda g=group_by: year_report("823", g))
            large_time = timeit(lambda g=group_by: year_report("330", g))
            rows.append(
                Row(
                    f"report {group_by}: items read, 50k vs 1k transfers",
                    str(large_reads),
                    str(small_reads),
                    large_reads / small_reads,
                    "equal",
                    large_reads == small_reads,
                )
            )
            rows.append(
                Row(
                    f"report {group_by}: time, 50k vs 1k transfers",
                    format_seconds(large_time),
                    format_seconds(small_time),
                    large_time / small_time,
                    "~1 (same reads)",
                    None,
                )
            )
    return rows
