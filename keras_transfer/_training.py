"""Pieces shared by the package's custom `train_step`s (TensorFlow backend).

They follow what `keras.Model.train_step` does on TensorFlow, so custom steps
keep the behaviour `fit` users rely on: losses are divided by the number of
replicas under `tf.distribute` (gradients are summed across replicas), loss
scaling under `mixed_float16` goes through `optimizer.scale_loss`, and the
`"loss"` entry of the logs is the unscaled loss averaged over examples.
"""

import warnings

import keras
from keras import ops

from keras_transfer import _random


def per_replica(loss):
    """Divides a loss computed on one replica's batch by the replica count."""
    replicas = _random.num_replicas()
    return loss if replicas == 1 else loss * (1.0 / replicas)


def track_loss(model, loss, batch_size):
    """Updates the model's `"loss"` metric with a per-replica-scaled `loss`."""
    tracker = getattr(model, "_loss_tracker", None)  # created by `compile`
    if tracker is not None:
        tracker.update_state(loss * _random.num_replicas(), sample_weight=batch_size)


def apply_gradients(model, tape, scaled_loss, variables):
    """Gradients of `scaled_loss` (already `optimizer.scale_loss`-ed) applied to `variables`."""
    if not variables:
        warnings.warn(f"{model.name} has no trainable weights: this step updates nothing.", stacklevel=2)
        return
    gradients = tape.gradient(scaled_loss, variables)
    model.optimizer.apply_gradients(zip(gradients, variables))


def batch_size_of(tensor):
    return ops.shape(tensor)[0]


class TrainsOnly:
    """Mixin for wrapper models: only the layers named in `_trained_attributes` train.

    A wrapper holds frozen helpers (a generator, a source classifier, a
    teacher) whose variables stay `trainable=True` in the user's objects;
    Keras collects trainable variables by their flag, so the wrapper narrows
    the list itself instead of mutating the user's models.
    """

    _trained_attributes = ("model",)

    def _trained_variables(self):
        if not self.trainable:
            return []
        seen, variables = set(), []
        for name in self._trained_attributes:
            layer = getattr(self, name, None)
            for variable in [] if layer is None else layer.trainable_weights:
                if id(variable) not in seen:
                    seen.add(id(variable))
                    variables.append(variable)
        return variables

    @property
    def trainable_weights(self):
        return self._trained_variables()

    @property
    def trainable_variables(self):
        return self._trained_variables()

    @property
    def non_trainable_weights(self):
        trained = {id(v) for v in self._trained_variables()}
        return [v for v in self.weights if id(v) not in trained]

    @property
    def non_trainable_variables(self):
        trained = {id(v) for v in self._trained_variables()}
        return [v for v in self.variables if id(v) not in trained]


class AutoLoss:
    """Mixin: `compile(loss="auto")` and compiling again on `load_model`.

    `"auto"` is sparse categorical cross-entropy on the trained model's
    output, `from_logits` as `self._loss_from_logits` says. Keras skips
    `compile` on load for models that override it; the compile config these
    models save holds the resolved loss, so compiling from it is exact
    (`load_model` then restores the optimizer state).
    """

    _loss_from_logits = False

    def compile(self, optimizer="adam", loss="auto", metrics=None, **kwargs):
        """`keras.Model.compile`; `loss="auto"` is sparse cross-entropy on the trained model's output."""
        if isinstance(loss, str) and loss == "auto":
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=self._loss_from_logits)
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def compile_from_config(self, config):
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)


def revive(cls, config, nested=()):
    """`from_config` of the wrapper models: deserialises `nested` entries, restores `trainable`."""
    config = dict(config)
    for key in nested:
        if isinstance(config.get(key), dict):
            config[key] = keras.saving.deserialize_keras_object(config[key])
    trainable = config.pop("trainable", True)
    instance = cls(**config)
    instance.trainable = trainable
    return instance
