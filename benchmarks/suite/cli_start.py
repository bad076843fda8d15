"""Start-up time of the command line: `keras-transfer --help` and `--version` against `python -c pass`.

Each command runs in a fresh process, the three alternating (the order
rotated every round), `rounds` times; the row gives the medians and the note
the ratio to `python -c pass` per round (median, min, max) and whether the
median is under the 1 s goal. `import keras_transfer` (what `--help` used to
cost, TensorFlow included) is measured the same way for scale. The console
script is the one installed beside this Python (`keras-transfer`), else
`python -m keras_transfer_cli`.
"""

import os
import subprocess
import sys
import time

import numpy as np

from benchmarks.table import Row

GOAL_S = 1.0


def _cli():
    script = os.path.join(os.path.dirname(sys.executable), "keras-transfer")
    return [script] if os.path.isfile(script) else [sys.executable, "-m", "keras_transfer_cli"]


def _seconds(command):
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def commands():
    cli = _cli()
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "keras-transfer --help": [*cli, "--help"],
        "keras-transfer --version": [*cli, "--version"],
        "import keras_transfer": [sys.executable, "-c", "import keras_transfer"],
    }


def measure(rounds):
    """`{name: [seconds per round]}`, the commands alternating with a rotated order."""
    named = commands()
    names = list(named)
    times = {name: [] for name in names}
    for name in names:  # warm the file cache once, unmeasured
        _seconds(named[name])
    for index in range(rounds):
        order = names[index % len(names):] + names[:index % len(names)]
        for name in order:
            times[name].append(_seconds(named[name]))
    return times


def run(quick=False):
    rounds = 3 if quick else 10
    times = measure(rounds)
    base = np.array(times["python -c pass"])
    for name in ("keras-transfer --help", "keras-transfer --version", "import keras_transfer"):
        values = np.array(times[name])
        ratio = values / base
        median = float(np.median(values))
        verdict = "" if name.startswith("import") else (
            f"; under {GOAL_S:.0f} s: {'yes' if median < GOAL_S else 'no'}")
        yield Row(
            measure=f"start-up time: {name}",
            baseline="python -c pass",
            candidate=name,
            baseline_value=float(np.median(base)),
            candidate_value=median,
            unit="s",
            note=(f"ratio {np.median(ratio):.1f} (min {ratio.min():.1f}, max {ratio.max():.1f}) over {rounds} "
                  f"alternating rounds{verdict}"),
            entry="cli_start",
        )
