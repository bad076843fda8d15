import os

import numpy as np
import pytest
from scipy import ndimage

import keras_transfer as kt
from keras_transfer.data import fashion_mnist_c
from tests.data.test_shifted_datasets import write_fake_fashion_mnist
from tests.test_case import TestCase

RANDOM = ("gaussian_noise", "shot_noise", "impulse_noise", "fog")


def _real_test_split():
    try:
        return kt.data.load_fashion_mnist(download=False)[1]
    except FileNotFoundError:
        return None


REAL = _real_test_split()
needs_real = pytest.mark.skipif(REAL is None, reason="Fashion-MNIST not installed (Debian's dataset-fashion-mnist)")


def smooth_images(shape, seed=0):
    """Real-looking images: smoothed noise blobs stretched over 0..255."""
    rng = np.random.default_rng(seed)
    x = ndimage.gaussian_filter(rng.random(shape), sigma=(0, 2, 2) + (0,) * (len(shape) - 3))
    x = (x - x.min()) / (x.max() - x.min())
    return np.round(255 * x).astype("uint8")


GRAY = smooth_images((6, 28, 28))
RGB = smooth_images((4, 20, 24, 3), seed=1)  # not square, three channels


def mean_change(images, corruption, severity, seed=0):
    return np.abs(kt.data.corrupt(images, corruption, severity, seed=seed).astype(float) - images).mean()


