"""Domain adaptation benchmark: source-only vs DANN, MMD, CORAL, CDAN (and JAN, BSP, MCC, AFN, entropy, MCD, MDD)
on two real shifts.

Pairs (all offline):
  fmnist: Fashion-MNIST (labelled source) -> Fashion-MNIST-M (unlabelled target),
          `keras_transfer.data.load_fashion_mnist_m`; 28x28x3.
  digits: printed digits rendered from the installed fonts (labelled source) -> UCI
          handwritten digits (unlabelled target); 8x8, values 0..16.

Model selection: a small *labelled target validation split* (1,000 Fashion-MNIST-M
images; 300 UCI digits), disjoint from the test split, picks the alignment weight of
each method and the epoch (the checkpoint with the best validation accuracy). The
test accuracy of that choice is reported (and the last epoch's, unselected). The same
selection is applied to the source-only baseline (its epoch).

Side by side with ADAPT (`--adapt`): ADAPT's DANN (`adapt.feature_based.DANN`, a
tf.keras / Keras 2 model) and ours on the same data, encoder, batch, optimizer,
lambda ramp and epochs, alternated seed by seed in one process; target accuracy and
seconds per epoch. Needs `pip install adapt` (see docs/domain_adaptation.md) and
`TF_USE_LEGACY_KERAS=1` so that ADAPT gets tf_keras.

    python benchmarks/domain_adaptation.py --pair all --seeds 0,1,2
    python benchmarks/domain_adaptation.py --quick          # a minute, used by a test
    python benchmarks/domain_adaptation.py --summarize a.json b.json   # tables of saved runs
    TF_USE_LEGACY_KERAS=1 python benchmarks/domain_adaptation.py --adapt --pair fmnist
"""

import argparse
import json
import math
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_transfer as kt  # noqa: E402

METHODS = ("source_only", "target_bn", "dann", "dann_per_domain", "mmd", "coral", "cdan", "jan", "bsp", "mcc", "afn",
           "entropy", "mcd", "mdd")
# Alignment weights tried per method (selected on the target validation split).
# For the adversarial heads the weight is the final lambda of the DANN ramp.
GRID = {"source_only": (0.0,), "target_bn": (0.0,), "dann": (0.3, 1.0), "dann_per_domain": (0.3, 1.0), "mmd": (1.0,),
        "coral": (10.0,), "cdan": (1.0,), "jan": (1.0,), "bsp": (1e-4,), "mcc": (1.0,), "afn": (0.05,),
        "entropy": (0.1,), "mcd": (1.0, 4.0), "mdd": (0.1, 1.0)}
# mcd: the grid value is `generator_steps` (1, and the paper's n = 4 on digits); mdd: the top of the reversal ramp (the
# feature extractor's weight; the auxiliary classifier learns at weight 1, as in TLlib's and ADAPT's MDD).
# The add-on terms (`regularizers=`): the grid weight is the term's weight; `bsp` is DANN (lambda 1) + BSP.
TERMS = {"bsp": kt.losses.BSP, "mcc": kt.losses.MCC, "afn": kt.losses.AFN, "entropy": kt.losses.TargetEntropy}
# ADDA and WDGRL train their adversary with its own optimizer: `benchmarks/_adversarial_runs.py`.
from benchmarks import _adversarial_runs  # noqa: E402

METHODS += _adversarial_runs.METHODS
GRID.update(_adversarial_runs.GRID)


# ----------------------------------------------------------------------------- data
def standardize(x):
    """Per-image standardisation (zero mean, unit variance over pixels and channels)."""
    x = x.astype("float32")
    axes = tuple(range(1, x.ndim))
    return (x - x.mean(axis=axes, keepdims=True)) / (x.std(axis=axes, keepdims=True) + 1e-3)


