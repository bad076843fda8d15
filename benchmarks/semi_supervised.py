"""Semi-supervised learners against FixMatch and supervised-only, Fashion-MNIST, 5 labels per class.

Setting (fixed before any run, nothing tuned on test):

- data: Fashion-MNIST (offline, `keras_transfer.data.load_fashion_mnist`), all 10 classes.
  A validation pool of 100 training images per class (1,000, drawn once, the same for every
  seed and method) selects the checkpoint; each seed draws 5 labelled training images per class
  (50) from the rest; every other training image is unlabelled (58,950 images, labels
  dropped). Reported: accuracy on the 10,000 test images. The validation pool holds 20x more
  labels than the training set: it only picks a checkpoint (as in most SSL papers), which
  flatters every method alike.
- network: `keras_transfer.cli.demo.small_cnn` (3 convolutions 32/64/128, no BatchNorm) + a
  10-way softmax head, `kt.build_classifier(..., preprocessing="unit", freeze=False)`, random
  init; the same initial weights (built once per seed) for every method of a seed.
- budget, the same for every method: `--steps` 2,000 train steps of 16 labelled images (+ 7 x
  16 = 112 unlabelled images for the learners, `unlabeled_ratio=7`, via
  `keras_transfer.ssl.ssl_dataset`), Adam 1e-3; validation accuracy every 100 steps, the best
  (ties: lower val loss) weights kept (`generative_transfer.BestOnValidation`).
  The issue's benchmark network costs about 0.6 s per FixMatch step; this one about 70 ms
  on 2 idle cores (supervised 8, pseudo_label 35, mean_teacher 50, uda 70, flexmatch 77 ms),
  so 6 methods x 3 seeds x 2,000 steps take about 35-40 min on an idle machine, leaving
  room for the slow-down of other jobs sharing the cores (target: about an hour).
- methods: supervised (the classifier alone on the labelled images, `WeakAugment` in the
  input pipeline: the learners' weak view, with its own random draws); fixmatch, pseudo_label, mean_teacher, uda,
  flexmatch: `keras_transfer.ssl.*` with the package defaults (see `DEFAULTS`; `seed=seed`
  for the augmentations). MeanTeacher reports its student (what `predict` runs), like the
  others; the teacher's test accuracy at the same checkpoint is recorded as well.
- step time: median ms per train step (a callback around each batch), steps after the first
  evaluation interval (tracing excluded), measured in the same run as the accuracy; and, since
  those sequential runs see different loads from other jobs, again after the runs with every
  method interleaved (`--timing-rounds` 5 rounds of `--timing-steps` 30 steps, alternating order).

Commands (one JSON line per run is appended to --out as it finishes; a rerun skips runs
already there with the same config; the table is rewritten at the end):

    nohup nice -n 10 python -m benchmarks.semi_supervised > /tmp/ssl_bench.log 2>&1 &
    python -m benchmarks.semi_supervised --summarize      # rewrite the table only
    python -m benchmarks.semi_supervised --quick          # smoke run (temp output, ~2 min)
"""

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_transfer as kt  # noqa: E402
from benchmarks import _fashion_transfer as task  # noqa: E402
from benchmarks.generative_transfer import BestOnValidation  # noqa: E402
from benchmarks.generative_transfer import accuracy  # noqa: E402
from benchmarks.generative_transfer import labelled_stream  # noqa: E402
from benchmarks.pssl_step_time import StepTimer  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
METHODS = ("supervised", "fixmatch", "pseudo_label", "mean_teacher", "uda", "flexmatch")
LEARNERS = {"fixmatch": "FixMatch", "pseudo_label": "PseudoLabel", "mean_teacher": "MeanTeacher",
            "uda": "UDA", "flexmatch": "FlexMatch"}
