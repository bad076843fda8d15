"""`StochNorm` and `apply_stochnorm`: BatchNorm that, in training, sometimes normalises with its moving statistics."""

import copy

import keras
from keras import ops

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.models import _replicas

_REGISTERED = "keras_transfer>StochNorm"


@keras_transfer_export("keras_transfer.layers.StochNorm")
class StochNorm(keras.layers.BatchNormalization):
    """Stochastic normalization: BatchNorm choosing, per channel, batch or moving statistics.

    In training (and when the layer is trainable), each channel is
    normalised with the moving mean and variance with probability `p`, and
    with the batch's statistics otherwise (one draw per channel and step);
    the moving statistics are updated from the batch as in
    `BatchNormalization`. Outside training it is `BatchNormalization`. The
    moving statistics carry what the pretrained network saw: the paper uses
    them as a regulariser against over-fitting a small target batch. Use
    `keras_transfer.regularizers.apply_stochnorm` to swap the
    `BatchNormalization` layers of a model for it.

    Args:
        p: probability of the moving statistics, per channel (in [0, 1]).
            Defaults to `0.5` (the paper's).
        seed: int or `None`, seeds the draws (their state is saved with the
            layer).
        **kwargs: the arguments of `keras.layers.BatchNormalization`
            (`renorm` is not supported).

    Example:

    >>> import numpy as np, keras_transfer
    >>> layer = keras_transfer.layers.StochNorm(p=1.0, epsilon=0.0)
    >>> x = np.array([[1.0], [3.0]], "float32")
    >>> layer(x, training=True).numpy().ravel().tolist()  # moving mean 0, variance 1
    [1.0, 3.0]

    Reference:
        Kou et al., "Stochastic Normalization", NeurIPS 2020.
    """

    def __init__(self, p=0.5, seed=None, **kwargs):
        if kwargs.get("renorm"):
            raise _checks.invalid("renorm", "False (StochNorm does not support batch renormalization)", True)
        super().__init__(**kwargs)
        self.p = _checks.check_float("p", p, minimum=0.0, maximum=1.0)
        if seed is not None:
            seed = _checks.check_int("seed", seed)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None, mask=None):
        if not (training and self.trainable) or mask is not None:
            return super().call(inputs, training=training, mask=mask)
        compute_dtype = keras.backend.result_type(inputs.dtype, "float32")
        inputs = ops.cast(inputs, compute_dtype)
        moving_mean = ops.cast(self.moving_mean, compute_dtype)
        moving_variance = ops.cast(self.moving_variance, compute_dtype)
        mean, variance = self._moments(inputs, None)
        self.moving_mean.assign(moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(moving_variance * self.momentum + variance * (1.0 - self.momentum))
        use_moving = _replicas.uniform(tuple(self.moving_mean.shape), self.seed_generator) < self.p
        outputs = ops.batch_normalization(
            x=inputs,
            mean=ops.where(use_moving, moving_mean, mean),
            variance=ops.where(use_moving, moving_variance, variance),
            axis=self.axis,
            offset=ops.cast(self.beta, compute_dtype) if self.center else None,
            scale=ops.cast(self.gamma, compute_dtype) if self.scale else None,
            epsilon=self.epsilon,
        )
        return ops.cast(outputs, self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update({"p": self.p, "seed": self.seed})
        return config


def _swap(config, p, counter):
    """`config` with every serialised `BatchNormalization` turned into a `StochNorm` (recursively)."""
    if isinstance(config, list):
        return [_swap(item, p, counter) for item in config]
    if not isinstance(config, dict):
        return config
    config = {key: _swap(value, p, counter) for key, value in config.items()}
    if config.get("class_name") == "BatchNormalization" and config.get("module") == "keras.layers":
        if config["config"].get("renorm"):
            raise _checks.invalid("model", "a model whose BatchNormalization layers do not use renorm",
                                  config["config"].get("name"))
        counter.append(config["config"].get("name"))
        config = {**config, "module": None, "class_name": "StochNorm", "registered_name": _REGISTERED,
                  "config": {**config["config"], "p": p}}
    return config


@keras_transfer_export("keras_transfer.regularizers.apply_stochnorm")
def apply_stochnorm(model, p=0.5):
    """A copy of `model` whose `BatchNormalization` layers are `StochNorm` layers, same weights.

    The copy is rebuilt from the model's serialised config (nested models
    included), with each `keras.layers.BatchNormalization` replaced by a
    `keras_transfer.layers.StochNorm(p)`, then given every weight of `model`
    (moving statistics included). `model` itself is unchanged. Compile the
    copy before fitting it. StochNorm only acts where BatchNorm trains: with
    `keras_transfer.build_classifier`, pass `train_batchnorm=True`.

    Args:
        model: a Keras model with `BatchNormalization` layers, serialisable
            (functional, Sequential, or one of the package's models).
        p: probability of the moving statistics, per channel. Defaults to
            `0.5`.

    Returns:
        The new model.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.BatchNormalization(),
    ...                           keras.layers.Dense(2, activation="softmax")])
    >>> new = keras_transfer.regularizers.apply_stochnorm(model, p=0.5)
    >>> type(new.layers[1]).__name__
    'StochNorm'
    >>> x = np.ones((2, 3), "float32")
    >>> bool(np.allclose(new.predict(x, verbose=0), model.predict(x, verbose=0)))
    True

    Reference:
        Kou et al., "Stochastic Normalization", NeurIPS 2020.
    """
    if not isinstance(model, keras.Model):
        raise _checks.invalid("model", "a keras.Model with BatchNormalization layers", model, error=TypeError)
    p = _checks.check_float("p", p, minimum=0.0, maximum=1.0)
    swapped = []
    config = _swap(copy.deepcopy(keras.saving.serialize_keras_object(model)), p, swapped)
    if not swapped:
        raise _checks.invalid("model", "a model with BatchNormalization layers (StochNorm replaces them)", model.name,
                              hint="This model has none (e.g. VGG16): use another regulariser.")
    new = keras.saving.deserialize_keras_object(config)
    values = model.get_weights()
    if len(new.weights) != len(values):
        raise _checks.invalid("model", "a model that its config rebuilds with the same weights", model.name)
    new.set_weights(values)
    return new
