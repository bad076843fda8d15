"""Dropout that respects freezing."""

import keras

from keras_transfer.api_export import keras_transfer_export


@keras_transfer_export("keras_transfer.layers.FreezableDropout")
class FreezableDropout(keras.layers.Dropout):
    """A `keras.layers.Dropout` that is the identity while it is frozen.

    Keras's `Dropout` ignores `trainable`, so a frozen backbone with dropout
    inside (EfficientNet's stochastic depth) still drops units during `fit`
    and a frozen feature extractor is not a fixed function. Registered
    backbones have their `Dropout` layers replaced by this one: frozen, they
    compute features exactly as at inference (like BatchNormalization with
    `trainable=False`); unfrozen, they drop as before.

    Args: as `keras.layers.Dropout`.

    Example:

    >>> import numpy as np, keras_transfer
    >>> layer = keras_transfer.layers.FreezableDropout(0.5)
    >>> layer.trainable = False
    >>> x = np.ones((2, 4), "float32")
    >>> bool(np.all(np.asarray(layer(x, training=True)) == x))
    True
    """

    def call(self, inputs, training=False):
        if not self.trainable:
            training = False
        return super().call(inputs, training=training)
