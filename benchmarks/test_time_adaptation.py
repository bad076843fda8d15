"""Test-time adaptation benchmark: source model vs BNAdapt vs TENT on corrupted Fashion-MNIST.

Protocol (per seed; `keras.utils.set_random_seed(seed)` before training):
  Source model: Rescaling(1/255) -> [Conv(32,3)+BN+ReLU -> MaxPool] -> [Conv(64,3)+BN+ReLU
    -> MaxPool] -> Conv(64,3)+BN+ReLU -> GlobalAveragePooling -> Dense(10, softmax), Adam(1e-3),
    batch 128, trained on the first 55,000 clean Fashion-MNIST train images; the last 5,000
    are the validation split.
  Selection (validation only): TENT's Adam learning rate in {1e-4, 1e-3, 1e-2} (steps=1,
    online, batch 128), by the mean accuracy over the 10 `kt.data.CORRUPTIONS` at severity 5
    on the corrupted validation images (corruption seed 1). BNAdapt keeps prior=0.
  Test: the test images, shuffled once (rng 0, the same order for every seed), corrupted
    with seed 0, each corruption x severity (3, 5) streamed in batches of 128 (the last one
    smaller): source (plain predict), BNAdapt(prior=0), TENT online at the selected lr; every
    TENT evaluation starts from the source model (`reset()`). Also clean test accuracy, and
    BNAdapt priors 0.5 / 0.9 on the severity-5 mean (batch 128).
  Long stream: the 10 corruptions at severity 5, n_test / 10 distinct test images each,
    concatenated corruption after corruption (batch 128): TENT online vs episodic vs BNAdapt vs
    source, overall and on each third of the stream.
  Batch size: severity 5, mean over gaussian_noise, defocus_blur, contrast, fog, on the first
    --bs-images shuffled test images: BNAdapt (prior 0) and TENT online (the selected lr,
    unchanged with the batch size) for batch 1..256; BNAdapt priors 0.5 and 0.9 for batch <= 16.
    Batch 1 still has statistics: a conv BN averages over the 28x28 (..7x7) positions.

    nice -n 10 python benchmarks/test_time_adaptation.py --seeds 0,1,2        # ~30 min on 2 cores
    python benchmarks/test_time_adaptation.py --quick                         # a minute, smoke test
    python benchmarks/test_time_adaptation.py --summarize                     # -> results/test_time.md

Each section writes one JSON line per seed to --out as soon as it is done (appends).
"""

import argparse
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_transfer as kt  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
LRS = (1e-4, 1e-3, 1e-2)
SEVERITIES = (3, 5)
BS_CORRUPTIONS = ("gaussian_noise", "defocus_blur", "contrast", "fog")
BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
PRIORS = (0.5, 0.9)
COMMANDS = ("nice -n 10 python benchmarks/test_time_adaptation.py --seeds 0,1,2",
            "python benchmarks/test_time_adaptation.py --summarize")


def build_model():
    L = keras.layers
    return keras.Sequential([
        keras.Input((28, 28, 1)), L.Rescaling(1 / 255),
        L.Conv2D(32, 3, padding="same"), L.BatchNormalization(), L.ReLU(), L.MaxPooling2D(),
        L.Conv2D(64, 3, padding="same"), L.BatchNormalization(), L.ReLU(), L.MaxPooling2D(),
        L.Conv2D(64, 3, padding="same"), L.BatchNormalization(), L.ReLU(),
        L.GlobalAveragePooling2D(), L.Dense(10, activation="softmax"),
    ])


def acc(probs, y):
    return float(np.mean(np.argmax(probs, -1) == y))


class Corrupted:
    """Corrupted copies of a set of uint8 images, computed once (the model seed does not change them)."""

    def __init__(self, x, seed):
        self.x, self.seed, self.cache = x, seed, {}

    def __call__(self, corruption, severity):
        key = (corruption, severity)
        if key not in self.cache:
            self.cache[key] = kt.data.corrupt(self.x, corruption, severity, seed=self.seed)[..., None].astype("float32")
        return self.cache[key]


