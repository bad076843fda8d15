"""CCSA, Deep CORAL and the shallow transforms (CORAL, SA, TCA, FA): ours against ADAPT 0.4.5, same settings.

Two problems, 3 seeds (the seed draws the data split, the labelled target
examples and both libraries' initialisations), both libraries on Keras 3 in
one process (ADAPT through `tf.keras`), who runs first alternating by seed:

- ``moons``: two moons (noise 0.1), 600 source points, 600 unlabelled target
  points rotated by 35 degrees about the centre, 600 target test points;
  5 labelled target examples per class (from the unlabelled ones). Networks:
  a 2-64-64 ReLU encoder and a softmax head, Adam 1e-3, batch 32, 100 epochs
  (19 steps each: ADAPT's epoch is one pass over the longer domain, ours too).
  Shallow classifier: an RBF SVM.
- ``digits``: rendered font digits (4,000) -> UCI handwritten digits
  (`benchmarks/domain_adaptation.py`'s split: 1,000 unlabelled target images,
  497 test images; 3 labelled target examples per class from its validation
  split); its convolutional encoder (BatchNorm) and softmax head, Adam 1e-3,
  batch 32, 10 epochs of 125 steps. Shallow: multinomial logistic regression
  on the 64 standardised pixels; TCA on 1,000 source and 1,000 target images
  (the same for both libraries).

Deep methods, same objective: CCSA (ADAPT `CCSA(margin=1, gamma=0.5)`; ours
`ContrastiveSemanticAlignment(margin=1)`, `alignment_weight=1` (gamma=0.5
gives the task and the alignment equal weights), `labelled_target_weight=0`
(ADAPT's task loss sees the source only), one encoder pass per domain).
ADAPT's separation term is `max(0, m - d²)` summed by source row, ours the
paper's `max(0, m - d)²` averaged over the pairs: with m = 1 both act on the
same pairs. Deep CORAL (ADAPT `DeepCORAL(lambda_=1)`; ours the `coral`
alignment, weight 1, per-domain passes): ADAPT 0.4.5 updates its encoder
with the CORAL loss alone (the task loss trains only its head), ours with
both, as the paper. References: source only, and ours with the labelled
target examples in the task loss and no alignment ("S+T").

    python -m benchmarks.parity_ccsa_shallow                  # 3 seeds, both problems; writes benchmarks/results/
    python -m benchmarks.parity_ccsa_shallow --quick          # a smoke run (1 seed, few epochs), prints only
    python -m benchmarks.parity_ccsa_shallow --summarize benchmarks/results/parity_ccsa_shallow.jsonl
"""

import argparse
import datetime
import json
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_transfer as kt  # noqa: E402
from benchmarks import _parity_shallow  # noqa: E402
from benchmarks import domain_adaptation as digits_benchmark  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SETTINGS = {
    "moons": dict(epochs=100, batch=32, lr=1e-3, per_class=5, sa_components=2, tca_samples=600),
    "digits": dict(epochs=10, batch=32, lr=1e-3, per_class=3, sa_components=20, tca_samples=1000),
}


# ----------------------------------------------------------------------------- data
def moons(seed, quick):
    from sklearn.datasets import make_moons

    n = 150 if quick else 600
    angle = np.deg2rad(35.0)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    centre = np.array([0.5, 0.25])
    draw = lambda offset: make_moons(n, noise=0.1, random_state=seed * 10 + offset)  # noqa: E731
    (xs, ys), (xt, yt), (xtest, ytest) = draw(0), draw(1), draw(2)
    rotate = lambda x: ((x - centre) @ rotation.T + centre).astype("float32")  # noqa: E731
    return dict(x_source=xs.astype("float32"), y_source=ys, x_target=rotate(xt), y_target=yt,
                x_test=rotate(xtest), y_test=ytest)


def load(problem, seed, quick):
    if problem == "moons":
        data = moons(seed, quick)
        labelled_from = ("x_target", "y_target")
    else:
        data = digits_benchmark.load_pair("digits", quick=quick, split_seed=seed)
        labelled_from = ("x_val", "y_val")
    x, y = data[labelled_from[0]], data[labelled_from[1]]
    rng = np.random.default_rng(seed)
    pick = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:SETTINGS[problem]["per_class"]]
                           for c in np.unique(y)])
    data["x_labelled"], data["y_labelled"] = x[pick], y[pick]
    return data


