import os
import subprocess
import sys

import numpy as np
import pytest

import keras
import keras_transfer as kt
from tests.test_case import TestCase

RNG = np.random.default_rng(0)


def images(n=4, size=32, channels=3):
    return RNG.uniform(0, 255, (n, size, size, channels)).astype("float32")


class TestBuildClassifier(TestCase):
    def test_seed_002_recipe_in_one_call(self):
        model = kt.build_classifier("vgg16", 2, weights=None, input_shape=(32, 32, 3))
        assert isinstance(model, keras.Model) and not model.compiled
        assert model.output_shape == (None, 2)
        assert model.get_layer("predictions").activation is keras.activations.softmax
        assert list(model.layer_groups) == ["block1", "block2", "block3", "block4", "block5", "head"]
        assert [v.path for v in model.trainable_variables] == ["predictions/kernel", "predictions/bias"]

    def test_head_options(self):
        model = kt.build_classifier(
            "vgg16", 1, weights=None, input_shape=(32, 32, 3), pooling="max",
            hidden_units=(16, 8), dropout=0.25,
        )
        assert model.output_shape == (None, 1)
        assert model.get_layer("predictions").activation is keras.activations.sigmoid
        assert isinstance(model.get_layer("head_pool"), keras.layers.GlobalMaxPooling2D)
        assert [l.name for l in model.layer_groups["head"]] == ["head_dense_0", "head_dense_1", "predictions"]
        logits = kt.build_classifier("vgg16", 3, weights=None, input_shape=(32, 32, 3), activation=None, pooling="flatten")
        assert logits.get_layer("predictions").activation is keras.activations.linear
        out = logits.predict(images(2), verbose=0)
        assert not np.allclose(out.sum(axis=1), 1.0)

    def test_grayscale_and_small_inputs_are_adapted_when_asked(self):
        with pytest.raises(ValueError, match=r"input_shape.*adapt_input=True"):
            kt.build_classifier("vgg16", 10, weights=None, input_shape=(28, 28, 1))
        model = kt.build_classifier("vgg16", 10, weights=None, input_shape=(28, 28, 1), adapt_input=True)
        assert model.input_shape == (None, 28, 28, 1)
        assert model.backbone.input_shape == (None, 32, 32, 3)
        x = images(2, 28, 1)
        tiled = np.repeat(x, 3, axis=-1)
        reference = kt.build_classifier("vgg16", 10, weights=model.backbone, input_shape=(28, 28, 3), adapt_input=True)
        reference.get_layer("predictions").set_weights(model.get_layer("predictions").get_weights())
        self.assertAllClose(model.predict(x, verbose=0), reference.predict(tiled, verbose=0), atol=1e-5)

    def test_weights_file_saved_by_the_test_loads_by_path(self):
        source = kt.backbones.get("vgg16").build((32, 32, 3))
        path = self.tmp_path_str("vgg16.weights.h5")
        source.save_weights(path)
        model = kt.build_classifier("vgg16", 3, weights=path, input_shape=(32, 32, 3))
        for layer in [l for l in source.layers if l.weights]:
            for saved, loaded in zip(layer.get_weights(), model.backbone.get_layer(layer.name).get_weights()):
                self.assertAllEqual(loaded, saved)
        fresh = kt.build_classifier("vgg16", 3, weights=path, input_shape=(32, 32, 3))
        assert not np.array_equal(
            model.get_layer("predictions").get_weights()[0], fresh.get_layer("predictions").get_weights()[0]
        ), "the head is new (freshly initialised) each time"

    def test_keras_archive_and_model_as_weights(self):
        source = kt.backbones.get("vgg16").build((32, 32, 3))
        path = self.tmp_path_str("vgg16.keras")
        source.save(path)
        from_archive = kt.build_classifier("vgg16", 3, weights=path, input_shape=(32, 32, 3))
        from_model = kt.build_classifier("vgg16", 3, weights=source, input_shape=(32, 32, 3))
        for model in (from_archive, from_model):
            self.assertAllEqual(
                model.backbone.get_layer("block3_conv2").get_weights()[0],
                source.get_layer("block3_conv2").get_weights()[0],
            )

    def test_frozen_backbone_is_bit_identical_after_fit(self):
        model = kt.build_classifier("resnet50", 3, weights=None, input_shape=(32, 32, 3))
        before = [v.numpy().copy() for v in model.backbone.weights]
        bn = model.backbone.get_layer("conv2_block1_1_bn")
        moving = [bn.moving_mean.numpy().copy(), bn.moving_variance.numpy().copy()]
        head_before = model.get_layer("predictions").get_weights()[0].copy()
        model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", jit_compile=True)
        model.fit(images(8), RNG.integers(0, 3, 8), epochs=2, batch_size=4, verbose=0)
        for b, v in zip(before, model.backbone.weights):
            self.assertAllEqual(v.numpy(), b, msg=v.path)
        self.assertAllEqual(bn.moving_mean.numpy(), moving[0])
        self.assertAllEqual(bn.moving_variance.numpy(), moving[1])
        assert not np.array_equal(model.get_layer("predictions").get_weights()[0], head_before)

    @pytest.mark.large  # a real ResNet50 (random weights), half a minute
    def test_unfrozen_backbone_keeps_batchnorm_in_inference_mode_by_default(self):
        model = kt.build_classifier("resnet50", 3, weights=None, input_shape=(32, 32, 3), freeze=False)
        bn = model.backbone.get_layer("conv2_block1_1_bn")
        conv = model.backbone.get_layer("conv2_block1_1_conv")
        assert conv.trainable and not bn.trainable
        moving = bn.moving_mean.numpy().copy()
        kernel = conv.kernel.numpy().copy()
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(images(8), RNG.integers(0, 3, 8), epochs=1, batch_size=4, verbose=0)
        self.assertAllEqual(bn.moving_mean.numpy(), moving)
        assert not np.array_equal(conv.kernel.numpy(), kernel)

        trained_bn = kt.build_classifier("resnet50", 3, weights=None, input_shape=(32, 32, 3), freeze=False, train_batchnorm=True)
        bn = trained_bn.backbone.get_layer("conv2_block1_1_bn")
        moving = bn.moving_mean.numpy().copy()
        trained_bn.compile("adam", "sparse_categorical_crossentropy")
        trained_bn.fit(images(8), RNG.integers(0, 3, 8), epochs=1, batch_size=4, verbose=0)
        assert not np.array_equal(bn.moving_mean.numpy(), moving)

    def test_freeze_a_list_of_groups(self):
        model = kt.build_classifier("vgg16", 3, weights=None, input_shape=(32, 32, 3), freeze=["block1", "block2"])
        states = {g: all(l.trainable for l in ls if l.weights) for g, ls in model.layer_groups.items()}
        assert states == {"block1": False, "block2": False, "block3": True, "block4": True, "block5": True, "head": True}
        with pytest.raises(ValueError, match=r"Unknown group 'block9'.*freeze.*Available groups: block1"):
            kt.build_classifier("vgg16", 3, weights=None, input_shape=(32, 32, 3), freeze=["block9"])

    def test_save_and_load_round_trip_without_custom_objects(self):
        model = kt.build_classifier("efficientnet_b0", 4, weights=None, input_shape=(32, 32, 3), hidden_units=(8,), dropout=0.1)
        revived = self.run_model_saving_test(model, images(2), atol=1e-5)
        assert isinstance(revived, kt.models.TransferClassifier)
        assert list(revived.layer_groups) == list(model.layer_groups)
        assert [v.path for v in revived.trainable_variables] == [v.path for v in model.trainable_variables]

    def test_describe_groups_shows_what_trains(self):
        model = kt.build_classifier("resnet50", 3, weights=None, input_shape=(32, 32, 3), freeze=["stem", "conv2"])
        text = kt.describe_groups(model, print_fn=None)
        rows = {line.split()[0]: line for line in text.splitlines()[2:]}
        assert "frozen" in rows["stem"] and "frozen" in rows["conv2"]
        assert "trainable*" in rows["conv3"], "BatchNorm stays frozen: marked"
        assert "trainable" in rows["head"]
        assert "BatchNorm" in text

    def test_any_keras_model_is_a_backbone(self):
        inputs = keras.Input((16, 16, 3))
        x = keras.layers.Conv2D(4, 3, name="c1")(inputs)
        x = keras.layers.BatchNormalization(name="bn1")(x)
        x = keras.layers.Conv2D(8, 3, name="c2")(x)
        backbone = keras.Model(inputs, x, name="mine")
        model = kt.build_classifier(backbone, 5, input_shape=(16, 16, 3), preprocessing="unit")
        assert list(model.layer_groups) == ["c1", "c2", "head"]
        assert model.output_shape == (None, 5)
        with pytest.raises(ValueError, match=r"input_shape.*\(16, 16\)"):
            kt.build_classifier(backbone, 5, input_shape=(20, 20, 3))
        self.run_model_saving_test(model, images(2, 16))

    def test_keras_hub_backbone_from_a_local_preset(self):
        import keras_hub

        backbone = keras_hub.models.ResNetBackbone(
            input_conv_filters=[64], input_conv_kernel_sizes=[3], stackwise_num_filters=[64, 16],
            stackwise_num_blocks=[1, 1], stackwise_num_strides=[1, 2], block_type="basic_block",
        )
        converter = keras_hub.layers.ResNetImageConverter(image_size=(32, 32), scale=1 / 255.0)
        task = keras_hub.models.ResNetImageClassifier(
            backbone=backbone, num_classes=2,
            preprocessor=keras_hub.models.ResNetImageClassifierPreprocessor(image_converter=converter),
        )
        preset = self.tmp_path_str("tiny_resnet")
        task.save_to_preset(preset)
        model = kt.build_classifier(preset, 3, input_shape=(40, 40, 3))
        assert list(model.layer_groups) == ["stem", "stack0", "stack1", "head"]
        x = images(2, 40)
        out = model.predict(x, verbose=0)
        assert out.shape == (2, 3)
        expected_features = backbone(converter(x))
        self.assertAllClose(model.feature_extractor.predict(x, verbose=0), keras.ops.mean(expected_features, axis=(1, 2)), atol=1e-5)
        self.run_model_saving_test(model, x, atol=1e-5)


