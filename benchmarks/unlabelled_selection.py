"""Model selection without target labels on the real pairs: IWCV, DEV and reverse validation against a labelled target split.

A domain adaptation run has hyper-parameters (the alignment weight) and a
checkpoint (the epoch) to choose, and the target labels that would choose
them are what the user does not have. For each pair, seed and method, every
candidate is scored by each criterion and each criterion picks one
candidate; reported: the target *test* accuracy of its pick and the accuracy
lost against the pick of a labelled target validation split (the oracle the
other benchmarks select with), mean ± std over seeds.

Candidates: the weights of `GRID[method]` times the epochs 1..E, plus the
source-only run (weight 0, its last epoch), so a criterion may also decline to
adapt. Networks, data splits, SGD with the DANN rate decay and the reversal
ramp are those of `benchmarks/domain_adaptation.py` (8 epochs of 100 steps on
digits; 4 of 200 on Fashion-MNIST, half its budget, for time); 500 (digits) or 1,000
(Fashion-MNIST) source examples are held out as labelled source validation.

Criteria (none but the first reads a target label):
- `target val` (the oracle): accuracy on the labelled target validation split;
- `source val acc`: accuracy on the held-out source examples (what a user
  without any DA-aware tool would monitor);
- `IWCV` / `DEV`: `keras_transfer.callbacks.ImportanceWeightedValidation`
  (cross-entropy, `method="iwcv"` / `"dev"`) with the weights of
  `importance_weights(x_source_val, x_target, method="discriminator",
  feature_extractor=<the source-only run's encoder>)`, as You et al. (2019);
- `reverse val`: `keras_transfer.domain_adaptation.reverse_validation` with
  the same method and weight trained the other way (half the epochs), only at
  the last epoch of each weight (one more training per candidate), so its
  row compares with the oracle restricted to those candidates.

    nice -n 10 python -m benchmarks.unlabelled_selection --pairs digits,fmnist --seeds 0,1,2
    python -m benchmarks.unlabelled_selection --quick        # a few minutes, prints only
    python -m benchmarks.unlabelled_selection --summarize    # the page of saved records
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_transfer as kt  # noqa: E402
from benchmarks import _report  # noqa: E402
from benchmarks import domain_adaptation as da  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
GRID = {"dann": (0.1, 0.3, 1.0), "cdan": (0.1, 0.3, 1.0), "mmd": (0.3, 1.0, 3.0)}
HELD_OUT = {"digits": 500, "fmnist": 1000}
CRITERIA = (("target val", "target_val", max), ("source val acc", "source_val", max),
            ("IWCV (loss)", "iwcv", min), ("DEV (loss)", "dev", min))


class Recorder(keras.callbacks.Callback):
    """Each epoch: the target val / test and source val accuracies, and the IWCV / DEV values already in the logs."""

    def __init__(self, data):
        super().__init__()
        self.data, self.records = data, []

    def on_epoch_end(self, epoch, logs=None):
        accuracy = lambda x, y: float(np.mean(  # noqa: E731
            self.model.predict(x, batch_size=1024, verbose=0).argmax(-1) == y))
        logs = logs or {}
        self.records.append({
            "epoch": epoch + 1, "target_val": accuracy(self.data["x_val"], self.data["y_val"]),
            "test": accuracy(self.data["x_test"], self.data["y_test"]),
            "source_val": accuracy(self.data["x_source_val"], self.data["y_source_val"]),
            "iwcv": float(logs.get("val_iwcv_loss", np.nan)), "dev": float(logs.get("val_dev_loss", np.nan))})


def train(pair, method, weight, seed, source, target, config, callbacks=(), epochs=None):
    """`method` at `weight` (0: source only) on `source=(x, y)` and unlabelled `target`; returns the model."""
    keras.utils.set_random_seed(seed)
    epochs = epochs or config["epochs"]
    steps, batch = config["steps"], config["batch"]
    optimizer = keras.optimizers.SGD(da.DannLearningRate(config["lr"], steps * epochs), momentum=0.9)
    features = da.encoder(pair, source[0].shape[1:])
    head = da.classifier(features.output_shape[-1])
    callbacks = list(callbacks)
    if weight == 0:
        import tensorflow as tf

        model = keras.Sequential([features, head])
        data = tf.data.Dataset.from_tensor_slices(source).shuffle(len(source[1]), seed=seed).repeat().batch(batch)
    else:
        alignment, alignment_weight = da.alignment_for(method, weight)
        model = kt.models.DomainAdaptationModel(features, head, alignment=alignment, alignment_weight=alignment_weight)
        data = kt.data.domain_adaptation_dataset(source=source, target=target, batch_size=batch, seed=seed).repeat()
        if method in ("dann", "cdan"):
            callbacks.insert(0, kt.callbacks.GradientReversalSchedule("dann", max_value=weight, gamma=10.0))
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(data.prefetch(-1), epochs=epochs, steps_per_epoch=steps, callbacks=callbacks, verbose=0)
    return model


def run_seed(pair, methods, seed, data, config, write):
    source = (data["x_source"], data["y_source"])
    validation = (data["x_source_val"], data["y_source_val"])
    start = time.perf_counter()
    recorder = Recorder(data)
    source_only = train(pair, "source_only", 0, seed, source, None, config, [recorder])
    extractor = source_only.layers[0]
    weights, details = kt.domain_adaptation.importance_weights(
        data["x_source_val"], data["x_target"], method="discriminator", feature_extractor=extractor, seed=seed,
        return_details=True)
    estimators = [kt.callbacks.ImportanceWeightedValidation(validation, weights, method=m) for m in ("iwcv", "dev")]
    rows = [{"pair": pair, "seed": seed, "method": "source_only", "weight": 0.0, "seconds": time.perf_counter() - start,
             "weights_ess": float(weights.sum() ** 2 / (weights ** 2).sum() / len(weights)), "details": str(details),
             "history": recorder.records}]
    rows[0]["history"] = rescore(source_only, rows[0]["history"], estimators)
    write(rows[0])
    for method in methods:
        for weight in GRID[method]:
            start = time.perf_counter()
            recorder = Recorder(data)
            model = train(pair, method, weight, seed, source, data["x_target"], config, [*estimators, recorder])
            reverse = kt.domain_adaptation.reverse_validation(
                model, lambda source, target: train(pair, method, weight, seed, source, target, config,
                                                    epochs=max(1, config["epochs"] // 2)),
                source=data["x_source"], target=data["x_target"], validation_data=validation)
            row = {"pair": pair, "seed": seed, "method": method, "weight": weight, "reverse": reverse,
                   "seconds": time.perf_counter() - start, "history": recorder.records}
            write(row)
            print(f"[{pair}] seed {seed} {method} w={weight:g}: last test {row['history'][-1]['test']:.3f}, "
                  f"reverse {reverse:.3f}, {row['seconds']:.0f} s", flush=True)


def rescore(model, history, estimators):
    """The source-only run's IWCV / DEV at its last epoch (its per-epoch values were not logged: weights come after)."""
    for estimator in estimators:
        estimator.set_model(model)
        history[-1][estimator.method] = estimator.value()
    return history


