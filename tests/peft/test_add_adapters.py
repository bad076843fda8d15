import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_transfer as kt
from tests.test_case import TestCase, tiny_backbone, tiny_classifier, tiny_data
from tests.text.tiny_preset import sentiment_texts

TEXTS, LABELS = sentiment_texts(8)
X, Y = tiny_data(8)


def _values(model):
    return {v.path: np.array(v) for v in model.weights}


def _adapter_paths(model):
    return {v.path for layer in model._flatten_layers() if isinstance(layer, kt.layers.BottleneckAdapter)
            for v in layer.weights}


def _moved(model, before):
    after = {v.path: np.array(v) for v in model.weights}
    return {path for path, value in before.items() if not np.array_equal(value, after[path])}


class TestTextAdapters(TestCase):
    def test_starts_equal_then_only_adapters_norms_and_head_move(self, tiny_preset):
        base = kt.build_text_classifier(tiny_preset, 2)
        model = kt.peft.add_adapters(base)
        assert isinstance(model, kt.models.TextClassifier) and model is not base
        tokens = base.preprocessor(tf.constant(TEXTS))
        self.assertAllClose(model(tokens), base(tokens), atol=1e-6)
        trainable = {v.path for v in model.trainable_weights}
        parts = {path.split("/")[1] for path in trainable if path.startswith("transformer_layer_")}
        assert parts == {"attention_adapter", "feedforward_adapter", "self_attention_layer_norm", "feedforward_layer_norm"}
        assert {p for p in trainable if not p.startswith("transformer_layer_")} == {"predictions/kernel", "predictions/bias"}
        model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
        before = _values(model)
        model.fit(TEXTS, LABELS, epochs=1, batch_size=4, verbose=0)
        # Base weights are bitwise unchanged; after two steps every adapter weight has moved.
        assert _moved(model, before) == trainable
        # 8 hidden units / 16 -> 1 bottleneck unit: two adapters of 8+1+8+8 weights per layer.
        text = kt.describe_groups(model, print_fn=None)
        row = next(line for line in text.splitlines() if line.startswith("transformer_layer_0"))
        assert row.split()[1:4] == ["1", "650", "82"] and "partial" in row  # 2*25 adapter + 2*16 LayerNorm

    @pytest.mark.large
    def test_jit_save_load_and_export_keep_the_adapters(self, tiny_preset):
        model = kt.peft.add_adapters(kt.build_text_classifier(tiny_preset, 2), reduction_factor=4, where="feedforward")
        model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", jit_compile=True)
        before = _values(model)
        model.fit(TEXTS, LABELS, epochs=1, batch_size=4, verbose=0)
        assert _moved(model, before) == {v.path for v in model.trainable_weights}
        for layer in model.backbone.layers:
            if isinstance(layer, kt.layers.AdapterTransformerEncoder):
                assert layer.attention_adapter is None and layer.feedforward_adapter.units == 2
                layer.feedforward_adapter.up.kernel.assign(np.full((2, 8), 0.5, "float32"))  # a trained adapter
        revived = self.run_model_saving_test(model, TEXTS, atol=1e-6)
        assert {v.path for v in revived.trainable_weights} == {v.path for v in model.trainable_weights}
        path = self.tmp_path_str("adapted_text")
        kt.export.export_saved_model(model, path)
        served = kt.text.load_saved_model(path).signatures["serving_default"](texts=tf.constant(TEXTS))
        self.assertAllClose(served["probabilities"], model.predict(TEXTS, verbose=0), atol=1e-5)

    def test_a_text_backbone_and_bad_input(self, tiny_preset):
        base = kt.build_text_classifier(tiny_preset, 2)
        backbone = kt.peft.add_adapters(base.backbone)
        assert isinstance(backbone, keras.Model) and not backbone.trainable_weights == []
        assert all("adapter" in v.path or "layer_norm" in v.path for v in backbone.trainable_weights)
        with pytest.raises(ValueError, match=r"`reduction_factor`.*> 0.*Received: reduction_factor=0"):
            kt.peft.add_adapters(base, reduction_factor=0)
        with pytest.raises(ValueError, match=r"`where`.*Received: where='ffn'"):
            kt.peft.add_adapters(base, where="ffn")
        with pytest.raises(ValueError, match=r"`model`.*without adapters"):
            kt.peft.add_adapters(kt.peft.add_adapters(base))
        lora = kt.build_text_classifier(tiny_preset, 2, lora_rank=2)
        with pytest.raises(ValueError, match=r"`model`.*without LoRA"):
            kt.peft.add_adapters(lora)


