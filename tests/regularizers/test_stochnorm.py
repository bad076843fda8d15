"""StochNorm: BatchNorm at p=0, moving statistics at p=1, per-channel mixing; apply_stochnorm keeps the weights."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from tests.regularizers.nets import save_and_load
from tests.test_case import TestCase, tiny_backbone, tiny_classifier, tiny_data

RNG = np.random.default_rng(4)
BATCH = (RNG.normal(2.0, 3.0, size=(16, 6))).astype("float32")


def _pair(p):
    """A BatchNormalization and a StochNorm(p) with the same (non-default) weights."""
    norm, stoch = keras.layers.BatchNormalization(momentum=0.5), kt.layers.StochNorm(p=p, momentum=0.5, seed=0)
    for layer in (norm, stoch):
        layer.build((None, 6))
    weights = [RNG.normal(size=6), RNG.normal(size=6), RNG.normal(size=6), RNG.uniform(0.5, 2.0, 6)]
    norm.set_weights(weights)
    stoch.set_weights(weights)
    return norm, stoch, weights


class TestStochNorm(TestCase):
    def test_p_zero_is_batch_normalization_in_training(self):
        norm, stoch, _ = _pair(0.0)
        self.assertAllClose(stoch(BATCH, training=True), norm(BATCH, training=True), atol=1e-5)
        for a, b in zip(stoch.get_weights(), norm.get_weights()):  # moving statistics updated alike
            self.assertAllClose(a, b, atol=1e-6)

    def test_p_one_normalises_with_the_moving_statistics(self):
        norm, stoch, (gamma, beta, mean, variance) = _pair(1.0)
        expected = (BATCH - mean) / np.sqrt(variance + stoch.epsilon) * gamma + beta
        self.assertAllClose(stoch(BATCH, training=True), expected, atol=1e-5)
        norm(BATCH, training=True)
        self.assertAllClose(stoch.moving_mean.numpy(), norm.moving_mean.numpy(), atol=1e-6)  # still updated

    def test_half_picks_one_or_the_other_per_channel(self):
        norm, stoch, (gamma, beta, mean, variance) = _pair(0.5)
        moving = (BATCH - mean) / np.sqrt(variance + stoch.epsilon) * gamma + beta
        batch = keras.ops.convert_to_numpy(norm(BATCH, training=True))
        outputs = keras.ops.convert_to_numpy(stoch(BATCH, training=True))
        picks = [np.allclose(outputs[:, c], moving[:, c], atol=1e-5) for c in range(6)]
        for c in range(6):
            assert picks[c] or np.allclose(outputs[:, c], batch[:, c], atol=1e-5)
        assert 0 < sum(picks) < 6, picks
        self.assertAllClose(stoch(BATCH, training=False), norm(BATCH, training=False), atol=1e-5)

    def test_bad_input_is_named(self):
        with pytest.raises(ValueError, match="`p`"):
            kt.layers.StochNorm(p=1.5)
        with pytest.raises(ValueError, match="`renorm`"):
            kt.layers.StochNorm(renorm=True)


class TestApplyStochNorm(TestCase):
    def test_swaps_nested_batchnorm_keeps_weights_trains_compiled_and_saves(self):
        x, y = tiny_data(8)
        model = tiny_classifier(freeze=False, train_batchnorm=True)
        new = kt.regularizers.apply_stochnorm(model, p=0.5)
        kinds = [type(layer).__name__ for layer in new.backbone.layers]
        assert kinds.count("StochNorm") == 3 and "BatchNormalization" not in kinds
        assert [type(layer).__name__ for layer in model.backbone.layers].count("BatchNormalization") == 3
        self.assertAllClose(new.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
        assert all(layer.trainable for layer in new.backbone.layers if isinstance(layer, kt.layers.StochNorm))
        new.compile("adam", "sparse_categorical_crossentropy", jit_compile=True)
        moving = new.backbone.get_layer("block1_bn").moving_mean.numpy().copy()
        new.fit(x, y, batch_size=4, epochs=1, verbose=0)
        assert not np.allclose(new.backbone.get_layer("block1_bn").moving_mean.numpy(), moving)
        revived = save_and_load(new, self.tmp_path_str("stochnorm.keras"))
        assert revived.backbone.get_layer("block1_bn").p == 0.5
        self.assertAllClose(revived.predict(x, verbose=0), new.predict(x, verbose=0), atol=1e-6)

    def test_bad_input_is_named(self):
        with pytest.raises(ValueError, match="`model`.*BatchNormalization"):
            kt.regularizers.apply_stochnorm(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]))
        with pytest.raises(TypeError, match="`model`"):
            kt.regularizers.apply_stochnorm(keras.layers.BatchNormalization())
        with pytest.raises(ValueError, match="`p`"):
            kt.regularizers.apply_stochnorm(tiny_backbone(), p=-0.1)
