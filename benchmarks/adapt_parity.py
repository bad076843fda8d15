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
    python -m benchmarks.adapt_parity --summarize all --output benchmarks/results/adapt_parity.md   # the committed page

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
# `--summarize all`: every committed run, oldest first (a later record replaces an earlier one; the KMM rows of the
# first file used the median width, replaced by adapt_parity_kmm's half-median default).
RECORD_FILES = ["adapt_parity", "adapt_parity_moons_more_seeds", "adapt_parity_mcd_mdd", "adapt_parity_adda_wdgrl",
                "adapt_parity_adda_wdgrl_run2", "adapt_parity_ccsa_shallow", "adapt_parity_digits_seeds12",
                "adapt_parity_digits_instance", "adapt_parity_fmmd", "adapt_parity_kmm", "adapt_parity_cdan_gradient",
                "adapt_parity_moons_dann", "adapt_parity_fmnist"]


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


def run(pairs, methods, seeds, quick, fmnist_epochs, log, write):
    """Every (pair, seed, method, library) run; `write(line)` saves each record and each pair's settings."""
    records = []
    for pair in pairs:
        chosen = [m for m in methods if pair in m.pairs]
        if not chosen:
            continue
        problem = problems.load(pair, quick=quick, **({"epochs": fmnist_epochs} if pair == "fmnist" else {}))
        write({"pair_settings": {pair: problem.settings()}})
        log(f"[{pair}] {problem.settings()}")
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
                    write(record)
    return records


def page(lines, methods):
    """The Markdown page of saved lines: each run's command and machine state, then the tables."""
    import tensorflow as tf

    runs = list({(r["command"], r["date"]): r for r in (line["run"] for line in lines if "run" in line)}.values())
    settings = {pair: text for line in lines if "pair_settings" in line for pair, text in line["pair_settings"].items()}
    records = [line for line in lines if "method" in line]
    text = ["# Parity with ADAPT 0.4.5", ""]
    for r in runs:
        end = r.get("load_end")
        text.append(f"- `{r['command']}`: started {r['date']}" + (f", {r['minutes']:.0f} min" if end else "")
                    + f"; load average at start {r['load_start']}" + (f", at end {end}" if end else ""))
    text += [
        "", f"{os.cpu_count()} cores shared by several engineers' runs: wall seconds are indicative, compare the "
        f"ratios within a row and the CPU-seconds ratio. Python {platform.python_version()}, TensorFlow "
        f"{tf.__version__}, Keras {keras.__version__}, ADAPT 0.4.5 through tf.keras (Keras 3).", "",
        __doc__.split("\n\n")[1].replace("\n", " "), "",
    ]
    return "\n".join(text + report.tables(records, methods, problems.PAIRS, settings))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="moons only, 5 epochs, seed 0; prints only")
    parser.add_argument("--pairs", default=",".join(problems.PAIRS))
    parser.add_argument("--methods", default="", help="comma-separated row names (default: every row)")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--fmnist-epochs", type=int, default=2)
    parser.add_argument("--output", default=OUTPUT, help="the Markdown page ('-': print only); records beside it")
    parser.add_argument("--summarize", nargs="+", metavar="JSONL",
                        help="the page of saved records (several runs merged: a later file's record replaces an "
                             "earlier one of the same pair, method, seed and library); written to --output if given")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    methods = method_table.get([m for m in args.methods.split(",") if m])
    argv = sys.argv[1:] if argv is None else argv
    if args.summarize:
        paths = ([os.path.join(HERE, "results", name + ".jsonl") for name in RECORD_FILES]
                 if args.summarize == ["all"] else args.summarize)
        lines = [json.loads(line) for path in paths for line in open(path) if line.strip()]
        latest = {(r["pair"], r["method"], r["seed"], r["library"]): r for r in lines if "method" in r}
        lines = [line for line in lines if "method" not in line] + list(latest.values())  # later files win
        text = page(lines, methods)
        print(text)
        if "--output" in argv and args.output != "-":
            with open(args.output, "w") as handle:
                handle.write(text + "\n")
        return 0
    pairs = ["moons"] if args.quick else [p for p in args.pairs.split(",") if p]
    seeds = [0] if args.quick else [int(s) for s in args.seeds.split(",") if s]
    saved = not args.quick and args.output != "-"
    records_path = os.path.splitext(args.output)[0] + ".jsonl"
    if saved and os.path.exists(records_path):
        os.remove(records_path)
    lines = []

    def write(line):
        lines.append(line)
        if saved:
            with open(records_path, "a") as handle:
                handle.write(json.dumps(line) + "\n")

    fmt = lambda load: ", ".join(f"{v:.2f}" for v in load)  # noqa: E731
    meta = {"command": ("nice -n 10 python -m benchmarks.adapt_parity " + " ".join(argv)).strip(),
            "date": datetime.datetime.now().isoformat(timespec="seconds"), "load_start": fmt(os.getloadavg())}
    start = time.time()
    write({"run": meta})
    run(pairs, methods, seeds, args.quick, args.fmnist_epochs, lambda t: print(t, flush=True), write)
    write({"run": {**meta, "load_end": fmt(os.getloadavg()), "minutes": (time.time() - start) / 60}})
    text = page(lines, methods)
    print(text)
    if saved:
        os.makedirs(os.path.dirname(args.output), exist_ok=True)
        with open(args.output, "w") as handle:
            handle.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