# The package defaults of each learner (not passed: read here only to print them in the table).
DEFAULTS = {
    "fixmatch": "threshold 0.95, unlabeled_weight 1",
    "pseudo_label": "threshold 0.95, warmup 0, rampup 1000 steps, unlabeled_weight 1",
    "mean_teacher": "ema_decay 0.99, sigmoid rampup 1000 steps, unlabeled_weight 10",
    "uda": "threshold 0.8, temperature 0.4, unlabeled_weight 1",
    "flexmatch": "threshold 0.95, convex mapping, warm-up, status_momentum 0.99, unlabeled_weight 1",
}
COMMAND = "nohup nice -n 10 python -m benchmarks.semi_supervised > /tmp/ssl_bench.log 2>&1 &"
FULL = dict(labels_per_class=5, validation_per_class=100, unlabeled=None, steps=2000, eval_every=100,
            batch=16, unlabeled_ratio=7, learning_rate=1e-3)
QUICK = dict(FULL, validation_per_class=20, unlabeled=2000, steps=40, eval_every=20)


def splits(y_train, labels_per_class, validation_per_class, unlabeled, seed):
    """Indices (labelled, validation, unlabelled): validation fixed, labelled drawn per seed."""
    fixed = np.random.default_rng(10_000)
    validation = np.concatenate([fixed.choice(np.flatnonzero(y_train == c), validation_per_class, replace=False)
                                 for c in range(10)])
    rest = np.setdiff1d(np.arange(len(y_train)), validation)
    rng = np.random.default_rng(seed)
    labelled = np.concatenate([rng.choice(rest[y_train[rest] == c], labels_per_class, replace=False)
                               for c in range(10)])
    pool = np.setdiff1d(rest, labelled)
    if unlabeled:
        pool = np.sort(fixed.choice(pool, unlabeled, replace=False))
    return labelled, validation, pool


def network(init=None):
    from keras_transfer.cli.demo import small_cnn

    model = kt.build_classifier(small_cnn(), 10, input_shape=(28, 28, 1), preprocessing="unit", freeze=False)
    if init is not None:
        model.set_weights(init)
    return model


class Selected(BestOnValidation):
    """`BestOnValidation` that also records the last step's test accuracy before restoring the best."""

    def __init__(self, classifier, test):
        super().__init__()
        self.classifier, self.test, self.last_test = classifier, test, None

    def on_train_end(self, logs=None):
        self.last_test = accuracy(self.classifier, self.test)
        super().on_train_end(logs)


def build(method, seed, data, init, config):
    """`(classifier, model to fit, its input stream)` of one method, compiled."""
    (x_l, y_l), _, x_u, _ = data
    keras.utils.set_random_seed(seed)
    classifier = network(init)
    optimizer = keras.optimizers.Adam(config["learning_rate"])
    if method == "supervised":
        trained = classifier
        trained.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
        stream = labelled_stream(x_l, y_l, config["batch"], seed)
    else:
        trained = getattr(kt.ssl, LEARNERS[method])(classifier, unlabeled_ratio=config["unlabeled_ratio"], seed=seed)
        trained.compile(optimizer, "auto", metrics=["accuracy"])  # sparse cross-entropy on the labelled batch
        stream = kt.ssl.ssl_dataset((x_l, y_l), x_u, batch_size=config["batch"],
                                    unlabeled_ratio=config["unlabeled_ratio"], seed=seed).repeat()
    return classifier, trained, stream


def run_one(method, seed, data, init, config):
    _, validation, _, test = data
    classifier, trained, stream = build(method, seed, data, init, config)
    timer, selected = StepTimer(), Selected(classifier, test)
    start = time.perf_counter()
    history = trained.fit(stream, steps_per_epoch=config["eval_every"], epochs=config["steps"] // config["eval_every"],
                          validation_data=validation, callbacks=[timer, selected], verbose=0).history
    seconds = time.perf_counter() - start
    row = {"test": accuracy(classifier, test), "val": selected.best[0], "best_step": (selected.epoch + 1) * config["eval_every"],
           "last_test": selected.last_test, "ms_per_step": 1000 * float(np.median(timer.times[config["eval_every"]:])),
           "seconds": round(seconds, 1), "val_history": [round(v, 4) for v in history["val_accuracy"]]}
    for name in ("mask_rate", "unlabeled_weight"):
        if name in history:
            row[f"final_{name}"] = round(float(history[name][-1]), 4)
    if method == "mean_teacher":
        row["teacher_test"] = accuracy(trained.teacher, test)
    return row