def networks(problem, data, api):
    if problem == "moons":
        encoder = api.Sequential([api.Input((2,)), api.layers.Dense(64, activation="relu"),
                                  api.layers.Dense(64, activation="relu")], name="encoder")
        return encoder, digits_benchmark.classifier(64, num_classes=2, api=api)
    encoder = digits_benchmark.encoder("digits", data["x_source"].shape[1:], api=api)
    return encoder, digits_benchmark.classifier(encoder.output_shape[-1], num_classes=10, api=api)


# ----------------------------------------------------------------------------- deep methods
def _accuracy(model, data):
    return float(np.mean(model.predict(data["x_test"], verbose=0, batch_size=1024).argmax(-1) == data["y_test"]))


def run_adapt(method, problem, data, seed, config):
    import tensorflow as tf
    from adapt.feature_based import CCSA, DeepCORAL

    tfk = tf.keras
    tfk.utils.set_random_seed(seed)
    encoder, head = networks(problem, data, tfk)
    classes = head.output_shape[-1]
    one_hot = lambda y: np.eye(classes, dtype="float32")[y]  # noqa: E731
    common = dict(encoder=encoder, task=head, optimizer=tfk.optimizers.Adam(config["lr"]),
                  optimizer_enc=tfk.optimizers.Adam(config["lr"]), loss="categorical_crossentropy",
                  random_state=seed, verbose=0)
    if method == "ccsa":
        model = CCSA(Xt=data["x_labelled"], yt=one_hot(data["y_labelled"]), margin=1.0, gamma=0.5, **common)
    else:
        model = DeepCORAL(Xt=data["x_target"], lambda_=1.0, **common)
    start = time.perf_counter()
    model.fit(data["x_source"], one_hot(data["y_source"]), epochs=config["epochs"], batch_size=config["batch"],
              verbose=0)
    return _accuracy(model, data), time.perf_counter() - start


def run_ours(method, problem, data, seed, config):
    keras.utils.set_random_seed(seed)
    encoder, head = networks(problem, data, keras)
    source = (data["x_source"], data["y_source"])
    labelled = (data["x_labelled"], data["y_labelled"])
    if method == "source_only":
        model = keras.Sequential([encoder, head])
        model.compile(keras.optimizers.Adam(config["lr"]), "sparse_categorical_crossentropy")
        start = time.perf_counter()
        model.fit(*source, batch_size=config["batch"], epochs=config["epochs"], verbose=0)
        return _accuracy(model, data), time.perf_counter() - start
    alignment, target, weight = {
        "ccsa": (kt.losses.ContrastiveSemanticAlignment(margin=1.0), None, 0.0),
        "ccsa_default": (kt.losses.ContrastiveSemanticAlignment(margin=1.0), None, 1.0),
        "s_plus_t": (None, None, 1.0),
        "deep_coral": (kt.losses.CORAL(), data["x_target"], 1.0),
    }[method]
    model = kt.models.DomainAdaptationModel(encoder, head, alignment, alignment_weight=1.0, joint_forward=False,
                                            labelled_target_weight=weight)
    model.compile(keras.optimizers.Adam(config["lr"]), "sparse_categorical_crossentropy")
    train = kt.data.domain_adaptation_dataset(source=source, target=target, batch_size=config["batch"], seed=seed,
                                              labelled_target=labelled if method != "deep_coral" else None)
    start = time.perf_counter()
    model.fit(train, epochs=config["epochs"], verbose=0)
    return _accuracy(model, data), time.perf_counter() - start


DEEP = {  # method: [(variant, runner)], the ADAPT twin first
    "ccsa": [("adapt", lambda *a: run_adapt("ccsa", *a)),
             ("ours: same objective (labelled_target_weight=0)", lambda *a: run_ours("ccsa", *a)),
             ("ours: default (labelled_target_weight=1)", lambda *a: run_ours("ccsa_default", *a))],
    "deep_coral": [("adapt", lambda *a: run_adapt("deep_coral", *a)),
                   ("ours", lambda *a: run_ours("deep_coral", *a))],
    "reference": [("ours: source only", lambda *a: run_ours("source_only", *a)),
                  ("ours: S+T (labelled target in the task loss, no alignment)", lambda *a: run_ours("s_plus_t", *a))],
}


