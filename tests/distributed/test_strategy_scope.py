"""A model built outside `strategy.scope()` and compiled or fitted inside it (or the reverse).

TensorFlow fails deep inside `fit` in these cases ("`colocate_vars_with`
must only be passed a variable created in this tf.distribute.Strategy.scope()",
"Mixing different tf.distribute.Strategy objects", or a bare
`AssertionError`); the package's models raise a `ValueError` at `compile` or
`fit` instead, before any work. A one-device `MirroredStrategy` mirrors
variables like a multi-device one, so these checks run in the test process.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_transfer as kt
from tests.generative import tiny
from tests.test_case import tiny_classifier
from tests.test_case import tiny_data

FIX = "Create the model .* and call `compile` inside `with strategy.scope\\(\\):`"


@pytest.fixture
def strategy():
    return tf.distribute.MirroredStrategy(["/cpu:0"])


def _transfer_classifier():
    return tiny_classifier()


def _domain_adaptation_model():
    features = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4)])
    classifier = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    return kt.models.DomainAdaptationModel(features, classifier, kt.layers.DomainAdversarialHead((4,)))


def _fixmatch():
    return kt.ssl.FixMatch(tiny.classifier(2), weak_augmentation=None, strong_augmentation=None, seed=0)


def _data(kind):
    rng = np.random.default_rng(0)
    if kind == "transfer":
        x, y = tiny_data(n=8)
        return {"x": x, "y": y, "batch_size": 4}
    if kind == "domain":
        data = kt.data.domain_adaptation_dataset(
            source=(rng.normal(size=(8, 5)), rng.integers(0, 3, 8)), target=rng.normal(size=(8, 5)), batch_size=4
        )
        return {"x": data}
    return {"x": (tiny.images(8), tiny.images(8, seed=1)), "y": np.arange(8) % 2, "batch_size": 4}


MODELS = [
    pytest.param(_transfer_classifier, "transfer", id="TransferClassifier"),
    pytest.param(_domain_adaptation_model, "domain", id="DomainAdaptationModel"),
    pytest.param(_fixmatch, "fixmatch", id="FixMatch"),
]


def _compile(model):
    loss = "auto" if isinstance(model, kt.ssl.FixMatch) else "sparse_categorical_crossentropy"
    model.compile(keras.optimizers.Adam(1e-2), loss, jit_compile=False)


def _fit(model, kind):
    # DiscriminativeLR wraps the optimizer in a GroupOptimizer at the start of `fit`.
    return model.fit(**_data(kind), epochs=1, verbose=0, callbacks=[kt.callbacks.DiscriminativeLR(decay=0.5)])


@pytest.mark.parametrize("make,kind", MODELS)
def test_built_outside_compiled_inside_raises(strategy, make, kind):
    model = make()
    with strategy.scope():
        with pytest.raises(ValueError, match=f"Cannot compile `{model.name}` under MirroredStrategy.*{FIX}"):
            _compile(model)
    assert not model.compiled


@pytest.mark.parametrize("make,kind", MODELS)
def test_compiled_outside_fitted_inside_raises(strategy, make, kind):
    model = make()
    _compile(model)
    before = [v.numpy() for v in model.weights]
    with strategy.scope():
        with pytest.raises(ValueError, match="Cannot fit .* under MirroredStrategy with 1 replicas: its variables"):
            _fit(model, kind)
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(before, model.weights))
    assert not isinstance(model.optimizer, kt.optimizers.GroupOptimizer)  # raised before any work


@pytest.mark.parametrize("make,kind", MODELS)
def test_built_inside_compiled_outside_raises(strategy, make, kind):
    with strategy.scope():
        model = make()
    with pytest.raises(ValueError, match="Cannot compile .* under no tf.distribute strategy .* created under Mirrored"):
        _compile(model)


def test_wrapped_model_built_outside_names_both_strategies(strategy):
    classifier = tiny.classifier(2)  # outside: the usual slip
    with strategy.scope():
        fixmatch = kt.ssl.FixMatch(classifier, seed=0)
        with pytest.raises(ValueError, match="created under different strategies .*under no tf.distribute"):
            fixmatch.compile(keras.optimizers.Adam(1e-2), jit_compile=False)


@pytest.mark.parametrize("make,kind", MODELS)
def test_built_and_compiled_inside_fits_inside_or_outside(strategy, make, kind):
    for fit_in_scope in (False, True):
        with strategy.scope():
            model = make()
            _compile(model)
        before = [v.numpy() for v in model.trainable_weights]
        if fit_in_scope:
            with strategy.scope():
                history = _fit(model, kind)
        else:
            history = _fit(model, kind)
        assert isinstance(model.optimizer, kt.optimizers.GroupOptimizer)
        assert np.isfinite(history.history["loss"]).all()
        assert any(not np.array_equal(a, v.numpy()) for a, v in zip(before, model.trainable_weights))
