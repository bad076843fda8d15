import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_transfer as kt
from keras_transfer.feature_extraction import feature_cache
from tests.test_case import TestCase

RNG = np.random.default_rng(0)
X = RNG.uniform(0, 255, (40, 32, 32, 3)).astype("float32")
Y = np.arange(40) % 3
X_VAL, Y_VAL = X[:12] * 0.5, Y[:12]


def vgg(freeze=True, **kwargs):
    keras.utils.set_random_seed(7)
    model = kt.build_classifier("vgg16", 3, weights=None, input_shape=(32, 32, 3), freeze=freeze, **kwargs)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"], **_compile_kwargs())
    return model


def _compile_kwargs():
    return {}


class Counter(keras.layers.Layer):
    """Counts the images that go through it (the backbone's forward passes)."""

    def build(self, input_shape):
        self.count = self.add_weight(shape=(), initializer="zeros", trainable=False, dtype="int32", name="count")

    def call(self, x):
        self.count.assign_add(tf.shape(x)[0])
        return x


def tiny(extra=None, counter=True, freeze=True):
    """`build_classifier` over a small functional backbone, with an image counter."""
    keras.utils.set_random_seed(7)
    inputs = keras.Input((32, 32, 3))
    counter = Counter(name="counter") if counter else None
    x = counter(inputs) if counter else inputs
    for layer in extra or []:
        x = layer(x)
    x = keras.layers.Conv2D(8, 3, strides=4, activation="relu", name="conv")(x)
    backbone = keras.Model(inputs, x, name="tiny")
    model = kt.build_classifier(backbone, 3, input_shape=(32, 32, 3), freeze=freeze)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model, counter


def small(**kwargs):
    return tiny(counter=False, **kwargs)[0]


def plain_and_cached(build, fit_args, **cached_kwargs):
    plain = build()
    keras.utils.set_random_seed(11)
    expected = plain.fit(*fit_args["args"], **fit_args["kwargs"])
    cached = build()
    keras.utils.set_random_seed(11)
    history = kt.fit_classifier(cached, *fit_args["args"], **fit_args["kwargs"], **cached_kwargs)
    return plain, expected, cached, history


