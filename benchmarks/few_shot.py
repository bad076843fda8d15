"""Few-shot: prototype head vs a linear head trained on the same shots.

Fashion-MNIST, classes unseen by the source model: a small CNN is pretrained
on classes 0-4 (one source model per seed); its pooled features (128-d,
`model.feature_extractor`) embed the images of classes 5-9, and 5-way K-shot
episodes are drawn from them (`keras_transfer.few_shot.evaluate_episodes`).

Heads compared on the same episodes (paired):

- prototype (class means, squared Euclidean distance; nothing to tune), and
  the same head with its metric / normalisation chosen on validation
  (Euclidean, Euclidean on L2-normalised embeddings, or cosine);
- linear (softmax regression on the shots, `train_steps` Adam steps);
- cosine (imprinted cosine classifier, then trained like the linear head);
- reference rows: the prototype head on raw pixels (no pretraining).

Hyperparameters (L2-normalised embeddings or not, learning rate of the
trained heads, metric of the selected prototype head) are chosen per seed and shot count on validation episodes
drawn from the target *training* split; the reported episodes come from the
target *test* split. The 95% interval pools all episodes of all seeds
(`1.96 * std / sqrt(n)`); the paired difference uses the same episodes.

    python -m benchmarks.few_shot            # 3 seeds, 600 test episodes each
    python -m benchmarks.few_shot --quick    # a smoke run (minutes)
"""

import argparse
import itertools
import json
import os
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from benchmarks import _fashion_transfer as task  # noqa: E402

LINEAR_GRID = {"normalize": (False, True), "learning_rate": (0.01, 0.1)}
COSINE_GRID = {"normalize": (False,), "learning_rate": (0.01, 0.1)}
PROTOTYPE_CHOICES = (
    {"normalize": False, "head_options": {"metric": "euclidean"}},
    {"normalize": True, "head_options": {"metric": "euclidean"}},
    {"normalize": False, "head_options": {"metric": "cosine"}},
)


def _grid(grid):
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]


def _pooled(results):
    accuracies = np.concatenate([r.accuracies for r in results])
    return accuracies.mean(), 1.96 * accuracies.std(ddof=1) / np.sqrt(len(accuracies)), accuracies


def run(args, log=print):
    import keras

    import keras_transfer as kt

    (x_train, y_train), (x_test, y_test) = task.load()
    x_eval, y_eval = task.target_test(x_test, y_test)
    options = {"n_way": 5, "queries": args.queries, "train_steps": args.train_steps}
    rows = {}  # (head, shots) -> list of EpisodeResult (one per seed)
    chosen = {}
    for seed in args.seeds:
        source = task.pretrain_source(x_train, y_train, seed=seed, epochs=args.source_epochs, limit=args.source_limit, log=log)
        source_accuracy = source.evaluate(x_test[y_test < 5], y_test[y_test < 5], verbose=0, batch_size=1000)[1]
        log(f"  source accuracy on classes 0-4 (test split): {source_accuracy:.3f}")
        (x_val, y_val), _ = task.split_target(x_train, y_train, validation_per_class=args.validation_per_class, seed=seed)
        embedder = source.feature_extractor
        val_features = kt.few_shot.episodes.embed(embedder, x_val)
        test_features = kt.few_shot.episodes.embed(embedder, x_eval)
        pixels = x_eval.reshape(len(x_eval), -1) / 255.0
        for shots in args.shots:
            common = dict(options, k_shot=shots)
            test = dict(common, episodes=args.episodes, seed=seed)
            rows.setdefault(("prototype", shots), []).append(
                kt.few_shot.evaluate_episodes(None, test_features, y_eval, head="prototype", **test)
            )
            rows.setdefault(("pixels_prototype", shots), []).append(
                kt.few_shot.evaluate_episodes(None, pixels, y_eval, head="prototype", **test)
            )
            for name, head, configs in (
                ("prototype_selected", "prototype", PROTOTYPE_CHOICES),
                ("linear", "linear", _grid(LINEAR_GRID)),
                ("cosine", "cosine", _grid(COSINE_GRID)),
            ):
                scores = []
                for config in configs:
                    result = kt.few_shot.evaluate_episodes(
                        None, val_features, y_val, head=head, episodes=args.val_episodes, seed=1000 + seed, **common, **config
                    )
                    scores.append((result.mean, config))
                best = max(scores, key=lambda item: item[0])[1]
                chosen[(name, shots, seed)] = best
                rows.setdefault((name, shots), []).append(
                    kt.few_shot.evaluate_episodes(None, test_features, y_eval, head=head, **test, **best)
                )
                log(f"  seed {seed}, {shots}-shot, {name}: chose {best} (validation "
                    + ", ".join(f"{m:.3f}" for m, _ in scores) + f"), test {rows[(name, shots)][-1]}")
            log(f"  seed {seed}, {shots}-shot, prototype: test {rows[('prototype', shots)][-1]}")
        keras.backend.clear_session()
    return rows, chosen


