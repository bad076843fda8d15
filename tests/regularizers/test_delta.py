"""DELTA: zero at the start, the attention-weighted feature-map distance on a tiny case, attention from the paper."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from tests.regularizers.nets import X, Y, save_and_load, trunk_and_heads
from tests.test_case import TestCase

RNG = np.random.default_rng(3)
IMAGES = RNG.normal(size=(6, 5, 5, 2)).astype("float32")
LABELS = np.arange(6) % 2


def conv_classifier(seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((5, 5, 2))
    maps = keras.layers.Conv2D(3, 3, name="conv")(inputs)
    pooled = keras.layers.GlobalAveragePooling2D(name="pool")(maps)
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax", name="head")(pooled))


def conv_maps(model, x):
    return keras.Model(model.inputs, model.get_layer("conv").output).predict(x, verbose=0)


class TestDELTAModel(TestCase):
    def test_zero_at_the_start_then_the_formula(self):
        net = conv_classifier()
        attention = np.array([0.5, 0.3, 0.2], "float32")
        model = kt.models.DELTAModel(net, alpha=0.7, beta=0.0, attention=attention, feature_layer="conv")
        assert model.penalty(IMAGES) == 0.0
        start = conv_maps(net, IMAGES)
        conv = net.get_layer("conv")
        conv.kernel.assign(conv.kernel + RNG.normal(0, 0.3, conv.kernel.shape).astype("float32"))
        moved = conv_maps(net, IMAGES)
        distance = ((moved - start) ** 2).sum(axis=(1, 2))  # (examples, channels)
        expected = 0.7 * np.mean(distance @ attention)
        assert model.penalty(IMAGES) == pytest.approx(expected, rel=1e-4)
        model.beta = 0.1  # plus the L2 of the new head
        head = sum(float((w**2).sum()) for w in net.get_layer("head").get_weights())
        assert model.penalty(IMAGES) == pytest.approx(expected + 0.1 * head, rel=1e-4)

    def test_fit_compiled_and_the_reference_is_saved(self):
        _, net = trunk_and_heads()
        model = kt.models.DELTAModel(net, alpha=1.0, beta=0.01)
        model.compile(keras.optimizers.Adam(0.05), metrics=["accuracy"], jit_compile=True)
        history = model.fit(X, Y, batch_size=12, epochs=2, verbose=0)
        assert set(history.history) == {"accuracy", "delta_penalty", "loss"}
        moved = model.penalty(X)
        assert moved > 0.0
        revived = save_and_load(model, self.tmp_path_str("delta.keras"))
        # The pretrained reference comes from the file (not a new snapshot, which would give 0).
        assert revived.penalty(X) == pytest.approx(moved, rel=1e-5)
        self.assertAllClose(revived.predict(X, verbose=0), model.predict(X, verbose=0))

    def test_bad_input_is_named(self):
        net = conv_classifier()
        with pytest.raises(ValueError, match="`attention`"):
            kt.models.DELTAModel(net, attention=[1.0, 2.0], feature_layer="conv")
        with pytest.raises(ValueError, match="`attention`"):
            kt.models.DELTAModel(net, attention=[1.0, -2.0, 0.0], feature_layer="conv")
        with pytest.raises(ValueError, match="`feature_layer`"):
            kt.models.DELTAModel(net, feature_layer="conv2")
        with pytest.raises(TypeError, match="`pretrained`"):
            kt.models.DELTAModel(net, pretrained="weights.h5")


class TestDeltaAttention(TestCase):
    def test_the_loss_increase_of_each_removed_channel_through_a_softmax(self):
        inputs = keras.Input((3,))
        features = keras.layers.Identity(name="features")(inputs)
        head = keras.layers.Dense(2, use_bias=False, name="head")  # logits
        model = keras.Model(inputs, head(features))
        kernel = np.array([[2.0, -2.0], [0.5, -0.5], [0.0, 0.0]], "float32")  # channel 2 unused
        head.set_weights([kernel])
        x = np.array([[1.0, 1.0, 1.0], [2.0, -1.0, 3.0]], "float32")
        y = np.array([0, 1])

        def losses(values):
            logits = values @ kernel
            logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
            return -logp[np.arange(2), y]

        increases = []
        for channel in range(3):
            masked = x.copy()
            masked[:, channel] = 0.0
            increases.append(losses(masked) - losses(x))
        increases = np.stack(increases, axis=1)
        expected = (np.exp(increases) / np.exp(increases).sum(1, keepdims=True)).mean(0)
        weights = kt.regularizers.delta_attention(model, x, y)
        self.assertAllClose(weights, expected, atol=1e-6, rtol=1e-5)
        assert weights.sum() == pytest.approx(1.0)

    def test_bad_input_is_named(self):
        net = conv_classifier()
        with pytest.raises(ValueError, match="`y`"):
            kt.regularizers.delta_attention(net, IMAGES, np.full(6, 5))
        with pytest.raises(TypeError, match="`model`"):
            kt.regularizers.delta_attention("model.keras", IMAGES, LABELS)


def test_feature_maps_of_a_nested_build_classifier_backbone():
    """`feature_layer` naming the nested backbone reads its maps in the classifier's own graph."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((6, 6, 1))
    backbone = keras.Model(inputs, keras.layers.Conv2D(3, 3, name="conv")(inputs), name="trunk")
    model = kt.build_classifier(backbone, 2, input_shape=(6, 6, 1), preprocessing="unit", freeze=False)
    x = RNG.uniform(0, 255, (6, 6, 6, 1)).astype("float32")
    attention = kt.regularizers.delta_attention(model, x, LABELS, feature_layer="trunk")
    assert attention.shape == (3,)
    delta = kt.models.DELTAModel(model, alpha=1.0, beta=0.0, attention=attention, feature_layer="trunk")
    assert delta.penalty(x) == 0.0
    conv = backbone.get_layer("conv")
    conv.kernel.assign(conv.kernel + 0.5)
    assert float(delta.penalty(x)) > 0.0