class TestImageAdapters(TestCase):
    def test_starts_equal_then_only_adapters_and_head_move_under_jit(self):
        base = tiny_classifier()
        model = kt.peft.add_adapters(base, reduction_factor=2)
        assert isinstance(model, kt.models.TransferClassifier)
        self.assertAllClose(model.predict(X, verbose=0), base.predict(X, verbose=0), atol=1e-6)
        adapters = [layer for layer in model.backbone.layers if isinstance(layer, kt.layers.BottleneckAdapter)]
        # One adapter after each group's last layer, a bottleneck of half its channels.
        assert [(a.name, a.units) for a in adapters] == [
            ("block1_relu_adapter", 2), ("block2_relu_adapter", 3), ("block3_relu_adapter", 4)]
        trainable = {v.path for v in model.trainable_weights}
        assert trainable == _adapter_paths(model) | {"predictions/kernel", "predictions/bias"}
        model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", jit_compile=True)
        before = _values(model)
        model.fit(X, Y, epochs=1, batch_size=4, shuffle=False, verbose=0)
        assert _moved(model, before) == trainable  # BatchNorm statistics included: frozen, inference mode
        rows = {line.split()[0]: line.split() for line in kt.describe_groups(model, print_fn=None).splitlines()[2:]}
        assert rows["block1_conv"][1:4] == ["4", "150", "22"]  # conv 112 + BN 16 + adapter (4*2+2) + (2*4+4)

    def test_save_load_and_export(self, tmp_path):
        model = kt.peft.add_adapters(tiny_classifier(input_shape=(8, 8, 3)))
        for adapter in [l for l in model.backbone.layers if isinstance(l, kt.layers.BottleneckAdapter)]:
            adapter.up.kernel.assign(np.full(adapter.up.kernel.shape, 0.2, "float32"))
        revived = self.run_model_saving_test(model, X, atol=1e-6)
        assert {v.path for v in revived.trainable_weights} == {v.path for v in model.trainable_weights}
        path = kt.export.export_saved_model(model, tmp_path / "adapted")
        served = tf.saved_model.load(path).signatures["serving_default"](images=tf.constant(X))
        self.assertAllClose(served["probabilities"], model.predict(X, verbose=0), atol=1e-5)

    def test_keras_applications_backbones(self):
        x = np.random.default_rng(1).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
        vgg = kt.build_classifier("vgg16", 3, weights=None, input_shape=(32, 32, 3))
        adapted = kt.peft.add_adapters(vgg)
        self.assertAllClose(adapted.predict(x, verbose=0), vgg.predict(x, verbose=0), atol=1e-6)
        assert [g[-1].name for n, g in adapted.layer_groups.items() if n != "head"] == [
            f"block{i}_pool_adapter" for i in range(1, 6)]
        assert [l.units for l in adapted.backbone.layers if isinstance(l, kt.layers.BottleneckAdapter)] == [
            4, 8, 16, 32, 32]
        # A plain keras.applications model: a backbone, every layer frozen but the adapters.
        mobilenet = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(32, 32, 3))
        plain = kt.peft.add_adapters(mobilenet, where=["block_2_add", "block_5_add", "out_relu"])
        self.assertAllClose(plain.predict(x, verbose=0), mobilenet.predict(x, verbose=0), atol=1e-6)
        assert {v.path.split("/")[0] for v in plain.trainable_weights} == {
            "block_2_add_adapter", "block_5_add_adapter", "out_relu_adapter"}

    def test_layer_norms_of_an_image_backbone_train_on_request(self):
        inputs = keras.Input((8, 8, 3))
        x = keras.layers.Conv2D(4, 3, name="stem_conv")(inputs)
        x = keras.layers.LayerNormalization(name="stem_norm")(x)
        backbone = keras.Model(inputs, keras.layers.Conv2D(6, 3, name="stage_conv")(x))
        for train_layer_norm, expected in ((True, {"stem_norm", "stage_conv_adapter"}), (False, {"stage_conv_adapter"})):
            adapted = kt.peft.add_adapters(backbone, where=["stage_conv"], train_layer_norm=train_layer_norm)
            assert {v.path.split("/")[0] for v in adapted.trainable_weights} == expected

    def test_bad_input_is_named(self):
        model = tiny_classifier()
        with pytest.raises(ValueError, match=r"`where`.*No layer 'block1_cnv'.*Did you mean 'block1_conv'"):
            kt.peft.add_adapters(model, where=["block1_cnv"])
        with pytest.raises(TypeError, match=r"`where`.*Received: where='attention'"):
            kt.peft.add_adapters(model, where="attention")
        with pytest.raises(TypeError, match=r"`reduction_factor`.*Received: reduction_factor='16'"):
            kt.peft.add_adapters(model, reduction_factor="16")
        dense = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="dense")])
        with pytest.raises(ValueError, match=r"`model`.*feature maps"):
            kt.peft.add_adapters(dense)

        class Subclassed(keras.Model):
            def call(self, x):
                return x

        with pytest.raises(TypeError, match=r"`model`.*functional convolutional keras.Model"):
            kt.peft.add_adapters(Subclassed())
        assert isinstance(kt.peft.add_adapters(tiny_backbone()), keras.Model)


@pytest.mark.large
@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_text_adapters_train_under_mixed_precision(tiny_preset, policy):
    keras.config.set_dtype_policy(policy)
    try:
        model = kt.peft.add_adapters(kt.build_text_classifier(tiny_preset, 2))
        encoder = model.backbone.get_layer("transformer_layer_0")
        assert encoder.feedforward_adapter.compute_dtype == policy.split("_")[1]
        assert encoder.feedforward_adapter.up.kernel.dtype == "float32"
        model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
        history = model.fit(TEXTS, LABELS, epochs=2, batch_size=4, verbose=0)
        assert np.isfinite(history.history["loss"]).all()
        assert model.predict(TEXTS, verbose=0).dtype == np.float32
    finally:
        keras.config.set_dtype_policy("float32")
