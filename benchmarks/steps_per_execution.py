"""Per-step time of a tiny DomainAdaptationModel (DANN) with `steps_per_execution` 1 and 8.

Two identical models (6-d inputs, Dense(16) features, DANN head with one
hidden layer of 16, batch 32 per domain, Adam, `jit_compile=False`) differ only in
`steps_per_execution`. Each trains one warm-up epoch (tracing), then rounds of
one epoch of `--steps` steps alternate between the two, the order swapped every
round, so load from other processes hits both alike. Per-step time is the
epoch's wall time divided by its steps. Prints the median ms/step of each and
the median, min and max of the per-round ratio spe=8 / spe=1.

    nice -n 10 python benchmarks/steps_per_execution.py
    nice -n 10 python benchmarks/steps_per_execution.py --rounds 20 --steps 128
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_transfer as kt  # noqa: E402
from benchmarks.timing import Stopwatch  # noqa: E402


def _model(steps_per_execution):
    keras.utils.set_random_seed(0)
    features = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="relu")], name="features")
    classifier = keras.Sequential([keras.Input((16,)), keras.layers.Dense(3, activation="softmax")], name="classifier")
    model = kt.models.DomainAdaptationModel(features, classifier, kt.layers.DomainAdversarialHead((16,)))
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"],
                  steps_per_execution=steps_per_execution, jit_compile=False)
    return model


def step_times(steps=64, rounds=10, batch=32, values=(1, 8)):
    """`{spe: [ms per step of each round]}`, rounds alternated after one warm-up epoch each."""
    rng = np.random.default_rng(0)
    n = steps * batch
    data = kt.data.domain_adaptation_dataset(
        source=(rng.normal(size=(n, 6)).astype("float32"), rng.integers(0, 3, n)),
        target=rng.normal(1.0, 1.0, (n, 6)).astype("float32"), batch_size=batch, seed=0,
    )
    models = {spe: _model(spe) for spe in values}
    for model in models.values():  # warm-up: tracing
        model.fit(data, epochs=1, verbose=0)
    times = {spe: [] for spe in values}
    for round_index in range(rounds):
        order = values if round_index % 2 == 0 else tuple(reversed(values))
        for spe in order:
            with Stopwatch() as watch:
                models[spe].fit(data, epochs=1, verbose=0)
            times[spe].append(1000 * watch.seconds / steps)
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=64, help="steps per epoch (a multiple of 8)")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args(argv)
    times = step_times(args.steps, args.rounds, args.batch)
    ratios = np.array(times[8]) / np.array(times[1])
    print(f"DomainAdaptationModel (DANN), 6-d inputs, batch {args.batch} per domain, jit_compile=False, "
          f"{args.rounds} alternating rounds of {args.steps} steps after one warm-up epoch each")
    print("| steps_per_execution | ms/step (median) | min | max |")
    print("|---|---|---|---|")
    for spe, values in times.items():
        print(f"| {spe} | {np.median(values):.2f} | {np.min(values):.2f} | {np.max(values):.2f} |")
    print(f"| ratio 8 / 1 (per round) | {np.median(ratios):.2f} | {ratios.min():.2f} | {ratios.max():.2f} |")
    return {"times": times, "ratio": float(np.median(ratios))}


if __name__ == "__main__":
    main()