def load_pair(pair, quick=False, split_seed=0):
    rng = np.random.default_rng(split_seed)
    if pair == "fmnist":
        (xs, ys), (xs_test, _) = kt.data.load_fashion_mnist()
        cache = os.path.join(os.path.expanduser("~"), ".cache", "keras_transfer")
        (xm, ym), (xm_test, ym_test) = kt.data.load_fashion_mnist_m(seed=0, cache_dir=cache)
        order = rng.permutation(len(xs))
        n_source, n_target, n_val, n_test = (2000, 2000, 500, 1000) if quick else (20000, 20000, 1000, 5000)
        source_idx = order[:n_source]                      # source items ...
        target_idx = order[30000:30000 + n_target]          # ... and other items for the target
        val_idx = order[58000:58000 + n_val]
        to_rgb = np.repeat(xs[..., None], 3, axis=-1)
        data = dict(
            x_source=to_rgb[source_idx], y_source=ys[source_idx],
            x_target=xm[target_idx], x_val=xm[val_idx], y_val=ym[val_idx],
            x_test=xm_test[:n_test], y_test=ym_test[:n_test],
        )
    elif pair == "digits":
        xs, ys = kt.data.render_font_digits(60 if quick else 400, seed=split_seed)
        xu, yu = kt.data.load_uci_digits()
        order = rng.permutation(len(xu))
        data = dict(
            x_source=xs[..., None], y_source=ys,
            x_target=xu[order[:1000], ..., None], x_val=xu[order[1000:1300], ..., None], y_val=yu[order[1000:1300]],
            x_test=xu[order[1300:], ..., None], y_test=yu[order[1300:]],
        )
    else:
        raise ValueError(f"unknown pair {pair!r}")
    for key in ("x_source", "x_target", "x_val", "x_test"):
        data[key] = standardize(data[key])
    return data


# ----------------------------------------------------------------------------- models
def encoder(pair, input_shape, api=keras):
    L = api.layers
    if pair == "fmnist":
        layers = [
            L.Conv2D(16, 3, padding="same"), L.BatchNormalization(), L.ReLU(), L.MaxPooling2D(),
            L.Conv2D(32, 3, padding="same"), L.BatchNormalization(), L.ReLU(), L.MaxPooling2D(),
            L.Flatten(), L.Dense(64), L.BatchNormalization(), L.ReLU(),
        ]
    else:
        layers = [
            L.Conv2D(32, 3, padding="same"), L.BatchNormalization(), L.ReLU(),
            L.Conv2D(32, 3, padding="same"), L.BatchNormalization(), L.ReLU(), L.MaxPooling2D(),
            L.Flatten(), L.Dense(64), L.BatchNormalization(), L.ReLU(),
        ]
    return api.Sequential([api.Input(input_shape), *layers], name="encoder")


def classifier(features, num_classes=10, api=keras):
    return api.Sequential([api.Input((features,)), api.layers.Dense(num_classes, activation="softmax")],
                          name="classifier")


@keras.saving.register_keras_serializable(package="benchmarks")  # copied for the adversaries of ADDA and WDGRL
class DannLearningRate(keras.optimizers.schedules.LearningRateSchedule):
    """lr_p = lr0 / (1 + 10 p) ** 0.75 (Ganin et al.)."""

    def __init__(self, initial, total_steps):
        self.initial, self.total_steps = initial, total_steps

    def __call__(self, step):
        p = keras.ops.cast(step, "float32") / self.total_steps
        return self.initial / (1.0 + 10.0 * p) ** 0.75

    def get_config(self):
        return {"initial": self.initial, "total_steps": self.total_steps}


class Evaluate(keras.callbacks.Callback):
    """Target validation and test accuracy after every epoch."""

    def __init__(self, data, predict):
        super().__init__()
        self.data, self.predict, self.records = data, predict, []

    def on_epoch_end(self, epoch, logs=None):
        val = float(np.mean(self.predict(self.data["x_val"]).argmax(-1) == self.data["y_val"]))
        test = float(np.mean(self.predict(self.data["x_test"]).argmax(-1) == self.data["y_test"]))
        self.records.append({"epoch": epoch + 1, "val": val, "test": test, **{k: float(v) for k, v in (logs or {}).items()}})


def alignment_for(method, weight):
    if method == "mdd":
        return kt.layers.MarginDisparityHead(hidden_units=(256,), margin=4.0), 1.0
    if method == "bsp":
        return kt.layers.DomainAdversarialHead(hidden_units=(256, 256)), 1.0
    if method in TERMS:
        return None, 1.0
    if method == "jan":
        return kt.losses.JMMD(), weight
    if method in ("dann", "dann_per_domain"):
        return kt.layers.DomainAdversarialHead(hidden_units=(256, 256)), 1.0
    if method == "cdan":
        return kt.layers.ConditionalDomainAdversarialHead(hidden_units=(256, 256), entropy_conditioning=True), 1.0
    if method == "mmd":
        return kt.losses.MMD(), weight
    if method == "coral":
        return kt.losses.CORAL(), weight
    return kt.losses.CORAL(), 0.0  # target_bn: target batches only pass through BatchNorm


