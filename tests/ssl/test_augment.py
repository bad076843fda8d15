import numpy as np
import pytest
import tensorflow as tf

import keras_transfer as kt
from keras_transfer.ssl import _image_ops
from tests.generative import tiny
from tests.test_case import TestCase


def _grid(n=2, size=5):
    return np.arange(n * size * size, dtype="float32").reshape(n, size, size, 1) / (n * size * size)


class TestImageOps(TestCase):
    def test_rotation_by_90_degrees_is_exact(self):
        x = _grid()
        matrices = _image_ops.rotation_matrices(tf.constant([np.pi / 2, -np.pi / 2], "float32"), 5, 5)
        out = np.asarray(_image_ops.warp(tf.constant(x), matrices, "constant"))
        options = [np.rot90(x[i], k, axes=(0, 1)) for i in range(2) for k in (1, 3)]
        for i in range(2):
            assert any(np.allclose(out[i], o, atol=1e-5) for o in options[2 * i : 2 * i + 2])
        assert not np.allclose(out[0], out[1])

    def test_flip_and_translation(self):
        x = _grid(1)
        flipped = _image_ops.warp(tf.constant(x), _image_ops.flip_matrices(tf.constant([1.0]), 5, 5), "constant")
        self.assertAllClose(flipped, x[:, :, ::-1], atol=1e-6)
        shift = _image_ops.translation_matrices(tf.constant([2.0]), tf.constant([-1.0]))
        shifted = np.asarray(_image_ops.warp(tf.constant(x), shift, "constant"))
        expected = np.zeros_like(x)
        expected[0, 0:4, 2:5] = x[0, 1:5, 0:3]
        self.assertAllClose(shifted, expected, atol=1e-6)
        reflected = np.asarray(_image_ops.warp(tf.constant(x), shift, "reflect"))
        self.assertAllClose(reflected[0, :4, 2:], x[0, 1:, :3], atol=1e-6)
        self.assertAllClose(reflected[0, :4, 1], x[0, 1:, 1], atol=1e-6)  # column -1 reflects column 1

    def test_photometric_operations(self):
        x = tf.constant(_grid(2))
        self.assertAllClose(_image_ops.solarize(x, tf.constant([0.5, 2.0])), np.where(
            np.arange(2)[:, None, None, None] == 0, np.where(_grid(2) >= 0.5, 1 - _grid(2), _grid(2)), _grid(2)))
        posterized = np.asarray(_image_ops.posterize(x, tf.constant([1.0, 8.0])))
        assert set(np.unique(posterized[0])) <= {0.0, 1.0}
        self.assertAllClose(posterized[1], np.floor(_grid(2)[1] * (256 - 1e-3)) / 255.0, atol=1e-6)
        self.assertAllClose(_image_ops.brightness(x, tf.constant([0.5, 1.0])), _grid(2) * np.array([0.5, 1.0])[:, None, None, None])
        stretched = np.asarray(_image_ops.autocontrast(x * 0.5 + 0.2))
        assert np.isclose(stretched.min(), 0.0) and np.isclose(stretched.max(), 1.0)
        cut = np.asarray(_image_ops.cutout(x, tf.constant([3.0, 0.0]), tf.constant([2.0, 2.0]), tf.constant([2.0, 2.0]), 0.5))
        assert np.all(cut[0, 1:4, 1:4] == 0.5) and cut[0, 0, 0] == x[0, 0, 0]
        self.assertAllClose(cut[1], _grid(2)[1])


