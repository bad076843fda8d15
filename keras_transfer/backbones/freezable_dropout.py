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


def freezable_clone(model):
    """Returns `model` with its `Dropout` layers replaced by `FreezableDropout`.

    The model is returned unchanged when it has none; otherwise it is cloned
    (same layer names and weights).
    """
    if not any(type(layer) is keras.layers.Dropout for layer in model.layers):
        return model

    def clone(layer):
        if type(layer) is keras.layers.Dropout:
            return FreezableDropout.from_config(layer.get_config())
        return layer.__class__.from_config(layer.get_config())

    cloned = keras.models.clone_model(model, clone_function=clone)
    cloned.set_weights(model.get_weights())
    return cloned


def make_dropout_freezable_in_place(model):
    """Turns every `keras.layers.Dropout` inside `model` into a `FreezableDropout`.

    keras-hub encoders create their dropout layers in their constructors, so
    they cannot be swapped by cloning: the instances change class in place
    (`FreezableDropout` only overrides `call`). A frozen transformer layer then
    computes the same features in `fit` as in `predict`, like BatchNorm in a
    frozen convolutional backbone. Returns the number of layers changed.
    """
    changed = 0
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if type(layer) is keras.layers.Dropout:
            layer.__class__ = FreezableDropout
            changed += 1
    return changed