def run(pair, method, weight, seed, data, config):
    keras.utils.set_random_seed(seed)
    steps, epochs, batch = config["steps"], config["epochs"], config["batch"]
    total = steps * epochs
    optimizer = keras.optimizers.SGD(DannLearningRate(config["lr"], total), momentum=0.9)
    features = encoder(pair, data["x_source"].shape[1:])
    head = classifier(features.output_shape[-1])
    start = time.perf_counter()
    if method == "source_only":
        model = keras.Sequential([features, head])
        model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
        evaluate = Evaluate(data, lambda x: model.predict(x, batch_size=1024, verbose=0))
        import tensorflow as tf

        source = (tf.data.Dataset.from_tensor_slices((data["x_source"], data["y_source"]))
                  .shuffle(len(data["y_source"]), seed=seed).repeat().batch(batch).prefetch(-1))
        model.fit(source, epochs=epochs, steps_per_epoch=steps, callbacks=[evaluate], verbose=0)
    elif method in _adversarial_runs.METHODS:
        evaluate = _adversarial_runs.fit(method, weight, seed, data, config, features, head, optimizer, Evaluate)
    else:
        if method == "mcd":  # the grid value is generator_steps
            model = kt.models.MCDModel(features, head, generator_steps=int(weight))
        else:
            alignment, alignment_weight = alignment_for(method, weight)
            model = kt.models.DomainAdaptationModel(
                features, head, alignment=alignment, alignment_weight=alignment_weight,
                joint_forward=method != "dann_per_domain",
                regularizers=[TERMS[method](weight=weight)] if method in TERMS else None)
        model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
        evaluate = Evaluate(data, lambda x: model.predict(x, batch_size=1024, verbose=0))
        callbacks = [evaluate]
        if method in ("dann", "dann_per_domain", "cdan", "bsp", "mdd"):
            callbacks.append(kt.callbacks.GradientReversalSchedule("dann", max_value=1.0 if method == "bsp" else weight,
                                                                   gamma=10.0))
        train = kt.data.domain_adaptation_dataset(
            source=(data["x_source"], data["y_source"]), target=data["x_target"], batch_size=batch, seed=seed
        ).repeat()
        model.fit(train, epochs=epochs, steps_per_epoch=steps, callbacks=callbacks, verbose=0)
    seconds = time.perf_counter() - start
    best = max(evaluate.records, key=lambda r: (r["val"], r["epoch"]))
    return {"pair": pair, "method": method, "weight": weight, "seed": seed, "best_epoch": best["epoch"],
            "val": best["val"], "test": best["test"], "last_test": evaluate.records[-1]["test"],
            "seconds": seconds, "history": evaluate.records}


