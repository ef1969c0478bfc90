"""A one-year report reads the same number of DynamoDB items for an LA with 1,000 transfers as for
one with 50,000 over the same days and schools (docs/SERVICE.md §8: reads depend on days and schools, never on
transfers), and never scans. `python -m bench --only report` prints the same with timings."""

from __future__ import annotations

from typing import Any

import pytest

from bench.bench_report import SCHOOLS, counting_reads, seed, year_report

pytestmark = pytest.mark.functional

DAYS = 365  # REPORT_YEAR is not a leap year


# One item per LA-day by month; by school two school-days a day (sender and recipient), then one
# name per school.
EXPECTED_ITEMS = {"month": DAYS, "school": 2 * DAYS + SCHOOLS}


def test_report_reads_depend_on_days_and_schools_not_transfers(aws: Any) -> None:
    # Given two LAs over the same days and as many schools, one with 50 times the transfers
    seed("823", 1_000)
    seed("330", 50_000)
    for group_by, expected_items in EXPECTED_ITEMS.items():
        # When each runs a one-year report
        with counting_reads() as small:
            small_body = year_report("823", group_by)
        with counting_reads() as large:
            large_body = year_report("330", group_by)
        # Then the reports are for different volumes...
        assert small_body["totals"]["sent"] == 900 and large_body["totals"]["sent"] == 45_000
        assert small_body["totals"]["rejected"] == 100 and large_body["totals"]["rejected"] == 5_000
        # ...and read exactly the same items, in as many requests.
        assert small.items == large.items == expected_items, group_by
        assert small.requests == large.requests, group_by


def test_the_counting_client_refuses_a_scan(aws: Any) -> None:
    from s2s.adapters import dynamo

    with counting_reads(), pytest.raises(AssertionError, match="never scan"):
        dynamo.dynamodb().scan(TableName="anything")
