"""DANN's defaults: domain-head width, lambda schedule and alignment weight, chosen on target validation data.

On the parity pairs (`benchmarks/parity/problems.py`: rotated two moons, font
digits -> UCI digits, Fashion-MNIST -> Fashion-MNIST-M; their encoders, Adam
1e-3, batch and epochs), `DomainAdaptationModel(..., DomainAdversarialHead(
hidden_units), alignment_weight=w)` with one forward pass over both domains
(the default) is trained for every configuration of the grid, 3 seeds, the
same initial encoder and task weights for every configuration of a seed.
`schedule` is `"dann"` (`GradientReversalSchedule()`, lambda ramped from 0
to 1 with gamma 10) or `"constant"` (lambda 1 throughout). Each run reports
the target validation accuracy (the labelled target split that selects) and
the target test accuracy at the last epoch.

Selection: a configuration's score is its validation accuracy averaged over
seeds, then over pairs; the table gives, per pair, the test accuracy of every
configuration, of the former default and of the one selected.

    nohup nice -n 10 python -m benchmarks.dann_defaults --pairs moons,digits > defaults.log 2>&1 &
    python -m benchmarks.dann_defaults --pairs fmnist --configs "256-256/dann/1,1024-1024/dann/1" --append
    python -m benchmarks.dann_defaults --summarize benchmarks/results/dann_defaults.jsonl
    python -m benchmarks.dann_defaults --quick        # moons, 5 epochs, 2 configurations, prints only
"""

import argparse
import datetime
import itertools
import json
import os
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_transfer as kt  # noqa: E402
from benchmarks.parity import problems  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RECORDS = os.path.join(HERE, "results", "dann_defaults.jsonl")
HEADS = ("64", "256-256", "1024-1024")
SCHEDULES = ("dann", "constant")
WEIGHTS = ("0.3", "1", "3")
FORMER_DEFAULT = "256-256/dann/1"


def grid():
    return ["/".join(c) for c in itertools.product(HEADS, SCHEDULES, WEIGHTS)]


def parse(config):
    head, schedule, weight = config.split("/")
    return tuple(int(u) for u in head.split("-")), schedule, float(weight)


def run(problem, config, seed):
    hidden_units, schedule, weight = parse(config)
    encoder, task, _ = problems.networks(problem, seed)
    model = kt.models.DomainAdaptationModel(encoder, task, kt.layers.DomainAdversarialHead(hidden_units),
                                            alignment_weight=weight)
    model.compile(keras.optimizers.Adam(problem.learning_rate), "sparse_categorical_crossentropy")
    data = kt.data.domain_adaptation_dataset(source=(problem.x_source, problem.y_source), target=problem.x_target,
                                             batch_size=problem.batch, seed=seed)
    callbacks = [kt.callbacks.GradientReversalSchedule("dann")] if schedule == "dann" else []
    start = time.perf_counter()
    model.fit(data, epochs=problem.epochs, verbose=0, callbacks=callbacks)
    seconds = time.perf_counter() - start
    accuracy = lambda x, y: float(np.mean(model.predict(x, batch_size=1024, verbose=0).argmax(-1) == y))  # noqa: E731
    return {"pair": problem.name, "config": config, "seed": seed, "val": accuracy(problem.x_val, problem.y_val),
            "test": accuracy(problem.x_test, problem.y_test), "seconds": seconds}


def _ms(values):
    values = np.asarray(values)
    return f"{values.mean():.3f} ± {values.std():.3f}"


def summarize(records):
    pairs = [p for p in problems.PAIRS if any(r["pair"] == p for r in records)]
    configs = sorted({r["config"] for r in records}, key=lambda c: grid().index(c) if c in grid() else len(grid()))
    val = {(p, c): np.mean([r["val"] for r in records if r["pair"] == p and r["config"] == c] or [np.nan])
           for p in pairs for c in configs}
    # Selection over the pairs where every configuration ran; the others are confirmation only.
    full = [p for p in pairs if all(not np.isnan(val[p, c]) for c in configs)]
    score = {c: np.mean([val[p, c] for p in full]) for c in configs}
    chosen = max(configs, key=lambda c: score[c]) if full else None
    lines = [f"Selected on the mean target validation accuracy over {', '.join(full) or 'no pair'}: **{chosen}** "
             f"(head / schedule / alignment weight); former default {FORMER_DEFAULT}.", "",
             "| configuration | mean val (selection pairs) | " + " | ".join(f"{p} val | {p} test" for p in pairs) + " |",
             "|---|---|" + "---|---|" * len(pairs)]
    for c in sorted(configs, key=lambda c: -score[c]):
        cells = []
        for p in pairs:
            runs = [r for r in records if r["pair"] == p and r["config"] == c]
            cells += [_ms([r["val"] for r in runs]), _ms([r["test"] for r in runs])] if runs else ["", ""]
        mark = " (selected)" if c == chosen else " (former default)" if c == FORMER_DEFAULT else ""
        lines.append(f"| {c}{mark} | {score[c]:.3f} | " + " | ".join(cells) + " |")
    return "\n".join(lines), chosen


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", default="moons,digits")
    parser.add_argument("--configs", default="", help="comma-separated head/schedule/weight (default: the grid)")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--append", action="store_true", help="add to the records instead of starting them again")
    parser.add_argument("--fmnist-epochs", type=int, default=2)
    parser.add_argument("--summarize", nargs="+", metavar="JSONL")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    if args.summarize:
        print(summarize([json.loads(line) for path in args.summarize for line in open(path) if line.strip()])[0])
        return 0
    configs = [c for c in args.configs.split(",") if c] or grid()
    pairs = ["moons"] if args.quick else [p for p in args.pairs.split(",") if p]
    seeds = [0] if args.quick else [int(s) for s in args.seeds.split(",")]
    if args.quick:
        configs = [FORMER_DEFAULT, "64/constant/1"]
    elif not args.append and os.path.exists(RECORDS):
        os.remove(RECORDS)
    print(f"{datetime.datetime.now().isoformat(timespec='seconds')} load {os.getloadavg()}", flush=True)
    records = []
    for pair in pairs:
        problem = problems.load(pair, quick=args.quick, **({"epochs": args.fmnist_epochs} if pair == "fmnist" else {}))
        print(problem.settings(), flush=True)
        for seed in seeds:
            for config in configs:
                record = run(problem, config, seed)
                records.append(record)
                print(json.dumps(record), flush=True)
                if not args.quick:
                    with open(RECORDS, "a") as handle:
                        handle.write(json.dumps(record) + "\n")
    print(summarize(records)[0])
    print(f"{datetime.datetime.now().isoformat(timespec='seconds')} load {os.getloadavg()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
