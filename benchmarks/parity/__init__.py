"""The ADAPT parity benchmark (`python -m benchmarks.adapt_parity`): problems, twins, the method table, tables."""
