"""What every benchmark module shares: the `Row` it reports and a best-of-N timer."""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Row:
    """One line of the results table. `ratio` compares `measured` with `baseline`; `ok` says
    whether it meets `target` (None when the row is for information only)."""

    name: str
    measured: str
    baseline: str
    ratio: float | None
    target: str
    ok: bool | None


def timeit(fn: Callable[[], object], repeat: int = 5, number: int = 1) -> float:
    """Best seconds per call over `repeat` rounds of `number` calls: the minimum is the run least
    disturbed by the rest of the machine, which is what a ratio between two runs needs."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def _test_helpers() -> Any:
    """tests/support/helpers.py (stdlib only), so events here are built exactly as the tests build them."""
    tests = str(ROOT / "tests")
    if tests not in sys.path:
        sys.path.append(tests)
    return importlib.import_module("support.helpers")


def http_event(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    """An API Gateway HTTP API event with the authorizer's claims (tests/helpers.http_event)."""
    return _test_helpers().http_event(method, path, **kwargs)


def school_claims(laestab: str, **kwargs: Any) -> dict[str, Any]:
    """DfE Sign-in claims of a school user (tests/helpers.school_claims)."""
    return _test_helpers().school_claims(laestab, **kwargs)


def la_claims(la: str, **kwargs: Any) -> dict[str, Any]:
    """DfE Sign-in claims of a local authority user (tests/helpers.la_claims)."""
    return _test_helpers().la_claims(la, **kwargs)


def dfe_claims() -> dict[str, Any]:
    """DfE Sign-in claims of a DfE user (tests/helpers.dfe_claims)."""
    return _test_helpers().dfe_claims()


def median_time(fn: Callable[[], object], number: int) -> float:
    """Median seconds of `number` single calls: for warm requests, where one slow call (a garbage
    collection, a moto hiccup) should not move the figure either way."""
    samples = []
    for _ in range(number):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    samples.sort()
    return samples[len(samples) // 2]


def format_seconds(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def _ratio(ratio: float | None) -> str:
    if ratio is None:
        return ""
    return f"{ratio:.2f}" if ratio >= 0.01 else f"{ratio:.1e}"


def format_table(rows: Sequence[Row]) -> str:
    header = ("benchmark", "measured", "baseline", "ratio", "target", "ok")
    cells = [
        (
            row.name,
            row.measured,
            row.baseline,
            _ratio(row.ratio),
            row.target,
            {True: "yes", False: "NO", None: "-"}[row.ok],
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(header))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(value.ljust(width) for value, width in zip(values, widths, strict=True)).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(header), rule, *(line(values) for values in cells)])
