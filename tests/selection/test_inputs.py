"""Bad input is rejected before any computation, with the argument named and what was received."""

import numpy as np
import pytest

import keras_transfer.selection as selection

RNG = np.random.default_rng(0)
LABELS = np.repeat([0, 1, 2], 4)
FEATURES = RNG.normal(size=(12, 5))
PROBABILITIES = np.full((12, 4), 0.25)
FEATURE_FUNCTIONS = [
    selection.logme, selection.hscore, selection.transrate, selection.knn_accuracy, selection.linear_probe_accuracy,
]
SOURCE_FUNCTIONS = [selection.leep, selection.nce]


def raises(error, name, function, *args, **kwargs):
    with pytest.raises(error) as info:
        function(*args, **kwargs)
    assert f"`{name}`" in str(info.value), str(info.value)
    return str(info.value)


BAD_LABELS = [
    (np.zeros(12, int), ValueError, "at least 2 classes"),
    (np.array([0] * 11 + [1]), ValueError, "at least 2 samples of every class"),
    (np.linspace(0, 2, 12), ValueError, "integer class ids"),
    (np.array([0.0, 1.0, np.nan] * 4), ValueError, "finite"),
    (np.array(["a", "b", "c"] * 4), TypeError, "dtype"),
    (np.full((12, 3), 1 / 3), ValueError, "one-hot rows"),
    (np.zeros((12, 2, 2)), ValueError, "shape (12, 2, 2)"),
    (np.array(3), ValueError, "shape ()"),
    ("labels", TypeError, "labels"),
]


@pytest.mark.parametrize(("labels", "error", "says"), BAD_LABELS)
def test_bad_labels_name_labels_in_every_function(labels, error, says):
    for function in FEATURE_FUNCTIONS:
        assert says in raises(error, "labels", function, FEATURES, labels)
    for function in SOURCE_FUNCTIONS:
        assert says in raises(error, "labels", function, PROBABILITIES, labels)
    assert says in raises(error, "labels", selection.score, FEATURES, labels, "logme")


BAD_FEATURES = [
    (FEATURES[:10], ValueError, "one row per label (12 labels)"),
    (FEATURES[:, 0], ValueError, "2-D"),
    (FEATURES.reshape(12, 5, 1), ValueError, "reshape(len(features), -1)"),
    (np.where(np.arange(60).reshape(12, 5) == 17, np.nan, FEATURES), ValueError, "NaN or Inf in sample 3"),
    (np.where(np.arange(60).reshape(12, 5) == 59, np.inf, FEATURES), ValueError, "NaN or Inf in sample 11"),
    (np.zeros((12, 0)), ValueError, "at least one feature"),
    (FEATURES.astype(str), TypeError, "dtype"),
    ({"x": 1}, TypeError, "features"),
]


@pytest.mark.parametrize(("features", "error", "says"), BAD_FEATURES)
def test_bad_features_name_features_in_every_function(features, error, says):
    for function in FEATURE_FUNCTIONS:
        assert says in raises(error, "features", function, features, LABELS)
    for metric in selection.available_metrics(needs_source_probabilities=False):
        assert says in raises(error, "features", selection.score, features, LABELS, metric)
    # LEEP and NCE do not read features, but features that are given are checked.
    assert says in raises(error, "features", selection.score, features, LABELS, "leep", source_probabilities=PROBABILITIES)


BAD_PROBABILITIES = [
    (PROBABILITIES[:11], ValueError, "one row per label (12 labels)"),
    (np.full((12, 4), 0.3), ValueError, "sum to 1"),
    (np.tile([1.5, -0.5], (12, 1)), ValueError, "probabilities >= 0"),
    (np.full(12, 1.0), ValueError, "2-D"),
    (np.full((12, 0), 1.0), ValueError, "2-D"),
    (np.where(np.arange(48).reshape(12, 4) == 5, np.nan, PROBABILITIES), ValueError, "NaN or Inf in sample 1"),
    (PROBABILITIES.astype(str), TypeError, "dtype"),
]


@pytest.mark.parametrize(("probabilities", "error", "says"), BAD_PROBABILITIES)
def test_bad_source_probabilities_name_source_probabilities(probabilities, error, says):
    for function in SOURCE_FUNCTIONS:
        assert says in raises(error, "source_probabilities", function, probabilities, LABELS)
    for metric in selection.available_metrics():
        message = raises(error, "source_probabilities", selection.score, FEATURES, LABELS, metric, source_probabilities=probabilities)
        assert says in message


def test_logits_get_a_softmax_hint():
    message = raises(ValueError, "source_probabilities", selection.leep, RNG.normal(size=(12, 4)), LABELS)
    assert "softmax" in message


@pytest.mark.parametrize("metric", ["leep", "nce"])
def test_leep_and_nce_without_source_probabilities_say_which_scores_take_trunks(metric):
    message = raises(ValueError, "source_probabilities", selection.score, FEATURES, LABELS, metric)
    assert "LEEP and NCE need the source head's class probabilities" in message
    assert "logme/hscore/transrate/knn/linear" in message


def test_feature_metrics_without_features_name_features():
    for metric in selection.available_metrics(needs_source_probabilities=False):
        raises(ValueError, "features", selection.score, None, LABELS, metric, source_probabilities=PROBABILITIES)


def test_an_unknown_metric_lists_the_names_and_a_close_match():
    message = raises(ValueError, "metric", selection.score, FEATURES, LABELS, "log_me")
    assert all(repr(name) in message for name in selection.available_metrics())
    assert "Did you mean 'logme'" in message
    raises(ValueError, "metric", selection.score, FEATURES, LABELS, None)


def test_unknown_or_misplaced_options_are_type_errors_naming_the_option():
    message = raises(TypeError, "k", selection.score, FEATURES, LABELS, "logme", k=3)
    assert "no options for 'logme'" in message
    message = raises(TypeError, "eps", selection.score, FEATURES, LABELS, "knn", eps=0.1)
    assert "k" in message.split("Expected")[1]


BAD_OPTIONS = [
    (selection.knn_accuracy, {"k": 0}, "k", ValueError),
    (selection.knn_accuracy, {"k": 12}, "k", ValueError),  # 12 samples: at most 11 others
    (selection.knn_accuracy, {"k": 2.5}, "k", TypeError),
    (selection.transrate, {"eps": 0.0}, "eps", ValueError),
    (selection.transrate, {"eps": float("nan")}, "eps", ValueError),
    (selection.hscore, {"shrinkage": 1.5}, "shrinkage", ValueError),
    (selection.hscore, {"shrinkage": "oas"}, "shrinkage", ValueError),
    (selection.hscore, {"shrinkage": None}, "shrinkage", TypeError),
    (selection.linear_probe_accuracy, {"folds": 1}, "folds", ValueError),
    (selection.linear_probe_accuracy, {"C": 0.0}, "C", ValueError),
    (selection.linear_probe_accuracy, {"seed": -1}, "seed", ValueError),
]


@pytest.mark.parametrize(("function", "options", "name", "error"), BAD_OPTIONS)
def test_bad_metric_options_name_the_option(function, options, name, error):
    raises(error, name, function, FEATURES, LABELS, **options)


def test_available_metrics_rejects_a_non_boolean_filter():
    raises(TypeError, "needs_source_probabilities", selection.available_metrics, "yes")

