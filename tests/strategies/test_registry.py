"""The registry listing, custom strategies, and bad input (refused before any training)."""

import os

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.strategies import registry
from tests.test_case import tiny_backbone

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
X = np.random.default_rng(0).uniform(0, 255, (6, 8, 8, 3)).astype("float32")
Y = np.array([0, 1, 2, 0, 1, 2])


@pytest.fixture
def no_training(monkeypatch):
    """Makes any `fit` fail loudly: the errors below must come before training."""

    def fit(*args, **kwargs):
        raise AssertionError("training started before the bad input was refused")

    monkeypatch.setattr(keras.Model, "fit", fit)


def test_every_strategy_has_name_paper_when_and_an_existing_page():
    strategies = kt.strategies.list_strategies()
    assert [s.name for s in strategies] == kt.strategies.available()
    assert {"feature_extraction", "fine_tune", "gradual", "dann", "cdan", "mmd", "coral", "distill", "fixmatch",
            "pp_pssl", "l2sp", "prototype", "text"} <= set(kt.strategies.available())
    for s in strategies:
        assert s.paper and s.when and len(s.when.splitlines()) == 1, s.name
        assert any(char.isdigit() for char in s.paper), f"{s.name}: the paper reference has no year"
        assert os.path.exists(os.path.join(ROOT, "docs", s.page)), s.page


def test_text_and_markdown_listings_show_every_strategy():
    text = kt.strategies.list_strategies("text")
    markdown = kt.strategies.list_strategies("markdown")
    for s in kt.strategies.list_strategies():
        assert s.name in text and s.paper in text and s.when in text
        assert f"| [`{s.name}`]({s.link}) | {s.when} | {s.paper} |" in markdown
    with pytest.raises(ValueError, match="style"):
        kt.strategies.list_strategies("html")


def test_a_custom_strategy_runs_through_transfer():
    calls = []

    def train(context, *, scale=1.0):
        calls.append((context.num_classes, context.input_shape, context.epochs, scale))
        model = context.classifier()
        return model, keras.callbacks.History(), {"scale": scale}

    custom = kt.strategies.Strategy("custom_test", train, paper="Nobody, 2024", when="Never.", options={"scale": 1.0},
                                    page="strategies.md", epochs=3)
    kt.strategies.register_strategy(custom)
    try:
        with pytest.raises(ValueError, match="not registered yet"):
            kt.strategies.register_strategy(custom)
        result = kt.transfer("custom_test", tiny_backbone(), (X, Y), scale=2.0, preprocessing="unit")
        assert calls == [(3, (8, 8, 3), 3, 2.0)]
        assert result.details == {"scale": 2.0} and result.model.output_shape == (None, 3)
    finally:
        registry._REGISTRY.pop("custom_test")


def test_strategy_constructor_checks():
    with pytest.raises(TypeError, match="`train`"):
        kt.strategies.Strategy("x", "not callable", paper="p", when="w", page="p.md")
    with pytest.raises(ValueError, match="`requires`"):
        kt.strategies.Strategy("x", print, paper="p", when="w", page="p.md", requires=("labels",))
    with pytest.raises(ValueError, match="`accepts`"):
        kt.strategies.Strategy("x", print, paper="p", when="w", page="p.md", requires=("data", "target"), accepts=("data",))
    with pytest.raises(TypeError, match="`strategy`"):
        kt.strategies.register_strategy("fine_tune")


BAD = [
    # (strategy, kwargs, error, the message names...)
    ("fine_tunning", dict(data=(X, Y)), ValueError, r"`strategy`.*'feature_extraction'.*Did you mean 'fine_tune'"),
    ("dann", dict(source=(X, Y)), ValueError, r"`target`.*strategy 'dann' needs it.*Received: target=None"),
    ("ccsa", dict(data=(X, Y), source=(X, Y), target=X), ValueError, r"`target`.*'ccsa' does not use it"),
    ("feature_extraction", dict(data=(X, Y), target=X), ValueError, r"`target`.*'feature_extraction' does not use it"),
    ("fixmatch", dict(data=(X, Y)), ValueError, r"`target`.*unlabelled target inputs"),
    ("feature_extraction", dict(), ValueError, r"`data`.*labelled target-task examples"),
    ("feature_extraction", dict(data=X), TypeError, r"`data`.*a pair \(x, y\)"),
    ("feature_extraction", dict(data=(X, Y[:3])), ValueError, r"`data`.*as many labels as inputs"),
    ("feature_extraction", dict(data=(X, Y), num_classes=2), ValueError, r"`data`.*class ids in \[0, 1\], i.e. \[0, 2\)"),
    ("mmd", dict(source=(X, Y), target=X[:, :4]), ValueError, r"`target`.*shape \(8, 8, 3\).*\(4, 8, 3\)"),
    ("feature_extraction", dict(data=(X, Y), validation_data=(X[:, :4], Y)), ValueError, r"`validation_data`.*shape"),
    ("l2sp", dict(data=(X, Y), gamma=1.0), ValueError, r"`gamma`.*option of strategy 'l2sp'.*`alpha`, `beta`"),
    ("prototype", dict(data=(X, Y), epochs=3), ValueError, r"`epochs`.*'prototype' takes no gradient step"),
    ("fine_tune", dict(data=(X, Y), epochs=1), ValueError, r"`epochs`.*more than freeze_epochs=1"),
    ("fine_tune", dict(data=(X, Y), epochs=0), ValueError, r"`epochs`.*>= 1"),
    ("fine_tune", dict(data=(X, Y), batch_size=0), ValueError, r"`batch_size`"),
    ("fine_tune", dict(data=(X, Y), learning_rate=-1.0), ValueError, r"`learning_rate`"),
    ("fine_tune", dict(data=(X, Y), callbacks=["early"]), TypeError, r"`callbacks`"),
    ("fine_tune", dict(data=(X, Y), build_options={"weights": None}), ValueError, r"`build_options`"),
    ("distill", dict(data=(X, Y)), ValueError, r"`source`.*or the option teacher="),
    ("distill", dict(data=(X, Y), source=(X, Y), temperature=0.0), ValueError, r"`temperature`"),
    ("pp_pssl", dict(data=(X, Y)), ValueError, r"`source`.*source classifier and generator"),
    ("pp_pssl", dict(data=(X, Y), source=(X, Y), threshold=2.0), ValueError, r"`threshold`"),
    ("pp_pssl", dict(data=(X, Y), source=(X, Y), generator_options={"latent_dim": 0}), ValueError, r"`latent_dim`"),
]


@pytest.mark.parametrize("strategy, kwargs, error, message", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_input_is_refused_before_training(no_training, strategy, kwargs, error, message):
    with pytest.raises(error, match=message):
        kt.transfer(strategy, tiny_backbone(), preprocessing="unit", verbose=0, **kwargs)


def test_distill_with_a_given_teacher_needs_label_space(no_training):
    teacher = kt.build_classifier(tiny_backbone(), 3, preprocessing="unit")
    with pytest.raises(ValueError, match=r"`label_space`.*no default with a given teacher"):
        kt.transfer("distill", tiny_backbone(), (X, Y), teacher=teacher)
    with pytest.raises(ValueError, match=r"either `source`.*or the option `teacher`"):
        kt.transfer("distill", tiny_backbone(), (X, Y), source=(X, Y), teacher=teacher, label_space="shared")


def test_bad_backbone_and_strategy_types(no_training):
    with pytest.raises(TypeError, match="`backbone`"):
        kt.transfer("fine_tune", 3, (X, Y))
    with pytest.raises(TypeError, match="`strategy`"):
        kt.transfer(None, tiny_backbone(), (X, Y))
