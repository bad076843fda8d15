"""Scores on real data: each one orders pixels > pixels + heavy noise > pure noise (UCI digits)."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

import keras_transfer.selection as selection


@pytest.fixture(scope="module")
def digits():
    pixels, labels = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    # Noise twice the pixels' spread: kNN accuracy drops from ~0.99 to ~0.35; chance is 0.1.
    noisy = pixels + rng.normal(scale=2.0 * pixels.std(), size=pixels.shape)
    noise = rng.normal(size=pixels.shape)
    return labels, {"pixels": pixels, "noisy": noisy, "noise": noise}


@pytest.mark.parametrize("metric", selection.available_metrics(needs_source_probabilities=False))
def test_each_feature_score_orders_pixels_above_noisy_pixels_above_noise(digits, metric):
    labels, features = digits
    values = {name: selection.score(f, labels, metric) for name, f in features.items()}
    assert all(isinstance(v, float) and np.isfinite(v) for v in values.values()), values
    assert values["pixels"] > values["noisy"] > values["noise"], (metric, values)


def test_accuracy_proxies_are_accuracies_near_chance_on_noise(digits):
    labels, features = digits
    for function in (selection.knn_accuracy, selection.linear_probe_accuracy):
        assert function(features["pixels"], labels) > 0.9
        assert 0.0 <= function(features["noise"], labels) < 0.2  # 10 balanced classes: chance 0.1


def test_hscore_is_within_its_bounds_and_zero_for_isotropic_noise(digits):
    labels, features = digits
    classes = len(np.unique(labels))
    for name, f in features.items():
        for shrinkage in ("ledoit_wolf", 0.0, 0.5):
            value = selection.hscore(f, labels, shrinkage=shrinkage)
            assert -1e-12 <= value <= classes - 1 + 1e-9, (name, shrinkage, value)
    # Ledoit-Wolf shrinks isotropic noise (almost) all the way to mu I: nothing left between classes.
    assert selection.hscore(features["noise"], labels) < 0.01


def test_transrate_is_non_negative_and_falls_as_eps_grows(digits):
    labels, features = digits
    rates = [selection.transrate(features["pixels"], labels, eps=eps) for eps in (0.01, 0.1, 1.0)]
    assert rates[0] > rates[1] > rates[2] > 0


def _softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("metric", selection.available_metrics(needs_source_probabilities=True))
def test_source_scores_order_informative_above_noisy_above_uninformative_heads(digits, metric):
    """A source head over 20 classes: two per digit (informative), half-swapped (noisy), random."""
    labels, features = digits
    rng = np.random.default_rng(1)
    source = 2 * labels + rng.integers(0, 2, len(labels))  # two source classes per target class
    noisy_source = np.where(rng.random(len(labels)) < 0.5, rng.integers(0, 20, len(labels)), source)
    heads = {
        "informative": _softmax(4.0 * np.eye(20)[source] + rng.normal(size=(len(labels), 20))),
        "noisy": _softmax(4.0 * np.eye(20)[noisy_source] + rng.normal(size=(len(labels), 20))),
        "random": _softmax(rng.normal(size=(len(labels), 20))),
    }
    values = {
        name: selection.score(features["pixels"], labels, metric, source_probabilities=p) for name, p in heads.items()
    }
    assert values["informative"] > values["noisy"] > values["random"], values
    entropy = -np.sum(np.bincount(labels) / len(labels) * np.log(np.bincount(labels) / len(labels)))
    assert all(-entropy - 1e-9 <= v <= 1e-12 for v in values.values()), (values, entropy)


def test_score_gives_the_per_metric_functions_values_and_options():
    rng = np.random.default_rng(3)
    labels = np.repeat(np.arange(3), 12)
    features = rng.normal(size=(36, 6)) + np.eye(3, 6)[labels]
    probabilities = _softmax(rng.normal(size=(36, 5)))
    cases = [
        ("logme", selection.logme, {}),
        ("hscore", selection.hscore, {"shrinkage": 0.0}),
        ("transrate", selection.transrate, {"eps": 0.5}),
        ("knn", selection.knn_accuracy, {"k": 3}),
        ("linear", selection.linear_probe_accuracy, {"folds": 3, "C": 0.1, "seed": 2}),
    ]
    for metric, function, options in cases:
        assert selection.score(features, labels, metric, **options) == function(features, labels, **options), metric
    for metric, function in (("leep", selection.leep), ("nce", selection.nce)):
        expected = function(probabilities, labels)
        assert selection.score(None, labels, metric, source_probabilities=probabilities) == expected
        assert selection.score(features, labels, metric, source_probabilities=probabilities) == expected
    assert selection.score(features, labels) == selection.logme(features, labels)  # the default metric


def test_available_metrics_lists_which_need_source_probabilities():
    names = selection.available_metrics()
    assert names == ["logme", "hscore", "transrate", "knn", "linear", "leep", "nce"]
    assert selection.available_metrics(needs_source_probabilities=True) == ["leep", "nce"]
    assert selection.available_metrics(needs_source_probabilities=False) == names[:5]
    names.append("mutated")  # a fresh list each call
    assert "mutated" not in selection.available_metrics()