class TestBadInput:
    def test_num_classes(self):
        with pytest.raises(ValueError, match=r"num_classes.*>= 1.*Received: num_classes=0"):
            kt.build_classifier("vgg16", 0, weights=None, input_shape=(32, 32, 3))
        with pytest.raises(TypeError, match=r"num_classes.*integer.*Received: num_classes=2.5"):
            kt.build_classifier("vgg16", 2.5, weights=None, input_shape=(32, 32, 3))

    def test_unknown_backbone(self):
        with pytest.raises(ValueError, match=r"Unknown backbone 'resnet5'.*Did you mean.*resnet50"):
            kt.build_classifier("resnet5", 2, weights=None)
        with pytest.raises(TypeError, match="backbone"):
            kt.build_classifier(3, 2)

    def test_input_shape_below_minimum(self):
        with pytest.raises(ValueError, match=r"input_shape.*>= 75.*inception_v3.*Received: input_shape=\(32, 32, 3\)"):
            kt.build_classifier("inception_v3", 2, weights=None, input_shape=(32, 32, 3))
        with pytest.raises(ValueError, match=r"input_shape"):
            kt.build_classifier("vgg16", 2, weights=None, input_shape=(32, 32))

    def test_weights_path_missing(self, tmp_path):
        missing = str(tmp_path / "nope.weights.h5")
        with pytest.raises(ValueError, match=r"weights.*No such file"):
            kt.build_classifier("vgg16", 2, weights=missing, input_shape=(32, 32, 3))
        with pytest.raises(ValueError, match=r"weights.*\.weights\.h5"):
            kt.build_classifier("vgg16", 2, weights=str(tmp_path / "w.txt"), input_shape=(32, 32, 3))

    def test_weights_incompatible_names_the_first_layer(self, tmp_path):
        path = str(tmp_path / "vgg19.weights.h5")
        kt.backbones.get("vgg19").build((32, 32, 3)).save_weights(path)
        with pytest.raises(ValueError, match=r"weights.*does not fit backbone 'vgg16'.*layer 'block4_conv1'"):
            kt.build_classifier("vgg16", 2, weights=path, input_shape=(32, 32, 3))

    def test_head_arguments(self):
        with pytest.raises(ValueError, match="pooling"):
            kt.build_classifier("vgg16", 2, weights=None, input_shape=(32, 32, 3), pooling="mean")
        with pytest.raises(ValueError, match="dropout"):
            kt.build_classifier("vgg16", 2, weights=None, input_shape=(32, 32, 3), dropout=1.0)
        with pytest.raises(ValueError, match="activation"):
            kt.build_classifier("vgg16", 2, weights=None, input_shape=(32, 32, 3), activation="nope")
        with pytest.raises(TypeError, match="freeze"):
            kt.build_classifier("vgg16", 2, weights=None, input_shape=(32, 32, 3), freeze="yes")


