"""LA and national reports (docs/SERVICE.md §8) from the per-day counters that every state change writes, and
the list of received files still waiting to be downloaded.

Reads never scan and never touch transfers for the transfers report: one Query over `CNT#LA#<la>`
(or `CNT#ALL`) gives one item per day, one Query over `CNT#LA#<la>#S` one item per school-day, and
one GetItem per school fetches its name. So the cost depends on the range and the number of
schools, never on how many files were sent. The undownloaded list reads GSI6, which holds only
files that are available and undownloaded now."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from s2s.adapters import counters, cursors, organisations, transfers
from s2s.domain import clock
from s2s.domain.errors import Forbidden, InvalidRequest
from s2s.domain.naming import known_la
from s2s.domain.principal import Principal
from s2s.domain.transfers import METRICS, Transfer, effective_status

# "Up to 3 years": three common years and a leap day, counting both ends.
MAX_RANGE_DAYS = 3 * 365 + 1


@dataclass(frozen=True)
class Scope:
    """Whose counters a report reads: one LA, or the whole country when `la` is None."""

    la: str | None

    @property
    def label(self) -> str:
        return self.la or "national"

    @property
    def partition(self) -> str:
        return counters.partition(self.la)


def _bad(field: str, reason: str, message: str, code: str = "validation_error") -> InvalidRequest:
    return InvalidRequest(message, code=code, details=[{"field": field, "reason": reason}])


def _check_la_code(la: str) -> None:
    if len(la) != 3 or not la.isascii() or not la.isdigit():
        raise _bad("la", "bad_la", "The LA code is 3 digits, for example 823.")
    if not known_la(la):
        raise _bad("la", "unknown_la", f"{la} is not a local authority code S2S knows.", code="unknown_la")


def report_scope(principal: Principal, la: str | None, *, la_required: bool = False) -> Scope:
    """LA users see their own LA (the default); the DfE any LA, or the country when `la` is left
    out (unless the report needs an LA). Schools get no reports."""
    if principal.kind == "school":
        raise Forbidden("Reports are for local authorities and the DfE.", code="forbidden_role")
    if la is not None:
        _check_la_code(la)
    if principal.kind == "la":
        if la is not None and la != principal.la:
            raise Forbidden("You can only run reports for your own local authority.", code="not_your_la")
        return Scope(principal.la)
    if la is None and la_required:
        raise _bad("la", "missing", "Say which local authority: add la=<3-digit code>.")
    return Scope(la)


def check_range(date_from: date, date_to: date) -> None:
    if date_to < date_from:
        raise _bad("to", "before_from", "The end of the range is before its start.")
    if (date_to - date_from).days + 1 > MAX_RANGE_DAYS:
        raise _bad("to", "range_too_long", "A report covers at most 3 years: shorten the range.")


def default_range(date_from: date | None, date_to: date | None) -> tuple[date, date]:
    """Without dates, this calendar year so far; with only `to`, from the start of its year."""
    to = date_to or clock.now().date()
    return date_from or date(to.year, 1, 1), to


# ---------------------------------------------------------------------------- counters


def zero() -> dict[str, int]:
    return dict.fromkeys(METRICS, 0)


def _add(into: dict[str, int], item: dict[str, Any]) -> None:
    for metric in METRICS:
        into[metric] += int(item.get(metric, 0))


def _months(date_from: date, date_to: date) -> list[tuple[str, date, date]]:
    """(YYYY-MM, first day in range, last day in range) for every month the range touches."""
    out = []
    start = date_from
    while start <= date_to:
        next_month = date(start.year + start.month // 12, start.month % 12 + 1, 1)
        end = min(next_month - timedelta(days=1), date_to)
        out.append((f"{start.year:04d}-{start.month:02d}", start, end))
        start = next_month
    return out


def by_month(scope: Scope, date_from: date, date_to: date) -> list[dict[str, Any]]:
    """One row per month in the range, months without any activity included (all zero)."""
    months = _months(date_from, date_to)
    sums = {month: zero() for month, _, _ in months}
    for item in counters.days(scope.la, date_from, date_to):
        _add(sums[str(item["day"])[:7]], item)
    return [
        {"month": month, "period_from": a.isoformat(), "period_to": b.isoformat(), **sums[month]}
        for month, a, b in months
    ]


def by_school(scope: Scope, date_from: date, date_to: date) -> list[dict[str, Any]]:
    """One row per school with any counter in the range, in LAESTAB order, with its name."""
    if scope.la is None:
        raise _bad("group_by", "needs_la", "Reports by school are for one LA: add la=<3-digit code>.")
    sums: dict[str, dict[str, int]] = {}
    for item in counters.school_days(scope.la, date_from, date_to):
        _add(sums.setdefault(str(item["org"]), zero()), item)
    return [{"school": org, "school_name": organisations.name(org), **sums[org]} for org in sorted(sums)]


def transfers_report(
    principal: Principal, *, la: str | None, date_from: date | None, date_to: date | None, group_by: str
) -> dict[str, Any]:
    """The transfers report as plain data: scope, range, rows and totals."""
    scope = report_scope(principal, la, la_required=group_by == "school" and principal.kind == "dfe")
    start, end = default_range(date_from, date_to)
    check_range(start, end)
    rows = by_school(scope, start, end) if group_by == "school" else by_month(scope, start, end)
    totals = zero()
    for row in rows:
        _add(totals, row)
    return {
        "scope": scope.label,
        "la": scope.la,
        "date_from": start.isoformat(),
        "date_to": end.isoformat(),
        "group_by": group_by,
        "rows": rows,
        "totals": totals,
    }


def csv_text(report: dict[str, Any]) -> str:
    """Header row, then one row per month or school (docs/SERVICE.md §8)."""
    key_columns = ["month", "period_from", "period_to"] if report["group_by"] == "month" else ["school", "school_name"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*key_columns, *METRICS])
    for row in report["rows"]:
        writer.writerow([_csv_safe(row[c]) for c in key_columns] + [row[m] for m in METRICS])
    return out.getvalue()


def _csv_safe(value: Any) -> str:
    """School names come from sign-in tokens: never let one start a spreadsheet formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_filename(report: dict[str, Any]) -> str:
    grouping = "-schools" if report["group_by"] == "school" else ""
    return f"s2s-transfers-{report['scope']}{grouping}-{report['date_from']}-{report['date_to']}.csv"