class TestWeakAugment(TestCase):
    def test_each_image_is_identity_or_flipped_without_shift(self):
        layer = kt.layers.WeakAugment(translate=0.0, seed=0)
        x = tiny.images(16)
        y = np.asarray(layer(x, training=True))
        flipped = [np.allclose(y[i], x[i, :, ::-1], atol=1e-3) for i in range(16)]
        kept = [np.allclose(y[i], x[i], atol=1e-3) for i in range(16)]
        assert all(f or k for f, k in zip(flipped, kept)) and 3 < sum(flipped) < 13
        self.assertAllEqual(layer(x), x)

    def test_shifts_are_whole_pixels_within_the_limit(self):
        layer = kt.layers.WeakAugment(flip=False, translate=0.25, fill_mode="constant", seed=1)
        x = tiny.images(8, low=1.0)
        y = np.asarray(layer(x, training=True))
        for i in range(8):
            found = False
            for dy in range(-2, 3):
                for dx in range(-2, 3):
                    expected = np.zeros_like(x[i])
                    src = x[i, max(0, -dy) : 8 - max(0, dy), max(0, -dx) : 8 - max(0, dx)]
                    expected[max(0, dy) : 8 - max(0, -dy), max(0, dx) : 8 - max(0, -dx)] = src
                    found |= np.allclose(y[i], expected, atol=1e-3)
            assert found, f"image {i} is not a whole-pixel shift within 2 pixels"

    def test_seeded_compilable_and_serializable(self):
        x = tf.constant(tiny.images(4))
        a = kt.layers.WeakAugment(seed=3)
        b = kt.layers.WeakAugment(seed=3)
        # XLA and TF kernels may pick different counter-based RNG algorithms: compare like with like.
        compiled_a = tf.function(lambda t: a(t, training=True), jit_compile=True)
        compiled_b = tf.function(lambda t: b(t, training=True), jit_compile=True)
        first = compiled_a(x)
        self.assertAllClose(compiled_b(x), first, atol=0, rtol=0)
        assert not np.allclose(compiled_a(x), first), "the seed state advances"
        self.run_serialization_test(kt.layers.WeakAugment(translate=0.1, fill_mode="nearest", seed=2))
        assert "WeakAugment" not in kt.ssl.__all__  # one public home: kt.layers


class TestStrongAugment(TestCase):
    def test_range_shape_and_inference_identity(self):
        layer = kt.layers.StrongAugment(seed=0)
        x = tiny.images(32)
        y = np.asarray(layer(x, training=True))
        assert y.shape == x.shape and y.min() >= 0 and y.max() <= 255
        assert np.mean([not np.allclose(y[i], x[i]) for i in range(32)]) > 0.9
        self.assertAllEqual(layer(x), x)

    def test_single_operation_matches_its_definition(self):
        x = tiny.images(16)
        solarized = np.asarray(kt.layers.StrongAugment(
            num_ops=1, operations=["solarize"], cutout=0.0, flip=False, translate=0.0, seed=0)(x, training=True))
        for i in range(16):
            unit, out = x[i] / 255.0, solarized[i] / 255.0
            thresholds = np.unique(unit)
            assert any(np.allclose(out, np.where(unit >= t, 1 - unit, unit), atol=1e-4) for t in np.r_[thresholds, 1.1])
        identity = kt.layers.StrongAugment(num_ops=3, operations=["identity"], cutout=0.0, flip=False, translate=0.0)
        self.assertAllClose(identity(x, training=True), x, atol=1e-3)

    def test_cutout_fills_a_grey_square(self):
        layer = kt.layers.StrongAugment(num_ops=0, cutout=1.0, flip=False, translate=0.0, seed=0)
        y = np.asarray(layer(np.zeros((8, 8, 8, 1), "float32"), training=True))
        assert np.all(np.isin(y, [0.0, 127.5])) and (y == 127.5).any()

    def test_compiles_with_xla_on_cpu_and_serializes(self):
        layer = kt.layers.StrongAugment(seed=0)
        out = tf.function(lambda t: layer(t, training=True), jit_compile=True)(tf.constant(tiny.images(4, shape=(8, 8, 3))))
        assert out.shape == (4, 8, 8, 3) and np.all(np.isfinite(out))
        revived = self.run_serialization_test(kt.layers.StrongAugment(num_ops=1, operations=["rotate", "color"], cutout=0.2))
        assert revived.operations == ("rotate", "color")

    def test_bad_input(self):
        with pytest.raises(ValueError, match=r"operations.*'rotate'"):
            kt.layers.StrongAugment(operations=["rotat"])
        with pytest.raises(TypeError, match="operations"):
            kt.layers.StrongAugment(operations="rotate")
        with pytest.raises(ValueError, match="cutout"):
            kt.layers.StrongAugment(cutout=1.5)
        with pytest.raises(ValueError, match="translate"):
            kt.layers.WeakAugment(translate=0.6)
        with pytest.raises(ValueError, match=r"fill_mode.*'reflect'"):
            kt.layers.WeakAugment(fill_mode="reflekt")
        with pytest.raises(ValueError, match=r"expects images.*\(2, 4\)"):
            kt.layers.WeakAugment()(np.zeros((2, 4), "float32"), training=True)