def run_problem(problem, seed, quick, sink):
    data = load(problem, seed, quick)
    config = dict(SETTINGS[problem], epochs=2 if quick else SETTINGS[problem]["epochs"])
    rows = []
    for method, variants in DEEP.items():
        order = variants if seed % 2 == 0 else variants[::-1]  # alternate who goes first
        for variant, runner in order:
            accuracy, seconds = runner(problem, data, seed, config)
            rows.append((method, variant, accuracy, seconds, None, ""))
            sink(problem, seed, rows[-1])
    for row in _parity_shallow.unsupervised_rows(problem, data, seed, config):
        sink(problem, seed, row)
    for row in _parity_shallow.feature_augmentation_rows(problem, data, seed):
        sink(problem, seed, row)


# ----------------------------------------------------------------------------- table
def summarize(records):
    lines = ["| problem | method | variant | target accuracy (mean ± std) | seconds (mean) | time / ADAPT's | "
             "agreement with ADAPT (mean) |", "|---|---|---|---|---|---|---|"]
    keys = list(dict.fromkeys((r["problem"], r["method"], r["variant"]) for r in records))
    for problem, method, variant in keys:
        rs = [r for r in records if (r["problem"], r["method"], r["variant"]) == (problem, method, variant)]
        acc = np.array([r["accuracy"] for r in rs])
        seconds = np.mean([r["seconds"] for r in rs])
        twin = [r for r in records if r["problem"] == problem and r["method"] == method
                and r["variant"].startswith("adapt")]
        ratio = ""
        if variant.startswith("ours") and twin and not variant.endswith("(our default)"):
            ratio = f"{seconds / np.mean([r['seconds'] for r in twin]):.2f}"
        agreement = [r["agreement"] for r in rs if r["agreement"] is not None]
        agree = f"{np.mean(agreement):.3g} ({rs[0]['agreement_measure']})" if agreement else ""
        lines.append(f"| {problem} | {method} | {variant} | {acc.mean():.3f} ± {acc.std():.3f} (n={len(acc)}) | "
                     f"{seconds:.2f} | {ratio} | {agree} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", default="moons,digits")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "parity_ccsa_shallow.jsonl"))
    parser.add_argument("--summarize", nargs="*")
    args = parser.parse_args(argv)
    if args.summarize:
        records = [json.loads(line) for path in args.summarize for line in open(path) if line.strip()]
        print(summarize(records))
        return
    records = []
    out = None if args.quick else open(args.out, "w")

    def sink(problem, seed, row):
        method, variant, accuracy, seconds, agreement, measure = row
        record = dict(problem=problem, seed=seed, method=method, variant=variant, accuracy=accuracy, seconds=seconds,
                      agreement=agreement, agreement_measure=measure)
        records.append(record)
        print(json.dumps(record), flush=True)
        if out is not None:
            out.write(json.dumps(record) + "\n")
            out.flush()

    start = time.time()
    seeds = [0] if args.quick else [int(s) for s in args.seeds.split(",")]
    for seed in seeds:
        for problem in args.problems.split(","):
            run_problem(problem, seed, args.quick, sink)
    table = summarize(records)
    print(table)
    if out is not None:
        out.close()
        header = (f"# CCSA, Deep CORAL and shallow transforms: keras_transfer vs ADAPT 0.4.5\n\n"
                  f"`python -m benchmarks.parity_ccsa_shallow --problems {args.problems} --seeds {args.seeds}` "
                  f"({datetime.date.today()}, {platform.machine()}, Keras {keras.__version__}, "
                  f"{time.time() - start:.0f} s in all). Settings in the module docstring.\n\n")
        with open(args.out.replace(".jsonl", ".md"), "w") as f:
            f.write(header + table + "\n")


if __name__ == "__main__":
    main()
