"""The keras_transfer benchmark suite: `python -m benchmarks.run [--quick] [--only NAME]`."""
