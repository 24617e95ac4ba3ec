"""Benchmarks: each bench_*.py module has a main() that prints its numbers next to a baseline
measured in the same run. `python -m bench` runs them all; `python -m bench scan` runs one."""
