"""LP-FT, WiSE-FT, model soups and EMA against plain fine-tuning, in distribution and under shift.

Fashion-MNIST classes 0-4 -> 5-9 (the task of `benchmarks/l2sp.py`): a small
CNN (`keras_transfer.cli.demo.small_cnn`) is pretrained on classes 0-4 (one
source model per seed); the target task is classes 5-9 with `--train-per-class`
labelled images per class and a separate validation split of
`--val-per-class` per class (both from the training split, `split_target`).
Test sets (classes 5-9 of the test split, the same images for every method
and seed): in distribution (Fashion-MNIST), Fashion-MNIST-M (items over
photo patches, taken to grayscale) and four corruptions at severity 3
(`kt.data.corrupt`: gaussian noise, defocus blur, fog, pixelate).

Methods (every layer trains with Adam at one rate, `lr_mult=1`, `--epochs`
epochs of batch 32 after the head stage; the rate is chosen per method from
`--rates` by mean validation accuracy over seeds):

- `ft1`, `ft5`: `kt.fine_tune(freeze_epochs=1 | 5)` (the head alone at the
  same rate for 1 or 5 epochs inside the same fit, then everything);
- `ema`: `ft1` with `keras.optimizers.Adam(rate, use_ema=True, ema_momentum=0.99)`
  (the weights become their moving average at the end of fit); `ema_0.9`,
  an extra row: the same with momentum 0.9 (0.99 averages over ~100 steps,
  most of such a short run);
- `lp`: the linear probe (`linear_probe`: Adam 1e-2, early stopping on
  validation loss, patience 5, best head restored) alone;
- `lp_ft`: `robust_fine_tuning.lp_ft`: that probe, then everything;
- `wise_ft`: `wise_ft(probed, lp_ft_model)`, alpha in 0, 0.1, ..., 1 chosen
  on validation; `wise_ft_0.5`: alpha fixed at 0.5;
- `uniform_soup`, `greedy_soup`: 4 ingredients fine-tuned (LP-FT's second
  stage) from the same probed model at rate x (1, 0.5, 2, 0.25), own seeds;
  `best_ingredient`: the one with the best validation accuracy.

Paired seeds: a seed fixes the source model, the data split, the initial
head and the test images for every method. Writes one JSON line per seed x
rate x method and a Markdown report.

    nice -n 10 python -m benchmarks.robust_fine_tuning          # 6 seeds, rates 1e-4 and 1e-3 (about 40 min on 2 cores)
    python -m benchmarks.robust_fine_tuning --quick             # a smoke run (about 2 min), writes to /tmp
    python -m benchmarks.robust_fine_tuning --summarize         # the report again from the .jsonl
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

LABELS = {
    "ft1": "plain FT, `fine_tune(freeze_epochs=1)`",
    "ft5": "FT, `fine_tune(freeze_epochs=5)`",
    "ema": "FT (freeze_epochs=1) + EMA 0.99",
    "ema_0.9": "FT (freeze_epochs=1) + EMA 0.9 (extra)",
    "lp": "linear probe only",
    "lp_ft": "LP-FT (`lp_ft`)",
    "wise_ft": "WiSE-FT (alpha on validation)",
    "wise_ft_0.5": "WiSE-FT, alpha = 0.5",
    "uniform_soup": "uniform soup (4)",
    "greedy_soup": "greedy soup (4)",
    "best_ingredient": "best soup ingredient (on validation)",
}
BASELINE = "ft1"
OUTPUT = os.path.join("benchmarks", "results", "robust_fine_tuning")


def _few_labels(x, y, k, seed):
    rng = np.random.default_rng(seed)
    index = np.concatenate([rng.choice(np.flatnonzero(y == c), k, replace=False) for c in range(5)])
    return x[index], y[index]


def run(args, write, log=print):
    import keras

    from benchmarks import _robust_methods as methods

    (x_train, y_train), (x_test, y_test) = task.load()
    sets = methods.test_sets(x_test, y_test, severity=args.severity, limit=args.test_limit)
    log(f"  test sets: {', '.join(f'{n} {len(v[1])}' for n, v in sets.items())}")
    for seed in args.seeds:
        source = task.pretrain_source(x_train, y_train, seed=seed, epochs=args.source_epochs, limit=args.source_limit, log=log)
        validation, (x_pool, y_pool) = task.split_target(x_train, y_train, validation_per_class=args.val_per_class, seed=seed)
        data = (_few_labels(x_pool, y_pool, args.train_per_class, seed), validation)
        evaluate = methods.Evaluator(methods.new_classifier(source, seed), sets, validation)
        for rate in args.rates:
            results = {}
            for name, freeze, ema in (("ft1", 1, None), ("ft5", 5, None), ("ema", 1, 0.99), ("ema_0.9", 1, 0.9)):
                model, seconds, info = methods.plain(source, data, seed=seed, rate=rate, epochs=args.epochs,
                                                     freeze_epochs=freeze, ema=ema)
                results[name] = (evaluate(model), seconds, info)
            results.update(methods.lp_ft_family(source, data, evaluate, seed=seed, rate=rate, epochs=args.epochs,
                                                probe_epochs=args.probe_epochs))
            for method, (scores, seconds, info) in results.items():
                write({"seed": seed, "rate": rate, "method": method, **scores, "seconds": round(seconds, 2), "info": info})
                log(f"  seed {seed} lr {rate:g} {method:<15} val {scores['val']:.3f} id {scores['id']:.3f} "
                    f"fmnist-m {scores['fmnist_m']:.3f} corrupted {scores['corrupted_mean']:.3f} ({seconds:.0f} s)")
        keras.backend.clear_session()


# === Report ===

def _pick(records):
    """`{method: [records at the method's rate, by seed]}`, the rate chosen by mean validation accuracy over seeds."""
    chosen = {}
    for method in LABELS:
        rows = [r for r in records if r["method"] == method]
        if not rows:
            continue
        rates = sorted({r["rate"] for r in rows})
        best = max(rates, key=lambda rate: (np.mean([r["val"] for r in rows if r["rate"] == rate]), -rate))
        chosen[method] = sorted((r for r in rows if r["rate"] == best), key=lambda r: r["seed"])
    return chosen


def _ms(values, digits=3):
    values = np.asarray(values, float)
    return f"{values.mean():.{digits}f} ± {values.std():.{digits}f}"


def _diff(rows, base, key):
    d = np.array([r[key] for r in rows]) - np.array([b[key] for b in base])
    return f"{d.mean():+.3f} ± {d.std():.3f} ({int((d > 0).sum())}+/{int((d < 0).sum())}−)", d


def _detail(r):
    info = r["info"]
    if "alpha" in info and r["method"] == "wise_ft":
        return f"alpha {info['alpha']:g}"
    if "probe_epochs" in info:
        return f"probe kept epoch {info['probe_epochs']} of {info['probe_epochs_run']}"
    if "kept" in info:
        return f"kept {info['kept']}"
    if "factor" in info:
        return f"ingredient {info['index']} (x{info['factor']:g})"
    if info.get("head_stage_val") is not None:
        return f"val after head stage {info['head_stage_val']:.3f}"
    return ""


def summarize(records, header):
    chosen = _pick(records)
    seeds = sorted({r["seed"] for r in records})
    corruptions = [k for k in records[0] if k not in ("seed", "rate", "method", "id", "fmnist_m", "val",
                                                      "corrupted_mean", "seconds", "info")]
    base = chosen[BASELINE]
    out = [header, "", f"### Mean over {len(seeds)} paired seeds ({', '.join(map(str, seeds))}), ± std", "",
           "| method | rate (on val) | validation | in distribution | Fashion-MNIST-M | corrupted (mean of "
           f"{len(corruptions)}) | " + " | ".join(corruptions) + " | seconds |",
           "|---|---:|---:|---:|---:|---:|" + "---:|" * len(corruptions) + "---:|"]
    for method, rows in chosen.items():
        cells = [_ms([r[k] for r in rows]) for k in ("val", "id", "fmnist_m", "corrupted_mean", *corruptions)]
        rate = "— (no FT)" if method == "lp" else f"{rows[0]['rate']:g}"
        out.append(f"| {LABELS[method]} | {rate} | " + " | ".join(cells) +
                   f" | {_ms([r['seconds'] for r in rows], 0)} |")
    out += ["", "### Paired difference to plain FT (method − `ft1`, each at its validation-chosen rate; "
            "mean ± std over seeds, (seeds better+/worse−))", "",
            "| method | in distribution | Fashion-MNIST-M | corrupted mean | validation |", "|---|---:|---:|---:|---:|"]
    verdicts = []
    for method, rows in chosen.items():
        if method == BASELINE:
            continue
        cells = {k: _diff(rows, base, k) for k in ("id", "fmnist_m", "corrupted_mean", "val")}
        out.append(f"| {LABELS[method]} | " + " | ".join(c[0] for c in cells.values()) + " |")
        verdicts.append(_verdict(method, cells))
    out += ["", "Read mechanically from the table above (a difference counts as consistent when its sign is the "
            "same in every seed):", ""] + verdicts
    out += ["", "### LP-FT (probe to convergence) vs a fixed head stage, at each rate", "",
            "Same fine-tuning epochs, rate and initial head after the head stage; only the head stage differs "
            "(`fine_tune(freeze_epochs=k)` trains the head at the fine-tuning rate for k epochs; `lp_ft` probes "
            "with Adam 1e-2 until the validation loss stops improving).", "",
            "| rate | method | head-only epochs | val acc after head stage | validation | in distribution | "
            "Fashion-MNIST-M | corrupted mean | LP-FT − this (ID / FMNIST-M / corrupted) |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---|"]
    for rate in sorted({r["rate"] for r in records}):
        at = {m: sorted((r for r in records if r["rate"] == rate and r["method"] == m), key=lambda r: r["seed"])
              for m in ("ft1", "ft5", "lp_ft", "lp")}
        for method in ("ft1", "ft5", "lp_ft"):
            rows = at[method]
            if method == "lp_ft":
                epochs = _ms([r["info"]["probe_epochs"] for r in rows], 1)
                head = _ms([r["val"] for r in at["lp"]])
                versus = "—"
            else:
                epochs, head = method[2:], _ms([r["info"]["head_stage_val"] for r in rows])
                versus = " / ".join(_diff(at["lp_ft"], rows, k)[0] for k in ("id", "fmnist_m", "corrupted_mean"))
            cells = [_ms([r[k] for r in rows]) for k in ("val", "id", "fmnist_m", "corrupted_mean")]
            out.append(f"| {rate:g} | {LABELS[method]} | {epochs} | {head} | " + " | ".join(cells) + f" | {versus} |")
    rates = sorted({r["rate"] for r in records})
    out += ["", "### Every method at each rate (mean over seeds: validation / in distribution / Fashion-MNIST-M / "
            "corrupted mean)", "", "| method | " + " | ".join(f"rate {r:g}" for r in rates) + " |",
            "|---|" + "---|" * len(rates)]
    for method in chosen:
        cells = []
        for rate in rates:
            rows = [r for r in records if r["method"] == method and r["rate"] == rate]
            cells.append(" / ".join(f"{np.mean([r[k] for r in rows]):.3f}" for k in ("val", "id", "fmnist_m", "corrupted_mean")))
        out.append(f"| {LABELS[method]} | " + " | ".join(cells) + " |")
    out += ["", "### Per seed (each method at its validation-chosen rate)", "",
            "| seed | method | rate | validation | in distribution | Fashion-MNIST-M | corrupted mean | seconds | detail |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---|"]
    for seed in seeds:
        for method, rows in chosen.items():
            r = next(r for r in rows if r["seed"] == seed)
            rate = "—" if method == "lp" else f"{r['rate']:g}"
            out.append(f"| {seed} | {LABELS[method]} | {rate} | {r['val']:.3f} | {r['id']:.3f} | "
                       f"{r['fmnist_m']:.3f} | {r['corrupted_mean']:.3f} | {r['seconds']:.0f} | {_detail(r)} |")
    out += ["", "### Checks", ""] + _checks(records)
    return "\n".join(out) + "\n"


def _verdict(method, cells):
    parts = []
    for key, name in (("id", "in distribution"), ("fmnist_m", "on Fashion-MNIST-M"), ("corrupted_mean", "under corruption")):
        d = cells[key][1]
        consistent = (d > 0).all() or (d < 0).all()
        word = "better" if d.mean() >= 0.0005 else "worse" if d.mean() <= -0.0005 else "no different on average"
        parts.append(f"{word} {name} ({d.mean():+.3f}{', every seed' if consistent else ', not every seed'})")
    return f"- {LABELS[method]}: " + "; ".join(parts) + "."


def _checks(records):
    lines = []
    lp = {}
    for r in records:
        if r["method"] == "lp":
            lp.setdefault(r["seed"], set()).add((r["val"], r["id"]))
    same = all(len(v) == 1 for v in lp.values())
    lines.append(f"- The linear probe does not depend on the fine-tuning rate: identical at every rate for every seed: {same}.")
    gaps = [r["info"]["ema_check"]["max_gap"] for r in records if r["method"].startswith("ema")]
    counts = {r["info"]["ema_check"]["averaged_variables"] for r in records if r["method"].startswith("ema")}
    if gaps:
        lines.append(f"- EMA: after fit, max |weight − its moving average| = {max(g or 0 for g in gaps):.2e} over "
                     f"{sorted(counts)} averaged variables (0: the model's weights are the average); max |weight − our "
                     f"own EMA of the weights after every step| = "
                     f"{max(r['info']['ema_check']['max_gap_reference'] for r in records if r['method'].startswith('ema')):.2e} "
                     f"(largest weight magnitude {max(r['info']['ema_check']['reference_scale'] for r in records if r['method'].startswith('ema')):.2f}).")
    alphas = sorted((r["seed"], r["rate"], r["info"]["alpha"]) for r in records if r["method"] == "wise_ft")
    lines.append("- WiSE-FT alphas chosen on validation (seed, rate: alpha): "
                 + ", ".join(f"{s}, {rate:g}: {a:g}" for s, rate, a in alphas) + ".")
    kept = sorted((r["seed"], r["rate"], r["info"]["kept"]) for r in records if r["method"] == "greedy_soup")
    lines.append("- Greedy soup ingredients kept (indices into rate x (1, 0.5, 2, 0.25)): "
                 + ", ".join(f"{s}, {rate:g}: {k}" for s, rate, k in kept) + ".")
    return lines


def _protocol(args):
    return (
        f"Protocol: Fashion-MNIST, one small CNN (`small_cnn`) pretrained per seed on classes 0-4 "
        f"({args.source_limit or 'all 30,000'} training images, {args.source_epochs} epoch(s), Adam 1e-3); target classes "
        f"5-9 with {args.train_per_class} labelled training images per class and a validation split of "
        f"{args.val_per_class} per class, disjoint, both from the training split (`split_target`, per seed). "
        f"Test: {args.test_limit or 'all 5,000'} target images of the test split (the same for every method and seed): "
        f"clean (in distribution), Fashion-MNIST-M (grayscale by channel mean) and four corruptions at severity "
        f"{args.severity}. Every method fine-tunes all layers with Adam at one rate (`lr_mult=1`) for {args.epochs} "
        f"epochs of batch 32 after its head stage (FT: 1 or 5 head epochs at that rate; LP-FT: the probe, Adam "
        f"1e-2, at most {args.probe_epochs} epochs, early stopping on validation loss, patience 5). The rate is chosen "
        f"per method from {', '.join(f'{r:g}' for r in args.rates)} by the mean validation accuracy over seeds; "
        f"WiSE-FT's alpha (0, 0.1, ..., 1) and the greedy soup per seed on the same validation split. Soups: 4 "
        f"ingredients fine-tuned from the seed's probed model at rate x (1, 0.5, 2, 0.25), seeds `1000 * seed + i`. "
        f"EMA: `Adam(rate, use_ema=True, ema_momentum=0.99)` under `fine_tune(freeze_epochs=1)`. Seconds: training "
        f"and selection of the method on this machine (shared probe and ingredients included), not evaluation. "
        f"Paired seeds {', '.join(map(str, args.seeds))}: a seed fixes the source model, the data split and the "
        f"initial head of every method.\n"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5])
    parser.add_argument("--rates", type=float, nargs="+", default=[1e-4, 1e-3])
    parser.add_argument("--epochs", type=int, default=20, help="fine-tuning epochs after the head stage")
    parser.add_argument("--train-per-class", type=int, default=50)
    parser.add_argument("--val-per-class", type=int, default=50)
    parser.add_argument("--probe-epochs", type=int, default=100)
    parser.add_argument("--severity", type=int, default=3)
    parser.add_argument("--test-limit", type=int, default=None, help="first N target test images (default: all 5,000)")
    parser.add_argument("--source-epochs", type=int, default=3)
    parser.add_argument("--source-limit", type=int, default=None)
    parser.add_argument("--output", default=None, help=f"path prefix of the .jsonl and .md (default {OUTPUT})")
    parser.add_argument("--summarize", action="store_true", help="only rebuild the .md from the .jsonl")
    parser.add_argument("--quick", action="store_true", help="1 seed, one rate, short runs; writes to /tmp")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.rates, args.epochs, args.probe_epochs = [0], [1e-3], 3, 20
        args.source_epochs, args.source_limit, args.test_limit = 1, 5000, 500
    prefix = args.output or (os.path.join("/tmp", "robust_fine_tuning_quick") if args.quick else OUTPUT)
    command = "python -m benchmarks.robust_fine_tuning " + " ".join(a for a in (argv if argv is not None else sys.argv[1:])
                                                                      if a != "--summarize")
    if not args.summarize:
        start = time.time()
        print(f"robust fine-tuning benchmark: {platform.node()}, {os.cpu_count()} CPUs, seeds {args.seeds}, rates {args.rates}")
        os.makedirs(os.path.dirname(prefix) or ".", exist_ok=True)
        with open(prefix + ".jsonl", "w") as handle:
            def write(record):
                handle.write(json.dumps(record) + "\n")
                handle.flush()

            run(args, write)
        wall = f"{time.time() - start:.0f} s"
    with open(prefix + ".jsonl") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    header = (f"## Robust fine-tuning: LP-FT, WiSE-FT, soups, EMA vs plain fine-tuning\n\n"
              f"Command: `nice -n 10 {command.strip()}`"
              + ("" if args.summarize else f" ({wall} on {platform.node()}, {os.cpu_count()} CPUs)") + ".\n\n"
              + _protocol(args))
    report = summarize(records, header)
    if os.path.isfile(prefix + ".md"):  # keep a hand-written "### Findings" section, and the run's command line
        with open(prefix + ".md") as handle:
            previous = handle.read()
        if args.summarize and "\nCommand: " in previous:
            line = previous.split("\nCommand: ", 1)[1].split("\n", 1)[0]
            report = report.replace(report.split("\nCommand: ", 1)[1].split("\n", 1)[0], line, 1)
        if "\n### Findings" in previous:
            report += "\n### Findings" + previous.split("\n### Findings", 1)[1]
    with open(prefix + ".md", "w") as handle:
        handle.write(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
