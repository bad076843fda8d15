"""L2-SP vs plain fine-tuning vs weight decay, on the demo's transfer task.

Fashion-MNIST classes 0-4 -> 5-9 (like `keras-transfer demo`): a small CNN
(`keras_transfer.cli.demo.small_cnn`) is pretrained on classes 0-4, then
every layer is fine-tuned on classes 5-9 with `k` labelled images per class
(`--steps` steps of batch 32; Adam at 1e-3 as in the demo, or
`--optimizer sgd`: SGD with momentum 0.9 at 1e-2, as in the paper). Methods:

- plain fine-tuning;
- L2-SP (`keras_transfer.regularizers.apply_l2sp`): `alpha / 2 ||w - w0||^2`
  on the pretrained layers, `beta / 2 ||w||^2` on the new head (beta = 0.01,
  the paper's value; alpha chosen on validation);
- L2 toward zero on every weight (the paper's baseline: the same penalty
  without the anchor, coupled to the loss);
- decoupled weight decay (AdamW, or SGD's `weight_decay`).

Each method's strength is chosen on a validation pool (images of the target
training split that are not among the labelled ones; the same for every
method and seed) by the mean validation accuracy over seeds; the table gives
the test accuracy (5,000 target test images) at that choice, mean ± std over
paired seeds (each seed draws the same labelled images for every method),
and the paired difference to plain fine-tuning.

    python -m benchmarks.l2sp                    # 3 seeds, k = 5 and 20, Adam
    python -m benchmarks.l2sp --optimizer sgd    # the same with SGD + momentum
    python -m benchmarks.l2sp --quick    # a smoke run
"""

import argparse
import json
import os
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from benchmarks import _fashion_transfer as task  # noqa: E402

GRIDS = {
    "plain": (None,),
    "l2sp": (0.001, 0.01, 0.1, 1.0),
    "l2": (0.0001, 0.001, 0.01, 0.1),
    "adamw": (0.01, 0.1, 1.0, 10.0),
}
LABELS = {
    "plain": "plain fine-tuning",
    "l2sp": "L2-SP (alpha; beta = 0.01)",
    "l2": "L2 toward 0 (coupled)",
    "adamw": "AdamW weight decay (decoupled)",
}
BETA = 0.01


def _few_labels(x, y, k, seed):
    rng = np.random.default_rng(seed)
    index = np.concatenate([rng.choice(np.flatnonzero(y == c), k, replace=False) for c in range(5)])
    return x[index], y[index]


def _optimizer(name, learning_rate, weight_decay=None):
    import keras

    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=0.9, weight_decay=weight_decay)
    if weight_decay is not None:
        return keras.optimizers.AdamW(learning_rate, weight_decay=weight_decay)
    return keras.optimizers.Adam(learning_rate)


def _label(method, optimizer):
    if method == "adamw" and optimizer == "sgd":
        return "SGD decoupled weight decay"
    return LABELS[method]


def _fine_tune(source, method, strength, x, y, *, steps, seed, learning_rate, optimizer_name="adam"):
    import keras
    import tensorflow as tf

    import keras_transfer as kt
    from keras_transfer.cli.demo import small_cnn

    keras.utils.set_random_seed(seed)
    model = kt.build_classifier(
        small_cnn(), 5, input_shape=(28, 28, 1), preprocessing="unit", weights=source.backbone, freeze=False
    )
    anchors = [v.numpy().copy() for v in model.backbone.weights]
    optimizer = _optimizer(optimizer_name, learning_rate)
    if method == "l2sp":
        model = kt.regularizers.apply_l2sp(model, alpha=strength, beta=BETA)
    elif method == "l2":
        for variable in model.trainable_weights:
            variable.regularizer = kt.regularizers.L2SP(strength)
    elif method == "adamw":
        optimizer = _optimizer(optimizer_name, learning_rate, weight_decay=strength)
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
    data = (
        tf.data.Dataset.from_tensor_slices((x, y))
        .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
        .repeat()
        .batch(min(32, len(x)))
    )
    model.fit(data, epochs=1, steps_per_epoch=steps, verbose=0)
    backbone = model.model.backbone if method == "l2sp" else model.backbone
    moved = np.sqrt(sum(float(((v.numpy() - a) ** 2).sum()) for v, a in zip(backbone.weights, anchors)))
    size = np.sqrt(sum(float((a**2).sum()) for a in anchors))
    return model, moved / size


