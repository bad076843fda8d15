"""`GradientReversalSchedule`: the DANN ramp of the gradient reversal factor during `fit`."""

import math
import warnings

import keras
import tensorflow as tf

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.domain_adaptation.gradient_reversal import GradientReversal

SCHEDULES = ("dann", "linear", "constant")


def _assign(variable, value):
    """`variable.assign(value)` as one TensorFlow op without reading the value back.

    Called before every batch: Keras's `assign` (conversion, shape check, read
    back) took about 0.1-0.25 ms on 2 CPU cores, 5-15 % of a small DANN step.
    """
    inner = variable.value
    if isinstance(inner, tf.Variable):
        inner.assign(value, read_value=False)
    else:  # another variable type (e.g. under an autocast scope): the Keras path
        variable.assign(value)


@keras_transfer_export("keras_transfer.callbacks.GradientReversalSchedule")
class GradientReversalSchedule(keras.callbacks.Callback):
    """Sets `lambda` of every `GradientReversal` layer of the model during `fit`.

    With training progress `p` in [0, 1] (optimizer steps done / total steps):

    - `"dann"`: `max_value * (2 / (1 + exp(-gamma * p)) - 1)`, from 0 to
      about `max_value` (Ganin et al.'s ramp, `gamma=10`);
    - `"linear"`: `max_value * p`;
    - `"constant"`: `max_value`.

    The value is written into the layers' `lambda_var` before each batch:
    the compiled train function reads the variable, so nothing is retraced.
    The state is derived from the optimizer's step counter (read once per
    epoch), which Keras saves and restores: a run resumed by `keras.callbacks.BackupAndRestore` or
    continued from a checkpoint continues the ramp where it stopped. The
    current value is logged as `gradient_reversal_lambda`.

    Args:
        schedule: `"dann"`, `"linear"` or `"constant"`. Defaults to `"dann"`.
        max_value: float >= 0, the final (or constant) value. Defaults to
            `1.0`.
        gamma: float > 0, steepness of the `"dann"` ramp. Defaults to `10.0`.
        total_steps: int, the number of optimizer steps over which `p` goes
            from 0 to 1, or `None` for `epochs * steps_per_epoch` of the
            `fit` call. Defaults to `None`.

    Example:

    >>> import keras_transfer
    >>> schedule = keras_transfer.callbacks.GradientReversalSchedule("dann", total_steps=100)
    >>> [round(schedule.value_at(step), 4) for step in (0, 10, 50, 100)]
    [0.0, 0.4621, 0.9866, 0.9999]

    Reference:
        Ganin et al., "Domain-Adversarial Training of Neural Networks", JMLR
        2016 (https://arxiv.org/abs/1505.07818), section 5.2.2.
    """

    def __init__(self, schedule="dann", max_value=1.0, gamma=10.0, total_steps=None):
        super().__init__()
        self.schedule = _checks.check_choice("schedule", schedule, SCHEDULES)
        self.max_value = _checks.check_float("max_value", max_value, minimum=0.0)
        self.gamma = _checks.check_float("gamma", gamma, minimum=0.0, exclusive_minimum=True)
        self.total_steps = (
            None if total_steps is None else _checks.check_int("total_steps", total_steps, minimum=1)
        )
        self._layers = []
        self._steps = total_steps
        self._value = None
        self._epoch_base = None

    def value_at(self, step, total_steps=None):
        """The factor after `step` optimizer steps."""
        total = total_steps or self._steps
        if self.schedule == "constant":
            return self.max_value
        if not total:
            raise ValueError("`total_steps` is unknown: pass it or call `value_at` during `fit`.")
        p = min(max(step / total, 0.0), 1.0)
        if self.schedule == "linear":
            return self.max_value * p
        return self.max_value * (2.0 / (1.0 + math.exp(-self.gamma * p)) - 1.0)

    def on_train_begin(self, logs=None):
        self._layers = [
            layer for layer in self.model._flatten_layers(include_self=False) if isinstance(layer, GradientReversal)
        ]
        if not self._layers:
            raise ValueError(
                "GradientReversalSchedule found no keras_transfer.layers.GradientReversal layer in the model "
                f"{self.model.name!r}. Use it with a DomainAdversarialHead or ConditionalDomainAdversarialHead "
                "alignment (or any model containing GradientReversal layers)."
            )
        if self.total_steps is None:
            epochs, steps = self.params.get("epochs"), self.params.get("steps")
            if not epochs or not steps:
                raise ValueError(
                    "GradientReversalSchedule needs `total_steps=` when fit does not know the number of "
                    f"steps per epoch (received epochs={epochs}, steps={steps})."
                )
            self._steps = int(epochs) * int(steps)
        self._epoch_base = None
        self._value = None  # written at least once per fit
        self._update(self._step())

    def _step(self):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None:
            warnings.warn("GradientReversalSchedule: the model has no optimizer; using step 0.")
            return 0
        return int(keras.ops.convert_to_numpy(optimizer.iterations))

    def _update(self, step):
        value = self.value_at(step)
        if value == self._value:  # a constant schedule, or a ramp at its top: nothing to write
            return
        self._value = value
        for layer in self._layers:
            _assign(layer.lambda_var, value)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_base = None

    def on_train_batch_begin(self, batch, logs=None):
        # One read of the step counter per epoch (no device sync on every batch); `batch`
        # is the index of the step within the epoch, also with `steps_per_execution`.
        if self._epoch_base is None:
            self._epoch_base = self._step() - batch
        self._update(self._epoch_base + batch)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self._value is not None:
            logs["gradient_reversal_lambda"] = float(self._value)
