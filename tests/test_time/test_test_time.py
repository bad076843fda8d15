import warnings

import keras
import numpy as np
import pytest

import keras_transfer as kt
from tests.test_case import TestCase


def _dense_model(norm="batch", seed=0):
    keras.utils.set_random_seed(seed)
    layer = {"batch": keras.layers.BatchNormalization, "layer": keras.layers.LayerNormalization}[norm]
    model = keras.Sequential([
        keras.Input((5,)), keras.layers.Dense(6, name="d1"), layer(name="norm"), keras.layers.ReLU(),
        keras.layers.Dense(3, activation="softmax", name="out"),
    ])
    model.compile("adam", "sparse_categorical_crossentropy")
    x = np.random.default_rng(seed).normal(size=(64, 5)).astype("float32")
    model.fit(x, (x[:, 0] > 0).astype(int) + (x[:, 1] > 0), epochs=3, verbose=0)  # non-trivial moving statistics
    return model


def _conv_model():
    keras.utils.set_random_seed(1)
    inputs = keras.Input((6, 6, 1))
    x = keras.layers.Conv2D(4, 3)(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))


def _shifted(n=32, seed=5):
    return (3.0 * np.random.default_rng(seed).normal(size=(n, 5)) + 2.0).astype("float32")


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _frozen(model):
    model.get_layer("norm").trainable = False  # the trap: Keras runs it in inference mode
    return model


class TestBNAdapt(TestCase):
    @pytest.mark.parametrize("prior", [0.0, 0.3])
    def test_predicts_with_mixed_test_batch_statistics(self, prior):
        model = _frozen(_dense_model())
        x = _shifted()
        d1, norm, out = model.get_layer("d1"), model.get_layer("norm"), model.get_layer("out")
        h = x @ np.array(d1.kernel) + np.array(d1.bias)
        mean = prior * np.array(norm.moving_mean) + (1 - prior) * h.mean(0)
        var = prior * np.array(norm.moving_variance) + (1 - prior) * h.var(0)
        h = (h - mean) / np.sqrt(var + norm.epsilon) * np.array(norm.gamma) + np.array(norm.beta)
        expected = _softmax(np.maximum(h, 0) @ np.array(out.kernel) + np.array(out.bias))
        adapted = kt.test_time.BNAdapt(model, prior=prior)
        self.assertAllClose(adapted.predict(x, batch_size=32, verbose=0), expected, atol=1e-5)
        assert not np.allclose(model.predict(x, verbose=0), expected, atol=1e-3), "the source statistics differ"

    def test_given_model_untouched_and_reloaded(self):
        model = _dense_model()  # trainable BatchNormalization: training=True would update its statistics
        before = [w.copy() for w in model.get_weights()]
        adapted = kt.test_time.BNAdapt(model)
        x = _shifted()
        predictions = adapted.predict(x, batch_size=32, verbose=0)
        assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
        assert type(model.get_layer("norm")) is keras.layers.BatchNormalization
        path = self.tmp_path_str("bn_adapt.keras")
        adapted.save(path)
        revived = keras.models.load_model(path)
        assert isinstance(revived, kt.test_time.BNAdapt) and revived.prior == 0.0
        self.assertAllClose(revived.predict(x, batch_size=32, verbose=0), predictions, atol=1e-6)

    def test_a_single_value_per_channel_keeps_the_source_statistics(self):
        model = _dense_model()
        x = _shifted(1)
        with pytest.warns(UserWarning, match=r"norm: a batch of 1 value per channel.*source statistics"):
            single = kt.test_time.BNAdapt(model)(x)
        self.assertAllClose(single, model(x, training=False), atol=1e-6)
        conv = _conv_model()  # a convolutional BatchNorm has 4 x 4 values per channel in one image
        image = np.random.default_rng(0).normal(size=(1, 6, 6, 1)).astype("float32")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            adapted = kt.test_time.BNAdapt(conv)(image)
        assert not np.allclose(adapted, conv(image, training=False), atol=1e-4)