def run(args, log=print):
    import keras

    (x_train, y_train), (x_test, y_test) = task.load()
    x_eval, y_eval = task.target_test(x_test, y_test)
    source = task.pretrain_source(x_train, y_train, seed=1234, epochs=args.source_epochs, limit=args.source_limit, log=log)
    source_accuracy = source.evaluate(x_test[y_test < 5], y_test[y_test < 5], verbose=0, batch_size=1000)[1]
    log(f"  source accuracy on classes 0-4 (test split): {source_accuracy:.3f}")
    (x_val, y_val), (x_pool, y_pool) = task.split_target(x_train, y_train, validation_per_class=args.validation_per_class, seed=0)
    records = []
    for k in args.labels_per_class:
        for seed in args.seeds:
            x_few, y_few = _few_labels(x_pool, y_pool, k, seed)
            for method, grid in GRIDS.items():
                for strength in grid:
                    start = time.time()
                    model, moved = _fine_tune(
                        source, method, strength, x_few, y_few, steps=args.steps, seed=seed,
                        learning_rate=args.learning_rate, optimizer_name=args.optimizer,
                    )
                    val = float(model.evaluate(x_val, y_val, verbose=0, batch_size=1000)[1])
                    test = float(model.evaluate(x_eval, y_eval, verbose=0, batch_size=1000)[1])
                    records.append({"k": k, "seed": seed, "method": method, "strength": strength,
                                    "val": val, "test": test, "moved": moved})
                    log(f"  k={k} seed={seed} {method:<6} {strength!s:<6} val {val:.4f} test {test:.4f} "
                        f"|w-w0|/|w0| {moved:.3f} ({time.time() - start:.0f} s)")
                    keras.backend.clear_session()
    return {"source_accuracy": float(source_accuracy), "records": records, "optimizer": args.optimizer}


def summarize(result, seeds):
    records = result["records"]
    lines = [
        "| labels / class | method | chosen strength | validation | test accuracy | vs plain (paired) | ‖w−w0‖/‖w0‖ |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for k in sorted({r["k"] for r in records}):
        def pick(method, strength, k=k):
            rows = sorted((r for r in records if r["k"] == k and r["method"] == method and r["strength"] == strength),
                          key=lambda r: r["seed"])
            return rows

        plain = np.array([r["test"] for r in pick("plain", None)])
        for method, grid in GRIDS.items():
            best = max(grid, key=lambda s: np.mean([r["val"] for r in pick(method, s)]))
            rows = pick(method, best)
            test = np.array([r["test"] for r in rows])
            val = np.mean([r["val"] for r in rows])
            diff = test - plain
            versus = "—" if method == "plain" else f"{diff.mean():+.4f} ± {diff.std():.4f}"
            moved = np.mean([r["moved"] for r in rows])
            lines.append(
                f"| {k} | {_label(method, result.get('optimizer', 'adam'))} | {'—' if best is None else best} | {val:.4f} | "
                f"{test.mean():.4f} ± {test.std():.4f} | {versus} | {moved:.3f} |"
            )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--labels-per-class", type=int, nargs="+", default=[5, 20])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--optimizer", choices=("adam", "sgd"), default="adam",
                        help="adam (the demo's) or sgd (momentum 0.9, the paper's)")
    parser.add_argument("--learning-rate", type=float, default=None, help="default: 1e-3 for adam, 1e-2 for sgd")
    parser.add_argument("--source-epochs", type=int, default=3)
    parser.add_argument("--source-limit", type=int, default=None)
    parser.add_argument("--validation-per-class", type=int, default=200)
    parser.add_argument("--json", default=None, help="also write every run's numbers here")
    parser.add_argument("--quick", action="store_true", help="1 seed, k=5, short runs")
    args = parser.parse_args(argv)
    if args.learning_rate is None:
        args.learning_rate = 1e-2 if args.optimizer == "sgd" else 1e-3
    if args.quick:
        args.seeds, args.labels_per_class, args.steps = [0], [5], 20
        args.source_epochs, args.source_limit, args.validation_per_class = 1, 5000, 50
    start = time.time()
    print(f"L2-SP benchmark: {platform.node()}, {os.cpu_count()} CPUs, seeds {args.seeds}, k {args.labels_per_class}, "
          f"{args.optimizer} lr {args.learning_rate}")
    result = run(args)
    print()
    print(summarize(result, args.seeds))
    print(f"\ntotal {time.time() - start:.0f} s; command: python -m benchmarks.l2sp " + " ".join(sys.argv[1:]))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"args": vars(args), **result}, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
