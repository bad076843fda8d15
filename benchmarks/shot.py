"""SHOT (source-free domain adaptation) vs source-only and DANN on the domain adaptation benchmark's shifts.

Pairs, data, encoder, source recipe and seeds are those of `benchmarks/domain_adaptation.py`
(imported from it; see docs/domain_adaptation.md): digits = font-rendered digits -> UCI handwritten
digits (1,000 unlabelled target / 300 labelled target val / 497 test); fmnist = Fashion-MNIST ->
Fashion-MNIST-M (20,000 unlabelled target, 1,000 val, first 5,000 test; `--target-subset N` uses the
first N unlabelled target images for SHOT only).

Protocol, per pair and seed:
  source_only: `keras.Sequential([encoder, Dense(10, softmax)])` trained on labelled source exactly as
    the benchmark's `source_only` (SGD momentum 0.9, lr 0.01 / (1 + 10 p)^0.75, batch 64, digits 8 x 100
    steps, fmnist 8 x 200); the epoch (checkpoint) with the best target val accuracy is kept; its test
    accuracy is reported (and the last epoch's). Plain cross-entropy, plain Dense classifier: NO label
    smoothing and NO weight-normalised classifier (SHOT's paper uses both; here the source model is
    the benchmark's baseline, unchanged).
  shot: from that checkpoint, `kt.test_time.SHOT(encoder, classifier)` (defaults: pseudo_label_weight
    0.3, diversity_weight 1.0; the classifier frozen) fit on the unlabelled target train inputs only,
    Adam, batch 64, lr in --lrs, --shot-epochs epochs; after every epoch target val and test accuracy.
    Selected: the (lr, epoch) with the best val accuracy (ties: the later epoch, then the smaller lr);
    also reported: each lr at its best epoch, and the last epoch of the selected lr (unselected epoch).
  dann: `domain_adaptation.run(pair, "dann", w, seed, ...)` for w in its grid {0.3, 1} (weight and
    epoch selected on target val, as in that benchmark); `--no-dann` skips it (then quote
    docs/domain_adaptation.md).

    nice -n 10 python benchmarks/shot.py --pair digits --seeds 0,1,2
    nice -n 10 python benchmarks/shot.py --pair fmnist --seeds 0,1,2 --no-dann --target-subset 5000
    python benchmarks/shot.py --quick            # about a minute, smoke test
    python benchmarks/shot.py --summarize        # -> benchmarks/results/shot.md

One JSON line per pair and seed is appended to --out as soon as it is done.
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
import tensorflow as tf  # noqa: E402

import keras_transfer as kt  # noqa: E402
from benchmarks import domain_adaptation as da  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
LRS = (1e-4, 3e-4, 1e-3)
COMMANDS = ("nice -n 10 python benchmarks/shot.py --pair digits --seeds 0,1,2",
            "nice -n 10 python benchmarks/shot.py --pair fmnist --seeds 0,1,2 --no-dann --target-subset 5000",
            "python benchmarks/shot.py --summarize")


class KeepBest(da.Evaluate):
    """The benchmark's per-epoch val/test evaluation, keeping the weights of the best-val epoch."""

    def __init__(self, data, predict, model):
        super().__init__(data, predict)
        self.target, self.best, self.best_val = model, None, -1.0

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if self.records[-1]["val"] >= self.best_val:  # ties: the later epoch, as the benchmark's selection
            self.best_val, self.best = self.records[-1]["val"], self.target.get_weights()


def accuracy(predict, x, y):
    return float(np.mean(predict(x).argmax(-1) == y))


