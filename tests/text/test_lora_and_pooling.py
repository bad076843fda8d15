import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_transfer as kt
from tests.test_case import TestCase
from tests.text.tiny_preset import sentiment_texts

TEXTS, LABELS = sentiment_texts(8)


class TestLoRA(TestCase):
    def test_only_lora_and_head_variables_change_after_a_step(self, tiny_preset):
        model = kt.build_text_classifier(tiny_preset, 2, lora_rank=2)
        lora = model.lora_variables
        assert len(lora) == 2 * 2 * 2  # (query, value) x (a, b) x 2 transformer layers
        trainable = {v.path for v in model.trainable_variables}
        assert trainable == {v.path for v in lora} | {"predictions/kernel", "predictions/bias"}
        model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
        before = {v.path: np.array(v) for v in model.weights}
        model.fit(TEXTS, LABELS, epochs=1, batch_size=4, verbose=0)
        moved = {v.path for v in model.weights if not np.array_equal(before[v.path], np.array(v))}
        # lora_kernel_b starts at zero, so lora_kernel_a gets no gradient at the first
        # step; after two steps every LoRA factor and the head have moved, nothing else.
        assert moved == trainable

    def test_lora_round_trip_keeps_lora_and_outputs(self, tiny_preset):
        model = kt.build_text_classifier(tiny_preset, 2, lora_rank=2)
        for variable in model.lora_variables:  # non-zero factors, so that merging matters
            variable.assign(np.random.default_rng(0).normal(0, 0.5, variable.shape))
        revived = self.run_model_saving_test(model, TEXTS, atol=1e-5)
        assert revived.lora_rank == 2
        assert {v.path for v in revived.trainable_variables} == {v.path for v in model.trainable_variables}

    def test_lora_rank_is_checked(self, tiny_preset):
        with pytest.raises(ValueError, match=r"`lora_rank`.*>= 1.*Received: lora_rank=0"):
            kt.build_text_classifier(tiny_preset, 2, lora_rank=0)


class TestTextPooling(TestCase):
    def test_masked_mean_ignores_padding_and_cls_takes_the_first_token(self):
        states = np.arange(2 * 4 * 3, dtype="float32").reshape(2, 4, 3)
        mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1]])
        mean = kt.layers.TextPooling("mean")([states, mask])
        self.assertAllClose(mean, np.stack([states[0, :2].mean(0), states[1].mean(0)]))
        self.assertAllClose(kt.layers.TextPooling("cls")([states, mask]), states[:, 0])
        layer = kt.layers.TextPooling("cls")
        revived = self.run_serialization_test(layer)
        assert revived.mode == "cls"
        with pytest.raises(ValueError, match=r"`mode`.*Received: mode='max'"):
            kt.layers.TextPooling("max")

    def test_mean_pooling_matches_a_manual_mean_in_the_model(self, tiny_preset):
        model = kt.build_text_classifier(tiny_preset, 2)
        x = model.preprocessor(tf.constant(TEXTS[:3]))
        sequence = np.asarray(model.backbone(x)["sequence_output"])
        mask = np.asarray(x["padding_mask"]).astype("float32")[..., None]
        manual = (sequence * mask).sum(1) / mask.sum(1)
        self.assertAllClose(model.feature_extractor(x), manual, atol=1e-5)
        cls = kt.build_text_classifier(tiny_preset, 2, pooling="cls")
        self.assertAllClose(cls.feature_extractor(x), sequence[:, 0], atol=1e-5)
