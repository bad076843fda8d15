"""Domain adaptation with a text classifier: its encoder is the feature extractor."""

import numpy as np
import pytest
import tensorflow as tf

import keras_transfer as kt
from tests.test_case import TestCase

SOURCE = ["good movie", "bad film", "great plot", "awful acting"] * 4
TARGET = ["fine book", "poor novel", "nice story", "terrible prose"] * 4
LABELS = np.array([1, 0, 1, 0] * 4)


class TestTextDomainAdaptation(TestCase):
    def test_dann_on_raw_strings_trains_the_shared_encoder(self, tiny_preset_no_dropout):
        model = kt.build_text_classifier(tiny_preset_no_dropout, 2, freeze=False)
        adapted = kt.models.DomainAdaptationModel(
            model.feature_extractor, model.head, alignment=kt.layers.DomainAdversarialHead((8,), dropout=0.0)
        )
        adapted.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        data = kt.data.domain_adaptation_dataset(
            source=(SOURCE, LABELS), target=TARGET, batch_size=4, seed=0, preprocessor=model.preprocessor
        )
        x, _ = next(iter(data))
        assert x["source"]["token_ids"].dtype == tf.int32  # tokenized in the pipeline
        before = model.predict(SOURCE[:4], verbose=0)
        history = adapted.fit(data, epochs=1, verbose=0, shuffle=False).history
        assert {"task_loss", "alignment_loss", "domain_accuracy"} <= set(history)
        assert np.isfinite(history["loss"]).all()
        after = model.predict(SOURCE[:4], verbose=0)
        assert np.abs(after - before).max() > 1e-6, "the text classifier shares the adapted weights"
        tokens = model.preprocessor(tf.constant(SOURCE[:4]))
        np.testing.assert_allclose(adapted.inference_model.predict(tokens, verbose=0), after, atol=1e-5)
        np.testing.assert_allclose(adapted.predict(tokens, verbose=0), after, atol=1e-5)

    def test_mmd_with_a_frozen_encoder_trains_the_head_only(self, tiny_preset_no_dropout):
        model = kt.build_text_classifier(tiny_preset_no_dropout, 2)  # encoder frozen
        encoder_before = [np.array(v) for v in model.feature_extractor.weights]
        adapted = kt.models.DomainAdaptationModel(model.feature_extractor, model.head, alignment=kt.losses.MMD())
        adapted.compile("adam", "sparse_categorical_crossentropy")
        data = kt.data.domain_adaptation_dataset(
            source=(SOURCE, LABELS), target=TARGET, batch_size=4, seed=0, preprocessor=model.preprocessor
        )
        head_before = [np.array(v) for v in model.head.weights]
        adapted.fit(data, epochs=1, verbose=0, shuffle=False)
        for before, variable in zip(encoder_before, model.feature_extractor.weights):
            np.testing.assert_array_equal(before, np.array(variable))
        assert any(not np.array_equal(b, np.array(v)) for b, v in zip(head_before, model.head.weights))

    def test_preprocessor_must_be_callable(self):
        with pytest.raises(TypeError, match="preprocessor.*callable.*Received"):
            kt.data.domain_adaptation_dataset(source=(SOURCE, LABELS), target=TARGET, batch_size=4, preprocessor="bert")
