import numpy as np
import pytest
import tensorflow as tf

import keras
import keras_transfer as kt
from tests.test_case import TestCase

RNG = np.random.default_rng(0)


def mmd_reference(a, b, multipliers, bandwidth=None):
    def d2(u, v):
        return ((u[:, None, :] - v[None, :, :]) ** 2).sum(-1)

    if bandwidth is None:
        joint = np.concatenate([a, b])
        n = len(joint)
        bandwidth = d2(joint, joint).sum() / (n * (n - 1))

    def k(u, v):
        return np.mean([np.exp(-d2(u, v) / (m * bandwidth)) for m in multipliers], axis=0)

    return k(a, a).mean() + k(b, b).mean() - 2 * k(a, b).mean()


def coral_reference(a, b):
    d = a.shape[1]
    return ((np.cov(a, rowvar=False) - np.cov(b, rowvar=False)) ** 2).sum() / (4 * d * d)


class TestMMD(TestCase):
    def test_matches_the_reference_estimator(self):
        a = RNG.normal(size=(12, 4))
        b = RNG.normal(0.5, 1.5, size=(9, 4))
        self.assertAllClose(kt.losses.MMD()(a, b), mmd_reference(a, b, (0.25, 0.5, 1, 2, 4)), atol=1e-5, rtol=1e-4)
        fixed = kt.losses.MMD(bandwidth_multipliers=(1.0, 3.0), bandwidth=2.0)
        self.assertAllClose(fixed(a, b), mmd_reference(a, b, (1.0, 3.0), 2.0), atol=1e-5, rtol=1e-4)

    def test_zero_for_equal_batches_and_grows_with_the_shift(self):
        a = RNG.normal(size=(32, 3))
        mmd = kt.losses.MMD()
        assert float(mmd(a, a)) == 0.0
        values = [float(mmd(a, RNG.normal(shift, 1.0, size=(32, 3)))) for shift in (0.0, 1.0, 3.0)]
        assert values[0] < values[1] < values[2]

    def test_float32_inside_under_mixed_precision(self):
        keras.config.set_dtype_policy("mixed_float16")
        a = tf.constant(RNG.normal(size=(8, 3)), "float16")
        assert kt.losses.MMD()(a, a + 1.0).dtype == "float32"
        assert kt.losses.CORAL()(a, 2.0 * a).dtype == "float32"

    def test_serialization(self):
        self.run_serialization_test(kt.losses.MMD(bandwidth_multipliers=[0.5, 2.0], bandwidth=1.5))

    def test_bad_arguments(self):
        with pytest.raises(ValueError, match=r"`bandwidth_multipliers`.*> 0"):
            kt.losses.MMD(bandwidth_multipliers=(1.0, -2.0))
        with pytest.raises(TypeError, match=r"`bandwidth_multipliers`"):
            kt.losses.MMD(bandwidth_multipliers=())
        with pytest.raises(ValueError, match=r"`bandwidth`.*Received: bandwidth=0"):
            kt.losses.MMD(bandwidth=0)


class TestCORAL(TestCase):
    def test_matches_the_formula(self):
        a = RNG.normal(size=(20, 5))
        b = RNG.normal(size=(13, 5)) @ RNG.normal(size=(5, 5))
        self.assertAllClose(kt.losses.CORAL()(a, b), coral_reference(a, b), atol=1e-6, rtol=1e-4)
        assert float(kt.losses.CORAL()(a, a + 10.0)) < 1e-8

    def test_gradient_pulls_covariances_together(self):
        a = tf.Variable(RNG.normal(size=(64, 3)).astype("float32"))
        b = tf.constant(3.0 * RNG.normal(size=(64, 3)).astype("float32"))
        coral = kt.losses.CORAL()
        before = float(coral(a, b))
        for _ in range(20):
            with tf.GradientTape() as tape:
                loss = coral(a, b)
            a.assign_sub(50.0 * tape.gradient(loss, a))
        assert float(coral(a, b)) < 0.5 * before

    def test_serialization(self):
        self.run_serialization_test(kt.losses.CORAL(name="my_coral"))
