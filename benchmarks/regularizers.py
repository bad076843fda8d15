"""The fine-tuning regularisers against plain fine-tuning and L2-SP, on the demo's transfer task.

Fashion-MNIST classes 0-4 -> 5-9, the setting of `benchmarks/l2sp.py` (whose
runs this script reuses): the demo's small CNN pretrained on classes 0-4 (3
epochs, seed 1234), then every layer fine-tuned on classes 5-9 with `k` = 5
or 20 labelled images per class: 200 steps of batch min(32, 5 k), Adam at
1e-3, for every method. A seed draws the labelled images, the new head's
initial weights and the batch order, the same for every method (paired seeds
0, 1, 2). Each method's strength is chosen from its grid on the validation
pool (200 target training images per class, never labelled shots) by the
mean validation accuracy over seeds; the table gives the test accuracy (the
5,000 target test images) at that choice, mean ± std (ddof 0, as l2sp.py)
over seeds, and the paired difference to plain fine-tuning.

Methods and grids (around each paper's default, from negligible to
dominant here, judged by each term's size after plain fine-tuning):

- plain fine-tuning, L2-SP (alpha; beta = 0.01): `l2sp._fine_tune`, the
  grid of l2sp.py (4 values);
- LwF alpha (T = 2), `LwFModel(model, source)`: 0.1, 1, 10;
- Co-Tuning weight, `CoTuningModel` with `category_relationship` from the
  source model on the labelled images: 0.5, 2.3, 10;
- BSS eta (k = 1) on the pooled 128-d features: 0.001, 0.1, 10, 1000 (the
  paper's 0.001 barely registers here: sigma_min^2 of a batch is ~0.01);
- DELTA alpha (beta = 0.01) on the 7x7x128 feature maps, channel attention
  `delta_attention` from a linear probe (frozen trunk, head alone, Adam 1e-2,
  100 steps; once per k and seed, its seconds added to each DELTA run; the
  fine-tuning starts from the same fresh head as the other methods): 0.001,
  0.01, 0.1. `feature_layer=` cannot name a `build_classifier` model's nested
  backbone (its output is not the outer graph's), so the classifier is re-wired
  flat, an `Identity` "feature_maps" on the backbone output (same layers).
- StochNorm p: the small CNN has no BatchNorm, so a variant with BatchNorm
  after each convolution (`bn_cnn`, momentum 0.9: at 0.99 the source's moving
  statistics lagged its weights; its own source model, BN training) gives
  extra rows against its plain fine-tuning with BN training: BN frozen
  (build_classifier's default) and `apply_stochnorm` p in 0.25, 0.5, 0.75.

Budget: 23 settings x 2 k x 3 seeds = 138 runs of ~10 s plus two source
models, ~35-50 min on 2 shared cores at nice 10. Writes one JSON line per
run to `benchmarks/results/regularizers.jsonl` as it finishes (a rerun skips
the runs already there) and the tables to `benchmarks/results/regularizers.md`.

    nohup nice -n 10 python -m benchmarks.regularizers > /tmp/reg_bench.log 2>&1 &
    python -m benchmarks.regularizers --summarize   # the .md again from the .jsonl (no run metadata)
    python -m benchmarks.regularizers --quick       # a smoke run (~2 min), writes under a temp folder
"""

import argparse
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from benchmarks import _fashion_transfer as task  # noqa: E402
from benchmarks import _report  # noqa: E402
from benchmarks import l2sp  # noqa: E402

GRIDS = {
    "plain": (None,),
    "l2sp": l2sp.GRIDS["l2sp"],
    "lwf": (0.1, 1.0, 10.0),
    "co_tuning": (0.5, 2.3, 10.0),
    "bss": (0.001, 0.1, 10.0, 1000.0),
    "delta": (0.001, 0.01, 0.1),
    "bn_plain": (None,),
    "bn_frozen": (None,),
    "stochnorm": (0.25, 0.5, 0.75),
}
LABELS = {
    "plain": "plain fine-tuning",
    "l2sp": "L2-SP (alpha; beta = 0.01)",
    "lwf": "LwF (alpha; T = 2)",
    "co_tuning": "Co-Tuning (weight)",
    "bss": "BSS (eta; k = 1)",
    "delta": "DELTA (alpha; beta = 0.01, attention)",
    "bn_plain": "BN variant: plain, BN training",
    "bn_frozen": "BN variant: plain, BN frozen",
    "stochnorm": "BN variant: StochNorm (p)",
}
BASELINE = {"bn_frozen": "bn_plain", "stochnorm": "bn_plain"}  # the rest: "plain"
BN_METHODS = ("bn_frozen", "bn_plain", "stochnorm")
PENALTY_LOGS = ("lwf_loss", "co_tuning_loss", "bss_penalty", "delta_penalty")
RESULTS = os.path.join("benchmarks", "results")