def train_source(pair, seed, data, config):
    """The benchmark's source_only run (same seed, optimizer, data order), returning the best-val model."""
    keras.utils.set_random_seed(seed)
    steps, epochs, batch = config["steps"], config["epochs"], config["batch"]
    optimizer = keras.optimizers.SGD(da.DannLearningRate(config["lr"], steps * epochs), momentum=0.9)
    features = da.encoder(pair, data["x_source"].shape[1:])
    head = da.classifier(features.output_shape[-1])
    model = keras.Sequential([features, head])
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
    keep = KeepBest(data, lambda x: model.predict(x, batch_size=1024, verbose=0), model)
    source = (tf.data.Dataset.from_tensor_slices((data["x_source"], data["y_source"]))
              .shuffle(len(data["y_source"]), seed=seed).repeat().batch(batch).prefetch(-1))
    start = time.perf_counter()
    model.fit(source, epochs=epochs, steps_per_epoch=steps, callbacks=[keep], verbose=0)
    seconds = time.perf_counter() - start
    model.set_weights(keep.best)
    best = max(keep.records, key=lambda r: (r["val"], r["epoch"]))
    row = {"best_epoch": best["epoch"], "val": best["val"], "test": best["test"],
           "last_test": keep.records[-1]["test"], "seconds": seconds,
           "history": [{k: r[k] for k in ("epoch", "val", "test")} for r in keep.records]}
    return model, row


def run_shot(pair, seed, data, source_model, lr, epochs, batch, x_target):
    keras.utils.set_random_seed(seed)
    features = da.encoder(pair, data["x_source"].shape[1:])
    head = da.classifier(features.output_shape[-1])
    features.set_weights(source_model.layers[0].get_weights())
    head.set_weights(source_model.layers[1].get_weights())
    shot = kt.test_time.SHOT(features, head)
    shot.compile(optimizer=keras.optimizers.Adam(lr))
    predict = lambda x: shot.predict(x, batch_size=1024, verbose=0)  # noqa: E731
    start_val, start_test = accuracy(predict, data["x_val"], data["y_val"]), accuracy(predict, data["x_test"], data["y_test"])
    evaluate = da.Evaluate(data, predict)
    start = time.perf_counter()
    shot.fit(x_target, batch_size=batch, epochs=epochs, shuffle=True, callbacks=[evaluate], verbose=0)
    seconds = time.perf_counter() - start
    best = max(evaluate.records, key=lambda r: (r["val"], r["epoch"]))
    history = [{k: round(v, 4) for k, v in r.items()} for r in evaluate.records]
    return {"lr": lr, "best_epoch": best["epoch"], "val": best["val"], "test": best["test"],
            "last_test": evaluate.records[-1]["test"], "start_val": start_val, "start_test": start_test,
            "seconds": seconds, "history": history}


def run_dann(pair, seed, data, config, weights):
    rows = [da.run(pair, "dann", w, seed, data, config) for w in weights]
    chosen = max(rows, key=lambda r: (r["val"], -r["weight"]))  # the benchmark's selection of the weight
    slim = lambda r: {k: r[k] for k in ("weight", "best_epoch", "val", "test", "last_test", "seconds")}  # noqa: E731
    return {**slim(chosen), "per_weight": [slim(r) for r in rows]}


def one_seed(pair, seed, data, config, args, lrs, shot_epochs):
    row = {"pair": pair, "seed": seed, "mode": "quick" if args.quick else "full", "config": config}
    model, row["source_only"] = train_source(pair, seed, data, config)
    src = row["source_only"]
    print(f"[{pair}] seed={seed} source_only: val {src['val']:.3f} test {src['test']:.3f} (epoch {src['best_epoch']})"
          f" last {src['last_test']:.3f} {src['seconds']:.0f}s", flush=True)
    x_target = data["x_target"][: args.target_subset] if args.target_subset else data["x_target"]
    per_lr = []
    for lr in lrs:
        r = run_shot(pair, seed, data, model, lr, shot_epochs, config["batch"], x_target)
        per_lr.append(r)
        print(f"[{pair}] seed={seed} shot lr={lr:g}: start test {r['start_test']:.3f}; val {r['val']:.3f} test"
              f" {r['test']:.3f} (epoch {r['best_epoch']}) last {r['last_test']:.3f} {r['seconds']:.0f}s", flush=True)
    chosen = max(per_lr, key=lambda r: (r["val"], -r["lr"]))
    row["shot"] = {**{k: chosen[k] for k in ("lr", "best_epoch", "val", "test", "last_test")},
                   "n_target": len(x_target), "per_lr": per_lr}
    if args.dann:
        row["dann"] = run_dann(pair, seed, data, config, (1.0,) if args.quick else da.GRID["dann"])
        d = row["dann"]
        print(f"[{pair}] seed={seed} dann w={d['weight']:g}: val {d['val']:.3f} test {d['test']:.3f}"
              f" (epoch {d['best_epoch']}) last {d['last_test']:.3f}", flush=True)
    return row


