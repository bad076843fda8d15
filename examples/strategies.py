"""Strategies by name: several transfer strategies compared through one call, offline.

A small CNN is pretrained on Fashion-MNIST classes 0-4 (T-shirt, trouser,
pullover, dress, coat). The target task is classes 5-9 (sandal, shirt,
sneaker, bag, ankle boot) with 10 labelled images per class. Each strategy
runs through `keras_transfer.transfer(name, backbone, data, ...)` with the
same labelled images; a labelled validation split (500 images) picks the
best strategy, and the 5,000 test images of classes 5-9 give the accuracy.

    python examples/strategies.py            # 3 seeds, a few minutes on 2 CPU cores
    python examples/strategies.py --quick    # one seed, small pretraining, 3 strategies: about a minute
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_transfer as kt  # noqa: E402
from keras_transfer.cli.demo import pretrain_source  # noqa: E402

STRATEGIES = {  # name -> transfer() arguments beyond the data
    "prototype": {},
    "feature_extraction": {"epochs": 30},
    "fine_tune": {"epochs": 30, "freeze_epochs": 10},
    "l2sp": {"epochs": 30, "alpha": 0.1},
}


def main(argv=None):
    parser = argparse.ArgumentParser(description="Transfer strategies by name on Fashion-MNIST")
    parser.add_argument("--quick", action="store_true", help="one seed, small pretraining")
    parser.add_argument("--shots", type=int, default=10, help="labelled images per target class (default: 10)")
    args = parser.parse_args(argv)
    source_images, source_epochs, seeds = (10000, 1, (0,)) if args.quick else (30000, 2, (0, 1, 2))
    strategies = {k: v for k, v in STRATEGIES.items() if k != "fine_tune"} if args.quick else STRATEGIES

    (x_train, y_train), (x_test, y_test) = kt.data.load_fashion_mnist()
    x_train, x_test = x_train[..., None].astype("float32"), x_test[..., None].astype("float32")

    source = pretrain_source(x_train, y_train, images=source_images, epochs=source_epochs)
    print(f"source CNN: {source.evaluate(x_test[y_test < 5], y_test[y_test < 5], verbose=0)[1]:.3f} accuracy on classes 0-4")

    new = np.flatnonzero(y_train >= 5)
    x_eval, y_eval = x_test[y_test >= 5], y_test[y_test >= 5] - 5
    scores = {name: {"val": [], "test": [], "seconds": []} for name in strategies}
    for seed in seeds:
        rng = np.random.default_rng(seed)
        order = rng.permutation(new)
        val = order[:500]
        shots = np.concatenate([rng.choice(order[500:][y_train[order[500:]] == c], args.shots, replace=False) for c in range(5, 10)])
        data, validation = (x_train[shots], y_train[shots] - 5), (x_train[val], y_train[val] - 5)
        for name, kwargs in strategies.items():
            start = time.time()
            model, _ = kt.transfer(name, source, data, validation_data=validation, batch_size=16, seed=seed,
                                   preprocessing="unit", verbose=0, **kwargs)
            scores[name]["seconds"].append(time.time() - start)
            for split, (x, y) in (("val", validation), ("test", (x_eval, y_eval))):
                scores[name][split].append(float(np.mean(model.predict(x, verbose=0).argmax(-1) == y)))
            keras.backend.clear_session()

    print(f"\nFashion-MNIST 0-4 -> 5-9, {args.shots} labels per class, seeds {list(seeds)} (chance 0.200)")
    print(f"{'strategy':<20}{'validation':>12}{'test':>16}{'seconds':>10}")
    for name, s in scores.items():
        print(f"{name:<20}{np.mean(s['val']):>12.3f}{np.mean(s['test']):>9.3f} ± {np.std(s['test']):.3f}{np.mean(s['seconds']):>10.1f}")
    best = max(scores, key=lambda name: np.mean(scores[name]["val"]))
    print(f"\nbest on validation: {best} (test accuracy {np.mean(scores[best]['test']):.3f})")


if __name__ == "__main__":
    main()
