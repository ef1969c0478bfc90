"""Report counters: one item per scope and day, moved in the same transaction as the change of
state they count (`s2s.adapters.transfers.commit_change`), so a change is never counted twice.

- `CNT#LA#<la>` / `D#<yyyy-mm-dd>` for an LA, `CNT#ALL` / `D#<day>` for the country;
- `CNT#LA#<la>#S` / `D#<day>#<laestab>` per school, so one query gives an LA's schools over a range.

Reads are Queries over one partition: their cost depends on the range, never on how many files
were sent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING, Any

from s2s.adapters import dynamo
from s2s.domain.transfers import CounterDeltas

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

# Past the last school's LAESTAB in `D#<day>#<laestab>` sort keys ('~' sorts after digits).
SK_END = "~"


def updates(deltas: CounterDeltas) -> list[TransactWriteItemTypeDef]:
    """The transaction items that add `deltas` to the counters (ADD creates a missing item)."""
    out: list[TransactWriteItemTypeDef] = []
    for (scope, day), changes in sorted(deltas.deltas.items()):
        metrics = {m: d for m, d in changes.items() if d}
        if not metrics:
            continue
        extra: dict[str, Any]
        if scope.startswith("SCHOOL#"):
            _, la, org = scope.split("#")
            item_key = dynamo.key(f"CNT#LA#{la}#S", f"D#{day}#{org}")
            extra = {":org": org, ":la": la}
            set_expr = " SET org = :org, la = :la, #d = :day"
        else:
            item_key = dynamo.key(f"CNT#{scope}", f"D#{day}")
            extra = {}
            set_expr = " SET #d = :day"
        names = {f"#m{i}": m for i, m in enumerate(metrics)}
        values = {f":v{i}": d for i, d in enumerate(metrics.values())}
        add = "ADD " + ", ".join(f"#m{i} :v{i}" for i in range(len(metrics)))
        out.append(
            dynamo.update_op(
                item_key, add + set_expr, names={**names, "#d": "day"}, values={**values, **extra, ":day": day}
            )
        )
    return out


def partition(la: str | None) -> str:
    """The partition of an LA's counters, or the country's when `la` is None."""
    return f"CNT#LA#{la}" if la else "CNT#ALL"


def _between(pk: str, sk_from: str, sk_to: str) -> Iterator[dict[str, Any]]:
    return dynamo.query("PK = :pk AND SK BETWEEN :a AND :b", {":pk": pk, ":a": sk_from, ":b": sk_to})


def days(la: str | None, date_from: date, date_to: date) -> Iterator[dict[str, Any]]:
    """The counters of one LA (or the country when `la` is None), one item per day with any."""
    return _between(partition(la), f"D#{date_from.isoformat()}", f"D#{date_to.isoformat()}")


def school_days(la: str, date_from: date, date_to: date) -> Iterator[dict[str, Any]]:
    """The counters of an LA's schools, one item per school and day with any (`org` names it)."""
    return _between(f"{partition(la)}#S", f"D#{date_from.isoformat()}", f"D#{date_to.isoformat()}#{SK_END}")