# ----------------------------------------------------------------------------- summary
def _ms(values):
    values = np.asarray(values, dtype=float)
    return f"{values.mean():.3f} ± {values.std():.3f}"


def summarize(path, mode="full"):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    latest = {}
    for row in rows:  # the latest line per (pair, seed) of this mode
        if row.get("mode") == mode:
            latest[(row["pair"], row["seed"])] = row
    lines = ["# SHOT vs source-only and DANN (target test accuracy; epoch / lr / weight selected on target val)",
             "", "Commands:", "", "```bash", *COMMANDS, "```", "",
             "Source model: the domain adaptation benchmark's source_only (plain cross-entropy, plain Dense"
             " softmax classifier; no label smoothing, no weight normalisation, unlike SHOT's paper)."]
    for pair in ("digits", "fmnist"):
        runs = [latest[k] for k in sorted(latest) if k[0] == pair]
        if not runs:
            continue
        seeds = [r["seed"] for r in runs]
        src = np.array([r["source_only"]["test"] for r in runs])
        n_target = runs[0]["shot"]["n_target"]
        lines += ["", f"## {pair} (seeds {', '.join(map(str, seeds))}; SHOT on {n_target} unlabelled target images,"
                  f" {len(runs[0]['shot']['per_lr'][0]['history'])} epochs)", "",
                  "| method | chosen (per seed) | test acc, mean ± std | paired diff vs source-only, mean ± std (min)"
                  " | test acc, last epoch | val acc | s/run |", "|---|---|---|---|---|---|---|"]

        def add(name, chosen, entries, seconds):
            test = np.array([e["test"] for e in entries])
            diff = test - src
            lines.append(f"| {name} | {chosen} | {_ms(test)} | {diff.mean():+.3f} ± {diff.std():.3f} ({diff.min():+.3f})"
                         f" | {_ms([e['last_test'] for e in entries])} | {np.mean([e['val'] for e in entries]):.3f}"
                         f" | {np.mean(seconds):.0f} |")

        add("source_only", "epoch " + ", ".join(str(r["source_only"]["best_epoch"]) for r in runs),
            [r["source_only"] for r in runs], [r["source_only"]["seconds"] for r in runs])
        add("shot (lr and epoch on val)", ", ".join(f"{r['shot']['lr']:g}/ep{r['shot']['best_epoch']}" for r in runs),
            [r["shot"] for r in runs], [sum(p["seconds"] for p in r["shot"]["per_lr"]) for r in runs])
        for i, lr in enumerate(p["lr"] for p in runs[0]["shot"]["per_lr"]):
            entries = [r["shot"]["per_lr"][i] for r in runs]
            add(f"shot lr={lr:g} (epoch on val)", "ep " + ", ".join(str(e["best_epoch"]) for e in entries), entries,
                [e["seconds"] for e in entries])
        dann = [r for r in runs if r.get("dann")]
        if len(dann) == len(runs):
            add("dann (weight and epoch on val)", ", ".join(f"{r['dann']['weight']:g}/ep{r['dann']['best_epoch']}"
                                                             for r in runs),
                [r["dann"] for r in runs], [sum(p["seconds"] for p in r["dann"]["per_weight"]) for r in runs])
            gap = np.array([r["shot"]["test"] - r["dann"]["test"] for r in runs])
            lines.append(f"\nPaired SHOT - DANN: {gap.mean():+.3f} ± {gap.std():.3f} (min {gap.min():+.3f},"
                         f" max {gap.max():+.3f}).")
        else:
            lines.append("\nDANN not run here: see docs/domain_adaptation.md's table for this pair.")
        start = [p["start_test"] - r["source_only"]["test"] for r in runs for p in r["shot"]["per_lr"]]
        lines.append(f"Check: SHOT's accuracy before fitting minus source-only's, max |diff| = {np.max(np.abs(start)):.4f}"
                     " (should be 0: the same weights).")
        lines += ["", "Per seed (test acc): " + "; ".join(
            f"seed {r['seed']}: source {r['source_only']['test']:.3f}, shot {r['shot']['test']:.3f}"
            + (f", dann {r['dann']['test']:.3f}" if r.get("dann") else "") for r in runs) + "."]
        lines += ["", "SHOT test (val) accuracy after epochs 1, 2, ..., mean over seeds (epoch 0 = source_only):", ""]
        for i, lr in enumerate(p["lr"] for p in runs[0]["shot"]["per_lr"]):
            hist = np.array([[(h["val"], h["test"]) for h in r["shot"]["per_lr"][i]["history"]] for r in runs])
            lines.append(f"- lr={lr:g}: test " + " ".join(f"{v:.3f}" for v in hist[..., 1].mean(0))
                         + f" (val " + " ".join(f"{v:.3f}" for v in hist[..., 0].mean(0)) + ")")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pair", default="all", choices=("digits", "fmnist", "all"))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--lrs", default=",".join(map(str, LRS)), help="SHOT Adam learning rates")
    parser.add_argument("--shot-epochs", type=int, default=None, help="digits 15, fmnist 8, quick 2")
    parser.add_argument("--target-subset", type=int, default=None, help="first N unlabelled target images for SHOT")
    parser.add_argument("--no-dann", dest="dann", action="store_false")
    parser.add_argument("--quick", action="store_true", help="digits, seed 0, tiny data and few steps")
    parser.add_argument("--out", default=os.path.join(RESULTS, "shot.jsonl"))
    parser.add_argument("--summarize", action="store_true", help="write the markdown tables of --out and exit")
    parser.add_argument("--md", default=os.path.join(RESULTS, "shot.md"))
    parser.add_argument("--mode", default="full", choices=("full", "quick"), help="which runs --summarize reads")
    args = parser.parse_args(argv)
    if args.summarize:
        text = summarize(args.out, args.mode)
        with open(args.md, "w") as handle:
            handle.write(text)
        print(text)
        return
    pairs = ["digits", "fmnist"] if args.pair == "all" else [args.pair]
    seeds = [int(s) for s in args.seeds.split(",") if s]
    if args.quick:
        pairs, seeds = (["digits"] if args.pair == "all" else pairs), seeds[:1]
    lrs = [float(v) for v in args.lrs.split(",") if v]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    for pair in pairs:
        config = {"batch": 64, "lr": 0.01, "steps": 20 if args.quick else (200 if pair == "fmnist" else 100),
                  "epochs": 2 if args.quick else 8}
        shot_epochs = args.shot_epochs or (2 if args.quick else (8 if pair == "fmnist" else 15))
        data = da.load_pair(pair, quick=args.quick)
        print(f"[{pair}] source {data['x_source'].shape} target {data['x_target'].shape} val {data['x_val'].shape}"
              f" test {data['x_test'].shape}; {config}; shot epochs {shot_epochs} lrs {lrs}", flush=True)
        for seed in seeds:
            start = time.perf_counter()
            row = one_seed(pair, seed, data, config, args, lrs, shot_epochs)
            row["seconds"] = time.perf_counter() - start
            with open(args.out, "a") as handle:
                handle.write(json.dumps(row) + "\n")
            print(f"[{pair}] seed={seed} done in {row['seconds']:.0f}s", flush=True)
    if args.quick:
        print(summarize(args.out, "quick"))


if __name__ == "__main__":
    main()
