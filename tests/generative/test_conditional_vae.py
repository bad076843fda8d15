import keras
import numpy as np
import pytest

import keras_transfer as kt
from tests.generative import tiny
from tests.test_case import TestCase


def _data(n=24, classes=3):
    """Class k images are bright in the k-th horizontal band: learnable by a tiny CVAE."""
    y = np.arange(n) % classes
    x = np.full((n, 8, 8, 1), 10.0, "float32")
    for i, label in enumerate(y):
        x[i, 2 * label : 2 * label + 3] = 240.0
    return x, y


class TestConditionalVAE(TestCase):
    def test_one_hot_soft_label_gives_the_hard_label_sample(self):
        cvae = tiny.generator(classes=3)
        z = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
        hard = cvae.generate([0, 1, 2], z=z)
        soft = cvae.predict([z, np.eye(3, dtype="float32")], verbose=0)
        self.assertAllClose(hard, soft, atol=0, rtol=0)
        assert not np.allclose(hard[0], hard[1]), "the label must change the sample"

    def test_soft_label_mixture_interpolates_the_class_embedding(self):
        cvae = tiny.generator(classes=3)
        embedding = keras.Model(cvae.inputs, cvae.get_layer("decoder_condition").output)
        z = np.zeros((1, 4), "float32")
        e = [embedding.predict([z, np.eye(3, dtype="float32")[[k]]], verbose=0) for k in range(3)]
        mixture = np.array([[0.2, 0.5, 0.3]], "float32")
        mixed = embedding.predict([z, mixture], verbose=0)
        self.assertAllClose(mixed, 0.2 * e[0] + 0.5 * e[1] + 0.3 * e[2], atol=1e-6)
        assert not cvae.get_layer("label_embedding").use_bias

    def test_fit_learns_class_conditional_images_and_reports_losses(self):
        x, y = _data()
        cvae = kt.generative.ConditionalVAE((8, 8, 1), 3, latent_dim=2, filters=(8, 8), hidden_units=16, seed=0)
        cvae.compile(optimizer=keras.optimizers.Adam(0.01))
        history = cvae.fit(x, y, batch_size=12, epochs=40, verbose=0, validation_data=(x, y), validation_freq=40)
        assert sorted(history.history) == [
            "kl_loss", "loss", "reconstruction_loss", "val_kl_loss", "val_loss", "val_reconstruction_loss",
        ]
        assert history.history["loss"][-1] < 0.7 * history.history["loss"][0]
        samples = cvae.generate([0, 1, 2], seed=0)
        bands = [samples[k, 2 * k : 2 * k + 3].mean() - samples[k].mean() for k in range(3)]
        assert min(bands) > 20, f"each class sample should be brightest in its own band: {bands}"

    def test_sample_weight_zero_leaves_weights_unchanged(self):
        x, y = _data(6)
        cvae = tiny.generator()
        cvae.compile(optimizer=keras.optimizers.SGD(0.1), jit_compile=True)
        before = tiny.weights_of(cvae)
        cvae.fit(x, y, sample_weight=np.zeros(6), batch_size=6, epochs=1, verbose=0)
        assert not tiny.changed(before, cvae)
        cvae.fit(x, y, sample_weight=np.ones(6), batch_size=6, epochs=1, verbose=0)
        assert tiny.changed(before, cvae)

    def test_save_load_without_custom_objects_keeps_weights_and_noise_state(self):
        x, y = _data(6)
        cvae = tiny.generator(seed=3)
        cvae.compile(optimizer="adam")
        cvae.fit(x, y, batch_size=6, epochs=1, verbose=0)
        path = self.tmp_path_str("cvae.keras")
        cvae.save(path)
        revived = keras.models.load_model(path)
        assert isinstance(revived, kt.generative.ConditionalVAE)
        z = np.ones((2, 4), "float32")
        self.assertAllClose(revived.generate([0, 2], z=z), cvae.generate([0, 2], z=z))
        self.assertAllEqual(revived.seed_generator.state.numpy(), cvae.seed_generator.state.numpy())
        self.run_serialization_test(cvae)

    @pytest.mark.parametrize("policy, jit", tiny.PRECISION_AXES)
    def test_mixed_precision_fit(self, policy, jit):
        keras.config.set_dtype_policy(policy)
        x, y = _data(6)
        cvae = tiny.generator()
        cvae.compile(optimizer="adam", jit_compile=jit)
        history = cvae.fit(x, y, batch_size=6, epochs=2, verbose=0)
        assert np.all(np.isfinite(history.history["loss"]))
        sample = cvae.predict([np.zeros((1, 4), "float32"), np.eye(3, dtype="float32")[:1]], verbose=0)
        assert sample.dtype == np.float32 and np.all((sample >= 0) & (sample <= 255))


class TestConditionalVAEBadInput:
    @pytest.mark.parametrize(
        "kwargs, error, match",
        [
            ({"image_shape": (7, 8, 1)}, ValueError, r"image_shape.*divisible by 4.*\(7, 8, 1\)"),
            ({"image_shape": (8, 8)}, TypeError, r"image_shape"),
            ({"num_classes": 1}, ValueError, r"num_classes.*>= 2.*num_classes=1"),
            ({"latent_dim": 0}, ValueError, r"latent_dim"),
            ({"value_range": (1, 0)}, ValueError, r"value_range.*high > low"),
            ({"beta": 0}, ValueError, r"beta"),
            ({"filters": 8}, TypeError, r"filters"),
        ],
    )
    def test_constructor(self, kwargs, error, match):
        arguments = {"image_shape": (8, 8, 1), "num_classes": 3, **kwargs}
        with pytest.raises(error, match=match):
            kt.generative.ConditionalVAE(**arguments)

    def test_fit_without_labels(self):
        cvae = tiny.generator()
        cvae.compile(optimizer="adam")
        with pytest.raises(ValueError, match="needs labels"):
            cvae.fit(tiny.images(4), epochs=1, verbose=0)
