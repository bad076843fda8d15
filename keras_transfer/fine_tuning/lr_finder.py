"""`lr_find`: an exponential learning-rate sweep with a suggested rate."""

import dataclasses
import math

import keras
import numpy as np

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.data import checks


def _with_learning_rate(config, value):
    """A serialized optimizer config with every `learning_rate` set to `value`."""
    if isinstance(config, dict):
        return {
            key: (float(value) if key == "learning_rate" else _with_learning_rate(item, value))
            for key, item in config.items()
        }
    if isinstance(config, list):
        return [_with_learning_rate(item, value) for item in config]
    return config


@dataclasses.dataclass
@keras_transfer_export("keras_transfer.fine_tuning.LRFinderResult")
class LRFinderResult:
    """The outcome of `lr_find`.

    Attributes:
        learning_rates: the rate of each step.
        losses: the smoothed training loss after each step.
        suggestion: the rate where the smoothed loss falls fastest (per unit
            of log rate), fastai's "steep" point.
        lr_min: a tenth of the rate at the lowest loss (fastai's "minimum").
    """

    learning_rates: list
    losses: list
    suggestion: float
    lr_min: float

    def plot(self, path=None):
        """Plots loss against rate (log scale); saves a PNG when `path` is given."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(6, 4))
        axes.plot(self.learning_rates, self.losses)
        axes.set_xscale("log")
        axes.set_xlabel("learning rate")
        axes.set_ylabel("smoothed training loss")
        axes.axvline(self.suggestion, color="tab:red", linestyle="--", label=f"suggestion {self.suggestion:.2g}")
        axes.axvline(self.lr_min, color="tab:gray", linestyle=":", label=f"min/10 {self.lr_min:.2g}")
        axes.legend()
        figure.tight_layout()
        if path is not None:
            figure.savefig(path, dpi=120)
        plt.close(figure)
        return figure


class _Sweep(keras.callbacks.Callback):
    def __init__(self, start_lr, end_lr, num_steps, smoothing, stop_factor):
        super().__init__()
        self.start_lr, self.end_lr, self.num_steps = start_lr, end_lr, num_steps
        self.smoothing, self.stop_factor = smoothing, stop_factor
        self.rates, self.losses = [], []
        self._mean = 0.0
        self._average = 0.0
        self._best = math.inf

    def rate(self, step):
        return self.start_lr * (self.end_lr / self.start_lr) ** (step / max(1, self.num_steps - 1))

    def on_train_batch_begin(self, batch, logs=None):
        self.model.optimizer.learning_rate = self.rate(batch)

    def on_train_batch_end(self, batch, logs=None):
        mean = float(logs["loss"])
        loss = (batch + 1) * mean - batch * self._mean  # Keras logs the running mean
        self._mean = mean
        self._average = self.smoothing * self._average + (1 - self.smoothing) * loss
        smoothed = self._average / (1 - self.smoothing ** (batch + 1))
        self.rates.append(self.rate(batch))
        self.losses.append(smoothed)
        if not math.isfinite(smoothed) or smoothed > self.stop_factor * self._best:
            self.model.stop_training = True
        self._best = min(self._best, smoothed)


def _steepest(rates, losses):
    """The rate where the loss falls fastest against log(rate), before its minimum.

    The first tenth of the sweep is skipped (the smoothed loss has not
    settled), and slopes are measured over spans of an eighth of the sweep,
    so that the noise of single steps does not win over a sustained descent;
    the suggestion is the middle of the steepest span.
    """
    skip = min(max(5, len(losses) // 10), len(losses) // 2)
    end = int(np.argmin(losses)) + 1
    span = max(2, len(losses) // 8)
    if end - skip <= span:
        skip, end = 0, len(losses)
        span = max(1, min(span, end - 1))
    log_rates = np.log(rates)
    best, best_slope = skip, np.inf
    for i in range(skip, end - span):
        slope = (losses[i + span] - losses[i]) / (log_rates[i + span] - log_rates[i])
        if slope < best_slope:
            best, best_slope = i, slope
    return float(rates[best + span // 2])


@keras_transfer_export("keras_transfer.lr_find")
def lr_find(
    model,
    x,
    y=None,
    *,
    start_lr=1e-7,
    end_lr=10.0,
    num_steps=100,
    batch_size=32,
    smoothing=0.98,
    stop_factor=4.0,
):
    """Sweeps the learning rate exponentially and suggests one, like fastai's `lr_find`.

    Trains `model` (compiled) for up to `num_steps` steps with the rate going
    from `start_lr` to `end_lr`, records the smoothed loss, stops early when
    it diverges, then restores the model's weights and optimizer: nothing
    about the model changes. With per-group rates, the suggestion is the rate
    for the head (the groups' multipliers stay in place during the sweep).

    Args:
        model: a compiled `keras.Model`.
        x: training data (arrays or a `tf.data.Dataset` of batches).
        y: targets for array data (`None` for a dataset).
        start_lr: first learning rate of the sweep. Defaults to 1e-7.
        end_lr: last learning rate of the sweep. Defaults to 10.
        num_steps: steps of the sweep. Defaults to 100.
        batch_size: batch size for arrays. Defaults to 32.
        smoothing: exponential smoothing of the loss. Defaults to 0.98.
        stop_factor: stop when the loss exceeds this times its best.

    Returns:
        An `LRFinderResult` (`suggestion`, `lr_min`, `plot(path)`).

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> x = np.random.default_rng(0).normal(size=(256, 3)).astype("float32")
    >>> result = keras_transfer.lr_find(model, x, x.sum(1), num_steps=60)
    >>> 1e-4 < result.suggestion < 1.0
    True
    """
    import tensorflow as tf

    if not isinstance(model, keras.Model) or not getattr(model, "compiled", False):
        raise _checks.invalid("model", "a compiled keras.Model", model, error=TypeError if not isinstance(model, keras.Model) else ValueError,
                              hint="Call `model.compile(...)` first.")
    start_lr = _checks.check_float("start_lr", start_lr, minimum=0.0, exclusive_minimum=True)
    end_lr = _checks.check_float("end_lr", end_lr, minimum=0.0, exclusive_minimum=True)
    if end_lr <= start_lr:
        raise _checks.invalid("end_lr", f"a rate above start_lr={start_lr}", end_lr)
    num_steps = _checks.check_int("num_steps", num_steps, minimum=5)
    smoothing = _checks.check_float("smoothing", smoothing, minimum=0.0)
    if smoothing >= 1.0:
        raise _checks.invalid("smoothing", "a float in [0, 1)", smoothing)

    checks.check_dataset_not_empty("x", x)
    checks.check_training_arrays(model, x, y)
    batch_size = _checks.check_int("batch_size", batch_size, minimum=1)
    if isinstance(x, tf.data.Dataset):
        dataset = x.repeat()
    else:
        dataset = tf.data.Dataset.from_tensor_slices((x, y) if y is not None else x)
        dataset = dataset.shuffle(min(10_000, len(x)), seed=0).batch(batch_size).repeat()
    weights = [v.numpy() for v in model.variables]
    original = model.optimizer
    config = keras.saving.serialize_keras_object(original)
    probe = keras.saving.deserialize_keras_object(_with_learning_rate(config, start_lr))
    sweep = _Sweep(start_lr, end_lr, num_steps, smoothing, stop_factor)
    try:
        model.optimizer = probe
        model.train_function = None
        model.fit(dataset, epochs=1, steps_per_epoch=num_steps, callbacks=[sweep], shuffle=False, verbose=0)
    finally:
        for variable, value in zip(model.variables, weights):
            variable.assign(value)
        model.optimizer = original
        model.train_function = None
        model.stop_training = False
    rates = np.asarray(sweep.rates)
    losses = np.asarray(sweep.losses)
    finite = np.isfinite(losses)
    rates, losses = rates[finite], losses[finite]
    if len(losses) < 3:
        raise RuntimeError("lr_find diverged immediately: lower `start_lr`.")
    suggestion = _steepest(rates, losses)
    lr_min = float(rates[int(np.argmin(losses))] / 10.0)
    return LRFinderResult(list(map(float, rates)), list(map(float, losses)), suggestion, lr_min)