def bn_cnn(input_shape=(28, 28, 1), name="bn_cnn"):
    """`small_cnn` with BatchNormalization (momentum 0.9, PyTorch's 0.1) between each convolution and its ReLU."""
    import keras

    inputs = keras.Input(input_shape)
    x = inputs
    for block, filters in enumerate((32, 64, 128), start=1):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"block{block}_conv")(x)
        x = keras.layers.ReLU(name=f"block{block}_relu")(keras.layers.BatchNormalization(momentum=0.9, name=f"block{block}_bn")(x))
        x = keras.layers.MaxPooling2D(name=f"block{block}_pool")(x) if block < 3 else x
    return keras.Model(inputs, x, name=name)


def _classifier(kind, weights, **options):
    """A 5-way classifier on a new small CNN ("plain") or `bn_cnn` ("bn"), with `weights` copied in."""
    import keras_transfer as kt
    from keras_transfer.cli.demo import small_cnn

    backbone = bn_cnn() if kind == "bn" else small_cnn()
    return kt.build_classifier(backbone, 5, input_shape=(28, 28, 1), preprocessing="unit", weights=weights, **options)


def _bn_source(x_train, y_train, *, epochs, limit, log):
    """The BN variant's source classifier on classes 0-4 (BatchNorm training, so its statistics are the source's)."""
    import keras

    keras.utils.set_random_seed(1234)
    keep, start = np.flatnonzero(y_train < 5)[:limit], time.time()
    model = _classifier("bn", "imagenet", freeze=False, train_batchnorm=True)  # "imagenet": keep its weights
    model.compile(l2sp._optimizer("adam", 1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train[keep], y_train[keep], epochs=epochs, batch_size=128, verbose=0)
    log(f"  BN source model: {len(keep):,} images of classes 0-4, {epochs} epochs, {time.time() - start:.0f} s")
    return model


def _flat(model):
    """`model` re-wired without nesting, the backbone's feature maps the output of a layer named "feature_maps"."""
    import keras

    inputs = keras.Input((28, 28, 1))
    maps = keras.layers.Identity(name="feature_maps")(model.backbone(model.get_layer("preprocessing")(inputs)))
    return keras.Model(inputs, model.layers[-1](model.layers[-2](maps)))


def _attention(source, x, y, *, seed, steps):
    """DELTA's channel attention from a linear probe (frozen trunk, head alone) on the labelled images."""
    import keras

    import keras_transfer as kt

    keras.utils.set_random_seed(seed)
    probe = _classifier("plain", source.backbone, freeze=True)
    probe.compile(l2sp._optimizer("adam", 1e-2), "sparse_categorical_crossentropy")
    probe.fit(_batches(x, y, seed), epochs=1, steps_per_epoch=steps, verbose=0)
    return kt.regularizers.delta_attention(_flat(probe), x, y, feature_layer="feature_maps")


def _batches(x, y, seed):
    import tensorflow as tf

    shuffled = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return shuffled.repeat().batch(min(32, len(x)))


def _moved(backbone, anchors):
    moved = sum(float(((v.numpy() - a) ** 2).sum()) for v, a in zip(backbone.weights, anchors))
    return float(np.sqrt(moved / sum(float((a**2).sum()) for a in anchors)))


def _regularised(sources, method, strength, x, y, *, steps, seed, learning_rate, attention):
    """A new method's run: `(model to evaluate, |w - w0| / |w0| of the backbone, last penalty log or None)`."""
    import keras

    import keras_transfer as kt

    keras.utils.set_random_seed(seed)
    kind = "bn" if method in BN_METHODS else "plain"
    model = _classifier(kind, sources[kind].backbone, freeze=False,
                        train_batchnorm=kind == "bn" and method != "bn_frozen")
    anchors = [v.numpy().copy() for v in model.backbone.weights]
    if method == "lwf":
        wrapped = kt.models.LwFModel(model, sources[kind], alpha=strength)
    elif method == "co_tuning":
        relationship = kt.regularizers.category_relationship(sources[kind], x, y, num_classes=5)
        wrapped = kt.models.CoTuningModel(model, sources[kind].layers[-1], relationship, weight=strength)
    elif method == "bss":
        wrapped = kt.models.BSSModel(model, eta=strength)
    elif method == "delta":
        wrapped = kt.models.DELTAModel(_flat(model), alpha=strength, beta=l2sp.BETA, attention=attention,
                                       feature_layer="feature_maps")
    elif method == "stochnorm":
        wrapped = model = kt.regularizers.apply_stochnorm(model, p=strength)
    else:
        wrapped = model
    wrapped.compile(l2sp._optimizer("adam", learning_rate), "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = wrapped.fit(_batches(x, y, seed), epochs=1, steps_per_epoch=steps, verbose=0).history
    penalty = next((float(history[name][-1]) for name in PENALTY_LOGS if name in history), None)
    return wrapped, _moved(model.backbone, anchors), penalty


def _key(record):
    return record["k"], record["seed"], record["method"], record["strength"], record["steps"]


def _load(path):
    with open(path) if os.path.exists(path) else open(os.devnull) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def run(args, log=print):
    import keras

    done = {_key(r) for r in _load(args.jsonl)}
    (x_train, y_train), (x_test, y_test) = task.load()
    x_eval, y_eval = task.target_test(x_test, y_test)
    sources = {"plain": task.pretrain_source(x_train, y_train, seed=1234, epochs=args.source_epochs,
                                             limit=args.source_limit, log=log)}
    if any(m in BN_METHODS for m in args.methods):
        sources["bn"] = _bn_source(x_train, y_train, epochs=args.source_epochs, limit=args.source_limit, log=log)
    source_accuracy = {name: float(model.evaluate(x_test[y_test < 5], y_test[y_test < 5], verbose=0,
                                            batch_size=1000)[1])
                       for name, model in sources.items()}
    log(f"  source accuracy on classes 0-4 (test split): {source_accuracy}")
    (x_val, y_val), (x_pool, y_pool) = task.split_target(
        x_train, y_train, validation_per_class=args.validation_per_class, seed=0)
    for k in args.labels_per_class:
        for seed in args.seeds:
            x_few, y_few = l2sp._few_labels(x_pool, y_pool, k, seed)
            attention, attention_seconds = None, 0.0
            for method in args.methods:
                for strength in args.grids[method]:
                    record = {"k": k, "seed": seed, "method": method, "strength": strength, "steps": args.steps}
                    if _key(record) in done:
                        continue
                    start = time.time()
                    if method == "delta" and attention is None:
                        attention = _attention(sources["plain"], x_few, y_few, seed=seed, steps=args.probe_steps)
                        attention_seconds = time.time() - start
                        start = time.time()
                    if method in ("plain", "l2sp"):
                        model, moved = l2sp._fine_tune(sources["plain"], method, strength, x_few, y_few,
                                                       steps=args.steps, seed=seed, learning_rate=args.learning_rate)
                        penalty = None
                    else:
                        model, moved, penalty = _regularised(
                            sources, method, strength, x_few, y_few, steps=args.steps, seed=seed,
                            learning_rate=args.learning_rate, attention=attention)
                    val = float(model.evaluate(x_val, y_val, verbose=0, batch_size=1000)[1])
                    test = float(model.evaluate(x_eval, y_eval, verbose=0, batch_size=1000)[1])
                    seconds = time.time() - start + (attention_seconds if method == "delta" else 0.0)
                    record.update(val=val, test=test, moved=moved, penalty=penalty, seconds=round(seconds, 2),
                                  source_accuracy=source_accuracy["bn" if method in BN_METHODS else "plain"])
                    with open(args.jsonl, "a") as handle:
                        handle.write(json.dumps(record) + "\n")
                    log(f"  k={k} seed={seed} {method:<9} {strength!s:<6} val {val:.4f} test {test:.4f} "
                        f"|w-w0|/|w0| {moved:.3f} penalty {penalty} ({seconds:.0f} s)")
                    keras.backend.clear_session()
    return source_accuracy


def summarize(records, methods, grids):
    lines = []
    for k in sorted({r["k"] for r in records}):
        lines += [f"\n### {k} labelled images per class\n",
                  "| method | chosen strength | validation | test accuracy | vs baseline (paired) | ‖w−w0‖/‖w0‖ | s/run |",
                  "|---|---:|---:|---:|---:|---:|---:|"]

        def pick(method, strength, k=k):
            return sorted((r for r in records if r["k"] == k and r["method"] == method and r["strength"] == strength),
                          key=lambda r: r["seed"])

        tests = {}
        for method in methods:
            grid = [s for s in grids[method] if pick(method, s)]
            if not grid:
                continue
            best = max(grid, key=lambda s, m=method: np.mean([r["val"] for r in pick(m, s)]))
            rows = pick(method, best)
            tests[method] = {r["seed"]: r["test"] for r in rows}
            test = np.array(list(tests[method].values()))
            baseline = tests.get(BASELINE.get(method, "plain"), {})
            paired = [tests[method][s] - baseline[s] for s in tests[method] if s in baseline]
            versus = "—" if method in ("plain", "bn_plain") or not paired else (
                f"{np.mean(paired):+.4f} ± {np.std(paired):.4f}")
            seconds = np.mean([r["seconds"] for s in grid for r in pick(method, s)])
            lines.append(
                f"| {LABELS[method]} | {'—' if best is None else best} | {np.mean([r['val'] for r in rows]):.4f} | "
                f"{test.mean():.4f} ± {test.std():.4f} (n={len(test)}) | {versus} | "
                f"{np.mean([r['moved'] for r in rows]):.3f} | {seconds:.1f} |")
    return "\n".join(lines)


def _write_report(args, source_accuracy, started, load, wall):
    records = [r for r in _load(args.jsonl) if r["steps"] == args.steps]
    source_accuracy = source_accuracy or {
        name: next((r["source_accuracy"] for r in records if (r["method"] in BN_METHODS) == (name == "bn")), None)
        for name in ("plain", "bn")}
    body = summarize(records, args.methods, args.grids)
    _report.write(args, "regularizers", [
        "# Fine-tuning regularisers vs plain fine-tuning and L2-SP (Fashion-MNIST 0-4 -> 5-9)\n",
        "Generated by `benchmarks/regularizers.py` (its docstring: setting, grids, budget). "
        f"Every layer fine-tuned, {args.steps} steps of batch min(32, 5 k), Adam {args.learning_rate}; "
        f"strength chosen on a validation pool of {args.validation_per_class} images per class by mean validation "
        "accuracy over seeds; test accuracy on the 5,000 target test images, mean ± std (ddof 0) over paired seeds "
        f"{sorted({r['seed'] for r in records})}. Source accuracy on classes 0-4 (test split): small CNN "
        f"{source_accuracy.get('plain') or 0:.3f}, BN variant {source_accuracy.get('bn') or 0:.3f}.\n",
        "Baselines of the paired difference: plain fine-tuning of the small CNN, except the BN-variant rows "
        "(BN frozen, StochNorm): plain fine-tuning of the BN variant with BN training (StochNorm at p = 0). "
        "s/run: fit + evaluation, mean over the method's whole grid (DELTA: plus the probe and attention, "
        "computed once per k and seed). ‖w−w0‖/‖w0‖: every backbone weight, BN moving statistics included. "
        "Negative results are kept: a strength chosen at the weak end of its grid means no help here.",
        body,
    ], started, load, wall)
    return body


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--labels-per-class", type=int, nargs="+", default=[5, 20])
    parser.add_argument("--methods", nargs="+", choices=tuple(GRIDS), default=list(GRIDS))
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--probe-steps", type=int, default=100, help="DELTA's linear probe, for the attention")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--source-epochs", type=int, default=3)
    parser.add_argument("--source-limit", type=int, default=None)
    parser.add_argument("--validation-per-class", type=int, default=200)
    parser.add_argument("--output", default=None, help=f"folder of regularizers.jsonl / .md (default {RESULTS})")
    parser.add_argument("--summarize", action="store_true", help="only rebuild the .md from the .jsonl")
    parser.add_argument("--quick", action="store_true", help="1 seed, k=5, one strength per method, short runs")
    args = parser.parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else list(argv)
    args.grids = dict(GRIDS)
    if args.quick:
        args.seeds, args.labels_per_class, args.steps, args.probe_steps = [0], [5], 20, 10
        args.source_epochs, args.source_limit, args.validation_per_class = 1, 5000, 50
        args.grids = {m: grid[len(grid) // 2:][:1] for m, grid in GRIDS.items()}
        args.output = args.output or tempfile.mkdtemp(prefix="regularizers_quick_")
    started, load, start = _report.prepare(args, "regularizers", RESULTS)
    print(f"regularizers benchmark: {os.cpu_count()} CPUs, load {load}, seeds {args.seeds}, "
          f"k {args.labels_per_class}, {args.steps} steps; writing {args.jsonl}", flush=True)
    source_accuracy = None if args.summarize else run(args, log=lambda line: print(line, flush=True))
    print(_write_report(args, source_accuracy, started, load, time.time() - start))
    print(f"\ntotal {time.time() - start:.0f} s; report {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
