"""Benchmark entries: every module here with a `run(quick)` function is one entry.

See benchmarks/README.md ("How to add an entry").
"""
