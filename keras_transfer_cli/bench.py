"""`keras-transfer bench`: the benchmark suite of a source checkout, run without importing TensorFlow here.

The suite runs in its own process (`python -m benchmarks.run`), which imports
what it measures; this process only finds the checkout and passes the
arguments on.
"""

import importlib.util
import os
import subprocess
import sys


def checkout_root():
    """The folder holding the `keras_transfer` package (a source checkout has `benchmarks/` beside it), found without importing it."""
    spec = importlib.util.find_spec("keras_transfer")
    return os.path.dirname(os.path.dirname(os.path.abspath(spec.origin)))


def bench(args, root=None):
    root = root or checkout_root()
    if not os.path.isfile(os.path.join(root, "benchmarks", "run.py")):
        print(
            f"error: the benchmark suite is not here ({os.path.join(root, 'benchmarks')} does not exist). It ships with "
            "the source checkout, not with the installed package: clone the repository and run `keras-transfer bench` "
            "(or `python -m benchmarks.run`) from it.",
            file=sys.stderr,
        )
        return 2
    command = [sys.executable, "-m", "benchmarks.run", *args.bench_args]
    print("Running: " + " ".join(command[1:]) + f"  (in {root})", flush=True)
    return subprocess.call(command, cwd=root)
