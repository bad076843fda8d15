import os

import numpy as np
import pytest
import tensorflow as tf

import keras
import keras_transfer as kt
from tests.test_case import TestCase, tiny_classifier

X = np.random.default_rng(0).uniform(0, 255, (3, 32, 32, 3)).astype("float32")


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    # A backbone with BatchNorm that traces in a second (ResNet50 takes ~30 s
    # per export on 2 cores: see the large test below).
    return tiny_classifier(3, input_shape=(32, 32, 3), hidden_units=(8,))


class TestExportSavedModel(TestCase):
    def test_four_loaders_agree_with_the_keras_model(self, model, tmp_path):
        import tensorflow_hub as hub
        import tf_keras

        path = kt.export.export_saved_model(model, tmp_path / "classifier", class_names=["a", "b", "c"])
        expected = model.predict(X, verbose=0)

        serving = tf.saved_model.load(path).signatures["serving_default"]
        outputs = serving(images=tf.constant(X))
        self.assertAllClose(outputs["probabilities"], expected, atol=1e-5)
        self.assertAllEqual(outputs["class_ids"], expected.argmax(-1))
        assert [s.decode() for s in outputs["class_names"].numpy()] == [["a", "b", "c"][i] for i in expected.argmax(-1)]

        self.assertAllClose(hub.load(path)(X), expected, atol=1e-5)

        legacy = tf_keras.Sequential([tf_keras.layers.InputLayer(input_shape=(32, 32, 3)), hub.KerasLayer(path)])
        self.assertAllClose(legacy.predict(X, verbose=0), expected, atol=1e-5)

        self.assertAllClose(keras.layers.TFSMLayer(path)(X), expected, atol=1e-5)
        as_dict = keras.layers.TFSMLayer(path, call_endpoint="serving_default")(X)
        self.assertAllClose(as_dict["probabilities"], expected, atol=1e-5)

    def test_peft_models_export_merged_and_agree_through_the_four_loaders(self, model, tmp_path):
        import tensorflow_hub as hub
        import tf_keras

        adapted = kt.peft.dora(model, rank=2)
        rng = np.random.default_rng(0)
        for layer in adapted.backbone.layers:  # trained-looking factors and magnitudes: merging matters
            for variable in getattr(layer, "peft_variables", []):
                variable.assign(variable.numpy() + rng.normal(0, 0.3, variable.shape).astype("float32"))
        expected = adapted.predict(X, verbose=0)
        assert np.abs(expected - model.predict(X, verbose=0)).max() > 1e-3
        path = kt.export.export_saved_model(adapted, tmp_path / "merged")
        loaded = tf.saved_model.load(path)
        assert not [v.name for v in loaded.variables if any(k in v.name for k in ("lora_kernel", "magnitude"))]
        self.assertAllClose(loaded.signatures["serving_default"](images=tf.constant(X))["probabilities"], expected, atol=1e-5)
        self.assertAllClose(hub.load(path)(X), expected, atol=1e-5)
        legacy = tf_keras.Sequential([tf_keras.layers.InputLayer(input_shape=(32, 32, 3)), hub.KerasLayer(path)])
        self.assertAllClose(legacy.predict(X, verbose=0), expected, atol=1e-5)
        self.assertAllClose(keras.layers.TFSMLayer(path)(X), expected, atol=1e-5)
        kept = kt.export.export_saved_model(adapted, tmp_path / "unmerged", merge=False)
        assert len(tf.saved_model.load(kept).variables) == len(loaded.variables) + 3 * 3  # A, B, m per conv
        with pytest.raises(TypeError, match="`merge`"):
            kt.export.export_saved_model(adapted, tmp_path / "bad", merge="yes")

    def test_feature_vector_is_a_fine_tunable_hub_module(self, model, tmp_path):
        import tensorflow_hub as hub
        import tf_keras

        path = kt.export.export_saved_model(model, tmp_path / "features", kind="feature_vector")
        expected = model.feature_extractor.predict(X, verbose=0)
        outputs = tf.saved_model.load(path).signatures["serving_default"](images=tf.constant(X))
        self.assertAllClose(outputs["features"], expected, atol=1e-5)
        layer = hub.KerasLayer(path, trainable=True)
        head = tf_keras.Sequential([tf_keras.layers.InputLayer(input_shape=(32, 32, 3)), layer, tf_keras.layers.Dense(2)])
        self.assertAllClose(layer(X), expected, atol=1e-5)
        # Reusable SavedModel convention: its weights are trainable in a tf_keras model.
        assert len(layer.trainable_weights) == 12 and not layer.losses  # 3 convs + 3 BN, 2 each
        head.compile("sgd", "mse")
        before = layer.trainable_weights[0].numpy().copy()
        head.fit(X, np.zeros((3, 2)), verbose=0)
        assert not np.array_equal(layer.trainable_weights[0].numpy(), before)

    def test_logits_and_binary_models(self, tmp_path):
        logits = kt.build_classifier("vgg16", 3, weights=None, input_shape=(32, 32, 3), activation=None)
        path = kt.export.export_saved_model(logits, tmp_path / "logits")
        out = tf.saved_model.load(path).signatures["serving_default"](images=tf.constant(X))
        self.assertAllClose(out["logits"], logits.predict(X, verbose=0), atol=1e-5)
        self.assertAllClose(tf.reduce_sum(out["probabilities"], -1), np.ones(3), atol=1e-5)
        binary = kt.build_classifier("vgg16", 1, weights=None, input_shape=(32, 32, 3))
        path = kt.export.export_saved_model(binary, tmp_path / "binary", class_names=["no", "yes"])
        out = tf.saved_model.load(path).signatures["serving_default"](images=tf.constant(X))
        expected = binary.predict(X, verbose=0)[:, 0]
        self.assertAllEqual(out["class_ids"], (expected > 0.5).astype(int))

    def test_never_overwrites_without_asking(self, model, tmp_path):
        target = tmp_path / "export"
        target.mkdir()
        (target / "keep.txt").write_text("user data")
        with pytest.raises(ValueError, match=r"path.*overwrite=True"):
            kt.export.export_saved_model(model, target)
        assert os.listdir(target) == ["keep.txt"]
        kt.export.export_saved_model(model, target, overwrite=True)
        assert "saved_model.pb" in os.listdir(target) and "keep.txt" not in os.listdir(target)

    def test_an_interrupted_export_leaves_the_previous_one_loadable(self, model, tmp_path, monkeypatch):
        target = tmp_path / "export"
        kt.export.export_saved_model(model, target, class_names=["a", "b", "c"])
        real_save = tf.saved_model.save

        def crash_midway(obj, export_dir, **kwargs):
            real_save(obj, export_dir, **kwargs)  # partially written...
            raise KeyboardInterrupt("killed during export")

        monkeypatch.setattr(tf.saved_model, "save", crash_midway)
        with pytest.raises(KeyboardInterrupt):
            kt.export.export_saved_model(model, target, overwrite=True)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["export"], "no temporary left behind"
        serving = tf.saved_model.load(str(target)).signatures["serving_default"]
        assert "class_names" in serving(images=tf.constant(X))

    def test_bad_input(self, model, tmp_path):
        with pytest.raises(ValueError, match="class_names.*3 names"):
            kt.export.export_saved_model(model, tmp_path / "a", class_names=["x"])
        with pytest.raises(ValueError, match="kind"):
            kt.export.export_saved_model(model, tmp_path / "b", kind="features")
        with pytest.raises(TypeError, match="model"):
            kt.export.export_saved_model("model", tmp_path / "c")
        plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="d")])
        with pytest.raises(ValueError, match="feature_layer"):
            kt.export.export_saved_model(plain, tmp_path / "d", kind="feature_vector")
        assert not any(tmp_path.iterdir()), "nothing written by refused calls"