def candidates(rows, pair, seed, method, last_only=False):
    """`(weight, epoch record, reverse score)` of a method's runs and the source-only run of one seed."""
    out = []
    for row in rows:
        if row["pair"] != pair or row["seed"] != seed or row["method"] not in (method, "source_only"):
            continue
        history = row["history"][-1:] if last_only or row["method"] == "source_only" else row["history"]
        out += [(row["weight"], record, row.get("reverse")) for record in history]
    return out


def tables(rows, pairs, methods):
    lines = []
    for pair in pairs:
        seeds = sorted({r["seed"] for r in rows if r["pair"] == pair})
        if not seeds:
            continue
        lines += [f"\n## {pair} ({len(seeds)} seeds: {', '.join(map(str, seeds))})\n",
                  "| method | criterion | target labels | candidates | picks (weight@epoch, per seed) | test acc of the pick"
                  " | lost vs target val (mean ± std, worst) |", "|---|---|---|---|---|---|---|"]
        for method in methods:
            lines += method_rows(rows, pair, seeds, method)
        ess = [r["weights_ess"] for r in rows if r["pair"] == pair and r["method"] == "source_only"]
        lines.append(f"\nEffective sample size of the discriminator weights on the source validation split "
                     f"(fraction of n): {', '.join(f'{e:.2f}' for e in ess)}.")
    return lines


