import keras
import numpy as np
import pytest

import keras_transfer as kt
from tests.test_case import TestCase

RNG = np.random.default_rng(0)


def _randomize(layer, scale=0.3):
    for variable in layer.weights:
        variable.assign(RNG.normal(0, scale, variable.shape).astype("float32"))


class TestBottleneckAdapter(TestCase):
    def test_identity_at_start_then_the_bottleneck_formula(self):
        x = RNG.normal(size=(2, 3, 3, 6)).astype("float32")
        layer = kt.layers.BottleneckAdapter(2, activation="relu")
        self.assertAllEqual(layer(x), x)  # up starts at zero: exactly the identity
        assert [tuple(v.shape) for v in layer.weights] == [(6, 2), (2,), (2, 6), (6,)]
        _randomize(layer)
        w_down, b_down, w_up, b_up = (np.asarray(v) for v in layer.weights)
        expected = x + np.maximum(x @ w_down + b_down, 0.0) @ w_up + b_up  # 1x1 convolutions over channels
        self.assertAllClose(layer(x), expected, atol=1e-5)

    def test_layer_test_and_saving(self):
        layer = self.run_layer_test(
            kt.layers.BottleneckAdapter, {"units": 3, "activation": "gelu"}, RNG.normal(size=(2, 5, 8)).astype("float32"),
            (2, 5, 8),
        )
        assert layer.get_config()["units"] == 3

    def test_bad_arguments_are_named(self):
        with pytest.raises(ValueError, match=r"`units`.*>= 1.*Received: units=0"):
            kt.layers.BottleneckAdapter(0)
        with pytest.raises(ValueError, match=r"`activation`.*Received: activation='relux'"):
            kt.layers.BottleneckAdapter(2, activation="relux")


def _hub_encoder(normalize_first, dropout=0.0):
    import keras_hub

    keras.utils.set_random_seed(1)
    encoder = keras_hub.layers.TransformerEncoder(
        16, 2, dropout=dropout, activation="gelu", layer_norm_epsilon=1e-6, normalize_first=normalize_first,
        name="encoder",
    )
    encoder.build((None, 5, 8))
    _randomize(encoder)
    return encoder


def _adapted(encoder, **kwargs):
    layer = kt.layers.AdapterTransformerEncoder(**encoder.get_config(), adapter_units=2, **kwargs)
    layer.build((None, 5, 8))
    for variable in encoder.weights:  # keras-hub's sublayer names: each weight maps to one of ours
        (match,) = [v for v in layer.weights if v.path == variable.path]
        match.assign(variable)
    return layer


class TestAdapterTransformerEncoder(TestCase):
    @pytest.mark.parametrize("normalize_first", [False, True])
    def test_equals_keras_hub_encoder_until_the_adapters_train(self, normalize_first):
        encoder = _hub_encoder(normalize_first)
        layer = _adapted(encoder)
        x = RNG.normal(size=(3, 5, 8)).astype("float32")
        mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]])
        self.assertAllClose(layer(x, padding_mask=mask), encoder(x, padding_mask=mask), atol=1e-6)
        # A trained attention adapter changes the output by its residual term, before the block's LayerNorm.
        _randomize(layer.attention_adapter)
        assert np.abs(np.asarray(layer(x, padding_mask=mask)) - np.asarray(encoder(x, padding_mask=mask))).max() > 1e-2

    def test_only_adapters_and_layer_norms_train_whatever_trainable_is_set_to(self):
        layer = _adapted(_hub_encoder(False))
        norms = {"self_attention_layer_norm", "feedforward_layer_norm"}
        adapters = {"attention_adapter", "feedforward_adapter"}
        assert {v.path.split("/")[1] for v in layer.trainable_weights} == norms | adapters
        layer.trainable = False
        assert layer.trainable_weights == []
        layer.trainable = True  # the cascade would unfreeze the attention and feed-forward weights
        assert {v.path.split("/")[1] for v in layer.trainable_weights} == norms | adapters
        frozen_norms = _adapted(_hub_encoder(False), train_layer_norm=False, adapter_positions=["feedforward"])
        assert {v.path.split("/")[1] for v in frozen_norms.trainable_weights} == {"feedforward_adapter"}
        assert frozen_norms.attention_adapter is None

    def test_serialization_and_saving_in_a_model(self):
        layer = kt.layers.AdapterTransformerEncoder(16, 2, adapter_units=3, dropout=0.1, activation="gelu")
        self.run_serialization_test(layer)
        tokens = keras.Input((5, 8))
        mask = keras.Input((5,), dtype="int32")
        model = keras.Model([tokens, mask], layer(tokens, padding_mask=mask))
        for adapter in (layer.attention_adapter, layer.feedforward_adapter):
            _randomize(adapter)
        x = [RNG.normal(size=(2, 5, 8)).astype("float32"), np.array([[1, 1, 1, 0, 0], [1] * 5])]
        revived = self.run_model_saving_test(model, x, atol=1e-5)
        assert len(revived.trainable_weights) == len(model.trainable_weights) == 12

    def test_bad_arguments_are_named(self):
        with pytest.raises(ValueError, match=r"`adapter_positions`.*Received: adapter_positions='ffn'"):
            kt.layers.AdapterTransformerEncoder(16, 2, adapter_units=2, adapter_positions=["ffn"])
        with pytest.raises(ValueError, match=r"`adapter_units`.*>= 1.*Received: adapter_units=0"):
            kt.layers.AdapterTransformerEncoder(16, 2, adapter_units=0)
        with pytest.raises(TypeError, match=r"`train_layer_norm`.*bool.*Received: train_layer_norm='yes'"):
            kt.layers.AdapterTransformerEncoder(16, 2, adapter_units=2, train_layer_norm="yes")
