"""PEFT on a keras-hub text encoder: applied through the classifier's config, so it survives load_model."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from tests.test_case import TestCase
from tests.text.tiny_preset import sentiment_texts

TEXTS, LABELS = sentiment_texts(8)
PEFT_NAMES = {"lora_kernel_a", "lora_kernel_b", "magnitude", "ia3_scale"}
EXPECTED = {  # (layer, variable) per transformer layer
    "dora": {(f"self_attention_layer/{p}", v) for p in ("query", "value") for v in ("lora_kernel_a", "lora_kernel_b", "magnitude")},
    "ia3": {("self_attention_layer/key", "ia3_scale"), ("self_attention_layer/value", "ia3_scale"),
            ("feedforward_output_dense", "ia3_scale")},
}


class TestTextPEFT(TestCase):
    @pytest.mark.large  # ~20 s of CPU each: a keras-hub model fitted, saved, loaded, merged
    @pytest.mark.parametrize("name", ["dora", "ia3"])
    def test_starts_as_the_base_trains_only_its_variables_saves_and_merges(self, tiny_preset, name):
        base = kt.build_text_classifier(tiny_preset, 2)
        model = getattr(kt.peft, name)(base, **({"rank": 2} if name == "dora" else {}))
        self.assertAllClose(model.predict(TEXTS, verbose=0), base.predict(TEXTS, verbose=0), atol=1e-6)
        trainable = {v.path for v in model.trainable_variables}
        expected = {f"transformer_layer_{i}/{layer}/{v}" for i in range(2) for layer, v in EXPECTED[name]}
        assert trainable == expected | {"predictions/kernel", "predictions/bias"}
        assert model.peft["method"] == name

        model.compile(keras.optimizers.Adam(0.02), "sparse_categorical_crossentropy", jit_compile=True)
        before = {v.path: v.numpy().copy() for v in model.weights}
        model.fit(TEXTS, LABELS, batch_size=4, epochs=1, verbose=0)
        assert {v.path for v in model.weights if not np.array_equal(before[v.path], v.numpy())} == trainable

        revived = self.run_model_saving_test(model, TEXTS, atol=1e-5)
        assert {v.path for v in revived.trainable_variables} == trainable
        merged = kt.peft.merge(model)
        self.assertAllClose(merged.predict(TEXTS, verbose=0), model.predict(TEXTS, verbose=0), atol=1e-5)
        assert merged.peft is None and not {v.name for v in merged.weights} & PEFT_NAMES

    def test_lora_rank_models_merge_and_targets_are_checked(self, tiny_preset):
        model = kt.build_text_classifier(tiny_preset, 2, lora_rank=2)
        for variable in model.lora_variables:
            variable.assign(np.random.default_rng(0).normal(0, 0.5, variable.shape))
        merged = kt.peft.merge(model)
        self.assertAllClose(merged.predict(TEXTS, verbose=0), model.predict(TEXTS, verbose=0), atol=1e-5)
        assert merged.lora_rank is None and not merged.lora_variables
        # The encoder alone (sharing the adapted backbone) records the spec too: it saves and loads.
        encoder = self.run_model_saving_test(model.feature_extractor, TEXTS, atol=1e-5)
        assert encoder.peft == {"method": "lora", "rank": 2, "alpha": None, "targets": None}
        base = kt.build_text_classifier(tiny_preset, 2)
        with pytest.raises(ValueError, match=r"`targets`.*Received: targets='querry'.*Did you mean 'query'"):
            kt.peft.lora(base, targets=["querry"])
        with pytest.raises(ValueError, match=r"`peft`.*None with `lora_rank`"):
            kt.models.TextClassifier(base.backbone, base.preprocessor, 2, lora_rank=2, peft={"method": "lora", "rank": 2})


def test_the_text_strategy_takes_a_peft_method(tiny_preset):
    model, history = kt.transfer("text", tiny_preset, (TEXTS, LABELS), peft="lora_plus", lora_rank=2, epochs=1,
                                 batch_size=4, seed=0, verbose=0)
    assert model.peft == {"method": "lora", "rank": 2, "alpha": None, "targets": None}
    assert model.optimizer.multiplier(model.lora_variables[1]) == 16.0  # a B factor
    assert {v.path for v in model.trainable_variables} == {v.path for v in model.lora_variables} | {
        "predictions/kernel", "predictions/bias"}
    with pytest.raises(ValueError, match=r"`peft`.*Received: peft='lorra'.*Did you mean 'lora'"):
        kt.transfer("text", tiny_preset, (TEXTS, LABELS), peft="lorra")