def method_rows(rows, pair, seeds, method):
    out = []
    for label, key, pick, last_only in [*(c + (False,) for c in CRITERIA), ("target val (last epochs)", "target_val",
                                                                            max, True), ("reverse val", "reverse", max, True)]:
        picks, lost = [], []
        for seed in seeds:
            pool = candidates(rows, pair, seed, method, last_only)
            if not any(weight > 0 for weight, _, _ in pool):  # the method did not run on this pair and seed
                continue
            value = (lambda c: c[2] if c[2] is not None else -1.0) if key == "reverse" else (lambda c: c[1][key])
            usable = [c for c in pool if np.isfinite(value(c))]
            chosen = pick(usable, key=value)
            oracle = max(pool, key=lambda c: c[1]["target_val"])
            picks.append(chosen)
            lost.append(oracle[1]["test"] - chosen[1]["test"])
        if not picks:
            continue
        test, lost = np.array([c[1]["test"] for c in picks]), np.array(lost)
        out.append(f"| {method} | {label} | {'yes' if key == 'target_val' else 'no'} | "
                   f"{'last epoch of each weight' if last_only else 'every weight and epoch'} | "
                   f"{', '.join('%g@%d' % (c[0], c[1]['epoch']) for c in picks)} | {test.mean():.3f} ± {test.std():.3f} | "
                   f"{lost.mean():+.3f} ± {lost.std():.3f} ({lost.max():+.3f}) |")
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", default="digits,fmnist")
    parser.add_argument("--methods", default=",".join(GRID))
    parser.add_argument("--fmnist-methods", default="dann", help="the methods run on fmnist (for time)")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", default="digits=8,fmnist=4", help="epochs per pair (steps: 100 digits, 200 fmnist)")
    parser.add_argument("--quick", action="store_true", help="tiny data, 2 epochs of 20 steps, seed 0; prints only")
    parser.add_argument("--output", default=None, help="folder of the .jsonl/.md (default benchmarks/results)")
    parser.add_argument("--summarize", action="store_true", help="the page of the saved records only")
    args = parser.parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else list(argv)
    pairs, methods = args.pairs.split(","), args.methods.split(",")
    started, load, start = _report.prepare(args, "unlabelled_selection", RESULTS)
    saved = []

    def save(row, config):
        saved.append(row)
        if not args.quick:
            with open(args.jsonl, "a") as handle:
                handle.write(json.dumps({**row, "config": config}) + "\n")

    if not args.summarize:
        if os.path.exists(args.jsonl) and not args.quick:
            os.rename(args.jsonl, args.jsonl + ".previous")  # never lose a finished run
        for pair in pairs:
            data = da.load_pair(pair, quick=args.quick)
            held = 100 if args.quick else HELD_OUT[pair]
            data["x_source_val"], data["y_source_val"] = data["x_source"][-held:], data["y_source"][-held:]
            data["x_source"], data["y_source"] = data["x_source"][:-held], data["y_source"][:-held]
            epochs = dict(item.split("=") for item in args.epochs.split(","))
            config = {"batch": 64, "lr": 0.01, "epochs": 2 if args.quick else int(epochs[pair]),
                      "steps": 20 if args.quick else (200 if pair == "fmnist" else 100)}
            for seed in ([0] if args.quick else [int(s) for s in args.seeds.split(",")]):
                run_seed(pair, args.fmnist_methods.split(",") if pair == "fmnist" else methods, seed, data, config,
                         lambda row: save(row, config))
    rows = saved if args.quick else [json.loads(line) for line in open(args.jsonl) if line.strip()]
    parts = ["# Model selection without target labels", "", __doc__.split("\n\n")[1].replace("\n", " "), "",
             __doc__.split("\n\n")[2].replace("\n", " "), "", __doc__.split("\n\n")[3], *tables(rows, pairs, methods)]
    if args.quick:
        print("\n".join(parts))
        return 0
    print(_report.write(args, "unlabelled_selection", parts, started, load, time.time() - start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