class Methods:
    """One BNAdapt per prior and one TENT per (lr, episodic), reset before every evaluation."""

    def __init__(self, model):
        self.model, self.bn, self.tent = model, {}, {}

    def source(self, x, y):
        return acc(self.model.predict(x, batch_size=512, verbose=0), y)

    def bn_adapt(self, x, y, batch=128, prior=0.0):
        if prior not in self.bn:
            self.bn[prior] = kt.test_time.BNAdapt(self.model, prior=prior)
        return acc(self.bn[prior].predict(x, batch_size=batch, verbose=0), y)

    def tent_probs(self, x, lr, batch=128, episodic=False):
        key = (lr, episodic)
        if key not in self.tent:
            self.tent[key] = kt.test_time.TENT(self.model, keras.optimizers.Adam(lr), steps=1, episodic=episodic)
        self.tent[key].reset()
        return self.tent[key].predict(x, batch_size=batch, verbose=0)

    def tent_online(self, x, y, lr, batch=128):
        return acc(self.tent_probs(x, lr, batch), y)


def write(path, row):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "a") as handle:
        handle.write(json.dumps(row) + "\n")
    print(json.dumps({k: v for k, v in row.items() if k in ("kind", "seed", "seconds", "summary")}), flush=True)


def run_seed(seed, args, data, val_c, test_c, corruptions, out):
    base = {"seed": seed, "mode": args.mode, "run_id": args.run_id, "n_test": len(data["y_test"]),
            "n_val": len(data["y_val"])}
    keras.utils.set_random_seed(seed)
    model = build_model()
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(data["x_train"], data["y_train"], batch_size=128, epochs=args.epochs, verbose=0)
    seconds = time.perf_counter() - start
    m = Methods(model)
    clean = {"source": m.source(data["x_test"], data["y_test"]), "bn_adapt": m.bn_adapt(data["x_test"], data["y_test"])}
    write(out, {**base, "kind": "train", "seconds": seconds, "epochs": args.epochs, "n_train": len(data["y_train"]),
                "val_clean": m.source(data["x_val"], data["y_val"]), "summary": clean})

    # --- selection of TENT's lr on the corrupted validation images (severity 5, corruption seed 1)
    start, val = time.perf_counter(), {}
    yv = data["y_val"]
    for c in corruptions:
        xv = val_c(c, 5)
        val[c] = {"source": m.source(xv, yv), "bn_adapt": m.bn_adapt(xv, yv)}
        val[c].update({f"tent_lr{lr:g}": m.tent_online(xv, yv, lr) for lr in LRS})
    means = {lr: float(np.mean([val[c][f"tent_lr{lr:g}"] for c in corruptions])) for lr in LRS}
    lr = max(LRS, key=lambda k: (means[k], -k))
    write(out, {**base, "kind": "selection", "seconds": time.perf_counter() - start, "per_corruption": val,
                "tent_val_mean": {f"{k:g}": v for k, v in means.items()}, "lr": lr, "summary": {"lr": lr}})

    # --- test: every corruption x severity, plus clean
    start = time.perf_counter()
    x, y = data["x_test"], data["y_test"]
    test = {"clean": {**clean, "tent": m.tent_online(x, y, lr)}}
    for c in corruptions:
        for s in SEVERITIES:
            xc = test_c(c, s)
            test[f"{c}/{s}"] = {"source": m.source(xc, y), "bn_adapt": m.bn_adapt(xc, y), "tent": m.tent_online(xc, y, lr)}
        for prior in PRIORS:
            test[f"{c}/5"][f"bn_adapt_p{prior:g}"] = m.bn_adapt(test_c(c, 5), y, prior=prior)
    write(out, {**base, "kind": "test", "seconds": time.perf_counter() - start, "lr": lr, "accuracy": test,
                "summary": {k: float(np.mean([test[f"{c}/5"][k] for c in corruptions])) for k in test["clean"]}})

    # --- long stream: the corruptions at severity 5 one after the other, distinct images
    start = time.perf_counter()
    seg = len(y) // len(corruptions)
    xs = np.concatenate([test_c(c, 5)[i * seg:(i + 1) * seg] for i, c in enumerate(corruptions)])
    ys = y[:seg * len(corruptions)]
    preds = {"source": m.model.predict(xs, batch_size=512, verbose=0),
             "bn_adapt": m.bn[0.0].predict(xs, batch_size=128, verbose=0),
             "tent_online": m.tent_probs(xs, lr), "tent_episodic": m.tent_probs(xs, lr, episodic=True)}
    third = len(ys) // 3
    stream = {}
    for name, p in preds.items():
        hit = np.argmax(p, -1) == ys
        stream[name] = {"overall": float(hit.mean()), "first_third": float(hit[:third].mean()),
                        "middle_third": float(hit[third:-third].mean()), "last_third": float(hit[-third:].mean()),
                        "per_segment": [float(hit[i * seg:(i + 1) * seg].mean()) for i in range(len(corruptions))]}
    write(out, {**base, "kind": "stream", "seconds": time.perf_counter() - start, "lr": lr, "segment": seg,
                "order": list(corruptions), "accuracy": stream,
                "summary": {k: round(v["overall"], 4) for k, v in stream.items()}})

    # --- batch-size sensitivity (severity 5, a few corruptions, first --bs-images test images)
    start = time.perf_counter()
    n = min(args.bs_images, len(y))
    bs_corr = [c for c in BS_CORRUPTIONS if c in corruptions] or list(corruptions[:2])
    rows = {}
    for c in bs_corr:
        xc, yc = test_c(c, 5)[:n], y[:n]
        rows[c] = {"source": m.source(xc, yc)}
        for b in args.batch_sizes:
            rows[c][f"bn_adapt/{b}"] = m.bn_adapt(xc, yc, batch=b)
            rows[c][f"tent/{b}"] = m.tent_online(xc, yc, lr, batch=b)
            for prior in PRIORS if b <= 16 else ():
                rows[c][f"bn_adapt_p{prior:g}/{b}"] = m.bn_adapt(xc, yc, batch=b, prior=prior)
    write(out, {**base, "kind": "batch_size", "seconds": time.perf_counter() - start, "lr": lr, "n_images": n,
                "corruptions": bs_corr, "accuracy": rows, "summary": {"n_images": n}})