@pytest.mark.large
def test_registered_backbone_export_round_trips(tmp_path):
    import tensorflow_hub as hub

    model = kt.build_classifier("resnet50", 3, weights=None, input_shape=(32, 32, 3))
    path = kt.export.export_saved_model(model, tmp_path / "resnet50")
    expected = model.predict(X, verbose=0)
    np.testing.assert_allclose(hub.load(path)(X).numpy(), expected, atol=1e-5)
    out = tf.saved_model.load(path).signatures["serving_default"](images=tf.constant(X))
    np.testing.assert_allclose(out["probabilities"].numpy(), expected, atol=1e-5)


class TestSaveModel(TestCase):
    def test_safe_keras_save(self, tmp_path):
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        path = tmp_path / "m.keras"
        kt.export.save_model(model, path)
        before = path.read_bytes()
        with pytest.raises(ValueError, match="overwrite=True"):
            kt.export.save_model(model, path)
        assert path.read_bytes() == before
        kt.export.save_model(model, path, overwrite=True)
        self.assertAllClose(keras.models.load_model(path).predict(np.ones((1, 2)), verbose=0), model.predict(np.ones((1, 2)), verbose=0))
        kt.export.save_model(model, tmp_path / "w.weights.h5")
        with pytest.raises(ValueError, match=r"\.keras"):
            kt.export.save_model(model, tmp_path / "m.h5")
