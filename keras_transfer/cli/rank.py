"""`keras-transfer rank`: which backbone to start from, scored on the target data, with a report folder."""

import json
import os
import sys

import numpy as np

from keras_transfer.cli import _data, _report
from keras_transfer.cli.fit import UsageError


def candidates_of(backbones, weights):
    """`{label: backbone or (backbone, weights)}` from the comma-separated `--backbones` and `--weights`."""
    names = [name.strip() for name in backbones.split(",") if name.strip()]
    if not names:
        raise UsageError("--backbones: give at least one backbone, e.g. --backbones vgg16,mobilenet_v2,source.keras.")
    if weights is None:
        labels = [os.path.basename(name) for name in names]
        if len(set(labels)) != len(labels):  # two files of the same name in different folders
            labels = names
        return dict(zip(labels, names))
    per_backbone = [value.strip() for value in weights.split(",")]
    if len(per_backbone) == 1:
        per_backbone *= len(names)
    if len(per_backbone) != len(names):
        raise UsageError(f"--weights: {len(per_backbone)} values for {len(names)} backbones; give one, or one per backbone.")
    candidates = {}
    for name, value in zip(names, per_backbone):
        value = None if value.lower() == "none" else value
        base = os.path.basename(name)
        label = base if value == "imagenet" else f"{base} ({'random' if value is None else os.path.basename(value)})"
        if label in candidates:
            raise UsageError(f"--backbones: {label} is listed twice.")
        candidates[label] = (name, value)
    return candidates


def _subset(x, y, limit, seed):
    """At most `limit` examples, the same share of each class (a stratified sample)."""
    if limit is None or limit >= len(y):
        return x, y
    rng = np.random.default_rng(seed)
    keep = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        keep.extend(rng.permutation(members)[: max(2, round(limit * len(members) / len(y)))])
    keep = np.sort(np.asarray(keep))
    return x[keep], y[keep]


def run(args, progress_bar):
    """Ranks the backbones on the labelled data; writes README.md, ranking.png and results.json."""
    from keras_transfer.selection import available_metrics, rank_backbones

    if _report.refuse_overwrite(args.out, args.overwrite, sys.stderr):
        return 2
    candidates = candidates_of(args.backbones, args.weights)
    metrics = [name.strip() for name in args.metric.split(",") if name.strip()]
    unknown = [name for name in metrics if name not in available_metrics()]
    if unknown or not metrics:
        raise UsageError(f"--metric: unknown metric {', '.join(unknown) or repr(args.metric)}; "
                         f"available: {', '.join(available_metrics())}.")
    image_size = tuple(args.image_size) if args.image_size else None
    arrays = _data.load(args.data, argument="data", image_size=image_size, grayscale=args.grayscale,
                        download=args.download, data_dir=args.data_dir, strict=args.strict)
    if arrays.y_train is None:
        raise UsageError(f"data: {args.data} has no labels; ranking needs labelled target examples.")
    x, y = _subset(arrays.x_train, arrays.y_train, args.limit, args.seed)
    print(f"Ranking {len(candidates)} backbones on {arrays.description} ({len(y)} labelled images, "
          f"{len(np.unique(y))} classes) by {', '.join(metrics)} (higher = better).")
    bar = progress_bar(len(candidates))
    ranking = rank_backbones(candidates, (x, y), metrics, batch_size=args.batch_size,
                             progress=lambda done, total, label: bar.update(done))
    print()
    print(ranking)
    os.makedirs(args.out, exist_ok=True)
    chart = ranking.plot(os.path.join(args.out, "ranking.png"))
    rows = [{"candidate": row.candidate, "scores": row.scores, "seconds": row.seconds, "error": row.error}
            for row in ranking.rows]
    with open(os.path.join(args.out, "results.json"), "w") as handle:
        json.dump({"data": arrays.description, "examples": int(len(y)), "metrics": metrics, "rows": rows},
                  handle, indent=2, allow_nan=True)
    _report.write_markdown(args.out, [
        "# Backbone ranking", "",
        f"Data: {arrays.description}, {len(y)} labelled images. Scores: {', '.join(metrics)} "
        "(higher = better; `n/a`: LEEP and NCE need a candidate with a source classifier).", "",
        ranking.to_markdown(), "", "![ranking](ranking.png)", "",
        "Command: `keras-transfer " + " ".join(args.argv) + "`",
    ])
    print(f"\nReport: {os.path.join(args.out, 'README.md')}\nChart:  {chart}")
    return 0 if ranking.best is not None else 1
