"""Pairs of a package path and its hand-written reference: same weights checked, steps timed alternately."""

import dataclasses
import statistics
import time

import keras
import numpy as np

BATCH = 32
SEED = 0


@dataclasses.dataclass
class Side:
    """One side of a pair: the model, what `fit` takes, and the variables compared after training."""

    model: keras.Model
    fit_kwargs: dict
    compared: list
    run: object = None  # `run(side, epoch, callbacks)`; `None`: `model.fit(**fit_kwargs)` for one epoch
    after_warm_up: object = None  # called once after the warm-up epoch of this side


@dataclasses.dataclass
class Pair:
    """A package path, its reference, and how many steps an epoch has."""

    name: str
    build: object  # `build(steps) -> (package Side, reference Side)`
    tolerance: float = 1e-4


class HandModel(keras.Model):
    """Base of the hand-written references: one `Mean` tracker per log name, `call` through `self.model`."""

    def __init__(self, logs=("loss",)):
        super().__init__()
        self.trackers = [keras.metrics.Mean(name=name) for name in logs]

    @property
    def metrics(self):
        return self.trackers

    def call(self, x, training=False):
        return self.model(x, training=training)


class StepTimer(keras.callbacks.Callback):
    """Seconds from the end of an epoch's first batch to the end of its last, and that step count.

    The first batch of every epoch is left out: it holds any tracing and the
    epoch iterator's start, which a long `fit` pays once.
    """

    def __init__(self, predict=False):
        super().__init__()
        self.seconds, self.steps = [], []
        self._start, self._count, self._predict = None, 0, predict

    def _batch_end(self, batch, logs=None):
        if batch == 0:
            self._start, self._count = time.perf_counter(), 0
        else:
            self._count += 1

    def _end(self, logs=None):
        self.seconds.append(time.perf_counter() - self._start)
        self.steps.append(self._count)

    on_train_batch_end = _batch_end
    on_predict_batch_end = _batch_end

    def on_epoch_end(self, epoch, logs=None):
        if not self._predict:
            self._end()

    def on_predict_end(self, logs=None):
        if self._predict:
            self._end()

    @property
    def per_step_ms(self):
        return [1000.0 * s / max(n, 1) for s, n in zip(self.seconds, self.steps)]


def run_epoch(side, epoch, callbacks):
    if side.run is not None:
        return side.run(side, epoch, callbacks)
    kwargs = dict(side.fit_kwargs)
    callbacks = [*kwargs.pop("callbacks", []), *callbacks]
    side.model.fit(**kwargs, epochs=epoch + 1, initial_epoch=epoch, callbacks=callbacks, verbose=0, shuffle=False)


def gap(package, reference):
    """The largest absolute difference between the compared variables of the two sides."""
    if len(package.compared) != len(reference.compared):
        raise RuntimeError(f"{len(package.compared)} variables compared against {len(reference.compared)}")
    worst = 0.0
    for a, b in zip(package.compared, reference.compared):
        a, b = keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b)
        if a.shape != b.shape:
            raise RuntimeError(f"compared variables of shapes {a.shape} and {b.shape}")
        worst = max(worst, float(np.max(np.abs(a.astype("float64") - b.astype("float64")))))
    return worst


def warm_up(pair, steps):
    """Builds the pair, trains each side one epoch, checks they reached the same weights."""
    keras.utils.set_random_seed(SEED)
    package, reference = pair.build(steps)
    initial = [keras.ops.convert_to_numpy(v).copy() for v in package.compared]
    for side in (package, reference):
        run_epoch(side, 0, [])
        if side.after_warm_up is not None:
            side.after_warm_up(package, reference)
    difference = gap(package, reference)
    moved = max((float(np.max(np.abs(keras.ops.convert_to_numpy(v) - w))) for v, w in zip(package.compared, initial)),
                default=0.0)
    if not moved > 2 * pair.tolerance:
        raise RuntimeError(f"{pair.name}: one epoch moved the compared weights by {moved:.3g} only: nothing to compare.")
    if not difference <= pair.tolerance:
        raise RuntimeError(
            f"{pair.name}: the reference does not do the package's math: weights differ by {difference:.3g} "
            f"after one epoch (tolerance {pair.tolerance:g})."
        )
    return package, reference, difference


def measure(pair, steps, rounds):
    """`{"package": [ms/step], "reference": [ms/step], "ratio": [...], "gap": float}` over `rounds`."""
    package, reference, difference = warm_up(pair, steps)
    predict = package.run is not None and getattr(package.run, "predicts", False)
    timers = {"package": StepTimer(predict), "reference": StepTimer(predict)}
    sides = [("package", package), ("reference", reference)]
    for index in range(rounds):
        for name, side in sides if index % 2 == 0 else reversed(sides):
            run_epoch(side, index + 1, [timers[name]])
    package_ms, reference_ms = timers["package"].per_step_ms, timers["reference"].per_step_ms
    ratios = [p / r for p, r in zip(package_ms, reference_ms)]
    return {"package": package_ms, "reference": reference_ms, "ratio": ratios, "gap": difference}


def summary(result):
    ratios = result["ratio"]
    return {
        "package_ms": statistics.median(result["package"]),
        "reference_ms": statistics.median(result["reference"]),
        "ratio": statistics.median(ratios),
        "low": min(ratios),
        "high": max(ratios),
    }


def classification_data(steps, features=16, classes=4, seed=SEED):
    """`steps * BATCH` Gaussian inputs whose class is the argmax of a fixed projection."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(steps * BATCH, features)).astype("float32")
    y = np.argmax(x @ rng.normal(size=(features, classes)), axis=1).astype("int32")
    return x, y


def mlp(features=16, hidden=32, classes=4, name="mlp", activation="softmax"):
    """`features -> hidden (relu) -> classes`: the network of most pairs (per-step overhead shows on it)."""
    return keras.Sequential(
        [keras.Input((features,)), keras.layers.Dense(hidden, activation="relu"),
         keras.layers.Dense(classes, activation=activation)],
        name=name,
    )


def split_mlp(features=16, hidden=32, classes=4):
    """`mlp(...)` as `(feature_extractor, classifier)`: its hidden layer, and its output layer on those features."""
    network = mlp(features, hidden, classes)
    return (keras.Sequential([keras.Input((features,)), network.layers[0]], name="features"),
            keras.Sequential([keras.Input((hidden,)), network.layers[1]], name="classifier"))


def twin(model):
    """A copy of `model` with the same weights (a new set of variables)."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def adam():
    return keras.optimizers.Adam(1e-3)