# ----------------------------------------------------------------------------- summary
def ms(values, signed=False):
    v = np.asarray(values, dtype=float)
    return f"{v.mean():{'+' if signed else ''}.3f} ± {v.std():.3f}" if len(v) else "n/a"


def summarize(path, mode="full"):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    rows = [r for r in rows if r.get("mode") == mode]
    latest = {}
    for r in rows:  # the last line of each (kind, seed) wins
        latest[(r["kind"], r["seed"])] = r
    by = {kind: [latest[k] for k in sorted(latest) if k[0] == kind]
          for kind in ("train", "selection", "test", "stream", "batch_size")}
    seeds = [r["seed"] for r in by["train"]]
    L = ["# Test-time adaptation on corrupted Fashion-MNIST (source vs BNAdapt vs TENT)", "",
         "Generated by `benchmarks/test_time_adaptation.py` (protocol in its docstring). Commands:", "",
         "```", *COMMANDS, "```", "",
         f"Seeds: {seeds}. Mean ± std over seeds (np.std, ddof=0); differences are paired per seed."]
    if by["train"]:
        t = by["train"]
        L += ["", "## Source models", "",
              f"{t[0]['n_train']} training images, {t[0]['epochs']} epochs; validation {t[0]['n_val']} images.", "",
              "| seed | train s | clean val acc | clean test acc (source) |", "|---|---|---|---|"]
        L += [f"| {r['seed']} | {r['seconds']:.0f} | {r['val_clean']:.3f} | {r['summary']['source']:.3f} |" for r in t]
    if by["selection"]:
        s = by["selection"]
        L += ["", "## Selection of TENT's learning rate (validation, severity 5, mean over corruptions)", "",
              "| method | val acc, mean ± std |", "|---|---|"]
        cs = list(s[0]["per_corruption"])
        for key in ("source", "bn_adapt", *[f"tent_lr{lr:g}" for lr in LRS]):
            L.append(f"| {key} | {ms([np.mean([r['per_corruption'][c][key] for c in cs]) for r in s])} |")
        L.append(f"\nSelected lr per seed: {', '.join(format(r['lr'], 'g') for r in s)}.")
    if by["test"]:
        te = by["test"]
        n = te[0]["n_test"]
        keys = list(te[0]["accuracy"])
        cs = sorted({k.split("/")[0] for k in keys if "/" in k}, key=lambda c: kt.data.CORRUPTIONS.index(c))
        L += ["", f"## Test accuracy ({n} test images, batch 128; TENT online, steps=1, selected lr)", "",
              "| corruption/severity | source | BNAdapt | TENT | BNAdapt − source | TENT − source | TENT − BNAdapt |",
              "|---|---|---|---|---|---|---|"]

        def line(name, get):
            a = {k: np.array([get(r, k) for r in te]) for k in ("source", "bn_adapt", "tent")}
            return (f"| {name} | {ms(a['source'])} | {ms(a['bn_adapt'])} | {ms(a['tent'])} | "
                    f"{ms(a['bn_adapt'] - a['source'], 1)} | {ms(a['tent'] - a['source'], 1)} | "
                    f"{ms(a['tent'] - a['bn_adapt'], 1)} |")

        for k in keys:
            L.append(line(k, lambda r, m, k=k: r["accuracy"][k][m]))
        for sev in SEVERITIES:
            L.append(line(f"**mean, severity {sev}**",
                          lambda r, m, sev=sev: np.mean([r["accuracy"][f"{c}/{sev}"][m] for c in cs])))
        L += ["", "BNAdapt prior (severity 5, batch 128, mean over corruptions):", "",
              "| prior | test acc | − source |", "|---|---|---|"]
        src = np.array([np.mean([r["accuracy"][f"{c}/5"]["source"] for c in cs]) for r in te])
        for prior, key in ((0.0, "bn_adapt"), *[(p, f"bn_adapt_p{p:g}") for p in PRIORS]):
            a = np.array([np.mean([r["accuracy"][f"{c}/5"][key] for c in cs]) for r in te])
            L.append(f"| {prior:g} | {ms(a)} | {ms(a - src, 1)} |")
    if by["stream"]:
        st = by["stream"]
        L += ["", f"## Long stream (severity 5, {len(st[0]['order'])} corruptions x {st[0]['segment']} images, "
              "in CORRUPTIONS order, batch 128)", "",
              "| method | overall | − source | first third | middle third | last third | last third − source |",
              "|---|---|---|---|---|---|---|"]
        for name in st[0]["accuracy"]:
            g = lambda part, nm=name: np.array([r["accuracy"][nm][part] for r in st])  # noqa: E731
            s0 = lambda part: np.array([r["accuracy"]["source"][part] for r in st])  # noqa: E731
            L.append(f"| {name} | {ms(g('overall'))} | {ms(g('overall') - s0('overall'), 1)} | {ms(g('first_third'))}"
                     f" | {ms(g('middle_third'))} | {ms(g('last_third'))} | {ms(g('last_third') - s0('last_third'), 1)} |")
        L += ["", "Per segment (mean over seeds): " + "; ".join(
            f"{c}: " + ", ".join(f"{nm} {np.mean([r['accuracy'][nm]['per_segment'][i] for r in st]):.3f}"
                                 for nm in st[0]["accuracy"]) for i, c in enumerate(st[0]["order"]))]
    if by["batch_size"]:
        bs = by["batch_size"]
        cs = bs[0]["corruptions"]
        sizes = sorted({int(k.split("/")[1]) for k in bs[0]["accuracy"][cs[0]] if "/" in k})
        L += ["", f"## Batch size (severity 5, mean over {', '.join(cs)}; first {bs[0]['n_images']} test images; "
              "TENT at the lr selected for batch 128)", "",
              "| batch | BNAdapt p=0 | − source | TENT | − source | BNAdapt p=0.5 | BNAdapt p=0.9 |",
              "|---|---|---|---|---|---|---|"]
        src = np.array([np.mean([r["accuracy"][c]["source"] for c in cs]) for r in bs])
        for b in sizes:
            get = lambda key: np.array([np.mean([r["accuracy"][c][f"{key}/{b}"] for c in cs]) for r in bs])  # noqa
            bn, tn = get("bn_adapt"), get("tent")
            pri = [ms(get(f"bn_adapt_p{p:g}")) if f"bn_adapt_p{p:g}/{b}" in bs[0]["accuracy"][cs[0]] else "–"
                   for p in PRIORS]
            L.append(f"| {b} | {ms(bn)} | {ms(bn - src, 1)} | {ms(tn)} | {ms(tn - src, 1)} | {pri[0]} | {pri[1]} |")
        L.append(f"\nSource on these images: {ms(src)}.")
    secs = {k: np.mean([r["seconds"] for r in v]) for k, v in by.items() if v}
    L += ["", "Seconds per seed (mean): " + ", ".join(f"{k} {v:.0f}" for k, v in secs.items()) + "."]
    return "\n".join(L) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--n-test", type=int, default=10000, help="first n of the shuffled test images")
    parser.add_argument("--bs-images", type=int, default=2000, help="images for the batch-size sweep")
    parser.add_argument("--batch-sizes", default=",".join(map(str, BATCH_SIZES)))
    parser.add_argument("--quick", action="store_true", help="1 seed, 1 epoch, 1,000 images, 2 corruptions")
    parser.add_argument("--out", default=None, help="JSON lines (default results/test_time.jsonl; --quick: a temp file)")
    parser.add_argument("--summarize", action="store_true", help="write the markdown tables of --out and exit")
    parser.add_argument("--md", default=os.path.join(RESULTS, "test_time.md"))
    args = parser.parse_args(argv)
    args.mode = "quick" if args.quick else "full"
    args.out = args.out or (os.path.join(tempfile.gettempdir(), "test_time_quick.jsonl") if args.quick
                            else os.path.join(RESULTS, "test_time.jsonl"))
    if args.summarize:
        text = summarize(args.out, args.mode)
        if not args.quick:
            with open(args.md, "w") as handle:
                handle.write(text)
        print(text)
        return text
    args.batch_sizes = [int(b) for b in args.batch_sizes.split(",") if b]
    seeds = [int(s) for s in args.seeds.split(",") if s]
    corruptions = list(kt.data.CORRUPTIONS)
    n_train = None
    if args.quick:
        seeds, args.epochs, args.n_test, args.bs_images = seeds[:1], 1, 1000, 256
        args.batch_sizes, corruptions, n_train = [1, 16, 128], ["gaussian_noise", "contrast"], 2000
    args.run_id = time.strftime("%Y%m%d-%H%M%S")
    (x_train, y_train), (x_test, y_test) = kt.data.load_fashion_mnist()
    order = np.random.default_rng(0).permutation(len(y_test))[:args.n_test]  # one fixed stream order
    n_val = 1000 if args.quick else 5000
    data = {"x_train": x_train[:55000][:n_train, ..., None].astype("float32"), "y_train": y_train[:55000][:n_train],
            "x_val": x_train[55000:][:n_val, ..., None].astype("float32"), "y_val": y_train[55000:][:n_val],
            "x_test": x_test[order, ..., None].astype("float32"), "y_test": y_test[order]}
    val_c = Corrupted(x_train[55000:][:n_val], seed=1)
    test_c = Corrupted(x_test[order], seed=0)
    print(f"seeds {seeds}, epochs {args.epochs}, train {len(data['y_train'])}, val {n_val}, test {args.n_test}, "
          f"corruptions {len(corruptions)} -> {args.out}", flush=True)
    start = time.perf_counter()
    for seed in seeds:
        run_seed(seed, args, data, val_c, test_c, corruptions, args.out)
        print(f"seed {seed} done, {time.perf_counter() - start:.0f}s total", flush=True)
    if args.quick:
        print(summarize(args.out, "quick"))


if __name__ == "__main__":
    main()
