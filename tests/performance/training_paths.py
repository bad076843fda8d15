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
first) and finish in a few seconds. A path whose step draws random numbers
inside the compiled function (noise, augmentation) returns
`Run(..., random=True)`: XLA draws other numbers than the TF kernels, so the
jit test then checks finite losses and predictions rather than equality.
Text classifiers are covered by tests/text (they need a tiny preset on disk).
"""

import dataclasses

import keras
import numpy as np

import keras_transfer as kt
from tests.generative import tiny

PATHS = {}

RNG = np.random.default_rng(0)
X = RNG.uniform(0, 255, (32, 32, 32, 3)).astype("float32")
Y = np.arange(32) % 3


@dataclasses.dataclass
class Run:
    losses: list
    predictions: np.ndarray
    random: bool = False


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


def _vectors(n, shift=0.0, seed=0):
    return np.random.default_rng(seed).normal(shift, 1.0, (n, 6)).astype("float32")


def _domain_adaptation(alignment, jit_compile):
    keras.utils.set_random_seed(5)
    features = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                                 keras.layers.BatchNormalization()], name="features")
    classifier = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3, activation="softmax", dtype="float32")],
                                  name="classifier")
    model = kt.models.DomainAdaptationModel(features, classifier, alignment=alignment)
    _compile(model, jit_compile)
    data = kt.data.domain_adaptation_dataset(source=(_vectors(32), Y), target=_vectors(32, 1.0, seed=1),
                                             batch_size=8, seed=0)
    history = model.fit(data, epochs=2, verbose=0, shuffle=False)
    return Run(history.history["loss"], model.predict(_vectors(4), verbose=0))


@training_path("DomainAdaptationModel (DANN)")
def _dann(jit_compile):
    return _domain_adaptation(kt.layers.DomainAdversarialHead((8,), dropout=0.0), jit_compile)


@training_path("DomainAdaptationModel (CDAN)")
def _cdan(jit_compile):
    return _domain_adaptation(kt.layers.ConditionalDomainAdversarialHead((8,), dropout=0.0), jit_compile)


@training_path("DomainAdaptationModel (MMD)")
def _mmd(jit_compile):
    return _domain_adaptation(kt.losses.MMD(), jit_compile)


@training_path("DomainAdaptationModel (CORAL)")
def _coral(jit_compile):
    return _domain_adaptation(kt.losses.CORAL(), jit_compile)


@training_path("FixMatch (real unlabelled data)")
def _fixmatch(jit_compile):
    keras.utils.set_random_seed(5)
    model = kt.ssl.FixMatch(tiny.conv_classifier(), threshold=0.0, unlabeled_ratio=2, seed=0)
    _compile(model, jit_compile)
    data = kt.ssl.ssl_dataset((tiny.images(16, seed=0), Y[:16]), tiny.images(32, seed=1), batch_size=4, unlabeled_ratio=2,
                              seed=0)
    history = model.fit(data, epochs=2, verbose=0, shuffle=False)
    return Run(history.history["loss"], model.predict(tiny.images(4, seed=2), verbose=0), random=True)


@training_path("FixMatch + PseudoSSLGenerator (P-SSL)")
def _pssl(jit_compile):
    keras.utils.set_random_seed(5)
    pseudo = kt.layers.PseudoSSLGenerator(tiny.label_only_generator(), tiny.conv_classifier())
    model = kt.ssl.FixMatch(tiny.conv_classifier(), pseudo_generator=pseudo, weak_augmentation=None,
                            strong_augmentation=None, threshold=0.0, unlabeled_ratio=2, seed=0)
    _compile(model, jit_compile)
    history = model.fit(tiny.images(16, seed=0), Y[:16], batch_size=4, epochs=2, verbose=0)
    return Run(history.history["loss"], model.predict(tiny.images(4, seed=2), verbose=0))


@training_path("PseudoPretrainer (pseudo pre-training)")
def _pseudo_pretraining(jit_compile):
    keras.utils.set_random_seed(5)
    model = kt.generative.PseudoPretrainer(tiny.conv_classifier(), tiny.label_only_generator(), seed=0)
    _compile(model, jit_compile)
    history = model.fit(batch_size=8, steps_per_epoch=3, epochs=2, verbose=0)
    return Run(history.history["loss"], model.predict(tiny.images(4, seed=2), verbose=0), random=True)


@training_path("Distiller (auxiliary label space)")
def _distiller(jit_compile):
    keras.utils.set_random_seed(5)
    teacher = tiny.conv_classifier(4)
    model = kt.distill.Distiller(tiny.conv_classifier(), teacher, label_space="auxiliary")
    _compile(model, jit_compile)
    history = model.fit(tiny.images(16, seed=0), Y[:16], batch_size=4, epochs=2, verbose=0, shuffle=False)
    return Run(history.history["loss"], model.predict(tiny.images(4, seed=2), verbose=0))


@training_path("L2-SP (apply_l2sp + FreezeSchedule)")
def _l2sp(jit_compile):
    model = kt.regularizers.apply_l2sp(small_classifier(), alpha=0.01, beta=0.01)
    _compile(model, jit_compile)
    history = model.fit(X, Y, epochs=2, batch_size=8, verbose=0, shuffle=False,
                        callbacks=[kt.callbacks.FreezeSchedule({1: "all"})])
    return Run(history.history["loss"], model.predict(X[:4], verbose=0))