# ---------------------------------------------------------------------------- undownloaded files


def undownloaded(
    principal: Principal, *, la: str | None, older_than_days: int, limit: int, cursor: str | None
) -> tuple[str, list[dict[str, Any]], str | None]:
    """Available files addressed to the LA's schools and to the LA, received at least
    `older_than_days` ago, oldest first. Expiry is enforced here too: a file past `expires_at`
    that the sweep has not reached yet is not listed. Returns (la, rows, next cursor)."""
    scope = report_scope(principal, la, la_required=True)
    assert scope.la is not None
    now = clock.now()
    state = cursors.decode_cursor(cursor) if cursor else {}
    if state and (
        state.get("la") != scope.la or state.get("days") != older_than_days or not isinstance(state.get("cutoff"), str)
    ):
        raise _bad("cursor", "invalid", "The cursor belongs to another list.")
    # The cutoff is fixed by the first page, so later pages continue the same list.
    cutoff: str = state.get("cutoff") or clock.iso(now - timedelta(days=older_than_days))
    rows: list[dict[str, Any]] = []
    names: dict[str, str | None] = {}
    silent: dict[str, bool] = {}
    last_key: dict[str, Any] | None = None
    more = False
    for listed, more_after in transfers.undownloaded(scope.la, cutoff, state.get("at"), page=min(limit + 1, 100)):
        last_key = listed.position
        if effective_status(listed.transfer, now) != "available":
            continue
        rows.append(_undownloaded_row(listed.transfer, now, names, silent))
        if len(rows) == limit:
            more = more_after
            break
    next_cursor = None
    if more and last_key is not None:
        next_cursor = cursors.encode_cursor({"la": scope.la, "days": older_than_days, "cutoff": cutoff, "at": last_key})
    return scope.la, rows, next_cursor


def _undownloaded_row(t: Transfer, now: Any, names: dict[str, str | None], silent: dict[str, bool]) -> dict[str, Any]:
    org = t.recipient_org
    if org not in names:
        names[org], count = organisations.profile(org)
        silent[org] = count == 0
    assert t.available_at is not None
    return {
        "transfer_id": t.transfer_id,
        "filename": t.filename,
        "recipient": org,
        "recipient_name": names[org],
        "sender": t.source,
        "sender_name": t.source_name,
        "available_at": t.available_at,
        "age_days": max((now - clock.parse(t.available_at)).days, 0),
        "expires_at": t.expires_at,
        "no_subscribers": silent[org],
    }
