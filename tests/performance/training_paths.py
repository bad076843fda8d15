"""Every public training path as a small factory, for the cross-cutting tests.

`tests/performance/test_training_paths.py` runs each registered path with
`jit_compile=True` (and compares with `False`) and under `mixed_float16` and
`mixed_bfloat16`. To cover a new strategy, register one function here:

    @training_path("FreezeSchedule + DiscriminativeLR")
    def _freeze_schedule(jit_compile):
        model = ...                        # tiny, seeded, weights=None
        model.compile(..., jit_compile=jit_compile)
        history = model.fit(...)           # or the strategy's own fit helper
        return Run(history.history["loss"], model.predict(X[:4], verbose=0))

It must build everything inside the function (the tests set the dtype policy
first) and finish in a few seconds.
"""

import dataclasses

import keras
import numpy as np

import keras_transfer as kt

PATHS = {}

RNG = np.random.default_rng(0)
X = RNG.uniform(0, 255, (32, 32, 32, 3)).astype("float32")
Y = np.arange(32) % 3


@dataclasses.dataclass
class Run:
    losses: list
    predictions: np.ndarray


def training_path(name):
    def register(function):
        PATHS[name] = function
        return function

    return register


def small_classifier(freeze=True):
    """`build_classifier` over a small backbone with BatchNorm (no dropout: XLA draws other random numbers)."""
    keras.utils.set_random_seed(5)
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    x = keras.layers.Conv2D(8, 3, strides=2, name="conv1")(x)
    x = keras.layers.BatchNormalization(name="bn1")(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Conv2D(16, 3, strides=2, activation="relu", name="conv2")(x)
    backbone = keras.Model(inputs, x, name="small")
    return kt.build_classifier(backbone, 3, input_shape=(32, 32, 3), freeze=freeze, hidden_units=(8,))


def _compile(model, jit_compile):
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=jit_compile)


@training_path("build_classifier + model.fit (frozen)")
def _frozen_fit(jit_compile):
    model = small_classifier()
    _compile(model, jit_compile)
    history = model.fit(X, Y, epochs=2, batch_size=8, verbose=0, shuffle=False)
    return Run(history.history["loss"], model.predict(X[:4], verbose=0))


@training_path("build_classifier + model.fit (fine-tuning)")
def _fine_tune(jit_compile):
    model = small_classifier(freeze=False)
    _compile(model, jit_compile)
    history = model.fit(X, Y, epochs=2, batch_size=8, verbose=0, shuffle=False)
    return Run(history.history["loss"], model.predict(X[:4], verbose=0))


@training_path("fit_classifier (cached features)")
def _cached(jit_compile):
    model = small_classifier()
    _compile(model, jit_compile)
    history = kt.fit_classifier(model, X, Y, epochs=2, batch_size=8, verbose=0, shuffle=False, cache_features=True)
    return Run(history.history["loss"], model.predict(X[:4], verbose=0))


@training_path("FreezeSchedule + DiscriminativeLR")
def _freeze_schedule(jit_compile):
    model = small_classifier()
    _compile(model, jit_compile)
    callbacks = [kt.callbacks.FreezeSchedule({1: "all"}), kt.callbacks.DiscriminativeLR(decay=0.5)]
    history = model.fit(X, Y, epochs=2, batch_size=8, verbose=0, shuffle=False, callbacks=callbacks)
    return Run(history.history["loss"], model.predict(X[:4], verbose=0))


@training_path("fine_tune recipe")
def _fine_tune_recipe(jit_compile):
    model = small_classifier()
    history = kt.fine_tune(model, X, Y, epochs=1, freeze_epochs=1, batch_size=8, verbose=0, shuffle=False,
                           jit_compile=jit_compile)
    return Run(history.history["loss"], model.predict(X[:4], verbose=0))
