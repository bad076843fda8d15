"""Tiny source / target classifiers sharing a trunk, for the regulariser tests."""

import keras
import numpy as np

RNG = np.random.default_rng(0)
X = RNG.normal(size=(32, 4)).astype("float32")
Y = np.arange(32) % 3


def trunk_and_heads(source_classes=5, classes=3, seed=0, source_activation="softmax"):
    """`(source, target)`: one Dense trunk (shared layer objects), a source head and a new target head."""
    keras.utils.set_random_seed(seed)
    trunk = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh", name="trunk_dense")],
                             name="trunk")
    source = keras.Sequential([trunk, keras.layers.Dense(source_classes, activation=source_activation,
                                                         name="source_predictions")], name="source")
    target = keras.Sequential([trunk, keras.layers.Dense(classes, activation="softmax", name="predictions")],
                              name="target")
    return source, target


def features(model, x):
    """The input of `model`'s last layer for inputs `x` (numpy)."""
    return keras.Model(model.inputs, model.layers[-1].input).predict(x, verbose=0)


def save_and_load(model, path):
    model.save(path)
    return keras.models.load_model(path)
