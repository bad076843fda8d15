"""What ADDA and WDGRL share (private): the adversary network, its own optimizer, means over the global batch."""

import keras
from keras import ops

from keras_transfer import _checks
from keras_transfer.domain_adaptation._model_checks import check_sample_weight  # noqa: F401 (used by ADDA, WDGRL)
from keras_transfer.domain_adaptation._alignment_terms import synced_replicas
from keras_transfer.models import _outputs
from keras_transfer.models import _replicas


def default_adversary(hidden_units, name):
    """`Dense(relu)` per entry of `hidden_units`, then one score (no activation), all in float32."""
    layers = [keras.layers.Dense(units, activation="relu", name=f"dense_{i}", dtype="float32")
              for i, units in enumerate(hidden_units)]
    return keras.Sequential([*layers, keras.layers.Dense(1, name="score", dtype="float32")], name=name)


def check_adversary(name, value, independent_rows=False):
    """A Keras layer scoring features with one unbounded number (a logit, a critic value)."""
    if not isinstance(value, keras.layers.Layer):
        raise _checks.invalid(name, "a Keras layer or model mapping features to one score", value, error=TypeError)
    last = value
    while isinstance(last, keras.Sequential) and last.layers:  # built or not
        last = last.layers[-1]
    kind = _outputs.output_kind(last)
    if kind in (_outputs.PROBABILITIES, _outputs.OTHER):
        raise _checks.invalid(
            name, "a model ending in one unbounded score (a Dense(1) without activation)",
            f"{value.name}, whose last layer has a {kind} activation",
            hint="Remove the sigmoid/softmax: the losses apply their own, in float32.",
        )
    if independent_rows:
        coupled = [layer.name for layer in value._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)]
        if coupled:
            raise _checks.invalid(
                name, "a critic that scores each example on its own (the gradient penalty is per example)",
                f"{value.name} with BatchNormalization layers {coupled}",
                hint="Use keras.layers.LayerNormalization, or no normalization.",
            )
    return value


def check_optimizer(name, value):
    """`None` (a copy of the compiled optimizer), or a Keras optimizer (instance, name or config)."""
    if value is None:
        return None
    if isinstance(value, (str, dict)):
        value = keras.optimizers.get(value)
    if not isinstance(value, keras.optimizers.Optimizer):
        raise _checks.invalid(name, "None (a copy of the compiled optimizer) or a Keras optimizer", value,
                              error=TypeError)
    return value


def batch_mean(values, weights=None):
    """The mean over the global batch of a per-example tensor (optionally weighted, Keras-style: / count).

    On one device the batch mean. While several replicas train in sync, each
    replica returns its share times the replica count, so that the mean of
    the replicas' values is the global mean and `_replica_loss` of it has
    the gradient of the global mean (the package's convention).
    """
    values = ops.cast(values, "float32")
    if weights is not None:
        values = values * ops.cast(ops.reshape(weights, ops.shape(values)), "float32")
    context = synced_replicas()
    if context is None:
        return ops.mean(values)
    count = context.all_reduce("sum", ops.cast(ops.shape(values)[0], "float32"))
    return float(_replicas.num_replicas()) * ops.sum(values) / count


def score(network, features, training=True):
    """The network's scores of a feature batch, float32, shape `(batch,)`."""
    return ops.reshape(ops.cast(network(features, training=training), "float32"), (-1,))


class SeparateAdversaryOptimizer:
    """Mixin (before the model's base): the adversary trains with its own optimizer.

    The subclass names the adversary's attribute (`_adversary`) and its
    optimizer's (`_adversary_optimizer`). A `None` optimizer becomes, at each
    `compile`, a new optimizer of the compiled one's class and config (as the
    papers and ADAPT use one setting for both players); it is built on the
    adversary's weights as soon as the model is built, so its state is saved
    and restored with the model.
    """

    _adversary = "discriminator"
    _adversary_optimizer = "discriminator_optimizer"

    def _init_adversary_optimizer(self, optimizer):
        optimizer = check_optimizer(self._adversary_optimizer, optimizer)
        self._copies_optimizer = optimizer is None
        setattr(self, self._adversary_optimizer, optimizer)

    def compile(self, *args, **kwargs):
        super().compile(*args, **kwargs)
        if self._copies_optimizer:
            try:
                copy = keras.optimizers.deserialize(keras.optimizers.serialize(self.optimizer))
            except (NotImplementedError, TypeError) as error:  # a schedule without `get_config` or not registered
                raise _checks.invalid(
                    self._adversary_optimizer, "an optimizer of its own: the compiled optimizer cannot be copied "
                    "(register its learning-rate schedule with keras.saving.register_keras_serializable and give "
                    "it a get_config, or pass one)", None, hint=str(error).split("\n")[0],
                ) from error
            setattr(self, self._adversary_optimizer, copy)
        self._build_adversary_optimizer()

    def compile_from_config(self, config):
        super().compile_from_config(config)
        self._build_adversary_optimizer()

    def _build_adversary_optimizer(self):
        optimizer = getattr(self, self._adversary_optimizer, None)
        adversary = getattr(self, self._adversary, None)
        if optimizer is not None and not optimizer.built and adversary is not None and adversary.built:
            optimizer.build(adversary.trainable_variables)

    def _scale_adversary_loss(self, loss):
        """`loss` scaled by the adversary optimizer (mixed precision); call it under the tape."""
        return getattr(self, self._adversary_optimizer).scale_loss(loss)

    def _train_adversary(self, tape, scaled_loss):
        """Applies the adversary optimizer to the gradient of `scaled_loss` (recorded on `tape`)."""
        variables = getattr(self, self._adversary).trainable_variables
        gradients = tape.gradient(scaled_loss, variables)
        getattr(self, self._adversary_optimizer).apply_gradients(zip(gradients, variables))

    def _adversary_optimizer_config(self):
        optimizer = getattr(self, self._adversary_optimizer)
        return None if self._copies_optimizer else keras.optimizers.serialize(optimizer)