class TestTENT(TestCase):
    def test_online_entropy_minimisation_of_the_affine_parameters_only(self):
        model = _frozen(_dense_model())
        before = [w.copy() for w in model.get_weights()]
        tent = kt.test_time.TENT(model, optimizer=keras.optimizers.Adam(0.05))
        x = _shifted(64)
        entropies = [float(tent.entropy(tent.predict(x, batch_size=32, verbose=0))) for _ in range(8)]
        assert entropies[-1] < entropies[0] - 0.05, entropies
        assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights())), "the given model is never modified"
        copy = tent.adapted
        assert not np.array_equal(np.array(copy.get_layer("norm").gamma), before[2])
        for name in ("d1", "out"):
            for a, b in zip(copy.get_layer(name).get_weights(), model.get_layer(name).get_weights()):
                assert np.array_equal(a, b), f"{name} is not a normalization layer: unchanged"
        self.assertAllClose(copy.get_layer("norm").moving_mean, model.get_layer("norm").moving_mean, atol=0)
        assert int(tent.adaptation_optimizer.iterations.numpy()) == 16
        tent.reset()
        assert all(np.array_equal(a, b) for a, b in zip(copy.get_weights(), before)), "reset restores bitwise"
        assert int(tent.adaptation_optimizer.iterations.numpy()) == 0

    def test_episodic_starts_each_batch_from_the_source(self):
        tent = kt.test_time.TENT(_dense_model(), optimizer=keras.optimizers.Adam(0.05), steps=2, episodic=True)
        x = _shifted()
        first = tent.predict(x, batch_size=32, verbose=0)
        second = tent.predict(x, batch_size=32, verbose=0)
        self.assertAllClose(first, second, atol=1e-6)
        online = kt.test_time.TENT(_dense_model(), optimizer=keras.optimizers.Adam(0.05), steps=2)
        online.predict(x, batch_size=32, verbose=0)
        assert not np.allclose(online.predict(x, batch_size=32, verbose=0), first, atol=1e-4)

    def test_layer_normalization_when_there_is_no_batch_normalization(self):
        model = _dense_model("layer")
        tent = kt.test_time.TENT(model, optimizer=keras.optimizers.Adam(0.05))
        gamma = np.array(model.get_layer("norm").gamma)
        tent.predict(_shifted(), batch_size=32, verbose=0)
        assert not np.array_equal(np.array(tent.adapted.get_layer("norm").gamma), gamma)
        assert np.array_equal(np.array(model.get_layer("norm").gamma), gamma)

    @pytest.mark.parametrize("policy, jit", [("float32", True), ("mixed_float16", False), ("mixed_bfloat16", False)])
    def test_xla_and_mixed_precision(self, policy, jit):
        keras.config.set_dtype_policy(policy)
        tent = kt.test_time.TENT(_conv_model(), steps=2)
        tent.compile(jit_compile=jit)
        x = np.random.default_rng(0).normal(size=(16, 6, 6, 1)).astype("float32")
        gamma = np.array(tent.adapted.get_layer("bn").gamma)
        predictions = tent.predict(x, batch_size=8, verbose=0)
        assert predictions.shape == (16, 3) and np.isfinite(predictions).all()
        assert not np.array_equal(np.array(tent.adapted.get_layer("bn").gamma), gamma)


class TestBadInput:
    def test_models_without_normalization(self):
        plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")], name="plain")
        for cls in (kt.test_time.BNAdapt, kt.test_time.TENT):
            with pytest.raises(ValueError, match=r"`model`.*'plain' has no normalization layer.*fine_tune"):
                cls(plain)
        with pytest.raises(ValueError, match=r"`model`.*BatchNormalization"):
            kt.test_time.BNAdapt(_dense_model("layer"))

    def test_arguments(self):
        model = _dense_model()
        with pytest.raises(ValueError, match=r"prior.*Received: prior=1.5"):
            kt.test_time.BNAdapt(model, prior=1.5)
        with pytest.raises(TypeError, match=r"model.*Received"):
            kt.test_time.BNAdapt("model.keras")
        with pytest.raises(ValueError, match=r"steps.*Received: steps=0"):
            kt.test_time.TENT(model, steps=0)
        with pytest.raises(TypeError, match=r"optimizer"):
            kt.test_time.TENT(model, optimizer=3)
        with pytest.raises(TypeError, match=r"episodic"):
            kt.test_time.TENT(model, episodic="yes")


class TestTENTSaving(TestCase):
    def test_save_and_reload_keeps_the_adapted_and_the_source_state(self):
        model = _dense_model()
        tent = kt.test_time.TENT(model, optimizer=keras.optimizers.Adam(0.05), steps=2)
        x = _shifted()
        tent.predict(x, batch_size=32, verbose=0)
        path = self.tmp_path_str("tent.keras")
        tent.save(path)
        revived = keras.models.load_model(path)
        assert isinstance(revived, kt.test_time.TENT) and revived.steps == 2 and not revived.episodic
        for a, b in zip(revived.adapted.get_weights(), tent.adapted.get_weights()):
            assert np.array_equal(a, b), "the adapted parameters come back"
        revived.reset()
        tent.reset()
        for a, b in zip(revived.adapted.get_weights(), model.get_weights()):
            assert np.array_equal(a, b), "reset returns to the source model, also after reloading"