def test_other_backends_get_a_clear_error(monkeypatch):
    from keras_transfer import _backend

    monkeypatch.setenv("KERAS_BACKEND", "jax")
    monkeypatch.setattr(keras.config, "backend", lambda: "jax")
    with pytest.raises(ImportError, match=r"needs the TensorFlow backend.*'jax'.*KERAS_BACKEND=tensorflow"):
        _backend.check_backend()


def test_import_under_another_backend_fails_with_that_message():
    # Only backends whose packages are installed can be imported at all.
    env = dict(os.environ, KERAS_BACKEND="jax")
    try:
        import jax  # noqa: F401
    except ImportError:
        pytest.skip("jax is not installed, so Keras itself cannot start on another backend here")
    result = subprocess.run([sys.executable, "-c", "import keras_transfer"], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0 and "needs the TensorFlow backend" in result.stderr


def test_describe_groups_prints_once_and_returns_nothing_when_it_prints(capsys):
    model = kt.build_classifier("vgg16", 3, weights=None, input_shape=(32, 32, 3))
    assert kt.describe_groups(model) is None  # the REPL echoes nothing: the table shows once
    printed = capsys.readouterr().out
    assert printed.count("Layer groups of") == 1 and "block5" in printed
    lines = []
    assert kt.describe_groups(model, print_fn=lines.append) is None
    assert lines == [kt.describe_groups(model, print_fn=None)]