LABELS = {
    "prototype": "prototype head (class means, Euclidean, as in the paper)",
    "prototype_selected": "prototype head, metric/normalisation chosen on validation",
    "linear": "linear head trained on the shots",
    "cosine": "cosine classifier (imprinted, then trained)",
    "pixels_prototype": "reference: prototype head on raw pixels",
}


def summarize(rows, shots_list, seeds):
    lines = [
        "| head | " + " | ".join(f"5-way {k}-shot" for k in shots_list) + " |",
        "|---|" + "---:|" * len(shots_list),
    ]
    for head in ("prototype", "prototype_selected", "linear", "cosine", "pixels_prototype"):
        cells = []
        for shots in shots_list:
            mean, ci, _ = _pooled(rows[(head, shots)])
            per_seed = ", ".join(f"{r.mean:.3f}" for r in rows[(head, shots)])
            cells.append(f"{mean:.4f} ± {ci:.4f} (seeds: {per_seed})")
        lines.append(f"| {LABELS[head]} | " + " | ".join(cells) + " |")
    for head in ("prototype", "prototype_selected"):
        cells = []
        for shots in shots_list:
            _, _, proto = _pooled(rows[(head, shots)])
            _, _, linear = _pooled(rows[("linear", shots)])
            diff = proto - linear
            cells.append(f"{diff.mean():+.4f} ± {1.96 * diff.std(ddof=1) / np.sqrt(len(diff)):.4f}")
        name = "prototype (Euclidean)" if head == "prototype" else "prototype (selected)"
        lines.append(f"| {name} − linear (paired, same episodes) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--shots", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--episodes", type=int, default=600, help="test episodes per seed")
    parser.add_argument("--val-episodes", type=int, default=200)
    parser.add_argument("--queries", type=int, default=15)
    parser.add_argument("--train-steps", type=int, default=100)
    parser.add_argument("--source-epochs", type=int, default=3)
    parser.add_argument("--source-limit", type=int, default=None, help="use only this many source images")
    parser.add_argument("--validation-per-class", type=int, default=500)
    parser.add_argument("--json", default=None, help="also write the raw per-episode accuracies here")
    parser.add_argument("--quick", action="store_true", help="1 seed, few episodes, short pretraining")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.episodes, args.val_episodes = [0], 40, 20
        args.source_epochs, args.source_limit, args.validation_per_class = 1, 5000, 100
    start = time.time()
    print(f"few-shot benchmark: {platform.node()}, {os.cpu_count()} CPUs, seeds {args.seeds}, shots {args.shots}")
    rows, chosen = run(args)
    print()
    print(summarize(rows, args.shots, args.seeds))
    print(f"\ntotal {time.time() - start:.0f} s; command: python -m benchmarks.few_shot " + " ".join(sys.argv[1:]))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(
                {
                    "args": vars(args),
                    "accuracies": {f"{h}/{k}": [r.accuracies.tolist() for r in v] for (h, k), v in rows.items()},
                    "chosen": {f"{h}/{k}/{s}": c for (h, k, s), c in chosen.items()},
                },
                handle,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
