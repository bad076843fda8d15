"""Batch spectral shrinkage: the penalty is the numpy-SVD formula; its gradient reaches the trunk only."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_transfer as kt
from tests.regularizers.nets import X, Y, features, save_and_load, trunk_and_heads
from tests.test_case import TestCase


def numpy_bss(matrix, k):
    matrix = matrix.reshape(len(matrix), -1)
    return float(np.sum(np.sort(np.linalg.svd(matrix, compute_uv=False))[:k] ** 2))


class TestBatchSpectralShrinkage(TestCase):
    @pytest.mark.parametrize("shape,k", [((6, 4), 1), ((3, 7), 2), ((5, 2, 3), 3)])
    def test_equals_the_numpy_svd_formula(self, shape, k):
        f = np.random.default_rng(1).normal(size=shape).astype("float32")
        value = float(kt.regularizers.batch_spectral_shrinkage(f, k))
        assert value == pytest.approx(numpy_bss(f, k), rel=1e-4)

    def test_gradient_is_that_of_the_singular_values(self):
        f = tf.constant(np.random.default_rng(2).normal(size=(6, 4)).astype("float32"))
        with tf.GradientTape() as tape:
            tape.watch(f)
            singular = tf.linalg.svd(f)[0]  # TensorFlow's own SVD gradient (static shapes)
            reference = tf.reduce_sum(tf.sort(singular)[:2] ** 2)
        expected = tape.gradient(reference, f).numpy()

        @tf.function(input_signature=[tf.TensorSpec((None, 4), "float32")])
        def gradient(x):  # unknown batch size, as a last smaller batch has
            with tf.GradientTape() as tape:
                tape.watch(x)
                value = kt.regularizers.batch_spectral_shrinkage(x, 2)
            return value, tape.gradient(value, x)

        value, actual = gradient(f)
        assert float(value) == pytest.approx(float(reference), rel=1e-5)
        self.assertAllClose(actual.numpy(), expected, atol=1e-5, rtol=1e-4)
        assert np.abs(expected).max() > 0.01

    def test_bad_input_is_named(self):
        with pytest.raises(ValueError, match="`k`"):
            kt.regularizers.batch_spectral_shrinkage(np.ones((2, 3), "float32"), k=3)
        with pytest.raises(ValueError, match="`k`"):
            kt.regularizers.batch_spectral_shrinkage(np.ones((2, 3), "float32"), k=0)
        with pytest.raises(ValueError, match="`features`"):
            kt.regularizers.batch_spectral_shrinkage(np.ones((3,), "float32"))


def _one_sgd_step(eta):
    _, target = trunk_and_heads()
    model = kt.models.BSSModel(target, eta=eta, k=2)
    model.compile(keras.optimizers.SGD(0.1), jit_compile=eta > 0)
    history = model.fit(X, Y, batch_size=len(X), epochs=1, shuffle=False, verbose=0)
    return model, target.get_weights(), history.history


class TestBSSModel(TestCase):
    def test_the_penalty_moves_the_trunk_and_not_the_head(self):
        model, penalised, history = _one_sgd_step(eta=10.0)
        _, plain, _ = _one_sgd_step(eta=0.0)
        trunk_kernel, trunk_bias, head_kernel, head_bias = range(4)
        assert np.abs(penalised[trunk_kernel] - plain[trunk_kernel]).max() > 1e-4
        self.assertAllClose(penalised[head_kernel], plain[head_kernel], atol=1e-6)
        self.assertAllClose(penalised[head_bias], plain[head_bias], atol=1e-6)
        # The log is the term before eta, on the batch before the step.
        _, start = trunk_and_heads()
        assert history["bss_penalty"][0] == pytest.approx(numpy_bss(features(start, X), 2), rel=1e-3)
        assert model.penalty(X) == pytest.approx(numpy_bss(features(model.model, X), 2), rel=1e-3)

    def test_save_load_round_trip(self):
        _, target = trunk_and_heads()
        model = kt.models.BSSModel(target, eta=0.01, k=2)
        model.compile("adam", metrics=["accuracy"])
        model.fit(X, Y, batch_size=12, epochs=1, verbose=0)  # a last, smaller batch
        revived = save_and_load(model, self.tmp_path_str("bss.keras"))
        assert (revived.eta, revived.k) == (0.01, 2)
        self.assertAllClose(revived.predict(X, verbose=0), model.predict(X, verbose=0))

    def test_bad_input_is_named(self):
        _, target = trunk_and_heads()
        with pytest.raises(ValueError, match="`k`"):
            kt.models.BSSModel(target, k=9)  # 8 features
        with pytest.raises(ValueError, match="`eta`"):
            kt.models.BSSModel(target, eta=-1.0)
        with pytest.raises(ValueError, match="`feature_layer`"):
            kt.models.BSSModel(target, feature_layer="nope")
