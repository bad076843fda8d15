"""`TENT`: test-time entropy minimisation of the normalization layers' affine parameters."""

import keras
import tensorflow as tf
from keras import ops

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.models.transfer_model import TransferModel
from keras_transfer.groups.naming import all_layers
from keras_transfer.models import _outputs
from keras_transfer.test_time import batch_statistics


def _affine_variables(model):
    """`gamma` and `beta` of the BatchNormalization layers, else of the Layer/GroupNormalization ones."""
    layers = batch_statistics.batch_normalizations(model)
    if not layers:
        layers = [layer for layer in all_layers(model) if isinstance(layer, batch_statistics.NORMALIZATION_LAYERS)]
    return [v for layer in layers for v in (layer.gamma, layer.beta) if v is not None]


@keras_transfer_export("keras_transfer.test_time.TENT")
class TENT(TransferModel, keras.Model):
    """A trained classifier that adapts to each test batch while it predicts (TENT).

    For every batch `predict(x)` or `__call__` sees, the prediction entropy
    `-sum(p * log p)` is minimised by `steps` gradient steps on the affine
    parameters (`gamma`, `beta`) of the BatchNormalization layers, which
    normalise with test-batch statistics as in `BNAdapt`. Models without
    BatchNormalization adapt their LayerNormalization or GroupNormalization
    parameters instead. Nothing else changes; no labels, no source data.

    The adaptation is online: each batch starts from the parameters the
    previous batches left, unless `episodic=True`, where each batch starts
    from the source model. `reset()` restores the source state (parameters
    and optimizer). The given model is copied and never modified.

    The returned predictions are those of the last step's forward pass (made
    before that step's update), as in the paper's code.

    Args:
        model: a trained Keras classifier (softmax or logits outputs) with
            normalization layers.
        optimizer: a Keras optimizer (instance or name). Defaults to
            `keras.optimizers.Adam(1e-3)` (the paper's CIFAR setting).
        steps: int >= 1, gradient steps per batch. Defaults to `1`.
        episodic: bool, reset to the source model before each batch.
            Defaults to `False`.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8),
    ...                           keras.layers.BatchNormalization(), keras.layers.Dense(3, activation="softmax")])
    >>> tent = keras_transfer.test_time.TENT(model)
    >>> tent.predict(np.ones((16, 4), "float32"), verbose=0).shape
    (16, 3)
    >>> tent.reset()

    Reference:
        Wang et al., "Tent: Fully Test-Time Adaptation by Entropy
        Minimization", ICLR 2021.
    """

    _nested_config = ("model", "optimizer")

    def __init__(self, model, optimizer=None, steps=1, episodic=False, **kwargs):
        # float32 outside: under a mixed policy Keras would autocast the affine variables
        # in `call`, where the optimizer must assign them (the copied model keeps its policy).
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.steps = _checks.check_int("steps", steps, minimum=1)
        if not isinstance(episodic, bool):
            raise _checks.invalid("episodic", "True or False", episodic, error=TypeError)
        self.episodic = episodic
        if isinstance(model, keras.Model) and not _affine_variables(model):
            raise batch_statistics.no_normalization_error(
                "model", model, "TENT adapts the scale and offset of normalization layers"
            )
        input_shape = getattr(model, "input_shape", None)
        shape = tuple(input_shape[1:]) if isinstance(input_shape, tuple) else None
        self._from_logits = _outputs.detect_from_logits("model", model, shape)
        self.adapted = batch_statistics.adapted_copy(model, prior=0.0)
        self._affine = _affine_variables(self.adapted)
        if optimizer is None:
            optimizer = keras.optimizers.Adam(1e-3)
        elif isinstance(optimizer, (str, dict)):
            optimizer = keras.optimizers.get(optimizer)
        if not isinstance(optimizer, keras.optimizers.Optimizer):
            raise _checks.invalid("optimizer", "None, a Keras optimizer or its name", optimizer, error=TypeError)
        self.adaptation_optimizer = optimizer
        self.adaptation_optimizer.build(self._affine)
        state = self._state()
        self._source_state = [
            keras.Variable(ops.convert_to_numpy(v), dtype=v.dtype, trainable=False, name="source_" + v.name.split("/")[-1])
            for v in state
        ]
        self.built = True

    def _state(self):
        return [*self._affine, *self.adaptation_optimizer.variables]

    def reset(self):
        """Restores the source model's affine parameters and the optimizer's initial state."""
        for variable, source in zip(self._state(), self._source_state):
            variable.assign(source)

    def entropy(self, outputs):
        """Mean prediction entropy of a batch of outputs, in float32."""
        log_p = _outputs.log_probabilities(outputs, self._from_logits)
        return -ops.mean(ops.sum(ops.exp(log_p) * log_p, axis=-1))

    def call(self, inputs, training=False):
        if self.episodic:
            self.reset()
        watched = [v.value for v in self._affine]
        outputs = None
        for _ in range(self.steps):
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(watched)
                outputs = self.adapted(inputs, training=False)
                loss = self.entropy(outputs)
            gradients = tape.gradient(loss, watched)
            self.adaptation_optimizer.apply(gradients, self._affine)
        return outputs

    def get_config(self):
        config = super().get_config()
        config.update({
            "model": keras.saving.serialize_keras_object(self.adapted),
            "optimizer": keras.optimizers.serialize(self.adaptation_optimizer),
            "steps": self.steps,
            "episodic": self.episodic,
        })
        return config
