"""What every benchmark module shares: the `Row` it reports and a best-of-N timer."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


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