class TestCorrupt(TestCase):
    @pytest.mark.parametrize("corruption", kt.data.CORRUPTIONS)
    @pytest.mark.parametrize("images", [GRAY, GRAY[..., None], RGB], ids=["gray", "gray1", "rgb"])
    def test_shape_dtype_and_determinism(self, corruption, images):
        out = kt.data.corrupt(images, corruption, 3, seed=1)
        assert out.shape == images.shape and out.dtype == np.uint8
        assert not np.array_equal(out, images)
        self.assertAllEqual(kt.data.corrupt(images, corruption, 3, seed=1), out)
        other = kt.data.corrupt(images, corruption, 3, seed=2)
        assert np.array_equal(other, out) == (corruption not in RANDOM)

    @pytest.mark.parametrize("corruption", kt.data.CORRUPTIONS)
    @pytest.mark.parametrize("images", ["gray", "rgb", "real"])
    def test_severity_is_monotone(self, corruption, images):
        if images == "real" and REAL is None:
            pytest.skip("Fashion-MNIST not installed")
        images = {"gray": GRAY, "rgb": RGB, "real": None if REAL is None else REAL[0][:64]}[images]
        changes = [mean_change(images, corruption, severity) for severity in range(1, 6)]
        assert all(b >= a for a, b in zip(changes, changes[1:])), changes
        assert changes[-1] > changes[0] > 0, changes

    @pytest.mark.parametrize("corruption", ["defocus_blur", "gaussian_blur", "contrast", "brightness", "pixelate", "jpeg_compression"])
    def test_each_image_and_channel_is_corrupted_on_its_own(self, corruption):
        batch = kt.data.corrupt(RGB, corruption, 4)
        alone = np.concatenate([kt.data.corrupt(RGB[i : i + 1], corruption, 4) for i in range(len(RGB))])
        self.assertAllEqual(batch, alone)
        if corruption not in ("jpeg_compression", "brightness"):  # chroma subsampling; black becomes grey
            red = RGB.copy()
            red[..., 1:] = 0
            assert kt.data.corrupt(red, corruption, 4)[..., 1:].max() == 0

    def test_noises(self):
        grey = np.full((8, 28, 28), 128, "uint8")
        noise = kt.data.corrupt(grey, "gaussian_noise", 1).astype(float) - 128
        assert abs(noise.mean()) < 1 and abs(noise.std() - 0.08 * 255) < 0.5
        shot = kt.data.corrupt(grey, "shot_noise", 1).astype(float)  # Poisson(60 x) / 60
        assert abs(shot.mean() - 128) < 1 and abs(shot.std() - np.sqrt(128 / 255 / 60) * 255) < 0.6
        counts = kt.data.corrupt(grey, "shot_noise", 5).astype(float) / 255 * 3  # 3 photons per unit: 0, 1, 2, 3
        self.assertAllEqual(np.unique(counts), [0, 1, 2, 3])
        for images in (grey, RGB):
            out = kt.data.corrupt(images, "impulse_noise", 5)
            changed = out != images
            assert set(np.unique(out[changed])) <= {0, 255}
        changed = kt.data.corrupt(grey, "impulse_noise", 5) != 128
        assert abs(changed.mean() - 0.27) < 0.015
        assert abs((kt.data.corrupt(grey, "impulse_noise", 5) == 255).mean() - 0.135) < 0.01

    def test_blurs(self):
        flat = np.full((2, 28, 28, 3), 77, "uint8")
        for corruption in ("defocus_blur", "gaussian_blur"):
            self.assertAllEqual(kt.data.corrupt(flat, corruption, 5), flat)
            out = kt.data.corrupt(GRAY, corruption, 5)
            assert np.abs(np.diff(out.astype(float), axis=2)).sum() < 0.8 * np.abs(np.diff(GRAY.astype(float), axis=2)).sum()
        expected = [ndimage.gaussian_filter(image.astype(float) / 255, 1.5, mode="reflect") for image in GRAY]
        out = kt.data.corrupt(GRAY, "gaussian_blur", 5).astype(float) / 255
        self.assertAllClose(out, np.stack(expected), atol=0.6 / 255)
        dot = np.zeros((1, 9, 9), "uint8")
        dot[0, 4, 4] = 255
        spread = kt.data.corrupt(dot, "defocus_blur", 5)[0].astype(float)
        assert 15 < spread[4, 4] < 25 and spread[4, 2] > 0 and spread[3, 3] > 0  # a disk of radius 2 ...
        assert spread[4, 1] == 0 and spread[2, 2] == 0  # ... and nothing beyond
        self.assertAllEqual(spread, spread.T)

    def test_contrast_keeps_the_mean(self):
        for images in (GRAY, RGB, REAL[0][:32] if REAL is not None else GRAY):
            out = kt.data.corrupt(images, "contrast", 5).astype(float)  # per image and channel
            self.assertAllClose(out.mean(axis=(1, 2)), images.mean(axis=(1, 2)), atol=0.6)
            assert (out.std(axis=(1, 2)) < 0.05 * images.std(axis=(1, 2)) + 0.6).all()

    def test_brightness(self):
        out = kt.data.corrupt(GRAY, "brightness", 2).astype(int)
        self.assertAllEqual(out, np.minimum(GRAY.astype(int) + 51, 255))
        import tensorflow as tf

        rgb = kt.data.corrupt(RGB, "brightness", 3)
        hsv_in = tf.image.rgb_to_hsv(RGB / 255).numpy()
        hsv_out = tf.image.rgb_to_hsv(rgb / 255).numpy()
        self.assertAllClose(hsv_out[..., 2], np.minimum(hsv_in[..., 2] + 0.3, 1), atol=1 / 255)
        colourful = (hsv_in[..., 1] > 0.2) & (hsv_in[..., 2] > 0.2)
        self.assertAllClose(hsv_out[..., 1][colourful], hsv_in[..., 1][colourful], atol=0.03)

    def test_fog(self):
        images = GRAY.copy()
        images[:, :3] = 0
        out = kt.data.corrupt(images, "fog", 3).astype(float)
        assert (out.max(axis=(1, 2)) <= images.max(axis=(1, 2)) + 1).all()  # rescaled to the image's peak
        fog = out[:, :3] / 255  # over the black border only fog remains, (a * fog) * peak / (peak + a)
        assert fog.std() > 0.03 and fog.max() <= 1.0 / 2.0 + 1 / 255
        assert abs(np.corrcoef(fog[:, 1, :-1].ravel(), fog[:, 1, 1:].ravel())[0, 1]) > 0.5  # smooth, not white noise

    def test_pixelate_is_blockwise_constant(self):
        images = REAL[0][:8] if REAL is not None else GRAY
        out = kt.data.corrupt(images, "pixelate", 5).astype(float)  # 28 pixels -> 7 blocks of 4
        blocks = out.reshape(len(images), 7, 4, 7, 4)
        assert (blocks == blocks[:, :, :1, :, :1]).all()
        self.assertAllClose(blocks[:, :, 0, :, 0], images.reshape(-1, 7, 4, 7, 4).mean(axis=(2, 4)), atol=0.5)
        for severity, rows, cols in zip(range(1, 5), (12, 10, 8, 6), (14, 12, 9, 7)):  # 0.6 .. 0.3 of 20 x 24
            out = kt.data.corrupt(RGB[:1], "pixelate", severity)[0]
            assert np.unique(out, axis=0).shape[0] == rows and np.unique(out, axis=1).shape[1] == cols

    def test_jpeg_is_a_jpeg_round_trip(self):
        import tensorflow as tf

        images = REAL[0][:8] if REAL is not None else GRAY
        out = kt.data.corrupt(images, "jpeg_compression", 5)
        change = np.abs(out.astype(float) - images).mean()
        assert 0 < change < 25
        expected = tf.io.decode_jpeg(tf.io.encode_jpeg(images[3][..., None], quality=7)).numpy()[..., 0]
        self.assertAllEqual(out[3], expected)
        qualities = [np.abs(kt.data.corrupt(images, "jpeg_compression", s).astype(float) - images).mean() for s in (1, 5)]
        assert qualities[0] < qualities[1]

    def test_bad_input(self):
        with pytest.raises(ValueError, match=r"`corruption`.*Received: corruption='gausian_blur'.*Did you mean 'gaussian_blur'"):
            kt.data.corrupt(GRAY, "gausian_blur", 1)
        with pytest.raises(TypeError, match=r"`corruption`.*Received: corruption=3"):
            kt.data.corrupt(GRAY, 3, 1)
        for severity in (0, 6):
            with pytest.raises(ValueError, match=rf"`severity`.*1 \(mild\) to 5.*Received: severity={severity}"):
                kt.data.corrupt(GRAY, "fog", severity)
        with pytest.raises(TypeError, match=r"`severity`.*integer.*Received: severity=2.0"):
            kt.data.corrupt(GRAY, "fog", 2.0)
        with pytest.raises(TypeError, match=r"`images`.*uint8.*dtype float64"):
            kt.data.corrupt(GRAY / 255, "fog", 1)
        with pytest.raises(ValueError, match=r"`images`.*\(n, height, width\).*shape \(28, 28\)"):
            kt.data.corrupt(GRAY[0], "fog", 1)
        with pytest.raises(ValueError, match=r"`images`.*1 \(grayscale\) or 3 \(RGB\).*shape \(2, 8, 8, 4\)"):
            kt.data.corrupt(np.zeros((2, 8, 8, 4), "uint8"), "fog", 1)
        with pytest.raises(ValueError, match=r"`seed`.*>= 0.*Received: seed=-1"):
            kt.data.corrupt(GRAY, "fog", 1, seed=-1)


