"""Report arithmetic without AWS: scopes and roles, date ranges, months, CSV text and file names."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest
from s2s.domain.errors import Forbidden, InvalidRequest
from s2s.domain.principal import Principal
from s2s.domain.transfers import METRICS
from s2s.services import reports

pytestmark = pytest.mark.unit

SCHOOL = Principal("school", "u1", None, "School", "823", "8231001")
LA = Principal("la", "u2", None, "Central Bedfordshire", "823", None)
DFE = Principal("dfe", "u3", None, "DfE", None, None)


@pytest.mark.parametrize(
    ("principal", "la", "required", "expected"),
    [(LA, None, False, "823"), (LA, "823", True, "823"), (DFE, "330", True, "330"), (DFE, None, False, None)],
)
def test_scope(principal: Principal, la: str | None, required: bool, expected: str | None) -> None:
    scope = reports.report_scope(principal, la, la_required=required)
    assert scope.la == expected
    assert scope.partition == (f"CNT#LA#{expected}" if expected else "CNT#ALL")
    assert scope.label == (expected or "national")


@pytest.mark.parametrize(
    ("principal", "la", "required", "error", "code"),
    [
        (SCHOOL, None, False, Forbidden, "forbidden_role"),
        (LA, "330", False, Forbidden, "not_your_la"),
        (DFE, None, True, InvalidRequest, "validation_error"),
        (DFE, "12a", False, InvalidRequest, "validation_error"),
        (DFE, "８２３", False, InvalidRequest, "validation_error"),
        (DFE, "999", False, InvalidRequest, "unknown_la"),
    ],
)
def test_scope_refusals(
    principal: Principal, la: str | None, required: bool, error: type[Exception], code: str
) -> None:
    with pytest.raises(error) as caught:
        reports.report_scope(principal, la, la_required=required)
    assert caught.value.code == code  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("start", "end", "ok"),
    [
        (date(2026, 1, 1), date(2026, 1, 1), True),
        (date(2026, 1, 2), date(2026, 1, 1), False),
        (date(2023, 1, 1), date(2025, 12, 31), True),  # 1096 days: three years with a leap day
        (date(2023, 1, 1), date(2026, 1, 1), False),
    ],
)
def test_range(start: date, end: date, ok: bool) -> None:
    if ok:
        reports.check_range(start, end)
    else:
        with pytest.raises(InvalidRequest):
            reports.check_range(start, end)


def test_months_cover_the_range_exactly() -> None:
    months = reports._months(date(2025, 11, 15), date(2026, 2, 3))
    assert months == [
        ("2025-11", date(2025, 11, 15), date(2025, 11, 30)),
        ("2025-12", date(2025, 12, 1), date(2025, 12, 31)),
        ("2026-01", date(2026, 1, 1), date(2026, 1, 31)),
        ("2026-02", date(2026, 2, 1), date(2026, 2, 3)),
    ]


def test_default_range_is_the_year_so_far() -> None:
    assert reports.default_range(None, date(2026, 5, 7)) == (date(2026, 1, 1), date(2026, 5, 7))
    assert reports.default_range(date(2025, 5, 1), date(2026, 5, 7)) == (date(2025, 5, 1), date(2026, 5, 7))


def _report(group_by: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "scope": "823",
        "la": "823",
        "date_from": "2026-01-01",
        "date_to": "2026-12-31",
        "group_by": group_by,
        "rows": rows,
        "totals": reports.zero(),
    }


def test_csv_round_trips_names_with_commas_quotes_and_formulas() -> None:
    names = ['St Mary\'s, "Upper"', "=cmd|' /C calc'!A0", "-1+2", None]
    rows = [{"school": f"823100{i}", "school_name": n, **dict.fromkeys(METRICS, i)} for i, n in enumerate(names)]
    text = reports.csv_text(_report("school", rows))
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert [r["school_name"] for r in parsed] == ['St Mary\'s, "Upper"', "'=cmd|' /C calc'!A0", "'-1+2", ""]
    assert [int(r["lost_pupils"]) for r in parsed] == [0, 1, 2, 3]
    assert text.startswith("school,school_name," + ",".join(METRICS) + "\r\n")


def test_csv_file_names() -> None:
    assert reports.csv_filename(_report("month", [])) == "s2s-transfers-823-2026-01-01-2026-12-31.csv"
    assert reports.csv_filename(_report("school", [])) == "s2s-transfers-823-schools-2026-01-01-2026-12-31.csv"
    national = {**_report("month", []), "scope": "national"}
    assert reports.csv_filename(national) == "s2s-transfers-national-2026-01-01-2026-12-31.csv"
