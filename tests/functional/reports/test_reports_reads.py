"""A one-year report reads the same number of DynamoDB items for an LA with 1,000 transfers as for
one with 50,000 over the same days and schools (SPEC §8: reads depend on days and schools, never on
transfers), and never scans. `python -m bench --only report` prints the same with timings."""

from __future__ import annotations

from typing import Any

import pytest

from bench.bench_report import SCHOOLS, counting_reads, seed, year_report

pytestmark = pytest.mark.functional

DAYS = 365  # REPORT_YEAR is not a leap year


@pytest.fixture
def two_las(aws: Any) -> None:
    seed("823", 1_000)
    seed("330", 50_000)


@pytest.mark.parametrize(
    ("group_by", "expected_items"),
    [
        ("month", DAYS),  # one counter item per LA-day
        ("school", 2 * DAYS + SCHOOLS),  # two schools a day (sender, recipient), then one name per school
    ],
)
def test_report_reads_depend_on_days_and_schools_not_transfers(
    two_las: None, group_by: str, expected_items: int
) -> None:
    with counting_reads() as small:
        small_body = year_report("823", group_by)
    with counting_reads() as large:
        large_body = year_report("330", group_by)
    # The reports are for different volumes...
    assert small_body["totals"]["sent"] == 900 and large_body["totals"]["sent"] == 45_000
    assert small_body["totals"]["rejected"] == 100 and large_body["totals"]["rejected"] == 5_000
    # ...and read exactly the same items.
    assert small.items == large.items == expected_items
    assert small.requests == large.requests


def test_the_counting_client_refuses_a_scan(aws: Any) -> None:
    from s2s import reports

    with counting_reads(), pytest.raises(AssertionError, match="never scan"):
        reports.dynamodb().scan(TableName="anything")
