"""Co-Tuning: the category relationship by hand, the translated source-label loss, the source head trained."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from tests.regularizers.nets import X, Y, features, save_and_load, trunk_and_heads
from tests.test_case import TestCase


class TestCategoryRelationship(TestCase):
    def test_rows_are_the_mean_source_probabilities_of_each_target_class(self):
        source = keras.Sequential([keras.Input((3,)), keras.layers.Softmax()])
        p = np.array([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6], [0.1, 0.8, 0.1], [0.5, 0.4, 0.1]], "float32")
        y = np.array([0, 0, 1, 1])
        relationship = kt.regularizers.category_relationship(source, np.log(p), y)
        expected = np.array([[0.4, 0.25, 0.35], [0.3, 0.6, 0.1]], "float32")
        self.assertAllClose(relationship, expected, atol=1e-6)
        self.assertAllClose(relationship.sum(axis=1), [1.0, 1.0], atol=1e-6)

    def test_logits_source_and_bad_input(self):
        source, _ = trunk_and_heads(source_activation=None)
        relationship = kt.regularizers.category_relationship(source, X, Y)
        assert relationship.shape == (3, 5)
        self.assertAllClose(relationship.sum(axis=1), np.ones(3), atol=1e-5)
        with pytest.raises(ValueError, match="`y`.*classes \\[3\\]"):
            kt.regularizers.category_relationship(source, X, Y, num_classes=4)
        with pytest.raises(TypeError, match="`source_model`"):
            kt.regularizers.category_relationship(keras.layers.Dense(2), X, Y)


class TestCoTuningModel(TestCase):
    def _model(self, weight=2.0):
        source, target = trunk_and_heads()
        relationship = kt.regularizers.category_relationship(source, X, Y)
        return source, kt.models.CoTuningModel(target, source.layers[-1], relationship, weight=weight), relationship

    def test_penalty_is_the_cross_entropy_to_the_translated_labels(self):
        source, model, relationship = self._model()
        q = source.predict(X, verbose=0)  # the source head starts as the source model's
        expected = np.mean(-np.sum(relationship[Y] * np.log(q), axis=-1))
        assert model.penalty(X, Y) == pytest.approx(expected, rel=1e-5)
        kernel, bias = model.source_head.get_weights()
        logits = features(model.model, X) @ kernel + bias
        assert np.allclose(np.exp(logits) / np.exp(logits).sum(-1, keepdims=True), q, atol=1e-5)

    def test_fit_trains_the_source_head_copy_compiled_and_saves(self):
        source, model, _ = self._model()
        given = source.layers[-1].get_weights()[0].copy()
        start = model.penalty(X, Y)
        model.compile(keras.optimizers.Adam(0.05), metrics=["accuracy"], jit_compile=True)
        history = model.fit(X, Y, batch_size=16, epochs=5, verbose=0, validation_data=(X, Y))
        assert {"co_tuning_loss", "val_loss"} <= set(history.history)
        assert model.penalty(X, Y) < start  # the translated labels are learnt by the source head
        self.assertAllEqual(source.layers[-1].get_weights()[0], given)  # the given head never trains
        revived = save_and_load(model, self.tmp_path_str("co_tuning.keras"))
        self.assertAllClose(revived.predict(X, verbose=0), model.predict(X, verbose=0))
        assert revived.penalty(X, Y) == pytest.approx(model.penalty(X, Y), rel=1e-5)

    def test_bad_input_is_named(self):
        source, target = trunk_and_heads()
        relationship = kt.regularizers.category_relationship(source, X, Y)
        with pytest.raises(ValueError, match="`relationship`.*summing"):
            kt.models.CoTuningModel(target, source.layers[-1], relationship * 2)
        with pytest.raises(ValueError, match="`relationship`"):
            kt.models.CoTuningModel(target, source.layers[-1], relationship[:2])
        with pytest.raises(ValueError, match="`source_head`.*shape"):
            kt.models.CoTuningModel(target, source, relationship)  # the whole model: its last layer is the head
        with pytest.raises(TypeError, match="`source_head`"):
            kt.models.CoTuningModel(target, "head", relationship)
        other = keras.Sequential([keras.Input((6,)), keras.layers.Dense(5, activation="softmax")])
        with pytest.raises(ValueError, match="`source_head`.*shape"):
            kt.models.CoTuningModel(target, other.layers[-1], relationship)
