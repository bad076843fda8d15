"""Parity with ADAPT 0.4.5: every method both libraries have, same networks, objective, optimizer, batch and steps.

Both libraries run on Keras 3 in one process (ADAPT through `tf.keras`, which is
Keras 3 here). For each pair, seed and method, ADAPT's estimator and ours train
from the same initial weights (the networks are built from the seed; ADAPT
clones them with their weights), ADAPT first on even seeds and ours first on
odd ones. Reported per method and pair: target test accuracy (mean ± std over
seeds, last epoch, no selection: the settings are fixed and equal on both
sides), the paired difference, wall seconds per run (network building, dataset
and `fit`; the instance rows: the weighting alone) and the ratio ours/ADAPT
(median and range of the per-seed ratios), and the CPU-seconds ratio (less
sensitive to the other processes of a shared machine).

Pairs (`benchmarks/parity/problems.py`): two moons with the target rotated by 35
degrees (600 + 600 points, 2-64-64 encoder, softmax head, Adam 1e-3, batch 32,
100 epochs); font digits -> UCI digits and Fashion-MNIST -> Fashion-MNIST-M
(the splits and encoders of `benchmarks/domain_adaptation.py`, Adam 1e-3, batch
64, 8 epochs on digits; Fashion-MNIST-M for 2 epochs of 313 steps only, `--fmnist-epochs`).

Adding a method (others do it while this file is shared): write `ours(problem,
seed, **options)` and `adapt(problem, seed, **options)` returning `predict`
(class scores of target inputs) or `(predict, extras)`, build the networks with
`problems.networks(problem, seed, ...)` so that both start from the same
weights, and append one `Method(name, ours, adapt, twin, pairs=..., options=...,
notes=...)` to `METHODS` in `benchmarks/parity/methods.py` (say in `notes` what
differs between the two objectives). `--methods NAME --quick` runs it alone on
the moons in a minute.

    python -m benchmarks.adapt_parity --quick                  # smoke test: moons, 5 epochs, 1 seed, prints only
    nohup nice -n 10 python -m benchmarks.adapt_parity > parity.log 2>&1 &   # full: writes benchmarks/results/
    python -m benchmarks.adapt_parity --pairs moons --methods dann,cdan --seeds 0,1,2
    python -m benchmarks.adapt_parity --summarize benchmarks/results/adapt_parity.jsonl   # tables of saved records

Needs ADAPT beside the package (not a dependency):
`pip install "adapt==0.4.5" cvxopt -c constraints.txt` (`--no-deps` if pip wants to change TensorFlow or Keras).
"""

import argparse
import datetime
import gc
import json
import os
import platform
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.parity import methods as method_table  # noqa: E402
from benchmarks.parity import problems  # noqa: E402
from benchmarks.parity import report  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUTPUT = os.path.join(HERE, "results", "adapt_parity.md")


def run_one(fn, problem, seed, options):
    """Times `fn(problem, seed, **options)` (wall and CPU) and evaluates what it returns on the target splits."""
    keras.backend.clear_session()
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(problem, seed, **options)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    predict, extras = result if isinstance(result, tuple) else (result, {})
    accuracy = lambda x, y: float(np.mean(np.asarray(predict(x)).argmax(-1) == y))  # noqa: E731
    return {"acc": accuracy(problem.x_test, problem.y_test), "val_acc": accuracy(problem.x_val, problem.y_val),
            "seconds": wall, "cpu_seconds": cpu, **extras}


def run(pairs, methods, seeds, quick, fmnist_epochs, log, records_path=None):
    records, settings = [], {}
    for pair in pairs:
        chosen = [m for m in methods if pair in m.pairs]
        if not chosen:
            continue
        problem = problems.load(pair, quick=quick, **({"epochs": fmnist_epochs} if pair == "fmnist" else {}))
        settings[pair] = problem.settings()
        log(f"[{pair}] {settings[pair]}")
        for seed in seeds:
            for method in chosen:
                sides = [("ours", method.ours)] + ([("adapt", method.adapt)] if method.adapt else [])
                if seed % 2 == 0:
                    sides.reverse()  # ADAPT first on even seeds
                for library, fn in sides:
                    record = {"pair": pair, "method": method.name, "seed": seed, "library": library,
                              **run_one(fn, problem, seed, method.options)}
                    records.append(record)
                    log(json.dumps(record))
                    if records_path:
                        with open(records_path, "a") as handle:
                            handle.write(json.dumps(record) + "\n")
    return records, settings


def header(command, seconds, load_start, settings_note):
    import adapt  # noqa: F401
    import tensorflow as tf

    return [
        "# Parity with ADAPT 0.4.5", "",
        f"Command: `{command}`", "",
        f"Date {datetime.datetime.now().isoformat(timespec='seconds')}; {seconds / 60:.0f} min; load average at start "
        f"{', '.join(f'{v:.2f}' for v in load_start)}, at end {', '.join(f'{v:.2f}' for v in os.getloadavg())} "
        f"({os.cpu_count()} cores, shared by several engineers: wall seconds are indicative, compare the ratios of a "
        f"row); Python {platform.python_version()}, TensorFlow {tf.__version__}, Keras {keras.__version__}, "
        "ADAPT 0.4.5 through tf.keras (Keras 3).", "",
        __doc__.split("\n\n")[1].replace("\n", " "), "",
        settings_note, "",
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="moons only, 5 epochs, seed 0; prints only")
    parser.add_argument("--pairs", default=",".join(problems.PAIRS))
    parser.add_argument("--methods", default="", help="comma-separated row names (default: every row)")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--fmnist-epochs", type=int, default=2)
    parser.add_argument("--output", default=OUTPUT, help="the Markdown table ('-': print only)")
    parser.add_argument("--summarize", nargs="+", metavar="JSONL", help="print the tables of saved records and exit")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    methods = method_table.get([m for m in args.methods.split(",") if m])
    if args.summarize:
        records = [json.loads(line) for path in args.summarize for line in open(path) if line.strip()]
        print("\n".join(report.tables(records, methods, problems.PAIRS, {})))
        return 0
    pairs = ["moons"] if args.quick else [p for p in args.pairs.split(",") if p]
    seeds = [0] if args.quick else [int(s) for s in args.seeds.split(",") if s]
    write = not args.quick and args.output != "-"
    records_path = os.path.splitext(args.output)[0] + ".jsonl" if write else None
    if records_path and os.path.exists(records_path):
        os.remove(records_path)
    load_start, start = os.getloadavg(), time.time()
    records, settings = run(pairs, methods, seeds, args.quick, args.fmnist_epochs, lambda t: print(t, flush=True),
                            records_path)
    command = "nice -n 10 python -m benchmarks.adapt_parity " + " ".join(sys.argv[1:] if argv is None else argv)
    text = "\n".join(header(command.strip(), time.time() - start, load_start,
                            "Settings per pair are under each table; every method uses them unchanged.")
                     + report.tables(records, methods, pairs, settings))
    print(text)
    if write:
        os.makedirs(os.path.dirname(args.output), exist_ok=True)
        with open(args.output, "w") as handle:
            handle.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