class TestFashionMnistC(TestCase):
    def test_builds_from_the_clean_split(self):
        source = self.tmp_path_str("fashion")
        os.makedirs(source)
        write_fake_fashion_mnist(source, n_train=6, n_test=4)
        (x_train, y_train), (x_test, y_test) = kt.data.load_fashion_mnist(source)
        x, y = kt.data.load_fashion_mnist_c("fog", 2, seed=3, fashion_mnist_dir=source)
        self.assertAllEqual(x, kt.data.corrupt(x_test, "fog", 2, seed=3))
        self.assertAllEqual(y, y_test)
        x, y = kt.data.load_fashion_mnist_c("pixelate", 1, split="train", fashion_mnist_dir=source)
        self.assertAllEqual(x, kt.data.corrupt(x_train, "pixelate", 1))
        self.assertAllEqual(y, y_train)

    def test_arguments_are_checked_before_loading(self, monkeypatch):
        def fail(*args, **kwargs):
            raise AssertionError("loaded the data")

        monkeypatch.setattr(fashion_mnist_c, "load_fashion_mnist", fail)
        with pytest.raises(ValueError, match=r"`split`.*'test', 'train'.*Received: split='tests'.*Did you mean 'test'"):
            kt.data.load_fashion_mnist_c("fog", 1, split="tests")
        with pytest.raises(ValueError, match=r"`corruption`.*Did you mean 'jpeg_compression'"):
            kt.data.load_fashion_mnist_c("jpeg", 1)
        with pytest.raises(ValueError, match=r"`severity`.*Received: severity=9"):
            kt.data.load_fashion_mnist_c("fog", 9)
        with pytest.raises(TypeError, match=r"`seed`.*Received: seed='0'"):
            kt.data.load_fashion_mnist_c("fog", 1, seed="0")

    @needs_real
    def test_real_fashion_mnist_c(self):
        x, y = kt.data.load_fashion_mnist_c("contrast", 5)
        assert x.shape == (10000, 28, 28) and x.dtype == np.uint8
        self.assertAllEqual(y, REAL[1])
        assert np.bincount(y).tolist() == [1000] * 10
        assert (x.std(axis=(1, 2)) < 0.05 * REAL[0].std(axis=(1, 2)) + 0.6).all()  # severity 5 keeps 5% of the contrast
        x, y = kt.data.load_fashion_mnist_c("gaussian_noise", 1, split="train")
        assert x.shape == (60000, 28, 28) and y.shape == (60000,) and y.max() == 9