def interleaved_times(data, init, config, rounds, steps):
    """Median ms per step of every method, in rounds of `steps` steps alternating the order
    (after a warm-up round each), so that load from other processes hits all alike."""
    runs = {method: build(method, 0, data, init, config)[1:] for method in METHODS}
    timers = {method: StepTimer() for method in METHODS}
    for index in range(rounds + 1):
        for method in METHODS if index % 2 == 0 else METHODS[::-1]:
            trained, stream = runs[method]
            trained.fit(stream, steps_per_epoch=steps, epochs=1, verbose=0,
                        callbacks=[timers[method]] if index else [])
    return {method: 1000 * float(np.median(timer.times)) for method, timer in timers.items()}


def load_rows(path):
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _pm(values, digits=4, signed=False):
    values = np.asarray(values, dtype=float)
    return f"{values.mean():{'+' if signed else ''}.{digits}f} ± {values.std():.{digits}f}"


def summarize(rows, config, started_load, command=COMMAND):
    rows = [r for r in rows if r["config"] == config]
    latest = {(r["seed"], r["method"]): r for r in rows}
    seeds = sorted({s for s, m in latest if all((s, other) in latest for other in METHODS)})
    done = [latest[(s, m)] for s in seeds for m in METHODS]
    get = lambda method, key: np.array([latest[(s, method)][key] for s in seeds], dtype=float)  # noqa: E731
    wall = sum(r["seconds"] for r in done)
    loads = sorted({tuple(r["load_at_start"]) for r in done})
    timing = latest.get((None, "timing"))
    lines = [
        "# Semi-supervised learners vs FixMatch and supervised-only (Fashion-MNIST, 5 labels per class)", "",
        f"Generated by `benchmarks/semi_supervised.py` on {datetime.date.today().isoformat()}"
        f" ({platform.node()}, {os.cpu_count()} CPUs, Keras {keras.__version__}).", "",
        "```bash", command, "```", "",
        f"Setting: 10 classes, {config['labels_per_class']} labelled training images per class drawn per seed;"
        f" unlabelled: {'the rest of the training split' if not config['unlabeled'] else str(config['unlabeled']) + ' other training images'}"
        f" ({done[0]['n_unlabeled'] if done else '?'} images); checkpoint chosen on a fixed validation pool of"
        f" {config['validation_per_class']} training images per class (disjoint from the labelled ones),"
        f" evaluated every {config['eval_every']} steps; test: the 10,000 test images.",
        f"Budget, the same for every method and seed: {config['steps']} steps, labelled batch {config['batch']}"
        f" (+ {config['batch'] * config['unlabeled_ratio']} unlabelled for the learners), Adam"
        f" {config['learning_rate']:g}, `small_cnn` + softmax head from the same random init per seed."
        f" Seeds: {seeds}. Total training wall time: {wall / 60:.1f} min (sum over runs).",
        "Machine load average (1, 5, 15 min) at the start of the invocation(s) that ran them:"
        f" {'; '.join(' '.join(f'{v:.2f}' for v in load) for load in loads)}"
        + ("" if started_load is None else f" (this invocation: {' '.join(f'{v:.2f}' for v in started_load)})")
        + "; run under `nice -n 10` on a shared machine, so step times are indicative.", "",
        "| method | test accuracy, mean ± std | per seed | vs FixMatch (paired) | vs supervised (paired)"
        " | seeds above FixMatch / supervised | in-run median ms / step (/ FixMatch) | interleaved ms / step (/ FixMatch)"
        " | s / run | val acc | best step | last-step test | final mask rate |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    if not seeds:
        return "\n".join(lines + ["", "No complete seed yet."]) + "\n"
    fix_ms = get("fixmatch", "ms_per_step").mean()
    for method in METHODS:
        test = get(method, "test")
        versus = lambda base: "—" if method == base else _pm(test - get(base, "test"), signed=True)  # noqa: E731
        mask = [latest[(s, method)].get("final_mask_rate") for s in seeds]
        ms = get(method, "ms_per_step").mean()
        wins = lambda base: "—" if method == base else f"{int((test > get(base, 'test')).sum())}/{len(seeds)}"  # noqa: E731
        interleaved = "—" if timing is None else (
            f"{timing['ms'][method]:.1f} ({timing['ms'][method] / timing['ms']['fixmatch']:.2f}x)")
        lines.append(
            f"| {method} | {_pm(test)} | {', '.join(f'{v:.4f}' for v in test)} | {versus('fixmatch')}"
            f" | {versus('supervised')} | {wins('fixmatch')}, {wins('supervised')} | {ms:.1f} ({ms / fix_ms:.2f}x)"
            f" | {interleaved} | {get(method, 'seconds').mean():.0f}"
            f" | {get(method, 'val').mean():.4f}"
            f" | {', '.join(str(latest[(s, method)]['best_step']) for s in seeds)} | {_pm(get(method, 'last_test'))}"
            f" | {'—' if mask[0] is None else ', '.join(f'{m:.2f}' for m in mask)} |")
    teacher = get("mean_teacher", "teacher_test")
    lines += ["", "Method hyper-parameters: the package defaults, `unlabeled_ratio=7` for all, fixed in advance:", ""]
    lines += [f"- {m}: {DEFAULTS[m]}" for m in LEARNERS]
    lines += [
        "", "Notes:", "",
        "- Paired differences: per seed (same labelled images, init and steps), mean ± std over seeds;"
        " std is the population std (ddof 0) over 3 seeds, so differences within about 2 std are not resolved.",
        "- Step time: median over the steps after the first evaluation interval, mean over seeds;"
        " supervised's step has no unlabelled images (16 images vs 16 + 112 x views). The runs are"
        " sequential, so a change of the machine's load between runs moves the ratios; s / run"
        " (training wall time incl. validation, mean over seeds) shows how much. The interleaved column"
        " is measured apart, after the runs: "
        + ("not run yet." if timing is None else
           f"every method built as for seed 0, a warm-up round of {timing['steps']} steps each, then"
           f" {timing['rounds']} rounds of {timing['steps']} steps alternating the order (load average"
           f" {timing['load_at_start'][0]:.2f} at start, {timing['load_at_end'][0]:.2f} at end): the ratios to use."),
        f"- Validation accuracy at the first evaluation (step {config['eval_every']}), mean over seeds: "
        + ", ".join(f"{m} {np.mean([latest[(s, m)]['val_history'][0] for s in seeds]):.3f}" for m in METHODS) + ".",
        f"- MeanTeacher's teacher (EMA) at the same checkpoint: test {_pm(teacher)}"
        f" (student above; paired teacher - student {_pm(teacher - get('mean_teacher', 'test'), signed=True)}).",
        "- final mask rate: share of the last step's unlabelled batch above the (class) threshold"
        " (mean_teacher has none).",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--steps", type=int, default=FULL["steps"])
    parser.add_argument("--out", default=os.path.join(RESULTS, "semi_supervised.jsonl"))
    parser.add_argument("--md", default=os.path.join(RESULTS, "semi_supervised.md"))
    parser.add_argument("--timing-rounds", type=int, default=5, help="rounds of the interleaved step timing")
    parser.add_argument("--timing-steps", type=int, default=30, help="steps per method and round")
    parser.add_argument("--no-timing", action="store_true", help="skip the interleaved step timing")
    parser.add_argument("--summarize", action="store_true", help="rewrite the table from --out and exit")
    parser.add_argument("--quick", action="store_true", help="1 seed, 40 steps, 2,000 unlabelled; temp output")
    args = parser.parse_args(argv)
    load = list(os.getloadavg())
    config = dict(QUICK if args.quick else FULL, steps=40 if args.quick else args.steps)
    if args.quick:
        args.seeds = args.seeds[:1]
        scratch = tempfile.mkdtemp(prefix="ssl_bench_quick_")
        args.out, args.md = os.path.join(scratch, "semi_supervised.jsonl"), os.path.join(scratch, "semi_supervised.md")
    command = COMMAND if argv is None and sys.argv[1:] == [] else "python -m benchmarks.semi_supervised " + " ".join(
        sys.argv[1:] if argv is None else argv)
    if args.summarize:
        text = summarize(load_rows(args.out), config, None, COMMAND)
        with open(args.md, "w") as handle:
            handle.write(text)
        print(text)
        return 0
    print(f"semi-supervised benchmark: {platform.node()}, {os.cpu_count()} CPUs, load {load}, config {config}, "
          f"seeds {args.seeds}, out {args.out}", flush=True)
    done = {(r["seed"], r["method"]) for r in load_rows(args.out) if r["config"] == config}
    (x_train, y_train), (x_test, y_test) = task.load()

    def seed_data(seed):
        labelled, validation, pool = splits(y_train, config["labels_per_class"], config["validation_per_class"],
                                            config["unlabeled"], seed)
        data = ((x_train[labelled], y_train[labelled]), (x_train[validation], y_train[validation]), x_train[pool],
                (x_test, y_test))
        keras.utils.set_random_seed(seed)
        init = network().get_weights()
        keras.backend.clear_session()
        return data, init, labelled, pool

    start = time.time()
    for seed in args.seeds:
        data, init, labelled, pool = seed_data(seed)
        for method in args.methods:
            if (seed, method) in done:
                print(f"seed={seed} {method}: already in {args.out}, skipped", flush=True)
                continue
            row = {"seed": seed, "method": method, "mode": "quick" if args.quick else "full", "config": config,
                   "n_labeled": len(labelled), "n_unlabeled": len(pool), "load_at_start": load,
                   "init_checksum": round(float(sum(np.abs(w).sum() for w in init)), 3),
                   **run_one(method, seed, data, init, config)}
            row["date"] = datetime.datetime.now().isoformat(timespec="seconds")
            with open(args.out, "a") as handle:
                handle.write(json.dumps(row) + "\n")
            print(f"seed={seed} {method:<12} test {row['test']:.4f} (val {row['val']:.4f} at step {row['best_step']},"
                  f" last {row['last_test']:.4f}) mask {row.get('final_mask_rate', '-')} {row['ms_per_step']:.1f} ms/step"
                  f" {row['seconds']:.0f} s", flush=True)
            keras.backend.clear_session()
    if (None, "timing") not in done and not args.no_timing:
        rounds, steps = (1, 5) if args.quick else (args.timing_rounds, args.timing_steps)
        row = {"seed": None, "method": "timing", "mode": "quick" if args.quick else "full", "config": config,
               "rounds": rounds, "steps": steps, "load_at_start": list(os.getloadavg())}
        tic, (data, init, _, _) = time.time(), seed_data(0)
        row["ms"] = interleaved_times(data, init, config, rounds, steps)
        row.update(load_at_end=list(os.getloadavg()), seconds=round(time.time() - tic, 1),
                   date=datetime.datetime.now().isoformat(timespec="seconds"))
        with open(args.out, "a") as handle:
            handle.write(json.dumps(row) + "\n")
        print("interleaved ms/step: " + ", ".join(f"{m} {v:.1f}" for m, v in row["ms"].items())
              + f" ({row['seconds']:.0f} s)", flush=True)
        keras.backend.clear_session()
    text = summarize(load_rows(args.out), config, load, command if args.quick else COMMAND)
    with open(args.md, "w") as handle:
        handle.write(text)
    print(text)
    print(f"total {time.time() - start:.0f} s; out {args.out}; table {args.md}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
