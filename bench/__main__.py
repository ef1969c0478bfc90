"""Run the benchmarks: `python -m bench [--only zip ...]`. Discovers `bench/bench_*.py`, calls
each module's `run()`, and prints one table of every row at the end. A benchmark that fails to
run becomes a row saying so; the command still exits 0 (the table is the result)."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time

import bench
from bench.common import Row, format_table


def discover() -> list[str]:
    """Names after `bench_`, e.g. `zip` for bench/bench_zip.py, in name order."""
    return sorted(
        info.name.removeprefix("bench_")
        for info in pkgutil.iter_modules(bench.__path__)
        if info.name.startswith("bench_")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--only", action="append", metavar="NAME", help="run only this benchmark (e.g. zip); may be repeated"
    )
    args = parser.parse_args(argv)
    names = discover()
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            parser.error(f"no benchmark named {', '.join(unknown)} (have: {', '.join(names)})")
        names = [name for name in names if name in args.only]

    rows: list[Row] = []
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            module = importlib.import_module(f"bench.bench_{name}")
            rows.extend(module.run())
        except Exception as exc:  # one broken benchmark must not hide the others' results
            rows.append(Row(f"{name}: did not run", f"{type(exc).__name__}: {exc}", "", None, "", False))
        print(f"  {name} took {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
