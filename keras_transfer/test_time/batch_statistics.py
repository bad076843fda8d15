"""A copy of a trained model whose BatchNormalization layers normalise with test-batch statistics.

Calling a model with `training=True` is no way to get test-batch statistics:
Keras runs a BatchNormalization layer with `trainable=False` (every frozen
backbone of `build_classifier`) in inference mode whatever `training` says,
and a trainable one updates the model's moving statistics. So the model is
copied (its config and weights) and each BatchNormalization layer of the
copy becomes a `BatchStatisticsNormalization`, which normalises with the
statistics of the batch it sees, mixed with the source statistics by
`prior`, and never updates them. The given model is not touched.
"""

import math
import warnings

import keras
from keras import ops

from keras_transfer import _checks
from keras_transfer.groups.naming import all_layers

NORMALIZATION_LAYERS = (keras.layers.LayerNormalization, keras.layers.GroupNormalization)


@keras.saving.register_keras_serializable(package="keras_transfer")
class BatchStatisticsNormalization(keras.layers.BatchNormalization):
    """BatchNormalization with `prior * source + (1 - prior) * batch` statistics, in any mode.

    A batch with fewer than 2 values per channel (one sample into a Dense-layer
    BatchNormalization) has no variance to measure: the source statistics are
    used for it, with a warning when the shape is known at trace time.
    """

    def __init__(self, prior=0.0, **kwargs):
        super().__init__(**kwargs)
        self.prior = prior

    def call(self, inputs, training=None, mask=None):
        inputs = ops.cast(inputs, keras.backend.result_type(inputs.dtype, "float32"))
        source_mean = ops.cast(self.moving_mean, inputs.dtype)
        source_variance = ops.cast(self.moving_variance, inputs.dtype)
        mean, variance = self._moments(inputs, mask)
        axes = [a for a in range(len(inputs.shape)) if a != self.axis % len(inputs.shape)]
        static = [inputs.shape[a] for a in axes]
        if None not in static:
            if math.prod(static) < 2:
                warnings.warn(
                    f"{self.name}: a batch of {math.prod(static)} value per channel has no variance; "
                    "its source statistics are used. Predict with larger batches to adapt.",
                    stacklevel=2,
                )
                mean, variance = source_mean, source_variance
        else:
            count = ops.prod(ops.stack([ops.shape(inputs)[a] for a in axes]))
            mean = ops.where(count >= 2, mean, source_mean)
            variance = ops.where(count >= 2, variance, source_variance)
        if self.prior:
            mean = self.prior * source_mean + (1.0 - self.prior) * mean
            variance = self.prior * source_variance + (1.0 - self.prior) * variance
        outputs = ops.batch_normalization(
            inputs, mean, variance, axis=self.axis,
            offset=ops.cast(self.beta, inputs.dtype) if self.center else None,
            scale=ops.cast(self.gamma, inputs.dtype) if self.scale else None,
            epsilon=self.epsilon,
        )
        return ops.cast(outputs, self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "prior": self.prior}


def check_prior(prior):
    return _checks.check_float("prior", prior, minimum=0.0, maximum=1.0)


def batch_normalizations(model):
    return [layer for layer in all_layers(model) if isinstance(layer, keras.layers.BatchNormalization)]


def adapted_copy(model, prior=0.0, argument="model"):
    """A copy of `model` (config and weights) normalising with test-batch statistics."""
    if not isinstance(model, keras.Model):
        raise _checks.invalid(argument, "a trained Keras model", model, error=TypeError)
    copy = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(model))
    copy.set_weights(model.get_weights())
    for layer in batch_normalizations(copy):
        if type(layer) not in (keras.layers.BatchNormalization, BatchStatisticsNormalization):
            raise _checks.invalid(
                argument, "a model whose batch normalization layers are keras.layers.BatchNormalization",
                f"layer {layer.name!r} of class {type(layer).__name__}",
            )
        layer.__class__ = BatchStatisticsNormalization  # same variables, test-batch statistics
        layer.prior = prior
    return copy


def no_normalization_error(argument, model, what):
    return ValueError(
        f"Invalid value received for argument `{argument}`: {what}, but model "
        f"{getattr(model, 'name', model)!r} has no normalization layer (e.g. VGG16 has none). "
        "Test-time adaptation through normalization needs one; fine-tune on labelled target data "
        'instead (kt.transfer("fine_tune", ...)), or use a backbone with BatchNormalization.'
    )
