"""FreezeSchedule + DiscriminativeLR against plain `model.fit`.

Measured in one run, on this machine:

1. Step-time overhead: the same model and the same trainable set (the last
   two backbone groups and the head), trained by a plain `fit` and by a `fit`
   with `FreezeSchedule` (already at that stage) + `DiscriminativeLR`
   (multipliers 0.1 / 0.3 / 1). Epochs of the two alternate, so load on the
   machine affects both alike; the first epoch of each (tracing) is
   excluded; the ratio of median step times is reported. Goal: <= 1.05.
2. Retraces: a schedule with 3 stage changes over 8 epochs; the train
   function's Python body runs once per trace. Goal: traces = 1 + changes.

    python -m benchmarks.fine_tuning_overhead [--quick]
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_transfer as kt  # noqa: E402

BACKBONE = "mobilenet_v2"
INPUT_SHAPE = (64, 64, 3)


class _StepTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epoch_seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_seconds.append(time.perf_counter() - self._start)


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    return kt.build_classifier(BACKBONE, 10, weights=None, input_shape=INPUT_SHAPE)


def measure_overhead(steps_per_epoch, rounds, batch_size=32, jit_compile=False):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (steps_per_epoch * batch_size, *INPUT_SHAPE)).astype("float32")
    y = rng.integers(0, 10, len(x))
    groups = list(kt.backbones.get(BACKBONE).layer_groups)
    trainable = groups[-2:]

    plain = _model()
    kt.set_trainable(plain, trainable + ["head"])
    plain.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", jit_compile=jit_compile)

    scheduled = _model()
    scheduled.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", jit_compile=jit_compile)
    callbacks = [
        kt.callbacks.FreezeSchedule({0: trainable}),
        kt.callbacks.DiscriminativeLR({trainable[0]: 0.1, trainable[1]: 0.3}),
    ]
    assert len(plain.trainable_variables) > 0
    timers = {"plain": _StepTimer(), "scheduled": _StepTimer()}
    for round_ in range(rounds + 1):  # round 0 traces both
        plain.fit(x, y, batch_size=batch_size, epochs=round_ + 1, initial_epoch=round_, callbacks=[timers["plain"]], verbose=0)
        scheduled.fit(
            x, y, batch_size=batch_size, epochs=round_ + 1, initial_epoch=round_,
            callbacks=[*callbacks, timers["scheduled"]], verbose=0,
        )
    assert [v.path for v in plain.trainable_variables] == [v.path for v in scheduled.trainable_variables]
    per_step = {k: statistics.median(t.epoch_seconds[1:]) / steps_per_epoch for k, t in timers.items()}
    return per_step, per_step["scheduled"] / per_step["plain"]


def count_retraces(epochs=8):
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 255, (64, *INPUT_SHAPE)).astype("float32")
    y = rng.integers(0, 10, len(x))
    model = _model()
    model.compile("adam", "sparse_categorical_crossentropy")
    traces = []
    original = model.train_step

    def counting(data):
        traces.append(1)
        return original(data)

    model.train_step = counting
    groups = list(kt.backbones.get(BACKBONE).layer_groups)
    schedule = kt.callbacks.FreezeSchedule({2: [groups[-1]], 4: [groups[-2]], 6: "all"})
    model.fit(x, y, batch_size=32, epochs=epochs, callbacks=[schedule], verbose=0)
    return len(traces), schedule.retraces


def run(quick=False):
    """Returns table rows: (measurement, value, goal)."""
    steps, rounds = (5, 2) if quick else (20, 5)
    per_step, ratio = measure_overhead(steps, rounds)
    traces, changes = count_retraces(epochs=8)
    return [
        ("plain fit, s/step", f"{per_step['plain']:.4f}", ""),
        ("FreezeSchedule + DiscriminativeLR, s/step", f"{per_step['scheduled']:.4f}", ""),
        ("step-time ratio (scheduled / plain)", f"{ratio:.3f}", "<= 1.05"),
        ("traces of the train function", str(traces), f"= 1 + {changes} stage changes"),
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    start = time.time()
    rows = run(quick=args.quick)
    print(f"{BACKBONE} at {INPUT_SHAPE}, batch 32, Adam, jit_compile=False, CPU")
    width = max(len(r[0]) for r in rows)
    for name, value, goal in rows:
        print(f"{name:<{width}}  {value:>10}  {goal}")
    print(f"({time.time() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
