"""The newcomer run of the command line: three Fashion-MNIST classes, 30 PNGs each, default flags.

What a new user does: a small CNN pretrained on the other seven Fashion-MNIST
classes is saved as a `.keras` backbone (its input scaling inside, so it
takes raw PNG pixels); 30 training PNGs per class of t-shirt/top, trouser
and sneaker are written from the training split; `keras-transfer fit` runs
each strategy with **default flags** (validation split, epochs, rates), and
`keras-transfer evaluate` scores the saved model on 300 held-out test PNGs
(100 per class). A `--weights none` feature-extraction run checks the
random-weights warning. Three seeds (the source model, the PNGs drawn and
`--seed` change together).

    python -m benchmarks.newcomer                 # 3 seeds, writes benchmarks/results/newcomer.{jsonl,md}
    python -m benchmarks.newcomer --seeds 1 --strategies fine_tune   # one quick run
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

CLASSES = {0: "tshirt", 1: "trouser", 7: "sneaker"}
RESULTS = os.path.join(os.path.dirname(__file__), "results")


def write_pngs(root, x, y, per_class, rng):
    import keras

    for label, name in CLASSES.items():
        folder = os.path.join(root, name)
        os.makedirs(folder, exist_ok=True)
        for i in rng.choice(np.flatnonzero(y == label), per_class, replace=False):
            keras.utils.save_img(os.path.join(folder, f"{i}.png"), x[i][..., None], scale=False)


def source_backbone(path, x, y, seed, epochs):
    """The demo's small CNN trained on the seven other classes; saved as raw pixels -> pooled features."""
    import keras

    import keras_transfer as kt
    from keras_transfer.cli.demo import small_cnn

    keep = ~np.isin(y, list(CLASSES))
    labels = np.searchsorted(np.unique(y[keep]), y[keep])
    keras.utils.set_random_seed(seed)
    model = kt.build_classifier(small_cnn(), 7, input_shape=(28, 28, 1), preprocessing="unit", freeze=False)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x[keep][..., None].astype("float32"), labels, epochs=epochs, batch_size=128, verbose=0)
    model.feature_extractor.save(path)
    return float(history.history["accuracy"][-1])


def cli(*args):
    start = time.time()
    done = subprocess.run([sys.executable, "-m", "keras_transfer_cli", *args], capture_output=True, text=True)
    return done.returncode, done.stdout, done.stderr, time.time() - start


def run_seed(seed, strategies, source_epochs, log):
    import keras_transfer as kt

    (x_train, y_train), (x_test, y_test) = kt.data.load_fashion_mnist()
    rng = np.random.default_rng(seed)
    work = tempfile.mkdtemp(prefix=f"newcomer{seed}_")
    backbone = os.path.join(work, "source_cnn.keras")
    source_accuracy = source_backbone(backbone, x_train, y_train, seed, source_epochs)
    write_pngs(os.path.join(work, "train"), x_train, y_train, 30, rng)
    write_pngs(os.path.join(work, "test"), x_test, y_test, 100, rng)
    rows = []
    for strategy in strategies:
        out = os.path.join(work, f"report_{strategy}")
        code, _, err, seconds = cli("fit", os.path.join(work, "train"), "--strategy", strategy, "--backbone", backbone,
                                    "--out", out, "--seed", str(seed), "--verbose", "0")
        if code != 0:
            raise RuntimeError(f"fit {strategy} failed: {err[-2000:]}")
        code, out_text, err, _ = cli("evaluate", os.path.join(out, f"{strategy}.keras"), os.path.join(work, "test"),
                                     "--verbose", "0")
        accuracy = float(re.search(r"accuracy: ([0-9.]+)", out_text).group(1))
        rows.append({"seed": seed, "strategy": strategy, "test_accuracy": accuracy, "fit_seconds": round(seconds, 1),
                     "source_train_accuracy": source_accuracy})
        log(f"  seed {seed} {strategy}: test accuracy {accuracy:.3f} ({seconds:.0f} s)")
    code, _, err, _ = cli("fit", os.path.join(work, "train"), "--strategy", "feature_extraction", "--backbone", "vgg16",
                          "--weights", "none", "--adapt-input", "--out", os.path.join(work, "random"), "--verbose", "0",
                          "--epochs", "1")
    warned = code == 0 and "keeps the backbone frozen, and it has random weights" in err
    rows.append({"seed": seed, "strategy": "feature_extraction --weights none", "warned": warned})
    log(f"  seed {seed} random weights: warned={warned}")
    return rows


def markdown(rows, strategies, command):
    lines = ["## Newcomer run: 3 Fashion-MNIST classes, 30 PNGs per class, default flags", "",
             f"Command: `{command}`. Backbone: the demo's small CNN pretrained on the 7 other classes, saved as a "
             "`.keras` file taking raw pixels. `keras-transfer fit DIR --strategy S --backbone source_cnn.keras` "
             "with default flags, then `keras-transfer evaluate` on 300 test PNGs (100 per class).", "",
             "| strategy | " + " | ".join(f"seed {s}" for s in sorted({r['seed'] for r in rows})) + " | mean |",
             "|---|" + "---:|" * (len({r['seed'] for r in rows}) + 1)]
    for strategy in strategies:
        values = [r["test_accuracy"] for r in rows if r["strategy"] == strategy]
        lines.append(f"| {strategy} | " + " | ".join(f"{v:.3f}" for v in values) + f" | {np.mean(values):.3f} |")
    warned = [r["warned"] for r in rows if "warned" in r]
    lines += ["", f"Random-weights feature extraction (`--weights none`) warned in {sum(warned)} of {len(warned)} runs.", ""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--strategies", nargs="+", default=["fine_tune", "feature_extraction", "gradual", "lp_ft"])
    parser.add_argument("--source-epochs", type=int, default=2)
    parser.add_argument("--output", default=RESULTS, help="folder for newcomer.jsonl and newcomer.md ('-': print only)")
    args = parser.parse_args(argv)
    rows = []
    for seed in range(args.seeds):
        rows += run_seed(seed, args.strategies, args.source_epochs, lambda m: print(m, flush=True))
    text = markdown(rows, args.strategies, "python -m benchmarks.newcomer " + " ".join(argv or sys.argv[1:]))
    print(text)
    if args.output != "-":
        os.makedirs(args.output, exist_ok=True)
        with open(os.path.join(args.output, "newcomer.jsonl"), "w") as handle:
            handle.writelines(json.dumps(row) + "\n" for row in rows)
        with open(os.path.join(args.output, "newcomer.md"), "w") as handle:
            handle.write(text)


if __name__ == "__main__":
    main()