def summarize(results, methods, pairs):
    """Markdown tables: per method, the weight chosen on the target validation split, per seed."""
    lines = []
    for pair in pairs:
        rows_of = {m: [r for r in results if r["pair"] == pair and r["method"] == m] for m in methods}
        chosen_of = {}
        for method, rows in rows_of.items():
            seeds = sorted({r["seed"] for r in rows})
            chosen_of[method] = {s: max((r for r in rows if r["seed"] == s), key=lambda r: (r["val"], -r["weight"]))
                                 for s in seeds}
        baseline = chosen_of.get("source_only", {})
        bn_only = chosen_of.get("target_bn", {})
        lines.append(f"\n### {pair}: target test accuracy over seeds (weight and epoch selected on target val)\n")
        lines.append("| method | weight chosen (per seed) | test acc, mean ± std | paired gain vs source-only,"
                     " mean ± std (min) | paired gain vs target_bn | test acc, last epoch | val acc | s/run |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for method in methods:
            chosen = chosen_of.get(method)
            if not chosen:
                continue
            test = np.array([r["test"] for r in chosen.values()])
            last = np.array([r["last_test"] for r in chosen.values()])
            val = np.array([r["val"] for r in chosen.values()])
            gains = np.array([r["test"] - baseline[s]["test"] for s, r in chosen.items() if s in baseline])
            gain = f"{gains.mean():+.3f} ± {gains.std():.3f} ({gains.min():+.3f})" if len(gains) else "n/a"
            over_bn = np.array([r["test"] - bn_only[s]["test"] for s, r in chosen.items() if s in bn_only])
            gain_bn = f"{over_bn.mean():+.3f} ({over_bn.min():+.3f})" if len(over_bn) else "n/a"
            lines.append(
                f"| {method} | {', '.join(format(r['weight'], 'g') for r in chosen.values())}"
                f" | {test.mean():.3f} ± {test.std():.3f} | {gain} | {gain_bn} | {last.mean():.3f} ± {last.std():.3f}"
                f" | {val.mean():.3f} | {np.mean([r['seconds'] for r in rows_of[method]]):.0f} |"
            )
        lines.append("\nEvery weight tried (test acc at its selected epoch, mean ± std over seeds):\n")
        for method in methods:
            for weight in sorted({r["weight"] for r in rows_of[method]}):
                test = np.array([r["test"] for r in rows_of[method] if r["weight"] == weight])
                lines.append(f"- {method} weight={weight:g}: {test.mean():.3f} ± {test.std():.3f} (n={len(test)})")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- ADAPT
def epoch_timer(base):
    """A callback (of the given Keras's base class) recording each epoch's wall time."""

    class EpochTimer(base):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

        def per_epoch(self):
            """Median epoch time, the first epoch (tracing/compilation) left out when there are others."""
            return float(np.median(self.seconds[1:] if len(self.seconds) > 1 else self.seconds))

    return EpochTimer()


def run_adapt_side_by_side(pair, seeds, data, config):
    """ADAPT's DANN vs ours, same encoder/data/optimizer/ramp/epochs, alternated per seed."""
    import tensorflow as tf
    from adapt.feature_based import DANN
    from adapt.utils import UpdateLambda

    tfk = tf.keras
    total = config["steps"] * config["epochs"]
    n = max(len(data["y_source"]), len(data["x_target"]))
    epochs = max(1, round(total * config["batch"] / n))  # ADAPT's epoch = one pass over the longer domain
    rows = []
    for seed in seeds:
        # --- ADAPT (tf_keras)
        tf.keras.utils.set_random_seed(seed)
        enc = encoder(pair, data["x_source"].shape[1:], api=tfk)
        task = classifier(enc.output_shape[-1], api=tfk)
        disc = tfk.Sequential([tfk.Input((enc.output_shape[-1],)), tfk.layers.Dense(256, activation="relu"),
                               tfk.layers.Dense(256, activation="relu"), tfk.layers.Dense(1, activation="sigmoid")])
        steps_per_epoch = math.ceil(n / config["batch"])
        lr = tfk.optimizers.schedules.InverseTimeDecay(config["lr"], 1, 0)  # replaced below
        del lr

        class AdaptLR(tfk.optimizers.schedules.LearningRateSchedule):
            def __call__(self, step):
                p = tf.cast(step, "float32") / (epochs * steps_per_epoch)
                return config["lr"] / (1.0 + 10.0 * p) ** 0.75

        opt = lambda: tfk.optimizers.SGD(AdaptLR(), momentum=0.9)  # noqa: E731
        y_onehot = np.eye(10, dtype="float32")[data["y_source"]]
        model = DANN(encoder=enc, task=task, discriminator=disc, Xt=data["x_target"], lambda_=tf.Variable(0.0),
                     optimizer=opt(), optimizer_enc=opt(), optimizer_disc=opt(),
                     loss="categorical_crossentropy", metrics=["acc"], random_state=seed, verbose=0)
        ramp = UpdateLambda(lambda_max=config["adapt_lambda"], max_steps=epochs * steps_per_epoch, gamma=10.0)
        timer = epoch_timer(tfk.callbacks.Callback)
        start = time.perf_counter()
        model.fit(data["x_source"], y_onehot, epochs=epochs, batch_size=config["batch"], callbacks=[ramp, timer],
                  verbose=0)
        adapt_total = time.perf_counter() - start
        adapt_time = timer.per_epoch()
        adapt_acc = float(np.mean(model.predict(data["x_test"], verbose=0).argmax(-1) == data["y_test"]))
        # --- ours (Keras 3)
        keras.utils.set_random_seed(seed)
        features = encoder(pair, data["x_source"].shape[1:])
        head = classifier(features.output_shape[-1])
        # ADAPT's domain loss is -log d(s) - log(1 - d(t)) (a sum over the two domains: twice our
        # per-domain mean) and its encoder runs once per domain: alignment_weight=2 and
        # joint_forward=False make the two objectives and computations identical.
        ours = kt.models.DomainAdaptationModel(features, head, kt.layers.DomainAdversarialHead((256, 256)),
                                               alignment_weight=2.0, joint_forward=False)
        ours.compile(keras.optimizers.SGD(DannLearningRate(config["lr"], epochs * steps_per_epoch), momentum=0.9),
                     "sparse_categorical_crossentropy", metrics=["accuracy"])
        train = kt.data.domain_adaptation_dataset(source=(data["x_source"], data["y_source"]),
                                                  target=data["x_target"], batch_size=config["batch"], seed=seed)
        timer = epoch_timer(keras.callbacks.Callback)
        start = time.perf_counter()
        ours.fit(train, epochs=epochs, verbose=0,
                 callbacks=[kt.callbacks.GradientReversalSchedule("dann", max_value=config["adapt_lambda"]), timer])
        ours_total = time.perf_counter() - start
        ours_time = timer.per_epoch()
        ours_acc = float(np.mean(ours.predict(data["x_test"], verbose=0, batch_size=1024).argmax(-1) == data["y_test"]))
        rows.append({"seed": seed, "epochs": epochs, "adapt_acc": adapt_acc, "adapt_s_per_epoch": adapt_time,
                     "adapt_fit_seconds": adapt_total, "ours_acc": ours_acc, "ours_s_per_epoch": ours_time,
                     "ours_fit_seconds": ours_total})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def step_timing(pair, data, config, repeats=3, steps=40):
    """Seconds per train step, alternated: plain source-only fit in tf_keras vs Keras 3 (the
    Keras versions' own cost), and ADAPT's DANN vs ours (identical objective, batch 2 x batch)."""
    import tensorflow as tf
    from adapt.feature_based import DANN

    tfk, batch = tf.keras, config["batch"]
    x, y = data["x_source"][: steps * batch], data["y_source"][: steps * batch]
    xt = data["x_target"][: steps * batch]
    onehot = np.eye(10, dtype="float32")[y]

    def plain(api):
        model = api.Sequential([encoder(pair, x.shape[1:], api=api), classifier(64 if pair == "fmnist" else 64, api=api)])
        model.compile(api.optimizers.SGD(0.01, momentum=0.9), "sparse_categorical_crossentropy")
        return lambda: model.fit(x, y, batch_size=2 * batch, epochs=1, verbose=0)

    def adapt_dann():
        enc = encoder(pair, x.shape[1:], api=tfk)
        disc = tfk.Sequential([tfk.Input((enc.output_shape[-1],)), tfk.layers.Dense(256, activation="relu"),
                               tfk.layers.Dense(256, activation="relu"), tfk.layers.Dense(1, activation="sigmoid")])
        model = DANN(encoder=enc, task=classifier(enc.output_shape[-1], api=tfk), discriminator=disc, Xt=xt,
                     lambda_=0.3, optimizer=tfk.optimizers.SGD(0.01, momentum=0.9), loss="categorical_crossentropy",
                     random_state=0, verbose=0)
        return lambda: model.fit(x, onehot, epochs=1, batch_size=batch, verbose=0)

    def ours_dann():
        features = encoder(pair, x.shape[1:])
        model = kt.models.DomainAdaptationModel(features, classifier(features.output_shape[-1]),
                                                kt.layers.DomainAdversarialHead((256, 256)), alignment_weight=2.0,
                                                joint_forward=False)
        model.compile(keras.optimizers.SGD(0.01, momentum=0.9), "sparse_categorical_crossentropy")
        train = kt.data.domain_adaptation_dataset(source=(x, y), target=xt, batch_size=batch, seed=0)
        return lambda: model.fit(train, epochs=1, verbose=0)

    runners = {"tf_keras plain": plain(tfk), "keras3 plain": plain(keras), "adapt dann": adapt_dann(),
               "ours dann": ours_dann()}
    for run_once in runners.values():  # trace / compile once
        run_once()
    times = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run_once in runners.items():
            start = time.perf_counter()
            run_once()
            times[name].append((time.perf_counter() - start) / steps)
    result = {name: float(np.median(t)) for name, t in times.items()}
    print(json.dumps({"pair": pair, "seconds_per_step": result}), flush=True)
    return result


# ----------------------------------------------------------------------------- main
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pair", default="all", choices=("fmnist", "digits", "all"))
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--weights", default=None, help="override the grid, e.g. dann=0.3,1;mmd=1")
    parser.add_argument("--steps", type=int, default=None, help="steps per epoch")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--batch", type=int, default=64, help="per domain")
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--quick", action="store_true", help="tiny data and few steps (smoke test)")
    parser.add_argument("--adapt", action="store_true", help="side by side with ADAPT's DANN")
    parser.add_argument("--adapt-lambda", type=float, default=0.3)
    parser.add_argument("--step-timing", action="store_true",
                        help="with --adapt: seconds per step of plain fits (tf_keras, Keras 3) and both DANNs")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    parser.add_argument("--summarize", nargs="+", default=None, metavar="JSON",
                        help="print the tables of saved --out files (merged) and exit")
    args = parser.parse_args(argv)
    if args.summarize:
        saved = [json.load(open(path)) for path in args.summarize]
        results = [r for s in saved for r in s["results"]]
        methods = [m for m in METHODS if any(r["method"] == m for r in results)]
        print(summarize(results, methods, [p for p in ("fmnist", "digits") if any(r["pair"] == p for r in results)]))
        return results, [r for s in saved for r in s["adapt"]]

    pairs = ["fmnist", "digits"] if args.pair == "all" else [args.pair]
    methods = [m for m in args.methods.split(",") if m]
    seeds = [int(s) for s in args.seeds.split(",") if s]
    grid = dict(GRID)
    if args.weights:
        for item in args.weights.split(";"):
            name, values = item.split("=")
            grid[name] = tuple(float(v) for v in values.split(","))
    results, adapt_rows = [], []
    for pair in pairs:
        config = {"batch": args.batch, "lr": args.lr, "adapt_lambda": args.adapt_lambda,
                  "steps": args.steps or (20 if args.quick else (200 if pair == "fmnist" else 100)),
                  "epochs": args.epochs or (2 if args.quick else 8)}
        data = load_pair(pair, quick=args.quick)
        print(f"[{pair}] source {data['x_source'].shape} target {data['x_target'].shape} val {data['x_val'].shape}"
              f" test {data['x_test'].shape}; {config}", flush=True)
        if args.adapt and args.step_timing:
            adapt_rows.append({"pair": pair, "seconds_per_step": step_timing(pair, data, config)})
            continue
        if args.adapt:
            adapt_rows += [{"pair": pair, **row} for row in run_adapt_side_by_side(pair, seeds, data, config)]
            continue
        for seed in seeds:
            for method in methods:
                for weight in grid[method]:
                    result = run(pair, method, weight, seed, data, config)
                    results.append({**result, "config": config})
                    print(f"[{pair}] seed={seed} {method} w={weight:g}: val {result['val']:.3f} test {result['test']:.3f}"
                          f" (epoch {result['best_epoch']}) last {result['last_test']:.3f} {result['seconds']:.0f}s",
                          flush=True)
    if results:
        print(summarize(results, methods, pairs))
    if adapt_rows and not args.step_timing:
        for pair in pairs:
            rows = [r for r in adapt_rows if r["pair"] == pair]
            a = np.array([r["adapt_acc"] for r in rows])
            o = np.array([r["ours_acc"] for r in rows])
            ratio = np.array([r["adapt_s_per_epoch"] / r["ours_s_per_epoch"] for r in rows])
            print(f"\n[{pair}] ADAPT DANN acc {a.mean():.3f} ± {a.std():.3f}, ours {o.mean():.3f} ± {o.std():.3f};"
                  f" s/epoch ADAPT {np.mean([r['adapt_s_per_epoch'] for r in rows]):.2f}"
                  f" ours {np.mean([r['ours_s_per_epoch'] for r in rows]):.2f} (ADAPT/ours = {ratio.mean():.2f}x)")
    if args.out:
        with open(args.out, "w") as handle:
            json.dump({"results": results, "adapt": adapt_rows, "argv": sys.argv[1:]}, handle, indent=1)
    return results, adapt_rows


if __name__ == "__main__":
    main()