class TestCachedFit(TestCase):
    def test_same_history_and_head_as_plain_fit(self):
        fit_args = dict(args=(X, Y), kwargs=dict(epochs=3, batch_size=8, validation_data=(X_VAL, Y_VAL), verbose=0))
        plain, expected, cached, history = plain_and_cached(vgg, fit_args, cache_features=True)
        assert history.feature_cache["mode"] == "memory" and history.feature_cache["examples"] == 40
        assert sorted(history.history) == sorted(expected.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
        for key in expected.history:
            self.assertAllClose(history.history[key], expected.history[key], atol=1e-5, rtol=1e-5)
        self.assertAllClose(cached.predict(X_VAL, verbose=0), plain.predict(X_VAL, verbose=0), atol=1e-5)
        assert history.params["steps"] == expected.params["steps"] == 5
        assert history.model is cached
        assert int(cached.optimizer.iterations) == 15, "the model's own optimizer did the updates"

    def test_backbone_runs_once_per_image(self):
        fit = dict(epochs=3, batch_size=8, validation_data=(X_VAL, Y_VAL), verbose=0)
        model, counter = tiny()
        model.fit(X, Y, **fit)
        assert int(counter.count) == 3 * (40 + 12)
        model, counter = tiny()
        history = kt.fit_classifier(model, X, Y, **fit)
        assert history.feature_cache["mode"] == "memory"
        assert int(counter.count) == 40 + 12, "one forward pass per image for the whole run"

    def test_dataset_keeps_its_batches_and_order(self):
        ordered = kt.data.image_dataset(X, Y, batch_size=16, shuffle=False)
        val = kt.data.image_dataset(X_VAL, Y_VAL, batch_size=16, shuffle=False)
        fit_args = dict(args=(ordered,), kwargs=dict(epochs=2, validation_data=val, shuffle=False, verbose=0))
        _, expected, _, history = plain_and_cached(small, fit_args)
        assert history.feature_cache["mode"] == "memory"
        assert history.params["steps"] == 3
        for key in expected.history:
            self.assertAllClose(history.history[key], expected.history[key], atol=1e-5, rtol=1e-5)
        shuffled = kt.data.image_dataset(X, Y, batch_size=16, seed=0)
        history = kt.fit_classifier(small(), shuffled, epochs=1, verbose=0)
        assert history.feature_cache["mode"] == "memory" and history.params["steps"] == 3

    def test_disk_cache_when_memory_is_short(self):
        directory = os.path.dirname(self.tmp_path_str("x"))
        fit_args = dict(args=(X, Y), kwargs=dict(epochs=2, batch_size=8, shuffle=False, validation_data=(X_VAL, Y_VAL), verbose=0))
        _, expected, cached, history = plain_and_cached(small, fit_args, max_cache_memory=0, cache_dir=directory)
        assert history.feature_cache["mode"] == "disk"
        for key in expected.history:
            self.assertAllClose(history.history[key], expected.history[key], atol=1e-5, rtol=1e-5)
        assert os.listdir(directory) == [], "the cache files are removed"
        shuffled = kt.fit_classifier(small(), X, Y, epochs=2, batch_size=8, max_cache_memory=0, verbose=0)
        assert shuffled.feature_cache["mode"] == "disk" and shuffled.params["steps"] == 5

    def test_no_room_anywhere(self, monkeypatch):
        usage = type("Usage", (), {"free": 1000})
        monkeypatch.setattr(feature_cache.shutil, "disk_usage", lambda path: usage)
        with pytest.raises(MemoryError, match=r"about 1\.0 GiB.*max_cache_memory=0.*free disk space.*cache_dir="):
            feature_cache.plan_storage(1 << 30, max_memory=0, cache_dir=None)
        with pytest.raises(MemoryError, match="cache_features=False"):
            kt.fit_classifier(small(), X, Y, cache_features=True, max_cache_memory=0, verbose=0)
        history = kt.fit_classifier(small(), X, Y, max_cache_memory=0, verbose=0)
        assert history.feature_cache["mode"] == "off" and "free disk space" in history.feature_cache["reason"]

    def test_callbacks_see_the_full_model(self):
        path = self.tmp_path_str("best.keras")
        seen = []

        class Probe(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                seen.append((self.model, sorted(logs)))
                if epoch == 1:
                    self.model.stop_training = True

        model = small()
        history = kt.fit_classifier(
            model, X, Y, epochs=5, batch_size=8, validation_data=(X_VAL, Y_VAL), verbose=0,
            callbacks=[keras.callbacks.ModelCheckpoint(path), Probe()],
        )
        assert len(history.history["loss"]) == 2, "stop_training set on the full model stops the head"
        assert all(m is model for m, _ in seen)
        assert seen[0][1] == ["accuracy", "loss", "val_accuracy", "val_loss"]
        revived = keras.models.load_model(path)
        assert isinstance(revived, kt.models.TransferClassifier)
        self.assertAllClose(revived.predict(X_VAL, verbose=0), model.predict(X_VAL, verbose=0), atol=1e-5)

    def test_early_stopping_restores_best_weights(self):
        model = small()
        stop = keras.callbacks.EarlyStopping(monitor="loss", patience=0, mode="max", restore_best_weights=True)
        history = kt.fit_classifier(model, X, Y, epochs=4, batch_size=8, verbose=0, callbacks=[stop])
        assert len(history.history["loss"]) == 2 and stop.stopped_epoch == 1

    def test_saved_model_round_trip_after_cached_fit(self):
        model = small()
        kt.fit_classifier(model, X, Y, epochs=1, batch_size=8, verbose=0)
        self.run_model_saving_test(model, X_VAL, atol=1e-5)

    def test_jit_compile_head(self):
        model = small()
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=True)
        reference = small()
        keras.utils.set_random_seed(3)
        history = kt.fit_classifier(model, X, Y, epochs=2, batch_size=8, verbose=0)
        keras.utils.set_random_seed(3)
        expected = reference.fit(X, Y, epochs=2, batch_size=8, verbose=0)
        assert history.feature_cache["mode"] == "memory"
        self.assertAllClose(history.history["loss"], expected.history["loss"], atol=1e-4, rtol=1e-4)


class TestRefusals(TestCase):
    @pytest.mark.parametrize(
        "case, pattern",
        [
            ("unfrozen", r"part of the backbone trains \(conv/kernel"),
            ("augmentation", r"training pipeline draws random numbers \(.*Random"),
            ("dropout_in_model", r"random in training \(dropout"),
            ("not_a_transfer_classifier", r"not a keras_transfer.models.TransferClassifier"),
            ("generator", r"features are cached for numpy arrays and tf.data"),
        ],
    )
    def test_auto_falls_back_and_true_refuses(self, case, pattern, capsys):
        def make():
            if case == "unfrozen":
                return small(freeze=False), X
            if case == "augmentation":
                return small(), kt.data.image_dataset(X, Y, batch_size=8, augmentation=keras.layers.RandomRotation(0.1))
            if case == "dropout_in_model":
                return tiny([keras.layers.Dropout(0.5, name="dropout")])[0], X
            if case == "generator":
                return small(), keras.utils.PyDataset.__new__(_Batches)
            model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
            model.compile("adam", "sparse_categorical_crossentropy")
            return model, X

        model, data = make()
        y = None if isinstance(data, (tf.data.Dataset, keras.utils.PyDataset)) else Y
        with pytest.raises(ValueError, match=r"cache_features=True.*" + pattern):
            kt.fit_classifier(model, data, y, cache_features=True, verbose=0)
        if case == "generator":
            data = _Batches()
        history = kt.fit_classifier(model, data, y, epochs=1, batch_size=8, verbose=1)
        assert history.feature_cache["mode"] == "off"
        assert "features not cached" in capsys.readouterr().out
        assert np.isfinite(history.history["loss"]).all()

    def test_cache_features_false_is_plain_fit(self):
        model, counter = tiny()
        history = kt.fit_classifier(model, X, Y, epochs=2, batch_size=8, cache_features=False, verbose=0)
        assert history.feature_cache == {"mode": "off", "reason": "cache_features=False", "extraction_seconds": 0.0, "examples": None}
        assert int(counter.count) == 80

    @pytest.mark.parametrize(
        "kwargs, error, pattern",
        [
            (dict(cache_features="yes"), ValueError, r"`cache_features`"),
            (dict(cache_features=1), TypeError, r"`cache_features`"),
            (dict(cache_dir="/no/such/dir"), ValueError, r"`cache_dir`"),
            (dict(max_cache_memory=-1), ValueError, r"`max_cache_memory`"),
            (dict(epochs=-1), ValueError, r"`epochs`"),
            (dict(x=None), TypeError, r"`x`"),
            (dict(x=tf.data.Dataset.from_tensor_slices((X, Y)).batch(8).repeat(), y=None), ValueError, r"`x`.*infinite"),
            (dict(validation_data=X), TypeError, r"`validation_data`"),
        ],
    )
    def test_bad_arguments(self, kwargs, error, pattern):
        arguments = dict(x=X, y=Y, verbose=0)
        arguments.update(kwargs)
        with pytest.raises(error, match=pattern):
            kt.fit_classifier(small(), **arguments)

    def test_uncompiled_model(self):
        model = kt.build_classifier("vgg16", 3, weights=None, input_shape=(32, 32, 3))
        with pytest.raises(ValueError, match=r"`model`.*not compiled"):
            kt.fit_classifier(model, X, Y)


class _Batches(keras.utils.PyDataset):
    def __init__(self):
        super().__init__()

    def __len__(self):
        return 5

    def __getitem__(self, index):
        return X[index * 8 : (index + 1) * 8], Y[index * 8 : (index + 1) * 8]


class TestMixedPrecision(TestCase):
    @pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
    @pytest.mark.parametrize("cache", [True, False])
    def test_finite_losses_float32_predictions(self, policy, cache):
        keras.config.set_dtype_policy(policy)
        model = vgg()
        assert model.backbone.get_layer("block1_conv1").compute_dtype == policy.split("_")[1]
        history = kt.fit_classifier(
            model, X[:16], Y[:16], epochs=2, batch_size=8, validation_data=(X_VAL, Y_VAL), cache_features=cache, verbose=0
        )
        assert history.feature_cache["mode"] == ("memory" if cache else "off")
        for values in history.history.values():
            assert np.isfinite(values).all()
        predictions = model.predict(X_VAL, verbose=0)
        assert predictions.dtype == np.float32
        self.assertAllClose(predictions.sum(axis=1), np.ones(12), atol=1e-3)


_MIRRORED = textwrap.dedent(
    """
    import os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import numpy as np, keras, keras_transfer as kt
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    x = np.random.default_rng(0).uniform(0, 255, (32, 32, 32, 3)).astype("float32")
    y = np.arange(32) % 3
    with strategy.scope():
        model = kt.build_classifier("vgg16", 3, weights=None, input_shape=(32, 32, 3))
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    before = model.get_layer("predictions").get_weights()[0].copy()
    history = kt.fit_classifier(model, x, y, epochs=2, batch_size=8, validation_data=(x, y), verbose=0)
    assert strategy.num_replicas_in_sync == 2
    assert history.feature_cache["mode"] == "memory", history.feature_cache
    assert np.isfinite(history.history["loss"]).all() and np.isfinite(history.history["val_loss"]).all()
    assert not np.allclose(before, model.get_layer("predictions").get_weights()[0])
    print("MIRRORED_OK", sorted(history.history))
    """
)


def test_cached_fit_under_mirrored_strategy_two_cpus():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    result = subprocess.run(
        [sys.executable, "-c", _MIRRORED], cwd=root, capture_output=True, text=True, timeout=300
    )
    assert "MIRRORED_OK ['accuracy', 'loss', 'val_accuracy', 'val_loss']" in result.stdout, result.stderr[-3000:]
