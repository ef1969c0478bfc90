"""Benchmarks, run with `python -m bench` (`make bench`): each `bench_*.py` module measures one
claim of the service against a baseline and reports ratios in one table."""
