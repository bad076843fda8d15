"""FreezeSchedule + DiscriminativeLR vs plain `model.fit`, per train step, and retraces.

Step time: MobileNetV2 at 64x64 (random weights), 10 classes, batch 32, Adam,
`jit_compile=False`. Both models train the same variables (the last two
backbone groups and the head): the baseline by a plain `fit` after
`set_trainable`, the candidate by a `fit` with `FreezeSchedule` (at that
stage from epoch 0) and `DiscriminativeLR` (multipliers 0.1 / 0.3 / 1, which
the `GroupOptimizer` applies to each update). Epochs of the two alternate; the
first epoch of each (tracing) is excluded; medians over the rest. Goal: at
most 5% slower. Retraces: a schedule with 3 stage changes over 8 epochs on
the same model; the train step's Python body runs once per trace. Goal:
1 + 3 traces.
"""

import keras
import numpy as np

import keras_transfer as kt
from benchmarks.table import Row
from benchmarks.table import median
from benchmarks.timing import EpochTimer

BACKBONE = "mobilenet_v2"
INPUT_SHAPE = (64, 64, 3)
BATCH = 32


def _model():
    keras.utils.set_random_seed(0)
    return kt.build_classifier(BACKBONE, 10, weights=None, input_shape=INPUT_SHAPE)


def _data(steps):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (steps * BATCH, *INPUT_SHAPE)).astype("float32")
    return x, rng.integers(0, 10, len(x))


def step_times(steps_per_epoch, rounds):
    x, y = _data(steps_per_epoch)
    trainable = list(kt.backbones.get(BACKBONE).layer_groups)[-2:]
    plain = _model()
    kt.set_trainable(plain, trainable + ["head"])
    plain.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", jit_compile=False)
    scheduled = _model()
    scheduled.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", jit_compile=False)
    callbacks = [
        kt.callbacks.FreezeSchedule({0: trainable}),
        kt.callbacks.DiscriminativeLR({trainable[0]: 0.1, trainable[1]: 0.3}),
    ]
    timers = {"plain": EpochTimer(), "scheduled": EpochTimer()}
    for epoch in range(rounds + 1):
        runs = [("plain", plain, []), ("scheduled", scheduled, callbacks)]
        for name, model, extra in runs if epoch % 2 == 0 else reversed(runs):
            model.fit(x, y, batch_size=BATCH, epochs=epoch + 1, initial_epoch=epoch,
                      callbacks=[*extra, timers[name]], verbose=0)
    same = [v.path for v in plain.trainable_variables] == [v.path for v in scheduled.trainable_variables]
    if not same:
        raise RuntimeError("the two models do not train the same variables")
    return {name: median(timer.seconds[1:]) / steps_per_epoch * 1000 for name, timer in timers.items()}


def traces_for_three_stage_changes(epochs=8):
    x, y = _data(2)
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
    model.fit(x, y, batch_size=BATCH, epochs=epochs, callbacks=[schedule], verbose=0)
    return len(traces), schedule.retraces


def run(quick=False):
    steps, rounds = (4, 2) if quick else (20, 6)
    times = step_times(steps, rounds)
    traces, changes = traces_for_three_stage_changes()
    return [
        Row("", "train step, same trainable variables", "model.fit", "FreezeSchedule + DiscriminativeLR",
            times["plain"], times["scheduled"], "ms", note=f"{rounds} alternating epochs of {steps} steps"),
        Row("", "traces of the train function, 3 stage changes", "1 + stage changes", "measured",
            1 + changes, traces, "", kind="score", note="goal: difference 0"),
    ]
