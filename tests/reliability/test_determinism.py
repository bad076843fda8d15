"""One switch, `keras_transfer.utils.enable_determinism`, makes every strategy bitwise reproducible on CPU.

Each strategy runs twice on tiny data from the same seed; the trained weights
(and the seed states of the package's random parts) must be equal bit for bit.
"""

import numpy as np
import pytest

import keras
import keras_transfer as kt
from tests.generative import tiny
from tests.test_case import tiny_classifier, tiny_data

X, Y = tiny_data(16)
RNG = np.random.default_rng(0)
X_S = RNG.normal(size=(16, 4)).astype("float32")
Y_S = RNG.integers(0, 2, 16)
X_T = RNG.normal(1.0, 1.0, size=(16, 4)).astype("float32")


def compiled(model, **kwargs):
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", **kwargs)
    return model


def frozen_fit():
    model = compiled(tiny_classifier(dropout=0.5))
    model.fit(X, Y, batch_size=8, epochs=2, verbose=0)
    return model


def fit_classifier_cached():
    model = compiled(tiny_classifier())
    history = kt.fit_classifier(model, X, Y, batch_size=8, epochs=2, verbose=0)
    assert history.feature_cache["mode"] == "memory"
    return model


def freeze_schedule_and_dlr():
    model = compiled(tiny_classifier())
    callbacks = [kt.callbacks.FreezeSchedule({1: "all"}), kt.callbacks.DiscriminativeLR(decay=0.5)]
    model.fit(X, Y, batch_size=8, epochs=2, verbose=0, callbacks=callbacks)
    return model


def fine_tune():
    model = tiny_classifier()
    kt.fine_tune(model, X, Y, epochs=1, freeze_epochs=1, batch_size=8, verbose=0)
    return model


def _domain_adaptation(alignment, schedule=False):
    features = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, activation="relu")])
    classifier = keras.Sequential([keras.Input((6,)), keras.layers.Dense(2, activation="softmax")])
    model = compiled(kt.models.DomainAdaptationModel(features, classifier, alignment))
    data = kt.data.domain_adaptation_dataset(source=(X_S, Y_S), target=X_T, batch_size=8, seed=0)
    callbacks = [kt.callbacks.GradientReversalSchedule()] if schedule else []
    model.fit(data, epochs=2, verbose=0, callbacks=callbacks)
    return model


def dann():
    return _domain_adaptation(kt.layers.DomainAdversarialHead((5,), dropout=0.5), schedule=True)


def mmd():
    return _domain_adaptation(kt.losses.MMD())


def coral():
    return _domain_adaptation(kt.losses.CORAL())


def cdan():
    return _domain_adaptation(kt.layers.ConditionalDomainAdversarialHead((5,), dropout=0.5), schedule=True)


def fixmatch():
    model = kt.ssl.FixMatch(tiny.classifier(2), threshold=0.5, unlabeled_ratio=2)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    x, y = tiny.images(8, seed=1), np.arange(8) % 2
    data = kt.ssl.ssl_dataset((x, y), tiny.images(16, seed=2), batch_size=2, unlabeled_ratio=2, seed=0)
    model.fit(data, epochs=1, verbose=0)
    return model


def pssl_fixmatch():
    generator = kt.layers.PseudoSSLGenerator(tiny.generator(classes=3), tiny.classifier(3))
    model = kt.ssl.FixMatch(tiny.classifier(2), pseudo_generator=generator, threshold=0.5, unlabeled_ratio=2)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(tiny.images(8, seed=1), np.arange(8) % 2, batch_size=4, epochs=2, verbose=0)
    return model


def pseudo_pretrainer():
    model = kt.generative.PseudoPretrainer(tiny.classifier(3), tiny.generator())
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(batch_size=8, steps_per_epoch=3, epochs=1, verbose=0)
    return model


def distiller():
    model = kt.distill.Distiller(tiny.classifier(3), tiny.classifier(4), label_space="auxiliary", feature_layer="hidden")
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(tiny.images(8, seed=1), np.arange(8) % 3, batch_size=4, epochs=2, verbose=0)
    return model


def l2sp():
    model = compiled(kt.regularizers.apply_l2sp(tiny_classifier(freeze=False), alpha=0.1, beta=0.01))
    model.fit(X, Y, batch_size=8, epochs=2, verbose=0)
    return model


def prototype_head():
    embed = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="embed"), keras.layers.Dropout(0.5)])
    head = kt.few_shot.PrototypeHead(2)
    head.fit_prototypes(embed.predict(X_S, verbose=0), Y_S)
    model = compiled(keras.Sequential([embed, head]))
    model.fit(X_S, Y_S, batch_size=4, epochs=2, verbose=0)
    result = kt.few_shot.evaluate_episodes(embed, X_S, Y_S, n_way=2, k_shot=2, queries=2, episodes=3, seed=0)
    model.episode_accuracies = np.asarray(result.accuracies)
    return model


STRATEGIES = [
    frozen_fit, fit_classifier_cached, freeze_schedule_and_dlr, fine_tune, dann, mmd, coral, cdan,
    fixmatch, pssl_fixmatch, pseudo_pretrainer, distiller, l2sp, prototype_head,
]


def _state(model):
    arrays = [v.numpy() for v in model.weights]
    for layer in model._flatten_layers(include_self=True, recursive=True):
        for generator in getattr(layer, "_seed_generators", None) or []:
            arrays.append(generator.state.numpy())
    if hasattr(model, "episode_accuracies"):
        arrays.append(model.episode_accuracies)
    return arrays


SLOW = (fixmatch, pssl_fixmatch)  # 10 s and more each: in the `large` run


@pytest.mark.parametrize(
    "strategy",
    [pytest.param(f, marks=pytest.mark.large) if f in SLOW else f for f in STRATEGIES],
    ids=lambda f: f.__name__,
)
def test_two_runs_are_bitwise_equal(strategy):
    runs = []
    for _ in range(2):
        keras.backend.clear_session()
        kt.utils.enable_determinism(123)
        runs.append(_state(strategy()))
    first, second = runs
    assert len(first) == len(second) > 0
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
