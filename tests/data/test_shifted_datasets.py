import gzip
import os

import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.data.font_digits import available_fonts
from tests.test_case import TestCase


def write_fake_fashion_mnist(directory, n_train=6, n_test=4):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        with gzip.open(os.path.join(directory, f"{prefix}-images-idx3-ubyte.gz"), "wb") as f:
            f.write(b"\0" * 16 + images.tobytes())
        with gzip.open(os.path.join(directory, f"{prefix}-labels-idx1-ubyte.gz"), "wb") as f:
            f.write(b"\0" * 8 + labels.tobytes())


class TestFashionMnistM(TestCase):
    def test_blend_is_the_absolute_difference_with_a_photo_patch(self):
        black = np.zeros((3, 28, 28), "uint8")
        white = np.full((3, 28, 28), 255, "uint8")
        patch = kt.data.blend_with_photos(black, seed=5).astype(int)
        inverted = kt.data.blend_with_photos(white, seed=5).astype(int)
        assert np.abs(patch + inverted - 255).max() <= 1  # |p - 0| + |p - 255| = 255
        assert patch.std() > 10 and len(np.unique(patch.reshape(-1, 3), axis=0)) > 50  # textured, coloured
        self.assertAllEqual(kt.data.blend_with_photos(black, seed=5), patch)
        assert not np.array_equal(kt.data.blend_with_photos(black, seed=6), patch)
        with pytest.raises(ValueError, match=r"`images`.*grayscale"):
            kt.data.blend_with_photos(np.zeros((2, 28, 28, 3), "uint8"))

    def test_load_builds_caches_and_reloads(self):
        source, cache = self.tmp_path_str("fashion"), self.tmp_path_str("cache")
        os.makedirs(source)
        write_fake_fashion_mnist(source)
        (x, y), (xt, yt) = kt.data.load_fashion_mnist_m(seed=1, cache_dir=cache, fashion_mnist_dir=source)
        (fx, fy), (_, fyt) = kt.data.load_fashion_mnist(source)
        assert x.shape == (6, 28, 28, 3) and xt.shape == (4, 28, 28, 3) and x.dtype == np.uint8
        self.assertAllEqual(y, fy)
        self.assertAllEqual(yt, fyt)
        self.assertAllEqual(x, kt.data.blend_with_photos(fx, seed=1))
        assert os.path.isfile(os.path.join(cache, "fashion_mnist_m_seed1.npz"))
        (x2, _), _ = kt.data.load_fashion_mnist_m(seed=1, cache_dir=cache, fashion_mnist_dir="/nonexistent")
        self.assertAllEqual(x2, x)


class TestDigits(TestCase):
    def test_uci_digits(self):
        from sklearn.datasets import load_digits

        x, y = kt.data.load_uci_digits()
        assert x.shape == (1797, 8, 8) and x.dtype == np.uint8 and x.max() == 16
        self.assertAllEqual(x, load_digits().images)

    @pytest.mark.skipif(not available_fonts(), reason="no fonts installed")
    def test_font_digits_are_uci_like_digits(self):
        x, y = kt.data.render_font_digits(30, seed=0)
        assert x.shape == (300, 8, 8) and x.dtype == np.uint8 and 0 <= x.min() and x.max() <= 16
        assert np.bincount(y).tolist() == [30] * 10
        self.assertAllEqual(kt.data.render_font_digits(30, seed=0)[0], x)
        # printed digits teach a linear model to read handwritten ones far above chance (10%)
        from sklearn.linear_model import LogisticRegression

        ux, uy = kt.data.load_uci_digits()
        model = LogisticRegression(max_iter=2000).fit(x.reshape(300, -1), y)
        assert model.score(ux.reshape(len(ux), -1), uy) > 0.4

    def test_font_errors(self):
        with pytest.raises(ValueError, match=r"`fonts`.*at least one.*apt-get install"):
            kt.data.render_font_digits(2, fonts=[])
        with pytest.raises(ValueError, match=r"`fonts`.*readable font files"):
            kt.data.render_font_digits(2, fonts=[__file__])
        with pytest.raises(ValueError, match=r"`samples_per_class`"):
            kt.data.render_font_digits(0)
