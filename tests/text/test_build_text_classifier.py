import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_transfer as kt
from tests.test_case import TestCase
from tests.text.tiny_preset import MAX_SEQUENCE_LENGTH, SEQUENCE_LENGTH, sentiment_texts

TEXTS, LABELS = sentiment_texts(16)


def variable_values(variables):
    return {v.path: np.array(v) for v in variables}


def changed(before, after):
    return sorted(path for path in before if not np.array_equal(before[path], after[path]))


class TestBuildTextClassifier(TestCase):
    def test_raw_strings_in_probabilities_out(self, tiny_preset):
        model = kt.build_text_classifier(tiny_preset, 3)
        assert isinstance(model, kt.models.TextClassifier) and not model.compiled
        assert model.preprocessor.sequence_length == SEQUENCE_LENGTH
        probabilities = model.predict(TEXTS[:5], verbose=0)
        assert probabilities.shape == (5, 3) and probabilities.dtype == np.float32
        self.assertAllClose(probabilities.sum(axis=1), np.ones(5), atol=1e-5)
        # Calling the model on strings tokenizes first: same numbers as predict.
        self.assertAllClose(model(TEXTS[:5]), probabilities, atol=1e-6)
        self.assertAllClose(model(np.array(TEXTS[:5])), probabilities, atol=1e-6)
        utf8 = [text.encode("utf-8") for text in TEXTS[:5]]
        self.assertAllClose(model.predict(utf8, verbose=0), probabilities, atol=1e-6)
        # The encoder and the head, taken apart, compose to the model.
        features = model.feature_extractor.predict(TEXTS[:5], verbose=0)
        assert features.shape == (5, 8)
        self.assertAllClose(model.head(features), probabilities, atol=1e-5)
        # Different texts, different outputs.
        assert not np.allclose(probabilities[0], probabilities[1])

    def test_layer_groups_follow_the_transformer(self, tiny_preset):
        model = kt.build_text_classifier(tiny_preset, 2)
        groups = model.layer_groups
        assert list(groups) == ["embeddings", "transformer_layer_0", "transformer_layer_1", "head"]
        assert groups["transformer_layer_1"] == [model.backbone.transformer_layers[1]]
        assert [layer.name for layer in groups["head"]] == ["predictions"]
        embedding_names = {layer.name for layer in groups["embeddings"]}
        assert {"token_embedding", "position_embedding", "segment_embedding", "embeddings_layer_norm"} <= embedding_names
        assert list(kt.layer_groups(model)) == list(groups)
        pooled = kt.build_text_classifier(tiny_preset, 2, pooling="pooler", hidden_units=4)
        assert list(pooled.layer_groups)[-2:] == ["pooler", "head"]
        assert [layer.name for layer in pooled.layer_groups["pooler"]] == ["pooled_dense"]
        assert [layer.name for layer in pooled.layer_groups["head"]] == ["head_dense_0", "predictions"]

    def test_freeze_options_decide_what_trains(self, tiny_preset):
        frozen = kt.build_text_classifier(tiny_preset, 2)
        assert [v.path for v in frozen.trainable_variables] == ["predictions/kernel", "predictions/bias"]
        full = kt.build_text_classifier(tiny_preset, 2, freeze=False)
        paths = {v.path for v in full.trainable_variables}
        assert any(p.startswith("transformer_layer_0/") for p in paths)
        assert any(p.startswith("token_embedding/") for p in paths)
        # Mean pooling leaves BERT's pooler unused: it stays frozen (no silent weight decay).
        assert not any(p.startswith("pooled_dense/") for p in paths)
        partial = kt.build_text_classifier(tiny_preset, 2, freeze=["embeddings", "transformer_layer_0"])
        paths = {v.path.split("/")[0] for v in partial.trainable_variables}
        assert paths == {"transformer_layer_1", "predictions"}
        kt.set_trainable(partial, ["transformer_layer_0", "head"])
        paths = {v.path.split("/")[0] for v in partial.trainable_variables}
        assert paths == {"transformer_layer_0", "predictions"}

    def test_frozen_encoder_is_a_fixed_function_during_fit(self, tiny_preset):
        # The tiny backbone has dropout 0.1: frozen layers must not drop.
        model = kt.build_text_classifier(tiny_preset, 2)
        x = model.preprocessor(tf.constant(TEXTS[:4]))
        encoder = model.feature_extractor
        self.assertAllClose(encoder(x, training=True), encoder(x, training=False), atol=1e-6)
        kt.set_trainable(model, "all")
        assert not np.allclose(encoder(x, training=True), encoder(x, training=False), atol=1e-6)

    def test_fit_on_raw_strings_with_jit_compile(self, tiny_preset):
        model = kt.build_text_classifier(tiny_preset, 2, freeze=False)
        model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=True)
        before = variable_values(model.trainable_variables)
        history = model.fit(TEXTS, LABELS, epochs=2, batch_size=8, verbose=0)
        losses = history.history["loss"]
        assert all(np.isfinite(losses)) and losses[-1] < losses[0]
        after = variable_values(model.trainable_variables)
        assert changed(before, after) == sorted(before)  # every trainable variable moved

    def test_fit_on_a_string_dataset_with_validation(self, tiny_preset):
        model = kt.build_text_classifier(tiny_preset, 2)
        model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"])
        encoder_before = variable_values(model.backbone.weights)
        dataset = tf.data.Dataset.from_tensor_slices((TEXTS, LABELS)).batch(8)
        history = model.fit(dataset, validation_data=(TEXTS[:4], LABELS[:4]), epochs=1, verbose=0)
        assert set(history.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
        assert changed(encoder_before, variable_values(model.backbone.weights)) == []
        loss, accuracy = model.evaluate(dataset, verbose=0)
        assert np.isfinite(loss) and 0.0 <= accuracy <= 1.0

    @pytest.mark.large
    def test_keras_fit_arguments_on_raw_strings(self, tiny_preset):
        model = kt.build_text_classifier(tiny_preset, 2)
        model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"])
        split = model.fit(TEXTS, LABELS, validation_split=0.25, sample_weight=np.ones(16), epochs=1, verbose=0)
        assert "val_loss" in split.history
        weighted = model.evaluate(TEXTS, LABELS, sample_weight=np.r_[np.ones(8), np.zeros(8)], verbose=0)
        first_half = model.evaluate(TEXTS[:8], LABELS[:8], verbose=0)
        self.assertAllClose(weighted[0], first_half[0], atol=1e-5)
        assert np.isfinite(model.train_on_batch(TEXTS[:4], LABELS[:4])[0])
        self.assertAllClose(model.predict_on_batch(TEXTS[:2]), model.predict(TEXTS[:2], verbose=0), atol=1e-6)
        self.assertAllClose(model.test_on_batch(TEXTS[:8], LABELS[:8])[0], first_half[0], atol=1e-5)

    def test_save_and_load_round_trip_without_custom_objects(self, tiny_preset):
        model = kt.build_text_classifier(tiny_preset, 3, hidden_units=(4,), dropout=0.1, pooling="cls")
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(TEXTS, LABELS, epochs=1, batch_size=8, verbose=0)
        revived = self.run_model_saving_test(model, TEXTS, atol=1e-6)
        assert isinstance(revived, kt.models.TextClassifier)
        assert revived.get_config()["pooling"] == "cls"
        assert list(revived.layer_groups) == list(model.layer_groups)
        # The vocabulary travelled with the model: same token ids.
        self.assertAllEqual(
            revived.preprocessor(tf.constant(TEXTS[:3]))["token_ids"], model.preprocessor(tf.constant(TEXTS[:3]))["token_ids"]
        )
        # A frozen encoder stays frozen after loading.
        assert {v.path.split("/")[0] for v in revived.trainable_variables} == {"head_dense_0", "predictions"}

    def test_encoder_round_trip_and_features(self, tiny_preset):
        encoder = kt.build_text_classifier(tiny_preset, 2).feature_extractor
        assert isinstance(encoder, kt.models.TextEncoder)
        assert list(encoder.layer_groups)[0] == "embeddings"
        revived = self.run_model_saving_test(encoder, TEXTS[:6], atol=1e-6)
        assert isinstance(revived, kt.models.TextEncoder)

    def test_saved_model_serves_raw_strings(self, tiny_preset):
        model = kt.build_text_classifier(tiny_preset, 3)
        path = self.tmp_path_str("text_savedmodel")
        model.export(path)
        loaded = kt.text.load_saved_model(path)
        expected = model.predict(TEXTS[:5], verbose=0)
        self.assertAllClose(loaded.serve(tf.constant(TEXTS[:5])), expected, atol=1e-5)
        signature = loaded.signatures["serving_default"]
        (output,) = signature(texts=tf.constant(TEXTS[:5])).values()
        self.assertAllClose(output, expected, atol=1e-5)
        # A Keras 3 model reloads it as a layer (after tensorflow_text is imported).
        layer = keras.layers.TFSMLayer(path, call_endpoint="serve")
        self.assertAllClose(layer(tf.constant(TEXTS[:2])), expected[:2], atol=1e-5)

    @pytest.mark.large  # slow (15-25 s); the feature keeps default tests
    def test_export_saved_model_serves_raw_strings(self, tiny_preset):
        model = kt.build_text_classifier(tiny_preset, 3)
        path = self.tmp_path_str("text_export")
        kt.export.export_saved_model(model, path, class_names=["a", "b", "c"])
        loaded = kt.text.load_saved_model(path)
        expected = model.predict(TEXTS[:5], verbose=0)
        outputs = loaded.signatures["serving_default"](texts=tf.constant(TEXTS[:5]))
        self.assertAllClose(outputs["probabilities"], expected, atol=1e-5)
        self.assertAllEqual(outputs["class_names"].numpy().astype(str), np.array(["a", "b", "c"])[expected.argmax(-1)])
        self.assertAllClose(loaded(tf.constant(TEXTS[:5])), expected, atol=1e-5)  # TF Hub's __call__
        features = self.tmp_path_str("text_features")
        kt.export.export_saved_model(model, features, kind="feature_vector")
        served = kt.text.load_saved_model(features).signatures["serving_default"](texts=tf.constant(TEXTS[:5]))
        self.assertAllClose(served["features"], model.feature_extractor.predict(TEXTS[:5], verbose=0), atol=1e-5)

    @pytest.mark.parametrize("policy", ["mixed_float16", pytest.param("mixed_bfloat16", marks=pytest.mark.large)])
    def test_mixed_precision(self, tiny_preset, policy):
        keras.config.set_dtype_policy(policy)
        model = kt.build_text_classifier(tiny_preset, 2, freeze=False)
        assert model.backbone.compute_dtype == policy.split("_")[1]
        model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
        history = model.fit(TEXTS, LABELS, epochs=1, batch_size=8, verbose=0)
        assert np.isfinite(history.history["loss"][0])
        assert model.predict(TEXTS[:2], verbose=0).dtype == np.float32


class TestSequenceLengthPolicy(TestCase):
    LONG = " ".join(["good"] * 40)

    def test_truncate_warns_with_a_count(self, tiny_preset):
        model = kt.build_text_classifier(tiny_preset, 2)
        with pytest.warns(UserWarning, match=r"1 of 3 texts .* more than 10 tokens .* truncated to sequence_length=12"):
            out = model.predict([self.LONG, TEXTS[0], TEXTS[1]], verbose=0)
        assert out.shape == (3, 2)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model.predict(TEXTS[:3], verbose=0)  # no warning when nothing is cut

    def test_error_refuses_before_training(self, tiny_preset):
        model = kt.build_text_classifier(tiny_preset, 2, on_too_long="error", freeze=False)
        model.compile("adam", "sparse_categorical_crossentropy")
        before = variable_values(model.trainable_variables)
        with pytest.raises(ValueError, match=r"argument `x`.*1 of 2 texts.*on_too_long='error'"):
            model.fit([self.LONG, TEXTS[0]], [0, 1], verbose=0)
        assert changed(before, variable_values(model.trainable_variables)) == []

    @pytest.mark.large
    def test_error_in_a_dataset_pipeline(self, tiny_preset):
        model = kt.build_text_classifier(tiny_preset, 2, on_too_long="error")
        model.compile("adam", "sparse_categorical_crossentropy")
        dataset = tf.data.Dataset.from_tensor_slices(([self.LONG, TEXTS[0]], [0, 1])).batch(2)
        with pytest.raises(tf.errors.InvalidArgumentError, match="A text has more than 10 tokens"):
            model.fit(dataset, verbose=0)
        model.fit([TEXTS[0], TEXTS[1]], [0, 1], verbose=0)  # short texts pass

    def test_sequence_length_option(self, tiny_preset):
        model = kt.build_text_classifier(tiny_preset, 2, sequence_length=MAX_SEQUENCE_LENGTH)
        assert model.preprocessor(tf.constant(["good"]))["token_ids"].shape == (1, MAX_SEQUENCE_LENGTH)
        with pytest.raises(ValueError, match=r"`sequence_length`.*at most 16.*max_sequence_length.*Received: sequence_length=17"):
            kt.build_text_classifier(tiny_preset, 2, sequence_length=MAX_SEQUENCE_LENGTH + 1)


class TestBadInput:
    def test_num_classes(self, tiny_preset):
        with pytest.raises(ValueError, match=r"`num_classes`.*>= 1.*Received: num_classes=0"):
            kt.build_text_classifier(tiny_preset, 0)
        with pytest.raises(TypeError, match=r"`num_classes`.*integer.*Received: num_classes='2'"):
            kt.build_text_classifier(tiny_preset, "2")

    def test_preset_not_found_says_what_was_looked_for(self, tmp_path):
        missing = str(tmp_path / "no_such_preset")
        with pytest.raises(kt.text.PresetNotFoundError, match=r"looked for a local preset directory .*no_such_preset.*does not exist"):
            kt.build_text_classifier(missing, 2)
        with pytest.raises(ValueError, match=r"neither a keras-hub text preset name nor an existing directory \(looked for both\).*Did you mean 'bert_tiny_en_uncased'"):
            kt.build_text_classifier("bert_tiny_en_uncase", 2)
        empty = tmp_path / "empty"
        empty.mkdir()
        with pytest.raises(ValueError, match=r"local preset directory .*empty.*no config.json"):
            kt.build_text_classifier(str(empty), 2)
        with pytest.raises(ValueError, match=r"unknown scheme 'ftp'"):
            kt.build_text_classifier("ftp://example/model", 2)
        with pytest.raises(TypeError, match=r"`preset`"):
            kt.build_text_classifier(3, 2)

    def test_a_name_is_a_download(self):
        # Offline machines cannot download; the error says it tried a download of a name.
        from keras_transfer.text import presets

        assert presets.locate("bert_tiny_en_uncased") == ("name", "bert_tiny_en_uncased")
        assert presets.locate("hf://google-bert/bert-base-uncased")[0] == "download"
        assert "downloaded from Kaggle" in presets.describe("name", "bert_tiny_en_uncased")

    def test_other_arguments(self, tiny_preset):
        with pytest.raises(ValueError, match=r"`pooling`.*Received: pooling='max'"):
            kt.build_text_classifier(tiny_preset, 2, pooling="max")
        with pytest.raises(ValueError, match=r"`on_too_long`"):
            kt.build_text_classifier(tiny_preset, 2, on_too_long="drop")
        with pytest.raises(ValueError, match=r"`freeze`.*True with `lora_rank`"):
            kt.build_text_classifier(tiny_preset, 2, lora_rank=2, freeze=False)
        with pytest.raises(ValueError, match=r"Unknown group 'transformer_layer_9' in argument `freeze`"):
            kt.build_text_classifier(tiny_preset, 2, freeze=["transformer_layer_9"])
        with pytest.raises(ValueError, match=r"`weights`"):
            kt.build_text_classifier(tiny_preset, 2, weights="imagenet")

    def test_bad_texts(self, tiny_preset):
        model = kt.build_text_classifier(tiny_preset, 2)
        with pytest.raises(ValueError, match=r"`x`.*batch of strings.*Wrap a single text in a list"):
            model.predict("good film", verbose=0)
        with pytest.raises(TypeError, match=r"`x`.*strings only"):
            model.predict(np.array(["good", 3], dtype=object), verbose=0)
        model.compile("adam", "sparse_categorical_crossentropy")
        with pytest.raises(ValueError, match=r"`y`.*as many entries as texts"):
            model.fit(TEXTS, LABELS[:3], verbose=0)
